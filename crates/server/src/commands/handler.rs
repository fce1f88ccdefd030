//! How a command the connection runs is run: its handler type (type-erased in the definition) and
//! the call that downcasts and runs it.

use crate::connection::Connection;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{CommandDef, Run};
use futures::future::LocalBoxFuture;

/// How a command that the connection runs is run.
pub enum ConnectionHandler {
    /// Answers at once.
    Now(fn(&mut Connection, &[Bytes]) -> Frame),
    /// Awaits other shards or tasks.
    Later(for<'c> fn(&'c mut Connection, Vec<Bytes>) -> LocalBoxFuture<'c, Frame>),
}

pub use ConnectionHandler::{Later, Now};

/// The connection's handler of a command it runs (None for a shard command).
pub fn connection_handler(def: &CommandDef) -> Option<&'static ConnectionHandler> {
    match def.run {
        Run::Connection(handler) => handler.downcast_ref::<ConnectionHandler>(),
        Run::Shard(_) => None,
    }
}

/// Runs a command the connection runs itself.
pub async fn run_connection_command(
    conn: &mut Connection,
    def: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    match connection_handler(def) {
        Some(Now(handler)) => handler(conn, &args),
        Some(Later(handler)) => handler(conn, args).await,
        None => crate::spec::unknown_command(&args),
    }
}
