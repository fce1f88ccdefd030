//! DEBUG POPULATE, producing the same keys and values as Redis 7.0 (debug.c).

use crate::keyspace::Db;
use crate::value::Value;
use std::ops::Range;

/// Redis formats keys into a 128-byte buffer with snprintf.
const KEY_BUF: usize = 128;

fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The key Redis builds for index `i`: `"{prefix}:{i}"`, with the prefix cut at its first NUL
/// (it goes through `%s`) and the whole truncated to 127 bytes.
pub fn populate_key(prefix: &[u8], i: u64) -> Vec<u8> {
    let prefix = prefix
        .iter()
        .position(|&b| b == 0)
        .map_or(prefix, |end| &prefix[..end]);
    let mut key = Vec::with_capacity(prefix.len() + 21);
    key.extend_from_slice(prefix);
    key.push(b':');
    key.extend_from_slice(i.to_string().as_bytes());
    key.truncate(KEY_BUF - 1);
    key
}

/// The value Redis stores for index `i`: `"value:{i}"`, or with `size > 0` exactly `size` bytes:
/// that text truncated, or zero-padded.
pub fn populate_value(i: u64, size: usize) -> Vec<u8> {
    let text = format!("value:{i}").into_bytes();
    if size == 0 {
        return text;
    }
    let mut v = vec![0u8; size];
    let n = size.min(text.len());
    v[..n].copy_from_slice(&text[..n]);
    v
}

impl Db {
    /// DEBUG POPULATE: adds `"{prefix}:{i}"` for every `i` in `range` that `owns` accepts and that
    /// does not exist yet. Returns the number of keys added.
    pub fn populate(
        &mut self,
        prefix: &[u8],
        range: Range<u64>,
        size: usize,
        owns: &dyn Fn(&[u8]) -> bool,
        mut journal: Option<&mut Vec<Vec<bytes::Bytes>>>,
    ) -> u64 {
        let now = wall_clock_ms();
        let mut added = 0;
        for i in range {
            let key = populate_key(prefix, i);
            if !owns(&key) || self.lookup(&key, now).is_some() {
                continue;
            }
            let value = populate_value(i, size);
            if let Some(journal) = journal.as_deref_mut() {
                journal.push(vec![
                    bytes::Bytes::from_static(b"SET"),
                    bytes::Bytes::copy_from_slice(&key),
                    bytes::Bytes::copy_from_slice(&value),
                ]);
            }
            self.insert(&key, Value::plain_vec(value), 0, now);
            added += 1;
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        assert_eq!(populate_key(b"key", 7), b"key:7");
        assert_eq!(populate_key(b"a\0b", 7), b"a:7");
        assert_eq!(populate_key(&[b'x'; 200], 7).len(), 127);
        assert_eq!(populate_value(12, 0), b"value:12");
        assert_eq!(populate_value(12, 3), b"val");
        assert_eq!(populate_value(12, 10), b"value:12\0\0");
    }

    #[test]
    fn populate_skips_existing_and_foreign() {
        let mut db = Db::new();
        db.insert(b"key:1", Value::Int(5), 0, 0);
        let added = db.populate(b"key", 0..10, 0, &|k: &[u8]| k != b"key:3", None);
        assert_eq!(added, 8);
        assert_eq!(db.len(), 9);
        let id = db.find(b"key:1").unwrap();
        assert_eq!(db.slot(id).value, Value::Int(5));
        let id = db.find(b"key:2").unwrap();
        assert_eq!(db.slot(id).value.encoding(), "embstr");
        // Truncated keys collide: only the first is added.
        let mut db = Db::new();
        assert_eq!(
            db.populate(&[b'p'; 130], 0..5, 0, &|_: &[u8]| true, None),
            1
        );
    }

    /// redis-server 7.0.15 uses about 88 bytes per key after DEBUG POPULATE 1000000.
    #[test]
    fn memory_per_key_below_redis() {
        let mut db = Db::new();
        let n = 300_000;
        db.populate(b"key", 0..n, 0, &|_: &[u8]| true, None);
        while db.old_index.is_some() {
            db.migrate(u32::MAX);
        }
        let per_key = db.used_value_bytes() / n as usize;
        assert!(per_key < 88, "{per_key} bytes per key");
    }
}
