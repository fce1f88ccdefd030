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
    /// Set by DFLY FLOW, PSYNC or SYNC: this socket becomes a replication stream.
    pub handoff: Option<Handoff>,
    /// What a redis-server replica said with REPLCONF before PSYNC.
    pub replica_hello: Option<Box<ReplicaHello>>,
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

/// What a connection becomes after the command that hands its socket over.
pub enum Handoff {
    /// A damselfly replica's flow of (session, shard).
    Flow { session: u64, shard: usize },
    /// A replica (or a tool) that asked for the Redis-format stream with PSYNC or SYNC.
    RedisReplica(Box<StreamRequest>),
}

/// A replica's REPLCONF options (`listening-port`, `ip-address`, `capa`).
#[derive(Default, Clone)]
pub struct ReplicaHello {
    pub listening_port: Option<u16>,
    pub ip_address: Option<String>,
    /// The replica reads an RDB sent without its length first (`$EOF:<mark>`).
    pub capa_eof: bool,
    /// The replica understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
}

/// PSYNC or SYNC: where the replica says it stands, and how it can be fed.
pub struct StreamRequest {
    /// `PSYNC replid offset`: the replication id and how many bytes of its stream the replica
    /// has (PSYNC's offset minus one). None for `SYNC` and `PSYNC ? -1`.
    pub resume: Option<(String, u64)>,
    /// SYNC: no `+FULLRESYNC` line, the RDB follows at once.
    pub legacy_sync: bool,
    pub hello: ReplicaHello,
    pub ip: String,
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
