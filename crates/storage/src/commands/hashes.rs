//! Hash commands (t_hash.c).

use super::{cstr, opt_is, parse_i64, Call, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::glob::glob_match;
use crate::keyspace::Db;
use crate::longdouble;
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, KeySpec};
use crate::types::Hash;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::{format_i64, string2ll, Frame};
use std::collections::HashSet;

/// Name, Redis arity, handler.
/// The hash commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("hset", -4, hset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("hash", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "Set the string value of a hash field")
        .history(&[("4.0.0", "Accepts multiple `field` and `value` arguments.")])
        .args(&[
            Arg::key("key", 0),
            Arg::block("field_value", &[Arg::string("field"), Arg::string("value")]).multiple(),
        ]),
    CommandDef::shard("hmset", -4, hmset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("hash", "2.0.0", "O(N) where N is the number of fields being set.", "Set multiple hash fields to multiple values")
        .deprecated("4.0.0", "`HSET` with multiple field-value pairs")
        .args(&[
            Arg::key("key", 0),
            Arg::block("field_value", &[Arg::string("field"), Arg::string("value")]).multiple(),
        ]),
    CommandDef::shard("hsetnx", 4, hsetnx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("hash", "2.0.0", "O(1)", "Set the value of a hash field, only if the field does not exist")
        .args(&[Arg::key("key", 0), Arg::string("field"), Arg::string("value")]),
    CommandDef::shard("hget", 3, hget)
        .flags(READONLY | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("hash", "2.0.0", "O(1)", "Get the value of a hash field")
        .args(&[Arg::key("key", 0), Arg::string("field")]),
    CommandDef::shard("hmget", -3, hmget)
        .flags(READONLY | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("hash", "2.0.0", "O(N) where N is the number of fields being requested.", "Get the values of all the given hash fields")
        .args(&[Arg::key("key", 0), Arg::string("field").multiple()]),
    CommandDef::shard("hdel", -3, hdel)
        .flags(WRITE | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("hash", "2.0.0", "O(N) where N is the number of fields to be removed.", "Delete one or more hash fields")
        .history(&[("2.4.0", "Accepts multiple `field` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("field").multiple()]),
    CommandDef::shard("hlen", 2, hlen)
        .flags(READONLY | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("hash", "2.0.0", "O(1)", "Get the number of fields in a hash")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("hstrlen", 3, hstrlen)
        .flags(READONLY | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("hash", "3.2.0", "O(1)", "Get the length of the value of a hash field")
        .args(&[Arg::key("key", 0), Arg::string("field")]),
    CommandDef::shard("hexists", 3, hexists)
        .flags(READONLY | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("hash", "2.0.0", "O(1)", "Determine if a hash field exists")
        .args(&[Arg::key("key", 0), Arg::string("field")]),
    CommandDef::shard("hgetall", 2, hgetall)
        .flags(READONLY)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "O(N) where N is the size of the hash.", "Get all the fields and values in a hash")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("hkeys", 2, hkeys)
        .flags(READONLY)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "O(N) where N is the size of the hash.", "Get all the fields in a hash")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("hvals", 2, hvals)
        .flags(READONLY)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("hash", "2.0.0", "O(N) where N is the size of the hash.", "Get all the values in a hash")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("hincrby", 4, hincrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("hash", "2.0.0", "O(1)", "Increment the integer value of a hash field by the given number")
        .args(&[Arg::key("key", 0), Arg::string("field"), Arg::integer("increment")]),
    CommandDef::shard("hincrbyfloat", 4, hincrbyfloat)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("hash", "2.6.0", "O(1)", "Increment the float value of a hash field by the given amount")
        .args(&[Arg::key("key", 0), Arg::string("field"), Arg::double("increment")]),
    CommandDef::shard("hrandfield", -2, hrandfield)
        .flags(READONLY)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("hash", "6.2.0", "O(N) where N is the number of fields returned", "Get one or multiple random fields from a hash")
        .args(&[
            Arg::key("key", 0),
            Arg::block("options", &[
                Arg::integer("count"),
                Arg::pure_token("withvalues", "WITHVALUES").optional(),
            ]).optional(),
        ]),
    CommandDef::shard("hscan", -3, hscan)
        .flags(READONLY)
        .acl(acl::HASH)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("hash", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "Incrementally iterate hash fields and associated values")
        .args(&[
            Arg::key("key", 0),
            Arg::integer("cursor"),
            Arg::pattern("pattern").token("MATCH").optional(),
            Arg::integer("count").token("COUNT").optional(),
        ]),
];

fn bulk(data: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(data))
}

fn hash_at(db: &Db, id: u32) -> Option<&Hash> {
    match &db.slot(id).value {
        Value::Hash(h) => Some(h),
        _ => None,
    }
}

/// lookupKeyRead plus the type check: Ok(None) when the key is missing.
fn read_hash(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    let found = c.lookup_read(key);
    check_type(c, found)
}

/// lookupKeyWrite plus the type check.
fn write_hash(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    let found = c.lookup_write(key);
    check_type(c, found)
}

fn check_type(c: &mut Call, id: Option<u32>) -> Result<Option<u32>, Frame> {
    match id {
        Some(id) if hash_at(c.db(), id).is_none() => Err(Frame::error(WRONGTYPE)),
        other => Ok(other),
    }
}

/// Runs a read-only `f` on the hash at `key`, or replies `missing` when there is none.
fn read_with(c: &mut Call, missing: Frame, f: impl FnOnce(&Hash) -> Frame) -> Frame {
    match read_hash(c, c.arg(1)) {
        Err(e) => e,
        Ok(None) => missing,
        Ok(Some(id)) => hash_at(c.db(), id).map_or(missing, f),
    }
}

/// Mutates the hash in slot `id` (memory accounting and snapshots stay right).
fn with_hash_mut<R: Default>(c: &mut Call, id: u32, f: impl FnOnce(&mut Hash) -> R) -> R {
    c.db().with_value_mut(id, |v| match v {
        Value::Hash(h) => f(h),
        _ => R::default(),
    })
}

/// The slot of the hash at `key`, created empty when missing (hashTypeLookupWriteOrCreate).
fn hash_or_create(c: &mut Call, key: &[u8], found: Option<u32>) -> u32 {
    match found {
        Some(id) => id,
        None => {
            let now = c.now();
            c.db().insert(key, Value::Hash(Box::default()), 0, now)
        }
    }
}

/// HSET and HMSET: sets every pair; the number of new fields.
fn set_pairs(c: &mut Call) -> Result<i64, Frame> {
    if c.args.len() % 2 == 1 {
        return Err(c.wrong_args());
    }
    let key = c.arg(1);
    let found = write_hash(c, key)?;
    let id = hash_or_create(c, key, found);
    let items: Vec<&[u8]> = c.args[2..].iter().map(|a| a.as_ref()).collect();
    Ok(with_hash_mut(c, id, |h| {
        h.prepare_for(&items);
        items
            .chunks_exact(2)
            .filter(|pair| h.set(pair[0], pair[1]))
            .count() as i64
    }))
}

fn hset(c: &mut Call) -> Frame {
    set_pairs(c).map_or_else(|e| e, Frame::Integer)
}

fn hmset(c: &mut Call) -> Frame {
    set_pairs(c).map_or_else(|e| e, |_| Frame::OK)
}

fn hsetnx(c: &mut Call) -> Frame {
    let (key, field, value) = (c.arg(1), c.arg(2), c.arg(3));
    let found = match write_hash(c, key) {
        Ok(found) => found,
        Err(e) => return e,
    };
    if found.is_some_and(|id| hash_at(c.db(), id).is_some_and(|h| h.contains(field))) {
        return Frame::Integer(0);
    }
    let id = hash_or_create(c, key, found);
    with_hash_mut(c, id, |h| {
        h.prepare_for(&[field, value]);
        h.set(field, value);
    });
    Frame::Integer(1)
}

fn hget(c: &mut Call) -> Frame {
    let field = c.arg(2);
    read_with(c, Frame::Null, |h| h.get(field).map_or(Frame::Null, bulk))
}

fn hmget(c: &mut Call) -> Frame {
    let fields = &c.args[2..];
    let nulls = Frame::Array(vec![Frame::Null; fields.len()]);
    read_with(c, nulls, |h| {
        Frame::Array(
            fields
                .iter()
                .map(|f| h.get(f).map_or(Frame::Null, bulk))
                .collect(),
        )
    })
}

fn hdel(c: &mut Call) -> Frame {
    let fields = &c.args[2..];
    let id = match write_hash(c, c.arg(1)) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Integer(0),
        Err(e) => return e,
    };
    let any = hash_at(c.db(), id).is_some_and(|h| fields.iter().any(|f| h.contains(f)));
    if !any {
        return Frame::Integer(0);
    }
    let (deleted, emptied) = with_hash_mut(c, id, |h| {
        let mut deleted = 0;
        for field in fields {
            if h.remove(field) {
                deleted += 1;
                if h.is_empty() {
                    return (deleted, true);
                }
            }
        }
        (deleted, false)
    });
    if emptied {
        c.db().remove(id);
    }
    Frame::Integer(deleted)
}

fn hlen(c: &mut Call) -> Frame {
    read_with(c, Frame::Integer(0), |h| Frame::Integer(h.len() as i64))
}

fn hstrlen(c: &mut Call) -> Frame {
    let field = c.arg(2);
    read_with(c, Frame::Integer(0), |h| {
        Frame::Integer(h.get(field).map_or(0, |v| v.len() as i64))
    })
}

fn hexists(c: &mut Call) -> Frame {
    let field = c.arg(2);
    read_with(c, Frame::Integer(0), |h| {
        Frame::Integer(i64::from(h.contains(field)))
    })
}

fn hgetall(c: &mut Call) -> Frame {
    read_with(c, Frame::Map(Vec::new()), |h| {
        Frame::Map(h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
    })
}

fn hkeys(c: &mut Call) -> Frame {
    read_with(c, Frame::Array(Vec::new()), |h| {
        Frame::Array(h.iter().map(|(f, _)| bulk(f)).collect())
    })
}

fn hvals(c: &mut Call) -> Frame {
    read_with(c, Frame::Array(Vec::new()), |h| {
        Frame::Array(h.iter().map(|(_, v)| bulk(v)).collect())
    })
}

/// The current value of `field` for an increment: Ok(None) when the key or field is missing.
fn current_value(c: &mut Call, id: Option<u32>, field: &[u8]) -> Option<Vec<u8>> {
    let id = id?;
    hash_at(c.db(), id)?.get(field).map(<[u8]>::to_vec)
}

fn hincrby(c: &mut Call) -> Frame {
    let (key, field) = (c.arg(1), c.arg(2));
    let incr = match parse_i64(c.arg(3)) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let found = match write_hash(c, key) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let old = match current_value(c, found, field) {
        None => 0,
        Some(text) => match string2ll(&text) {
            Some(v) => v,
            None => return Frame::error("ERR hash value is not an integer"),
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return Frame::error(damselfly_protocol::errors::INCREMENT_OVERFLOW);
    };
    let id = hash_or_create(c, key, found);
    let mut buf = [0u8; 20];
    let text = format_i64(new, &mut buf);
    with_hash_mut(c, id, |h| h.set(field, text));
    Frame::Integer(new)
}

fn hincrbyfloat(c: &mut Call) -> Frame {
    let (key, field) = (c.arg(1), c.arg(2));
    let Some(incr) = longdouble::parse(c.arg(3)) else {
        return Frame::error(damselfly_protocol::errors::NOT_A_FLOAT);
    };
    if !incr.is_finite() {
        return Frame::error("ERR value is NaN or Infinity");
    }
    let found = match write_hash(c, key) {
        Ok(found) => found,
        Err(e) => return e,
    };
    let old = match current_value(c, found, field) {
        None => longdouble::F80::from_i64(0),
        Some(text) => match longdouble::parse(&text) {
            Some(v) => v,
            None => return Frame::error("ERR hash value is not a float"),
        },
    };
    let sum = longdouble::add(old, incr);
    if !sum.is_finite() {
        return Frame::error(damselfly_protocol::errors::NAN_OR_INFINITY);
    }
    let text = Bytes::from(longdouble::format_human(sum).into_bytes());
    let id = hash_or_create(c, key, found);
    with_hash_mut(c, id, |h| h.set(field, &text));
    // Replicas store the result, not redo float arithmetic (Redis propagates HSET too).
    c.journal_as(vec![
        Bytes::from_static(b"HSET"),
        Bytes::copy_from_slice(key),
        Bytes::copy_from_slice(field),
        text.clone(),
    ]);
    Frame::Bulk(text)
}

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(c: &mut Call) -> Frame {
    if c.args.len() >= 3 {
        return hrandfield_count(c);
    }
    let mut rng = Rng(c.db().next_random() | 1);
    read_with(c, Frame::Null, |h| {
        h.random_pair(&mut |n| rng.below(n))
            .map_or(Frame::Null, |(f, _)| bulk(f))
    })
}

fn hrandfield_count(c: &mut Call) -> Frame {
    const MAX_COUNT: i64 = i64::MAX;
    let count = match parse_i64(c.arg(2)) {
        Ok(v) if v >= -MAX_COUNT => v,
        Ok(_) => return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_I64),
        Err(e) => return e,
    };
    let with_values = match c.args.len() {
        3 => false,
        4 if opt_is(c.arg(3), "withvalues") => {
            if !(-MAX_COUNT / 2..=MAX_COUNT / 2).contains(&count) {
                return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE);
            }
            true
        }
        _ => return Frame::error(SYNTAX),
    };
    let mut rng = Rng(c.db().next_random() | 1);
    read_with(c, Frame::Array(Vec::new()), |h| {
        let picks = random_pairs(h, count, &mut rng);
        if with_values {
            // RESP3 nests each field with its value.
            return Frame::Pairs(
                picks
                    .into_iter()
                    .map(|(field, value)| (bulk(field), bulk(value)))
                    .collect(),
            );
        }
        Frame::Array(picks.into_iter().map(|(field, _)| bulk(field)).collect())
    })
}

/// HRANDFIELD's picks: `-count` pairs that may repeat for a negative count, else up to `count`
/// distinct pairs (the whole hash when it has no more).
fn random_pairs<'h>(h: &'h Hash, count: i64, rng: &mut Rng) -> Vec<(&'h [u8], &'h [u8])> {
    let size = h.len();
    if count == 0 || size == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let mut picks = Vec::new();
        // A count no memory could hold gets an empty reply instead of aborting the process.
        if picks.try_reserve_exact(n).is_err() {
            return picks;
        }
        picks.extend((0..n).map_while(|_| h.random_pair(&mut |n| rng.below(n))));
        return picks;
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= size {
        return h.iter().collect();
    }
    if count.saturating_mul(3) > size {
        // Most of the hash: shuffle the first `count` places of a full copy.
        let mut all: Vec<_> = h.iter().collect();
        for i in 0..count {
            let j = i + rng.below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = HashSet::with_capacity(count);
    let mut picks = Vec::with_capacity(count);
    while picks.len() < count {
        let Some((field, value)) = h.random_pair(&mut |n| rng.below(n)) else {
            break;
        };
        if seen.insert(field) {
            picks.push((field, value));
        }
    }
    picks
}

/// A local generator seeded from the db's, so picks can run while the hash is borrowed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Redis's parseScanCursorOrReply: strtoul in base 10 over the whole argument (a leading '-'
/// wraps, as strtoul does), no leading space, no overflow.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = cstr(arg);
    let (neg, digits) = match s.first() {
        None => return Some(0),
        Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') => return None,
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// HSCAN key cursor [MATCH pattern] [COUNT count].
fn hscan(c: &mut Call) -> Frame {
    const DEFAULT_COUNT: usize = 10;
    let Some(cursor) = parse_cursor(c.arg(2)) else {
        return Frame::error(damselfly_protocol::errors::INVALID_CURSOR);
    };
    let id = match read_hash(c, c.arg(1)) {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"0")),
                Frame::Array(Vec::new()),
            ])
        }
        Err(e) => return e,
    };
    let mut count = DEFAULT_COUNT;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < c.args.len() {
        let has_value = i + 1 < c.args.len();
        if opt_is(c.arg(i), "count") && has_value {
            match parse_i64(c.arg(i + 1)) {
                Ok(n) if n >= 1 => count = usize::try_from(n).unwrap_or(usize::MAX),
                Ok(_) => return Frame::error(SYNTAX),
                Err(_) => return Frame::error(NOT_INTEGER),
            }
        } else if opt_is(c.arg(i), "match") && has_value {
            let p = c.arg(i + 1);
            pattern = (p != b"*").then_some(p);
        } else {
            return Frame::error(SYNTAX);
        }
        i += 2;
    }
    let Some(h) = hash_at(c.db(), id) else {
        return Frame::error(WRONGTYPE);
    };
    let mut items = Vec::new();
    let next = h.scan(cursor, count, |field, value| {
        if pattern.is_none_or(|p| glob_match(p, field, false)) {
            items.push(bulk(field));
            items.push(bulk(value));
        }
    });
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(next.to_string())),
        Frame::Array(items),
    ])
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod difftest;
