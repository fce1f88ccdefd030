//! The writes that jobs from other shards make to a shard's data (values moved between keys,
//! cross-shard BITOP's result, entries lent and given back), each with its journal record, so no
//! job writes `dbs` and patches the journal itself.

use crate::shard::{now_ms, Shard};
use bytes::Bytes;
use damselfly_storage::{restore_commands, store_bitop, Entry};

impl Shard {
    /// Writes a value that came from another key (RENAME, COPY across shards), journaled as the
    /// commands that recreate it.
    pub fn put_moved(&mut self, db: usize, key: Bytes, entry: Entry) {
        let effects = restore_commands(&key, entry.value(), entry.expire_at().unwrap_or(0));
        self.dbs[db].put(key, entry);
        for effect in effects {
            self.record((db, effect));
        }
    }

    /// Deletes the source of a move, journaled as a DEL; returns its entry.
    pub fn take_moved(&mut self, db: usize, key: Bytes) -> Option<Entry> {
        let taken = self.dbs[db].take(&key, now_ms());
        self.record((db, vec![Bytes::from_static(b"DEL"), key]));
        taken
    }

    /// Stores cross-shard BITOP's result at `dest` (deleted when empty), journaled as the
    /// destination's state.
    pub fn put_bitop_result(&mut self, db: usize, dest: &Bytes, result: Vec<u8>) {
        if let Some(effect) = store_bitop(&mut self.dbs[db], dest, result, now_ms()) {
            self.record((db, effect));
        }
    }

    /// Gives back a lent key's final entry (None: the command deleted it). Not journaled: the
    /// shard that ran the command journaled its effects.
    pub fn return_lent(&mut self, db: usize, key: Bytes, entry: Option<Entry>) {
        match entry {
            Some(entry) => self.dbs[db].put(key, entry),
            None => {
                self.dbs[db].extract(&key);
            }
        }
    }
}
