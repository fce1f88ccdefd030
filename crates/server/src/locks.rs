//! Per-shard intent locks: counts of scheduled transactions that will read or write each key, plus a
//! lock on the whole shard (FLUSHALL, the replication sync cut) that conflicts with every other.

use ahash::AHashMap;
use bytes::Bytes;

/// A key a transaction will touch on one shard, and whether it writes it.
#[derive(Debug, Clone)]
pub struct LockRequest {
    pub db: usize,
    pub key: Bytes,
    pub exclusive: bool,
}

/// The `db` of a request that locks the whole shard.
const WHOLE_SHARD: usize = usize::MAX;

impl LockRequest {
    /// A lock on every key of every db of the shard.
    pub fn whole_shard() -> LockRequest {
        LockRequest {
            db: WHOLE_SHARD,
            key: Bytes::new(),
            exclusive: true,
        }
    }

    pub fn is_whole_shard(&self) -> bool {
        self.db == WHOLE_SHARD
    }
}

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    shared: u32,
    exclusive: u32,
}

/// Locks per database, then per key; empty maps are removed so `is_empty` is the fast-path check.
#[derive(Default)]
pub struct IntentLocks {
    held: AHashMap<usize, AHashMap<Bytes, Counts>>,
    /// Scheduled transactions that lock the whole shard.
    whole: u32,
}

impl IntentLocks {
    pub fn is_empty(&self) -> bool {
        self.held.is_empty() && self.whole == 0
    }

    /// Whether touching `key` (writing it when `exclusive`) would conflict with a held lock.
    pub fn conflicts(&self, db: usize, key: &[u8], exclusive: bool) -> bool {
        if self.whole > 0 {
            return true;
        }
        if self.held.is_empty() {
            return false;
        }
        match self.held.get(&db).and_then(|keys| keys.get(key)) {
            None => false,
            Some(counts) => counts.exclusive > 0 || (exclusive && counts.shared > 0),
        }
    }

    pub fn any_conflict(&self, requests: &[LockRequest]) -> bool {
        requests.iter().any(|r| {
            if r.is_whole_shard() {
                !self.is_empty()
            } else {
                self.conflicts(r.db, &r.key, r.exclusive)
            }
        })
    }

    pub fn acquire(&mut self, requests: &[LockRequest]) {
        for request in requests {
            if request.is_whole_shard() {
                self.whole += 1;
                continue;
            }
            let counts = self
                .held
                .entry(request.db)
                .or_default()
                .entry(request.key.clone())
                .or_default();
            if request.exclusive {
                counts.exclusive += 1;
            } else {
                counts.shared += 1;
            }
        }
    }

    pub fn release(&mut self, requests: &[LockRequest]) {
        for request in requests {
            if request.is_whole_shard() {
                self.whole = self.whole.saturating_sub(1);
                continue;
            }
            let Some(keys) = self.held.get_mut(&request.db) else {
                continue;
            };
            if let Some(counts) = keys.get_mut(&request.key) {
                if request.exclusive {
                    counts.exclusive = counts.exclusive.saturating_sub(1);
                } else {
                    counts.shared = counts.shared.saturating_sub(1);
                }
                if counts.exclusive == 0 && counts.shared == 0 {
                    keys.remove(&request.key);
                }
            }
            if keys.is_empty() {
                self.held.remove(&request.db);
            }
        }
    }
}

/// The largest transaction id accepted so far for each group of keys (keys hashed into buckets), so a shard can
/// refuse a transaction that arrives after a younger conflicting one was accepted, even if that one has
/// already finished and released its locks. Buckets make it bounded and conservative: a collision only costs
/// a retry.
pub struct OrderStamps {
    hasher: ahash::RandomState,
    /// Per bucket: (largest id that wrote, largest id that read).
    buckets: Vec<(u64, u64)>,
    /// Largest id accepted with a whole-shard lock (it wrote every bucket).
    whole: u64,
    /// Largest id accepted at all (it touched some bucket).
    newest: u64,
}

