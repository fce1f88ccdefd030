//! Applies a primary's flows on a replica, whose shard count may differ from the primary's.
//!
//! Every record is routed by key to this server's shards. A record whose keys live on one shard is
//! applied there in order with the other records of its flow (the fast lane: one batch per shard
//! per read). The parts of a multi-shard transaction (one per primary shard, on different flows)
//! are gathered, and a complete transaction goes to the transaction lane, as does a record whose
//! keys span our shards or that touches keys already in the lane. The lane runs its entries in
//! order, everything queued at once as one transaction over our shards, so no reader sees half of
//! any of them. While a part waits for the others, later records of its flow that touch its keys
//! wait behind it; other records go ahead, so flows never wait for each other in a cycle.

use super::applied::{effect_keys, record_keys, Applied, KeySet, Keys};
use super::lend;
use super::stream_positions::StreamPositions;
use crate::context::ExecutorCtx;
use crate::journal::signal::Signal;
use crate::journal::snapshot;
use crate::journal::wire::Item;
use crate::keyplan::KeyPlan;
use crate::locks::LockRequest;
use crate::router::shard_of;
use crate::shard::{job, Shard, ShardMsg, Work};
use crate::transaction::Transaction;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_storage::spec::Spread;
use damselfly_storage::Entry;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

struct Record {
    /// Offset of the record's first byte in its flow.
    start: u64,
    txid: u64,
    parts: u32,
    effects: Vec<Applied>,
    keys: Keys,
}

#[derive(Default)]
struct Flow {
    /// Offset just past the last record read.
    consumed: u64,
    /// Records waiting behind a part of an incomplete transaction, in flow order.
    held: VecDeque<Record>,
    held_keys: KeySet,
    /// Keys of this flow's parts of transactions still missing other parts.
    pending_keys: KeySet,
    /// Start offsets of records read but not applied yet.
    unapplied: BTreeSet<u64>,
    snapshot_done: bool,
    /// The primary asked for an acknowledgement that has not covered everything read yet.
    ack_wanted: bool,
    /// Wakes the flow's task to acknowledge when the lane applied some of its records.
    ack_signal: Rc<Signal>,
}

struct Member {
    flow: usize,
    start: u64,
    keys: Keys,
}

/// Effects to apply as one transaction, and the records they came from.
#[derive(Default)]
struct LaneEntry {
    effects: Vec<Applied>,
    members: Vec<Member>,
}

/// Work for one of our shards, applied in order.
enum Op {
    Command(Applied),
    Put(usize, Bytes, Entry),
}

pub struct Applier {
    flows: Vec<Flow>,
    /// Transactions still missing parts, by id.
    pending: AHashMap<u64, LaneEntry>,
    /// Per shard of ours, what the next send carries.
    batches: Vec<Vec<Op>>,
    /// Records in batches not sent yet that had been held (released from `unapplied` once applied).
    settling: Vec<(usize, u64)>,
    lane: VecDeque<LaneEntry>,
    lane_keys: KeySet,
    lane_running: bool,
    /// The primary's notes on its Redis-format stream.
    positions: StreamPositions,
}

pub type SharedApplier = Rc<RefCell<Applier>>;

/// Splits an effect into commands per shard of ours (MSET and DEL split by key).
fn split_effect(effect: &Applied, shards: usize, out: &mut AHashMap<usize, Vec<Op>>) {
    let (db, def, args) = (effect.db, effect.def, &effect.args);
    let mut push = |shard: usize, args: Vec<Bytes>| {
        out.entry(shard)
            .or_default()
            .push(Op::Command(Applied { db, def, args }));
    };
    match def.spread {
        Spread::EveryShard { .. } => {
            for shard in 0..shards {
                push(shard, args.to_vec());
            }
        }
        Spread::PerKey(_) | Spread::AllOrNothing => {
            for (shard, items) in KeyPlan::new(def, args, db, shards).split() {
                let mut command = vec![args[0].clone()];
                command.extend(
                    items
                        .into_iter()
                        .flat_map(|(_, words)| words.iter().cloned()),
                );
                push(shard, command);
            }
        }
        _ => {
            let shard = def
                .key_positions(args)
                .next()
                .map_or(0, |position| shard_of(&args[position], shards));
            push(shard, args.to_vec());
        }
    }
}

