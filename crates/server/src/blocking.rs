//! Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! A blocking command first runs as its non-blocking attempt (storage's handler answers what
//! Redis answers inside MULTI). When that finds nothing, the connection registers one `Waiter` on
//! the shard of each of its keys. A shard serves its waiters in the order they blocked, after the
//! write that gave a key data has finished: it claims the waiter (so no other shard serves it too),
//! runs the pop as an ordinary journaled command and sends the reply. A timeout or a closed
//! connection claims the waiter as well; shards drop claimed waiters as they meet them.

use crate::connection::Connection;
use crate::messages::{Job, Output};
use crate::router::shard_of;
use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::composed;
use damselfly_storage::spec::{Blocking, CommandDef};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a blocked client is checked for having disconnected.
const CLIENT_CHECK: Duration = Duration::from_millis(200);

/// One blocked client, registered on every shard owning one of its keys.
pub struct Waiter {
    /// Set by whoever ends the wait first.
    claimed: AtomicBool,
    db: usize,
    /// The client's socket: a shard about to serve checks that the client is still there, so an
    /// element never goes to a client that left.
    fd: i32,
    reply: mpsc::UnboundedSender<(Bytes, Frame)>,
}

impl Waiter {
    fn claim(&self) -> bool {
        self.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Claims the waiter to serve it, unless someone ended the wait or the client left. The
    /// reply channel tells first: once the connection task is gone its fd may belong to a newer
    /// client, so `peer_closed` alone could serve an element into a dropped channel.
    fn claim_to_serve(&self) -> bool {
        if self.reply.is_closed() || crate::commands::peer_closed(self.fd) {
            self.claim();
            return false;
        }
        self.claim()
    }
}

/// What came of offering a key to one waiter.
#[derive(PartialEq, Eq)]
enum Offer {
    /// It got its reply (possibly an error, such as BLMOVE's WRONGTYPE destination).
    Served,
    /// Its wait had ended (served elsewhere, timed out, client gone): drop it, try the next.
    Gone,
    /// The key holds nothing for it now.
    Nothing,
}

/// What serves a waiter on one shard.
#[derive(Clone)]
pub enum Serve {
    /// A pop from the key that got data: it must hold `wants`; the key goes at `key_at`.
    Pop {
        wants: &'static str,
        command: Vec<Bytes>,
        key_at: usize,
    },
    /// A stream read of this shard's keys, run as is: it serves the waiter once it returns entries.
    Read {
        def: &'static CommandDef,
        command: Vec<Bytes>,
    },
}

/// A waiter in one key's queue.
#[derive(Clone)]
pub struct Blocked {
    waiter: Arc<Waiter>,
    serve: Serve,
}

impl Shard {
    /// Blocks a waiter on `keys` of this shard, or serves it at once if one has data already (a
    /// write may have landed since its attempt). Runs as one job on the keys' shard, so it is
    /// ordered with every write there: a write before it is seen by the re-check, a write after
    /// it finds the waiter queued.
    fn block(&mut self, keys: Vec<Bytes>, mut blocked: Blocked) {
        let db = blocked.waiter.db;
        if let Serve::Read { command, .. } = &mut blocked.serve {
            self.resolve_last_ids(db, command);
        }
        let mut locked = Vec::new();
        for key in &keys {
            // A transaction holding the key may have lent its entries to another shard (a
            // cross-shard attempt of another blocking command, say): popping here too would
            // serve one element twice. The key is retried once the lock is released.
            if self.key_locked(db, key) {
                locked.push((db, key.clone()));
                continue;
            }
            if self.try_serve(db, key, &blocked) != Offer::Nothing {
                return;
            }
        }
        for key in keys {
            self.dbs[db].add_interest(key.clone());
            let queue = self.waiters.blocked.entry((db, key)).or_default();
            queue.retain(|b| !b.waiter.is_claimed());
            queue.push_back(blocked.clone());
        }
        self.waiters.ready.extend(locked);
    }

