//! One shard: its databases, intent locks and ordered transaction queue. Only its own executor touches it.
//!
//! Scheduling follows VLL: a multi-shard transaction takes a global id and is queued on every shard it
//! touches with intent locks on its keys. A transaction whose locks were free when it arrived may run at
//! once; one that conflicted runs when it reaches the head of the queue. A conflicting arrival with a
//! smaller id than one already accepted there (queued or finished, remembered per key bucket) is refused (the coordinator aborts and retries with a new
//! id), so on every shard conflicting transactions run in id order. Single-shard commands take the fast
//! path (no id) unless a key they touch is locked; then they queue like a transaction.

mod blocked;
mod cross_shard;
mod msg;
mod waiters;

pub use cross_shard::{Lent, Origin};
pub use msg::{job, Job, ShardMsg, Work};
pub use waiters::{Blocked, Serve, Waiter, WatchFlag};

use crate::clients::ClientRegistry;
use crate::journal::wire::Effect;
use crate::journal::Journal;
use crate::keyplan::KeyPlan;
use crate::locks::LockRequest;
use crate::locks::{IntentLocks, OrderStamps};
use crate::messages::Command;
use crate::shared::Shared;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{CommandDef, Spread};
use damselfly_storage::{Db, Effects, ExecContext, Stats};
use futures::channel::oneshot;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

type LocalJob = Box<dyn FnOnce(&mut Shard)>;

struct Waiting {
    run: LocalJob,
    conclude: bool,
}

struct QueuedTx {
    locks: Vec<LockRequest>,
    /// Its locks were uncontended when it was scheduled, so it may run before the queue head.
    free: bool,
    waiting: VecDeque<Waiting>,
    /// A writing transaction journals its effects here as one record when it concludes, marked
    /// with the number of shards taking part.
    journal_parts: Option<u32>,
    /// A hop has run here. A transaction aborted before running (another shard refused it) leaves
    /// no record, since the other participants leave none either.
    ran: bool,
}

pub struct Shard {
    /// The time commands see, read once per read cycle or message rather than per command.
    clock_ms: u64,
    pub dbs: Vec<Db>,
    pub stats: Stats,
    pub commands_processed: u64,
    pub clients: ClientRegistry,
    pub shared: Arc<Shared>,
    locks: IntentLocks,
    stamps: OrderStamps,
    queue: BTreeMap<u64, QueuedTx>,
    pub id: usize,
    pub journal: Journal,
    /// The transaction whose hop is running, so its effects join its journal record.
    current_tx: Option<u64>,
    tx_effects: AHashMap<u64, Vec<Effect>>,
    /// Connections watching keys here and clients blocked on them.
    pub(crate) waiters: waiters::Waiters,
    /// Pub/Sub subscriptions of this executor's connections.
    pub pubsub: crate::pubsub::PubSub,
    /// This executor's connections blocked in a blocking command (INFO blocked_clients).
    pub blocked_clients: usize,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Shard {
        let backlog = (shared.config.repl_backlog_size as usize / shared.shards).max(1);
        Shard {
            id,
            journal: Journal::new(backlog),
            current_tx: None,
            tx_effects: AHashMap::new(),
            waiters: Default::default(),
            pubsub: Default::default(),
            blocked_clients: 0,
            clock_ms: now_ms(),
            dbs: (0..shared.config.databases).map(|_| Db::new()).collect(),
            stats: Stats::default(),
            commands_processed: 0,
            clients: ClientRegistry::default(),
            shared,
            locks: IntentLocks::default(),
            stamps: OrderStamps::default(),
            queue: BTreeMap::new(),
        }
    }

    /// The time commands see now.
    pub(crate) fn clock(&self) -> u64 {
        self.clock_ms
    }

    /// Whether a transaction holds a lock on `key`, so it must not change under it.
    pub(crate) fn key_locked(&self, db: usize, key: &Bytes) -> bool {
        !self.locks.is_empty()
            && self.locks.any_conflict(&[LockRequest {
                db,
                key: key.clone(),
                exclusive: true,
            }])
    }

    /// Reads the clock for the commands about to run (a read cycle's batch, or one message).
    pub fn tick(&mut self) {
        self.clock_ms = now_ms();
    }

