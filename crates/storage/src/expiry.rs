//! Active expiry (random sampling of keys with a TTL) and RANDOMKEY.

use crate::keyspace::Db;
use bytes::Bytes;

/// Random probes of the slab before RANDOMKEY falls back to walking it from a random point.
const RANDOM_PROBES: usize = 32;

impl Db {
    /// One bounded step of active expiry: examines at most `max_checks` keys that have a TTL
    /// (all of them when there are no more than that, random samples otherwise), deletes the
    /// expired ones and returns how many it deleted. These are not added to
    /// `take_expired_count`: the caller counts them.
    ///
    /// Each call also advances an incremental index resize in progress, the way Redis's cron
    /// rehashes a little at a time.
    pub fn active_expire(&mut self, now_ms: u64, max_checks: usize) -> usize {
        self.migrate(crate::keyspace::CRON_STEP);
        let mut deleted = 0;
        if self.volatile.len() <= max_checks {
            // Walk from the end so that swap_remove only moves already-checked entries.
            let mut pos = self.volatile.len();
            while pos > 0 {
                pos -= 1;
                let Some(&id) = self.volatile.get(pos) else {
                    continue;
                };
                if self.slot(id).is_expired(now_ms) {
                    self.drop_expired(id);
                    deleted += 1;
                }
            }
        } else {
            for _ in 0..max_checks {
                if self.volatile.is_empty() {
                    break;
                }
                let pos = self.random_below(self.volatile.len());
                let id = self.volatile[pos];
                if self.slot(id).is_expired(now_ms) {
                    self.drop_expired(id);
                    deleted += 1;
                }
            }
        }
        deleted
    }

    /// RANDOMKEY: a random live key; expired keys met on the way are deleted (and counted).
    pub fn random_key(&mut self, now_ms: u64) -> Option<Bytes> {
        // A replica cannot delete expired keys; like Redis it settles for one after 100 tries.
        let mut tries = 100;
        loop {
            let id = self.random_slot()?;
            let slot = self.slot(id);
            if slot.is_expired(now_ms) {
                if !self.is_passive() {
                    self.remove_expired(id);
                    continue;
                }
                tries -= 1;
                if tries > 0 {
                    continue;
                }
            }
            return Some(Bytes::copy_from_slice(slot.key.as_slice()));
        }
    }

    /// A random occupied slot, None when the db is empty.
    fn random_slot(&mut self) -> Option<u32> {
        if self.is_empty() || self.slots_len == 0 {
            return None;
        }
        let n = self.slots_len as usize;
        for _ in 0..RANDOM_PROBES {
            let id = self.random_below(n) as u32;
            if self.slot_at(id).is_some() {
                return Some(id);
            }
        }
        let start = self.random_below(n);
        (0..n)
            .map(|off| ((start + off) % n) as u32)
            .find(|&id| self.slot_at(id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use crate::keyspace::Db;
    use crate::value::Value;
    use std::collections::HashSet;

    #[test]
    fn active_expire_small_and_sampled() {
        let mut db = Db::new();
        for i in 0..10 {
            db.insert(
                format!("k{i}").as_bytes(),
                Value::Int(i),
                if i < 5 { 100 } else { 1000 },
                0,
            );
        }
        db.insert(b"persistent", Value::Int(1), 0, 0);
        assert_eq!(db.active_expire(50, 20), 0);
        assert_eq!(db.active_expire(101, 20), 5);
        assert_eq!(db.len(), 6);
        assert_eq!(db.expires_len(), 5);
        db.check_invariants();

        let mut db = Db::new();
        for i in 0..10_000 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 10, 0);
        }
        let mut total = 0;
        while db.expires_len() > 0 {
            let n = db.active_expire(11, 20);
            assert!(n <= 20);
            total += n;
        }
        assert_eq!(total, 10_000);
        assert!(db.is_empty());
        db.check_invariants();
        assert_eq!(db.take_expired_count(), 0);
    }

    #[test]
    fn random_key_covers_and_expires() {
        let mut db = Db::new();
        assert_eq!(db.random_key(0), None);
        for i in 0..20 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 0, 0);
        }
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(db.random_key(0).unwrap());
        }
        assert_eq!(seen.len(), 20);

        let mut db = Db::new();
        for i in 0..100 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 5, 0);
        }
        db.insert(b"live", Value::Int(1), 0, 0);
        assert_eq!(&db.random_key(10).unwrap()[..], b"live");
        // Sparse slab: delete most keys.
        let mut db = Db::new();
        for i in 0..5000 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 0, 0);
        }
        for i in 0..4999 {
            db.delete(format!("k{i}").as_bytes());
        }
        assert_eq!(&db.random_key(0).unwrap()[..], b"k4999");
    }
}
