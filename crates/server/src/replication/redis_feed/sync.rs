//! A full sync of redis-server replicas: one consistent cut of every shard (the whole-shard-lock
//! transaction `DFLY SYNC` also uses), then the RDB built from every shard's snapshot as it
//! arrives, shared by every replica that asked before the cut. Its stream starts at the cut.

use super::rdb::RdbBuilder;
use super::replica::RedisReplica;
use super::shard_side::{self, SyncControl};
use super::Feed;
use crate::context::ExecutorCtx;
use crate::journal::signal::Signal;
use crate::locks::LockRequest;
use crate::shard::Work;
use crate::transaction::Transaction;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Pause before trying the cut again while another full sync's snapshot runs.
const BUSY_RETRY: Duration = Duration::from_secs(1);

pub struct Sync {
    pub control: Arc<SyncControl>,
    pub replicas: RefCell<Vec<Rc<RedisReplica>>>,
    /// The stream offset of the cut, once it is reached.
    pub start_offset: Cell<Option<u64>>,
    builder: RefCell<Option<RdbBuilder>>,
    /// RDB bytes not yet written by every replica, and the index of the first of them.
    chunks: RefCell<VecDeque<(Bytes, usize)>>,
    first_chunk: Cell<usize>,
    /// Every shard's snapshot has arrived and the RDB is complete.
    pub complete: Cell<bool>,
    shards_ended: Cell<usize>,
    shards: usize,
    /// Raised when the RDB is complete (the next sync may start).
    finished: Signal,
}

impl Sync {
    fn new(replicas: Vec<Rc<RedisReplica>>, shards: usize) -> Sync {
        Sync {
            control: Arc::new(SyncControl::default()),
            replicas: RefCell::new(replicas),
            start_offset: Cell::new(None),
            builder: RefCell::new(None),
            chunks: RefCell::new(VecDeque::new()),
            first_chunk: Cell::new(0),
            complete: Cell::new(false),
            shards_ended: Cell::new(0),
            shards,
            finished: Signal::default(),
        }
    }

    /// Whether any replica of this sync is still there.
    pub fn wanted(&self) -> bool {
        self.replicas.borrow().iter().any(|r| !r.is_dead())
    }

    /// Whether every live replica reads the RDB as it is produced (the `$EOF:` form); one that
    /// needs its length first makes the sync keep the whole RDB until it is complete.
    fn all_streamed(&self) -> bool {
        self.replicas
            .borrow()
            .iter()
            .all(|r| r.is_dead() || r.eof_capable())
    }

    /// The cut was reached at `offset` of the stream: the RDB starts.
    pub fn start(&self, replid: &str, offset: u64) {
        self.start_offset.set(Some(offset));
        match RdbBuilder::new(replid, offset, crate::memory::allocated_bytes()) {
            Ok(mut builder) => {
                self.push_chunk(builder.take_header(), 0);
                *self.builder.borrow_mut() = Some(builder);
            }
            Err(err) => tracing::error!("full sync: cannot start the RDB: {err}"),
        }
        self.wake_replicas();
    }

    /// Snapshot records of `db` from a shard (`credit`: the producer's count for them).
    pub fn add_records(&self, db: usize, records: &[u8], credit: usize) {
        let added = match self.builder.borrow_mut().as_mut() {
            Some(builder) => builder.add(db, records),
            None => return,
        };
        match added {
            Ok(bytes) => self.push_chunk(bytes, credit),
            Err(err) => tracing::error!("full sync: cannot encode the RDB: {err}"),
        }
        self.release_written();
        self.wake_replicas();
    }

    /// A shard's snapshot is complete; after the last one the RDB ends.
    pub fn shard_ended(&self) {
        self.shards_ended.set(self.shards_ended.get() + 1);
        if self.shards_ended.get() < self.shards {
            return;
        }
        if let Some(builder) = self.builder.borrow_mut().take() {
            match builder.finish() {
                Ok(bytes) => self.push_chunk(bytes, 0),
                Err(err) => tracing::error!("full sync: cannot end the RDB: {err}"),
            }
        }
        self.complete.set(true);
        self.finished.raise();
        self.wake_replicas();
    }

