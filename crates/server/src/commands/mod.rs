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

pub use info::ShardInfo;
pub(crate) use replication::peer_closed;

use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;

/// `ERR unknown subcommand ...` as Redis words it.
pub fn unknown_subcommand(args: &[Bytes]) -> Frame {
    Frame::error_owned(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1])
            .chars()
            .take(128)
            .collect::<String>(),
        String::from_utf8_lossy(&args[0]).to_uppercase()
    ))
}

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
