//! One shard of the damselfly keyspace: compact keys and values, expiry, SCAN, digests, and the
//! single-shard logic of every data type's commands with Redis 7.0 semantics.

mod call;
mod commands;
mod compact;
pub mod config;
mod digest;
mod expiry;
mod glob;
mod interest;
mod keyspace;
mod longdouble;
mod populate;
mod scan;
mod snapshot;
pub mod spec;
pub mod types;
mod value;

use bytes::Bytes;

pub use call::Call;
pub use commands::composed;
pub use commands::{
    bitcount, bitop, bitpos, definitions, execute, group_has_unread, lookup, parse_bitop,
    parse_block_timeout, restore_commands, run, set_effect, store_bitop, stream_last_id, BitOp,
    BitposRange,
};
pub use damselfly_protocol::string2ll;
pub use digest::{digest_value, mix_digest};
pub use glob::glob_match;
pub use keyspace::Db;
pub use snapshot::PreImage;
pub use value::{Entry, Value};

/// Keyspace counters reported by INFO stats.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
}

/// What a command needs besides its arguments.
pub struct ExecContext<'a> {
    /// The command's time snapshot, unix milliseconds (0 applies a replication stream: nothing
    /// counts as expired).
    pub now_ms: u64,
    pub stats: &'a mut Stats,
    /// Where to record the command's effects for the replication journal, when one is kept.
    pub effects: Option<&'a mut Effects>,
}

/// The deterministic effects of commands, as commands a replica can replay.
#[derive(Default, Debug)]
pub struct Effects {
    /// `(db, key)` of keys deleted because they had expired, oldest first.
    pub expired: Vec<(usize, Bytes)>,
    /// `(db, command)` for each command that changed data; `None` is the command as it was sent.
    pub writes: Vec<(usize, Option<Vec<Bytes>>)>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty() && self.writes.is_empty()
    }
}