    /// Runs a command the server composed itself (GET, XINFO GROUPS...), found by its name.
    pub fn run_internal(&mut self, db: usize, args: &[Bytes]) -> Frame {
        match damselfly_storage::lookup(&args[0]) {
            Some(def) if def.arity_ok(args.len()) => self.run_command(db, def, args),
            _ => Frame::error("ERR internal command not runnable on a shard"),
        }
    }

    /// Runs one command whose keys all live here, ignoring locks (the caller has checked them).
    pub fn run_command(&mut self, db: usize, def: &'static CommandDef, args: &[Bytes]) -> Frame {
        if !self.journal.is_active() {
            let mut ctx = ExecContext {
                now_ms: self.clock_ms,
                stats: &mut self.stats,
                effects: None,
            };
            return damselfly_storage::run(def, &mut self.dbs, db, args, &mut ctx);
        }
        let mut effects = Effects::default();
        let mut ctx = ExecContext {
            now_ms: self.clock_ms,
            stats: &mut self.stats,
            effects: Some(&mut effects),
        };
        let reply = damselfly_storage::run(def, &mut self.dbs, db, args, &mut ctx);
        if !effects.is_empty() {
            self.journal_effects(effects, args);
        }
        reply
    }

    /// Applies a command from our primary's replication stream: nothing counts as expired (only
    /// the primary expires keys) and nothing is journaled.
    pub fn apply_replicated(&mut self, db: usize, def: &'static CommandDef, args: &[Bytes]) {
        match def.spread {
            Spread::EveryShard { all_dbs: true } => self.dbs.iter_mut().for_each(Db::clear),
            Spread::EveryShard { all_dbs: false } => {
                if let Some(db) = self.dbs.get_mut(db) {
                    db.clear();
                }
            }
            _ => {
                let mut ctx = ExecContext {
                    now_ms: 0,
                    stats: &mut self.stats,
                    effects: None,
                };
                if db < self.dbs.len() {
                    damselfly_storage::run(def, &mut self.dbs, db, args, &mut ctx);
                }
            }
        }
    }

    /// Starts journaling writes (the first replica is syncing).
    pub fn activate_journal(&mut self) {
        if !self.journal.is_active() {
            self.journal.activate();
            for db in &mut self.dbs {
                db.set_expiry_log(true);
            }
            self.shared.repl.journal_on.store(true, Ordering::Release);
        }
    }

    /// Journals what a command did: snapshot pre-images first, then expiry deletions, then its writes
    /// (`args` is the command, for effects that are the command as sent).
    fn journal_effects(&mut self, effects: Effects, args: &[Bytes]) {
        self.send_preimages();
        for (db, key) in effects.expired {
            let delete = [Bytes::from_static(b"DEL"), key];
            self.journal.append(0, 1, &[(db, &delete[..])]);
        }
        for (db, effect) in effects.writes {
            match effect {
                Some(command) => self.record((db, command)),
                None if self.running_journaled_tx().is_some() => self.record((db, args.to_vec())),
                None => self.journal.append(0, 1, &[(db, args)]),
            }
        }
        self.publish_offset();
    }

    /// Journals the expiry deletions and snapshot pre-images of work done outside `run_command`
    /// (active expiry, direct db access).
    pub fn journal_side_effects(&mut self) {
        if !self.journal.is_active() {
            return;
        }
        let mut effects = Effects::default();
        for (index, db) in self.dbs.iter_mut().enumerate() {
            effects
                .expired
                .extend(db.take_expired_keys().into_iter().map(|key| (index, key)));
        }
        if !effects.is_empty() {
            self.journal_effects(effects, &[]);
        }
        self.send_preimages();
    }

    /// The journaled transaction whose hop is running, if any.
    fn running_journaled_tx(&self) -> Option<u64> {
        self.current_tx.filter(|txid| {
            self.queue
                .get(txid)
                .is_some_and(|tx| tx.journal_parts.is_some())
        })
    }

