//! Encoding thresholds and the string size limit, with Redis's parameter names and defaults. Set at
//! start and by CONFIG SET, read by every shard when a value grows (relaxed atomics: a change applies
//! to later writes).

use std::sync::atomic::{AtomicI64, Ordering};

pub struct Threshold {
    /// Redis's parameter name (CONFIG GET/SET).
    pub name: &'static str,
    /// The pre-7.0 alias Redis also accepts (`ziplist` for `listpack`), if any.
    pub alias: Option<&'static str>,
    value: AtomicI64,
    pub min: i64,
    pub max: i64,
}

impl Threshold {
    const fn new(
        name: &'static str,
        alias: Option<&'static str>,
        default: i64,
        min: i64,
        max: i64,
    ) -> Threshold {
        Threshold {
            name,
            alias,
            value: AtomicI64::new(default),
            min,
            max,
        }
    }

    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Sets the value; false when it is out of range.
    pub fn set(&self, value: i64) -> bool {
        if value < self.min || value > self.max {
            return false;
        }
        self.value.store(value, Ordering::Relaxed);
        true
    }
}

/// Positive: most entries per list node; -1..-5: node size limit of 4, 8, 16, 32, 64 KiB.
pub static LIST_MAX_LISTPACK_SIZE: Threshold = Threshold::new(
    "list-max-listpack-size",
    Some("list-max-ziplist-size"),
    -2,
    i32::MIN as i64,
    i32::MAX as i64,
);
pub static LIST_COMPRESS_DEPTH: Threshold =
    Threshold::new("list-compress-depth", None, 0, 0, i32::MAX as i64);
pub static HASH_MAX_LISTPACK_ENTRIES: Threshold = Threshold::new(
    "hash-max-listpack-entries",
    Some("hash-max-ziplist-entries"),
    512,
    0,
    i64::MAX,
);
pub static HASH_MAX_LISTPACK_VALUE: Threshold = Threshold::new(
    "hash-max-listpack-value",
    Some("hash-max-ziplist-value"),
    64,
    0,
    i64::MAX,
);
pub static SET_MAX_INTSET_ENTRIES: Threshold =
    Threshold::new("set-max-intset-entries", None, 512, 0, i64::MAX);
pub static ZSET_MAX_LISTPACK_ENTRIES: Threshold = Threshold::new(
    "zset-max-listpack-entries",
    Some("zset-max-ziplist-entries"),
    128,
    0,
    i64::MAX,
);
pub static ZSET_MAX_LISTPACK_VALUE: Threshold = Threshold::new(
    "zset-max-listpack-value",
    Some("zset-max-ziplist-value"),
    64,
    0,
    i64::MAX,
);
pub static STREAM_NODE_MAX_BYTES: Threshold =
    Threshold::new("stream-node-max-bytes", None, 4096, 0, i64::MAX);
pub static STREAM_NODE_MAX_ENTRIES: Threshold =
    Threshold::new("stream-node-max-entries", None, 100, 0, i64::MAX);

/// Largest bulk string a client may send and largest string a command may build.
pub static PROTO_MAX_BULK_LEN: Threshold = Threshold::new(
    "proto-max-bulk-len",
    None,
    512 * 1024 * 1024,
    1024 * 1024,
    i64::MAX,
);

/// Every threshold, for CONFIG GET/SET.
pub static ALL: [&Threshold; 10] = [
    &LIST_MAX_LISTPACK_SIZE,
    &LIST_COMPRESS_DEPTH,
    &HASH_MAX_LISTPACK_ENTRIES,
    &HASH_MAX_LISTPACK_VALUE,
    &SET_MAX_INTSET_ENTRIES,
    &ZSET_MAX_LISTPACK_ENTRIES,
    &ZSET_MAX_LISTPACK_VALUE,
    &STREAM_NODE_MAX_BYTES,
    &STREAM_NODE_MAX_ENTRIES,
    &PROTO_MAX_BULK_LEN,
];

/// The threshold CONFIG knows by `name` (or its alias), case-insensitively.
pub fn find(name: &str) -> Option<&'static Threshold> {
    ALL.iter().copied().find(|t| {
        t.name.eq_ignore_ascii_case(name) || t.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}
