//! A set: "intset" while every member is an integer and there are at most
//! `set-max-intset-entries` of them, "hashtable" otherwise (one way, as in Redis 7.0).

mod intset;
mod table;

use crate::config::SET_MAX_INTSET_ENTRIES;
use crate::digest::xor_digest;
use bytes::Bytes;
use damselfly_protocol::{format_i64, string2ll};
use intset::IntSet;
use table::Table;

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    Ints(IntSet),
    Table(Table),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Set {
            repr: Repr::Ints(IntSet::default()),
        }
    }
}

/// Whether `count` integers still fit the intset encoding.
fn fits_intset(count: usize) -> bool {
    count as u64 <= SET_MAX_INTSET_ENTRIES.get().max(0) as u64
}

impl Set {
    /// An empty set in the encoding Redis's setTypeCreate picks for a first member.
    pub fn for_member(first: &[u8]) -> Set {
        match string2ll(first) {
            Some(_) => Set::default(),
            None => Set {
                repr: Repr::Table(Table::with_capacity(0)),
            },
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.heap_bytes(),
            Repr::Table(t) => t.heap_bytes(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(s) => string2ll(member).is_some_and(|v| s.contains(v)),
            Repr::Table(t) => t.contains(member),
        }
    }

    /// Adds `member` (Redis's setTypeAdd), converting to a hashtable when it is not an integer
    /// or the intset grows past its limit. False when it was present.
    pub fn add(&mut self, member: &[u8]) -> bool {
        if let Repr::Ints(ints) = &mut self.repr {
            if let Some(value) = string2ll(member) {
                if !ints.insert(value) {
                    return false;
                }
                if !fits_intset(ints.len()) {
                    self.convert(0);
                }
                return true;
            }
            self.convert(1);
        }
        match &mut self.repr {
            Repr::Table(t) => t.insert(member),
            Repr::Ints(_) => false,
        }
    }

    /// Turns an intset into a hashtable with room for `extra` more members.
    fn convert(&mut self, extra: usize) {
        if let Repr::Ints(ints) = &self.repr {
            let mut table = Table::with_capacity(ints.len() + extra);
            let mut buf = [0u8; 20];
            for value in ints.iter() {
                table.insert(format_i64(value, &mut buf));
            }
            self.repr = Repr::Table(table);
        }
    }

    /// Removes `member`; false when it was absent.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(s) => string2ll(member).is_some_and(|v| s.remove(v)),
            Repr::Table(t) => t.remove(member),
        }
    }

    /// A random member (the set is not empty), drawing from `random`.
    pub fn random(&self, mut random: impl FnMut() -> u64) -> Bytes {
        match &self.repr {
            Repr::Ints(s) => {
                let value = s.get((random() % s.len() as u64) as usize);
                let mut buf = [0u8; 20];
                Bytes::copy_from_slice(format_i64(value, &mut buf))
            }
            Repr::Table(t) => Bytes::copy_from_slice(t.random(random)),
        }
    }

    /// Calls `f` with every member (integers in ascending order for an intset).
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match &self.repr {
            Repr::Ints(s) => {
                let mut buf = [0u8; 20];
                for value in s.iter() {
                    f(format_i64(value, &mut buf));
                }
            }
            Repr::Table(t) => t.iter().for_each(f),
        }
    }

    pub fn members(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(Bytes::copy_from_slice(m)));
        out
    }

    /// One SSCAN step (Redis's scanGenericCommand): an intset answers whole with cursor 0; a
    /// hashtable visits home buckets until `count` members were seen or `count * 10` buckets
    /// visited. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let table = match &self.repr {
            Repr::Ints(_) => {
                self.for_each(f);
                return 0;
            }
            Repr::Table(t) => t,
        };
        let mut cursor = cursor;
        let mut seen = 0usize;
        let mut visits = count.saturating_mul(10);
        loop {
            cursor = table.scan_bucket(cursor, |m| {
                seen += 1;
                f(m);
            });
            visits = visits.saturating_sub(1);
            if cursor == 0 || visits == 0 || seen >= count {
                return cursor;
            }
        }
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for a set:
    /// order-independent, each member XORed in.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        self.for_each(|m| xor_digest(digest, m));
    }

    /// Builds a value from loaded contents (SAVE files, snapshots, RESTORE), choosing the encoding by
    /// the thresholds as Redis does on load.
    pub fn from_members(members: Vec<Vec<u8>>) -> Set {
        let mut set = if fits_intset(members.len()) {
            Set::default()
        } else {
            Set {
                repr: Repr::Table(Table::with_capacity(members.len())),
            }
        };
        for member in &members {
            set.add(member);
        }
        set
    }

    /// The contents in the RDB crate's neutral form (SAVE, replication snapshots, DUMP).
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        let mut members = Vec::with_capacity(self.len());
        self.for_each(|m| members.push(m.to_vec()));
        damselfly_rdb::Value::Set(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_contents() {
        let mut s = Set::for_member(b"1");
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"1"));
        assert!(!s.add(b"1"));
        assert!(!s.contains(b"01"));
        assert!(s.add(b"01"));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"01"));
        assert!(s.remove(b"01"));
        assert_eq!(s.encoding(), "hashtable", "one way");
        assert_eq!(Set::for_member(b"a").encoding(), "hashtable");
    }

    #[test]
    fn intset_limit() {
        let limit = SET_MAX_INTSET_ENTRIES.get() as usize;
        let members: Vec<Vec<u8>> = (0..limit).map(|i| i.to_string().into_bytes()).collect();
        let mut s = Set::from_members(members.clone());
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.len(), limit);
        s.add(b"-1");
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), limit + 1);
        let mut more = members;
        more.push(b"x".to_vec());
        assert_eq!(Set::from_members(more).encoding(), "hashtable");
    }

    #[test]
    fn rdb_roundtrip() {
        let mut s = Set::for_member(b"a");
        for m in ["a", "b", "12345678901234567890", "7"] {
            s.add(m.as_bytes());
        }
        let damselfly_rdb::Value::Set(members) = s.to_rdb() else {
            panic!("not a set")
        };
        let back = Set::from_members(members);
        assert_eq!(back.len(), 4);
        s.for_each(|m| assert!(back.contains(m)));
    }

    /// Redis 7.0.15 reports MEMORY USAGE 48388712 for `member:0..member:999999` and 40388712
    /// for the integers 0..999999 in one set.
    #[test]
    #[ignore = "slow in debug builds"]
    fn a_million_members_take_less_than_redis() {
        for (name, redis_bytes, member) in [
            (
                "strings",
                48_388_712,
                &(|i: u32| format!("member:{i}")) as &dyn Fn(u32) -> String,
            ),
            ("integers", 40_388_712, &|i: u32| i.to_string()),
        ] {
            let mut s = Set::for_member(b"x");
            for i in 0..1_000_000 {
                s.add(member(i).as_bytes());
            }
            let ours = s.heap_bytes() + std::mem::size_of::<Set>();
            eprintln!("{name}: ours {ours} redis {redis_bytes}");
            assert!(ours <= redis_bytes, "{name}: {ours} > {redis_bytes}");
        }
    }
}
