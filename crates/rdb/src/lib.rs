//! RDB codec for damselfly: the Redis snapshot format used by full-sync
//! replication and `dump.rdb` persistence.
//!
//! # Supported subset
//!
//! The writer emits **RDB version 10** (the format of Redis 7.0):
//!
//! * header `REDIS0010`;
//! * `AUX` (0xFA) fields, by default `redis-ver` 7.0.15, `redis-bits` 64,
//!   `ctime`, `used-mem` and `aof-base` 0;
//! * `SELECTDB` (0xFE) and `RESIZEDB` (0xFB) per database;
//! * per key an optional `EXPIRETIME_MS` (0xFC, i64 little-endian), the type
//!   byte, the key and the value;
//! * `FUNCTION2` (0xF5) library code blobs;
//! * `EOF` (0xFF) followed by the CRC-64 (Jones, Redis variant) of every
//!   preceding byte, little-endian.
//!
//! Values are encoded exactly as Redis 7.0 (default configuration) saves them, so that its
//! `DUMP` payloads and our [`encode_value`] agree byte for byte:
//!
//! * strings: integer-looking strings of at most 11 bytes that are canonical decimals fitting in
//!   `i32` become INT8/INT16/INT32; strings longer than 20 bytes are LZF-compressed (with
//!   Redis's own liblzf output) when that saves at least 4 bytes (compression can be switched
//!   off); everything else is a length-prefixed raw string;
//! * lists: `LIST_QUICKLIST_2` (18), listpack nodes split at 8 KiB as Redis splits them;
//! * sets: `SET_INTSET` (11) for at most 512 integers, `SET` (2) otherwise;
//! * hashes: `HASH_LISTPACK` (16) for at most 512 fields with fields and values of at most 64
//!   bytes, `HASH` (4) otherwise;
//! * sorted sets: `ZSET_LISTPACK` (17, scores as `%.17g` text) for at most 128 members of at most
//!   64 bytes, `ZSET_2` (5, binary scores, highest first) otherwise;
//! * streams: `STREAM_LISTPACKS_2` (19) with nodes of at most 100 entries / 4 KiB, consumer
//!   groups, pending entries and consumers.
//!
//! The reader accepts RDB versions 1 to 10. It understands `AUX`, `SELECTDB`,
//! `RESIZEDB`, `EXPIRETIME` (seconds), `EXPIRETIME_MS`, `IDLE`, `FREQ` and
//! `FUNCTION2`, and every value type Redis 7.0 loads: strings in every encoding, lists (1, 10,
//! 14, 18 with plain and packed nodes), sets (2, 11), sorted sets (3, 5, 12, 17), hashes (4, 9,
//! 13, 16) and streams (15, 19); it verifies the trailing CRC-64 (a stored checksum of 0 means
//! "checksum disabled", as in Redis; versions below 5 have no checksum). Module values yield
//! [`Error::UnsupportedType`]; `MODULE_AUX` records are stepped over (their items are
//! self-describing) and reported as [`RdbEvent::ModuleAux`]; `FUNCTION_PRE_GA` yields
//! [`Error::UnsupportedOpcode`]. Listpacks, ziplists, zipmaps and intsets are checked against
//! their own size fields. The reader never panics on malformed input and never allocates based
//! on an untrusted length before the bytes have actually arrived.
//!
//! The reader consumes exactly the bytes of the RDB payload (it stops right
//! after the checksum), so it can be used on a replication stream. It reads
//! in small pieces: wrap unbuffered sources in a [`std::io::BufReader`] (and
//! bound it with [`std::io::Read::take`] when more data follows the payload).

mod encoding;
mod error;
mod fragment;
mod intset;
mod listpack;
mod lzf;
mod numbers;
mod objects;
mod reader;
mod stream;
mod writer;
mod ziplist;

pub use encoding::{
    crc64, decode_len, encode_len, encode_string, lzf_decompress, try_int_encoding, Len,
};
pub use error::{Error, Result};
pub use fragment::{
    decode_value, encode_value, read_record, write_record, write_string_record, Record,
};
pub use reader::{
    read_rdb, Entry, RdbEvent, RdbFile, RdbReader, Stream, StreamEntry, StreamGroup, StreamId,
    Value,
};
pub use writer::RdbWriter;

/// RDB version written by [`RdbWriter`] (Redis 7.0).
pub const RDB_VERSION: u32 = 10;
/// Redis version announced in the `redis-ver` AUX field.
pub const REDIS_VERSION: &str = "7.0.15";

/// RDB opcodes (the byte that precedes each top-level record).
pub mod opcode {
    /// `FUNCTION2`: a function library (its code as one string).
    pub const FUNCTION2: u8 = 245;
    /// `FUNCTION_PRE_GA`: pre-release function format (not supported).
    pub const FUNCTION_PRE_GA: u8 = 246;
    /// `MODULE_AUX`: module auxiliary data (skipped).
    pub const MODULE_AUX: u8 = 247;
    /// `IDLE`: LRU idle time in seconds (length-encoded).
    pub const IDLE: u8 = 248;
    /// `FREQ`: LFU frequency (one byte).
    pub const FREQ: u8 = 249;
    /// `AUX`: a key/value metadata pair.
    pub const AUX: u8 = 250;
    /// `RESIZEDB`: database size and expires size hints.
    pub const RESIZEDB: u8 = 251;
    /// `EXPIRETIME_MS`: absolute expiry in ms, i64 little-endian.
    pub const EXPIRETIME_MS: u8 = 252;
    /// `EXPIRETIME`: absolute expiry in seconds, i32 little-endian (legacy).
    pub const EXPIRETIME: u8 = 253;
    /// `SELECTDB`: switch the current database.
    pub const SELECTDB: u8 = 254;
    /// `EOF`: end of the payload, followed by the CRC-64 (v5+).
    pub const EOF: u8 = 255;
}

/// RDB value type bytes.
pub mod types {
    /// Plain string.
    pub const STRING: u8 = 0;
    /// Linked list (legacy).
    pub const LIST: u8 = 1;
    /// Hash-table set.
    pub const SET: u8 = 2;
    /// Skiplist zset with string scores (legacy).
    pub const ZSET: u8 = 3;
    /// Hash-table hash.
    pub const HASH: u8 = 4;
    /// Skiplist zset with binary double scores.
    pub const ZSET_2: u8 = 5;
    /// Module value.
    pub const MODULE_2: u8 = 7;
    /// Zipmap-encoded hash (before Redis 2.6).
    pub const HASH_ZIPMAP: u8 = 9;
    /// Ziplist-encoded list (before Redis 3.2).
    pub const LIST_ZIPLIST: u8 = 10;
    /// Intset-encoded set.
    pub const SET_INTSET: u8 = 11;
    /// Ziplist-encoded zset (before Redis 7.0).
    pub const ZSET_ZIPLIST: u8 = 12;
    /// Ziplist-encoded hash (before Redis 7.0).
    pub const HASH_ZIPLIST: u8 = 13;
    /// Quicklist of ziplists (Redis 3.2 to 6.2).
    pub const LIST_QUICKLIST: u8 = 14;
    /// Stream (Redis 5.0 to 6.2).
    pub const STREAM_LISTPACKS: u8 = 15;
    /// Listpack-encoded hash (Redis 7.0).
    pub const HASH_LISTPACK: u8 = 16;
    /// Listpack-encoded zset (Redis 7.0).
    pub const ZSET_LISTPACK: u8 = 17;
    /// Quicklist of listpacks (Redis 7.0).
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Stream (Redis 7.0).
    pub const STREAM_LISTPACKS_2: u8 = 19;
}
