//! Who waits on which keys of this shard: connections that WATCH them and clients blocked on
//! them. The dbs note writes to these keys; after commands run, the shard marks the watchers'
//! transactions dirty and serves the blocked clients (`crate::blocking`).

use crate::blocking::Blocked;
use crate::shard::Shard;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_storage::Db;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A connection's WATCH: set once any watched key is written.
pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default)]
pub struct Waiters {
    watchers: AHashMap<(usize, Bytes), Vec<WatchFlag>>,
    pub(crate) blocked: AHashMap<(usize, Bytes), VecDeque<Blocked>>,
    /// Blocked keys written since they were last served.
    pub(crate) ready: Vec<(usize, Bytes)>,
}

impl Waiters {
    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty() && self.blocked.is_empty()
    }

    /// Whether anyone still waits on `key` (the db keeps noting its writes while so).
    pub(crate) fn interested(&self, db: usize, key: &Bytes) -> bool {
        let id = (db, key.clone());
        self.watchers.contains_key(&id) || self.blocked.contains_key(&id)
    }
}

impl Shard {
    /// WATCH: `flag` is set when `key` is written. Returns the key's expiry (0: none) as of now,
    /// so EXEC can tell that it expired meanwhile.
    pub fn watch(&mut self, db: usize, key: Bytes, flag: WatchFlag, now_ms: u64) -> u64 {
        // A key already expired is reclaimed now: its later lazy deletion is not a change (Redis
        // ignores it), while re-creating it is.
        self.dbs[db].contains(&key, now_ms);
        let expire_at = self.dbs[db].peek_expire(&key, now_ms).unwrap_or(0);
        self.dbs[db].add_interest(key.clone());
        self.waiters
            .watchers
            .entry((db, key))
            .or_default()
            .push(flag);
        expire_at
    }

    /// Forgets a connection's WATCH of `key`.
    pub fn unwatch(&mut self, db: usize, key: Bytes, flag: &WatchFlag) {
        let id = (db, key);
        if let Some(flags) = self.waiters.watchers.get_mut(&id) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.waiters.watchers.remove(&id);
            }
        }
        self.drop_interest_if_unwatched(id.0, &id.1);
    }

    pub(crate) fn drop_interest_if_unwatched(&mut self, db: usize, key: &Bytes) {
        if !self.waiters.interested(db, key) {
            self.dbs[db].remove_interest(key);
        }
    }

    /// After commands ran: marks the transactions watching written keys dirty and serves the
    /// clients blocked on them.
    #[inline]
    pub fn after_writes(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let mut rounds = 0;
        while self.dbs.iter().any(Db::has_touched) || !self.waiters.ready.is_empty() {
            // Serving pops may write keys others wait on: go on until nothing changes, bounded in
            // case a key stays locked.
            rounds += 1;
            if rounds > 16 {
                return;
            }
            self.note_touched();
            let waiting = self.waiters.ready.len();
            self.serve_ready();
            if self.waiters.ready.len() == waiting && !self.dbs.iter().any(Db::has_touched) {
                return;
            }
        }
    }

    /// Collects the written keys: watchers' transactions become dirty, blocked keys ready.
    fn note_touched(&mut self) {
        for db in 0..self.dbs.len() {
            if !self.dbs[db].has_touched() {
                continue;
            }
            for key in self.dbs[db].take_touched() {
                let id = (db, key);
                if let Some(flags) = self.waiters.watchers.remove(&id) {
                    for flag in flags {
                        flag.store(true, Ordering::Release);
                    }
                }
                if self.waiters.blocked.contains_key(&id) {
                    self.waiters.ready.push(id.clone());
                }
                self.drop_interest_if_unwatched(id.0, &id.1);
            }
        }
    }
}
