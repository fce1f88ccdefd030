//! The Redis-format replication stream, for redis-server replicas and tools that send PSYNC or
//! SYNC: one RESP command stream merged from every shard's journal, with its own offset and
//! backlog, served from one executor (`FEED_EXECUTOR`).
//!
//! The feed starts with the first full sync of such a replica: every shard's journal gets a sink
//! whose records a forwarder task carries here (`shard_side`). A full sync takes one consistent cut
//! of every shard; each shard marks it in its sink and then sends its snapshot through the same
//! sink. Here the cut markers act as a barrier: no shard's records past its marker are merged
//! until every shard's marker has arrived, so the stream offset at the barrier is exactly the
//! cut, where the new replicas' stream starts (`sync`). The records are merged into one serial
//! order (`merge`), encoded as Redis commands (`stream`) and written to each replica from its own
//! offset (`replica`); its acknowledgements map back to shard journal offsets for WAIT.

mod merge;
mod rdb;
mod replica;
pub mod shard_side;
mod stream;
mod sync;

use crate::connection::StreamRequest;
use crate::context::ExecutorCtx;
use crate::journal::wire::{self, EffectAt, Item, ItemAt, Scan, StreamPoint};
use crate::output_limits::{exceeded, OutputClass};
use bytes::Bytes;
use glommio::net::TcpStream;
use merge::Merger;
use replica::RedisReplica;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the feed's cron runs.
const CRON_TICK: Duration = Duration::from_secs(1);
use stream::Stream;
use sync::Sync;

/// The executor that runs the feed and serves every redis-server replica.
pub const FEED_EXECUTOR: usize = 0;

thread_local! {
    /// The feed, on `FEED_EXECUTOR` once it has started.
    static FEED: RefCell<Option<Rc<Feed>>> = const { RefCell::new(None) };
}

/// What one shard's sink has delivered and the feed has not taken in yet: parts of whole items.
struct Input {
    parts: VecDeque<Bytes>,
    /// Where the next item starts in the first part.
    at: usize,
    /// Stopped at a full sync's cut marker until every shard reaches its own.
    at_cut: bool,
    /// The journal offset of this shard's first cut (the merge starts there).
    started: bool,
}

struct State {
    inputs: Vec<Input>,
    /// The journal offsets of every shard's cut marker of the sync being cut.
    cut_offsets: Vec<u64>,
    merger: Merger,
    stream: Stream,
    replicas: Vec<Rc<RedisReplica>>,
    /// Replicas waiting for the next full sync.
    waiting: Vec<Rc<RedisReplica>>,
    /// The full sync in progress.
    sync: Option<Rc<Sync>>,
    syncing: bool,
    getack_wanted: bool,
}

pub struct Feed {
    ctx: Rc<ExecutorCtx>,
    state: RefCell<State>,
    /// Whether the once-a-second task runs.
    cron_running: Cell<bool>,
    /// The stream's latest exact position, not yet sent to damselfly replicas.
    position_note: RefCell<Option<StreamPoint>>,
}

/// Hands a connection that sent PSYNC or SYNC over to the feed's executor.
pub async fn hand_off(ctx: &Rc<ExecutorCtx>, stream: TcpStream, request: Box<StreamRequest>) {
    super::handoff::move_socket(ctx, stream, FEED_EXECUTOR, move |ctx, fd| {
        crate::context::spawn_from_job(replica::serve(ctx, fd, request));
    })
    .await;
}

/// The feed (started if it is not yet); only on `FEED_EXECUTOR`.
fn feed(ctx: &Rc<ExecutorCtx>) -> Rc<Feed> {
    if let Some(feed) = FEED.with(|f| f.borrow().clone()) {
        return feed;
    }
    // After a stream that was dropped (repl-backlog-ttl), the new one starts past its end, so no
    // replica of the old one can continue into the new one.
    let position = &ctx.shared.repl.redis_stream;
    let after_old = position
        .on
        .load(Ordering::Acquire)
        .then(|| position.offset.load(Ordering::Acquire) + 1);
    let start = ctx.shared.repl.primary_offset().max(after_old.unwrap_or(0));
    create(ctx, start)
}

