//! Sorted set commands (t_zset.c): argument parsing and replies as Redis 7.0 gives them.

mod parse;
mod pop;
mod range;
mod setops;

use super::{opt_is, parse_i64, Call, SYNTAX, WRONGTYPE};
use crate::glob::glob_match;
use crate::keyspace::Db;
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec};
use crate::types::ZSet;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::{format_double, Frame};
use parse::{score_or, NOT_FLOAT};

/// Name, Redis arity, handler.
/// The name of the command BZMPOP runs as.
pub const ZMPOP: &str = "zmpop";

/// The sorted set commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("zadd", -4, zadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("sorted-set", "1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "Add one or more members to a sorted set, or update its score if it already exists")
        .history(&[
            ("2.4.0", "Accepts multiple elements."),
            ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
            ("6.2.0", "Added the `GT` and `LT` options."),
        ])
        .args(&[
            Arg::key("key", 0),
            Arg::oneof("condition", &[
                Arg::pure_token("nx", "NX"),
                Arg::pure_token("xx", "XX"),
            ]).since("3.0.2").optional(),
            Arg::oneof("comparison", &[
                Arg::pure_token("gt", "GT"),
                Arg::pure_token("lt", "LT"),
            ]).since("6.2.0").optional(),
            Arg::pure_token("change", "CH").since("3.0.2").optional(),
            Arg::pure_token("increment", "INCR").since("3.0.2").optional(),
            Arg::block("score_member", &[Arg::double("score"), Arg::string("member")]).multiple(),
        ]),
    CommandDef::shard("zincrby", 4, zincrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("sorted-set", "1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", "Increment the score of a member in a sorted set")
        .args(&[Arg::key("key", 0), Arg::integer("increment"), Arg::string("member")]),
    CommandDef::shard("zrem", -3, zrem)
        .flags(WRITE | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("sorted-set", "1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "Remove one or more members from a sorted set")
        .history(&[("2.4.0", "Accepts multiple elements.")])
        .args(&[Arg::key("key", 0), Arg::string("member").multiple()]),
    CommandDef::shard("zscore", 3, zscore)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "1.2.0", "O(1)", "Get the score associated with the given member in a sorted set")
        .args(&[Arg::key("key", 0), Arg::string("member")]),
    CommandDef::shard("zmscore", -3, zmscore)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(N) where N is the number of members being requested.", "Get the score associated with the given members in a sorted set")
        .args(&[Arg::key("key", 0), Arg::string("member").multiple()]),
    CommandDef::shard("zcard", 2, zcard)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("sorted-set", "1.2.0", "O(1)", "Get the number of members in a sorted set")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("zrank", 3, zrank)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.0.0", "O(log(N))", "Determine the index of a member in a sorted set")
        .args(&[Arg::key("key", 0), Arg::string("member")]),
    CommandDef::shard("zrevrank", 3, zrevrank)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.0.0", "O(log(N))", "Determine the index of a member in a sorted set, with scores ordered from high to low")
        .args(&[Arg::key("key", 0), Arg::string("member")]),
    CommandDef::shard("zscan", -3, zscan)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("sorted-set", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "Incrementally iterate sorted sets elements and associated scores")
        .args(&[
            Arg::key("key", 0),
            Arg::integer("cursor"),
            Arg::pattern("pattern").token("MATCH").optional(),
            Arg::integer("count").token("COUNT").optional(),
        ]),
    CommandDef::shard("zcount", 4, range::zcount)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Count the members in a sorted set with scores within the given values")
        .args(&[Arg::key("key", 0), Arg::double("min"), Arg::double("max")]),
    CommandDef::shard("zlexcount", 4, range::zlexcount)
        .flags(READONLY | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.8.9", "O(log(N)) with N being the number of elements in the sorted set.", "Count the number of members in a sorted set between a given lexicographical range")
        .args(&[Arg::key("key", 0), Arg::string("min"), Arg::string("max")]),
    CommandDef::shard("zrange", -4, range::zrange)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "Return a range of members in a sorted set")
        .history(&[("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.")])
        .args(&[
            Arg::key("key", 0),
            Arg::string("start"),
            Arg::string("stop"),
            Arg::oneof("sortby", &[
                Arg::pure_token("byscore", "BYSCORE"),
                Arg::pure_token("bylex", "BYLEX"),
            ]).since("6.2.0").optional(),
            Arg::pure_token("rev", "REV").since("6.2.0").optional(),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").since("6.2.0").optional(),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
        ]),
    CommandDef::shard("zrangestore", -5, range::zrangestore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM)
        .acl(acl::SORTEDSET)
        .keys(1, 2, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", "Store a range of members from sorted set into another key")
        .args(&[
            Arg::key("dst", 0),
            Arg::key("src", 1),
            Arg::string("min"),
            Arg::string("max"),
            Arg::oneof("sortby", &[
                Arg::pure_token("byscore", "BYSCORE"),
                Arg::pure_token("bylex", "BYLEX"),
            ]).optional(),
            Arg::pure_token("rev", "REV").optional(),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").optional(),
        ]),
    CommandDef::shard("zrevrange", -4, range::zrevrange)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "Return a range of members in a sorted set, by index, with scores ordered from high to low")
        .deprecated("6.2.0", "`ZRANGE` with the `REV` argument")
        .args(&[
            Arg::key("key", 0),
            Arg::integer("start"),
            Arg::integer("stop"),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
        ]),
    CommandDef::shard("zrangebyscore", -4, range::zrangebyscore)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "1.0.5", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Return a range of members in a sorted set, by score")
        .history(&[("2.0.0", "Added the `WITHSCORES` modifier.")])
        .deprecated("6.2.0", "`ZRANGE` with the `BYSCORE` argument")
        .args(&[
            Arg::key("key", 0),
            Arg::double("min"),
            Arg::double("max"),
            Arg::pure_token("withscores", "WITHSCORES").since("2.0.0").optional(),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").optional(),
        ]),
    CommandDef::shard("zrevrangebyscore", -4, range::zrevrangebyscore)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Return a range of members in a sorted set, by score, with scores ordered from high to low")
        .history(&[("2.1.6", "`min` and `max` can be exclusive.")])
        .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments")
        .args(&[
            Arg::key("key", 0),
            Arg::double("max"),
            Arg::double("min"),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").optional(),
        ]),
    CommandDef::shard("zrangebylex", -4, range::zrangebylex)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Return a range of members in a sorted set, by lexicographical range")
        .deprecated("6.2.0", "`ZRANGE` with the `BYLEX` argument")
        .args(&[
            Arg::key("key", 0),
            Arg::string("min"),
            Arg::string("max"),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").optional(),
        ]),
    CommandDef::shard("zrevrangebylex", -4, range::zrevrangebylex)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("sorted-set", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.")
        .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments")
        .args(&[
            Arg::key("key", 0),
            Arg::string("max"),
            Arg::string("min"),
            Arg::block("offset_count", &[
                Arg::integer("offset"),
                Arg::integer("count"),
            ]).token("LIMIT").optional(),
        ]),
    CommandDef::shard("zremrangebyrank", 4, range::zremrangebyrank)
        .flags(WRITE)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("sorted-set", "2.0.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Remove all members in a sorted set within the given indexes")
        .args(&[Arg::key("key", 0), Arg::integer("start"), Arg::integer("stop")]),
    CommandDef::shard("zremrangebyscore", 4, range::zremrangebyscore)
        .flags(WRITE)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("sorted-set", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Remove all members in a sorted set within the given scores")
        .args(&[Arg::key("key", 0), Arg::double("min"), Arg::double("max")]),
    CommandDef::shard("zremrangebylex", 4, range::zremrangebylex)
        .flags(WRITE)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("sorted-set", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "Remove all members in a sorted set between the given lexicographical range")
        .args(&[Arg::key("key", 0), Arg::string("min"), Arg::string("max")]),
    CommandDef::shard("zpopmin", -2, pop::zpopmin)
        .flags(WRITE | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("sorted-set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "Remove and return members with the lowest scores in a sorted set")
        .args(&[Arg::key("key", 0), Arg::integer("count").optional()]),
    CommandDef::shard("zpopmax", -2, pop::zpopmax)
        .flags(WRITE | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("sorted-set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "Remove and return members with the highest scores in a sorted set")
        .args(&[Arg::key("key", 0), Arg::integer("count").optional()]),
    CommandDef::shard(ZMPOP, -4, pop::zmpop)
        .journal(Journal::FromReply(super::effects::zmpop_effects))
        .flags(WRITE | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RW | ACCESS | DELETE)])
        .doc("sorted-set", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "Remove and return members with scores in a sorted set")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::oneof("where", &[Arg::pure_token("min", "MIN"), Arg::pure_token("max", "MAX")]),
            Arg::integer("count").token("COUNT").optional(),
        ]),
    CommandDef::shard("zrandmember", -2, pop::zrandmember)
        .flags(READONLY)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("sorted-set", "6.2.0", "O(N) where N is the number of elements returned", "Get one or multiple random elements from a sorted set")
        .args(&[
            Arg::key("key", 0),
            Arg::block("options", &[
                Arg::integer("count"),
                Arg::pure_token("withscores", "WITHSCORES").optional(),
            ]).optional(),
        ]),
    CommandDef::shard("zunionstore", -4, setops::zunionstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::keynum(2, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "Add multiple sorted sets and store the resulting sorted set in a new key")
        .args(&[
            Arg::key("destination", 0),
            Arg::integer("numkeys"),
            Arg::key("key", 1).multiple(),
            Arg::integer("weight").token("WEIGHTS").optional().multiple(),
            Arg::oneof("aggregate", &[
                Arg::pure_token("sum", "SUM"),
                Arg::pure_token("min", "MIN"),
                Arg::pure_token("max", "MAX"),
            ]).token("AGGREGATE").optional(),
        ]),
    CommandDef::shard("zinterstore", -4, setops::zinterstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::keynum(2, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "2.0.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "Intersect multiple sorted sets and store the resulting sorted set in a new key")
        .args(&[
            Arg::key("destination", 0),
            Arg::integer("numkeys"),
            Arg::key("key", 1).multiple(),
            Arg::integer("weight").token("WEIGHTS").optional().multiple(),
            Arg::oneof("aggregate", &[
                Arg::pure_token("sum", "SUM"),
                Arg::pure_token("min", "MIN"),
                Arg::pure_token("max", "MAX"),
            ]).token("AGGREGATE").optional(),
        ]),
    CommandDef::shard("zdiffstore", -4, setops::zdiffstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::keynum(2, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "Subtract multiple sorted sets and store the resulting sorted set in a new key")
        .args(&[Arg::key("destination", 0), Arg::integer("numkeys"), Arg::key("key", 1).multiple()]),
    CommandDef::shard("zunion", -3, setops::zunion)
        .flags(READONLY | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "Add multiple sorted sets")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::integer("weight").token("WEIGHTS").optional().multiple(),
            Arg::oneof("aggregate", &[
                Arg::pure_token("sum", "SUM"),
                Arg::pure_token("min", "MIN"),
                Arg::pure_token("max", "MAX"),
            ]).token("AGGREGATE").optional(),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
        ]),
    CommandDef::shard("zinter", -3, setops::zinter)
        .flags(READONLY | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "Intersect multiple sorted sets")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::integer("weight").token("WEIGHTS").optional().multiple(),
            Arg::oneof("aggregate", &[
                Arg::pure_token("sum", "SUM"),
                Arg::pure_token("min", "MIN"),
                Arg::pure_token("max", "MAX"),
            ]).token("AGGREGATE").optional(),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
        ]),
    CommandDef::shard("zdiff", -3, setops::zdiff)
        .flags(READONLY | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)])
        .doc("sorted-set", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "Subtract multiple sorted sets")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::pure_token("withscores", "WITHSCORES").optional(),
        ]),
];

