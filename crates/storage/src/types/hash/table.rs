//! The big encoding. Each pair is one `SmallBytes` entry (field length, field, value: inline up
//! to 22 bytes, so most small pairs need no allocation of their own) in a slab whose positions
//! never change while the pair lives; a hash index of 4-byte slab positions finds fields. Stable
//! positions make the slab position a scan cursor that never misses a pair present throughout.

use super::varint;
use crate::compact::{SmallBytes, INLINE_CAP};
use hashbrown::HashTable;
use std::sync::OnceLock;

#[derive(Clone, Default)]
pub(super) struct Table {
    /// Pairs by position; an empty entry is a free position (a pair never encodes to nothing).
    slab: Vec<SmallBytes>,
    /// Free positions, reused before the slab grows.
    free: Vec<u32>,
    index: HashTable<u32>,
    /// Heap bytes owned by entries too long to be inline.
    entries_heap: usize,
}

fn hash_of(field: &[u8]) -> u64 {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(field)
}

fn encode(field: &[u8], value: &[u8]) -> SmallBytes {
    let size = varint::item_size(field.len()) + value.len();
    let mut out = Vec::with_capacity(size);
    varint::write_item(&mut out, field);
    out.extend_from_slice(value);
    if size <= INLINE_CAP {
        SmallBytes::new(&out)
    } else {
        SmallBytes::from_vec(out)
    }
}

fn decode(entry: &SmallBytes) -> (&[u8], &[u8]) {
    let bytes = entry.as_slice();
    let (field, value_at) = varint::read_item(bytes, 0);
    (field, &bytes[value_at..])
}

impl Table {
    pub fn with_capacity(n: usize) -> Table {
        Table {
            slab: Vec::with_capacity(n),
            free: Vec::new(),
            index: HashTable::with_capacity(n),
            entries_heap: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Heap bytes held: the slab, the free list, the index (4-byte slots plus one control byte
    /// per bucket, at hashbrown's 7/8 load) and long entries.
    pub fn heap_bytes(&self) -> usize {
        let buckets = self.index.capacity() * 8 / 7;
        self.slab.capacity() * std::mem::size_of::<SmallBytes>()
            + self.free.capacity() * 4
            + buckets * (std::mem::size_of::<u32>() + 1)
            + self.entries_heap
    }

    fn position(&self, field: &[u8]) -> Option<u32> {
        let slab = &self.slab;
        self.index
            .find(hash_of(field), |&at| decode(&slab[at as usize]).0 == field)
            .copied()
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let at = self.position(field)?;
        Some(decode(&self.slab[at as usize]).1)
    }

    fn store(&mut self, at: u32, entry: SmallBytes) {
        let old = std::mem::replace(&mut self.slab[at as usize], entry);
        self.entries_heap =
            self.entries_heap + self.slab[at as usize].heap_bytes() - old.heap_bytes();
    }

    /// Sets a field; true when it was new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let entry = encode(field, value);
        if let Some(at) = self.position(field) {
            self.store(at, entry);
            return false;
        }
        let at = match self.free.pop() {
            Some(at) => at,
            None => {
                self.slab.push(SmallBytes::new(&[]));
                (self.slab.len() - 1) as u32
            }
        };
        self.store(at, entry);
        let slab = &self.slab;
        self.index.insert_unique(hash_of(field), at, |&at| {
            hash_of(decode(&slab[at as usize]).0)
        });
        true
    }

    /// Removes a field; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let slab = &self.slab;
        let Ok(found) = self
            .index
            .find_entry(hash_of(field), |&at| decode(&slab[at as usize]).0 == field)
        else {
            return false;
        };
        let (at, _) = found.remove();
        self.store(at, SmallBytes::new(&[]));
        self.free.push(at);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.slab.iter().filter(|e| !e.is_empty()).map(decode)
    }

    /// A pair picked at random (`random_below(n)` returns a number below n). The table must not
    /// be empty.
    pub fn random(&self, random_below: &mut dyn FnMut(usize) -> usize) -> (&[u8], &[u8]) {
        const TRIES: usize = 64;
        let n = self.slab.len();
        for _ in 0..TRIES {
            let entry = &self.slab[random_below(n)];
            if !entry.is_empty() {
                return decode(entry);
            }
        }
        // A very sparse slab: take the first pair from a random position on.
        let start = random_below(n);
        let entry = self.slab[start..]
            .iter()
            .chain(&self.slab[..start])
            .find(|e| !e.is_empty())
            .unwrap_or(&self.slab[start]);
        decode(entry)
    }

    /// One scan step from slab position `cursor`: visits up to `count` pairs, returns the next
    /// cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        let mut at = usize::try_from(cursor).unwrap_or(usize::MAX);
        let mut seen = 0;
        while at < self.slab.len() && seen < count {
            let entry = &self.slab[at];
            if !entry.is_empty() {
                let (field, value) = decode(entry);
                visit(field, value);
                seen += 1;
            }
            at += 1;
        }
        if at >= self.slab.len() {
            0
        } else {
            at as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn set_get_remove_and_reuse() {
        let mut t = Table::default();
        for i in 0..1000 {
            assert!(t.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes()));
        }
        assert!(!t.set(b"f1", &[b'x'; 40]));
        assert_eq!(t.get(b"f1"), Some(&[b'x'; 40][..]));
        assert_eq!(t.entries_heap, 43);
        assert_eq!(t.get(b"f999"), Some(&b"v999"[..]));
        assert!(t.remove(b"f1"));
        assert!(!t.remove(b"f1"));
        assert_eq!(t.entries_heap, 0);
        assert_eq!(t.len(), 999);
        assert!(t.set(b"new", b""));
        assert_eq!(t.slab.len(), 1000);
        assert_eq!(t.get(b"new"), Some(&b""[..]));
        assert_eq!(t.iter().count(), 1000);
    }

    #[test]
    fn scan_returns_pairs_present_throughout() {
        let mut t = Table::default();
        for i in 0..500 {
            t.set(format!("f{i}").as_bytes(), b"v");
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = t.scan(cursor, 7, |f, _| {
                seen.insert(f.to_vec());
            });
            // Churn between steps: remove some early pairs, add new ones.
            t.remove(format!("f{}", step * 2).as_bytes());
            t.set(format!("n{step}").as_bytes(), b"v");
            step += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            if i % 2 == 1 || i / 2 >= step {
                assert!(seen.contains(format!("f{i}").as_bytes()), "f{i}");
            }
        }
    }

    #[test]
    fn random_finds_a_pair_in_a_sparse_slab() {
        let mut t = Table::default();
        for i in 0..10_000 {
            t.set(format!("f{i}").as_bytes(), b"v");
        }
        for i in 1..10_000 {
            t.remove(format!("f{i}").as_bytes());
        }
        let mut n = 0;
        let (field, _) = t.random(&mut |below| {
            n += 1;
            n * 7919 % below
        });
        assert_eq!(field, b"f0");
    }
}
