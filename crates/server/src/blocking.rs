//! Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! A blocking command first runs as its non-blocking attempt (storage's handler answers what
//! Redis answers inside MULTI). When that finds nothing, the connection registers one `Waiter` on
//! the shard of each of its keys. A shard serves its waiters in the order they blocked, after the
//! write that gave a key data has finished: it claims the waiter (so no other shard serves it too),
//! runs the pop as an ordinary journaled command and sends the reply. A timeout or a closed
//! connection claims the waiter as well; shards drop claimed waiters as they meet them.

use crate::connection::Connection;
use crate::router::shard_of;
use crate::shard::{Blocked, Serve, Waiter};
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{Blocking, CommandDef};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a blocked client is checked for having disconnected.
const CLIENT_CHECK: Duration = Duration::from_millis(200);

/// For XREAD/XREADGROUP: the BLOCK timeout in milliseconds and the command without it; None
/// when the command does not block.
pub fn read_block(spec: &CommandDef, args: &[Bytes]) -> Option<Result<(u64, Vec<Bytes>), Frame>> {
    if !matches!(spec.blocking, Some(Blocking::StreamRead { .. })) {
        return None;
    }
    let streams = args
        .iter()
        .position(|a| a.eq_ignore_ascii_case(b"streams"))?;
    let at = args[..streams]
        .iter()
        .position(|a| a.eq_ignore_ascii_case(b"block"))?;
    let value = args.get(at + 1)?;
    let timeout = match damselfly_storage::string2ll(value) {
        None => Err(Frame::error(
            damselfly_protocol::errors::TIMEOUT_NOT_INTEGER,
        )),
        Some(ms) if ms < 0 => Err(Frame::error(damselfly_protocol::errors::TIMEOUT_NEGATIVE)),
        Some(ms) => {
            let mut stripped = args[..at].to_vec();
            stripped.extend(args[at + 2..].iter().cloned());
            Ok((ms as u64, stripped))
        }
    };
    Some(timeout)
}

/// XREAD/XREADGROUP ... BLOCK ms: the read without BLOCK first; when it finds nothing, each
/// shard re-runs its share of the read (its streams, `$` resolved to the stream's last id at
/// blocking time) whenever one of its streams is written, until one returns entries.
pub async fn run_read(
    conn: &mut Connection,
    spec: &'static CommandDef,
    timeout_ms: u64,
    args: Vec<Bytes>,
) -> Frame {
    let attempt = crate::dispatch::run_keyed(conn, spec, args.clone()).await;
    if !is_empty_reply(&attempt) {
        return attempt;
    }
    let positions: Vec<usize> = spec.key_positions(&args).collect();
    let (Some(&first), count) = (positions.first(), positions.len()) else {
        return attempt;
    };
    let shards = conn.ctx.shards();
    let mut by_shard: BTreeMap<usize, Vec<(Bytes, Bytes)>> = BTreeMap::new();
    for &position in &positions {
        let (key, id) = (args[position].clone(), args[position + count].clone());
        by_shard
            .entry(shard_of(&key, shards))
            .or_default()
            .push((key, id));
    }
    let registrations = by_shard
        .into_iter()
        .map(|(shard, streams)| {
            let mut command = args[..first].to_vec();
            command.extend(streams.iter().map(|(key, _)| key.clone()));
            command.extend(streams.iter().map(|(_, id)| id.clone()));
            let keys = streams.into_iter().map(|(key, _)| key).collect();
            (shard, keys, Serve::Read { def: spec, command })
        })
        .collect();
    match wait(conn, registrations, timeout_ms).await {
        Some((_, frame)) => frame,
        None => Frame::NullArray,
    }
}

/// Whether the command is a blocking pop or move handled here (XREAD's BLOCK is `read_block`).
pub fn is_blocking(spec: &CommandDef) -> bool {
    matches!(
        spec.blocking,
        Some(Blocking::PopFirst { .. } | Blocking::Move { .. } | Blocking::PopMany { .. })
    )
}

/// How a blocking command waits: its keys, timeout, what serves it and how its reply is shaped.
struct Plan {
    keys: Vec<Bytes>,
    timeout_ms: u64,
    serve: Serve,
}