/// Starts the stream at `offset` (a promoted replica of a redis-server continues its primary's
/// stream there): every shard's sink is registered at one cut, without a snapshot, before the
/// first write a client may send.
pub async fn start_at(ctx: &Rc<ExecutorCtx>, offset: u64) {
    let create_here = move |_: &mut crate::shard::Shard| {
        if let Some(ctx) = crate::context::current() {
            FEED.with(|f| f.borrow_mut().take());
            create(&ctx, offset);
        }
    };
    ctx.run_on(FEED_EXECUTOR, create_here).await;
    sync::take_cut(ctx, None).await;
}

/// A new feed whose stream starts at `offset`; only on `FEED_EXECUTOR`.
fn create(ctx: &Rc<ExecutorCtx>, offset: u64) -> Rc<Feed> {
    let shards = ctx.shards();
    let feed = Rc::new(Feed {
        ctx: ctx.clone(),
        state: RefCell::new(State {
            inputs: (0..shards)
                .map(|_| Input {
                    parts: VecDeque::new(),
                    at: 0,
                    at_cut: false,
                    started: false,
                })
                .collect(),
            cut_offsets: vec![0; shards],
            merger: Merger::new(&vec![0; shards]),
            stream: Stream::new(offset, vec![0; shards]),
            replicas: Vec::new(),
            waiting: Vec::new(),
            sync: None,
            syncing: false,
            getack_wanted: false,
        }),
        cron_running: Cell::new(false),
        position_note: RefCell::new(None),
    });
    FEED.with(|f| *f.borrow_mut() = Some(feed.clone()));
    feed.publish_position();
    feed
}

/// Takes in what shard `from`'s sink forwarded (on `FEED_EXECUTOR`, whose shard is `here`).
pub fn deliver(from: usize, bytes: Bytes, here: &mut crate::shard::Shard) {
    if let Some(feed) = FEED.with(|f| f.borrow().clone()) {
        feed.take_in(from, bytes);
        feed.send_position(here);
    }
}

/// PUBLISH on this primary goes down the Redis-format stream too, as Redis 7.0 propagates it, so
/// subscribers on redis-server replicas hear it. (No SELECT: a replica runs PUBLISH in any db.)
pub fn propagate_publish(ctx: &ExecutorCtx, channel: Bytes, message: Bytes) {
    if !ctx.shared.repl.redis_stream.on.load(Ordering::Acquire) {
        return;
    }
    let job: crate::shard::Job = Box::new(move |here| {
        if let Some(feed) = FEED.with(|f| f.borrow().clone()) {
            let command = [Bytes::from_static(b"PUBLISH"), channel, message];
            feed.state.borrow_mut().stream.append_command(&command);
            feed.publish();
            feed.send_position(here);
        }
    });
    ctx.send(FEED_EXECUTOR, crate::shard::ShardMsg::Run { job });
}

/// This server became a replica: its redis-server replicas are dropped and the feed ends (a
/// replica of ours does not pass its primary's stream on).
pub async fn stop(ctx: &Rc<ExecutorCtx>) {
    let stop_here = |_: &mut crate::shard::Shard| {
        if let Some(feed) = FEED.with(|f| f.borrow_mut().take()) {
            feed.drop_everyone();
        }
    };
    ctx.run_on(FEED_EXECUTOR, stop_here).await;
    remove_sinks(ctx).await;
    ctx.shared
        .repl
        .redis_stream
        .on
        .store(false, Ordering::Release);
}

/// No redis-server replica for repl-backlog-ttl: the stream and its backlog go (every shard's sink
/// with them, so writes cost nothing for it any more), as Redis frees its backlog. The offset
/// stays; the next stream starts after it.
async fn retire(ctx: &Rc<ExecutorCtx>) {
    FEED.with(|f| f.borrow_mut().take());
    remove_sinks(ctx).await;
    tracing::info!(
        "no redis-server replica for repl-backlog-ttl: the Redis-format stream's backlog is freed"
    );
}

