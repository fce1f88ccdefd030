//! Consumer group commands: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use super::super::{cstr, error_text, opt_is, parse_i64, wrong_args, Call, SYNTAX};
use super::args::{parse_interval, parse_loose_id, parse_strict_id};
use super::{bulk_args, entry_frame, id_frame, read_stream, stream_at, with_stream, write_stream};
use crate::types::stream::{Group, StreamId, ENTRIES_READ_UNKNOWN};
use crate::types::Stream;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

fn subcommand_syntax_error(c: &Call, container: &str) -> Frame {
    Frame::error_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {container} HELP.",
        error_text(c.arg(1)).chars().take(128).collect::<String>()
    ))
}

fn nogroup(c: &Call, group: &[u8]) -> Frame {
    Frame::error_owned(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        error_text(group),
        error_text(c.arg(2))
    ))
}

fn nogroup_or_key(key: &[u8], group: &[u8]) -> Frame {
    Frame::error_owned(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        error_text(key),
        error_text(group)
    ))
}

/// An ENTRIESREAD value: non-negative or -1.
fn parse_entries_read(arg: &[u8]) -> Result<i64, Frame> {
    let n = parse_i64(arg)?;
    if n < 0 && n != ENTRIES_READ_UNKNOWN {
        return Err(Frame::error(
            "ERR value for ENTRIESREAD must be positive or -1",
        ));
    }
    Ok(n)
}

#[derive(Clone, Copy, PartialEq)]
enum Sub {
    Create,
    SetId,
    Destroy,
    CreateConsumer,
    DelConsumer,
}

pub fn xgroup(c: &mut Call) -> Frame {
    let argc = c.args.len();
    let (sub, arity, full) = match c.arg(1).to_ascii_lowercase().as_slice() {
        b"help" => {
            if argc != 2 {
                return wrong_args("xgroup|help");
            }
            return Frame::Array(XGROUP_HELP.iter().map(|l| Frame::simple(l)).collect());
        }
        b"create" => (Sub::Create, -5i32, "xgroup|create"),
        b"setid" => (Sub::SetId, -5, "xgroup|setid"),
        b"destroy" => (Sub::Destroy, 4, "xgroup|destroy"),
        b"createconsumer" => (Sub::CreateConsumer, 5, "xgroup|createconsumer"),
        b"delconsumer" => (Sub::DelConsumer, 5, "xgroup|delconsumer"),
        _ => {
            let shown: String = error_text(c.arg(1)).chars().take(128).collect();
            return Frame::error_owned(format!(
                "ERR unknown subcommand '{shown}'. Try XGROUP HELP."
            ));
        }
    };
    let arity_ok = if arity > 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    };
    if !arity_ok {
        return wrong_args(full);
    }
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    if sub == Sub::Create {
        let mut i = 5;
        while i < argc {
            if opt_is(c.arg(i), "mkstream") {
                mkstream = true;
                i += 1;
            } else if opt_is(c.arg(i), "entriesread") && i + 1 < argc {
                entries_read = match parse_entries_read(c.arg(i + 1)) {
                    Ok(n) => n,
                    Err(e) => return e,
                };
                i += 2;
            } else {
                return subcommand_syntax_error(c, "XGROUP");
            }
        }
    }
    let shape_ok = match sub {
        Sub::Create => argc <= 8,
        Sub::SetId => argc == 5 || argc == 7,
        _ => true,
    };
    if !shape_ok {
        return subcommand_syntax_error(c, "XGROUP");
    }
    if sub == Sub::SetId && argc == 7 {
        if !opt_is(c.arg(5), "entriesread") {
            return subcommand_syntax_error(c, "XGROUP");
        }
        entries_read = match parse_entries_read(c.arg(6)) {
            Ok(n) => n,
            Err(e) => return e,
        };
    }
    let key = c.arg(2);
    let group_name = c.arg(3);
    let slot = match write_stream(c, key) {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    if !mkstream {
        let Some(slot) = slot else {
            return Frame::error(damselfly_protocol::errors::XGROUP_NEEDS_KEY);
        };
        let has_group = stream_at(c, slot).groups.contains_key(group_name);
        if !has_group && matches!(sub, Sub::SetId | Sub::CreateConsumer | Sub::DelConsumer) {
            return nogroup(c, group_name);
        }
    }
    match sub {
        Sub::Create => create(c, slot, entries_read),
        Sub::SetId => set_id(c, slot, entries_read),
        Sub::Destroy => {
            let Some(slot) = slot else {
                return Frame::Integer(0);
            };
            if !stream_at(c, slot).groups.contains_key(group_name) {
                return Frame::Integer(0);
            }
            with_stream(c, slot, |s| s.groups.remove(group_name));
            Frame::Integer(1)
        }
        Sub::CreateConsumer => {
            let (Some(slot), consumer) = (slot, c.arg(4)) else {
                return Frame::Integer(0);
            };
            let exists = stream_at(c, slot)
                .groups
                .get(group_name)
                .is_some_and(|g| g.consumers.contains_key(consumer));
            if exists {
                return Frame::Integer(0);
            }
            let now = c.now();
            with_stream(c, slot, |s| {
                if let Some(g) = s.groups.get_mut(group_name) {
                    g.create_consumer(consumer, now);
                }
            });
            Frame::Integer(1)
        }
        Sub::DelConsumer => {
            let (Some(slot), consumer) = (slot, c.arg(4)) else {
                return Frame::Integer(0);
            };
            let exists = stream_at(c, slot)
                .groups
                .get(group_name)
                .is_some_and(|g| g.consumers.contains_key(consumer));
            if !exists {
                return Frame::Integer(0);
            }
            let pending = with_stream(c, slot, |s| {
                s.groups
                    .get_mut(group_name)
                    .and_then(|g| g.delete_consumer(consumer))
            });
            Frame::Integer(pending.unwrap_or(0) as i64)
        }
    }
}