const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";

/// What a looked-up key holds when it is not a sorted set: an error reply.
fn check_zset(db: &Db, id: u32) -> Result<u32, Frame> {
    match db.slot(id).value {
        Value::ZSet(_) => Ok(id),
        _ => Err(Frame::error(WRONGTYPE)),
    }
}

/// lookupKeyRead plus the type check: Ok(None) when the key is missing.
fn read_zset(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    c.lookup_read(key)
        .map(|id| check_zset(c.db(), id))
        .transpose()
}

/// lookupKeyWrite plus the type check.
fn write_zset(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    c.lookup_write(key)
        .map(|id| check_zset(c.db(), id))
        .transpose()
}

static EMPTY: ZSet = ZSet::new();

/// The sorted set in a slot already checked to hold one.
fn zset_at(db: &Db, id: u32) -> &ZSet {
    match &db.slot(id).value {
        Value::ZSet(z) => z,
        _ => &EMPTY,
    }
}

/// Mutates the sorted set in a checked slot through the db's accounting.
fn modify<R: Default>(c: &mut Call, id: u32, f: impl FnOnce(&mut ZSet) -> R) -> R {
    c.db().with_value_mut(id, |v| match v {
        Value::ZSet(z) => f(z),
        _ => R::default(),
    })
}

/// Deletes the key of a set left empty, as Redis does.
fn delete_if_empty(c: &mut Call, id: u32) {
    if zset_at(c.db(), id).is_empty() {
        c.db().remove(id);
    }
}

