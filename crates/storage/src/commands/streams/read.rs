//! XREAD and XREADGROUP (without blocking: when nothing can be served the reply is the null
//! array a timed-out block gives).

use super::super::{error_text, opt_is, parse_i64, Call, SYNTAX};
use super::args::parse_strict_id;
use super::{bulk_args, entry_frame, range_frames, read_stream, stream_at, with_stream};
use crate::types::stream::{Group, StreamId};
use crate::types::Stream;
use bytes::Bytes;
use damselfly_protocol::Frame;

/// What each stream is read from.
#[derive(Clone, Copy)]
enum From {
    /// Entries after this id.
    After(StreamId),
    /// XREADGROUP's `>`: entries never delivered to the group.
    Undelivered,
}

struct ReadArgs<'a> {
    /// Most entries per stream (0: no limit).
    count: usize,
    keys: &'a [Bytes],
    ids: &'a [Bytes],
    /// XREADGROUP's group and consumer.
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

/// Parses the options up to STREAMS, as xreadCommand does.
fn parse_options<'a>(c: &Call<'a, '_>, xreadgroup: bool) -> Result<ReadArgs<'a>, Frame> {
    let args: &'a [Bytes] = c.args;
    let mut count = 0usize;
    let mut group = None;
    let mut noack = false;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let opt = &args[i][..];
        if opt_is(opt, "block") && more > 0 {
            parse_timeout(&args[i + 1])?;
            i += 2;
        } else if opt_is(opt, "count") && more > 0 {
            count = usize::try_from(parse_i64(&args[i + 1])?.max(0)).unwrap_or(usize::MAX);
            i += 2;
        } else if opt_is(opt, "streams") && more > 0 {
            let rest = &args[i + 1..];
            if !rest.len().is_multiple_of(2) {
                return Err(Frame::error(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            let (keys, ids) = rest.split_at(rest.len() / 2);
            if xreadgroup && group.is_none() {
                return Err(Frame::error("ERR Missing GROUP option for XREADGROUP"));
            }
            return Ok(ReadArgs {
                count,
                keys,
                ids,
                group,
                noack,
            });
        } else if opt_is(opt, "group") && more >= 2 {
            if !xreadgroup {
                return Err(Frame::error(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((&args[i + 1][..], &args[i + 2][..]));
            i += 3;
        } else if opt_is(opt, "noack") {
            if !xreadgroup {
                return Err(Frame::error(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
            i += 1;
        } else {
            return Err(Frame::error(SYNTAX));
        }
    }
    Err(Frame::error(SYNTAX))
}

/// getTimeoutFromObjectOrReply in milliseconds (the value itself is the lead's business).
fn parse_timeout(arg: &[u8]) -> Result<(), Frame> {
    let ms = parse_i64(arg)
        .map_err(|_| Frame::error(damselfly_protocol::errors::TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(Frame::error(damselfly_protocol::errors::TIMEOUT_NEGATIVE));
    }
    Ok(())
}

pub fn xread(c: &mut Call) -> Frame {
    read_command(c, false)
}

pub fn xreadgroup(c: &mut Call) -> Frame {
    read_command(c, true)
}

fn read_command(c: &mut Call, xreadgroup: bool) -> Frame {
    let read = match parse_options(c, xreadgroup) {
        Ok(read) => read,
        Err(e) => return e,
    };
    let mut froms = Vec::with_capacity(read.keys.len());
    for (key, id_arg) in read.keys.iter().zip(read.ids) {
        let slot = match read_stream(c, key) {
            Ok(slot) => slot,
            Err(e) => return e,
        };
        if let Some((group, _)) = read.group {
            let exists = slot.is_some_and(|slot| stream_at(c, slot).groups.contains_key(group));
            if !exists {
                return Frame::error_owned(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    error_text(key),
                    error_text(group)
                ));
            }
        }
        let id_arg = super::super::cstr(id_arg);
        let from = if id_arg == b"$" {
            if xreadgroup {
                return Frame::error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
            }
            From::After(slot.map_or(StreamId::MIN, |slot| stream_at(c, slot).last_id))
        } else if id_arg == b">" {
            if !xreadgroup {
                return Frame::error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            From::Undelivered
        } else {
            match parse_strict_id(id_arg) {
                // xreadCommand encodes `>` as the largest id, so naming that id means `>` too.
                Ok(StreamId::MAX) if xreadgroup => From::Undelivered,
                Ok(id) => From::After(id),
                Err(e) => return e,
            }
        };
        froms.push(from);
    }
    let mut served = Vec::new();
    for (key, from) in read.keys.iter().zip(froms) {
        // Redis looks every key up a second time here (counted as another keyspace hit).
        let Ok(Some(slot)) = read_stream(c, key) else {
            continue;
        };
        let entries = match read.group {
            None => read_plain(stream_at(c, slot), from, read.count),
            Some((group, consumer)) => {
                let request = GroupRead {
                    key,
                    group,
                    consumer,
                    from,
                    count: read.count,
                    noack: read.noack,
                };
                read_group(c, slot, &request)
            }
        };
        if let Some(entries) = entries {
            served.push((Frame::Bulk(key.clone()), Frame::Array(entries)));
        }
    }
    if served.is_empty() {
        Frame::NullArray
    } else {
        // A map of stream to entries in RESP3, [stream, entries] pairs in RESP2.
        Frame::KeyedPairs(served)
    }
}

/// XREAD of one stream: None when it has nothing after `from`.
fn read_plain(s: &Stream, from: From, count: usize) -> Option<Vec<Frame>> {
    let From::After(after) = from else {
        return None;
    };
    let last = s.last_live_id()?;
    if last <= after {
        return None;
    }
    let start = after.next()?;
    Some(range_frames(s, start, StreamId::MAX, false, count))
}

struct GroupRead<'a> {
    key: &'a Bytes,
    group: &'a [u8],
    consumer: &'a [u8],
    from: From,
    count: usize,
    noack: bool,
}

/// XREADGROUP of one stream: None when nothing is served for it.
fn read_group(c: &mut Call, slot: u32, request: &GroupRead) -> Option<Vec<Frame>> {
    let now = c.now();
    let s = stream_at(c, slot);
    let group = s.groups.get(request.group)?;
    let consumer = group.consumers.get(request.consumer);
    let serve_new = match request.from {
        From::Undelivered => s.last_live_id().is_some_and(|last| last > group.last_id),
        From::After(_) => false,
    };
    let history_pending = match (request.from, consumer) {
        (From::After(after), Some(consumer)) => after
            .next()
            .is_some_and(|start| consumer.pel.range(start..).next().is_some()),
        _ => false,
    };
    // Nothing new for `>`: Redis does not even look the consumer up.
    if matches!(request.from, From::Undelivered) && !serve_new {
        return None;
    }
    if consumer.is_some() && !serve_new && !history_pending {
        group.lookup_consumer(request.consumer, now);
        return Some(Vec::new());
    }
    let mut journal = Vec::new();
    let served = with_stream(c, slot, |s| {
        let (name, mut group) = s.groups.remove_entry(request.group)?;
        if !group.consumers.contains_key(request.consumer) {
            journal.push(bulk_args(&[
                b"XGROUP",
                b"CREATECONSUMER",
                request.key,
                request.group,
                request.consumer,
            ]));
        }
        let owner = group.touch_consumer(request.consumer, now);
        let served = match request.from {
            From::After(after) => Some(deliver_history(
                s,
                &mut group,
                &owner,
                after,
                request,
                now,
                &mut journal,
            )),
            From::Undelivered if serve_new => Some(deliver_new(
                s,
                &mut group,
                &owner,
                request,
                now,
                &mut journal,
            )),
            From::Undelivered => None,
        };
        s.groups.insert(name, group);
        served
    });
    for effect in journal {
        c.journal_as(effect);
    }
    served
}

/// The command that replays one delivery: XCLAIM with the delivery's absolute time and count.
fn claim_effect(
    request: &GroupRead,
    id: StreamId,
    group: &Group,
    now: u64,
    count: u64,
) -> Vec<Bytes> {
    let mut effect = bulk_args(&[
        b"XCLAIM",
        request.key,
        request.group,
        request.consumer,
        b"0",
    ]);
    effect.push(id.to_bytes());
    effect.extend(bulk_args(&[b"TIME"]));
    effect.push(Bytes::from(now.to_string()));
    effect.extend(bulk_args(&[b"RETRYCOUNT"]));
    effect.push(Bytes::from(count.to_string()));
    effect.extend(bulk_args(&[b"FORCE", b"JUSTID", b"LASTID"]));
    effect.push(group.last_id.to_bytes());
    effect
}

/// `>`: entries after the group's last delivered id, added to the PEL unless NOACK.
fn deliver_new(
    s: &Stream,
    group: &mut Group,
    owner: &Bytes,
    request: &GroupRead,
    now: u64,
    journal: &mut Vec<Vec<Bytes>>,
) -> Vec<Frame> {
    let mut delivered = Vec::new();
    if let Some(start) = group.last_id.next() {
        s.scan(start, StreamId::MAX, false, |e| {
            delivered.push((e.id, entry_frame(e.id, e.fields())));
            request.count == 0 || delivered.len() < request.count
        });
    }
    let mut frames = Vec::with_capacity(delivered.len());
    for (id, frame) in delivered {
        s.advance_group(group, id);
        if !request.noack {
            group.assign_pending(id, owner, now).delivery_count = 1;
            journal.push(claim_effect(request, id, group, now, 1));
        }
        frames.push(frame);
    }
    let mut setid = bulk_args(&[b"XGROUP", b"SETID", request.key, request.group]);
    setid.push(group.last_id.to_bytes());
    setid.push(Bytes::from_static(b"ENTRIESREAD"));
    setid.push(Bytes::from(group.entries_read.to_string()));
    journal.push(setid);
    frames
}

/// A history id: the consumer's pending entries after `after`, delivered again.
fn deliver_history(
    s: &Stream,
    group: &mut Group,
    owner: &Bytes,
    after: StreamId,
    request: &GroupRead,
    now: u64,
    journal: &mut Vec<Vec<Bytes>>,
) -> Vec<Frame> {
    let Some(start) = after.next() else {
        return Vec::new();
    };
    let ids: Vec<StreamId> = group
        .consumers
        .get(owner)
        .map(|consumer| {
            let pending = consumer.pel.range(start..).copied();
            match request.count {
                0 => pending.collect(),
                n => pending.take(n).collect(),
            }
        })
        .unwrap_or_default();
    let mut frames = Vec::with_capacity(ids.len());
    for id in ids {
        // An entry deleted since its delivery is reported as a null, and not delivered again.
        let Some(entry) = s.get(id) else {
            frames.push(Frame::Array(vec![super::id_frame(id), Frame::NullArray]));
            continue;
        };
        frames.push(entry_frame(id, entry.fields()));
        if let Some(nack) = group.pel.get_mut(&id) {
            nack.delivery_time = now;
            nack.delivery_count += 1;
            let count = nack.delivery_count;
            journal.push(claim_effect(request, id, group, now, count));
        }
    }
    frames
}
