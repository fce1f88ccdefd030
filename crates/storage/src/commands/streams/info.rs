//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS.

use super::super::{error_text, opt_is, parse_i64, wrong_args, Call};
use super::{id_frame, range_frames, read_stream, stream_at};
use crate::types::stream::{Group, StreamId, ENTRIES_READ_UNKNOWN};
use crate::types::Stream;
use damselfly_protocol::Frame;

const HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

#[derive(Clone, Copy)]
enum Sub {
    Stream,
    Groups,
    Consumers,
}

fn syntax_error(c: &Call) -> Frame {
    Frame::error_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
        error_text(c.arg(1)).chars().take(128).collect::<String>()
    ))
}

fn name(text: &'static str) -> Frame {
    Frame::bulk(text)
}

pub fn xinfo(c: &mut Call) -> Frame {
    let argc = c.args.len();
    let (sub, ok, full) = match c.arg(1).to_ascii_lowercase().as_slice() {
        b"help" => {
            if argc != 2 {
                return wrong_args("xinfo|help");
            }
            return Frame::Array(HELP.iter().map(|l| Frame::simple(l)).collect());
        }
        b"stream" => (Sub::Stream, argc >= 3, "xinfo|stream"),
        b"groups" => (Sub::Groups, argc == 3, "xinfo|groups"),
        b"consumers" => (Sub::Consumers, argc == 4, "xinfo|consumers"),
        _ => {
            let shown: String = error_text(c.arg(1)).chars().take(128).collect();
            return Frame::error_owned(format!(
                "ERR unknown subcommand '{shown}'. Try XINFO HELP."
            ));
        }
    };
    if !ok {
        return wrong_args(full);
    }
    let slot = match read_stream(c, c.arg(2)) {
        Ok(Some(slot)) => slot,
        Ok(None) => return Frame::error(damselfly_protocol::errors::NO_SUCH_KEY),
        Err(e) => return e,
    };
    let now = c.now();
    match sub {
        Sub::Consumers => {
            let group_name = c.arg(3);
            let Some(group) = stream_at(c, slot).groups.get(group_name) else {
                return Frame::error_owned(format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    error_text(group_name),
                    error_text(c.arg(2))
                ));
            };
            Frame::Array(
                group
                    .consumers
                    .iter()
                    .map(|(consumer_name, consumer)| {
                        Frame::Map(vec![
                            (name("name"), Frame::Bulk(consumer_name.clone())),
                            (name("pending"), Frame::Integer(consumer.pel.len() as i64)),
                            (
                                name("idle"),
                                Frame::Integer(
                                    (now as i64 - consumer.seen_time.get() as i64).max(0),
                                ),
                            ),
                        ])
                    })
                    .collect(),
            )
        }
        Sub::Groups => {
            let s = stream_at(c, slot);
            Frame::Array(
                s.groups
                    .iter()
                    .map(|(group_name, g)| {
                        Frame::Map(vec![
                            (name("name"), Frame::Bulk(group_name.clone())),
                            (name("consumers"), Frame::Integer(g.consumers.len() as i64)),
                            (name("pending"), Frame::Integer(g.pel.len() as i64)),
                            (name("last-delivered-id"), id_frame(g.last_id)),
                            (name("entries-read"), entries_read_frame(g)),
                            (name("lag"), lag_frame(s, g)),
                        ])
                    })
                    .collect(),
            )
        }
        Sub::Stream => {
            let full = match argc {
                3 => None,
                4 | 6 if opt_is(c.arg(3), "full") => {
                    if argc == 4 {
                        Some(10)
                    } else if !opt_is(c.arg(4), "count") {
                        return syntax_error(c);
                    } else {
                        match parse_i64(c.arg(5)) {
                            Ok(n) if n < 0 => Some(10),
                            Ok(n) => Some(n as usize),
                            Err(e) => return e,
                        }
                    }
                }
                _ => return syntax_error(c),
            };
            stream_info(stream_at(c, slot), full)
        }
    }
}