    /// Forgets the waiters that left (timed out, disconnected, or were served by another shard)
    /// from the queues of keys nobody wrote since: without it, clients blocking on keys that are
    /// never written again would leave their entries here for good.
    pub fn drop_departed_waiters(&mut self) {
        let mut emptied = Vec::new();
        for (id, queue) in self.waiters.blocked.iter_mut() {
            queue.retain(|b| !b.waiter.is_claimed());
            if queue.is_empty() {
                emptied.push(id.clone());
            }
        }
        for (db, key) in emptied {
            self.waiters.blocked.remove(&(db, key.clone()));
            self.drop_interest_if_unwatched(db, &key);
        }
    }

    /// XREAD's `$` means "after the stream's last id now": resolved when the client blocks.
    fn resolve_last_ids(&mut self, db: usize, command: &mut [Bytes]) {
        let Some(streams) = command
            .iter()
            .position(|word| word.eq_ignore_ascii_case(b"streams"))
        else {
            return;
        };
        let count = (command.len() - streams - 1) / 2;
        for i in 0..count {
            let (key_at, id_at) = (streams + 1 + i, streams + 1 + count + i);
            if command[id_at].as_ref() != b"$" {
                continue;
            }
            let info = [
                Bytes::from_static(composed::XINFO.as_bytes()),
                Bytes::from_static(b"STREAM"),
                command[key_at].clone(),
            ];
            command[id_at] = last_generated_id(&self.run_internal(db, &info))
                .unwrap_or_else(|| Bytes::from_static(b"0-0"));
        }
    }

    /// Whether `XREADGROUP GROUP g c ... STREAMS keys... >...` would deliver an entry now, found
    /// without delivering any: one of the streams has an entry after the group's last delivered id.
    fn group_read_ready(&mut self, db: usize, command: &[Bytes]) -> bool {
        let word = |w: &'static str| Bytes::from_static(w.as_bytes());
        let group = command
            .iter()
            .position(|w| w.eq_ignore_ascii_case(b"group"))
            .and_then(|at| command.get(at + 1));
        let streams = command
            .iter()
            .position(|w| w.eq_ignore_ascii_case(b"streams"));
        let (Some(group), Some(streams)) = (group, streams) else {
            return false;
        };
        let count = (command.len() - streams - 1) / 2;
        command[streams + 1..streams + 1 + count].iter().any(|key| {
            let groups =
                self.run_internal(db, &[word(composed::XINFO), word("GROUPS"), key.clone()]);
            let Frame::Array(groups) = groups else {
                return false;
            };
            let Some(last) = groups.iter().find_map(|info| {
                (field(info, b"name")? == group)
                    .then(|| field(info, b"last-delivered-id"))
                    .flatten()
            }) else {
                return false;
            };
            let mut after = b"(".to_vec();
            after.extend_from_slice(&last);
            let next = [
                word(composed::XRANGE),
                key.clone(),
                Bytes::from(after),
                word("+"),
                word("COUNT"),
                word("1"),
            ];
            matches!(self.run_internal(db, &next), Frame::Array(entries) if !entries.is_empty())
        })
    }

    /// Serves a waiter from `key` if the key has what it waits for and nobody ended the wait yet.
    fn try_serve(&mut self, db: usize, key: &Bytes, blocked: &Blocked) -> Offer {
        let waiter = &blocked.waiter;
        if waiter.is_claimed() {
            return Offer::Gone;
        }
        let reply = match &blocked.serve {
            Serve::Pop {
                wants,
                command,
                key_at,
            } => {
                if self.dbs[db].peek_type(key, self.clock()) != Some(*wants) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                let mut command = command.clone();
                command[*key_at] = key.clone();
                self.run_internal(db, &command)
            }
            Serve::Read { def, command }
                if def.blocking == Some(Blocking::StreamRead { group: true }) =>
            {
                // A group read delivers what it returns: claim first, or entries delivered to a
                // waiter that another shard served meanwhile would stay pending, received by
                // nobody.
                if !self.group_read_ready(db, command) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                self.run_command(db, def, command)
            }
            Serve::Read { def, command } => {
                let reply = self.run_command(db, def, command);
                if matches!(reply, Frame::Null | Frame::NullArray) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                reply
            }
        };
        let _ = waiter.reply.unbounded_send((key.clone(), reply));
        Offer::Served
    }