impl Applier {
    pub fn new(primary_shards: usize, our_shards: usize) -> Applier {
        Applier {
            flows: (0..primary_shards).map(|_| Flow::default()).collect(),
            pending: AHashMap::new(),
            batches: (0..our_shards).map(|_| Vec::new()).collect(),
            settling: Vec::new(),
            lane: VecDeque::new(),
            lane_keys: KeySet::default(),
            lane_running: false,
            positions: StreamPositions::default(),
        }
    }

    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    pub fn set_start(&mut self, flow: usize, offset: u64) {
        if let Some(state) = self.flows.get_mut(flow) {
            state.consumed = offset;
        }
    }

    pub fn consumed(&self, flow: usize) -> u64 {
        self.flows.get(flow).map_or(0, |f| f.consumed)
    }

    /// What the flow may acknowledge: everything before its oldest unapplied record.
    pub fn applied(&self, flow: usize) -> u64 {
        self.flows
            .get(flow)
            .map_or(0, |f| f.unapplied.first().copied().unwrap_or(f.consumed))
    }

    /// Whether transactions are still being applied.
    pub fn lane_busy(&self) -> bool {
        self.lane_running
    }

    /// Whether the flow owes the primary an acknowledgement it asked for.
    pub fn ack_owed(&self, flow: usize) -> bool {
        self.flows.get(flow).is_some_and(|f| f.ack_wanted)
    }

    /// The primary asked this flow for an acknowledgement (or it was given: `false`).
    pub fn set_ack_wanted(&mut self, flow: usize, wanted: bool) {
        if let Some(state) = self.flows.get_mut(flow) {
            state.ack_wanted = wanted;
        }
    }

    pub fn ack_signal(&self, flow: usize) -> Rc<Signal> {
        self.flows
            .get(flow)
            .map(|f| f.ack_signal.clone())
            .unwrap_or_default()
    }

    /// Wakes the flows that owe the primary an acknowledgement (after the lane applied records).
    fn wake_owed_acks(&self) {
        for flow in self.flows.iter().filter(|f| f.ack_wanted) {
            flow.ack_signal.raise();
        }
    }

    pub fn snapshots_done(&self) -> bool {
        self.flows.iter().all(|f| f.snapshot_done)
    }

    /// Stream bytes that carry no effect (a Redis primary's PING, SELECT, REPLCONF GETACK): they
    /// still count towards the flow's offset, as Redis counts them.
    pub fn skip(&mut self, flow: usize, length: u64) {
        if let Some(state) = self.flows.get_mut(flow) {
            state.consumed += length;
        }
    }

    /// One key of a full sync's RDB, put on the shard of ours that owns it with the next flush.
    pub fn put(&mut self, db: usize, key: Bytes, entry: Entry) {
        let shard = shard_of(&key, self.batches.len());
        self.batches[shard].push(Op::Put(db, key, entry));
    }

    /// Takes in one item read from `flow`; `length` is its size in the stream.
    pub fn accept(&mut self, flow: usize, item: Item, length: u64) -> Result<(), String> {
        match item {
            Item::Journal {
                txid,
                parts,
                effects,
            } => {
                let effects = effects
                    .into_iter()
                    .filter_map(Applied::resolve_or_warn)
                    .collect();
                self.accept_record(flow, txid, parts, effects, length);
            }
            Item::Snapshot { db, records } => {
                let shards = self.batches.len();
                for (key, entry) in snapshot::decode_chunk(&records)? {
                    self.batches[shard_of(&key, shards)].push(Op::Put(db, key, entry));
                }
            }
            Item::SnapshotEnd => self.flows[flow].snapshot_done = true,
            Item::StreamPosition(point) => self.positions.record(point),
            Item::KeepAlive | Item::GetAck | Item::Cut { .. } => {}
        }
        Ok(())
    }

    /// Takes in one record of effects already resolved (a redis-server primary's command or MULTI
    /// block: txid 0, one part); `length` is its size in the stream.
    pub fn accept_resolved(&mut self, flow: usize, effects: Vec<Applied>, length: u64) {
        self.accept_record(flow, 0, 1, effects, length);
    }

    fn accept_record(
        &mut self,
        flow: usize,
        txid: u64,
        parts: u32,
        effects: Vec<Applied>,
        length: u64,
    ) {
        let state = &mut self.flows[flow];
        let record = Record {
            start: state.consumed,
            txid,
            parts,
            keys: record_keys(&effects),
            effects,
        };
        state.consumed += length;
        state.unapplied.insert(record.start);
        self.hold_or_dispatch(flow, record);
    }

