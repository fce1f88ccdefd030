//! A client connection's state that commands read and change: its database, protocol, login,
//! MULTI queue, WATCH, subscriptions and output. The socket loop that serves it is `crate::net`.

use crate::client_output::ClientOutput;
use crate::clients::SharedClientInfo;
use crate::context::ExecutorCtx;
use crate::messages::Command;
use crate::shard::WatchFlag;
use bytes::Bytes;
use std::rc::Rc;

/// Per-connection state that commands read and change.
pub struct Connection {
    pub ctx: Rc<ExecutorCtx>,
    pub info: SharedClientInfo,
    pub id: u64,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// Set by QUIT, SHUTDOWN or a protocol error: close once the pending replies are written.
    pub close_after_reply: bool,
    /// Set by DFLY FLOW: this socket becomes a replication flow of (session, shard).
    pub handoff: Option<(u64, usize)>,
    /// Per shard, the journal offset after this client's last write (what WAIT waits for).
    pub write_offsets: Vec<u64>,
    /// Commands queued since MULTI.
    pub multi: Option<MultiState>,
    /// Keys watched since WATCH.
    pub watch: Option<WatchState>,
    /// Pub/Sub channels and patterns.
    pub subscriptions: Option<Box<Subscriptions>>,
    /// Where others push messages for this client, and the accounting of its unsent output.
    pub output: Rc<ClientOutput>,
}

/// Commands queued after MULTI.
#[derive(Default)]
pub struct MultiState {
    pub(crate) commands: Vec<Command>,
    /// A command was refused while queueing: EXEC aborts.
    pub(crate) failed: bool,
}

/// The keys a connection watches.
pub struct WatchState {
    pub(crate) flag: WatchFlag,
    /// (db, key, expiry when watched; 0: none).
    pub(crate) keys: Vec<(usize, Bytes, u64)>,
}

/// A connection's subscriptions (its messages arrive in its `ClientOutput`).
#[derive(Default)]
pub struct Subscriptions {
    pub(crate) channels: Vec<Bytes>,
    pub(crate) patterns: Vec<Bytes>,
}

impl Subscriptions {
    pub(crate) fn count(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }
}

impl Connection {
    /// Whether the connection is in Redis's subscribed state (a RESP2 client there may only
    /// (un)subscribe, PING, QUIT and RESET).
    pub fn subscribed(&self) -> bool {
        self.subscriptions.as_ref().is_some_and(|s| s.count() > 0)
    }
}