fn create(c: &mut Call, slot: Option<u32>, entries_read: i64) -> Frame {
    let (key, group_name, id_arg) = (c.arg(2), c.arg(3), c.arg(4));
    let id = if cstr(id_arg) == b"$" {
        slot.map_or(StreamId::MIN, |slot| stream_at(c, slot).last_id)
    } else {
        match parse_strict_id(id_arg) {
            Ok(id) => id,
            Err(e) => return e,
        }
    };
    if let Some(slot) = slot {
        if stream_at(c, slot).groups.contains_key(group_name) {
            return Frame::error("BUSYGROUP Consumer Group name already exists");
        }
    }
    let now = c.now();
    let slot = match slot {
        Some(slot) => slot,
        None => c.db().insert(key, Value::Stream(Box::default()), 0, now),
    };
    with_stream(c, slot, |s| {
        s.groups.insert(
            Bytes::copy_from_slice(group_name),
            Group::new(id, entries_read),
        );
    });
    Frame::OK
}

fn set_id(c: &mut Call, slot: Option<u32>, entries_read: i64) -> Frame {
    let Some(slot) = slot else {
        return Frame::error(damselfly_protocol::errors::XGROUP_NEEDS_KEY);
    };
    let id = if cstr(c.arg(4)) == b"$" {
        stream_at(c, slot).last_id
    } else {
        match parse_loose_id(c.arg(4)) {
            Ok(id) => id,
            Err(e) => return e,
        }
    };
    let group_name = c.arg(3);
    with_stream(c, slot, |s| {
        if let Some(g) = s.groups.get_mut(group_name) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
    });
    Frame::OK
}

/// The stream and group a command works on (lookupKeyRead), or its NOGROUP error.
fn group_slot(c: &mut Call) -> Result<u32, Frame> {
    let (key, group) = (c.arg(1), c.arg(2));
    match read_stream(c, key)? {
        Some(slot) if stream_at(c, slot).groups.contains_key(group) => Ok(slot),
        _ => Err(nogroup_or_key(key, group)),
    }
}

