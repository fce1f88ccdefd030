//! Set commands (t_set.c). Multi-key commands see only this shard's keys: the server sends
//! them here when all their keys live in one shard.

mod algebra;
mod random;
mod scan;

use super::{opt_is, parse_i64, Call, SYNTAX, WRONGTYPE};
use crate::glob::glob_match;
use crate::keyspace::Db;
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec};
use crate::types::Set;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Name, Redis arity, handler.
/// The set commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("sadd", -3, sadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("set", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Add one or more members to a set")
        .history(&[("2.4.0", "Accepts multiple `member` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("member").multiple()]),
    CommandDef::shard("srem", -3, srem)
        .flags(WRITE | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("set", "1.0.0", "O(N) where N is the number of members to be removed.", "Remove one or more members from a set")
        .history(&[("2.4.0", "Accepts multiple `member` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("member").multiple()]),
    CommandDef::shard("smembers", 2, smembers)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "O(N) where N is the set cardinality.", "Get all the members in a set")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("sismember", 3, sismember)
        .flags(READONLY | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("set", "1.0.0", "O(1)", "Determine if a given value is a member of a set")
        .args(&[Arg::key("key", 0), Arg::string("member")]),
    CommandDef::shard("smismember", -3, smismember)
        .flags(READONLY | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("set", "6.2.0", "O(N) where N is the number of elements being checked for membership", "Returns the membership associated with the given elements for a set")
        .args(&[Arg::key("key", 0), Arg::string("member").multiple()]),
    CommandDef::shard("scard", 2, scard)
        .flags(READONLY | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("set", "1.0.0", "O(1)", "Get the number of members in a set")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("spop", -2, random::spop)
        .flags(WRITE | FAST)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc("set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "Remove and return one or multiple random members from a set")
        .history(&[("3.2.0", "Added the `count` argument.")])
        .args(&[Arg::key("key", 0), Arg::integer("count").since("3.2.0").optional()]),
    CommandDef::shard("srandmember", -2, random::srandmember)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "Get one or multiple random members from a set")
        .history(&[("2.6.0", "Added the optional `count` argument.")])
        .args(&[Arg::key("key", 0), Arg::integer("count").since("2.6.0").optional()]),
    CommandDef::shard("smove", 4, smove)
        .journal(Journal::FromReply(super::effects::smove_effects))
        .flags(WRITE | FAST)
        .acl(acl::SET)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("set", "1.0.0", "O(1)", "Move a member from one set to another")
        .args(&[Arg::key("source", 0), Arg::key("destination", 1), Arg::string("member")]),
    CommandDef::shard("sinter", -2, sinter)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("sunion", -2, sunion)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "O(N) where N is the total number of elements in all given sets.", "Add multiple sets")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("sdiff", -2, sdiff)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("set", "1.0.0", "O(N) where N is the total number of elements in all given sets.", "Subtract multiple sets")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("sinterstore", -3, sinterstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::at(1, RW | UPDATE), KeySpec::range(2, -1, 1, 0, RO | ACCESS)])
        .doc("set", "1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets and store the resulting set in a key")
        .args(&[Arg::key("destination", 0), Arg::key("key", 1).multiple()]),
    CommandDef::shard("sunionstore", -3, sunionstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::range(2, -1, 1, 0, RO | ACCESS)])
        .doc("set", "1.0.0", "O(N) where N is the total number of elements in all given sets.", "Add multiple sets and store the resulting set in a key")
        .args(&[Arg::key("destination", 0), Arg::key("key", 1).multiple()]),
    CommandDef::shard("sdiffstore", -3, sdiffstore)
        .journal(Journal::Destination(1))
        .flags(WRITE | DENYOOM)
        .acl(acl::SET)
        .keys(1, -1, 1, &[KeySpec::at(1, OW | UPDATE), KeySpec::range(2, -1, 1, 0, RO | ACCESS)])
        .doc("set", "1.0.0", "O(N) where N is the total number of elements in all given sets.", "Subtract multiple sets and store the resulting set in a key")
        .args(&[Arg::key("destination", 0), Arg::key("key", 1).multiple()]),
    CommandDef::shard("sintercard", -3, sintercard)
        .flags(READONLY | MOVABLEKEYS)
        .acl(acl::SET)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RO | ACCESS)])
        .doc("set", "7.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets and return the cardinality of the result")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::integer("limit").token("LIMIT").optional(),
        ]),
    CommandDef::shard("sscan", -3, sscan)
        .flags(READONLY)
        .acl(acl::SET)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("set", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "Incrementally iterate Set elements")
        .args(&[
            Arg::key("key", 0),
            Arg::integer("cursor"),
            Arg::pattern("pattern").token("MATCH").optional(),
            Arg::integer("count").token("COUNT").optional(),
        ]),
];