/// Elements with their scores as a reply: member, score, member, score...
/// (RESP3 nests each pair; this is the RESP2 shape.)
/// Members, with their scores as pairs (flat in RESP2, nested in RESP3) when asked.
fn scored_reply(items: Vec<(Bytes, f64)>, with_scores: bool) -> Frame {
    if with_scores {
        return Frame::Pairs(
            items
                .into_iter()
                .map(|(member, score)| (Frame::Bulk(member), Frame::Double(score)))
                .collect(),
        );
    }
    Frame::Array(
        items
            .into_iter()
            .map(|(member, _)| Frame::Bulk(member))
            .collect(),
    )
}

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one score-member pair did.
enum Outcome {
    Added(f64),
    Updated(f64),
    /// Processed without changing anything (same score).
    Unchanged(f64),
    /// Skipped by NX, XX, GT or LT.
    Skipped,
}

fn zadd(c: &mut Call) -> Frame {
    zadd_generic(c, false)
}

/// ZINCRBY key increment member: ZADD with INCR (even its option parsing, as in Redis).
fn zincrby(c: &mut Call) -> Frame {
    zadd_generic(c, true)
}

fn zadd_generic(c: &mut Call, incr: bool) -> Frame {
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut first = 2;
    while first < c.args.len() {
        let opt = c.arg(first);
        let flag = if opt_is(opt, "nx") {
            &mut flags.nx
        } else if opt_is(opt, "xx") {
            &mut flags.xx
        } else if opt_is(opt, "ch") {
            &mut flags.ch
        } else if opt_is(opt, "incr") {
            &mut flags.incr
        } else if opt_is(opt, "gt") {
            &mut flags.gt
        } else if opt_is(opt, "lt") {
            &mut flags.lt
        } else {
            break;
        };
        *flag = true;
        first += 1;
    }
    let elements = c.args.len() - first;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Frame::error(SYNTAX);
    }
    let pairs = elements / 2;
    let f = &flags;
    if f.nx && f.xx {
        return Frame::error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Frame::error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && pairs > 1 {
        return Frame::error("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(pairs);
    for j in 0..pairs {
        match score_or(c.arg(first + 2 * j), NOT_FLOAT) {
            Ok(score) => scores.push(score),
            Err(e) => return e,
        }
    }
    let key = c.arg(1);
    let id = match write_zset(c, key) {
        Err(e) => return e,
        Ok(Some(id)) => Some(id),
        Ok(None) if flags.xx => None,
        Ok(None) => {
            let now = c.now();
            Some(c.db().insert(key, Value::ZSet(Box::default()), 0, now))
        }
    };
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last_score = 0.0;
    if let Some(id) = id {
        for (j, &score) in scores.iter().enumerate() {
            let member = c.arg(first + 2 * j + 1);
            let outcome = match add_one(c, id, member, score, &flags) {
                Ok(outcome) => outcome,
                Err(e) => return e,
            };
            match outcome {
                Outcome::Added(s) => {
                    added += 1;
                    processed += 1;
                    last_score = s;
                }
                Outcome::Updated(s) => {
                    updated += 1;
                    processed += 1;
                    last_score = s;
                }
                Outcome::Unchanged(s) => {
                    processed += 1;
                    last_score = s;
                }
                Outcome::Skipped => {}
            }
        }
    }
    if flags.incr {
        if processed > 0 {
            Frame::Double(last_score)
        } else {
            Frame::Null
        }
    } else if flags.ch {
        Frame::Integer(added + updated)
    } else {
        Frame::Integer(added)
    }
}

/// Redis's zsetAdd for one pair; writes only when something changes.
fn add_one(
    c: &mut Call,
    id: u32,
    member: &[u8],
    score: f64,
    f: &AddFlags,
) -> Result<Outcome, Frame> {
    let current = zset_at(c.db(), id).score(member);
    let Some(current) = current else {
        if f.xx {
            return Ok(Outcome::Skipped);
        }
        modify(c, id, |z| z.insert(member, score));
        return Ok(Outcome::Added(score));
    };
    if f.nx {
        return Ok(Outcome::Skipped);
    }
    let mut score = score;
    if f.incr {
        score += current;
        if score.is_nan() {
            return Err(Frame::error(NAN_RESULT));
        }
    }
    if (f.lt && score >= current) || (f.gt && score <= current) {
        return Ok(Outcome::Skipped);
    }
    if score == current {
        return Ok(Outcome::Unchanged(score));
    }
    modify(c, id, |z| z.update_score(member, score));
    Ok(Outcome::Updated(score))
}

fn zrem(c: &mut Call) -> Frame {
    let id = match write_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Integer(0),
        Ok(Some(id)) => id,
    };
    let members = &c.args[2..];
    let present = {
        let z = zset_at(c.db(), id);
        members.iter().any(|m| z.score(m).is_some())
    };
    if !present {
        return Frame::Integer(0);
    }
    let removed = modify(c, id, |z| members.iter().filter(|m| z.remove(m)).count());
    delete_if_empty(c, id);
    Frame::Integer(removed as i64)
}

fn zscore(c: &mut Call) -> Frame {
    match read_zset(c, c.arg(1)) {
        Err(e) => e,
        Ok(None) => Frame::Null,
        Ok(Some(id)) => zset_at(&c.dbs[c.db], id)
            .score(c.arg(2))
            .map_or(Frame::Null, Frame::Double),
    }
}

fn zmscore(c: &mut Call) -> Frame {
    let id = match read_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(id) => id,
    };
    let z = id.map_or(&EMPTY, |id| zset_at(&c.dbs[c.db], id));
    Frame::Array(
        c.args[2..]
            .iter()
            .map(|m| z.score(m).map_or(Frame::Null, Frame::Double))
            .collect(),
    )
}