/// Takes the feed's sink off every shard; the stream is no longer active.
async fn remove_sinks(ctx: &Rc<ExecutorCtx>) {
    ctx.run_everywhere(|_| shard_side::stop).await;
    ctx.shared
        .repl
        .redis_stream
        .active
        .store(false, Ordering::Release);
}

impl Feed {
    fn take_in(&self, shard: usize, bytes: Bytes) {
        {
            let mut state = self.state.borrow_mut();
            let Some(input) = state.inputs.get_mut(shard) else {
                return;
            };
            input.parts.push_back(bytes);
            state.process(shard, &self.ctx);
        }
        self.publish();
    }

    /// Appends what the merge produced, makes it readable, wakes the replicas, trims what no one
    /// needs and drops replicas past their output limit.
    fn publish(&self) {
        let limit = self.ctx.shared.output_limits.get(OutputClass::Replica);
        let backlog = self.ctx.shared.config.repl_backlog_size;
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        for unit in state.merger.take_units() {
            state.stream.append_unit(&unit);
        }
        if std::mem::take(&mut state.getack_wanted) && !state.replicas.is_empty() {
            state.stream.append_raw(stream::GETACK);
        }
        let covered = state.merger.emitted_offsets();
        if !state.stream.seal(covered.clone()) {
            return;
        }
        if state.merger.is_drained() {
            let point = StreamPoint {
                offset: state.stream.offset(),
                db: state.stream.db(),
                shards: covered,
            };
            *self.position_note.borrow_mut() = Some(point);
        }
        let end = state.stream.sealed_end();
        for replica in &state.replicas {
            let lag = replica
                .needs_from()
                .map_or(0, |from| end.saturating_sub(from));
            if exceeded(limit, lag as usize, &replica.soft_since) {
                replica.close_over_limit();
            }
            replica.wake();
        }
        let live: Vec<&Rc<RedisReplica>> = state.replicas.iter().filter(|r| !r.is_dead()).collect();
        let keep_from = live.iter().filter_map(|r| r.needs_from()).min();
        let acked_from = live.iter().map(|r| r.acked()).min();
        state
            .stream
            .trim(keep_from.unwrap_or(end), backlog, acked_from.unwrap_or(end));
        self.publish_position_of(&state.stream);
    }

    /// Sends the latest exact stream position to this executor's damselfly replicas (flow 0
    /// of each is on the feed's executor).
    fn send_position(&self, here: &mut crate::shard::Shard) {
        if let Some(point) = self.position_note.borrow_mut().take() {
            shard_side::send_position(here, &point);
        }
    }

    fn publish_position(&self) {
        self.publish_position_of(&self.state.borrow().stream);
    }

    fn publish_position_of(&self, stream: &Stream) {
        let position = &self.ctx.shared.repl.redis_stream;
        position.offset.store(stream.offset(), Ordering::Release);
        position.start.store(stream.start(), Ordering::Release);
        position.on.store(true, Ordering::Release);
        position.active.store(true, Ordering::Release);
    }

    /// Where a replica's PSYNC can continue from, if it can (and it then joins the feed): our
    /// history, or the one we continued up to where we left it (Redis's PSYNC2 rule).
    fn try_continue(self: &Rc<Self>, replica: &Rc<RedisReplica>) -> Option<u64> {
        let (replid, offset) = replica.resume()?;
        let ours = {
            let repl = self.ctx.shared.repl.state();
            replid == repl.replid
                || repl
                    .replid2
                    .as_ref()
                    .is_some_and(|(old, second)| *old == replid && offset < *second)
        };
        {
            let mut state = self.state.borrow_mut();
            if !ours || !state.stream.can_continue_from(offset) {
                return None;
            }
            state.replicas.push(replica.clone());
        }
        self.start_cron();
        Some(offset)
    }