/// The set in slot `id`, or WRONGTYPE.
fn set_at(db: &Db, id: u32) -> Result<&Set, Frame> {
    match &db.slot(id).value {
        Value::Set(set) => Ok(set),
        _ => Err(Frame::error(WRONGTYPE)),
    }
}

/// Changes the set in slot `id` (known to be a set) through the db's accounting.
fn with_set<R: Default>(db: &mut Db, id: u32, f: impl FnOnce(&mut Set) -> R) -> R {
    db.with_value_mut(id, |value| match value {
        Value::Set(set) => f(set),
        _ => R::default(),
    })
}

/// Looks `key` up for reading: None when missing, WRONGTYPE when not a set.
fn read_set(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    match c.lookup_read(key) {
        Some(id) => set_at(c.db(), id).map(|_| Some(id)),
        None => Ok(None),
    }
}

fn write_set(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    match c.lookup_write(key) {
        Some(id) => set_at(c.db(), id).map(|_| Some(id)),
        None => Ok(None),
    }
}

fn bulk_array(members: Vec<Bytes>) -> Vec<Frame> {
    members.into_iter().map(Frame::Bulk).collect()
}

fn sadd(c: &mut Call) -> Frame {
    let key = c.arg(1);
    let args = c.args;
    let members = &args[2..];
    let now = c.now();
    let id = match write_set(c, key) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let Some(id) = id else {
        let mut set = Set::for_member(&members[0]);
        let added = members.iter().filter(|m| set.add(m)).count();
        c.db().insert(key, Value::Set(Box::new(set)), 0, now);
        return Frame::Integer(added as i64);
    };
    let db = c.db();
    let Ok(set) = set_at(db, id) else {
        return Frame::error(WRONGTYPE);
    };
    if members.iter().all(|m| set.contains(m)) {
        return Frame::Integer(0);
    }
    let added = with_set(db, id, |set| members.iter().filter(|m| set.add(m)).count());
    Frame::Integer(added as i64)
}

fn srem(c: &mut Call) -> Frame {
    let key = c.arg(1);
    let args = c.args;
    let members = &args[2..];
    let id = match write_set(c, key) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Integer(0),
        Err(e) => return e,
    };
    let db = c.db();
    let Ok(set) = set_at(db, id) else {
        return Frame::error(WRONGTYPE);
    };
    if !members.iter().any(|m| set.contains(m)) {
        return Frame::Integer(0);
    }
    let (removed, emptied) = with_set(db, id, |set| {
        let removed = members.iter().filter(|m| set.remove(m)).count();
        (removed, set.is_empty())
    });
    if emptied {
        db.remove(id);
    }
    Frame::Integer(removed as i64)
}

fn smembers(c: &mut Call) -> Frame {
    match read_set(c, c.arg(1)) {
        Ok(Some(id)) => match set_at(c.db(), id) {
            Ok(set) => Frame::Set(bulk_array(set.members())),
            Err(e) => e,
        },
        Ok(None) => Frame::Set(Vec::new()),
        Err(e) => e,
    }
}

