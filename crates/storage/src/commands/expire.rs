//! Expiry commands (expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST.

use super::{cstr, error_text, parse_i64, Call};
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec};
use damselfly_protocol::Frame;

/// The NX | XX | GT | LT option of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (COMMAND DOCS).
const EXPIRE_CONDITION: Arg = Arg::oneof(
    "condition",
    &[
        Arg::pure_token("nx", "NX"),
        Arg::pure_token("xx", "XX"),
        Arg::pure_token("gt", "GT"),
        Arg::pure_token("lt", "LT"),
    ],
)
.since("7.0.0")
.optional();

/// The expiry commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("expire", -3, expire)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "generic",
            "1.0.0",
            "O(1)",
            "Set a key's time to live in seconds",
        )
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")])
        .args(&[
            Arg::key("key", 0),
            Arg::integer("seconds"),
            EXPIRE_CONDITION,
        ]),
    CommandDef::shard("pexpire", -3, pexpire)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "generic",
            "2.6.0",
            "O(1)",
            "Set a key's time to live in milliseconds",
        )
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")])
        .args(&[
            Arg::key("key", 0),
            Arg::integer("milliseconds"),
            EXPIRE_CONDITION,
        ]),
    CommandDef::shard("expireat", -3, expireat)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "generic",
            "1.2.0",
            "O(1)",
            "Set the expiration for a key as a UNIX timestamp",
        )
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")])
        .args(&[
            Arg::key("key", 0),
            Arg::unix_time("unix-time-seconds"),
            EXPIRE_CONDITION,
        ]),
    CommandDef::shard("pexpireat", -3, pexpireat)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "generic",
            "2.6.0",
            "O(1)",
            "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        )
        .history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")])
        .args(&[
            Arg::key("key", 0),
            Arg::unix_time("unix-time-milliseconds"),
            EXPIRE_CONDITION,
        ]),
    CommandDef::shard("ttl", 2, ttl)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc(
            "generic",
            "1.0.0",
            "O(1)",
            "Get the time to live for a key in seconds",
        )
        .history(&[("2.8.0", "Added the -2 reply.")])
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("pttl", 2, pttl)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc(
            "generic",
            "2.6.0",
            "O(1)",
            "Get the time to live for a key in milliseconds",
        )
        .history(&[("2.8.0", "Added the -2 reply.")])
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("expiretime", 2, expiretime)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc(
            "generic",
            "7.0.0",
            "O(1)",
            "Get the expiration Unix timestamp for a key",
        )
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("pexpiretime", 2, pexpiretime)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc(
            "generic",
            "7.0.0",
            "O(1)",
            "Get the expiration Unix timestamp for a key in milliseconds",
        )
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("persist", 2, persist)
        .journal(Journal::TtlState)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "generic",
            "2.2.0",
            "O(1)",
            "Remove the expiration from a key",
        )
        .args(&[Arg::key("key", 0)]),
];

#[derive(Default)]
struct Flags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Redis's parseExtendedExpireArgumentsOrReply.
fn parse_flags(c: &Call) -> Result<Flags, Frame> {
    let mut f = Flags::default();
    for j in 3..c.args.len() {
        let opt = cstr(c.arg(j));
        if opt.eq_ignore_ascii_case(b"nx") {
            f.nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            f.xx = true;
        } else if opt.eq_ignore_ascii_case(b"gt") {
            f.gt = true;
        } else if opt.eq_ignore_ascii_case(b"lt") {
            f.lt = true;
        } else {
            return Err(Frame::error_owned(format!(
                "ERR Unsupported option {}",
                error_text(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(Frame::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(Frame::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// Redis's expireGenericCommand; `relative` adds the current time, `seconds` scales by 1000.
fn expire_generic(c: &mut Call, relative: bool, seconds: bool) -> Frame {
    let flags = match parse_flags(c) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut when = match parse_i64(c.arg(2)) {
        Ok(w) => w,
        Err(e) => return e,
    };
    let invalid = || Frame::error_owned(format!("ERR invalid expire time in '{}' command", c.name));
    if seconds {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return invalid(),
        }
    }
    let now = c.now() as i64;
    let base = if relative { now } else { 0 };
    if when > i64::MAX - base {
        return invalid();
    }
    when += base;
    let key = c.arg(1);
    let Some(id) = c.lookup_write(key) else {
        return Frame::Integer(0);
    };
    let db = c.db();
    let current = db.slot(id).expire_at;
    let has_ttl = current != 0;
    let current = current as i64;
    let rejected = (flags.nx && has_ttl)
        || (flags.xx && !has_ttl)
        || (flags.gt && (!has_ttl || when <= current))
        || (flags.lt && has_ttl && when >= current);
    if rejected {
        return Frame::Integer(0);
    }
    if when <= now {
        db.remove(id);
    } else {
        db.set_expire(id, when as u64);
    }
    Frame::Integer(1)
}

pub fn expire(c: &mut Call) -> Frame {
    expire_generic(c, true, true)
}

pub fn pexpire(c: &mut Call) -> Frame {
    expire_generic(c, true, false)
}

pub fn expireat(c: &mut Call) -> Frame {
    expire_generic(c, false, true)
}

pub fn pexpireat(c: &mut Call) -> Frame {
    expire_generic(c, false, false)
}

/// Redis's ttlGenericCommand.
fn ttl_generic(c: &mut Call, output_ms: bool, absolute: bool) -> Frame {
    let Some(id) = c.lookup_read_notouch(c.arg(1)) else {
        return Frame::Integer(-2);
    };
    let expire_at = c.db().slot(id).expire_at;
    if expire_at == 0 {
        return Frame::Integer(-1);
    }
    let expire_at = expire_at as i64;
    let ttl = if absolute {
        expire_at
    } else {
        expire_at - c.now() as i64
    }
    .max(0);
    // ttl >= 0, so the C compiler divides unsigned: no overflow near i64::MAX.
    Frame::Integer(if output_ms {
        ttl
    } else {
        ((ttl as u64 + 500) / 1000) as i64
    })
}

pub fn ttl(c: &mut Call) -> Frame {
    ttl_generic(c, false, false)
}

pub fn pttl(c: &mut Call) -> Frame {
    ttl_generic(c, true, false)
}

pub fn expiretime(c: &mut Call) -> Frame {
    ttl_generic(c, false, true)
}

pub fn pexpiretime(c: &mut Call) -> Frame {
    ttl_generic(c, true, true)
}

pub fn persist(c: &mut Call) -> Frame {
    let Some(id) = c.lookup_write(c.arg(1)) else {
        return Frame::Integer(0);
    };
    let db = c.db();
    if db.slot(id).expire_at == 0 {
        return Frame::Integer(0);
    }
    db.set_expire(id, 0);
    Frame::Integer(1)
}
