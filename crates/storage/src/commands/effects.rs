//! What the replication journal records for a command: a form that replays the same way on any
//! replica, whatever its shard count (absolute times, results instead of float arithmetic, single-key
//! commands instead of moves between keys).

use super::Call;
use crate::keyspace::Db;
use crate::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Journals what a command did: the keys it found expired (as deletions), then the command itself
/// in a form that replays the same way anywhere (absolute times, results instead of arithmetic
/// on floats).
pub(super) fn record(call: &mut Call, before: u64, reply: &Frame) {
    let Some(effects) = call.ctx.effects.as_deref_mut() else {
        return;
    };
    let mut expired_here = 0u64;
    for (index, db) in call.dbs.iter_mut().enumerate() {
        for key in db.take_expired_keys() {
            expired_here += 1;
            effects.expired.push((index, key));
        }
    }
    let changes = super::total_mutations(call.dbs) - before;
    if changes <= expired_here {
        return;
    }
    let db = call.db;
    if let Some(commands) = call.journal.take() {
        effects
            .writes
            .extend(commands.into_iter().map(|command| (db, Some(command))));
        return;
    }
    let args = call.args;
    match effect_kind(call.name, args) {
        EffectKind::AsIs => effects.writes.push((db, None)),
        EffectKind::StringState => effects
            .writes
            .push((db, Some(string_state(&call.dbs[db], &args[1])))),
        EffectKind::DestinationState(at) => {
            for command in key_state(&call.dbs[db], &args[at]) {
                effects.writes.push((db, Some(command)));
            }
        }
        EffectKind::TtlState => effects
            .writes
            .push((db, Some(ttl_state(&call.dbs[db], &args[1])))),
        EffectKind::Moved => {
            // RENAME, COPY and MOVE replay as a deletion and a full write, so a replica that keeps
            // the two keys on different shards never has to move a value between them.
            let (source, target, target_db) = match call.name {
                "move" => (&args[1], &args[1], call.other_db.unwrap_or(db)),
                _ => (&args[1], &args[2], call.other_db.unwrap_or(db)),
            };
            if call.name != "copy" {
                effects.writes.push((db, Some(key_command("DEL", source))));
            }
            for command in key_state(&call.dbs[target_db], target) {
                effects.writes.push((target_db, Some(command)));
            }
        }
        EffectKind::FromReply => {
            for command in reply_effects(call.name, args, reply) {
                effects.writes.push((db, Some(command)));
            }
        }
        EffectKind::MsetNx => {
            let mut mset = args.to_vec();
            mset[0] = Bytes::from_static(b"MSET");
            effects.writes.push((db, Some(mset)));
        }
    }
}

enum EffectKind {
    /// Deterministic given the data: replayed as sent.
    AsIs,
    /// Replayed as a SET of the resulting value with its absolute expiry.
    StringState,
    /// Replayed as the resulting state of the destination key `args[i]` (BITOP, SINTERSTORE...), so
    /// a replica never needs the sources on the same shard.
    DestinationState(usize),
    /// A command moving elements between keys (LMOVE, SMOVE) or popping from one of several keys
    /// (LMPOP): replayed as single-key commands built from its reply.
    FromReply,
    /// Replayed as the key's resulting absolute expiry.
    TtlState,
    /// A value that moved or was copied to another key or db.
    Moved,
    /// MSETNX that succeeded: an MSET.
    MsetNx,
}

fn effect_kind(name: &str, args: &[Bytes]) -> EffectKind {
    match name {
        // A SET without relative times or KEEPTTL replays as sent (NX/XX held, as it wrote).
        "set" if !args[3..].iter().any(|a| is_relative_set_option(a)) => EffectKind::AsIs,
        "set" | "setex" | "psetex" | "incrbyfloat" => EffectKind::StringState,
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" | "persist" => {
            EffectKind::TtlState
        }
        "rename" | "renamenx" | "copy" | "move" => EffectKind::Moved,
        "msetnx" => EffectKind::MsetNx,
        "bitop" => EffectKind::DestinationState(2),
        "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" => EffectKind::DestinationState(1),
        "lmove" | "rpoplpush" | "smove" | "lmpop" | "zmpop" | "blpop" | "brpop" | "blmove"
        | "brpoplpush" | "blmpop" | "bzmpop" | "bzpopmin" | "bzpopmax" => EffectKind::FromReply,
        _ => EffectKind::AsIs,
    }
}

/// SET options whose effect depends on the moment or on the old entry.
fn is_relative_set_option(arg: &[u8]) -> bool {
    ["ex", "px", "exat", "pxat", "keepttl"]
        .iter()
        .any(|option| arg.eq_ignore_ascii_case(option.as_bytes()))
}

fn key_command(name: &'static str, key: &[u8]) -> Vec<Bytes> {
    vec![
        Bytes::from_static(name.as_bytes()),
        Bytes::copy_from_slice(key),
    ]
}

