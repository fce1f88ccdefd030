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

/// Redis's reply to an unknown command, quoting up to 128 bytes of its arguments.
pub fn unknown_command(args: &[Bytes]) -> Frame {
    let name: String = String::from_utf8_lossy(&args[0])
        .chars()
        .take(128)
        .collect();
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let text = String::from_utf8_lossy(&arg[..arg.len().min(room)]).into_owned();
        quoted.push_str(&format!("'{text}' "));
    }
    let text = format!("ERR unknown command '{name}', with args beginning with: {quoted}");
    Frame::error_owned(text)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_quotes_arguments_like_redis() {
        let args = vec![
            Bytes::from_static(b"foo"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ];
        assert_eq!(
            unknown_command(&args),
            Frame::error_owned(
                "ERR unknown command 'foo', with args beginning with: 'a' 'b' ".to_string()
            )
        );
    }
}
