//! String commands (t_string.c).

use super::{cstr, parse_i64, Call, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::longdouble::{self, F80};
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec, Merge, Spread};
use crate::value::{reserve_greedy, Value};
use bytes::Bytes;
use damselfly_protocol::string2ll;
use damselfly_protocol::Frame;

/// The name of GET, which cross-shard BITOP composes to read its sources.
pub const GET: &str = "get";

/// The string commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard(GET, 2, get)
        .flags(READONLY | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("string", "1.0.0", "O(1)", "Get the value of a key")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("set", -3, set)
        .variable_key_flags(set_key_flags)
        .journal(Journal::AsSentUnless(super::effects::set_depends_on_the_moment))
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS).noted("RW and ACCESS due to the optional `GET` argument")])
        .doc("string", "1.0.0", "O(1)", "Set the string value of a key")
        .history(&[
            ("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."),
            ("6.0.0", "Added the `KEEPTTL` option."),
            ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."),
            ("7.0.0", "Allowed the `NX` and `GET` options to be used together."),
        ])
        .args(&[
            Arg::key("key", 0),
            Arg::string("value"),
            Arg::oneof("condition", &[
                Arg::pure_token("nx", "NX"),
                Arg::pure_token("xx", "XX"),
            ]).since("2.6.12").optional(),
            Arg::pure_token("get", "GET").since("6.2.0").optional(),
            Arg::oneof("expiration", &[
                Arg::integer("seconds").token("EX").since("2.6.12"),
                Arg::integer("milliseconds").token("PX").since("2.6.12"),
                Arg::unix_time("unix-time-seconds").token("EXAT").since("6.2.0"),
                Arg::unix_time("unix-time-milliseconds").token("PXAT").since("6.2.0"),
                Arg::pure_token("keepttl", "KEEPTTL").since("6.0.0"),
            ]).optional(),
        ]),
    CommandDef::shard("setnx", 3, setnx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | INSERT)])
        .doc("string", "1.0.0", "O(1)", "Set the value of a key, only if the key does not exist")
        .args(&[Arg::key("key", 0), Arg::string("value")]),
    CommandDef::shard("setex", 4, setex)
        .journal(Journal::StringState)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE)])
        .doc("string", "2.0.0", "O(1)", "Set the value and expiration of a key")
        .args(&[Arg::key("key", 0), Arg::integer("seconds"), Arg::string("value")]),
    CommandDef::shard("psetex", 4, psetex)
        .journal(Journal::StringState)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE)])
        .doc("string", "2.6.0", "O(1)", "Set the value and expiration in milliseconds of a key")
        .args(&[Arg::key("key", 0), Arg::integer("milliseconds"), Arg::string("value")]),
    CommandDef::shard("getset", 3, getset)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "1.0.0", "O(1)", "Set the string value of a key and return its old value")
        .deprecated("6.2.0", "`SET` with the `!GET` argument")
        .args(&[Arg::key("key", 0), Arg::string("value")]),
    CommandDef::shard("getdel", 2, getdel)
        .flags(WRITE | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("string", "6.2.0", "O(1)", "Get the value of a key and delete the key")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("getex", -2, getex)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE).noted("RW and UPDATE because it changes the TTL")])
        .doc("string", "6.2.0", "O(1)", "Get the value of a key and optionally set its expiration")
        .args(&[
            Arg::key("key", 0),
            Arg::oneof("expiration", &[
                Arg::integer("seconds").token("EX"),
                Arg::integer("milliseconds").token("PX"),
                Arg::unix_time("unix-time-seconds").token("EXAT"),
                Arg::unix_time("unix-time-milliseconds").token("PXAT"),
                Arg::pure_token("persist", "PERSIST"),
            ]).optional(),
        ]),
    CommandDef::shard("mget", -2, mget)
        .spread(Spread::PerKey(Merge::Positional))
        .flags(READONLY | FAST)
        .acl(acl::STRING)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO | ACCESS)])
        .tips(&["request_policy:multi_shard"])
        .doc("string", "1.0.0", "O(N) where N is the number of keys to retrieve.", "Get the values of all the given keys")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("mset", -3, mset)
        .spread(Spread::PerKey(Merge::Ok))
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, -1, 2, &[KeySpec::range(1, -1, 2, 0, OW | UPDATE)])
        .tips(&["request_policy:multi_shard", "response_policy:all_succeeded"])
        .doc("string", "1.0.1", "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values")
        .args(&[Arg::block("key_value", &[Arg::key("key", 0), Arg::string("value")]).multiple()]),
    CommandDef::shard("msetnx", -3, msetnx)
        .journal(Journal::AsMset)
        .spread(Spread::AllOrNothing)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, -1, 2, &[KeySpec::range(1, -1, 2, 0, OW | INSERT)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"])
        .doc("string", "1.0.1", "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values, only if none of the keys exist")
        .args(&[Arg::block("key_value", &[Arg::key("key", 0), Arg::string("value")]).multiple()]),
    CommandDef::shard("incr", 2, incr)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "1.0.0", "O(1)", "Increment the integer value of a key by one")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("decr", 2, decr)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "1.0.0", "O(1)", "Decrement the integer value of a key by one")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("incrby", 3, incrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "1.0.0", "O(1)", "Increment the integer value of a key by the given amount")
        .args(&[Arg::key("key", 0), Arg::integer("increment")]),
    CommandDef::shard("decrby", 3, decrby)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "1.0.0", "O(1)", "Decrement the integer value of a key by the given number")
        .args(&[Arg::key("key", 0), Arg::integer("decrement")]),
    CommandDef::shard("incrbyfloat", 3, incrbyfloat)
        .journal(Journal::StringState)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("string", "2.6.0", "O(1)", "Increment the float value of a key by the given amount")
        .args(&[Arg::key("key", 0), Arg::double("increment")]),
    CommandDef::shard("append", 3, append)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("string", "2.0.0", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", "Append a value to a key")
        .args(&[Arg::key("key", 0), Arg::string("value")]),
    CommandDef::shard("strlen", 2, strlen)
        .flags(READONLY | FAST)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("string", "2.2.0", "O(1)", "Get the length of the value stored in a key")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("getrange", 4, getrange)
        .flags(READONLY)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("string", "2.4.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Get a substring of the string stored at a key")
        .args(&[Arg::key("key", 0), Arg::integer("start"), Arg::integer("end")]),
    CommandDef::shard("substr", 4, getrange)
        .flags(READONLY)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("string", "1.0.0", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Get a substring of the string stored at a key")
        .deprecated("2.0.0", "`GETRANGE`")
        .args(&[Arg::key("key", 0), Arg::integer("start"), Arg::integer("end")]),
    CommandDef::shard("setrange", 4, setrange)
        .flags(WRITE | DENYOOM)
        .acl(acl::STRING)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("string", "2.2.0", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "Overwrite part of a string at key starting at the specified offset")
        .args(&[Arg::key("key", 0), Arg::integer("offset"), Arg::string("value")]),
];

#[derive(Clone, Copy, PartialEq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

#[derive(Default)]
struct StrOpts<'x> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireKind, &'x [u8])>,
}