fn plan(spec: &'static CommandDef, args: &[Bytes], shards: usize) -> Result<Plan, Frame> {
    let word = |text: &'static str| Bytes::from_static(text.as_bytes());
    let keys_of = || -> Vec<Bytes> {
        spec.key_positions(args)
            .map(|position| args[position].clone())
            .collect()
    };
    let last = &args[args.len() - 1];
    let (keys, timeout_arg, wants, serve, key_at) = match spec.blocking {
        Some(Blocking::PopFirst { pop, wants }) => {
            (keys_of(), last, wants, vec![word(pop), Bytes::new()], 1)
        }
        // A move waits on its source only.
        Some(Blocking::Move { sides_at, via }) => {
            let sides = match sides_at {
                Some(at) => [args[at].clone(), args[at + 1].clone()],
                None => [word("RIGHT"), word("LEFT")],
            };
            let timeout_at = sides_at.map_or(3, |at| at + 2);
            let serve = lmove(via, &args[1], &args[2], &sides, shards);
            (vec![args[1].clone()], &args[timeout_at], "list", serve, 1)
        }
        Some(Blocking::PopMany { via, wants }) => {
            // BLMPOP timeout numkeys key... direction [COUNT n] → LMPOP 1 key direction [COUNT n].
            let keys = keys_of();
            let mut serve = vec![word(via), word("1"), Bytes::new()];
            serve.extend(args[2 + keys.len() + 1..].iter().cloned());
            (keys, &args[1], wants, serve, 2)
        }
        Some(Blocking::StreamRead { .. }) | None => {
            return Err(Frame::error("ERR unknown blocking command"));
        }
    };
    Ok(Plan {
        keys,
        timeout_ms: damselfly_storage::parse_block_timeout(timeout_arg)?,
        serve: Serve::Pop {
            wants,
            command: serve,
            key_at,
        },
    })
}

/// `LMOVE src dst from to` with the source left to fill in; just the pop (`LPOP|RPOP src`) when
/// the destination lives on another shard (`finish` pushes it there).
/// How a blocked move is served from `source`: `via` (LMOVE) when both keys live on one shard,
/// else a pop on the source whose element the client's task then pushes (see `finish`).
fn lmove(
    via: &'static str,
    source: &Bytes,
    destination: &Bytes,
    sides: &[Bytes; 2],
    shards: usize,
) -> Vec<Bytes> {
    if shard_of(source, shards) != shard_of(destination, shards) {
        let pop = if sides[0].eq_ignore_ascii_case(b"left") {
            "LPOP"
        } else {
            "RPOP"
        };
        return vec![Bytes::from_static(pop.as_bytes()), Bytes::new()];
    }
    vec![
        Bytes::from_static(via.as_bytes()),
        Bytes::new(),
        destination.clone(),
        sides[0].clone(),
        sides[1].clone(),
    ]
}

/// Whether a reply means "nothing to pop".
fn is_empty_reply(frame: &Frame) -> bool {
    matches!(frame, Frame::Null | Frame::NullArray)
}

/// The blocking command's reply built from the pop that served it.
/// The reply of a served pop: BLPOP and its kind lead with the key.
fn shape(spec: &CommandDef, key: Bytes, served: Frame) -> Frame {
    if !matches!(spec.blocking, Some(Blocking::PopFirst { .. })) {
        return served;
    }
    match served {
        Frame::Bulk(element) => Frame::Array(vec![Frame::Bulk(key), Frame::Bulk(element)]),
        Frame::Array(pair) => {
            let mut reply = vec![Frame::Bulk(key)];
            reply.extend(pair);
            Frame::Array(reply)
        }
        other => other,
    }
}

