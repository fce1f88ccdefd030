//! Commands the connection runs itself (connection, server and keyspace-wide commands), the
//! registry of every command's definition, and the multi-shard key commands.

mod client;
mod command_docs;
mod config;
pub mod connection;
mod debug;
pub mod gather;
mod info;
mod keyspace;
pub mod multi;
pub mod multikey;
pub mod pubsub;
pub mod registry;
mod replication;
mod save;

pub(crate) use replication::peer_closed;

use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;

pub use crate::spec::unknown_subcommand;

pub fn wrong_arity(name: &str) -> Frame {
    Frame::error_owned(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// Parses an integer argument with Redis's strict rules (no `+`, no leading zeros, no spaces).
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    damselfly_storage::string2ll(arg)
}

pub fn not_an_integer() -> Frame {
    Frame::error(errors::NOT_INTEGER)
}

pub fn bulk_str(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}