impl StrOpts<'_> {
    fn has(&self, kind: ExpireKind) -> bool {
        matches!(self.expire, Some((k, _)) if k == kind)
    }
}

/// Redis's parseExtendedStringArgumentsOrReply: SET options (`is_set`) or GETEX options, with
/// the same acceptance rules (a repeated EX is allowed, EX after PX is not...).
fn parse_str_opts<'x>(c: &Call<'x, '_>, start: usize, is_set: bool) -> Result<StrOpts<'x>, Frame> {
    use ExpireKind::*;
    let mut o = StrOpts::default();
    let mut j = start;
    while j < c.args.len() {
        let opt = cstr(c.arg(j));
        let next = if j + 1 < c.args.len() {
            Some(c.arg(j + 1))
        } else {
            None
        };
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        let any_expire = o.expire.is_some();
        if is("nx") && !o.xx && is_set {
            o.nx = true;
        } else if is("xx") && !o.nx && is_set {
            o.xx = true;
        } else if is("get") && is_set {
            o.get = true;
        } else if is("keepttl") && !o.persist && !any_expire && is_set {
            o.keepttl = true;
        } else if is("persist") && !is_set && !any_expire && !o.keepttl {
            o.persist = true;
        } else if let (Some(kind), Some(value)) = (expire_kind(opt), next) {
            let clash = o.keepttl
                || o.persist
                || [Ex, Px, ExAt, PxAt].iter().any(|&k| k != kind && o.has(k));
            if clash {
                return Err(Frame::error(SYNTAX));
            }
            o.expire = Some((kind, value));
            j += 1;
        } else {
            return Err(Frame::error(SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

fn expire_kind(opt: &[u8]) -> Option<ExpireKind> {
    if opt.eq_ignore_ascii_case(b"ex") {
        Some(ExpireKind::Ex)
    } else if opt.eq_ignore_ascii_case(b"px") {
        Some(ExpireKind::Px)
    } else if opt.eq_ignore_ascii_case(b"exat") {
        Some(ExpireKind::ExAt)
    } else if opt.eq_ignore_ascii_case(b"pxat") {
        Some(ExpireKind::PxAt)
    } else {
        None
    }
}

fn invalid_expire(name: &str) -> Frame {
    Frame::error_owned(format!("ERR invalid expire time in '{name}' command"))
}

/// Redis's getExpireMillisecondsOrReply: the absolute expiry in ms.
fn expire_ms(c: &Call, kind: ExpireKind, arg: &[u8]) -> Result<u64, Frame> {
    let v = parse_i64(arg)?;
    let seconds = matches!(kind, ExpireKind::Ex | ExpireKind::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid_expire(c.name));
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(kind, ExpireKind::Ex | ExpireKind::Px) {
        // C adds with signed overflow; a wrapped (negative) result is rejected below.
        ms = ms.wrapping_add(c.now() as i64);
    }
    if ms <= 0 {
        return Err(invalid_expire(c.name));
    }
    Ok(ms as u64)
}

/// Redis's getGenericCommand: Ok(bulk or null), Err(WRONGTYPE).
fn get_generic(c: &mut Call, key: &[u8]) -> Result<Frame, Frame> {
    match c.lookup_read(key) {
        None => Ok(Frame::Null),
        Some(id) => c
            .db()
            .slot(id)
            .value
            .to_bytes()
            .map(Frame::Bulk)
            .ok_or_else(|| Frame::error(WRONGTYPE)),
    }
}

pub fn get(c: &mut Call) -> Frame {
    get_generic(c, c.arg(1)).unwrap_or_else(|e| e)
}

/// Redis's setGenericCommand.
fn set_generic(
    c: &mut Call,
    key: &[u8],
    val: &[u8],
    o: &StrOpts,
    ok: Frame,
    abort: Frame,
) -> Frame {
    let expire = match o.expire {
        Some((kind, arg)) => match expire_ms(c, kind, arg) {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    let mut got = None;
    if o.get {
        match get_generic(c, key) {
            Ok(f) => got = Some(f),
            Err(e) => return e,
        }
    }
    let found = c.lookup_write(key);
    if (o.nx && found.is_some()) || (o.xx && found.is_none()) {
        return got.unwrap_or(abort);
    }
    let now = c.now();
    let db = c.db();
    let value = Value::from_arg(val);
    let id = match found {
        Some(id) => {
            db.replace_value(id, value);
            if !o.keepttl {
                db.set_expire(id, 0);
            }
            id
        }
        None => db.insert(key, value, 0, now),
    };
    if let Some(ms) = expire {
        db.set_expire(id, ms);
    }
    got.unwrap_or(ok)
}

pub fn set(c: &mut Call) -> Frame {
    let o = match parse_str_opts(c, 3, true) {
        Ok(o) => o,
        Err(e) => return e,
    };
    set_generic(c, c.arg(1), c.arg(2), &o, Frame::OK, Frame::Null)
}

pub fn setnx(c: &mut Call) -> Frame {
    let o = StrOpts {
        nx: true,
        ..StrOpts::default()
    };
    set_generic(
        c,
        c.arg(1),
        c.arg(2),
        &o,
        Frame::Integer(1),
        Frame::Integer(0),
    )
}

fn setex_generic(c: &mut Call, kind: ExpireKind) -> Frame {
    let o = StrOpts {
        expire: Some((kind, c.arg(2))),
        ..StrOpts::default()
    };
    set_generic(c, c.arg(1), c.arg(3), &o, Frame::OK, Frame::Null)
}

pub fn setex(c: &mut Call) -> Frame {
    setex_generic(c, ExpireKind::Ex)
}

pub fn psetex(c: &mut Call) -> Frame {
    setex_generic(c, ExpireKind::Px)
}

pub fn getset(c: &mut Call) -> Frame {
    let key = c.arg(1);
    let reply = match get_generic(c, key) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let now = c.now();
    let val = Value::from_arg(c.arg(2));
    c.db().set_key(key, val, false, now);
    reply
}

pub fn getdel(c: &mut Call) -> Frame {
    let key = c.arg(1);
    let reply = match get_generic(c, key) {
        Ok(f) => f,
        Err(e) => return e,
    };
    if !matches!(reply, Frame::Null) {
        c.db().delete(key);
    }
    reply
}

pub fn getex(c: &mut Call) -> Frame {
    let o = match parse_str_opts(c, 2, false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let key = c.arg(1);
    let Some(id) = c.lookup_read(key) else {
        return Frame::Null;
    };
    let Some(bytes) = c.db().slot(id).value.to_bytes() else {
        return Frame::error(WRONGTYPE);
    };
    let mut expire = None;
    if let Some((kind, arg)) = o.expire {
        match expire_ms(c, kind, arg) {
            Ok(ms) => expire = Some((kind, ms)),
            Err(e) => return e,
        }
    }
    let now = c.now();
    let db = c.db();
    match expire {
        Some((ExpireKind::ExAt | ExpireKind::PxAt, ms)) if ms <= now => {
            db.remove(id);
        }
        Some((_, ms)) => db.set_expire(id, ms),
        None if o.persist => db.set_expire(id, 0),
        None => {}
    }
    Frame::Bulk(bytes)
}

pub fn mget(c: &mut Call) -> Frame {
    let mut out = Vec::with_capacity(c.args.len() - 1);
    for i in 1..c.args.len() {
        let key = c.arg(i);
        let reply = match c.lookup_read(key) {
            Some(id) => c
                .db()
                .slot(id)
                .value
                .to_bytes()
                .map_or(Frame::Null, Frame::Bulk),
            None => Frame::Null,
        };
        out.push(reply);
    }
    Frame::Array(out)
}

fn mset_generic(c: &mut Call, nx: bool) -> Frame {
    if c.args.len().is_multiple_of(2) {
        return c.wrong_args();
    }
    if nx {
        for j in (1..c.args.len()).step_by(2) {
            let key = c.arg(j);
            if c.lookup_write(key).is_some() {
                return Frame::Integer(0);
            }
        }
    }
    let now = c.now();
    for j in (1..c.args.len()).step_by(2) {
        let (key, val) = (c.arg(j), c.arg(j + 1));
        c.db().set_key(key, Value::from_arg(val), false, now);
    }
    if nx {
        Frame::Integer(1)
    } else {
        Frame::OK
    }
}

pub fn mset(c: &mut Call) -> Frame {
    mset_generic(c, false)
}

pub fn msetnx(c: &mut Call) -> Frame {
    mset_generic(c, true)
}

/// The integer held by a string value (getLongLongFromObject).
fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => other.with_str(string2ll).flatten(),
    }
}

fn incr_decr(c: &mut Call, incr: i64) -> Frame {
    let key = c.arg(1);
    let id = c.lookup_write(key);
    let old = match id {
        None => 0,
        Some(id) => {
            let v = &c.db().slot(id).value;
            if !v.is_string() {
                return Frame::error(WRONGTYPE);
            }
            match value_as_i64(v) {
                Some(x) => x,
                None => return Frame::error(NOT_INTEGER),
            }
        }
    };
    let Some(new) = old.checked_add(incr) else {
        return Frame::error(damselfly_protocol::errors::INCREMENT_OVERFLOW);
    };
    let now = c.now();
    let db = c.db();
    match id {
        Some(id) => db.replace_value(id, Value::Int(new)),
        None => {
            db.insert(key, Value::Int(new), 0, now);
        }
    }
    Frame::Integer(new)
}

pub fn incr(c: &mut Call) -> Frame {
    incr_decr(c, 1)
}

pub fn decr(c: &mut Call) -> Frame {
    incr_decr(c, -1)
}

pub fn incrby(c: &mut Call) -> Frame {
    match parse_i64(c.arg(2)) {
        Ok(n) => incr_decr(c, n),
        Err(e) => e,
    }
}

pub fn decrby(c: &mut Call) -> Frame {
    match parse_i64(c.arg(2)) {
        Ok(i64::MIN) => Frame::error("ERR decrement would overflow"),
        Ok(n) => incr_decr(c, -n),
        Err(e) => e,
    }
}

pub fn incrbyfloat(c: &mut Call) -> Frame {
    const NOT_FLOAT: &str = damselfly_protocol::errors::NOT_A_FLOAT;
    let key = c.arg(1);
    let id = c.lookup_write(key);
    let current = match id {
        None => F80::from_i64(0),
        Some(id) => {
            let v = &c.db().slot(id).value;
            let parsed = match v {
                Value::Int(i) => Some(F80::from_i64(*i)),
                other if other.is_string() => other.with_str(longdouble::parse).flatten(),
                _ => return Frame::error(WRONGTYPE),
            };
            match parsed {
                Some(x) => x,
                None => return Frame::error(NOT_FLOAT),
            }
        }
    };
    let Some(incr) = longdouble::parse(c.arg(2)) else {
        return Frame::error(NOT_FLOAT);
    };
    let sum = longdouble::add(current, incr);
    if !sum.is_finite() {
        return Frame::error(damselfly_protocol::errors::NAN_OR_INFINITY);
    }
    let text = longdouble::format_human(sum).into_bytes();
    let reply = Bytes::copy_from_slice(&text);
    let now = c.now();
    let db = c.db();
    let value = Value::plain_vec(text);
    match id {
        Some(id) => db.replace_value(id, value),
        None => {
            db.insert(key, value, 0, now);
        }
    }
    Frame::Bulk(reply)
}

/// Redis's checkStringLength: APPEND and SETRANGE build no string past proto-max-bulk-len.
fn check_string_length(size: u64, append: u64) -> Result<(), Frame> {
    match size.checked_add(append) {
        Some(total) if total <= crate::config::PROTO_MAX_BULK_LEN.get() as u64 => Ok(()),
        _ => Err(Frame::error(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

pub fn append(c: &mut Call) -> Frame {
    let (key, tail) = (c.arg(1), c.arg(2));
    let now = c.now();
    let Some(id) = c.lookup_write(key) else {
        let value = Value::from_arg(tail);
        c.db().insert(key, value, 0, now);
        return Frame::Integer(tail.len() as i64);
    };
    let Some(len) = c.db().slot(id).value.str_len() else {
        return Frame::error(WRONGTYPE);
    };
    if let Err(e) = check_string_length(len as u64, tail.len() as u64) {
        return e;
    }
    let total = c.db().with_value_mut(id, |v| {
        v.make_raw().map_or(0, |buf| {
            reserve_greedy(buf, buf.len() + tail.len());
            buf.extend_from_slice(tail);
            buf.len()
        })
    });
    Frame::Integer(total as i64)
}

pub fn strlen(c: &mut Call) -> Frame {
    let key = c.arg(1);
    match c.lookup_read(key) {
        None => Frame::Integer(0),
        Some(id) => match c.db().slot(id).value.str_len() {
            Some(n) => Frame::Integer(n as i64),
            None => Frame::error(WRONGTYPE),
        },
    }
}

pub fn getrange(c: &mut Call) -> Frame {
    let (mut start, mut end) = match (parse_i64(c.arg(2)), parse_i64(c.arg(3))) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let key = c.arg(1);
    let Some(id) = c.lookup_read(key) else {
        return Frame::Bulk(Bytes::new());
    };
    let value = &c.db().slot(id).value;
    let Some(reply) = value.with_str(|s| {
        let len = s.len() as i64;
        if start < 0 && end < 0 && start > end {
            return Bytes::new();
        }
        if start < 0 {
            start = start.wrapping_add(len);
        }
        if end < 0 {
            end = end.wrapping_add(len);
        }
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if start > end || len == 0 {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(&s[start as usize..=end as usize])
        }
    }) else {
        return Frame::error(WRONGTYPE);
    };
    Frame::Bulk(reply)
}

pub fn setrange(c: &mut Call) -> Frame {
    let offset = match parse_i64(c.arg(2)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    if offset < 0 {
        return Frame::error("ERR offset is out of range");
    }
    let offset = offset as u64;
    let (key, patch) = (c.arg(1), c.arg(3));
    let now = c.now();
    let Some(id) = c.lookup_write(key) else {
        if patch.is_empty() {
            return Frame::Integer(0);
        }
        if let Err(e) = check_string_length(offset, patch.len() as u64) {
            return e;
        }
        let offset = offset as usize;
        let mut buf = vec![0u8; offset + patch.len()];
        buf[offset..].copy_from_slice(patch);
        let len = buf.len();
        c.db().insert(key, Value::Raw(Box::new(buf)), 0, now);
        return Frame::Integer(len as i64);
    };
    let Some(len) = c.db().slot(id).value.str_len() else {
        return Frame::error(WRONGTYPE);
    };
    if patch.is_empty() {
        return Frame::Integer(len as i64);
    }
    if let Err(e) = check_string_length(offset, patch.len() as u64) {
        return e;
    }
    let offset = offset as usize;
    let total = c.db().with_value_mut(id, |v| {
        v.make_raw().map_or(0, |buf| {
            let needed = offset + patch.len();
            if needed > buf.len() {
                reserve_greedy(buf, needed);
                buf.resize(needed, 0);
            }
            buf[offset..needed].copy_from_slice(patch);
            buf.len()
        })
    });
    Frame::Integer(total as i64)
}

/// SET's key is read and written with GET, else only overwritten (Redis's setGetKeys).
fn set_key_flags(args: &[Bytes]) -> u16 {
    use crate::spec::key::{ACCESS, OW, RW, UPDATE};
    if args
        .iter()
        .skip(3)
        .any(|arg| arg.eq_ignore_ascii_case(b"get"))
    {
        RW | ACCESS | UPDATE
    } else {
        OW | UPDATE
    }
}
