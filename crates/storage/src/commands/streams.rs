//! Stream commands (t_stream.c): entries (XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD) here,
//! consumer groups in `groups`, XINFO in `info`.

mod args;
mod groups;
mod info;
mod read;
mod waiting;

pub use waiting::{group_has_unread, stream_last_id};

use super::{Call, WRONGTYPE};
use crate::spec::{acl, flag::*, key::*, Arg, Blocking, CommandDef, Find, KeySpec, Run};
use crate::types::stream::StreamId;
use crate::types::Stream;
use crate::value::Value;
use args::{parse_add_trim, parse_interval, parse_strict_id};
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Name, Redis arity, handler.
/// XGROUP and its subcommands.
const XGROUP_HANDLER: Run = Run::Shard(groups::xgroup);

/// XINFO and its subcommands.
const XINFO_HANDLER: Run = Run::Shard(info::xinfo);

/// The stream commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("xadd", -5, xadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE).noted("UPDATE instead of INSERT because of the optional trimming feature")])
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "Appends a new entry to a stream")
        .history(&[
            ("6.2.0", "Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option."),
            ("7.0.0", "Added support for the `<ms>-*` explicit ID form."),
        ])
        .args(&[
            Arg::key("key", 0),
            Arg::pure_token("nomkstream", "NOMKSTREAM").since("6.2.0").optional(),
            Arg::block("trim", &[
                Arg::oneof("strategy", &[
                    Arg::pure_token("maxlen", "MAXLEN"),
                    Arg::pure_token("minid", "MINID").since("6.2.0"),
                ]),
                Arg::oneof("operator", &[
                    Arg::pure_token("equal", "="),
                    Arg::pure_token("approximately", "~"),
                ]).optional(),
                Arg::string("threshold"),
                Arg::integer("count").token("LIMIT").since("6.2.0").optional(),
            ]).optional(),
            Arg::oneof("id_or_auto", &[Arg::pure_token("auto_id", "*"), Arg::string("id")]),
            Arg::block("field_value", &[Arg::string("field"), Arg::string("value")]).multiple(),
        ]),
    CommandDef::shard("xlen", 2, xlen)
        .flags(READONLY | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("stream", "5.0.0", "O(1)", "Return the number of entries in a stream")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("xrange", -4, xrange)
        .flags(READONLY)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("stream", "5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Return a range of elements in a stream, with IDs matching the specified IDs interval")
        .history(&[("6.2.0", "Added exclusive ranges.")])
        .args(&[
            Arg::key("key", 0),
            Arg::string("start"),
            Arg::string("end"),
            Arg::integer("count").token("COUNT").optional(),
        ]),
    CommandDef::shard("xrevrange", -4, xrevrange)
        .flags(READONLY)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("stream", "5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE")
        .history(&[("6.2.0", "Added exclusive ranges.")])
        .args(&[
            Arg::key("key", 0),
            Arg::string("end"),
            Arg::string("start"),
            Arg::integer("count").token("COUNT").optional(),
        ]),
    CommandDef::shard("xdel", -3, xdel)
        .flags(WRITE | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("stream", "5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.")
        .args(&[Arg::key("key", 0), Arg::string("id").multiple()]),
    CommandDef::shard("xtrim", -4, xtrim)
        .flags(WRITE)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "Trims the stream to (approximately if '~' is passed) a certain size")
        .history(&[("6.2.0", "Added the `MINID` trimming strategy and the `LIMIT` option.")])
        .args(&[
            Arg::key("key", 0),
            Arg::block("trim", &[
                Arg::oneof("strategy", &[
                    Arg::pure_token("maxlen", "MAXLEN"),
                    Arg::pure_token("minid", "MINID").since("6.2.0"),
                ]),
                Arg::oneof("operator", &[
                    Arg::pure_token("equal", "="),
                    Arg::pure_token("approximately", "~"),
                ]).optional(),
                Arg::string("threshold"),
                Arg::integer("count").token("LIMIT").since("6.2.0").optional(),
            ]),
        ]),
    CommandDef::shard("xread", -4, read::xread)
        .blocking(Blocking::StreamRead { group: false })
        .flags(READONLY | BLOCKING | MOVABLEKEYS)
        .acl(acl::STREAM)
        .keys(0, 0, 0, &[KeySpec::keyword("STREAMS", 1, Find::Range { last: -1, step: 1, limit: 2 }, RO | ACCESS)])
        .doc("stream", "5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.")
        .args(&[
            Arg::integer("count").token("COUNT").optional(),
            Arg::integer("milliseconds").token("BLOCK").optional(),
            Arg::block("streams", &[
                Arg::key("key", 0).multiple(),
                Arg::string("id").multiple(),
            ]).token("STREAMS"),
        ]),
    CommandDef::shard("xreadgroup", -7, read::xreadgroup)
        .blocking(Blocking::StreamRead { group: true })
        .flags(WRITE | BLOCKING | MOVABLEKEYS)
        .acl(acl::STREAM)
        .keys(0, 0, 0, &[KeySpec::keyword("STREAMS", 4, Find::Range { last: -1, step: 1, limit: 2 }, RO | ACCESS)])
        .doc("stream", "5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.")
        .args(&[
            Arg::block("group_consumer", &[
                Arg::string("group"),
                Arg::string("consumer"),
            ]).token("GROUP"),
            Arg::integer("count").token("COUNT").optional(),
            Arg::integer("milliseconds").token("BLOCK").optional(),
            Arg::pure_token("noack", "NOACK").optional(),
            Arg::block("streams", &[
                Arg::key("key", 0).multiple(),
                Arg::string("id").multiple(),
            ]).token("STREAMS"),
        ]),
    CommandDef::new("xgroup", -2, XGROUP_HANDLER)
        .doc("stream", "5.0.0", "Depends on subcommand.", "A container for consumer groups commands")
        .subcommands(&[
            CommandDef::subcommand("xgroup|create", -5, XGROUP_HANDLER)
                .flags(WRITE | DENYOOM)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RW | INSERT)])
                .doc("stream", "5.0.0", "O(1)", "Create a consumer group.")
                .history(&[("7.0.0", "Added the `entries_read` named argument.")])
                .args(&[
                    Arg::key("key", 0),
                    Arg::string("groupname"),
                    Arg::oneof("id", &[Arg::string("id"), Arg::pure_token("new_id", "$")]),
                    Arg::pure_token("mkstream", "MKSTREAM").optional(),
                    Arg::integer("entries_read").token("ENTRIESREAD").optional(),
                ]),
            CommandDef::subcommand("xgroup|createconsumer", 5, XGROUP_HANDLER)
                .flags(WRITE | DENYOOM)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RW | INSERT)])
                .doc("stream", "6.2.0", "O(1)", "Create a consumer in a consumer group.")
                .args(&[Arg::key("key", 0), Arg::string("groupname"), Arg::string("consumername")]),
            CommandDef::subcommand("xgroup|delconsumer", 5, XGROUP_HANDLER)
                .flags(WRITE)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RW | DELETE)])
                .doc("stream", "5.0.0", "O(1)", "Delete a consumer from a consumer group.")
                .args(&[Arg::key("key", 0), Arg::string("groupname"), Arg::string("consumername")]),
            CommandDef::subcommand("xgroup|destroy", 4, XGROUP_HANDLER)
                .flags(WRITE)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RW | DELETE)])
                .doc("stream", "5.0.0", "O(N) where N is the number of entries in the group's pending entries list (PEL).", "Destroy a consumer group.")
                .args(&[Arg::key("key", 0), Arg::string("groupname")]),
            CommandDef::subcommand("xgroup|help", 2, XGROUP_HANDLER)
                .flags(LOADING | STALE)
                .acl(acl::STREAM)
                .doc("stream", "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
            CommandDef::subcommand("xgroup|setid", -5, XGROUP_HANDLER)
                .flags(WRITE)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RW | UPDATE)])
                .doc("stream", "5.0.0", "O(1)", "Set a consumer group to an arbitrary last delivered ID value.")
                .history(&[("7.0.0", "Added the optional `entries_read` argument.")])
                .args(&[
                    Arg::key("key", 0),
                    Arg::string("groupname"),
                    Arg::oneof("id", &[Arg::string("id"), Arg::pure_token("new_id", "$")]),
                    Arg::integer("entries_read").token("ENTRIESREAD").optional(),
                ]),
        ]),
    CommandDef::shard("xack", -4, groups::xack)
        .flags(WRITE | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("stream", "5.0.0", "O(1) for each message ID processed.", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.")
        .args(&[Arg::key("key", 0), Arg::string("group"), Arg::string("id").multiple()]),
    CommandDef::shard("xpending", -3, groups::xpending)
        .flags(READONLY)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.")
        .history(&[("6.2.0", "Added the `IDLE` option and exclusive range intervals.")])
        .args(&[
            Arg::key("key", 0),
            Arg::string("group"),
            Arg::block("filters", &[
                Arg::integer("min-idle-time").token("IDLE").since("6.2.0").optional(),
                Arg::string("start"),
                Arg::string("end"),
                Arg::integer("count"),
                Arg::string("consumer").optional(),
            ]).optional(),
        ]),
    CommandDef::shard("xclaim", -6, groups::xclaim)
        .flags(WRITE | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .tips(&["nondeterministic_output"])
        .doc("stream", "5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.")
        .args(&[
            Arg::key("key", 0),
            Arg::string("group"),
            Arg::string("consumer"),
            Arg::string("min-idle-time"),
            Arg::string("id").multiple(),
            Arg::integer("ms").token("IDLE").optional(),
            Arg::unix_time("unix-time-milliseconds").token("TIME").optional(),
            Arg::integer("count").token("RETRYCOUNT").optional(),
            Arg::pure_token("force", "FORCE").optional(),
            Arg::pure_token("justid", "JUSTID").optional(),
            Arg::string("id").token("LASTID").optional(),
        ]),
    CommandDef::shard("xautoclaim", -6, groups::xautoclaim)
        .flags(WRITE | FAST)
        .acl(acl::STREAM)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc("stream", "6.2.0", "O(1) if COUNT is small.", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.")
        .history(&[
            ("7.0.0", "Added an element to the reply array, containing deleted entries the command cleared from the PEL"),
        ])
        .args(&[
            Arg::key("key", 0),
            Arg::string("group"),
            Arg::string("consumer"),
            Arg::string("min-idle-time"),
            Arg::string("start"),
            Arg::integer("count").token("COUNT").optional(),
            Arg::pure_token("justid", "JUSTID").optional(),
        ]),
    CommandDef::new("xinfo", -2, XINFO_HANDLER)
        .doc("stream", "5.0.0", "Depends on subcommand.", "A container for stream introspection commands")
        .subcommands(&[
            CommandDef::subcommand("xinfo|consumers", 4, XINFO_HANDLER)
                .flags(READONLY)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RO | ACCESS)])
                .tips(&["nondeterministic_output"])
                .doc("stream", "5.0.0", "O(1)", "List the consumers in a consumer group")
                .args(&[Arg::key("key", 0), Arg::string("groupname")]),
            CommandDef::subcommand("xinfo|groups", 3, XINFO_HANDLER)
                .flags(READONLY)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RO | ACCESS)])
                .doc("stream", "5.0.0", "O(1)", "List the consumer groups of a stream")
                .history(&[("7.0.0", "Added the `entries-read` and `lag` fields")])
                .args(&[Arg::key("key", 0)]),
            CommandDef::subcommand("xinfo|help", 2, XINFO_HANDLER)
                .flags(LOADING | STALE)
                .acl(acl::STREAM)
                .doc("stream", "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
            CommandDef::subcommand("xinfo|stream", -3, XINFO_HANDLER)
                .flags(READONLY)
                .acl(acl::STREAM)
                .keys(2, 2, 1, &[KeySpec::at(2, RO | ACCESS)])
                .doc("stream", "5.0.0", "O(1)", "Get information about a stream")
                .history(&[
                    ("6.0.0", "Added the `FULL` modifier."),
                    ("7.0.0", "Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"),
                ])
                .args(&[
                    Arg::key("key", 0),
                    Arg::block("full", &[
                        Arg::integer("count").token("COUNT").optional(),
                    ]).token("FULL").optional(),
                ]),
        ]),
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
            None => return Frame::error(damselfly_protocol::errors::INVALID_START_ID),
        },
        Err(e) => return e,
    };
    let end = match parse_interval(end_arg, u64::MAX) {
        Ok((id, false)) => id,
        Ok((id, true)) => match id.prev() {
            Some(id) => id,
            None => return Frame::error(damselfly_protocol::errors::INVALID_END_ID),
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
