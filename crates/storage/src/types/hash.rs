//! A hash: listpack while small, hashtable past hash-max-listpack-entries/value (one way, as in
//! Redis 7.0).

mod listpack;
mod table;
mod varint;

use crate::config::{HASH_MAX_LISTPACK_ENTRIES, HASH_MAX_LISTPACK_VALUE};
use crate::digest::{mix_digest, xor_digest};
use listpack::Listpack;
use std::fmt;
use table::Table;

/// Redis refuses to grow a listpack past 1 GiB (lpSafeToAdd) and converts instead.
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

#[derive(Clone, Default)]
pub struct Hash {
    enc: Encoding,
}

#[derive(Clone)]
enum Encoding {
    Listpack(Listpack),
    Table(Box<Table>),
}

impl Default for Encoding {
    fn default() -> Encoding {
        Encoding::Listpack(Listpack::default())
    }
}

fn exceeds_value_limit(item: &[u8]) -> bool {
    item.len() as u64 > HASH_MAX_LISTPACK_VALUE.get() as u64
}

impl Hash {
    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.len(),
            Encoding::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match &self.enc {
            Encoding::Listpack(_) => "listpack",
            Encoding::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.heap_bytes(),
            Encoding::Table(t) => t.heap_bytes() + std::mem::size_of::<Table>(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.enc {
            Encoding::Listpack(lp) => lp.get(field),
            Encoding::Table(t) => t.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Redis's hashTypeTryConversion: before HSET writes `items` (fields and values), converts to
    /// a hashtable if any is too long for the listpack or the listpack would pass its size limit.
    pub fn prepare_for(&mut self, items: &[&[u8]]) {
        let Encoding::Listpack(lp) = &self.enc else {
            return;
        };
        let too_long = items.iter().any(|item| exceeds_value_limit(item));
        let total: usize = items.iter().map(|item| item.len()).sum();
        if too_long || lp.used_bytes().saturating_add(total) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Sets a field (Redis's hashTypeSet, converting as it does); true when the field was new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if matches!(self.enc, Encoding::Listpack(_))
            && (exceeds_value_limit(field) || exceeds_value_limit(value))
        {
            self.convert();
        }
        match &mut self.enc {
            Encoding::Listpack(lp) => {
                let added = lp.set(field, value);
                if lp.len() as u64 > HASH_MAX_LISTPACK_ENTRIES.get() as u64 {
                    self.convert();
                }
                added
            }
            Encoding::Table(t) => t.set(field, value),
        }
    }

    /// Removes a field; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Listpack(lp) => lp.remove(field),
            Encoding::Table(t) => t.remove(field),
        }
    }

    /// Every pair, in the encoding's order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (lp, table) = match &self.enc {
            Encoding::Listpack(lp) => (Some(lp.iter()), None),
            Encoding::Table(t) => (None, Some(t.iter())),
        };
        lp.into_iter().flatten().chain(table.into_iter().flatten())
    }

    /// A pair picked at random, None when empty (`random_below(n)` returns a number below n).
    pub fn random_pair(
        &self,
        random_below: &mut dyn FnMut(usize) -> usize,
    ) -> Option<(&[u8], &[u8])> {
        if self.is_empty() {
            return None;
        }
        match &self.enc {
            Encoding::Listpack(lp) => lp.iter().nth(random_below(lp.len())),
            Encoding::Table(t) => Some(t.random(random_below)),
        }
    }

    /// One HSCAN step: a listpack is visited whole (cursor 0 back, as Redis does); a hashtable
    /// visits about `count` pairs from `cursor`. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.enc {
            Encoding::Listpack(lp) => {
                lp.iter().for_each(|(f, v)| visit(f, v));
                0
            }
            Encoding::Table(t) => t.scan(cursor, count, visit),
        }
    }

    fn convert(&mut self) {
        if let Encoding::Listpack(lp) = &self.enc {
            let mut table = Table::with_capacity(lp.len());
            for (field, value) in lp.iter() {
                table.set(field, value);
            }
            self.enc = Encoding::Table(Box::new(table));
        }
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for this type.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        for (field, value) in self.iter() {
            let mut pair = [0u8; 20];
            mix_digest(&mut pair, field);
            mix_digest(&mut pair, value);
            xor_digest(digest, &pair);
        }
    }

    /// Builds a value from loaded contents (SAVE files, snapshots, RESTORE), choosing the encoding by
    /// the thresholds as Redis does on load.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Hash {
        let big = pairs.len() as u64 > HASH_MAX_LISTPACK_ENTRIES.get() as u64
            || pairs
                .iter()
                .any(|(f, v)| exceeds_value_limit(f) || exceeds_value_limit(v));
        let mut hash = Hash::default();
        if big {
            hash.enc = Encoding::Table(Box::new(Table::with_capacity(pairs.len())));
        }
        for (field, value) in &pairs {
            hash.set(field, value);
        }
        hash
    }

    /// The contents in the RDB crate's neutral form (SAVE, replication snapshots, DUMP).
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        damselfly_rdb::Value::Hash(self.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
    }
}

/// Equal when the encodings and the contents are.
impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.encoding() == other.encoding()
            && self.len() == other.len()
            && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;
