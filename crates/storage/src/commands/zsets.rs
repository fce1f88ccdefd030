//! Sorted set commands (t_zset.c): argument parsing and replies as Redis 7.0 gives them.

mod parse;
mod pop;
mod range;
mod setops;

use super::{opt_is, parse_i64, Call, Handler, SYNTAX, WRONGTYPE};
use crate::glob::glob_match;
use crate::keyspace::Db;
use crate::types::ZSet;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::{format_double, Frame};
use parse::{score_or, NOT_FLOAT};

/// Name, Redis arity, handler.
pub(super) const COMMANDS: &[(&str, i32, Handler)] = &[
    ("zadd", -4, zadd),
    ("zincrby", 4, zincrby),
    ("zrem", -3, zrem),
    ("zscore", 3, zscore),
    ("zmscore", -3, zmscore),
    ("zcard", 2, zcard),
    ("zrank", 3, zrank),
    ("zrevrank", 3, zrevrank),
    ("zscan", -3, zscan),
    ("zcount", 4, range::zcount),
    ("zlexcount", 4, range::zlexcount),
    ("zrange", -4, range::zrange),
    ("zrangestore", -5, range::zrangestore),
    ("zrevrange", -4, range::zrevrange),
    ("zrangebyscore", -4, range::zrangebyscore),
    ("zrevrangebyscore", -4, range::zrevrangebyscore),
    ("zrangebylex", -4, range::zrangebylex),
    ("zrevrangebylex", -4, range::zrevrangebylex),
    ("zremrangebyrank", 4, range::zremrangebyrank),
    ("zremrangebyscore", 4, range::zremrangebyscore),
    ("zremrangebylex", 4, range::zremrangebylex),
    ("zpopmin", -2, pop::zpopmin),
    ("zpopmax", -2, pop::zpopmax),
    ("zmpop", -4, pop::zmpop),
    ("zrandmember", -2, pop::zrandmember),
    ("zunionstore", -4, setops::zunionstore),
    ("zinterstore", -4, setops::zinterstore),
    ("zdiffstore", -4, setops::zdiffstore),
    ("zunion", -3, setops::zunion),
    ("zinter", -3, setops::zinter),
    ("zdiff", -3, setops::zdiff),
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
        return Frame::error("ERR invalid cursor");
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
