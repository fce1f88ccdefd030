//! What the jobs of a command spanning shards do to one shard's data: values moved between keys,
//! entries lent to the shard that runs a command and given back, cross-shard BITOP's result. Reads
//! see the shard's clock (a key they find expired is deleted, and journaled after the job as any
//! lazy expiry); writes make their own journal records, so no job writes `dbs` and patches the
//! journal itself.

use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;
use damselfly_storage::{restore_commands, store_bitop, Entry};

/// Keys with their entries (None: absent), lent from the shards that own them.
pub type Lent = Vec<(Bytes, Option<Entry>)>;

/// Whose command runs on lent keys: a client's (the shard's clock, journaled), or one a replica
/// applies from its primary (no clock: nothing counts as expired; nothing journaled).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    Client,
    Replica,
}

impl Shard {
    /// Copies of `keys`' entries, to lend to the shard that runs a command over them.
    pub fn lend(&mut self, db: usize, keys: Vec<Bytes>, origin: Origin) -> Lent {
        let now = match origin {
            Origin::Client => self.clock(),
            Origin::Replica => 0,
        };
        let Some(db) = self.dbs.get_mut(db) else {
            return Vec::new();
        };
        keys.into_iter()
            .map(|key| {
                let entry = db.get_entry(&key, now);
                (key, entry)
            })
            .collect()
    }

    /// Runs a command with `borrowed` entries in place (journaling its effects here, as if they
    /// were this shard's keys), then removes them again: the reply, and the final entries of the
    /// keys of `give_back` (those it may write) that it did write. A key it left alone is not given
    /// back, so its owner does not see a write (WATCH) that never happened.
    pub fn run_with_borrowed(
        &mut self,
        db: usize,
        def: &'static CommandDef,
        args: &[Bytes],
        borrowed: Lent,
        give_back: &[Bytes],
        origin: Origin,
    ) -> (Frame, Lent) {
        if db >= self.dbs.len() {
            return (
                Frame::error(damselfly_protocol::errors::DB_OUT_OF_RANGE),
                Vec::new(),
            );
        }
        let keys: Vec<Bytes> = borrowed.iter().map(|(key, _)| key.clone()).collect();
        for (key, entry) in borrowed {
            if let Some(entry) = entry {
                self.dbs[db].put(key, entry);
            }
        }
        // These keys belong to other shards, so nobody here waits on them: their notes are ours.
        for key in give_back {
            self.dbs[db].add_interest(key.clone());
        }
        let reply = match origin {
            Origin::Client => self.run_command(db, def, args),
            Origin::Replica => {
                self.apply_replicated(db, def, args);
                Frame::OK
            }
        };
        let written = self.dbs[db].take_touched_of(give_back);
        for key in give_back {
            self.dbs[db].remove_interest(key);
        }
        let mut returned = Vec::with_capacity(written.len());
        for key in keys {
            let entry = self.dbs[db].extract(&key);
            if written.contains(&key) {
                returned.push((key, entry));
            }
        }
        (reply, returned)
    }

    /// The entry of a move's source (RENAME, COPY across shards).
    pub fn entry_to_move(&mut self, db: usize, key: &Bytes) -> Option<Entry> {
        let now = self.clock();
        self.dbs[db].get_entry(key, now)
    }

    /// How many of `keys` exist (MSETNX's check, a move's destination).
    pub fn count_existing(&mut self, db: usize, keys: &[Bytes]) -> usize {
        let now = self.clock();
        keys.iter()
            .filter(|key| self.dbs[db].contains(key, now))
            .count()
    }

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
        let now = self.clock();
        let taken = self.dbs[db].take(&key, now);
        self.record((db, vec![Bytes::from_static(b"DEL"), key]));
        taken
    }

    /// Stores cross-shard BITOP's result at `dest` (deleted when empty), journaled as the
    /// destination's state.
    pub fn put_bitop_result(&mut self, db: usize, dest: &Bytes, result: Vec<u8>) {
        let now = self.clock();
        if let Some(effect) = store_bitop(&mut self.dbs[db], dest, result, now) {
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
