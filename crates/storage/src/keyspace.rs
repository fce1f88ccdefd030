//! One logical database: a slab of slots (key, value, expiry) that never moves a live key, a
//! hash index of slot numbers, and the list of slots that carry a TTL.
//!
//! Slot numbers double as SCAN cursors: a key keeps its slot for as long as it lives, new keys
//! take freed slots or go at the end, so walking slot numbers upwards visits every key that was
//! present for the whole walk.

use crate::compact::SmallBytes;
use crate::snapshot::{PreImage, Snapshot};
use crate::value::{Entry, Value};
use bytes::Bytes;
use hashbrown::HashTable;

const CHUNK_BITS: u32 = 12;
/// Slots per slab chunk. Chunks are never reallocated once full, so growth copies nothing and
/// wastes at most one chunk.
const CHUNK: usize = 1 << CHUNK_BITS;
const CHUNK_MASK: u32 = (CHUNK as u32) - 1;
/// Storage is released when a db empties and has at least this many slots.
const RESET_THRESHOLD: u32 = 64;
/// Below this capacity the index grows in one go; above it, like Redis, it grows incrementally:
/// a new table of twice the size takes the inserts while entries move over a few at a time.
const INCREMENTAL_MIN: usize = if cfg!(test) { 16 } else { 1 << 12 };
/// Slab positions migrated to the new index per insert during an incremental resize.
const INSERT_STEP: u32 = 4;
/// Slab positions migrated per `active_expire` call.
pub(crate) const CRON_STEP: u32 = 4096;

/// One stored key. 64 bytes.
#[derive(Debug)]
pub(crate) struct Slot {
    pub key: SmallBytes,
    pub value: Value,
    /// Absolute expiry in unix ms, 0 for none.
    pub expire_at: u64,
    /// Position in `Db::volatile` while `expire_at != 0`.
    pub ttl_pos: u32,
    /// Last access time in seconds (OBJECT IDLETIME).
    pub lru: u32,
}

impl Slot {
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && now_ms > self.expire_at
    }
}

/// The access clock stored per key: unix seconds, wrapping.
#[inline]
pub(crate) fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

/// One logical database of one shard.
pub struct Db {
    pub(crate) chunks: Vec<Vec<Option<Slot>>>,
    pub(crate) slots_len: u32,
    free: Vec<u32>,
    index: HashTable<u32>,
    /// The previous index while an incremental resize moves its entries into `index`.
    pub(crate) old_index: Option<HashTable<u32>>,
    /// Slab position up to which `old_index` has been emptied.
    migrate_pos: u32,
    hasher: ahash::RandomState,
    /// Slots whose key has a TTL.
    pub(crate) volatile: Vec<u32>,
    len: usize,
    heap_bytes: usize,
    rng: u64,
    /// Keys removed by lazy expiry and not yet collected by `take_expired_count`.
    expired: u64,
    /// Changes made to this db (any insert, overwrite, TTL change or removal), so a caller can
    /// tell whether a command wrote.
    mutations: u64,
    /// While a journal records this db: the keys removed because they expired, in order.
    expired_log: Option<Vec<Bytes>>,
    /// A replica's db: expired keys read as absent but stay until the primary deletes them.
    passive_expiry: bool,
    /// A point-in-time snapshot being taken without copying the db (replication full sync).
    pub(crate) snapshot: Option<Box<Snapshot>>,
    /// Keys whose writes are noted for waiters (blocked clients, WATCH).
    pub(crate) interest: Option<Box<crate::interest::Interest>>,
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

#[inline]
pub(crate) fn slot_ref(chunks: &[Vec<Option<Slot>>], id: u32) -> Option<&Slot> {
    chunks
        .get((id >> CHUNK_BITS) as usize)?
        .get((id & CHUNK_MASK) as usize)?
        .as_ref()
}

impl Db {
    pub fn new() -> Db {
        Db {
            chunks: Vec::new(),
            slots_len: 0,
            free: Vec::new(),
            index: HashTable::new(),
            old_index: None,
            migrate_pos: 0,
            hasher: ahash::RandomState::new(),
            volatile: Vec::new(),
            len: 0,
            heap_bytes: 0,
            rng: rand::random::<u64>() | 1,
            expired: 0,
            mutations: 0,
            expired_log: None,
            passive_expiry: false,
            snapshot: None,
            interest: None,
        }
    }