const STAMP_BUCKETS: usize = 4096;

impl Default for OrderStamps {
    fn default() -> OrderStamps {
        OrderStamps {
            hasher: ahash::RandomState::new(),
            buckets: vec![(0, 0); STAMP_BUCKETS],
            whole: 0,
            newest: 0,
        }
    }
}

impl OrderStamps {
    fn bucket(&self, request: &LockRequest) -> usize {
        (self.hasher.hash_one((request.db, &request.key[..])) as usize) % STAMP_BUCKETS
    }

    /// Whether a younger transaction touching these keys in a conflicting way was already accepted.
    pub fn younger_conflict(&self, txid: u64, requests: &[LockRequest]) -> bool {
        if self.whole > txid {
            return true;
        }
        requests.iter().any(|request| {
            if request.is_whole_shard() {
                return self.newest > txid;
            }
            let (write, read) = self.buckets[self.bucket(request)];
            write > txid || (request.exclusive && read > txid)
        })
    }

    pub fn stamp(&mut self, txid: u64, requests: &[LockRequest]) {
        for request in requests {
            self.newest = self.newest.max(txid);
            if request.is_whole_shard() {
                self.whole = self.whole.max(txid);
                continue;
            }
            let bucket = self.bucket(request);
            let (write, read) = &mut self.buckets[bucket];
            let slot = if request.exclusive { write } else { read };
            *slot = (*slot).max(txid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &'static str, exclusive: bool) -> LockRequest {
        LockRequest {
            db: 0,
            key: Bytes::from_static(key.as_bytes()),
            exclusive,
        }
    }

    #[test]
    fn shared_locks_admit_readers_but_not_writers() {
        let mut locks = IntentLocks::default();
        locks.acquire(&[request("a", false)]);
        assert!(!locks.conflicts(0, b"a", false));
        assert!(locks.conflicts(0, b"a", true));
        assert!(!locks.conflicts(1, b"a", true));
        locks.release(&[request("a", false)]);
        assert!(locks.is_empty());
    }

    #[test]
    fn exclusive_locks_block_everyone() {
        let mut locks = IntentLocks::default();
        locks.acquire(&[request("a", true)]);
        assert!(locks.conflicts(0, b"a", false));
        assert!(locks.any_conflict(&[request("b", true), request("a", false)]));
        locks.release(&[request("a", true)]);
        assert!(!locks.conflicts(0, b"a", true));
    }

    #[test]
    fn an_older_writer_after_a_younger_reader_or_writer_is_refused() {
        let mut stamps = OrderStamps::default();
        stamps.stamp(10, &[request("a", false)]);
        assert!(stamps.younger_conflict(5, &[request("a", true)]));
        assert!(!stamps.younger_conflict(5, &[request("a", false)]));
        assert!(!stamps.younger_conflict(11, &[request("a", true)]));
        stamps.stamp(20, &[request("a", true)]);
        assert!(stamps.younger_conflict(15, &[request("a", false)]));
    }

    #[test]
    fn a_whole_shard_lock_conflicts_with_everything_and_orders_by_id() {
        let mut locks = IntentLocks::default();
        locks.acquire(&[LockRequest::whole_shard()]);
        assert!(!locks.is_empty());
        assert!(locks.conflicts(3, b"anything", false));
        locks.release(&[LockRequest::whole_shard()]);
        assert!(locks.is_empty());
        locks.acquire(&[request("a", false)]);
        assert!(locks.any_conflict(&[LockRequest::whole_shard()]));

        let mut stamps = OrderStamps::default();
        stamps.stamp(10, &[request("a", false)]);
        assert!(stamps.younger_conflict(5, &[LockRequest::whole_shard()]));
        assert!(!stamps.younger_conflict(11, &[LockRequest::whole_shard()]));
        stamps.stamp(30, &[LockRequest::whole_shard()]);
        assert!(stamps.younger_conflict(25, &[request("zzz", false)]));
    }
}
