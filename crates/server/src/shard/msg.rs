//! What travels between shards over the mesh. Every message is handled synchronously by the receiving
//! shard (no handler ever awaits), and answers through a oneshot channel: a job sends its own typed
//! result (`job`), so no message type lists what jobs return.

use super::Shard;
use crate::locks::LockRequest;
use crate::messages::Command;
use damselfly_protocol::Frame;
use futures::channel::oneshot;

/// Work to run on a shard against its data; it sends its result itself (see `job`).
pub type Job = Box<dyn FnOnce(&mut Shard) + Send>;

/// Work computing a `T` on a shard, before it is made a `Job`.
pub type Work<T> = Box<dyn FnOnce(&mut Shard) -> T + Send>;

/// Makes `work` a job that sends its result to the returned receiver (which yields `Canceled`
/// when the job is dropped unrun: its transaction was released, or the shard is gone).
pub fn job<T: Send + 'static>(
    work: impl FnOnce(&mut Shard) -> T + Send + 'static,
) -> (Job, oneshot::Receiver<T>) {
    let (reply, result) = oneshot::channel();
    let job: Job = Box::new(move |shard| {
        let _ = reply.send(work(shard));
    });
    (job, result)
}

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
    Execute { txid: u64, conclude: bool, job: Job },
    /// Conclude a transaction on a shard without running anything more: undoes a Schedule that another
    /// participant refused, or releases a participant whose part is over.
    Release { txid: u64 },
    /// Control-plane work that needs no isolation (INFO, DBSIZE, CLIENT LIST...).
    Run { job: Job },
}
