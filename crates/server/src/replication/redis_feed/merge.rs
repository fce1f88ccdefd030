//! Puts the records of every shard's journal into one serial order, as a single-threaded primary
//! would have run them: what a redis-server replica needs.
//!
//! Each shard's records arrive in the order the shard applied them. A record that stands alone is
//! emitted at once. The parts of a multi-shard transaction (one per shard, each in its shard's
//! order) are gathered and emitted together, as one unit, when the last part arrives. While a part
//! waits for the others, later records of its shard that touch its keys wait behind it (they ran
//! after it); records that touch other keys go ahead, since they commute with it. Two transactions
//! on the same pair of shards over disjoint keys may reach the shards in opposite orders: neither
//! waits for the other, so the merge never deadlocks. The same rule drives the replica's applier.

use super::super::applied::{KeySet, Keys};
use crate::journal::wire::Effect;
use ahash::AHashMap;
use damselfly_storage::spec::Spread;
use std::collections::{BTreeSet, VecDeque};

/// What the merged stream carries next: one command, or the effects of one transaction.
pub struct Unit {
    pub effects: Vec<Effect>,
}

struct Record {
    shard: usize,
    /// Offset of the record's first byte in its shard's journal.
    start: u64,
    txid: u64,
    parts: u32,
    effects: Vec<Effect>,
    keys: Keys,
}

/// The keys a record's effects touch (their key specs say where); everything for a command that
/// writes whole shards (FLUSHALL, FLUSHDB) or one this server does not know.
fn keys_of(effects: &[Effect]) -> Keys {
    let mut all = Vec::new();
    for (db, args) in effects {
        match crate::spec::resolve(args) {
            Ok(def) if !matches!(def.spread, Spread::EveryShard { .. }) => all.extend(
                def.key_positions(args)
                    .filter_map(|position| args.get(position))
                    .map(|key| (*db, key.clone())),
            ),
            _ => return Keys::Everything,
        }
    }
    Keys::Some(all)
}

fn runs_everywhere((_, args): &Effect) -> bool {
    crate::spec::resolve(args).is_ok_and(|def| matches!(def.spread, Spread::EveryShard { .. }))
}

#[derive(Default)]
struct ShardState {
    /// Journal offset just past the last record taken in.
    consumed: u64,
    /// Records waiting behind a part of an incomplete transaction, in journal order.
    held: VecDeque<Record>,
    held_keys: KeySet,
    /// Keys of this shard's parts of transactions still missing other parts.
    pending_keys: KeySet,
    /// Start offsets of records taken in but not emitted yet.
    unemitted: BTreeSet<u64>,
}

pub struct Merger {
    shards: Vec<ShardState>,
    /// Parts of transactions still missing others, by transaction id.
    pending: AHashMap<u64, Vec<Record>>,
    out: Vec<Unit>,
}

impl Merger {
    /// A merger whose shard `s` continues from journal offset `starts[s]`.
    pub fn new(starts: &[u64]) -> Merger {
        Merger {
            shards: starts
                .iter()
                .map(|&consumed| ShardState {
                    consumed,
                    ..ShardState::default()
                })
                .collect(),
            pending: AHashMap::new(),
            out: Vec::new(),
        }
    }

    /// Shard `shard`'s records start at journal offset `offset` (before any arrives).
    pub fn set_start(&mut self, shard: usize, offset: u64) {
        if let Some(state) = self.shards.get_mut(shard) {
            state.consumed = offset;
        }
    }

    /// Whether a record of `shard` that is part of `parts` goes out at once, in journal order: it
    /// stands alone and nothing of its shard waits. This common case needs no key lookup.
    pub fn passes_at_once(&self, shard: usize, parts: u32) -> bool {
        self.shards.get(shard).is_some_and(|state| {
            parts <= 1 && state.held.is_empty() && state.pending_keys.is_empty()
        })
    }

    /// A record that passed at once (`passes_at_once`) was sent by the caller.
    pub fn passed(&mut self, shard: usize, length: u64) {
        if let Some(state) = self.shards.get_mut(shard) {
            state.consumed += length;
        }
    }

    /// Takes in one journal record of `shard`, `length` bytes long in its journal.
    pub fn accept(
        &mut self,
        shard: usize,
        txid: u64,
        parts: u32,
        effects: Vec<Effect>,
        length: u64,
    ) {
        if self.passes_at_once(shard, parts) {
            self.passed(shard, length);
            if !effects.is_empty() {
                self.out.push(Unit { effects });
            }
            return;
        }
        let Some(state) = self.shards.get_mut(shard) else {
            return;
        };
        let record = Record {
            shard,
            start: state.consumed,
            txid,
            parts,
            keys: keys_of(&effects),
            effects,
        };
        state.consumed += length;
        state.unemitted.insert(record.start);
        self.hold_or_pass(record);
    }

