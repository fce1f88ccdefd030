//! Stream commands (t_stream.c): entries (XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD) here,
//! consumer groups in `groups`, XINFO in `info`.

mod args;
mod groups;
mod info;
mod read;

use super::{Call, Handler, WRONGTYPE};
use crate::types::stream::StreamId;
use crate::types::Stream;
use crate::value::Value;
use args::{parse_add_trim, parse_interval, parse_strict_id};
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Name, Redis arity, handler.
pub(super) const COMMANDS: &[(&str, i32, Handler)] = &[
    ("xadd", -5, xadd),
    ("xlen", 2, xlen),
    ("xrange", -4, xrange),
    ("xrevrange", -4, xrevrange),
    ("xdel", -3, xdel),
    ("xtrim", -4, xtrim),
    ("xread", -4, read::xread),
    ("xreadgroup", -7, read::xreadgroup),
    ("xgroup", -2, groups::xgroup),
    ("xack", -4, groups::xack),
    ("xpending", -3, groups::xpending),
    ("xclaim", -6, groups::xclaim),
    ("xautoclaim", -6, groups::xautoclaim),
    ("xinfo", -2, info::xinfo),
];

/// The stream at `key` for reading (lookupKeyRead): None when missing, Err on another type.
fn read_stream(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    let id = c.lookup_read(key);
    check_stream(c, id)
}

/// The stream at `key` for writing (lookupKeyWrite).
fn write_stream(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    let id = c.lookup_write(key);
    check_stream(c, id)
}

fn check_stream(c: &mut Call, id: Option<u32>) -> Result<Option<u32>, Frame> {
    match id {
        Some(id) if !matches!(c.db().slot(id).value, Value::Stream(_)) => {
            Err(Frame::error(WRONGTYPE))
        }
        other => Ok(other),
    }
}

/// The stream in slot `id` (checked by `read_stream`/`write_stream`).
fn stream_at<'c>(c: &'c mut Call, id: u32) -> &'c Stream {
    match &c.db().slot(id).value {
        Value::Stream(s) => s,
        _ => unreachable_stream(),
    }
}

/// Changes the stream in slot `id`, keeping its memory accounting right.
fn with_stream<R>(c: &mut Call, id: u32, f: impl FnOnce(&mut Stream) -> R) -> R {
    c.db().with_value_mut(id, |value| match value {
        Value::Stream(s) => {
            let result = f(s);
            s.refresh_group_bytes();
            result
        }
        _ => unreachable_stream(),
    })
}

/// Slots handed to the helpers above were checked to hold streams.
#[cold]
fn unreachable_stream() -> ! {
    unreachable!("slot checked to hold a stream")
}

fn id_frame(id: StreamId) -> Frame {
    Frame::Bulk(id.to_bytes())
}

/// One entry as Redis replies it: `[id, [field, value, ...]]`.
fn entry_frame(
    id: StreamId,
    fields: impl Iterator<Item = (impl AsRef<[u8]>, impl AsRef<[u8]>)>,
) -> Frame {
    let mut flat = Vec::new();
    for (field, value) in fields {
        flat.push(Frame::Bulk(Bytes::copy_from_slice(field.as_ref())));
        flat.push(Frame::Bulk(Bytes::copy_from_slice(value.as_ref())));
    }
    Frame::Array(vec![id_frame(id), Frame::Array(flat)])
}

/// Entries in `start..=end` (descending when `rev`), at most `count` (0: all).
fn range_frames(s: &Stream, start: StreamId, end: StreamId, rev: bool, count: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    s.scan(start, end, rev, |e| {
        out.push(entry_frame(e.id, e.fields()));
        count == 0 || out.len() < count
    });
    out
}

fn bulk_args(words: &[&[u8]]) -> Vec<Bytes> {
    words.iter().map(|w| Bytes::copy_from_slice(w)).collect()
}