fn entries_read_frame(g: &Group) -> Frame {
    if g.entries_read == ENTRIES_READ_UNKNOWN {
        Frame::Null
    } else {
        Frame::Integer(g.entries_read)
    }
}

fn lag_frame(s: &Stream, g: &Group) -> Frame {
    s.group_lag(g)
        .map_or(Frame::Null, |lag| Frame::Integer(lag as i64))
}

/// An approximation of the number of nodes in Redis's radix tree of `keys` stream nodes
/// (that count depends on the tree's history, which no other structure reproduces).
fn radix_tree_nodes(keys: usize) -> i64 {
    if keys == 0 {
        1
    } else {
        keys as i64 + 1
    }
}

fn stream_info(s: &Stream, full: Option<usize>) -> Frame {
    let mut map = vec![
        (name("length"), Frame::Integer(s.len() as i64)),
        (
            name("radix-tree-keys"),
            Frame::Integer(s.node_count() as i64),
        ),
        (
            name("radix-tree-nodes"),
            Frame::Integer(radix_tree_nodes(s.node_count())),
        ),
        (name("last-generated-id"), id_frame(s.last_id)),
        (name("max-deleted-entry-id"), id_frame(s.max_deleted_id)),
        (
            name("entries-added"),
            Frame::Integer(s.entries_added as i64),
        ),
        (name("recorded-first-entry-id"), id_frame(s.first_id)),
    ];
    let Some(count) = full else {
        let edge = |rev: bool| {
            range_frames(s, StreamId::MIN, StreamId::MAX, rev, 1)
                .pop()
                .unwrap_or(Frame::Null)
        };
        map.push((name("groups"), Frame::Integer(s.groups.len() as i64)));
        map.push((name("first-entry"), edge(false)));
        map.push((name("last-entry"), edge(true)));
        return Frame::Map(map);
    };
    map.push((
        name("entries"),
        Frame::Array(range_frames(s, StreamId::MIN, StreamId::MAX, false, count)),
    ));
    let limit = |n: usize| if count == 0 { n } else { n.min(count) };
    let groups = s
        .groups
        .iter()
        .map(|(group_name, g)| {
            let pending = g
                .pel
                .iter()
                .take(limit(g.pel.len()))
                .map(|(id, nack)| {
                    Frame::Array(vec![
                        id_frame(*id),
                        Frame::Bulk(nack.consumer.clone()),
                        Frame::Integer(nack.delivery_time as i64),
                        Frame::Integer(nack.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(consumer_name, consumer)| {
                    let pending = consumer
                        .pel
                        .iter()
                        .take(limit(consumer.pel.len()))
                        .filter_map(|id| {
                            let nack = g.pel.get(id)?;
                            Some(Frame::Array(vec![
                                id_frame(*id),
                                Frame::Integer(nack.delivery_time as i64),
                                Frame::Integer(nack.delivery_count as i64),
                            ]))
                        })
                        .collect();
                    Frame::Map(vec![
                        (name("name"), Frame::Bulk(consumer_name.clone())),
                        (
                            name("seen-time"),
                            Frame::Integer(consumer.seen_time.get() as i64),
                        ),
                        (name("pel-count"), Frame::Integer(consumer.pel.len() as i64)),
                        (name("pending"), Frame::Array(pending)),
                    ])
                })
                .collect();
            Frame::Map(vec![
                (name("name"), Frame::Bulk(group_name.clone())),
                (name("last-delivered-id"), id_frame(g.last_id)),
                (name("entries-read"), entries_read_frame(g)),
                (name("lag"), lag_frame(s, g)),
                (name("pel-count"), Frame::Integer(g.pel.len() as i64)),
                (name("pending"), Frame::Array(pending)),
                (name("consumers"), Frame::Array(consumers)),
            ])
        })
        .collect();
    map.push((name("groups"), Frame::Array(groups)));
    Frame::Map(map)
}
