//! SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB.

use super::handler::{Later, Now};
use crate::connection::{Connection, Subscriptions};
use crate::pubsub::PushSink;
use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{flag::*, Arg, CommandDef, Run};
use std::collections::BTreeSet;

/// PUBSUB and its subcommands.
const PUBSUB_HANDLER: Run = Run::Connection(&Later(|conn, args| {
    Box::pin(async move { pubsub(conn, &args).await })
}));

/// The pubsub commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("subscribe", -2, &Now(|conn, args| Frame::Many(subscribe(conn, args, false))))
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_CONTEXT)
        .doc("pubsub", "2.0.0", "O(N) where N is the number of channels to subscribe to.", "Listen for messages published to the given channels")
        .args(&[Arg::string("channel").multiple()]),
    CommandDef::connection("unsubscribe", -1, &Now(|conn, args| Frame::Many(unsubscribe(conn, args, false))))
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_CONTEXT)
        .doc("pubsub", "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", "Stop listening for messages posted to the given channels")
        .args(&[Arg::string("channel").optional().multiple()]),
    CommandDef::connection("psubscribe", -2, &Now(|conn, args| Frame::Many(subscribe(conn, args, true))))
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_CONTEXT)
        .doc("pubsub", "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", "Listen for messages published to channels matching the given patterns")
        .args(&[Arg::block("pattern", &[Arg::pattern("pattern")]).multiple()]),
    CommandDef::connection("punsubscribe", -1, &Now(|conn, args| Frame::Many(unsubscribe(conn, args, true))))
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_CONTEXT)
        .doc("pubsub", "2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "Stop listening for messages posted to channels matching the given patterns")
        .args(&[Arg::pattern("pattern").optional().multiple()]),
    CommandDef::connection("publish", 3, &Later(|conn, args| Box::pin(async move { publish(conn, &args).await })))
        .flags(PUBSUB | LOADING | STALE | FAST)
        .doc("pubsub", "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "Post a message to a channel")
        .args(&[Arg::string("channel"), Arg::string("message")]),
    CommandDef::new("pubsub", -2, PUBSUB_HANDLER)
        .doc("pubsub", "2.8.0", "Depends on subcommand.", "A container for Pub/Sub commands")
        .subcommands(&[
            CommandDef::subcommand("pubsub|channels", -2, PUBSUB_HANDLER)
                .flags(PUBSUB | LOADING | STALE)
                .doc("pubsub", "2.8.0", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", "List active channels")
                .args(&[Arg::pattern("pattern").optional()]),
            CommandDef::subcommand("pubsub|help", 2, PUBSUB_HANDLER)
                .flags(LOADING | STALE)
                .doc("pubsub", "6.2.0", "O(1)", "Show helpful text about the different subcommands"),
            CommandDef::subcommand("pubsub|numpat", 2, PUBSUB_HANDLER)
                .flags(PUBSUB | LOADING | STALE)
                .doc("pubsub", "2.8.0", "O(1)", "Get the count of unique patterns pattern subscriptions"),
            CommandDef::subcommand("pubsub|numsub", -2, PUBSUB_HANDLER)
                .flags(PUBSUB | LOADING | STALE)
                .doc("pubsub", "2.8.0", "O(N) for the NUMSUB subcommand, where N is the number of requested channels", "Get the count of subscribers for channels")
                .args(&[Arg::string("channel").optional().multiple()]),
            CommandDef::subcommand("pubsub|shardchannels", -2, PUBSUB_HANDLER)
                .flags(PUBSUB | LOADING | STALE)
                .doc("pubsub", "7.0.0", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", "List active shard channels")
                .args(&[Arg::pattern("pattern").optional()]),
            CommandDef::subcommand("pubsub|shardnumsub", -2, PUBSUB_HANDLER)
                .flags(PUBSUB | LOADING | STALE)
                .doc("pubsub", "7.0.0", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", "Get the count of subscribers for shard channels")
                .args(&[Arg::string("shardchannel").optional().multiple()]),
        ]),
];

/// The error for a command a subscribed RESP2 connection may not run.
pub fn not_allowed_while_subscribed(name: &str) -> Frame {
    Frame::error_owned(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn confirmation(kind: &'static str, name: Option<Bytes>, count: i64) -> Frame {
    Frame::Push(vec![
        Frame::bulk(kind),
        name.map_or(Frame::Null, Frame::Bulk),
        Frame::Integer(count),
    ])
}

fn subscriptions(conn: &mut Connection) -> &mut Subscriptions {
    conn.subscriptions.get_or_insert_with(Box::default)
}

/// CLIENT LIST's sub/psub and the client's output class follow its subscriptions.
fn note_counts(conn: &Connection) {
    if let Some(subs) = &conn.subscriptions {
        conn.info
            .borrow_mut()
            .set_subscriptions(subs.channels.len(), subs.patterns.len());
    }
}

/// SUBSCRIBE / PSUBSCRIBE: one confirmation per name, pushed before any later message.
pub fn subscribe(conn: &mut Connection, args: &[Bytes], pattern: bool) -> Vec<Frame> {
    let id = conn.id;
    let ctx = conn.ctx.clone();
    let sink: PushSink = conn.output.clone();
    let subs = subscriptions(conn);
    let mut replies = Vec::with_capacity(args.len() - 1);
    for name in &args[1..] {
        let list = if pattern {
            &mut subs.patterns
        } else {
            &mut subs.channels
        };
        if !list.contains(name) {
            list.push(name.clone());
            let mut shard = ctx.shard.borrow_mut();
            if pattern {
                shard.pubsub.psubscribe(name.clone(), id, sink.clone());
            } else {
                shard.pubsub.subscribe(name.clone(), id, sink.clone());
            }
        }
        let kind = if pattern { "psubscribe" } else { "subscribe" };
        replies.push(confirmation(kind, Some(name.clone()), subs.count()));
    }
    note_counts(conn);
    replies
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or every subscription of that kind.
pub fn unsubscribe(conn: &mut Connection, args: &[Bytes], pattern: bool) -> Vec<Frame> {
    let id = conn.id;
    let ctx = conn.ctx.clone();
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let subs = subscriptions(conn);
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else if pattern {
        subs.patterns.clone()
    } else {
        subs.channels.clone()
    };
    if names.is_empty() {
        return vec![confirmation(kind, None, subs.count())];
    }
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        let list = if pattern {
            &mut subs.patterns
        } else {
            &mut subs.channels
        };
        if let Some(position) = list.iter().position(|n| *n == name) {
            list.remove(position);
            let mut shard = ctx.shard.borrow_mut();
            if pattern {
                shard.pubsub.punsubscribe(&name, id);
            } else {
                shard.pubsub.unsubscribe(&name, id);
            }
        }
        replies.push(confirmation(kind, Some(name), subs.count()));
    }
    note_counts(conn);
    replies
}

/// Drops every subscription (RESET, connection closed).
pub fn unsubscribe_all(conn: &mut Connection) {
    if let Some(subs) = conn.subscriptions.take() {
        conn.info.borrow_mut().set_subscriptions(0, 0);
        let mut shard = conn.ctx.shard.borrow_mut();
        for channel in &subs.channels {
            shard.pubsub.unsubscribe(channel, conn.id);
        }
        for pattern in &subs.patterns {
            shard.pubsub.punsubscribe(pattern, conn.id);
        }
    }
}

pub async fn publish(conn: &Connection, args: &[Bytes]) -> Frame {
    let receivers = crate::publish::deliver(&conn.ctx, args[1].clone(), args[2].clone()).await;
    crate::replication::redis_feed::propagate_publish(&conn.ctx, args[1].clone(), args[2].clone());
    Frame::Integer(receivers)
}

pub async fn pubsub(conn: &Connection, args: &[Bytes]) -> Frame {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"channels", 2 | 3) => {
            let pattern = args.get(2).cloned();
            let outputs = conn
                .ctx
                .run_everywhere(|_| {
                    let pattern = pattern.clone();
                    move |s: &mut Shard| s.pubsub.active_channels(pattern.as_deref())
                })
                .await;
            let channels: BTreeSet<Bytes> = outputs.into_iter().flatten().flatten().collect();
            Frame::Array(channels.into_iter().map(Frame::Bulk).collect())
        }
        (b"numsub", _) => {
            let names = args[2..].to_vec();
            let outputs = conn
                .ctx
                .run_everywhere(|_| {
                    let names = names.clone();
                    move |s: &mut Shard| -> Vec<i64> {
                        names.iter().map(|n| s.pubsub.subscriber_count(n)).collect()
                    }
                })
                .await;
            let mut totals = vec![0i64; names.len()];
            for counts in outputs.into_iter().flatten() {
                for (total, count) in totals.iter_mut().zip(counts) {
                    *total += count;
                }
            }
            Frame::Array(
                names
                    .into_iter()
                    .zip(totals)
                    .flat_map(|(name, count)| [Frame::Bulk(name), Frame::Integer(count)])
                    .collect(),
            )
        }
        (b"numpat", 2) => {
            let outputs = conn
                .ctx
                .run_everywhere(|_| |s: &mut Shard| s.pubsub.patterns())
                .await;
            let patterns: BTreeSet<Bytes> = outputs.into_iter().flatten().flatten().collect();
            Frame::Integer(patterns.len() as i64)
        }
        (b"shardchannels", 2 | 3) => Frame::Array(Vec::new()),
        (b"shardnumsub", _) => Frame::Array(
            args[2..]
                .iter()
                .flat_map(|name| [Frame::Bulk(name.clone()), Frame::Integer(0)])
                .collect(),
        ),
        (b"help", 2) => Frame::Array(
            [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|line| Frame::Simple((*line).into()))
            .collect(),
        ),
        // CHANNELS and SHARDCHANNELS have a variable arity: PUBSUB words their error itself.
        (b"channels" | b"shardchannels", _) => Frame::error_owned(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        )),
        (b"numpat" | b"help", _) => {
            super::wrong_arity(&format!("pubsub|{}", String::from_utf8_lossy(&sub)))
        }
        _ => Frame::error_owned(format!(
            "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}