/// Runs a blocking command for a connection outside MULTI.
pub async fn run(conn: &mut Connection, spec: &'static CommandDef, args: Vec<Bytes>) -> Frame {
    let attempt = crate::dispatch::run_keyed(conn, spec, args.clone()).await;
    if !is_empty_reply(&attempt) {
        return attempt;
    }
    let plan = match plan(spec, &args, conn.ctx.shards()) {
        Ok(plan) => plan,
        Err(error) => return error,
    };
    let shards = conn.ctx.shards();
    let mut by_shard: BTreeMap<usize, Vec<Bytes>> = BTreeMap::new();
    for key in plan.keys {
        let keys = by_shard.entry(shard_of(&key, shards)).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let registrations = by_shard
        .into_iter()
        .map(|(shard, keys)| (shard, keys, plan.serve.clone()))
        .collect();
    match wait(conn, registrations, plan.timeout_ms).await {
        Some((key, frame)) => finish(conn, spec, &args, key, frame).await,
        // Redis 7.0 answers a timeout with a null array for every blocking command, BLMOVE and
        // BRPOPLPUSH included (blocked.c, replyToBlockedClientTimedOut).
        None => Frame::NullArray,
    }
}

/// Registers a waiter on each shard (its keys there and what serves it there) and waits until a
/// shard serves it (Some), the timeout passes or the client leaves (None).
async fn wait(
    conn: &mut Connection,
    registrations: Vec<(usize, Vec<Bytes>, Serve)>,
    timeout_ms: u64,
) -> Option<(Bytes, Frame)> {
    let ctx = conn.ctx.clone();
    let (sender, mut replies) = mpsc::unbounded();
    let fd = conn.info.borrow().fd;
    let waiter = Arc::new(Waiter::new(conn.db, fd, sender));
    for (shard, keys, serve) in registrations {
        let blocked = Blocked::new(waiter.clone(), serve);
        // A serve in `block` writes keys others may wait on (LMOVE's destination): the shard
        // serves those after the job, local or remote.
        ctx.run_on(shard, move |s| s.block(keys, blocked)).await;
    }
    // Counted once registered everywhere: from then on the client is in its keys' queues.
    ctx.shard.borrow_mut().blocked_clients += 1;
    conn.info.borrow_mut().blocked = true;
    let served = wait_registered(conn, &waiter, &mut replies, timeout_ms).await;
    conn.info.borrow_mut().blocked = false;
    ctx.shard.borrow_mut().blocked_clients -= 1;
    served
}

async fn wait_registered(
    conn: &mut Connection,
    waiter: &Waiter,
    replies: &mut mpsc::UnboundedReceiver<(Bytes, Frame)>,
    timeout_ms: u64,
) -> Option<(Bytes, Frame)> {
    let fd = waiter.fd();
    let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
    loop {
        let check = match deadline {
            Some(deadline) => CLIENT_CHECK.min(deadline.saturating_duration_since(Instant::now())),
            None => CLIENT_CHECK,
        };
        futures::select! {
            // The reply comes from another shard's thread: re-polled every few ms, as every
            // cross-thread completion is (`wakeup.rs`), so a lost glommio wakeup does not leave a
            // served client waiting until the next client check.
            served = crate::wakeup::await_remote(replies.next()).fuse() => return served,
            _ = glommio::timer::sleep(check).fuse() => {
                if crate::socket::peer_closed(fd) {
                    // Whatever a shard may have sent cannot reach the client any more.
                    waiter.claim();
                    conn.close_after_reply = true;
                    return None;
                }
                let expired = deadline.is_some_and(|deadline| Instant::now() >= deadline);
                if expired && waiter.claim() {
                    return None;
                }
            }
        }
    }
}

/// The reply of a served waiter. A BLMOVE whose destination lives on another shard was served
/// as a plain pop: the element is pushed to the destination now. When that push fails (the
/// destination holds another type) the element goes back to the end of the source it came
/// from, so it is not lost and the source's next waiter is served with it (Redis leaves it in
/// the source and moves on, atomically; here other clients may see the source without it for
/// that moment).
async fn finish(
    conn: &mut Connection,
    spec: &'static CommandDef,
    args: &[Bytes],
    key: Bytes,
    served: Frame,
) -> Frame {
    let Some(push) = cross_shard_push(conn.ctx.shards(), spec, args) else {
        return shape(spec, key, served);
    };
    let Frame::Bulk(element) = &served else {
        return served;
    };
    let mut command = push;
    command.push(element.clone());
    if let Some(push_spec) = crate::spec::lookup(&command[0]) {
        let pushed = crate::dispatch::run_keyed(conn, push_spec, command).await;
        if matches!(pushed, Frame::Error(_)) {
            let back = undo_pop(spec, args, element.clone());
            if let Some(back_spec) = crate::spec::lookup(&back[0]) {
                crate::dispatch::run_keyed(conn, back_spec, back).await;
            }
            return pushed;
        }
    }
    served
}

/// For a BLMOVE/BRPOPLPUSH served as a pop on its source: the push that puts `element` back
/// where it was popped from.
fn undo_pop(spec: &CommandDef, args: &[Bytes], element: Bytes) -> Vec<Bytes> {
    let from_left = match spec.blocking {
        Some(Blocking::Move {
            sides_at: Some(at), ..
        }) => args[at].eq_ignore_ascii_case(b"left"),
        _ => false,
    };
    let push = if from_left { "LPUSH" } else { "RPUSH" };
    vec![
        Bytes::from_static(push.as_bytes()),
        args[1].clone(),
        element,
    ]
}

/// For BLMOVE/BRPOPLPUSH whose destination is on another shard than the source: the push that
/// completes the move (`LPUSH|RPUSH dst`, element to add).
fn cross_shard_push(shards: usize, spec: &CommandDef, args: &[Bytes]) -> Option<Vec<Bytes>> {
    let to = match spec.blocking {
        Some(Blocking::Move { sides_at, .. }) => sides_at.map_or(&b"LEFT"[..], |at| &args[at + 1]),
        _ => return None,
    };
    if shard_of(&args[1], shards) == shard_of(&args[2], shards) {
        return None;
    }
    let push = if to.eq_ignore_ascii_case(b"left") {
        "LPUSH"
    } else {
        "RPUSH"
    };
    Some(vec![Bytes::from_static(push.as_bytes()), args[2].clone()])
}
