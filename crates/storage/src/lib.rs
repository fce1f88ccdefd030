//! One shard of the damselfly keyspace: compact keys and values, expiry, SCAN, digests, and the
//! single-shard logic of the string and generic key commands with Redis 7.0 semantics.

mod commands;
mod compact;
mod digest;
mod expiry;
mod glob;
mod keyspace;
mod longdouble;
mod populate;
mod scan;
mod value;

pub use commands::execute;
pub use damselfly_protocol::string2ll;
pub use digest::{digest_value, mix_digest};
pub use glob::glob_match;
pub use keyspace::Db;
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
    /// The command's time snapshot, unix milliseconds.
    pub now_ms: u64,
    pub stats: &'a mut Stats,
}