    fn push_chunk(&self, bytes: Vec<u8>, credit: usize) {
        if !bytes.is_empty() || credit > 0 {
            self.chunks
                .borrow_mut()
                .push_back((Bytes::from(bytes), credit));
        }
    }

    /// The RDB chunk at `index`, if it has been produced.
    pub fn chunk(&self, index: usize) -> Option<Bytes> {
        let position = index.checked_sub(self.first_chunk.get())?;
        self.chunks.borrow().get(position).map(|(b, _)| b.clone())
    }

    /// The whole RDB's length (once complete), for the `$<length>` form.
    pub fn total_length(&self) -> usize {
        self.chunks.borrow().iter().map(|(b, _)| b.len()).sum()
    }

    /// Drops the chunks every replica has written, giving their credit back to the producers
    /// (unless a replica still needs the whole RDB).
    pub fn release_written(&self) {
        if !self.all_streamed() {
            return;
        }
        let written = self
            .replicas
            .borrow()
            .iter()
            .filter(|r| !r.is_dead())
            .map(|r| r.rdb_next())
            .min()
            .unwrap_or(usize::MAX);
        let mut chunks = self.chunks.borrow_mut();
        while self.first_chunk.get() < written {
            let Some((_, credit)) = chunks.pop_front() else {
                break;
            };
            self.first_chunk.set(self.first_chunk.get() + 1);
            let _ =
                self.control
                    .in_flight
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                        Some(held.saturating_sub(credit))
                    });
        }
    }

    fn wake_replicas(&self) {
        for replica in self.replicas.borrow().iter() {
            replica.wake();
        }
    }
}

/// Runs full syncs for the replicas waiting for one, one sync at a time, until none waits.
pub async fn run_syncs(ctx: Rc<ExecutorCtx>, feed: Rc<Feed>) {
    loop {
        let waiting = feed.take_waiting();
        if waiting.is_empty() {
            feed.set_syncing(false);
            return;
        }
        let sync = Rc::new(Sync::new(waiting, ctx.shards()));
        for replica in sync.replicas.borrow().iter() {
            replica.join(sync.clone());
        }
        feed.set_sync(Some(sync.clone()));
        let mut cut = false;
        while sync.wanted() {
            if take_cut(&ctx, Some(sync.control.clone())).await {
                cut = true;
                break;
            }
            tracing::info!(
                "full sync of a redis-server replica waits: another full sync is running"
            );
            glommio::timer::sleep(BUSY_RETRY).await;
        }
        if cut {
            sync.finished.wait().await;
        }
        feed.set_sync(None);
    }
}

/// Takes the cut: every shard locked whole; each marks the cut in the feed and, for a full sync
/// (`control`), starts its snapshot. False when a snapshot is already running somewhere.
pub async fn take_cut(ctx: &Rc<ExecutorCtx>, control: Option<Arc<SyncControl>>) -> bool {
    let shards = ctx.shards();
    let locks: BTreeMap<usize, Vec<LockRequest>> = (0..shards)
        .map(|shard| (shard, vec![LockRequest::whole_shard()]))
        .collect();
    let mut tx = Transaction::begin(ctx, locks, false).await;
    let checks: Vec<(usize, Work<bool>)> = (0..shards)
        .map(|shard| {
            let job: Work<bool> = Box::new(|s| shard_side::snapshot_running(s));
            (shard, job)
        })
        .collect();
    let busy = control.is_some()
        && tx
            .hop(checks, false)
            .await
            .into_iter()
            .any(|running| running.unwrap_or(true));
    if busy {
        tx.finish().await;
        return false;
    }
    let cuts: Vec<(usize, Work<()>)> = (0..shards)
        .map(|shard| {
            let control = control.clone();
            let job: Work<()> = Box::new(move |s| shard_side::cut(s, control));
            (shard, job)
        })
        .collect();
    tx.hop(cuts, true).await;
    tx.finish().await;
    true
}
