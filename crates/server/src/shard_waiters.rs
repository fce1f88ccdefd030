//! The shard's side of WATCH and blocked clients: registering and dropping them, and after
//! commands run, marking watchers' transactions dirty and waking the blocked clients.

use crate::shard::Shard;
use crate::waiters::WatchFlag;
use bytes::Bytes;
use damselfly_storage::Db;
use std::sync::atomic::Ordering;
use std::sync::Arc;

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
