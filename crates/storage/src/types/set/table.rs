//! The "hashtable" encoding: an open-addressing table (linear probing, tombstones) of 16-byte
//! slots. Short members live inside their slot, longer ones in one boxed slice, so a set of
//! short strings costs one slot per member plus the table's spare room, with no per-member
//! allocation. Members never move except when the table is resized, which lets SSCAN walk home
//! buckets in Redis's reverse-binary order with Redis's guarantees.

use std::sync::OnceLock;

/// Members of up to this many bytes are stored inside their slot.
const INLINE_CAP: usize = 14;
/// Smallest table, as Redis's dict.
const MIN_SLOTS: usize = 4;

/// One slot: 16 bytes.
#[derive(Clone, Debug, Default, PartialEq)]
enum Slot {
    #[default]
    Empty,
    /// A removed member: probes continue past it.
    Deleted,
    Inline {
        len: u8,
        buf: [u8; INLINE_CAP],
    },
    /// Boxed twice so that the slot holds a thin pointer.
    Boxed(Box<Box<[u8]>>),
}

impl Slot {
    fn new(member: &[u8]) -> Slot {
        if member.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..member.len()].copy_from_slice(member);
            Slot::Inline {
                len: member.len() as u8,
                buf,
            }
        } else {
            Slot::Boxed(Box::new(member.into()))
        }
    }

    fn member(&self) -> Option<&[u8]> {
        match self {
            Slot::Inline { len, buf } => Some(&buf[..*len as usize]),
            Slot::Boxed(b) => Some(b),
            Slot::Empty | Slot::Deleted => None,
        }
    }

    /// Heap bytes owned outside the table.
    fn outside_bytes(&self) -> usize {
        match self {
            Slot::Boxed(b) => std::mem::size_of::<Box<[u8]>>() + b.len(),
            _ => 0,
        }
    }
}

fn hasher() -> &'static ahash::RandomState {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new)
}

fn hash_of(member: &[u8]) -> u64 {
    hasher().hash_one(member)
}

/// Redis's dictScan cursor step: increments the reversed cursor within `mask`'s bits.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    let v = (cursor | !mask).reverse_bits().wrapping_add(1);
    v.reverse_bits()
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Table {
    slots: Vec<Slot>,
    len: usize,
    deleted: usize,
    outside_bytes: usize,
}

