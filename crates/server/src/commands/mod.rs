//! Commands the connection runs itself (connection, server and keyspace-wide commands), plus the
//! command table and the multi-shard key commands.

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
mod replication;
mod save;
pub mod table;

pub use info::ShardInfo;
pub(crate) use replication::peer_closed;

use crate::connection::Connection;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use table::CommandSpec;

pub async fn run_server(
    conn: &mut Connection,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
) -> Frame {
    match spec.name {
        "ping" => connection::ping(conn, &args),
        "echo" => Frame::Bulk(args[1].clone()),
        "quit" => {
            conn.close_after_reply = true;
            Frame::OK
        }
        "select" => connection::select(conn, &args),
        "hello" => connection::hello(conn, &args),
        "auth" => connection::auth(conn, &args),
        "reset" => {
            conn.multi = None;
            pubsub::unsubscribe_all(conn);
            multi::unwatch_all(conn).await;
            connection::reset(conn)
        }
        "multi" => multi::multi(conn),
        "subscribe" => Frame::Many(pubsub::subscribe(conn, &args, false)),
        "psubscribe" => Frame::Many(pubsub::subscribe(conn, &args, true)),
        "unsubscribe" => Frame::Many(pubsub::unsubscribe(conn, &args, false)),
        "punsubscribe" => Frame::Many(pubsub::unsubscribe(conn, &args, true)),
        "publish" => pubsub::publish(conn, &args).await,
        "pubsub" => pubsub::pubsub(conn, &args).await,
        "exec" => multi::exec(conn).await,
        "discard" => multi::discard(conn).await,
        "watch" => multi::watch(conn, &args).await,
        "unwatch" => multi::unwatch(conn).await,
        "client" => client::run(conn, &args).await,
        "command" => command_docs::run(&args),
        "config" => config::run(conn, &args),
        "info" => info::run(conn, &args).await,
        "time" => connection::time(),
        "shutdown" => match connection::shutdown_request(conn, &args) {
            Ok(request) => save::shutdown(conn, request).await,
            Err(error) => error,
        },
        "debug" => debug::run(conn, &args).await,
        "dbsize" => keyspace::dbsize(conn).await,
        "flushdb" => keyspace::flush(conn, &args, false).await,
        "flushall" => keyspace::flush(conn, &args, true).await,
        "keys" => keyspace::keys(conn, &args).await,
        "scan" => keyspace::scan(conn, &args).await,
        "randomkey" => keyspace::random_key(conn).await,
        "save" => save::save(conn).await,
        "lastsave" => save::lastsave(conn),
        "bgsave" => save::bgsave(conn, &args),
        "replicaof" | "slaveof" => replication::replicaof(conn, &args).await,
        "role" => replication::role(conn),
        "wait" => replication::wait(conn, &args).await,
        "replconf" => replication::replconf(&args),
        "dfly" => replication::dfly(conn, &args).await,
        "psync" | "sync" => Frame::error(
            "ERR damselfly replicas only: connect with damselfly --replicaof (PSYNC/SYNC not supported)",
        ),
        _ => crate::pipeline::unknown_command(&args),
    }
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