    /// Sends a record on its way: to its transaction's other parts, to the lane, or to a batch.
    fn dispatch(&mut self, flow: usize, record: Record) {
        let member = Member {
            flow,
            start: record.start,
            keys: record.keys.clone(),
        };
        if record.parts > 1 {
            self.flows[flow].pending_keys.add(&record.keys);
            let pending = self.pending.entry(record.txid).or_default();
            pending.effects.extend(record.effects);
            pending.members.push(member);
            if pending.members.len() as u32 >= record.parts {
                if let Some(complete) = self.pending.remove(&record.txid) {
                    self.complete(complete);
                }
            }
            return;
        }
        match self.single_shard(&record.keys) {
            Some(shard) if !self.lane_keys.conflicts(&record.keys) => {
                let batch = &mut self.batches[shard];
                batch.extend(record.effects.into_iter().map(Op::Command));
                self.settling.push((flow, record.start));
            }
            _ => self.push_lane(LaneEntry {
                effects: record.effects,
                members: vec![member],
            }),
        }
    }

    /// The one shard of ours that holds every key, if there is one.
    fn single_shard(&self, keys: &Keys) -> Option<usize> {
        let Keys::Some(keys) = keys else {
            return None;
        };
        let shards = self.batches.len();
        let mut owners = keys.iter().map(|(_, key)| shard_of(key, shards));
        let first = owners.next().unwrap_or(0);
        owners.all(|shard| shard == first).then_some(first)
    }

    /// All parts of a transaction are here: it joins the lane, and what its parts held back moves on.
    fn complete(&mut self, entry: LaneEntry) {
        let flows: BTreeSet<usize> = entry.members.iter().map(|m| m.flow).collect();
        for member in &entry.members {
            self.flows[member.flow].pending_keys.remove(&member.keys);
        }
        self.push_lane(entry);
        for flow in flows {
            let held = std::mem::take(&mut self.flows[flow].held);
            self.flows[flow].held_keys = KeySet::default();
            for record in held {
                self.hold_or_dispatch(flow, record);
            }
        }
    }

    /// Holds a record behind an earlier one of its flow that it conflicts with (a part waiting for
    /// the rest of its transaction, or a record held already), or sends it on.
    fn hold_or_dispatch(&mut self, flow: usize, record: Record) {
        let state = &mut self.flows[flow];
        if state.held_keys.conflicts(&record.keys) || state.pending_keys.conflicts(&record.keys) {
            state.held_keys.add(&record.keys);
            state.held.push_back(record);
        } else {
            self.dispatch(flow, record);
        }
    }

    fn push_lane(&mut self, entry: LaneEntry) {
        for member in &entry.members {
            self.lane_keys.add(&member.keys);
        }
        self.lane.push_back(entry);
    }

    /// Records of a lane run are applied.
    fn finish_lane(&mut self, members: Vec<Member>) {
        for member in members {
            self.lane_keys.remove(&member.keys);
            self.flows[member.flow].unapplied.remove(&member.start);
        }
    }
}

/// Waits until an old applier's transactions have finished (before a full sync clears the data).
pub async fn wait_idle(applier: &SharedApplier) {
    while applier.borrow().lane_busy() {
        glommio::timer::sleep(Duration::from_millis(5)).await;
    }
}

/// Clears every db of every shard (the start of a full sync).
pub async fn flush_everything(ctx: &Rc<ExecutorCtx>) {
    ctx.run_everywhere(|_| |s: &mut Shard| s.dbs.iter_mut().for_each(|db| db.clear()))
        .await;
}

type Answers = Vec<futures::channel::oneshot::Receiver<()>>;

/// Sends every gathered batch to its shard (under the gate, so sends keep their order).
async fn send_batches(
    ctx: &Rc<ExecutorCtx>,
    applier: &SharedApplier,
) -> (Answers, Vec<(usize, u64)>) {
    let (batches, settling) = {
        let mut applier = applier.borrow_mut();
        let shards = applier.batches.len();
        let batches = std::mem::replace(
            &mut applier.batches,
            (0..shards).map(|_| Vec::new()).collect(),
        );
        (batches, std::mem::take(&mut applier.settling))
    };
    let mut answers = Vec::new();
    for (shard, ops) in batches.into_iter().enumerate() {
        if ops.is_empty() {
            continue;
        }
        let (job, answer) = job(move |s: &mut Shard| {
            for op in ops {
                match op {
                    Op::Command(effect) => s.apply_replicated(effect.db, effect.def, &effect.args),
                    Op::Put(db, key, entry) => {
                        if let Some(db) = s.dbs.get_mut(db) {
                            db.put(key, entry);
                        }
                    }
                }
            }
        });
        ctx.send(shard, ShardMsg::Run { job });
        answers.push(answer);
    }
    (answers, settling)
}