pub(crate) fn string_state(db: &Db, key: &[u8]) -> Vec<Bytes> {
    match db.find(key).and_then(|id| db.slot_at(id)) {
        Some(slot) => set_effect(key, &slot.value, slot.expire_at),
        None => key_command("DEL", key),
    }
}

/// The command that recreates a key exactly: `SET key value [PXAT expire_at]`.
pub fn set_effect(key: &[u8], value: &crate::Value, expire_at: u64) -> Vec<Bytes> {
    let mut effect = key_command("SET", key);
    effect.push(value.to_bytes().unwrap_or_default());
    if expire_at != 0 {
        effect.push(Bytes::from_static(b"PXAT"));
        effect.push(Bytes::from(expire_at.to_string()));
    }
    effect
}

fn ttl_state(db: &Db, key: &[u8]) -> Vec<Bytes> {
    match db.find(key).and_then(|id| db.slot_at(id)) {
        None => key_command("DEL", key),
        Some(slot) if slot.expire_at == 0 => key_command("PERSIST", key),
        Some(slot) => {
            let mut effect = key_command("PEXPIREAT", key);
            effect.push(Bytes::from(slot.expire_at.to_string()));
            effect
        }
    }
}

/// The commands that recreate `key` as it is in `db` (or delete it).
fn key_state(db: &Db, key: &[u8]) -> Vec<Vec<Bytes>> {
    match db.find(key).and_then(|id| db.slot_at(id)) {
        Some(slot) => restore_commands(key, &slot.value, slot.expire_at),
        None => vec![key_command("DEL", key)],
    }
}

/// Commands that recreate a key exactly, value and absolute expiry, whatever its type: a SET for
/// strings, a RESTORE of the DUMP payload (REPLACE ABSTTL) for the other types.
pub fn restore_commands(key: &[u8], value: &Value, expire_at: u64) -> Vec<Vec<Bytes>> {
    if value.is_string() {
        return vec![set_effect(key, value, expire_at)];
    }
    let mut command = key_command("RESTORE", key);
    command.push(Bytes::from(expire_at.to_string()));
    command.push(Bytes::from(super::dump::dump_payload(value)));
    command.push(Bytes::from_static(b"REPLACE"));
    command.push(Bytes::from_static(b"ABSTTL"));
    vec![command]
}

/// Single-key commands that replay a move or multi-key pop, built from its reply.
fn reply_effects(name: &str, args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    let side = |arg: &[u8], left: &'static str, right: &'static str| {
        Bytes::from_static(
            if arg.eq_ignore_ascii_case(b"left") {
                left
            } else {
                right
            }
            .as_bytes(),
        )
    };
    match (name, reply) {
        ("blpop" | "brpop" | "bzpopmin" | "bzpopmax", Frame::Array(parts)) => {
            let Some(Frame::Bulk(key)) = parts.first() else {
                return Vec::new();
            };
            let pop = match name {
                "blpop" => "LPOP",
                "brpop" => "RPOP",
                "bzpopmin" => "ZPOPMIN",
                _ => "ZPOPMAX",
            };
            vec![key_command(pop, key)]
        }
        ("lmove" | "blmove", Frame::Bulk(element)) => vec![
            vec![side(&args[3], "LPOP", "RPOP"), args[1].clone()],
            vec![
                side(&args[4], "LPUSH", "RPUSH"),
                args[2].clone(),
                element.clone(),
            ],
        ],
        ("rpoplpush" | "brpoplpush", Frame::Bulk(element)) => vec![
            key_command("RPOP", &args[1]),
            vec![
                Bytes::from_static(b"LPUSH"),
                args[2].clone(),
                element.clone(),
            ],
        ],
        ("smove", Frame::Integer(1)) => vec![
            vec![
                Bytes::from_static(b"SREM"),
                args[1].clone(),
                args[3].clone(),
            ],
            vec![
                Bytes::from_static(b"SADD"),
                args[2].clone(),
                args[3].clone(),
            ],
        ],
        ("lmpop" | "zmpop" | "blmpop" | "bzmpop", Frame::Array(parts)) => {
            // BLMPOP/BZMPOP have the timeout before numkeys.
            let args = if name.starts_with('b') {
                &args[1..]
            } else {
                args
            };
            let (Some(Frame::Bulk(key)), Some(Frame::Array(popped))) =
                (parts.first(), parts.get(1))
            else {
                return Vec::new();
            };
            let numkeys = args
                .get(1)
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let Some(direction) = args.get(2 + numkeys) else {
                return Vec::new();
            };
            let pop = if name.ends_with("lmpop") {
                side(direction, "LPOP", "RPOP")
            } else if direction.eq_ignore_ascii_case(b"min") {
                Bytes::from_static(b"ZPOPMIN")
            } else {
                Bytes::from_static(b"ZPOPMAX")
            };
            vec![vec![
                pop,
                key.clone(),
                Bytes::from(popped.len().to_string()),
            ]]
        }
        _ => Vec::new(),
    }
}