    /// Serves the clients blocked on keys that were written, oldest first, while the keys have
    /// data. Keys a transaction holds wait until it ends.
    pub(crate) fn serve_ready(&mut self) {
        let mut ready = std::mem::take(&mut self.waiters.ready);
        ready.dedup();
        for (db, key) in ready {
            if self.key_locked(db, &key) {
                self.waiters.ready.push((db, key));
                continue;
            }
            let id = (db, key);
            let mut index = 0;
            while let Some(blocked) = self
                .waiters
                .blocked
                .get(&id)
                .and_then(|queue| queue.get(index).cloned())
            {
                // A waiter whose wait ended, or whose serve failed (WRONGTYPE destination: the
                // element stays), leaves the queue and the next one is offered the key: stopping
                // there would leave the rest blocked while the key holds data.
                if self.try_serve(db, &id.1, &blocked) != Offer::Nothing {
                    if let Some(queue) = self.waiters.blocked.get_mut(&id) {
                        queue.remove(index);
                    }
                } else if self.dbs[db].peek_type(&id.1, self.clock()).is_none() {
                    break;
                } else {
                    // A reader that found nothing new, or a pop waiting for another type, keeps
                    // its place; later ones may want other ids or this type (Redis skips them too).
                    index += 1;
                }
            }
            if self
                .waiters
                .blocked
                .get(&id)
                .is_some_and(|queue| queue.is_empty())
            {
                self.waiters.blocked.remove(&id);
                self.drop_interest_if_unwatched(db, &id.1);
            }
        }
    }
}

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
    let attempt = crate::pipeline::run_keyed(conn, spec, args.clone()).await;
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

/// The `last-generated-id` field of an XINFO STREAM reply.
fn last_generated_id(info: &Frame) -> Option<Bytes> {
    field(info, b"last-generated-id")
}

/// A bulk string field of an XINFO reply (a map, or a flat array of names and values).
fn field(info: &Frame, wanted: &[u8]) -> Option<Bytes> {
    let pairs: Vec<(&Frame, &Frame)> = match info {
        Frame::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        Frame::Array(items) => items
            .chunks(2)
            .filter_map(|p| Some((p.first()?, p.get(1)?)))
            .collect(),
        _ => return None,
    };
    pairs
        .into_iter()
        .find_map(|(name, value)| match (name, value) {
            (Frame::Bulk(name), Frame::Bulk(value)) if name.as_ref() == wanted => {
                Some(value.clone())
            }
            _ => None,
        })
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
    let attempt = crate::pipeline::run_keyed(conn, spec, args.clone()).await;
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
    let waiter = Arc::new(Waiter {
        claimed: AtomicBool::new(false),
        db: conn.db,
        fd,
        reply: sender,
    });
    for (shard, keys, serve) in registrations {
        let blocked = Blocked {
            waiter: waiter.clone(),
            serve,
        };
        let job: Job = Box::new(move |s| {
            s.block(keys, blocked);
            // A serve in `block` writes keys others may wait on (LMOVE's destination). A job for
            // a remote shard gets this from `Shard::handle`; on the local shard `run_on` runs it
            // in place, so it must not leave those writes unserved until some later command.
            s.after_writes();
            Output::Unit
        });
        ctx.run_on(shard, job).await;
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
    let fd = waiter.fd;
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
                if crate::commands::peer_closed(fd) {
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
        let pushed = crate::pipeline::run_keyed(conn, push_spec, command).await;
        if matches!(pushed, Frame::Error(_)) {
            let back = undo_pop(spec, args, element.clone());
            if let Some(back_spec) = crate::spec::lookup(&back[0]) {
                crate::pipeline::run_keyed(conn, back_spec, back).await;
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