fn sismember(c: &mut Call) -> Frame {
    match read_set(c, c.arg(1)) {
        Ok(Some(id)) => {
            let member = c.arg(2);
            match set_at(c.db(), id) {
                Ok(set) => Frame::Integer(i64::from(set.contains(member))),
                Err(e) => e,
            }
        }
        Ok(None) => Frame::Integer(0),
        Err(e) => e,
    }
}

fn smismember(c: &mut Call) -> Frame {
    let id = match read_set(c, c.arg(1)) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let args = c.args;
    let db = c.db();
    let set = id.and_then(|id| set_at(db, id).ok());
    Frame::Array(
        args[2..]
            .iter()
            .map(|m| Frame::Integer(i64::from(set.is_some_and(|s| s.contains(m)))))
            .collect(),
    )
}

fn scard(c: &mut Call) -> Frame {
    match read_set(c, c.arg(1)) {
        Ok(Some(id)) => match set_at(c.db(), id) {
            Ok(set) => Frame::Integer(set.len() as i64),
            Err(e) => e,
        },
        Ok(None) => Frame::Integer(0),
        Err(e) => e,
    }
}

fn smove(c: &mut Call) -> Frame {
    let (source, destination, member) = (c.arg(1), c.arg(2), c.arg(3));
    let now = c.now();
    let src = c.lookup_write(source);
    let dst = c.lookup_write(destination);
    let Some(src) = src else {
        return Frame::Integer(0);
    };
    let db = c.db();
    let src_set = match set_at(db, src) {
        Ok(set) => set,
        Err(e) => return e,
    };
    if let Some(dst) = dst {
        if let Err(e) = set_at(db, dst) {
            return e;
        }
    }
    let present = src_set.contains(member);
    if source == destination || !present {
        return Frame::Integer(i64::from(present && source == destination));
    }
    if with_set(db, src, |set| {
        set.remove(member);
        set.is_empty()
    }) {
        db.remove(src);
    }
    match dst {
        None => {
            let mut set = Set::for_member(member);
            set.add(member);
            db.insert(destination, Value::Set(Box::new(set)), 0, now);
        }
        Some(dst) => {
            if set_at(db, dst).is_ok_and(|set| !set.contains(member)) {
                with_set(db, dst, |set| set.add(member));
            }
        }
    }
    Frame::Integer(1)
}

/// Looks up `keys` in order as Redis's set algebra does (each a keyspace hit or miss), stopping
/// at the first that is not a set.
fn source_sets(c: &mut Call, keys: &[Bytes]) -> Result<Vec<Option<u32>>, Frame> {
    keys.iter().map(|key| read_set(c, key)).collect()
}

fn sets_of<'d>(db: &'d Db, ids: &[Option<u32>]) -> Vec<Option<&'d Set>> {
    ids.iter()
        .map(|id| id.and_then(|id| set_at(db, id).ok()))
        .collect()
}

/// Stores a computed set at `destination` (replacing any value and TTL) and replies its size,
/// or deletes `destination` and replies 0 when it is empty.
fn store(c: &mut Call, destination: &[u8], result: Set) -> Frame {
    let now = c.now();
    let db = c.db();
    if result.is_empty() {
        db.delete(destination);
        return Frame::Integer(0);
    }
    let size = result.len() as i64;
    db.set_key(destination, Value::Set(Box::new(result)), false, now);
    Frame::Integer(size)
}

/// What SINTER, SINTERSTORE and SINTERCARD do with the intersection.
enum Intersection<'a> {
    Reply,
    Store(&'a [u8]),
    /// Its size, counting up to the limit (0: no limit).
    Count(u64),
}

