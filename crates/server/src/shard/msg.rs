//! What travels between shards over the mesh. Every message is handled synchronously by the receiving
//! shard (no handler ever awaits), and answers through a oneshot channel.

use super::Shard;
use crate::locks::LockRequest;
use crate::messages::{Command, Output};
use damselfly_protocol::Frame;
use futures::channel::oneshot;

/// Work to run on a shard against its data.
pub type Job = Box<dyn FnOnce(&mut Shard) -> Output + Send>;

pub enum ShardMsg {
    /// Single-shard commands of one connection, in order (the fast path: no transaction id).
    Batch {
        db: usize,
        commands: Vec<Command>,
        reply: oneshot::Sender<Vec<Frame>>,
    },
    /// First hop of a multi-shard transaction: queue it and take its intent locks.
    Schedule {
        txid: u64,
        locks: Vec<LockRequest>,
        /// For a transaction that writes: how many shards take part, so each journals its share
        /// as one record a replica can match with the others.
        journal_parts: Option<u32>,
        reply: oneshot::Sender<bool>,
    },
    /// An execution hop of a scheduled transaction; the concluding hop releases its locks.
    Execute {
        txid: u64,
        conclude: bool,
        job: Job,
        reply: oneshot::Sender<Output>,
    },
    /// Conclude a transaction on a shard without running anything more: undoes a Schedule that another
    /// participant refused, or releases a participant whose part is over.
    Release { txid: u64 },
    /// Control-plane work that needs no isolation (INFO, DBSIZE, CLIENT LIST...).
    Run {
        job: Job,
        reply: oneshot::Sender<Output>,
    },
}
