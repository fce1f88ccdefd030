//! SCAN and KEYS over one db. The cursor is a slot number: live keys never change slot, so a
//! full iteration returns every key that was present throughout, whatever happens in between.

use crate::glob::glob_match;
use crate::keyspace::Db;
use bytes::Bytes;

/// Visiting at most this many slots per requested key bounds the work of one call on a sparse
/// slab.
const MAX_VISITS_PER_COUNT: usize = 10;

impl Db {
    /// One SCAN step: appends matching live keys to `out`, returns the next cursor (0 when done).
    pub fn scan(
        &mut self,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
        type_name: Option<&[u8]>,
        now_ms: u64,
        out: &mut Vec<Bytes>,
    ) -> u64 {
        let count = count.max(1);
        let pattern = pattern.filter(|p| *p != b"*");
        let end = u64::from(self.slots_len);
        if cursor >= end {
            return 0;
        }
        let mut id = cursor as u32;
        let mut seen = 0usize;
        let mut visits = count.saturating_mul(MAX_VISITS_PER_COUNT);
        let mut expired = Vec::new();
        while u64::from(id) < end && seen < count && visits > 0 {
            visits -= 1;
            if let Some(slot) = self.slot_at(id) {
                seen += 1;
                let key = slot.key.as_slice();
                if slot.is_expired(now_ms) {
                    expired.push(id);
                } else if pattern.is_none_or(|p| glob_match(p, key, false))
                    && type_name
                        .is_none_or(|t| t.eq_ignore_ascii_case(slot.value.type_name().as_bytes()))
                {
                    out.push(Bytes::copy_from_slice(key));
                }
            }
            id += 1;
        }
        if !self.is_passive() {
            for id in expired {
                self.remove_expired(id);
            }
        }
        if u64::from(id) >= u64::from(self.slots_len) {
            0
        } else {
            u64::from(id)
        }
    }

    /// KEYS: every live key matching `pattern` (expired keys are skipped, not deleted, as Redis
    /// does).
    pub fn keys(&mut self, pattern: &[u8], now_ms: u64, out: &mut Vec<Bytes>) {
        let all = pattern == b"*";
        for chunk in &self.chunks {
            for slot in chunk.iter().flatten() {
                let key = slot.key.as_slice();
                if (all || glob_match(pattern, key, false)) && !slot.is_expired(now_ms) {
                    out.push(Bytes::copy_from_slice(key));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::keyspace::Db;
    use crate::value::Value;
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn full_scan(db: &mut Db, count: usize, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, count, pattern, None, 0, &mut out);
            if cursor == 0 {
                return out;
            }
        }
    }

    #[test]
    fn scan_all_and_pattern() {
        let mut db = Db::new();
        for i in 0..1000 {
            db.insert(format!("k{i}").as_bytes(), Value::Int(i), 0, 0);
        }
        let all: HashSet<Bytes> = full_scan(&mut db, 10, None).into_iter().collect();
        assert_eq!(all.len(), 1000);
        let some = full_scan(&mut db, 7, Some(b"k1*"));
        assert_eq!(some.len(), 111);
        let mut out = Vec::new();
        db.scan(0, 10, None, Some(b"STRING"), 0, &mut out);
        assert_eq!(out.len(), 10);
        out.clear();
        db.scan(0, 10, None, Some(b"list"), 0, &mut out);
        assert!(out.is_empty());
        out.clear();
        db.keys(b"k99*", 0, &mut out);
        assert_eq!(out.len(), 11);
    }

    #[test]
    fn scan_skips_and_deletes_expired() {
        let mut db = Db::new();
        db.insert(b"a", Value::Int(1), 10, 0);
        db.insert(b"b", Value::Int(1), 0, 0);
        let mut out = Vec::new();
        assert_eq!(db.scan(0, 10, None, None, 11, &mut out), 0);
        assert_eq!(out, vec![Bytes::from_static(b"b")]);
        assert_eq!(db.len(), 1);
        assert_eq!(db.take_expired_count(), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Delete(u16),
        Step(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u16..2000).prop_map(Op::Insert),
            (0u16..2000).prop_map(Op::Delete),
            (1u8..20).prop_map(Op::Step),
        ]
    }

    proptest! {
        #[test]
        fn scan_returns_every_stable_key(
            initial in 0u16..600,
            ops in proptest::collection::vec(op(), 0..400),
        ) {
            let mut db = Db::new();
            for i in 0..initial {
                db.insert(format!("key:{i}").as_bytes(), Value::Int(i.into()), 0, 0);
            }
            let mut removed_ever: HashSet<String> = HashSet::new();
            let start: HashSet<String> = (0..initial).map(|i| format!("key:{i}")).collect();
            let mut seen: HashSet<Bytes> = HashSet::new();
            let mut cursor = 0u64;
            let mut done = false;
            let mut ops = ops.into_iter();
            while !done {
                match ops.next() {
                    Some(Op::Insert(i)) => {
                        let k = format!("key:{i}");
                        if !db.contains(k.as_bytes(), 0) {
                            db.insert(k.as_bytes(), Value::Int(1), 0, 0);
                        }
                    }
                    Some(Op::Delete(i)) => {
                        let k = format!("key:{i}");
                        if db.delete(k.as_bytes()) {
                            removed_ever.insert(k);
                        }
                    }
                    Some(Op::Step(n)) => {
                        let mut out = Vec::new();
                        cursor = db.scan(cursor, n as usize, None, None, 0, &mut out);
                        seen.extend(out);
                        done = cursor == 0;
                    }
                    None => {
                        let mut out = Vec::new();
                        cursor = db.scan(cursor, 5, None, None, 0, &mut out);
                        seen.extend(out);
                        done = cursor == 0;
                    }
                }
            }
            for k in start.difference(&removed_ever) {
                prop_assert!(seen.contains(k.as_bytes()), "missing {}", k);
            }
            db.check_invariants();
        }
    }
}
