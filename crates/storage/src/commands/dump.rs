//! DUMP and RESTORE (cluster.c): a value serialized as in an RDB file, followed by the RDB
//! version (2 bytes LE) and a CRC-64 of everything before it (8 bytes LE).

use super::{opt_is, parse_i64, Call, SYNTAX};
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, KeySpec};
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Name, Redis arity, handler.
/// DUMP and RESTORE.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("dump", 2, dump)
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("generic", "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "Return a serialized version of the value stored at the specified key.")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("restore", -4, restore)
        .flags(WRITE | DENYOOM)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .keys(1, 1, 1, &[KeySpec::at(1, OW | UPDATE)])
        .doc("generic", "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "Create a key using the provided serialized value, previously obtained using DUMP.")
        .history(&[
            ("3.0.0", "Added the `REPLACE` modifier."),
            ("5.0.0", "Added the `ABSTTL` modifier."),
            ("5.0.0", "Added the `IDLETIME` and `FREQ` options."),
        ])
        .args(&[
            Arg::key("key", 0),
            Arg::integer("ttl"),
            Arg::string("serialized-value"),
            Arg::pure_token("replace", "REPLACE").since("3.0.0").optional(),
            Arg::pure_token("absttl", "ABSTTL").since("5.0.0").optional(),
            Arg::integer("seconds").token("IDLETIME").since("5.0.0").optional(),
            Arg::integer("frequency").token("FREQ").since("5.0.0").optional(),
        ]),
];

const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
const BAD_FORMAT: &str = "ERR Bad data format";
const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
const FOOTER: usize = 10;

/// The DUMP payload of `value`.
pub(crate) fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    damselfly_rdb::encode_value(&value.to_rdb(), &mut out);
    out.extend_from_slice(&(damselfly_rdb::RDB_VERSION as u16).to_le_bytes());
    let crc = damselfly_rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// verifyDumpPayload: a known RDB version and a matching checksum; returns the serialized value.
fn payload_body(payload: &[u8]) -> Option<&[u8]> {
    let body_len = payload.len().checked_sub(FOOTER)?;
    let (body, footer) = payload.split_at(body_len);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > damselfly_rdb::RDB_VERSION {
        return None;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    let covered = &payload[..body_len + 2];
    (damselfly_rdb::crc64(covered) == u64::from_le_bytes(crc)).then_some(body)
}

/// The value a payload holds, as Redis would load it: empty collections are refused.
fn load_value(body: &[u8]) -> Option<Value> {
    let mut input = body;
    let value = damselfly_rdb::decode_value(&mut input).ok()?;
    let empty = match &value {
        damselfly_rdb::Value::List(items) | damselfly_rdb::Value::Set(items) => items.is_empty(),
        damselfly_rdb::Value::Hash(pairs) => pairs.is_empty(),
        damselfly_rdb::Value::ZSet(pairs) => pairs.is_empty(),
        _ => false,
    };
    if empty {
        return None;
    }
    Value::from_rdb(value)
}

pub fn dump(c: &mut Call) -> Frame {
    let Some(id) = c.lookup_read(c.arg(1)) else {
        return Frame::Null;
    };
    Frame::bulk(dump_payload(&c.db().slot(id).value))
}

/// RESTORE's options, in Redis's parsing order.
struct Options {
    replace: bool,
    absttl: bool,
    idle_secs: Option<u64>,
}

fn parse_options(c: &Call) -> Result<Options, Frame> {
    let mut opts = Options {
        replace: false,
        absttl: false,
        idle_secs: None,
    };
    let mut freq = false;
    let mut j = 4;
    while j < c.args.len() {
        let arg = c.arg(j);
        let has_value = j + 1 < c.args.len();
        if opt_is(arg, "replace") {
            opts.replace = true;
        } else if opt_is(arg, "absttl") {
            opts.absttl = true;
        } else if opt_is(arg, "idletime") && has_value && !freq {
            let idle = parse_i64(c.arg(j + 1))?;
            let idle = u64::try_from(idle)
                .map_err(|_| Frame::error("ERR Invalid IDLETIME value, must be >= 0"))?;
            opts.idle_secs = Some(idle);
            j += 1;
        } else if opt_is(arg, "freq") && has_value && opts.idle_secs.is_none() {
            // Accepted and checked; access frequencies are not tracked (no LFU policy).
            let f = parse_i64(c.arg(j + 1))?;
            if !(0..=255).contains(&f) {
                return Err(Frame::error(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = true;
            j += 1;
        } else {
            return Err(Frame::error(SYNTAX));
        }
        j += 1;
    }
    Ok(opts)
}

pub fn restore(c: &mut Call) -> Frame {
    let opts = match parse_options(c) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let key = c.arg(1);
    if !opts.replace && c.lookup_write(key).is_some() {
        return Frame::error(BUSYKEY);
    }
    let ttl = match parse_i64(c.arg(2)) {
        Ok(t) if t < 0 => return Frame::error("ERR Invalid TTL value, must be >= 0"),
        Ok(t) => t as u64,
        Err(e) => return e,
    };
    let Some(body) = payload_body(c.arg(3)) else {
        return Frame::error(BAD_PAYLOAD);
    };
    let Some(value) = load_value(body) else {
        return Frame::error(BAD_FORMAT);
    };
    let now = c.now();
    let deleted = opts.replace && c.db().delete(key);
    let expire_at = match ttl {
        0 => 0,
        t if opts.absttl => t,
        t => t.saturating_add(now),
    };
    if expire_at != 0 && expire_at <= now && !c.db().is_passive() {
        // Already expired: the key is not created (and an overwritten one stays deleted).
        if deleted {
            c.journal_as(vec![Bytes::from_static(b"DEL"), c.args[1].clone()]);
        }
        return Frame::OK;
    }
    let id = c.db().insert(key, value, expire_at, now);
    if let Some(idle) = opts.idle_secs {
        c.db()
            .touch(id, now.saturating_sub(idle.saturating_mul(1000)));
    }
    if expire_at != 0 && !opts.absttl {
        // Replicas get the absolute expiry.
        let mut replay = c.args.to_vec();
        replay[2] = Bytes::from(expire_at.to_string());
        replay.push(Bytes::from_static(b"ABSTTL"));
        c.journal_as(replay);
    }
    Frame::OK
}

#[cfg(test)]
mod tests;