pub fn xack(c: &mut Call) -> Frame {
    let (key, group_name) = (c.arg(1), c.arg(2));
    let slot = match read_stream(c, key) {
        Ok(Some(slot)) if stream_at(c, slot).groups.contains_key(group_name) => slot,
        Ok(_) => return Frame::Integer(0),
        Err(e) => return e,
    };
    let mut ids = Vec::with_capacity(c.args.len() - 3);
    for arg in &c.args[3..] {
        match parse_strict_id(arg) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    let pending = stream_at(c, slot)
        .groups
        .get(group_name)
        .is_some_and(|g| ids.iter().any(|id| g.pel.contains_key(id)));
    if !pending {
        return Frame::Integer(0);
    }
    let acked = with_stream(c, slot, |s| {
        s.groups.get_mut(group_name).map_or(0, |g| {
            ids.iter()
                .filter(|&&id| g.remove_pending(id).is_some())
                .count()
        })
    });
    Frame::Integer(acked as i64)
}

pub fn xpending(c: &mut Call) -> Frame {
    let argc = c.args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Frame::error(SYNTAX);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0i64;
        if opt_is(c.arg(3), "idle") {
            min_idle = match parse_i64(c.arg(4)) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if argc < 8 {
                return Frame::error(SYNTAX);
            }
            at += 2;
        }
        let count = match parse_i64(c.arg(at + 2)) {
            Ok(n) => n.max(0),
            Err(e) => return e,
        };
        let start = match parse_interval(c.arg(at), 0) {
            Ok((id, false)) => id,
            Ok((id, true)) => match id.next() {
                Some(id) => id,
                None => return Frame::error(damselfly_protocol::errors::INVALID_START_ID),
            },
            Err(e) => return e,
        };
        let end = match parse_interval(c.arg(at + 1), u64::MAX) {
            Ok((id, false)) => id,
            Ok((id, true)) => match id.prev() {
                Some(id) => id,
                None => return Frame::error(damselfly_protocol::errors::INVALID_END_ID),
            },
            Err(e) => return e,
        };
        let consumer = (at + 3 < argc).then(|| c.arg(at + 3));
        range = Some((start, end, count, min_idle, consumer));
    }
    let slot = match group_slot(c) {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    let now = c.now() as i64;
    let group_name = c.arg(2);
    let s = stream_at(c, slot);
    let Some(group) = s.groups.get(group_name) else {
        return nogroup_or_key(c.arg(1), group_name);
    };
    let Some((start, end, count, min_idle, consumer)) = range else {
        return pending_summary(group);
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(name) => match group.consumers.get(name) {
            Some(consumer) => Box::new(consumer.pel.iter().copied()),
            None => return Frame::Array(Vec::new()),
        },
        None => Box::new(group.pel.keys().copied()),
    };
    let mut out = Vec::new();
    if start <= end {
        for id in ids.skip_while(|id| *id < start).take_while(|id| *id <= end) {
            if out.len() as i64 >= count {
                break;
            }
            let Some(nack) = group.pel.get(&id) else {
                continue;
            };
            let idle = now - nack.delivery_time as i64;
            if min_idle != 0 && idle < min_idle {
                continue;
            }
            out.push(Frame::Array(vec![
                id_frame(id),
                Frame::Bulk(nack.consumer.clone()),
                Frame::Integer(idle.max(0)),
                Frame::Integer(nack.delivery_count as i64),
            ]));
        }
    }
    Frame::Array(out)
}

fn pending_summary(group: &Group) -> Frame {
    let (Some(first), Some(last)) = (group.pel.keys().next(), group.pel.keys().next_back()) else {
        return Frame::Array(vec![
            Frame::Integer(0),
            Frame::Null,
            Frame::Null,
            Frame::NullArray,
        ]);
    };
    let consumers = group
        .consumers
        .iter()
        .filter(|(_, consumer)| !consumer.pel.is_empty())
        .map(|(name, consumer)| {
            Frame::Array(vec![
                Frame::Bulk(name.clone()),
                Frame::Bulk(Bytes::from(consumer.pel.len().to_string())),
            ])
        })
        .collect();
    Frame::Array(vec![
        Frame::Integer(group.pel.len() as i64),
        id_frame(*first),
        id_frame(*last),
        Frame::Array(consumers),
    ])
}

/// What claiming does to one pending entry.
enum ClaimStep {
    /// The entry is gone from the stream: drop it from the PEL.
    Drop(StreamId),
    /// Give it to the claiming consumer.
    Claim(StreamId),
}

/// Applies claim steps: returns the claimed entries' replies and the deleted ids, and journals
/// each change as an XCLAIM with absolute time and count (or an XACK for dropped entries).
fn apply_claims(
    c: &mut Call,
    slot: u32,
    steps: &[ClaimStep],
    delivery_time: u64,
    retry_count: Option<u64>,
    justid: bool,
    last_id: Option<StreamId>,
) -> (Vec<Frame>, Vec<Frame>) {
    let (key, group_name, consumer) = (c.arg(1), c.arg(2), c.arg(3));
    let now = c.now();
    let mut journal = Vec::new();
    let replies = with_stream(c, slot, |s| {
        let Some((name, mut group)) = s.groups.remove_entry(group_name) else {
            return (Vec::new(), Vec::new());
        };
        if let Some(last_id) = last_id {
            group.last_id = last_id;
            let mut effect = bulk_args(&[b"XGROUP", b"SETID", key, group_name]);
            effect.push(last_id.to_bytes());
            effect.push(Bytes::from_static(b"ENTRIESREAD"));
            effect.push(Bytes::from(group.entries_read.to_string()));
            journal.push(effect);
        }
        let mut claimed = Vec::new();
        let mut dropped = Vec::new();
        let mut owner = None;
        for step in steps {
            match *step {
                ClaimStep::Drop(id) => {
                    group.remove_pending(id);
                    journal.push(bulk_args(&[
                        b"XACK",
                        key,
                        group_name,
                        id.to_string().as_bytes(),
                    ]));
                    dropped.push(id_frame(id));
                }
                ClaimStep::Claim(id) => {
                    let owner = owner.get_or_insert_with(|| group.touch_consumer(consumer, now));
                    let nack = group.assign_pending(id, owner, delivery_time);
                    match retry_count {
                        Some(n) => nack.delivery_count = n,
                        None if !justid => nack.delivery_count += 1,
                        None => {}
                    }
                    let count = nack.delivery_count;
                    let mut effect = bulk_args(&[b"XCLAIM", key, group_name, consumer, b"0"]);
                    effect.push(id.to_bytes());
                    effect.push(Bytes::from_static(b"TIME"));
                    effect.push(Bytes::from(delivery_time.to_string()));
                    effect.push(Bytes::from_static(b"RETRYCOUNT"));
                    effect.push(Bytes::from(count.to_string()));
                    effect.extend(bulk_args(&[b"FORCE", b"JUSTID"]));
                    journal.push(effect);
                    claimed.push(claim_reply(s, id, justid));
                }
            }
        }
        s.groups.insert(name, group);
        (claimed, dropped)
    });
    for effect in journal {
        c.journal_as(effect);
    }
    replies
}

fn claim_reply(s: &Stream, id: StreamId, justid: bool) -> Frame {
    match s.get(id) {
        Some(e) if !justid => entry_frame(id, e.fields()),
        _ => id_frame(id),
    }
}

pub fn xclaim(c: &mut Call) -> Frame {
    let slot = match group_slot(c) {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    let min_idle = match parse_i64(c.arg(4)) {
        Ok(n) => n.max(0),
        Err(_) => return Frame::error("ERR Invalid min-idle-time argument for XCLAIM"),
    };
    let argc = c.args.len();
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argc {
        match parse_strict_id(c.arg(j)) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = c.now() as i64;
    let (mut force, mut justid) = (false, false);
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < argc {
        let more = argc - 1 - j;
        let opt = c.arg(j);
        if opt_is(opt, "force") {
            force = true;
        } else if opt_is(opt, "justid") {
            justid = true;
        } else if opt_is(opt, "idle") && more > 0 {
            j += 1;
            match parse_i64(c.arg(j)) {
                Ok(idle) => delivery_time = Some(now.wrapping_sub(idle)),
                Err(_) => return Frame::error("ERR Invalid IDLE option argument for XCLAIM"),
            }
        } else if opt_is(opt, "time") && more > 0 {
            j += 1;
            match parse_i64(c.arg(j)) {
                Ok(time) => delivery_time = Some(time),
                Err(_) => return Frame::error("ERR Invalid TIME option argument for XCLAIM"),
            }
        } else if opt_is(opt, "retrycount") && more > 0 {
            j += 1;
            match parse_i64(c.arg(j)) {
                Ok(n) => retry_count = n,
                Err(_) => return Frame::error("ERR Invalid RETRYCOUNT option argument for XCLAIM"),
            }
        } else if opt_is(opt, "lastid") && more > 0 {
            j += 1;
            match parse_strict_id(c.arg(j)) {
                Ok(id) => last_id = id,
                Err(e) => return e,
            }
        } else {
            return Frame::error_owned(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                error_text(opt)
            ));
        }
        j += 1;
    }
    // A bogus time (negative or in the future) means now, as in Redis.
    let delivery_time = match delivery_time {
        Some(t) if (0..=now).contains(&t) => t as u64,
        _ => now as u64,
    };
    let group_name = c.arg(2);
    let s = stream_at(c, slot);
    let Some(group) = s.groups.get(group_name) else {
        return nogroup_or_key(c.arg(1), group_name);
    };
    let new_last = (last_id > group.last_id).then_some(last_id);
    let mut steps = Vec::new();
    for &id in &ids {
        let nack = group.pel.get(&id);
        if !s.contains(id) {
            if nack.is_some()
                && !steps
                    .iter()
                    .any(|st| matches!(st, ClaimStep::Drop(d) if *d == id))
            {
                steps.push(ClaimStep::Drop(id));
            }
            continue;
        }
        // An id repeated in the call sees its earlier claim: delivered at `delivery_time`.
        let claimed_here = steps
            .iter()
            .any(|st| matches!(st, ClaimStep::Claim(d) if *d == id));
        let delivered_at = match nack {
            _ if claimed_here => Some(delivery_time),
            Some(nack) => Some(nack.delivery_time),
            None if force => None,
            None => continue,
        };
        if delivered_at.is_some_and(|at| min_idle > 0 && now - (at as i64) < min_idle) {
            continue;
        }
        steps.push(ClaimStep::Claim(id));
    }
    if steps.is_empty() && new_last.is_none() {
        return Frame::Array(Vec::new());
    }
    let retry = u64::try_from(retry_count).ok();
    let (claimed, _) = apply_claims(c, slot, &steps, delivery_time, retry, justid, new_last);
    Frame::Array(claimed)
}

pub fn xautoclaim(c: &mut Call) -> Frame {
    let min_idle = match parse_i64(c.arg(4)) {
        Ok(n) => n.max(0),
        Err(_) => return Frame::error("ERR Invalid min-idle-time argument for XAUTOCLAIM"),
    };
    let start = match parse_interval(c.arg(5), 0) {
        Ok((id, false)) => id,
        Ok((id, true)) => match id.next() {
            Some(id) => id,
            None => return Frame::error(damselfly_protocol::errors::INVALID_START_ID),
        },
        Err(e) => return e,
    };
    let argc = c.args.len();
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argc {
        let more = argc - 1 - j;
        if opt_is(c.arg(j), "count") && more > 0 {
            // LONG_MAX / max(sizeof(streamID), attempts factor 10).
            const MAX_COUNT: i64 = i64::MAX / 16;
            match parse_i64(c.arg(j + 1)) {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => count = n,
                _ => return Frame::error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if opt_is(c.arg(j), "justid") {
            justid = true;
        } else {
            return Frame::error(SYNTAX);
        }
        j += 1;
    }
    let slot = match group_slot(c) {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    let now = c.now() as i64;
    let group_name = c.arg(2);
    let s = stream_at(c, slot);
    let Some(group) = s.groups.get(group_name) else {
        return nogroup_or_key(c.arg(1), group_name);
    };
    let mut attempts = count.saturating_mul(10);
    let mut remaining = count;
    let mut steps = Vec::new();
    let mut pending = group.pel.range(start..).peekable();
    while attempts > 0 && remaining > 0 {
        attempts -= 1;
        let Some((&id, nack)) = pending.next() else {
            break;
        };
        if !s.contains(id) {
            steps.push(ClaimStep::Drop(id));
            remaining -= 1;
            continue;
        }
        if min_idle > 0 && now - (nack.delivery_time as i64) < min_idle {
            continue;
        }
        steps.push(ClaimStep::Claim(id));
        remaining -= 1;
    }
    let cursor = pending.next().map_or(StreamId::MIN, |(&id, _)| id);
    let (claimed, dropped) = if steps.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        apply_claims(c, slot, &steps, now as u64, None, justid, None)
    };
    Frame::Array(vec![
        id_frame(cursor),
        Frame::Array(claimed),
        Frame::Array(dropped),
    ])
}