    /// Queues a replica for the next full sync, starting one if none runs.
    fn enqueue_full_sync(self: &Rc<Self>, ctx: &Rc<ExecutorCtx>, replica: Rc<RedisReplica>) {
        let start = {
            let mut state = self.state.borrow_mut();
            state.replicas.push(replica.clone());
            state.waiting.push(replica);
            !std::mem::replace(&mut state.syncing, true)
        };
        if start {
            glommio::spawn_local(sync::run_syncs(ctx.clone(), self.clone())).detach();
        }
        self.start_cron();
    }

    fn take_waiting(&self) -> Vec<Rc<RedisReplica>> {
        let mut state = self.state.borrow_mut();
        std::mem::take(&mut state.waiting)
            .into_iter()
            .filter(|r| !r.is_dead())
            .collect()
    }

    fn set_syncing(&self, syncing: bool) {
        self.state.borrow_mut().syncing = syncing;
    }

    fn set_sync(&self, sync: Option<Rc<Sync>>) {
        self.state.borrow_mut().sync = sync;
    }

    /// Up to about `max` bytes of the stream from `from` on; Err when `from` is no longer held.
    fn read(&self, from: u64, max: usize) -> Result<Option<Bytes>, ()> {
        let state = self.state.borrow();
        if from < state.stream.start() {
            return Err(());
        }
        Ok(state.stream.read(from, max))
    }

    fn shard_offsets_at(&self, offset: u64) -> Option<Vec<u64>> {
        self.state
            .borrow()
            .stream
            .shard_offsets_at(offset)
            .map(<[u64]>::to_vec)
    }

    fn remove(&self, replica: &Rc<RedisReplica>) {
        let mut state = self.state.borrow_mut();
        state.replicas.retain(|r| !Rc::ptr_eq(r, replica));
        state.waiting.retain(|r| !Rc::ptr_eq(r, replica));
    }

    fn drop_everyone(&self) {
        let state = self.state.borrow();
        for replica in state.replicas.iter().chain(&state.waiting) {
            replica.close();
        }
        if let Some(sync) = &state.sync {
            sync.control.abandoned.store(true, Ordering::Release);
        }
    }

    /// Once a second: a PING down the stream every repl-ping-replica-period while replicas are
    /// attached, so an idle link stays up (Redis counts these bytes in its offsets too), and
    /// replicas that acknowledged nothing for repl-timeout are dropped, as Redis drops them.
    fn start_cron(self: &Rc<Self>) {
        if self.cron_running.replace(true) {
            return;
        }
        let feed = Rc::downgrade(self);
        glommio::spawn_local(async move {
            let mut last_ping = Instant::now();
            let mut alone_since: Option<Instant> = None;
            loop {
                glommio::timer::sleep(CRON_TICK).await;
                let Some(feed) = feed.upgrade() else {
                    return;
                };
                let alone = {
                    let state = feed.state.borrow();
                    state.replicas.is_empty() && state.waiting.is_empty() && !state.syncing
                };
                alone_since = if alone {
                    alone_since.or(Some(Instant::now()))
                } else {
                    None
                };
                let ttl = feed.ctx.shared.config.repl_backlog_ttl_secs;
                if ttl > 0 && alone_since.is_some_and(|since| since.elapsed().as_secs() >= ttl) {
                    let ctx = feed.ctx.clone();
                    drop(feed);
                    retire(&ctx).await;
                    return;
                }
                let repl = &feed.ctx.shared.repl;
                let timeout = Duration::from_secs(feed.ctx.shared.config.repl_timeout_secs);
                for replica in feed.state.borrow().replicas.iter() {
                    if replica.silent_for() > timeout {
                        tracing::warn!(
                            "Disconnecting timedout replica (streaming sync): {}",
                            replica.describe()
                        );
                        replica.close();
                    }
                }
                let period = Duration::from_secs(repl.ping_period_secs());
                let attached = !feed.state.borrow().replicas.is_empty();
                if attached && last_ping.elapsed() >= period {
                    last_ping = Instant::now();
                    feed.state.borrow_mut().stream.append_raw(stream::PING);
                    feed.publish();
                    feed.send_position(&mut feed.ctx.shard.borrow_mut());
                }
            }
        })
        .detach();
    }
}