    /// The units ready to go out, in order.
    pub fn take_units(&mut self) -> Vec<Unit> {
        std::mem::take(&mut self.out)
    }

    /// Per shard, the journal offset before which every record has been emitted: what a replica
    /// that has everything emitted so far holds of each shard.
    pub fn emitted_offsets(&self) -> Vec<u64> {
        self.shards
            .iter()
            .map(|s| s.unemitted.first().copied().unwrap_or(s.consumed))
            .collect()
    }

    /// Nothing is waiting: every record taken in has been emitted.
    pub fn is_drained(&self) -> bool {
        self.pending.is_empty() && self.shards.iter().all(|s| s.unemitted.is_empty())
    }

    fn hold_or_pass(&mut self, record: Record) {
        let state = &mut self.shards[record.shard];
        if state.held_keys.conflicts(&record.keys) || state.pending_keys.conflicts(&record.keys) {
            state.held_keys.add(&record.keys);
            state.held.push_back(record);
        } else {
            self.pass(record);
        }
    }

    fn pass(&mut self, record: Record) {
        if record.parts <= 1 {
            self.shards[record.shard].unemitted.remove(&record.start);
            if !record.effects.is_empty() {
                self.out.push(Unit {
                    effects: record.effects,
                });
            }
            return;
        }
        self.shards[record.shard].pending_keys.add(&record.keys);
        let (txid, parts) = (record.txid, record.parts);
        let gathered = self.pending.entry(txid).or_default();
        gathered.push(record);
        if gathered.len() as u32 >= parts {
            if let Some(complete) = self.pending.remove(&txid) {
                self.complete(complete);
            }
        }
    }

    /// Every part of a transaction is here: it goes out, and what its parts held back moves on.
    fn complete(&mut self, mut parts: Vec<Record>) {
        parts.sort_by_key(|part| part.shard);
        let mut shards = Vec::with_capacity(parts.len());
        for part in &parts {
            let state = &mut self.shards[part.shard];
            state.pending_keys.remove(&part.keys);
            state.unemitted.remove(&part.start);
            shards.push(part.shard);
        }
        let effects = interleave(parts.into_iter().map(|part| part.effects).collect());
        if !effects.is_empty() {
            self.out.push(Unit { effects });
        }
        for shard in shards {
            let held = std::mem::take(&mut self.shards[shard].held);
            self.shards[shard].held_keys = KeySet::default();
            for record in held {
                self.hold_or_pass(record);
            }
        }
    }
}