/// Waits until sent batches are applied, then releases their records' offsets.
async fn settle(applier: &SharedApplier, answers: Answers, settling: Vec<(usize, u64)>) {
    for answer in answers {
        let _ = crate::wakeup::await_remote(answer).await;
    }
    let mut applier = applier.borrow_mut();
    for (flow, start) in settling {
        if let Some(state) = applier.flows.get_mut(flow) {
            state.unapplied.remove(&start);
        }
    }
}

/// Publishes what is applied of each flow and, when it is exactly a noted position of the
/// primary's Redis-format stream, that position: INFO shows the first, a promotion or a new
/// primary continues from the second.
fn publish_progress(ctx: &ExecutorCtx, applier: &SharedApplier) {
    let applier = applier.borrow();
    let applied: Vec<u64> = (0..applier.flows()).map(|f| applier.applied(f)).collect();
    let position = applier.positions.exact(&applied).cloned();
    let mut state = ctx.shared.repl.state();
    for (slot, value) in state.link.applied.iter_mut().zip(&applied) {
        *slot = *value;
    }
    state.link.stream_position = position;
}

/// Sends what is gathered and waits until the batches are applied; starts the lane if it has work.
pub async fn flush(
    ctx: &Rc<ExecutorCtx>,
    applier: &SharedApplier,
    gate: &Rc<glommio::sync::Semaphore>,
) {
    let Ok(permit) = gate.acquire_permit(1).await else {
        return;
    };
    let (answers, settling) = send_batches(ctx, applier).await;
    drop(permit);
    let start_lane = {
        let mut applier = applier.borrow_mut();
        let idle = !applier.lane_running && !applier.lane.is_empty();
        applier.lane_running |= idle;
        idle
    };
    if start_lane {
        glommio::spawn_local(run_lane(ctx.clone(), applier.clone(), gate.clone())).detach();
    }
    settle(applier, answers, settling).await;
    publish_progress(ctx, applier);
}

/// Runs the transaction lane until it is empty: each round applies everything queued as one
/// transaction (batches gathered before it are sent first, so they apply before it).
async fn run_lane(
    ctx: Rc<ExecutorCtx>,
    applier: SharedApplier,
    gate: Rc<glommio::sync::Semaphore>,
) {
    loop {
        let Ok(permit) = gate.acquire_permit(1).await else {
            return;
        };
        let (answers, settling) = send_batches(&ctx, &applier).await;
        let mut entries: Vec<LaneEntry> = {
            let mut applier = applier.borrow_mut();
            let entries: Vec<LaneEntry> = applier.lane.drain(..).collect();
            if entries.is_empty() {
                applier.lane_running = false;
            }
            entries
        };
        drop(permit);
        if !entries.is_empty() {
            let effects: Vec<Applied> = entries
                .iter()
                .flat_map(|e| e.effects.iter().cloned())
                .collect();
            run_transaction(&ctx, effects).await;
        }
        settle(&applier, answers, settling).await;
        {
            let mut state = applier.borrow_mut();
            for entry in &mut entries {
                state.finish_lane(std::mem::take(&mut entry.members));
            }
            state.wake_owed_acks();
        }
        publish_progress(&ctx, &applier);
        if entries.is_empty() {
            return;
        }
    }
}

/// What one hop of a lane transaction does: commands per shard of ours, or one command applied
/// by lending its keys (`lend.rs`).
enum Step {
    Split(AHashMap<usize, Vec<Op>>),
    Lend(Applied),
}