impl Table {
    /// A table with room for `members` without resizing.
    pub fn with_capacity(members: usize) -> Table {
        Table {
            slots: vec![Slot::Empty; slots_for(members)],
            len: 0,
            deleted: 0,
            outside_bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>() + self.outside_bytes
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot holding `member`, or where probing for it stopped (an empty slot).
    fn probe(&self, member: &[u8], hash: u64) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i] {
                Slot::Empty => return Err(i),
                slot if slot.member() == Some(member) => return Ok(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.probe(member, hash_of(member)).is_ok()
    }

    /// Adds `member`; false when it was present.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        let hash = hash_of(member);
        if self.probe(member, hash).is_ok() {
            return false;
        }
        if (self.len + self.deleted + 1) * 4 > self.slots.len() * 3 {
            self.resize(slots_for(self.len + 1));
        }
        self.place(Slot::new(member), hash);
        true
    }

    /// Stores a member known to be absent in the first free slot of its probe sequence.
    fn place(&mut self, slot: Slot, hash: u64) {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i] {
                Slot::Empty => break,
                Slot::Deleted => {
                    self.deleted -= 1;
                    break;
                }
                _ => i = (i + 1) & mask,
            }
        }
        self.outside_bytes += slot.outside_bytes();
        self.slots[i] = slot;
        self.len += 1;
    }

    /// Removes `member`; false when it was absent. Shrinks a table that became mostly empty
    /// (as Redis resizes dicts under 10% full), which also keeps random picks cheap.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let Ok(i) = self.probe(member, hash_of(member)) else {
            return false;
        };
        self.take_slot(i);
        if self.slots.len() > MIN_SLOTS && self.len * 8 < self.slots.len() {
            self.resize(slots_for(self.len));
        }
        true
    }

    fn take_slot(&mut self, i: usize) -> Slot {
        let slot = std::mem::replace(&mut self.slots[i], Slot::Deleted);
        self.outside_bytes -= slot.outside_bytes();
        self.len -= 1;
        self.deleted += 1;
        slot
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::Empty; slots]);
        self.len = 0;
        self.deleted = 0;
        self.outside_bytes = 0;
        for slot in old {
            if let Some(member) = slot.member() {
                let hash = hash_of(member);
                self.place(slot, hash);
            }
        }
    }

    /// A uniformly random member (the table is not empty). Expected probes stay below 8
    /// because the table is kept at least 1/8 full.
    pub fn random(&self, mut random: impl FnMut() -> u64) -> &[u8] {
        let mask = self.mask();
        loop {
            if let Some(member) = self.slots[random() as usize & mask].member() {
                return member;
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.slots.iter().filter_map(Slot::member)
    }

    /// One SSCAN step over home bucket `cursor`: calls `f` with every member whose home bucket
    /// it is, and returns the next cursor (0 when done). As with Redis's dictScan, a member
    /// present from the first call to the last is returned at least once, even across resizes.
    pub fn scan_bucket(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> u64 {
        let mask = self.mask();
        let home = cursor as usize & mask;
        let mut i = home;
        loop {
            match &self.slots[i] {
                Slot::Empty => break,
                slot => {
                    if let Some(member) = slot.member() {
                        if hash_of(member) as usize & mask == home {
                            f(member);
                        }
                    }
                }
            }
            i = (i + 1) & mask;
            if i == home {
                break;
            }
        }
        next_cursor(cursor, mask as u64)
    }
}

/// Slots for `members`: a power of two at most half full, so the table grows at 3/4.
fn slots_for(members: usize) -> usize {
    members.saturating_mul(2).next_power_of_two().max(MIN_SLOTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slot_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }

    #[test]
    fn insert_remove_and_shrink() {
        let mut t = Table::with_capacity(0);
        for i in 0..1000 {
            assert!(t.insert(format!("member:{i}").as_bytes()));
        }
        assert!(!t.insert(b"member:7"));
        let long = vec![b'x'; 100];
        assert!(t.insert(&long));
        assert!(t.contains(&long));
        assert_eq!(t.len(), 1001);
        for i in 0..990 {
            assert!(t.remove(format!("member:{i}").as_bytes()));
        }
        assert!(!t.remove(b"member:0"));
        assert!(t.remove(&long));
        assert_eq!(t.len(), 10);
        assert!(t.slots.len() <= 128);
        assert_eq!(t.outside_bytes, 0);
        let left: HashSet<Vec<u8>> = t.iter().map(<[u8]>::to_vec).collect();
        assert_eq!(left.len(), 10);
        assert!(left.contains(b"member:999".as_slice()));
    }

    #[test]
    fn scan_returns_stable_members_across_resizes() {
        let mut t = Table::with_capacity(0);
        for i in 0..200 {
            t.insert(format!("{i}").as_bytes());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = t.scan_bucket(cursor, |m| {
                seen.insert(m.to_vec());
            });
            step += 1;
            // Grow, then shrink the table midway.
            if step == 20 {
                for i in 200..2000 {
                    t.insert(format!("{i}").as_bytes());
                }
            }
            if step == 100 {
                for i in 200..2000 {
                    t.remove(format!("{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..200 {
            assert!(seen.contains(format!("{i}").as_bytes()), "missing {i}");
        }
    }

    #[test]
    fn random_picks_members() {
        let mut t = Table::with_capacity(0);
        for m in ["a", "b", "c"] {
            t.insert(m.as_bytes());
        }
        let mut x = 1u64;
        let mut seen = HashSet::new();
        for _ in 0..200 {
            seen.insert(
                t.random(|| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    x >> 11
                })
                .to_vec(),
            );
        }
        assert_eq!(seen.len(), 3);
    }
}
