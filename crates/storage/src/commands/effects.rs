//! What the replication journal records for a command: a form that replays the same way on any
//! replica, whatever its shard count (absolute times, results instead of float arithmetic, single-key
//! commands instead of moves between keys).

use super::Call;
use crate::keyspace::Db;
use crate::spec::{Journal, Move};
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
    let journal = match call.def.journal {
        Journal::AsSentUnless(depends_on_the_moment) if depends_on_the_moment(args) => {
            Journal::StringState
        }
        Journal::AsSentUnless(_) => Journal::AsSent,
        journal => journal,
    };
    match journal {
        Journal::AsSent | Journal::AsSentUnless(_) => effects.writes.push((db, None)),
        Journal::StringState => effects
            .writes
            .push((db, Some(string_state(&call.dbs[db], &args[1])))),
        Journal::Destination(at) => {
            for command in key_state(&call.dbs[db], &args[at]) {
                effects.writes.push((db, Some(command)));
            }
        }
        Journal::TtlState => effects
            .writes
            .push((db, Some(ttl_state(&call.dbs[db], &args[1])))),
        Journal::Moved(kind) => {
            let (source, target, target_db) = match kind {
                Move::ToDb => (&args[1], &args[1], call.other_db.unwrap_or(db)),
                Move::Rename | Move::RenameNx | Move::Copy => {
                    (&args[1], &args[2], call.other_db.unwrap_or(db))
                }
            };
            if kind != Move::Copy {
                effects.writes.push((db, Some(key_command("DEL", source))));
            }
            for command in key_state(&call.dbs[target_db], target) {
                effects.writes.push((target_db, Some(command)));
            }
        }
        Journal::FromReply(effects_of) => {
            for command in effects_of(args, reply) {
                effects.writes.push((db, Some(command)));
            }
        }
        Journal::AsMset => {
            let mut mset = args.to_vec();
            mset[0] = Bytes::from_static(b"MSET");
            effects.writes.push((db, Some(mset)));
        }
    }
}

/// Whether a SET has options whose effect depends on the moment or on the old entry.
pub(super) fn set_depends_on_the_moment(args: &[Bytes]) -> bool {
    args[3..].iter().any(|arg| {
        ["ex", "px", "exat", "pxat", "keepttl"]
            .iter()
            .any(|option| arg.eq_ignore_ascii_case(option.as_bytes()))
    })
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

fn side(arg: &[u8], left: &'static str, right: &'static str) -> Bytes {
    Bytes::from_static(
        if arg.eq_ignore_ascii_case(b"left") {
            left
        } else {
            right
        }
        .as_bytes(),
    )
}

/// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: the pop on the key the reply names.
fn popped_first(reply: &Frame, pop: &'static str) -> Vec<Vec<Bytes>> {
    match reply {
        Frame::Array(parts) => match parts.first() {
            Some(Frame::Bulk(key)) => vec![key_command(pop, key)],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub(super) fn blpop_effects(_: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_first(reply, "LPOP")
}

pub(super) fn brpop_effects(_: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_first(reply, "RPOP")
}

pub(super) fn bzpopmin_effects(_: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_first(reply, "ZPOPMIN")
}

pub(super) fn bzpopmax_effects(_: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_first(reply, "ZPOPMAX")
}

/// LMOVE and BLMOVE (`source destination wherefrom whereto ...`): a pop and a push.
pub(super) fn lmove_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    let Frame::Bulk(element) = reply else {
        return Vec::new();
    };
    vec![
        vec![side(&args[3], "LPOP", "RPOP"), args[1].clone()],
        vec![
            side(&args[4], "LPUSH", "RPUSH"),
            args[2].clone(),
            element.clone(),
        ],
    ]
}

/// RPOPLPUSH and BRPOPLPUSH: an RPOP and an LPUSH.
pub(super) fn rpoplpush_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    let Frame::Bulk(element) = reply else {
        return Vec::new();
    };
    vec![
        key_command("RPOP", &args[1]),
        vec![
            Bytes::from_static(b"LPUSH"),
            args[2].clone(),
            element.clone(),
        ],
    ]
}

/// SMOVE that moved: an SREM and an SADD.
pub(super) fn smove_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    if *reply != Frame::Integer(1) {
        return Vec::new();
    }
    vec![
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
    ]
}

/// LMPOP/ZMPOP (`numkeys key... where [COUNT n]`, after the name): the pop of as many elements
/// as the reply holds from the key it names.
fn popped_many(args: &[Bytes], reply: &Frame, list: bool) -> Vec<Vec<Bytes>> {
    let Frame::Array(parts) = reply else {
        return Vec::new();
    };
    let (Some(Frame::Bulk(key)), Some(Frame::Array(popped))) = (parts.first(), parts.get(1)) else {
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
    let pop = if list {
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

pub(super) fn lmpop_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_many(args, reply, true)
}

pub(super) fn zmpop_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_many(args, reply, false)
}

/// BLMPOP/BZMPOP have the timeout before numkeys.
pub(super) fn blmpop_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_many(&args[1..], reply, true)
}

pub(super) fn bzmpop_effects(args: &[Bytes], reply: &Frame) -> Vec<Vec<Bytes>> {
    popped_many(&args[1..], reply, false)
}