    /// Journals one effect: into the running transaction's record, or as a record of its own.
    pub fn record(&mut self, effect: Effect) {
        if !self.journal.is_active() {
            return;
        }
        self.send_preimages();
        match self.running_journaled_tx() {
            Some(txid) => self.tx_effects.entry(txid).or_default().push(effect),
            None => {
                let (db, command) = effect;
                self.journal.append(0, 1, &[(db, &command[..])]);
                self.publish_offset();
            }
        }
    }

    fn publish_offset(&self) {
        self.shared.repl.offsets[self.id].store(self.journal.offset(), Ordering::Release);
    }

    /// Sends the old contents saved by writes to the flow whose snapshot is in progress; they must
    /// precede the journal records of those writes.
    pub fn send_preimages(&mut self) {
        let Some(sink) = self.journal.snapshotting_sink().cloned() else {
            return;
        };
        for (index, db) in self.dbs.iter_mut().enumerate() {
            let images = db.take_preimages();
            if !images.is_empty() {
                let chunk = crate::journal::snapshot::encode_chunk(index, &images);
                self.journal.push_to(&sink, chunk);
            }
        }
    }

    /// The fast path: runs the command now unless a scheduled transaction holds a lock on one of its keys.
    pub fn try_fast(
        &mut self,
        db: usize,
        def: &'static CommandDef,
        args: &[Bytes],
    ) -> Option<Frame> {
        if !self.locks.is_empty() && self.locks.any_conflict(&command_locks(db, def, args)) {
            return None;
        }
        let reply = self.run_command(db, def, args);
        self.after_writes();
        Some(reply)
    }

    /// Runs a connection's batch in order; commands from the first one that meets a lock onwards wait in the
    /// transaction queue, and the reply is sent when all have run.
    pub fn run_batch(
        &mut self,
        db: usize,
        commands: Vec<Command>,
        reply: oneshot::Sender<Vec<Frame>>,
    ) {
        let mut results = Vec::with_capacity(commands.len());
        let mut commands = commands.into_iter();
        for command in commands.by_ref() {
            match self.try_fast(db, command.def, &command.args) {
                Some(frame) => results.push(frame),
                None => {
                    let rest: Vec<Command> = std::iter::once(command).chain(commands).collect();
                    self.defer_batch(db, rest, results, reply);
                    return;
                }
            }
        }
        let _ = reply.send(results);
    }

    fn defer_batch(
        &mut self,
        db: usize,
        rest: Vec<Command>,
        mut results: Vec<Frame>,
        reply: oneshot::Sender<Vec<Frame>>,
    ) {
        let txid = self.shared.next_txid();
        let locks: Vec<LockRequest> = rest
            .iter()
            .flat_map(|command| command_locks(db, command.def, &command.args))
            .map(|lock| LockRequest {
                exclusive: true,
                ..lock
            })
            .collect();
        self.locks.acquire(&locks);
        self.stamps.stamp(txid, &locks);
        let run: LocalJob = Box::new(move |shard: &mut Shard| {
            for command in &rest {
                results.push(shard.run_command(db, command.def, &command.args));
            }
            let _ = reply.send(results);
        });
        let waiting = VecDeque::from([Waiting {
            run,
            conclude: true,
        }]);
        self.queue.insert(
            txid,
            QueuedTx {
                locks,
                free: false,
                waiting,
                journal_parts: None,
                ran: false,
            },
        );
        self.drain_runnable();
    }

    /// Queues a multi-shard transaction; false means "retry with a newer id" because a younger conflicting
    /// transaction was accepted here already (queued or even finished).
    pub fn schedule(
        &mut self,
        txid: u64,
        locks: Vec<LockRequest>,
        journal_parts: Option<u32>,
    ) -> bool {
        if self.stamps.younger_conflict(txid, &locks) {
            return false;
        }
        let conflict = self.locks.any_conflict(&locks);
        self.locks.acquire(&locks);
        self.stamps.stamp(txid, &locks);
        self.queue.insert(
            txid,
            QueuedTx {
                locks,
                free: !conflict,
                waiting: VecDeque::new(),
                journal_parts,
                ran: false,
            },
        );
        true
    }