fn xadd(c: &mut Call) -> Frame {
    let opts = match parse_add_trim(c, true) {
        Ok(opts) => opts,
        Err(e) => return e,
    };
    let field_pos = opts.id_pos + 1;
    let words = c.args.len().saturating_sub(field_pos);
    if words < 2 || words % 2 == 1 {
        return c.wrong_args();
    }
    if let Some(parsed) = opts.id {
        if parsed.seq_given && parsed.id.is_zero() {
            return Frame::error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = c.arg(1);
    let slot = match write_stream(c, key) {
        Ok(slot) => slot,
        Err(e) => return e,
    };
    let now = c.now();
    let empty = Stream::default();
    let stream = match slot {
        Some(slot) => stream_at(c, slot),
        None if opts.nomkstream => return Frame::Null,
        None => &empty,
    };
    if stream.last_id == StreamId::MAX {
        return Frame::error(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        );
    }
    let id = match opts.id {
        Some(parsed) => stream.resolve_explicit_id(parsed),
        None => stream.next_auto_id(now),
    };
    let Some(id) = id else {
        return Frame::error(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        );
    };
    let slot = match slot {
        Some(slot) => slot,
        None => c.db().insert(key, Value::Stream(Box::default()), 0, now),
    };
    let args = c.args;
    let fields: Vec<(&[u8], &[u8])> = args[field_pos..]
        .chunks_exact(2)
        .map(|pair| (&pair[0][..], &pair[1][..]))
        .collect();
    let length = with_stream(c, slot, |s| {
        s.append(id, &fields);
        if let Some(trim) = opts.trim {
            s.trim(trim, opts.approx, opts.limit);
        }
        s.len()
    });
    // Replicas replay the id generated here and the resulting length, whatever `*`, `~` and
    // LIMIT made of them.
    let mut effect = bulk_args(&[b"XADD", key]);
    if opts.trim.is_some() {
        effect.extend(bulk_args(&[b"MAXLEN", b"="]));
        effect.push(Bytes::from(length.to_string()));
    }
    effect.push(id.to_bytes());
    effect.extend_from_slice(&args[field_pos..]);
    c.journal_as(effect);
    id_frame(id)
}

fn xtrim(c: &mut Call) -> Frame {
    let opts = match parse_add_trim(c, false) {
        Ok(opts) => opts,
        Err(e) => return e,
    };
    let key = c.arg(1);
    let slot = match write_stream(c, key) {
        Ok(Some(slot)) => slot,
        Ok(None) => return Frame::Integer(0),
        Err(e) => return e,
    };
    let Some(trim) = opts.trim else {
        return Frame::Integer(0);
    };
    if !stream_at(c, slot).would_trim(trim, opts.approx, opts.limit) {
        return Frame::Integer(0);
    }
    let (removed, length) = with_stream(c, slot, |s| {
        (s.trim(trim, opts.approx, opts.limit), s.len())
    });
    let mut effect = bulk_args(&[b"XTRIM", key, b"MAXLEN", b"="]);
    effect.push(Bytes::from(length.to_string()));
    c.journal_as(effect);
    Frame::Integer(removed as i64)
}

fn xlen(c: &mut Call) -> Frame {
    match read_stream(c, c.arg(1)) {
        Ok(Some(slot)) => Frame::Integer(stream_at(c, slot).len() as i64),
        Ok(None) => Frame::Integer(0),
        Err(e) => e,
    }
}

fn xrange(c: &mut Call) -> Frame {
    range_command(c, false)
}

fn xrevrange(c: &mut Call) -> Frame {
    range_command(c, true)
}

fn range_command(c: &mut Call, rev: bool) -> Frame {
    let (start_arg, end_arg) = if rev {
        (c.arg(3), c.arg(2))
    } else {
        (c.arg(2), c.arg(3))
    };
    let start = match parse_interval(start_arg, 0) {
        Ok((id, false)) => id,
        Ok((id, true)) => match id.next() {
            Some(id) => id,
            None => return Frame::error("ERR invalid start ID for the interval"),
        },
        Err(e) => return e,
    };
    let end = match parse_interval(end_arg, u64::MAX) {
        Ok((id, false)) => id,
        Ok((id, true)) => match id.prev() {
            Some(id) => id,
            None => return Frame::error("ERR invalid end ID for the interval"),
        },
        Err(e) => return e,
    };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < c.args.len() {
        if super::opt_is(c.arg(j), "count") && j + 1 < c.args.len() {
            count = match super::parse_i64(c.arg(j + 1)) {
                Ok(n) => n.max(0),
                Err(e) => return e,
            };
            j += 2;
        } else {
            return Frame::error(super::SYNTAX);
        }
    }
    let slot = match read_stream(c, c.arg(1)) {
        Ok(Some(slot)) => slot,
        Ok(None) => return Frame::Array(Vec::new()),
        Err(e) => return e,
    };
    if count == 0 {
        return Frame::NullArray;
    }
    let limit = if count < 0 { 0 } else { count as usize };
    Frame::Array(range_frames(stream_at(c, slot), start, end, rev, limit))
}

fn xdel(c: &mut Call) -> Frame {
    let slot = match write_stream(c, c.arg(1)) {
        Ok(Some(slot)) => slot,
        Ok(None) => return Frame::Integer(0),
        Err(e) => return e,
    };
    let mut ids = Vec::with_capacity(c.args.len() - 2);
    for arg in &c.args[2..] {
        match parse_strict_id(arg) {
            Ok(id) => ids.push(id),
            Err(e) => return e,
        }
    }
    if !ids.iter().any(|&id| stream_at(c, slot).contains(id)) {
        return Frame::Integer(0);
    }
    Frame::Integer(with_stream(c, slot, |s| s.delete(&ids)) as i64)
}

#[cfg(test)]
mod difftest;
#[cfg(test)]
mod tests;