impl State {
    /// Takes in every item delivered for `shard`, stopping at a cut marker.
    fn process(&mut self, shard: usize, ctx: &Rc<ExecutorCtx>) {
        loop {
            let input = &mut self.inputs[shard];
            if input.at_cut {
                return;
            }
            let Some(part) = input.parts.front().cloned() else {
                return;
            };
            if input.at >= part.len() {
                input.parts.pop_front();
                input.at = 0;
                continue;
            }
            let mut scan = Scan::new(&part, input.at);
            let Some(item) = scan.item() else {
                tracing::error!("redis-format feed: shard {shard} sent a malformed item");
                input.parts.pop_front();
                input.at = 0;
                continue;
            };
            let length = (scan.position() - input.at) as u64;
            input.at = scan.position();
            let args = match item {
                ItemAt::Journal {
                    txid,
                    parts,
                    effects,
                } => {
                    self.take_record(shard, &part, txid, parts, &effects, length);
                    continue;
                }
                ItemAt::Other(bulks) => bulks.into_iter().map(|b| part.slice(b)).collect(),
            };
            match wire::decode(args) {
                Ok(Item::Snapshot { db, records }) => {
                    if let Some(sync) = &self.sync {
                        sync.add_records(db, &records, length as usize);
                    }
                }
                Ok(Item::SnapshotEnd) => {
                    if let Some(sync) = &self.sync {
                        sync.shard_ended();
                    }
                }
                Ok(Item::GetAck) => self.getack_wanted = true,
                Ok(Item::KeepAlive | Item::StreamPosition(_) | Item::Journal { .. }) => {}
                Ok(Item::Cut { offset }) => {
                    let input = &mut self.inputs[shard];
                    input.at_cut = true;
                    if !std::mem::replace(&mut input.started, true) {
                        self.merger.set_start(shard, offset);
                    }
                    self.cut_offsets[shard] = offset;
                    if self.inputs.iter().all(|i| i.at_cut) {
                        self.cut_reached(ctx);
                    }
                    return;
                }
                Err(err) => tracing::error!("redis-format feed: shard {shard}: {err}"),
            }
        }
    }

    /// A journal record of `shard`, read in place from `part`: a lone command with nothing of its
    /// shard waiting goes into the stream as its bytes are; anything else goes through the merge.
    fn take_record(
        &mut self,
        shard: usize,
        part: &Bytes,
        txid: u64,
        parts: u32,
        effects: &[EffectAt],
        length: u64,
    ) {
        if let [effect] = effects {
            if self.merger.passes_at_once(shard, parts) {
                self.merger.passed(shard, length);
                self.stream
                    .append_encoded(effect.db, effect.argc, &part[effect.args.clone()]);
                return;
            }
        }
        let effects = effects
            .iter()
            .map(|effect| {
                let mut scan = Scan::new(part, effect.args.start);
                let args = (0..effect.argc)
                    .filter_map(|_| scan.bulk())
                    .map(|range| part.slice(range))
                    .collect();
                (effect.db, args)
            })
            .collect();
        self.merger.accept(shard, txid, parts, effects, length);
        for unit in self.merger.take_units() {
            self.stream.append_unit(&unit);
        }
    }

    /// Every shard reached the cut: the full sync's stream starts here, and the shards go on.
    fn cut_reached(&mut self, ctx: &Rc<ExecutorCtx>) {
        for unit in self.merger.take_units() {
            self.stream.append_unit(&unit);
        }
        if !self.merger.is_drained() {
            tracing::error!("redis-format feed: a transaction spans a full sync's cut");
        }
        self.stream.forget_db();
        self.stream.seal(self.cut_offsets.clone());
        let offset = self.stream.sealed_end();
        let replid = ctx.shared.repl.state().replid.clone();
        if let Some(sync) = &self.sync {
            sync.start(&replid, offset);
        }
        for input in &mut self.inputs {
            input.at_cut = false;
        }
        for shard in 0..self.inputs.len() {
            self.process(shard, ctx);
        }
    }
}
