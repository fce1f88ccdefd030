//! A point-in-time snapshot of one db taken without copying it: a cursor walks the slots in
//! order, and a slot that is about to change before the cursor reaches it is saved first
//! ("serialize before mutate"). Keys created after the start are left to the journal.

use crate::keyspace::{Db, Slot};
use crate::value::Value;
use bytes::Bytes;

/// A key's contents as they were when the snapshot began.
#[derive(Debug, Clone)]
pub struct PreImage {
    pub key: Bytes,
    pub value: Value,
    /// Absolute expiry in unix ms, 0 for none.
    pub expire_at: u64,
}

impl PreImage {
    pub(crate) fn of(slot: &Slot) -> PreImage {
        PreImage {
            key: Bytes::copy_from_slice(slot.key.as_slice()),
            value: slot.value.clone(),
            expire_at: slot.expire_at,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Snapshot {
    /// One bit per slot below `end`: saved already, or not part of the snapshot.
    done: Vec<u64>,
    cursor: u32,
    /// Slots at or past this position did not exist when the snapshot began.
    end: u32,
    /// Old contents saved by writes, waiting for the caller to collect them.
    pub preimages: Vec<PreImage>,
}

impl Snapshot {
    fn new(end: u32) -> Snapshot {
        Snapshot {
            done: vec![0; (end as usize).div_ceil(64)],
            cursor: 0,
            end,
            preimages: Vec::new(),
        }
    }

    /// Whether slot `id` still belongs to the snapshot and has not been saved.
    #[inline]
    pub fn needs(&self, id: u32) -> bool {
        id >= self.cursor && id < self.end && self.done[(id / 64) as usize] & (1 << (id % 64)) == 0
    }

    #[inline]
    pub fn mark(&mut self, id: u32) {
        if id < self.end {
            self.done[(id / 64) as usize] |= 1 << (id % 64);
        }
    }

    /// The db was emptied: nothing is left to save.
    pub fn finish_early(&mut self) {
        self.cursor = self.end;
    }
}

impl Db {
    /// Begins a snapshot of the db as it is now (replacing any unfinished one).
    pub fn start_snapshot(&mut self) {
        self.snapshot = Some(Box::new(Snapshot::new(self.slots_len)));
    }

    pub fn snapshot_active(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Abandons the snapshot in progress.
    pub fn stop_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// The old contents saved by writes since the last call; they must be sent before the
    /// journal records of those writes.
    pub fn take_preimages(&mut self) -> Vec<PreImage> {
        match self.snapshot.as_mut() {
            Some(snapshot) if !snapshot.preimages.is_empty() => {
                std::mem::take(&mut snapshot.preimages)
            }
            _ => Vec::new(),
        }
    }

    /// Advances the snapshot by up to `max_slots` slots, appending the keys it saves to `out`.
    /// Returns true once the whole db has been saved (the snapshot then ends; collect the last
    /// pre-images first).
    pub fn snapshot_step(&mut self, max_slots: u32, out: &mut Vec<PreImage>) -> bool {
        let Db {
            snapshot, chunks, ..
        } = self;
        let Some(snapshot) = snapshot.as_mut() else {
            return true;
        };
        out.append(&mut snapshot.preimages);
        let stop = snapshot.end.min(snapshot.cursor.saturating_add(max_slots));
        while snapshot.cursor < stop {
            let id = snapshot.cursor;
            if snapshot.needs(id) {
                if let Some(slot) = crate::keyspace::slot_ref(chunks, id) {
                    out.push(PreImage::of(slot));
                }
            }
            snapshot.cursor += 1;
        }
        let finished = snapshot.cursor >= snapshot.end;
        if finished {
            self.snapshot = None;
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn contents(db: &Db) -> BTreeMap<Vec<u8>, Value> {
        let mut all = BTreeMap::new();
        for id in 0..db.slots_len {
            if let Some(slot) = db.slot_at(id) {
                all.insert(slot.key.as_slice().to_vec(), slot.value.clone());
            }
        }
        all
    }

    /// Writes interleaved with snapshot steps never change what the snapshot saves: it equals
    /// the db at the start, each key exactly once.
    #[test]
    fn snapshot_is_point_in_time_under_writes() {
        let mut db = Db::new();
        for i in 0..5000u32 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i.into()), 0, 0);
        }
        let before = contents(&db);
        db.start_snapshot();
        let mut saved = Vec::new();
        let mut round = 0u32;
        loop {
            // Overwrite, delete and create keys ahead of and behind the cursor.
            for j in 0..7u32 {
                let n = (round * 7919 + j * 613) % 6000;
                let key = format!("k{n}");
                match j % 3 {
                    0 => {
                        db.set_key(key.as_bytes(), Value::Int(-1), false, 0);
                    }
                    1 => {
                        db.delete(key.as_bytes());
                    }
                    _ => {
                        db.set_key(
                            format!("new{round}-{j}").as_bytes(),
                            Value::Int(7),
                            false,
                            0,
                        );
                    }
                }
            }
            round += 1;
            if db.snapshot_step(97, &mut saved) {
                break;
            }
        }
        saved.append(&mut db.take_preimages());
        let mut seen = BTreeMap::new();
        for image in saved {
            assert!(
                seen.insert(image.key.to_vec(), image.value).is_none(),
                "saved twice"
            );
        }
        assert_eq!(seen, before);
        db.check_invariants();
    }

    #[test]
    fn clearing_ends_the_snapshot() {
        let mut db = Db::new();
        for i in 0..100u32 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i.into()), 0, 0);
        }
        db.start_snapshot();
        let mut saved = Vec::new();
        db.clear();
        assert!(db.snapshot_step(10, &mut saved));
        assert!(saved.is_empty());
    }
}