/// Applies effects on several of our shards at once, under locks on their keys.
async fn run_transaction(ctx: &Rc<ExecutorCtx>, effects: Vec<Applied>) {
    let shards = ctx.shards();
    let everything = effects.iter().any(|effect| effect_keys(effect).is_err());
    let mut locks: BTreeMap<usize, Vec<LockRequest>> = BTreeMap::new();
    let mut steps: Vec<Step> = Vec::new();
    for effect in effects {
        for (shard, lock) in KeyPlan::new(effect.def, &effect.args, effect.db, shards).locks() {
            locks.entry(shard).or_default().push(lock);
        }
        if lend::needs_lending(effect.def, &effect.args, shards) {
            steps.push(Step::Lend(effect));
            continue;
        }
        if !matches!(steps.last(), Some(Step::Split(_))) {
            steps.push(Step::Split(AHashMap::new()));
        }
        if let Some(Step::Split(per_shard)) = steps.last_mut() {
            split_effect(&effect, shards, per_shard);
            for &shard in per_shard.keys() {
                locks.entry(shard).or_default();
            }
        }
    }
    if everything {
        for shard in 0..shards {
            locks.insert(shard, vec![LockRequest::whole_shard()]);
        }
    }
    let mut tx = Transaction::begin(ctx, locks, false).await;
    let last = steps.len().saturating_sub(1);
    for (index, step) in steps.into_iter().enumerate() {
        match step {
            Step::Split(per_shard) => {
                let jobs = per_shard
                    .into_iter()
                    .map(|(shard, ops)| {
                        let job: Work<()> = Box::new(move |s| {
                            for op in ops {
                                if let Op::Command(effect) = op {
                                    s.apply_replicated(effect.db, effect.def, &effect.args);
                                }
                            }
                        });
                        (shard, job)
                    })
                    .collect();
                // The last hop concludes its shards at once (one message fewer per shard than a
                // release after it: the lane's throughput is a damselfly replica's catch-up speed).
                tx.hop(jobs, index == last).await;
            }
            Step::Lend(effect) => {
                lend::apply(&mut tx, shards, effect.db, effect.def, effect.args).await;
            }
        }
    }
    tx.finish().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::wire::Effect;

    fn effect(words: &[&str]) -> Effect {
        // FLUSHALL is a server command: resolving it needs the whole registry.
        crate::install_commands_for_tests();
        (
            0,
            words.iter().map(|w| Bytes::from(w.to_string())).collect(),
        )
    }

    fn journal(txid: u64, parts: u32, effects: Vec<Effect>) -> Item {
        Item::Journal {
            txid,
            parts,
            effects,
        }
    }

    #[test]
    fn parts_of_a_transaction_wait_for_each_other_and_hold_only_conflicting_records() {
        let mut applier = Applier::new(2, 1);
        applier
            .accept(0, journal(7, 2, vec![effect(&["MSET", "a", "1"])]), 10)
            .unwrap();
        // Same key as the waiting part: held. Another key: goes ahead.
        applier
            .accept(0, journal(0, 1, vec![effect(&["SET", "a", "2"])]), 10)
            .unwrap();
        applier
            .accept(0, journal(0, 1, vec![effect(&["SET", "c", "2"])]), 10)
            .unwrap();
        assert!(applier.lane.is_empty());
        assert_eq!(applier.batches[0].len(), 1);
        assert_eq!(applier.flows[0].held.len(), 1);
        assert_eq!(applier.applied(0), 0);
        applier
            .accept(1, journal(7, 2, vec![effect(&["MSET", "b", "1"])]), 5)
            .unwrap();
        // Complete: the transaction joins the lane and the held SET a 2 follows it there.
        assert_eq!(applier.lane.len(), 2);
        assert_eq!(applier.lane[0].effects.len(), 2);
        assert!(applier.flows[0].held.is_empty());
        let entries: Vec<LaneEntry> = applier.lane.drain(..).collect();
        for entry in entries {
            applier.finish_lane(entry.members);
        }
        assert_eq!(applier.applied(1), 5);
        // Flow 0 still waits for its batched SET c to be applied.
        assert_eq!(applier.applied(0), 20);
    }

    #[test]
    fn a_flush_waits_for_everything_before_it() {
        let mut applier = Applier::new(1, 2);
        applier
            .accept(0, journal(0, 1, vec![effect(&["FLUSHALL"])]), 4)
            .unwrap();
        assert_eq!(applier.lane.len(), 1);
        applier
            .accept(0, journal(0, 1, vec![effect(&["SET", "x", "1"])]), 4)
            .unwrap();
        assert_eq!(applier.lane.len(), 2);
        assert_eq!(applier.applied(0), 0);
    }

    #[test]
    fn effects_split_by_key_across_our_shards() {
        let mut out = AHashMap::new();
        let args: Vec<Bytes> = ["MSET", "a", "1", "b", "2", "c", "3", "d", "4"]
            .iter()
            .map(|w| Bytes::from(w.to_string()))
            .collect();
        let effect = Applied::resolve((0, args)).unwrap();
        split_effect(&effect, 2, &mut out);
        let mut keys: Vec<(usize, Bytes)> = Vec::new();
        for (&shard, ops) in &out {
            for op in ops {
                let Op::Command(part) = op else { continue };
                assert_eq!(part.def.name, "mset");
                assert!(part.args.len() > 1);
                for pair in part.args[1..].chunks(2) {
                    assert_eq!(shard_of(&pair[0], 2), shard, "{:?} on its owner", pair[0]);
                    keys.push((shard, pair[0].clone()));
                }
            }
        }
        assert_eq!(keys.len(), 4, "every pair lands once: {keys:?}");
    }
}
