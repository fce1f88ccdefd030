//! A sorted set: listpack while small, skiplist (with a member index) past zset-max-listpack-*.
//! The conversion is one-way, as in Redis 7.0.

mod listpack;
mod skiplist;

use crate::config::{ZSET_MAX_LISTPACK_ENTRIES, ZSET_MAX_LISTPACK_VALUE};
use crate::digest::{mix_digest, xor_digest};
use damselfly_protocol::format_double;
pub use listpack::cmp_entry;
use listpack::Listpack;
use skiplist::SkipList;

#[derive(Clone, Debug)]
enum Repr {
    Listpack(Listpack),
    Skiplist(Box<SkipList>),
}

#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::new()
    }
}

/// Same encoding and same elements.
impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.encoding() == other.encoding() && self.len() == other.len() && {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            self.for_each(|m, s| a.push((m.to_vec(), s.to_bits())));
            other.for_each(|m, s| b.push((m.to_vec(), s.to_bits())));
            a == b
        }
    }
}

/// Whether a set of `len` elements whose longest member has `max_member` bytes fits the listpack
/// encoding (Redis's zsetConvertToListpackIfNeeded rule).
fn fits_listpack(len: usize, max_member: usize) -> bool {
    len as u64 <= ZSET_MAX_LISTPACK_ENTRIES.get().max(0) as u64
        && max_member as u64 <= ZSET_MAX_LISTPACK_VALUE.get().max(0) as u64
}

impl ZSet {
    /// An empty set (listpack).
    pub const fn new() -> ZSet {
        ZSet {
            repr: Repr::Listpack(Listpack::new()),
        }
    }