/// One transaction's effects from its parts (in shard order). Every part carries the commands that
/// ran on every shard (FLUSHDB, FLUSHALL) at the same places: each goes out once, and what each
/// part did between two of them stays between them.
fn interleave(parts: Vec<Vec<Effect>>) -> Vec<Effect> {
    let everywhere = runs_everywhere;
    let counts: Vec<usize> = parts
        .iter()
        .map(|effects| effects.iter().filter(|e| everywhere(e)).count())
        .collect();
    if counts.iter().all(|&count| count == 0) || counts.windows(2).any(|w| w[0] != w[1]) {
        return parts.into_iter().flatten().collect();
    }
    let mut segments: Vec<std::vec::IntoIter<Effect>> =
        parts.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let mut barrier = None;
        for (index, segment) in segments.iter_mut().enumerate() {
            for effect in segment.by_ref() {
                if everywhere(&effect) {
                    if index == 0 {
                        barrier = Some(effect);
                    }
                    break;
                }
                out.push(effect);
            }
        }
        match barrier {
            Some(effect) => out.push(effect),
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn effect(words: &str) -> Effect {
        crate::install_commands_for_tests();
        let args = words
            .split(' ')
            .map(|w| Bytes::from(w.to_string()))
            .collect();
        (0, args)
    }

    fn words(units: &[Unit]) -> Vec<Vec<String>> {
        units
            .iter()
            .map(|unit| {
                unit.effects
                    .iter()
                    .map(|(_, args)| {
                        args.iter()
                            .map(|a| String::from_utf8_lossy(a).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn standalone_records_pass_at_once() {
        let mut merger = Merger::new(&[0, 100]);
        merger.accept(1, 0, 1, vec![effect("SET b 1")], 10);
        merger.accept(0, 0, 1, vec![effect("SET a 1")], 10);
        assert_eq!(words(&merger.take_units()), [["SET b 1"], ["SET a 1"]]);
        assert_eq!(merger.emitted_offsets(), [10, 110]);
        assert!(merger.is_drained());
    }

    #[test]
    fn a_transaction_goes_out_whole_and_holds_back_what_touches_its_keys() {
        let mut merger = Merger::new(&[0, 0]);
        merger.accept(0, 7, 2, vec![effect("SET a 1")], 10);
        merger.accept(0, 0, 1, vec![effect("SET a 2")], 10);
        merger.accept(0, 0, 1, vec![effect("SET c 1")], 10);
        assert_eq!(words(&merger.take_units()), [["SET c 1"]]);
        assert_eq!(merger.emitted_offsets(), [0, 0]);
        merger.accept(1, 7, 2, vec![effect("SET b 1")], 10);
        assert_eq!(
            words(&merger.take_units()),
            vec![vec!["SET a 1", "SET b 1"], vec!["SET a 2"]]
        );
        assert_eq!(merger.emitted_offsets(), [30, 10]);
        assert!(merger.is_drained());
    }

    #[test]
    fn crossed_transactions_over_disjoint_keys_do_not_wait_for_each_other() {
        let mut merger = Merger::new(&[0, 0]);
        merger.accept(0, 1, 2, vec![effect("SET a 1")], 10);
        merger.accept(1, 2, 2, vec![effect("SET b 2")], 10);
        merger.accept(0, 2, 2, vec![effect("SET c 2")], 10);
        merger.accept(1, 1, 2, vec![effect("SET d 1")], 10);
        assert_eq!(
            words(&merger.take_units()),
            vec![vec!["SET c 2", "SET b 2"], vec!["SET a 1", "SET d 1"]]
        );
        assert!(merger.is_drained());
    }

    #[test]
    fn a_flush_in_a_transaction_goes_out_once_in_its_place() {
        let mut merger = Merger::new(&[0, 0]);
        merger.accept(
            0,
            3,
            2,
            vec![effect("SET a 1"), effect("FLUSHALL"), effect("SET c 1")],
            10,
        );
        merger.accept(1, 3, 2, vec![effect("SET b 1"), effect("FLUSHALL")], 10);
        assert_eq!(
            words(&merger.take_units()),
            vec![vec!["SET a 1", "SET b 1", "FLUSHALL", "SET c 1"]]
        );
    }

    /// Random histories: transactions over random keys run in one global order, each shard sees
    /// its projection (one record per shard it touches), and the shards' records reach the merger
    /// interleaved at random. Whatever the interleaving, every key's writes come out in the
    /// order they ran, and every transaction comes out whole.
    #[test]
    fn any_interleaving_keeps_every_key_in_order() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let shards = 3;
        for _ in 0..200 {
            // (shard, txid, parts, [(key, value)]) per shard, in each shard's order.
            let mut per_shard: Vec<VecDeque<(u64, u32, Vec<(u64, u64)>)>> =
                (0..shards).map(|_| VecDeque::new()).collect();
            let mut history: AHashMap<u64, Vec<u64>> = AHashMap::new();
            for value in 0..40u64 {
                let keys: BTreeSet<u64> = (0..1 + next(3)).map(|_| next(8)).collect();
                let mut by_shard: std::collections::BTreeMap<usize, Vec<(u64, u64)>> =
                    Default::default();
                for &key in &keys {
                    by_shard
                        .entry((key % shards as u64) as usize)
                        .or_default()
                        .push((key, value));
                    history.entry(key).or_default().push(value);
                }
                let parts = by_shard.len() as u32;
                let txid = if parts > 1 { value + 1 } else { 0 };
                for (shard, writes) in by_shard {
                    per_shard[shard].push_back((txid, parts, writes));
                }
            }
            let mut merger = Merger::new(&[0; 3]);
            let mut out: AHashMap<u64, Vec<u64>> = AHashMap::new();
            let mut transactions = 0;
            while per_shard.iter().any(|q| !q.is_empty()) {
                let shard = next(shards as u64) as usize;
                let Some((txid, parts, writes)) = per_shard[shard].pop_front() else {
                    continue;
                };
                let effects = writes
                    .iter()
                    .map(|(k, v)| effect(&format!("SET k{k} {v}")))
                    .collect();
                merger.accept(shard, txid, parts, effects, 10);
                for unit in merger.take_units() {
                    let values: BTreeSet<&[u8]> =
                        unit.effects.iter().map(|(_, args)| &args[2][..]).collect();
                    assert_eq!(values.len(), 1, "a unit is one transaction");
                    transactions += 1;
                    for (_, args) in &unit.effects {
                        let key = String::from_utf8_lossy(&args[1])[1..].parse().unwrap();
                        let value = String::from_utf8_lossy(&args[2]).parse().unwrap();
                        out.entry(key).or_default().push(value);
                    }
                }
            }
            assert!(merger.is_drained());
            assert_eq!(transactions, 40);
            assert_eq!(out, history);
        }
    }
}