    /// Runs a hop of transaction `txid` now if it may run, or when it reaches the head of the queue.
    pub fn execute(&mut self, txid: u64, conclude: bool, run: LocalJob) {
        let runnable = match self.queue.get(&txid) {
            None => true,
            Some(entry) => {
                entry.free
                    || self
                        .queue
                        .first_key_value()
                        .is_some_and(|(&head, _)| head == txid)
            }
        };
        if runnable {
            run(self);
            if conclude {
                self.finish(txid);
            }
        } else if let Some(entry) = self.queue.get_mut(&txid) {
            entry.waiting.push_back(Waiting { run, conclude });
        }
    }

    /// Removes a transaction (concluded or aborted), releases its locks and runs whatever became runnable.
    pub fn finish(&mut self, txid: u64) {
        self.conclude(txid);
        self.drain_runnable();
    }

    /// Ends a transaction here: releases its locks and journals its share of the effects.
    fn conclude(&mut self, txid: u64) {
        let Some(entry) = self.queue.remove(&txid) else {
            return;
        };
        self.locks.release(&entry.locks);
        let effects = self.tx_effects.remove(&txid).unwrap_or_default();
        if let (Some(parts), true) = (entry.journal_parts, entry.ran) {
            if self.journal.is_active() {
                // The old contents a hop's writes saved for a snapshot go first (a lent key given
                // back is written by the concluding hop itself).
                self.send_preimages();
                let refs: Vec<(usize, &[Bytes])> = effects
                    .iter()
                    .map(|(db, command)| (*db, &command[..]))
                    .collect();
                self.journal.append(txid, parts, &refs);
                self.publish_offset();
            }
        }
    }

    fn drain_runnable(&mut self) {
        loop {
            let Some(mut head) = self.queue.first_entry() else {
                return;
            };
            let Some(waiting) = head.get_mut().waiting.pop_front() else {
                return;
            };
            let txid = *head.key();
            (waiting.run)(self);
            if waiting.conclude {
                self.conclude(txid);
            }
        }
    }

    /// Handles one message from another shard; never blocks.
    pub fn handle(&mut self, message: ShardMsg) {
        self.tick();
        match message {
            ShardMsg::Batch {
                db,
                commands,
                reply,
            } => self.run_batch(db, commands, reply),
            ShardMsg::Schedule {
                txid,
                locks,
                journal_parts,
                reply,
            } => {
                let _ = reply.send(self.schedule(txid, locks, journal_parts));
            }
            ShardMsg::Execute {
                txid,
                conclude,
                job,
            } => {
                self.execute(txid, conclude, as_hop(txid, job));
            }
            ShardMsg::Release { txid } => self.finish(txid),
            ShardMsg::Run { job } => job(self),
        }
        self.after_jobs();
    }

    /// Runs `work` here and now (a job for this executor's own shard), as a message would run it.
    pub fn run_job<T>(&mut self, work: impl FnOnce(&mut Shard) -> T) -> T {
        self.tick();
        let result = work(self);
        self.after_jobs();
        result
    }

    /// After jobs ran: a read of an expired key deleted it lazily (journaled here as Redis
    /// propagates it), and a write may have given a blocked client's key data.
    fn after_jobs(&mut self) {
        self.journal_side_effects();
        self.after_writes();
    }
}

/// A transaction's hop: marks the transaction as having run here and journals its effects in the
/// transaction's record.
fn as_hop(txid: u64, job: Job) -> LocalJob {
    Box::new(move |shard: &mut Shard| {
        if let Some(tx) = shard.queue.get_mut(&txid) {
            tx.ran = true;
        }
        shard.current_tx = Some(txid);
        job(shard);
        shard.current_tx = None;
    })
}

/// The intent locks a command needs: its keys, exclusive when it writes.
pub fn command_locks(db: usize, def: &'static CommandDef, args: &[Bytes]) -> Vec<LockRequest> {
    KeyPlan::new(def, args, db, 1)
        .locks()
        .map(|(_, lock)| lock)
        .collect()
}

/// What the coordination tests observe of the queue (`crate::test_shards`).
#[cfg(test)]
impl Shard {
    /// Transactions (and deferred batches) queued here.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Hops (and deferred batches) that arrived and wait for their transaction's turn.
    pub(crate) fn waiting_hops(&self) -> usize {
        self.queue.values().map(|tx| tx.waiting.len()).sum()
    }
}

#[cfg(test)]
mod tests;