    /// An empty set meant to receive `expected` elements: a skiplist straight away when they
    /// would not fit a listpack (Redis's ZRANGESTORE by rank does this).
    pub fn for_expected(expected: usize) -> ZSet {
        if fits_listpack(expected, 0) {
            ZSet::new()
        } else {
            ZSet {
                repr: Repr::Skiplist(Box::default()),
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Skiplist(sl) => sl.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.heap_bytes(),
            Repr::Skiplist(sl) => sl.heap_bytes() + std::mem::size_of::<SkipList>(),
        }
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for this type:
    /// each element digests its member and its score printed with %.17g, and the element
    /// digests are XORed together.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        self.for_each(|member, score| {
            let mut element = [0u8; 20];
            mix_digest(&mut element, member);
            mix_digest(&mut element, format_double(score).as_bytes());
            xor_digest(digest, &element);
        });
    }

    /// Builds a value from loaded contents (SAVE files, snapshots, RESTORE) or a computed result
    /// (ZUNIONSTORE, ZRANGESTORE...), choosing the encoding by the thresholds as Redis does.
    /// A member given twice keeps its last score.
    pub fn from_pairs(mut pairs: Vec<(Vec<u8>, f64)>) -> ZSet {
        let max_member = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        if fits_listpack(pairs.len(), max_member) {
            pairs.reverse();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|a, b| a.0 == b.0);
            pairs.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            let entries = pairs.iter().map(|(m, s)| (m.as_slice(), *s));
            return ZSet {
                repr: Repr::Listpack(Listpack::from_sorted(entries)),
            };
        }
        let mut list = SkipList::default();
        for (member, score) in pairs {
            if list.score(&member).is_some() {
                list.update_score(&member, score);
            } else {
                list.insert(&member, score);
            }
        }
        ZSet {
            repr: Repr::Skiplist(Box::new(list)),
        }
    }

    /// The contents in the RDB crate's neutral form (SAVE, replication snapshots, DUMP).
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        let mut pairs = Vec::with_capacity(self.len());
        self.for_each(|m, s| pairs.push((m.to_vec(), s)));
        damselfly_rdb::Value::ZSet(pairs)
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(member).map(|e| e.score),
            Repr::Skiplist(sl) => sl.score(member),
        }
    }

    /// Adds a member known to be absent, converting to the skiplist first when the set would
    /// outgrow the listpack thresholds (Redis checks before inserting).
    pub fn insert(&mut self, member: &[u8], score: f64) {
        if let Repr::Listpack(lp) = &self.repr {
            if !fits_listpack(lp.len() + 1, member.len()) {
                self.convert_to_skiplist();
            }
        }
        match &mut self.repr {
            Repr::Listpack(lp) => lp.insert(member, score),
            Repr::Skiplist(sl) => sl.insert(member, score),
        }
    }

    /// Changes the score of a present member.
    pub fn update_score(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Listpack(lp) => {
                lp.remove(member);
                lp.insert(member, score);
            }
            Repr::Skiplist(sl) => sl.update_score(member, score),
        }
    }

    /// Removes a member; returns whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(member).is_some(),
            Repr::Skiplist(sl) => sl.remove(member),
        }
    }

    fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut list = SkipList::default();
            for e in lp.iter() {
                list.insert(e.member, e.score);
            }
            self.repr = Repr::Skiplist(Box::new(list));
        }
    }

    /// The 0-based ascending rank of a member.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().position(|e| e.member == member),
            Repr::Skiplist(sl) => sl.rank(member),
        }
    }

    /// How many leading elements (in ascending order) satisfy `pred`, which must be true for
    /// a prefix of the order and false after it: the rank where a score or lex range begins
    /// or ends.
    pub fn count_while(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.iter().take_while(|e| pred(e.member, e.score)).count(),
            Repr::Skiplist(sl) => sl.count_while(pred),
        }
    }

    /// Calls `f` for ranks `start..=end` (clamped to the set), ascending, or from `end` down to
    /// `start` with `rev`.
    pub fn for_ranks(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let end = end.min(self.len().saturating_sub(1));
        if start > end || self.is_empty() {
            return;
        }
        match &self.repr {
            Repr::Listpack(lp) => {
                let window = lp.iter().skip(start).take(end - start + 1);
                if rev {
                    let entries: Vec<_> = window.collect();
                    entries.iter().rev().for_each(|e| f(e.member, e.score));
                } else {
                    window.for_each(|e| f(e.member, e.score));
                }
            }
            Repr::Skiplist(sl) => sl.for_ranks(start, end, rev, f),
        }
    }

    /// Calls `f` for every element in ascending order.
    pub fn for_each(&self, f: impl FnMut(&[u8], f64)) {
        self.for_ranks(0, usize::MAX, false, f);
    }

    /// Removes ranks `start..=end` (clamped); returns how many went.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len().saturating_sub(1));
        if start > end || self.is_empty() {
            return 0;
        }
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove_ranks(start, end),
            Repr::Skiplist(sl) => sl.remove_ranks(start, end),
        }
        end - start + 1
    }

    /// One ZSCAN step. A listpack is returned whole (cursor 0), as Redis does; a skiplist is
    /// walked by node id, which stays fixed while a member is present.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(lp) => {
                lp.iter().for_each(|e| f(e.member, e.score));
                0
            }
            Repr::Skiplist(sl) => sl.scan(cursor, count.max(1), f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_past_the_thresholds() {
        let mut z = ZSet::default();
        for i in 0..128 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i));
        }
        assert_eq!(z.encoding(), "listpack");
        z.update_score(b"m0", 500.0);
        assert_eq!(z.rank(b"m0"), Some(127));
        z.insert(b"extra", 0.5);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.rank(b"extra"), Some(0));
        assert_eq!(z.len(), 129);
        let mut long = ZSet::default();
        long.insert(&[b'x'; 65], 1.0);
        assert_eq!(long.encoding(), "skiplist");
        assert_eq!(z.remove_ranks(0, 9), 10);
        assert_eq!(z.len(), 119);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn from_pairs_chooses_encoding_and_keeps_last_score() {
        let z = ZSet::from_pairs(vec![
            (b"a".to_vec(), 2.0),
            (b"b".to_vec(), 1.0),
            (b"a".to_vec(), 0.0),
        ]);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(z.len(), 2);
        assert_eq!(z.score(b"a"), Some(0.0));
        let big: Vec<_> = (0..200)
            .map(|i| (format!("{i}").into_bytes(), 1.0))
            .collect();
        let z = ZSet::from_pairs(big);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 200);
        assert_eq!(z.rank(b"10"), Some(2));
    }

    /// Redis 7.0 holds a 1M-member skiplist of `element:<12 digits>` members in 125 bytes per
    /// member (used_memory); we must stay below that. Run with ZSET_MEMORY_MEMBERS=1000000 for
    /// the full size.
    #[test]
    fn memory_per_member_is_below_redis() {
        let n: usize = std::env::var("ZSET_MEMORY_MEMBERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50_000);
        let mut z = ZSet::default();
        for i in 0..n {
            z.insert(
                format!("element:{i:012}").as_bytes(),
                (i * 7 % 1_000_003) as f64,
            );
        }
        let per_member = z.heap_bytes() / n;
        eprintln!("{n} members: {per_member} bytes each");
        assert!(per_member < 125, "{per_member} bytes per member");
    }

    /// DEBUG DIGEST-VALUE of `ZADD e 1e20 x 0.1 y -inf z` on redis-server 7.0.15.
    #[test]
    fn digest_matches_redis() {
        let z = ZSet::from_pairs(vec![
            (b"x".to_vec(), 1e20),
            (b"y".to_vec(), 0.1),
            (b"z".to_vec(), f64::NEG_INFINITY),
        ]);
        let mut digest = [0u8; 20];
        mix_digest(&mut digest, &crate::value::OBJ_ZSET.to_be_bytes());
        z.digest(&mut digest);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "4bd5bf4c72244ce46e7b4bfb6ebf833b76d768d7");
    }
}
