//! The feed's work on each shard: a sink in the shard's journal that receives every record (from
//! the first full sync of a redis-server replica on), a forwarder task that carries what the sink
//! holds to the feed's executor, and, during a full sync, the snapshot producer that walks the
//! shard's data into the same sink (its cut marked first).

use super::FEED_EXECUTOR;
use crate::context::ExecutorCtx;
use crate::journal::wire::StreamPoint;
use crate::journal::{snapshot, wire, FlowSink};
use crate::shard::{Shard, ShardMsg};
use bytes::Bytes;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The session id of the feed's sink in every shard's journal (damselfly replicas' sessions count
/// up from 1 and never reach it).
pub const FEED_SESSION: u64 = u64::MAX;
/// Slots a snapshot step walks before yielding to other work.
const SNAPSHOT_STEP: u32 = 2048;
/// Bytes forwarded to the feed per message at most.
const FORWARD_CHUNK: usize = 256 << 10;
/// Snapshot bytes produced but not yet written to every replica of the sync, past which the
/// producers wait: the snapshot goes only as fast as the slowest replica reads it.
const MAX_IN_FLIGHT: usize = 8 << 20;
/// How often a waiting producer looks again.
const PRODUCER_PAUSE: Duration = Duration::from_millis(1);

/// What the producers of one full sync share with the feed.
#[derive(Default)]
pub struct SyncControl {
    /// Snapshot bytes not yet written to every replica of the sync.
    pub in_flight: AtomicUsize,
    /// Every replica of the sync went away: stop producing.
    pub abandoned: AtomicBool,
}

/// Whether a snapshot (of any replica's full sync) runs on this shard.
pub fn snapshot_running(shard: &Shard) -> bool {
    shard.dbs.iter().any(|db| db.snapshot_active())
}

/// At a cut (every shard locked): starts the feed on this shard if it is not there yet, marks the
/// cut with this shard's journal offset and, for a full sync (`control`), starts the snapshot and
/// its producer.
pub fn cut(shard: &mut Shard, control: Option<Arc<SyncControl>>) {
    shard.activate_journal();
    let sink = match shard.journal.sink(FEED_SESSION) {
        Some(sink) => sink,
        None => {
            let sink = shard.journal.register_feed(FEED_SESSION);
            if let Some(ctx) = crate::context::current() {
                crate::context::spawn_from_job(forward(ctx, sink.clone()));
            }
            sink
        }
    };
    shard.journal.seal();
    let mut marker = Vec::new();
    wire::write_cut(&mut marker, shard.journal.offset());
    sink.push(Bytes::from(marker));
    let Some(control) = control else {
        return;
    };
    for db in &mut shard.dbs {
        db.start_snapshot();
    }
    sink.snapshotting.set(true);
    if let Some(ctx) = crate::context::current() {
        crate::context::spawn_from_job(produce(ctx, sink, control));
    }
}

/// Takes the feed off this shard (this server became a replica): its forwarder ends.
pub fn stop(shard: &mut Shard) {
    if shard.journal.remove(FEED_SESSION) {
        for db in &mut shard.dbs {
            db.stop_snapshot();
        }
    }
}

/// Carries what the sink holds to the feed, in order, until the sink is dropped.
async fn forward(ctx: Rc<ExecutorCtx>, sink: Rc<FlowSink>) {
    loop {
        if sink.is_dead() {
            return;
        }
        ctx.shard.borrow_mut().journal.seal();
        match sink.take_output(FORWARD_CHUNK) {
            Some(bytes) => deliver(&ctx, Bytes::from(bytes)),
            None => {
                sink.changed().await;
                // Let the connections that are ready run first, so their records travel together.
                crate::context::yield_once().await;
            }
        }
    }
}

fn deliver(ctx: &Rc<ExecutorCtx>, bytes: Bytes) {
    let from = ctx.id;
    if from == FEED_EXECUTOR {
        super::deliver(from, bytes, &mut ctx.shard.borrow_mut());
        return;
    }
    let job: crate::shard::Job = Box::new(move |here| super::deliver(from, bytes, here));
    ctx.send(FEED_EXECUTOR, ShardMsg::Run { job });
}

/// Tells this shard's damselfly replicas (on their flows from it) where the Redis-format stream
/// stands, so they can continue it after a failover.
pub fn send_position(shard: &mut Shard, point: &StreamPoint) {
    let mut flows = shard
        .journal
        .sinks
        .iter()
        .filter(|s| s.session != FEED_SESSION && s.attached.get())
        .peekable();
    if flows.peek().is_none() {
        return;
    }
    let note = wire::stream_position(point);
    for sink in flows {
        sink.push_note(note.clone());
    }
}

/// Walks the shard's data into the sink (after the cut marker), then marks the snapshot's end.
async fn produce(ctx: Rc<ExecutorCtx>, sink: Rc<FlowSink>, control: Arc<SyncControl>) {
    let databases = ctx.shard.borrow().dbs.len();
    let mut db = 0;
    while db < databases {
        if control.abandoned.load(Ordering::Acquire) || sink.is_dead() {
            break;
        }
        if control.in_flight.load(Ordering::Acquire) > MAX_IN_FLIGHT {
            glommio::timer::sleep(PRODUCER_PAUSE).await;
            continue;
        }
        {
            let mut shard = ctx.shard.borrow_mut();
            shard.send_preimages();
            let mut images = Vec::new();
            let done = shard.dbs[db].snapshot_step(SNAPSHOT_STEP, &mut images);
            if !images.is_empty() {
                let chunk = snapshot::encode_chunk(db, &images);
                control.in_flight.fetch_add(chunk.len(), Ordering::AcqRel);
                shard.journal.push_to(&sink, chunk);
            }
            if done {
                db += 1;
            }
        }
        glommio::yield_if_needed().await;
    }
    let mut shard = ctx.shard.borrow_mut();
    shard.send_preimages();
    for db in &mut shard.dbs {
        db.stop_snapshot();
    }
    sink.snapshotting.set(false);
    shard
        .journal
        .push_to(&sink, Bytes::from_static(wire::SNAPSHOT_END));
}