fn zcard(c: &mut Call) -> Frame {
    match read_zset(c, c.arg(1)) {
        Err(e) => e,
        Ok(None) => Frame::Integer(0),
        Ok(Some(id)) => Frame::Integer(zset_at(c.db(), id).len() as i64),
    }
}

fn zrank(c: &mut Call) -> Frame {
    rank_generic(c, false)
}

fn zrevrank(c: &mut Call) -> Frame {
    rank_generic(c, true)
}

fn rank_generic(c: &mut Call, rev: bool) -> Frame {
    let id = match read_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Null,
        Ok(Some(id)) => id,
    };
    let z = zset_at(&c.dbs[c.db], id);
    match z.rank(c.arg(2)) {
        Some(rank) if rev => Frame::Integer((z.len() - 1 - rank) as i64),
        Some(rank) => Frame::Integer(rank as i64),
        None => Frame::Null,
    }
}

/// parseScanCursorOrReply: strtoul with C-string semantics; an empty text reads as 0 and a
/// minus sign wraps.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let text = super::cstr(arg);
    if text.len() != arg.len() || text.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return text.is_empty().then_some(0);
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn zscan(c: &mut Call) -> Frame {
    let Some(cursor) = parse_cursor(c.arg(2)) else {
        return Frame::error(damselfly_protocol::errors::INVALID_CURSOR);
    };
    let id = match read_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return scan_reply(0, Vec::new()),
        Ok(Some(id)) => id,
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < c.args.len() {
        let more = c.args.len() - i >= 2;
        if opt_is(c.arg(i), "count") && more {
            match parse_i64(c.arg(i + 1)) {
                Err(e) => return e,
                Ok(n) if n < 1 => return Frame::error(SYNTAX),
                Ok(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if opt_is(c.arg(i), "match") && more {
            pattern = Some(c.arg(i + 1)).filter(|p| *p != b"*");
        } else {
            return Frame::error(SYNTAX);
        }
        i += 2;
    }
    let mut items = Vec::new();
    let next = zset_at(c.db(), id).scan(cursor, count, |member, score| {
        if pattern.is_none_or(|p| glob_match(p, member, false)) {
            items.push(Frame::Bulk(Bytes::copy_from_slice(member)));
            items.push(Frame::Bulk(Bytes::from(format_double(score))));
        }
    });
    scan_reply(next, items)
}

fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(items),
    ])
}

#[cfg(test)]
mod difftest;
#[cfg(test)]
mod tests;