fn intersect(c: &mut Call, keys: &[Bytes], output: Intersection) -> Frame {
    let ids = match source_sets(c, keys) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    // Any missing key makes the intersection empty.
    let sets: Option<Vec<&Set>> = sets_of(c.db(), &ids).into_iter().collect();
    match (output, sets) {
        (Intersection::Reply, None) => Frame::Set(Vec::new()),
        (Intersection::Reply, Some(sets)) => {
            let mut members = Vec::new();
            algebra::for_each_common(&sets, |m| {
                members.push(Frame::Bulk(Bytes::copy_from_slice(m)));
                true
            });
            Frame::Set(members)
        }
        (Intersection::Count(_), None) => Frame::Integer(0),
        (Intersection::Count(limit), Some(sets)) => {
            Frame::Integer(algebra::intersection_size(&sets, limit) as i64)
        }
        (Intersection::Store(destination), None) => store(c, destination, Set::default()),
        (Intersection::Store(destination), Some(sets)) => {
            let result = algebra::intersection(&sets);
            store(c, destination, result)
        }
    }
}

fn sinter(c: &mut Call) -> Frame {
    let args = c.args;
    intersect(c, &args[1..], Intersection::Reply)
}

fn sinterstore(c: &mut Call) -> Frame {
    let args = c.args;
    intersect(c, &args[2..], Intersection::Store(&args[1]))
}

fn sintercard(c: &mut Call) -> Frame {
    let args = c.args;
    let numkeys = match parse_i64(&args[1]) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Frame::error(damselfly_protocol::errors::NUMKEYS_NOT_POSITIVE),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Frame::error("ERR Number of keys can't be greater than number of args");
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < args.len() {
        if opt_is(&args[i], "limit") && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                Ok(n) if n >= 0 => limit = n as u64,
                _ => return Frame::error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            return Frame::error(SYNTAX);
        }
    }
    intersect(c, &args[2..end], Intersection::Count(limit))
}

#[derive(Clone, Copy)]
enum Combine {
    Union,
    Difference,
}

/// SUNION, SDIFF and their STORE forms (with a `destination`).
fn combine(c: &mut Call, keys: &[Bytes], op: Combine, destination: Option<&[u8]>) -> Frame {
    let ids = match source_sets(c, keys) {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let sets = sets_of(c.db(), &ids);
    let result = match op {
        Combine::Union => algebra::union(&sets),
        Combine::Difference => algebra::difference(&sets),
    };
    match destination {
        None => Frame::Set(bulk_array(result.members())),
        Some(destination) => store(c, destination, result),
    }
}

fn sunion(c: &mut Call) -> Frame {
    let args = c.args;
    combine(c, &args[1..], Combine::Union, None)
}

fn sdiff(c: &mut Call) -> Frame {
    let args = c.args;
    combine(c, &args[1..], Combine::Difference, None)
}

fn sunionstore(c: &mut Call) -> Frame {
    let args = c.args;
    combine(c, &args[2..], Combine::Union, Some(&args[1]))
}

fn sdiffstore(c: &mut Call) -> Frame {
    let args = c.args;
    combine(c, &args[2..], Combine::Difference, Some(&args[1]))
}

fn sscan(c: &mut Call) -> Frame {
    let cursor = match scan::parse_cursor(c.arg(2)) {
        Ok(cursor) => cursor,
        Err(e) => return e,
    };
    let id = match read_set(c, c.arg(1)) {
        Ok(Some(id)) => id,
        Ok(None) => return scan_reply(0, Vec::new()),
        Err(e) => return e,
    };
    let option_args: Vec<&[u8]> = (3..c.args.len()).map(|i| c.arg(i)).collect();
    let options = match scan::parse_options(&option_args) {
        Ok(options) => options,
        Err(e) => return e,
    };
    let Ok(set) = set_at(c.db(), id) else {
        return Frame::error(WRONGTYPE);
    };
    let mut found = Vec::new();
    let next = set.scan(cursor, options.count, |member| {
        if options
            .pattern
            .is_none_or(|pattern| glob_match(pattern, member, false))
        {
            found.push(Frame::Bulk(Bytes::copy_from_slice(member)));
        }
    });
    scan_reply(next, found)
}

fn scan_reply(cursor: u64, members: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(members),
    ])
}

#[cfg(test)]
mod difftest;
#[cfg(test)]
mod tests;