    /// How many changes this db has seen; compare two readings to learn whether anything wrote.
    pub fn mutations(&self) -> u64 {
        self.mutations
    }

    /// Starts or stops recording the keys that expire (for the replication journal).
    pub fn set_expiry_log(&mut self, on: bool) {
        self.expired_log = on.then(Vec::new);
    }

    /// The keys removed because they expired since the last call, oldest first.
    pub fn take_expired_keys(&mut self) -> Vec<Bytes> {
        self.expired_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// On a replica expired keys are logically absent but only the primary deletes them.
    pub fn set_passive_expiry(&mut self, on: bool) {
        self.passive_expiry = on;
    }

    /// Keys stored (DBSIZE), including expired keys not yet reclaimed, as Redis counts them.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn clear(&mut self) {
        self.mutations += 1;
        self.note_flush();
        if let Some(snapshot) = self.snapshot.as_mut() {
            // Everything still unsaved is gone; the journal's flush record says so.
            snapshot.finish_early();
        }
        self.chunks = Vec::new();
        self.slots_len = 0;
        self.free = Vec::new();
        self.index = HashTable::new();
        self.old_index = None;
        self.migrate_pos = 0;
        self.volatile = Vec::new();
        self.len = 0;
        self.heap_bytes = 0;
    }

    /// Number of keys removed by lazy expiry since the last call (the caller adds it to
    /// `Stats::expired_keys`; `execute` does so itself for the dbs it touches).
    pub fn take_expired_count(&mut self) -> u64 {
        std::mem::take(&mut self.expired)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.lookup(key, now_ms).is_some()
    }

    /// Removes a key and returns its entry (RENAME and MOVE sources).
    pub fn take(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        let id = self.lookup(key, now_ms)?;
        let slot = self.remove(id);
        Some(Entry {
            value: slot.value,
            expire_at: slot.expire_at,
        })
    }

    /// Removes a key whatever its expiry and returns its entry (a value lent to another shard's
    /// command going back).
    pub fn extract(&mut self, key: &[u8]) -> Option<Entry> {
        let id = self.find(key)?;
        let slot = self.remove(id);
        Some(Entry {
            value: slot.value,
            expire_at: slot.expire_at,
        })
    }

    /// A stored key's absolute expiry (0: none) without expiring it; None when the key is absent
    /// or already logically expired.
    pub fn peek_expire(&self, key: &[u8], now_ms: u64) -> Option<u64> {
        let slot = self.slot_at(self.find(key)?)?;
        (!slot.is_expired(now_ms)).then_some(slot.expire_at)
    }

    /// The TYPE of a live key, without expiring it or touching it.
    pub fn peek_type(&self, key: &[u8], now_ms: u64) -> Option<&'static str> {
        let slot = self.slot_at(self.find(key)?)?;
        (!slot.is_expired(now_ms)).then(|| slot.value.type_name())
    }

    /// A copy of a key's entry (COPY source).
    pub fn get_entry(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        let id = self.lookup(key, now_ms)?;
        let slot = self.slot(id);
        Some(Entry {
            value: slot.value.clone(),
            expire_at: slot.expire_at,
        })
    }

    /// Inserts or overwrites a key with the entry's value and expiry.
    pub fn put(&mut self, key: Bytes, entry: Entry) {
        self.put_slice(&key, entry.value, entry.expire_at);
    }

