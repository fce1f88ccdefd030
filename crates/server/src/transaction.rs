//! The coordinator side of a multi-shard transaction: schedule on every participant (retrying with a new id
//! when a shard refuses), run execution hops, and conclude on every shard.

use crate::context::ExecutorCtx;
use crate::locks::LockRequest;
use crate::shard::{job, ShardMsg, Work};
use crate::wakeup::await_remote;
use futures::channel::oneshot;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

pub struct Transaction {
    ctx: Rc<ExecutorCtx>,
    txid: u64,
    /// Participants that have not concluded yet.
    open: BTreeSet<usize>,
}

impl Transaction {
    /// Schedules a transaction taking `locks` on each shard; returns once every shard has queued it.
    /// A transaction that `writes` is journaled by each shard as one part of the whole.
    pub async fn begin(
        ctx: &Rc<ExecutorCtx>,
        locks: BTreeMap<usize, Vec<LockRequest>>,
        writes: bool,
    ) -> Transaction {
        let journal_parts = writes.then_some(locks.len() as u32);
        let mut attempt = 0u32;
        loop {
            let txid = ctx.shared.next_txid();
            let mut answers = Vec::with_capacity(locks.len());
            for (&shard, requests) in &locks {
                let (reply, answer) = oneshot::channel();
                ctx.send(
                    shard,
                    ShardMsg::Schedule {
                        txid,
                        locks: requests.clone(),
                        journal_parts,
                        reply,
                    },
                );
                answers.push((shard, answer));
            }
            let mut accepted = Vec::with_capacity(answers.len());
            for (shard, answer) in answers {
                if await_remote(answer).await.unwrap_or(false) {
                    accepted.push(shard);
                }
            }
            if accepted.len() == locks.len() {
                return Transaction {
                    ctx: ctx.clone(),
                    txid,
                    open: accepted.into_iter().collect(),
                };
            }
            for shard in accepted {
                ctx.send(shard, ShardMsg::Release { txid });
            }
            attempt += 1;
            let pause = rand::thread_rng().gen_range(0..(20u64 << attempt.min(6)));
            glommio::timer::sleep(Duration::from_micros(pause)).await;
        }
    }

    /// Runs one piece of work per listed shard in parallel; `conclude` releases those shards' locks
    /// afterwards. The results come in the order of `hops` (None for a shard that did not answer).
    pub async fn hop<T: Send + 'static>(
        &mut self,
        hops: Vec<(usize, Work<T>)>,
        conclude: bool,
    ) -> Vec<Option<T>> {
        let mut answers = Vec::with_capacity(hops.len());
        for (shard, work) in hops {
            let (job, answer) = job(work);
            self.ctx.send(
                shard,
                ShardMsg::Execute {
                    txid: self.txid,
                    conclude,
                    job,
                },
            );
            if conclude {
                self.open.remove(&shard);
            }
            answers.push(answer);
        }
        let mut outputs = Vec::with_capacity(answers.len());
        for answer in answers {
            outputs.push(await_remote(answer).await.ok());
        }
        outputs
    }

    /// Concludes on every participant that has not concluded yet, without running anything more.
    pub async fn finish(mut self) {
        for shard in std::mem::take(&mut self.open) {
            self.ctx.send(shard, ShardMsg::Release { txid: self.txid });
        }
    }
}

impl Drop for Transaction {
    /// A transaction abandoned midway (its connection task cancelled) must still release its locks, or every
    /// later command on those keys would wait forever.
    fn drop(&mut self) {
        let open = std::mem::take(&mut self.open);
        if open.is_empty() {
            return;
        }
        let (ctx, txid) = (self.ctx.clone(), self.txid);
        glommio::spawn_local(async move {
            for shard in open {
                ctx.send(shard, ShardMsg::Release { txid });
            }
        })
        .detach();
    }
}