    /// Approximate memory held by this db: slots, index and heap payloads.
    pub fn used_value_bytes(&self) -> usize {
        let slab: usize = self
            .chunks
            .iter()
            .map(|c| c.capacity() * std::mem::size_of::<Option<Slot>>())
            .sum();
        let index = self.index.capacity() + self.old_index.as_ref().map_or(0, |t| t.capacity());
        slab + index * (std::mem::size_of::<u32>() + 1)
            + self.volatile.capacity() * 4
            + self.free.capacity() * 4
            + self.heap_bytes
    }

    // ----- crate-internal slot API -----

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Finds a key without checking its expiry.
    pub(crate) fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hash(key);
        let chunks = &self.chunks;
        let eq = |&id: &u32| slot_ref(chunks, id).is_some_and(|s| s.key.as_slice() == key);
        match self.index.find(hash, eq) {
            Some(&id) => Some(id),
            None => self.old_index.as_ref()?.find(hash, eq).copied(),
        }
    }

    /// Makes room for one more index entry, growing incrementally for large tables.
    fn ensure_index_room(&mut self) {
        if self.old_index.is_some() {
            self.migrate(INSERT_STEP);
        }
        if self.index.len() < self.index.capacity() || self.index.capacity() < INCREMENTAL_MIN {
            return;
        }
        if self.old_index.is_some() {
            self.migrate(u32::MAX);
            if self.index.len() < self.index.capacity() {
                return;
            }
        }
        let bigger = HashTable::with_capacity(self.index.len() * 2);
        self.old_index = Some(std::mem::replace(&mut self.index, bigger));
        self.migrate_pos = 0;
        self.migrate(INSERT_STEP);
    }

    /// Moves the index entries of up to `steps` slab positions from the old index to the new.
    pub(crate) fn migrate(&mut self, mut steps: u32) {
        let Db {
            old_index,
            index,
            chunks,
            hasher,
            migrate_pos,
            slots_len,
            ..
        } = self;
        let Some(old) = old_index.as_mut() else {
            return;
        };
        while steps > 0 && *migrate_pos < *slots_len && !old.is_empty() {
            let id = *migrate_pos;
            *migrate_pos += 1;
            steps -= 1;
            let Some(slot) = slot_ref(chunks, id) else {
                continue;
            };
            let hash = hasher.hash_one(slot.key.as_slice());
            if let Ok(entry) = old.find_entry(hash, |&x| x == id) {
                entry.remove();
                index.insert_unique(hash, id, |&other| {
                    slot_ref(chunks, other).map_or(0, |s| hasher.hash_one(s.key.as_slice()))
                });
            }
        }
        if *migrate_pos >= *slots_len {
            // Every slot has been visited, so nothing should remain; move anything left anyway.
            for id in old.drain() {
                if let Some(slot) = slot_ref(chunks, id) {
                    let hash = hasher.hash_one(slot.key.as_slice());
                    index.insert_unique(hash, id, |&other| {
                        slot_ref(chunks, other).map_or(0, |s| hasher.hash_one(s.key.as_slice()))
                    });
                }
            }
        }
        if old.is_empty() {
            *old_index = None;
        }
    }

    /// Finds a live key; an expired key is deleted (and counted) instead.
    pub(crate) fn lookup(&mut self, key: &[u8], now_ms: u64) -> Option<u32> {
        let id = self.find(key)?;
        if self.slot(id).is_expired(now_ms) {
            if !self.passive_expiry {
                self.remove_expired(id);
            }
            return None;
        }
        Some(id)
    }

    /// Deletes an expired key if it is one (Redis's expireIfNeeded); true when it was deleted.
    pub(crate) fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        match self.find(key) {
            Some(id) if self.slot(id).is_expired(now_ms) && !self.passive_expiry => {
                self.remove_expired(id);
                true
            }
            _ => false,
        }
    }

    /// Removes a slot whose key has expired, counting it as expired.
    pub(crate) fn remove_expired(&mut self, id: u32) {
        self.drop_expired(id);
        self.expired += 1;
    }

    /// Removes a slot whose key has expired without counting it (active expiry counts its own),
    /// recording the key for the journal.
    pub(crate) fn drop_expired(&mut self, id: u32) {
        let slot = self.remove(id);
        if let Some(log) = self.expired_log.as_mut() {
            log.push(Bytes::copy_from_slice(slot.key.as_slice()));
        }
    }

    pub(crate) fn is_passive(&self) -> bool {
        self.passive_expiry
    }

    /// Called before a live slot changes: a snapshot in progress saves its old contents first.
    #[inline]
    fn before_mutate(&mut self, id: u32) {
        self.mutations += 1;
        if let Some(interest) = self.interest.as_mut() {
            if let Some(slot) = slot_ref(&self.chunks, id) {
                interest.note(slot.key.as_slice());
            }
        }
        if let Some(snapshot) = self.snapshot.as_mut() {
            if snapshot.needs(id) {
                snapshot.mark(id);
                let slot = slot_ref(&self.chunks, id).expect("live slot id");
                snapshot.preimages.push(PreImage::of(slot));
            }
        }
    }

    #[inline]
    pub(crate) fn slot_at(&self, id: u32) -> Option<&Slot> {
        slot_ref(&self.chunks, id)
    }

    /// The slot of a live id (as returned by `find`/`lookup`/`insert`).
    #[inline]
    pub(crate) fn slot(&self, id: u32) -> &Slot {
        slot_ref(&self.chunks, id).expect("live slot id")
    }

    #[inline]
    fn slot_mut(&mut self, id: u32) -> &mut Slot {
        self.chunks[(id >> CHUNK_BITS) as usize][(id & CHUNK_MASK) as usize]
            .as_mut()
            .expect("live slot id")
    }

    pub(crate) fn touch(&mut self, id: u32, now_ms: u64) {
        self.slot_mut(id).lru = lru_clock(now_ms);
    }

    /// Runs `f` on a live value, keeping the memory accounting right.
    pub(crate) fn with_value_mut<R>(&mut self, id: u32, f: impl FnOnce(&mut Value) -> R) -> R {
        self.before_mutate(id);
        let slot = self.slot_mut(id);
        let before = slot.value.heap_bytes();
        let r = f(&mut slot.value);
        let after = slot.value.heap_bytes();
        self.heap_bytes = self.heap_bytes.wrapping_add(after).wrapping_sub(before);
        r
    }

    /// Replaces a live value, keeping its TTL (Redis's dbOverwrite).
    pub(crate) fn replace_value(&mut self, id: u32, value: Value) {
        self.with_value_mut(id, |v| *v = value);
    }

    /// Inserts a key that is known to be absent.
    pub(crate) fn insert(&mut self, key: &[u8], value: Value, expire_at: u64, now_ms: u64) -> u32 {
        if self.passive_expiry {
            // A replica keeps expired keys that callers treat as absent: replace them.
            if let Some(stale) = self.find(key) {
                self.remove(stale);
            }
        }
        self.mutations += 1;
        if let Some(interest) = self.interest.as_mut() {
            interest.note(key);
        }
        let key = SmallBytes::new(key);
        self.heap_bytes += key.heap_bytes() + value.heap_bytes();
        let hash = self.hash(key.as_slice());
        self.ensure_index_room();
        let id = self.alloc(Slot {
            key,
            value,
            expire_at: 0,
            ttl_pos: 0,
            lru: lru_clock(now_ms),
        });
        let Db {
            index,
            chunks,
            hasher,
            ..
        } = self;
        index.insert_unique(hash, id, |&other| {
            slot_ref(chunks, other).map_or(0, |s| hasher.hash_one(s.key.as_slice()))
        });
        self.len += 1;
        if let Some(snapshot) = self.snapshot.as_mut() {
            // A key born after the snapshot began is not part of it: the journal carries it.
            snapshot.mark(id);
        }
        if expire_at != 0 {
            self.set_expire(id, expire_at);
        }
        id
    }

    /// Redis's setKey: stores `value` under `key`, replacing any value; the TTL is removed unless
    /// `keep_ttl`. Returns the slot.
    pub(crate) fn set_key(&mut self, key: &[u8], value: Value, keep_ttl: bool, now_ms: u64) -> u32 {
        match self.find(key) {
            Some(id) => {
                self.replace_value(id, value);
                if !keep_ttl {
                    self.set_expire(id, 0);
                }
                self.touch(id, now_ms);
                id
            }
            None => self.insert(key, value, 0, now_ms),
        }
    }

    fn put_slice(&mut self, key: &[u8], value: Value, expire_at: u64) {
        match self.find(key) {
            Some(id) => {
                self.replace_value(id, value);
                self.set_expire(id, expire_at);
            }
            None => {
                // No clock here: the access time starts at "now" by the wall clock.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                self.insert(key, value, expire_at, now);
            }
        }
    }

    /// Sets (non-zero) or removes (0) the absolute expiry of a live slot.
    pub(crate) fn set_expire(&mut self, id: u32, expire_at: u64) {
        if self.slot(id).expire_at == expire_at {
            return;
        }
        self.before_mutate(id);
        let volatile_len = self.volatile.len() as u32;
        let slot = self.slot_mut(id);
        let had = slot.expire_at != 0;
        let pos = slot.ttl_pos;
        slot.expire_at = expire_at;
        match (had, expire_at != 0) {
            (false, true) => {
                slot.ttl_pos = volatile_len;
                self.volatile.push(id);
            }
            (true, false) => self.remove_volatile(pos),
            _ => {}
        }
    }

    fn remove_volatile(&mut self, pos: u32) {
        let pos = pos as usize;
        if pos >= self.volatile.len() {
            return;
        }
        self.volatile.swap_remove(pos);
        if let Some(&moved) = self.volatile.get(pos) {
            self.slot_mut(moved).ttl_pos = pos as u32;
        }
    }

    /// Removes a live slot and returns it.
    pub(crate) fn remove(&mut self, id: u32) -> Slot {
        self.before_mutate(id);
        let hash = self.hash(self.slot(id).key.as_slice());
        match self.index.find_entry(hash, |&x| x == id) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => {
                if let Some(Ok(entry)) = self
                    .old_index
                    .as_mut()
                    .map(|t| t.find_entry(hash, |&x| x == id))
                {
                    entry.remove();
                }
            }
        }
        let slot = self.chunks[(id >> CHUNK_BITS) as usize][(id & CHUNK_MASK) as usize]
            .take()
            .expect("live slot id");
        if slot.expire_at != 0 {
            self.remove_volatile(slot.ttl_pos);
        }
        self.heap_bytes = self
            .heap_bytes
            .wrapping_sub(slot.key.heap_bytes() + slot.value.heap_bytes());
        self.len -= 1;
        if self.len == 0 && self.slots_len >= RESET_THRESHOLD {
            self.clear();
        } else {
            self.free.push(id);
        }
        slot
    }

    /// Deletes a key if present (no expiry check); true when it existed.
    pub(crate) fn delete(&mut self, key: &[u8]) -> bool {
        match self.find(key) {
            Some(id) => {
                self.remove(id);
                true
            }
            None => false,
        }
    }

    fn alloc(&mut self, slot: Slot) -> u32 {
        if let Some(id) = self.free.pop() {
            self.chunks[(id >> CHUNK_BITS) as usize][(id & CHUNK_MASK) as usize] = Some(slot);
            return id;
        }
        let id = self.slots_len;
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            let cap = if self.chunks.is_empty() { 8 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(cap));
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push(Some(slot));
        }
        self.slots_len += 1;
        id
    }

    /// A pseudo-random number (xorshift64*).
    pub(crate) fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A random number below `n` (n > 0).
    pub(crate) fn random_below(&mut self, n: usize) -> usize {
        (self.next_random() % n as u64) as usize
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut live = 0;
        for id in 0..self.slots_len {
            if let Some(s) = self.slot_at(id) {
                live += 1;
                assert_eq!(self.find(s.key.as_slice()), Some(id));
                if s.expire_at != 0 {
                    assert_eq!(self.volatile[s.ttl_pos as usize], id);
                }
            }
        }
        assert_eq!(live, self.len);
        let old_len = self.old_index.as_ref().map_or(0, |t| t.len());
        assert_eq!(self.index.len() + old_len, self.len);
        for (pos, &id) in self.volatile.iter().enumerate() {
            let s = self.slot(id);
            assert_eq!(s.ttl_pos as usize, pos);
            assert_ne!(s.expire_at, 0);
        }
        assert_eq!(self.free.len() + self.len, self.slots_len as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 64);
    }

    #[test]
    fn insert_find_remove() {
        let mut db = Db::new();
        for i in 0..10_000u32 {
            let k = format!("key:{i}");
            db.insert(
                k.as_bytes(),
                Value::Int(i as i64),
                if i % 3 == 0 { 5 } else { 0 },
                0,
            );
        }
        db.check_invariants();
        assert_eq!(db.len(), 10_000);
        assert_eq!(db.expires_len(), 3334);
        for i in (0..10_000u32).step_by(2) {
            assert!(db.delete(format!("key:{i}").as_bytes()));
        }
        db.check_invariants();
        assert_eq!(db.len(), 5000);
        for i in 0..10_000u32 {
            assert_eq!(db.find(format!("key:{i}").as_bytes()).is_some(), i % 2 == 1);
        }
        // Lazy expiry.
        assert!(!db.contains(b"key:3", 6));
        assert_eq!(db.take_expired_count(), 1);
        assert!(db.contains(b"key:1", 6));
        db.check_invariants();
        for i in 0..10_000u32 {
            db.delete(format!("key:{i}").as_bytes());
        }
        assert!(db.is_empty());
        assert_eq!(db.slots_len, 0);
        db.check_invariants();
    }

    #[test]
    fn take_put_entries() {
        let mut db = Db::new();
        db.insert(b"a", Value::plain(b"x"), 100, 0);
        let e = db.get_entry(b"a", 50).unwrap();
        assert_eq!(e.expire_at(), Some(100));
        let e = db.take(b"a", 50).unwrap();
        assert!(db.is_empty());
        db.put(Bytes::from_static(b"b"), e.clone());
        assert_eq!(db.expires_len(), 1);
        db.put(Bytes::from_static(b"b"), Entry::new(e.into_value(), None));
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.len(), 1);
        db.check_invariants();
    }

    #[test]
    fn incremental_resize_keeps_every_key_findable() {
        let mut db = Db::new();
        let mut migrating_seen = 0;
        let mut live = std::collections::BTreeSet::new();
        for i in 0..20_000u32 {
            let k = format!("k{i}");
            db.insert(k.as_bytes(), Value::Int(i.into()), 0, 0);
            live.insert(i);
            if i % 3 == 0 {
                let victim = i / 2;
                if live.remove(&victim) {
                    assert!(db.delete(format!("k{victim}").as_bytes()));
                }
            }
            if db.old_index.is_some() {
                migrating_seen += 1;
                if i % 97 == 0 {
                    for &j in live.iter().step_by(37) {
                        assert!(db.find(format!("k{j}").as_bytes()).is_some(), "k{j}");
                    }
                    db.check_invariants();
                }
            }
        }
        assert!(migrating_seen > 100);
        db.check_invariants();
        // The cron step finishes a resize in progress.
        while db.old_index.is_some() {
            db.active_expire(0, 20);
        }
        db.check_invariants();
        for &j in &live {
            assert!(db.find(format!("k{j}").as_bytes()).is_some());
        }
        assert_eq!(db.len(), live.len());
    }
}
