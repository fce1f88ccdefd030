//! What every task on an executor reaches: the shard it owns, the channels to the other shards,
//! the shared state, and running jobs on any shard.

use crate::messages::Output;
use crate::shard::{Job, Shard, ShardMsg};
use crate::shared::Shared;
use crate::wakeup::await_remote;
use futures::channel::mpsc::UnboundedSender;
use futures::channel::oneshot;
use glommio::spawn_local;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Everything a task on this executor needs: the shard it owns and the way to reach the others.
pub struct ExecutorCtx {
    pub id: usize,
    pub shard: RefCell<Shard>,
    /// Per shard, the channel to it (None for this shard).
    senders: Vec<Option<UnboundedSender<ShardMsg>>>,
    pub shared: Arc<Shared>,
}

impl ExecutorCtx {
    pub fn new(
        id: usize,
        shard: Shard,
        senders: Vec<Option<UnboundedSender<ShardMsg>>>,
        shared: Arc<Shared>,
    ) -> ExecutorCtx {
        ExecutorCtx {
            id,
            shard: RefCell::new(shard),
            senders,
            shared,
        }
    }

    pub fn shards(&self) -> usize {
        self.shared.shards
    }

    /// Delivers a message to a shard: handled in place when it is ours, over the mesh otherwise.
    pub fn send(&self, target: usize, message: ShardMsg) {
        if target == self.id {
            self.shard.borrow_mut().handle(message);
            return;
        }
        let sent = self
            .senders
            .get(target)
            .and_then(Option::as_ref)
            .map(|sender| sender.unbounded_send(message));
        if !matches!(sent, Some(Ok(()))) {
            tracing::warn!("shard {target} is not accepting messages");
        }
    }

    /// Runs a job on one shard, without transactional isolation.
    pub async fn run_on(&self, target: usize, job: Job) -> Output {
        if target == self.id {
            return job(&mut self.shard.borrow_mut());
        }
        let (reply, result) = oneshot::channel();
        self.send(target, ShardMsg::Run { job, reply });
        await_remote(result).await.unwrap_or(Output::Unit)
    }

    /// Runs a job on every shard in parallel and returns the outputs in shard order.
    pub async fn run_everywhere(&self, make_job: impl Fn(usize) -> Job) -> Vec<Output> {
        let mut receivers = Vec::with_capacity(self.shards());
        for target in 0..self.shards() {
            let (reply, result) = oneshot::channel();
            self.send(
                target,
                ShardMsg::Run {
                    job: make_job(target),
                    reply,
                },
            );
            receivers.push(result);
        }
        let mut outputs = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            outputs.push(await_remote(receiver).await.unwrap_or(Output::Unit));
        }
        outputs
    }
}

thread_local! {
    /// This thread's executor, for work handed over from another shard (a replication flow).
    static CURRENT: RefCell<Option<Rc<ExecutorCtx>>> = const { RefCell::new(None) };
}

/// Makes `ctx` this thread's executor.
pub fn set_current(ctx: Rc<ExecutorCtx>) {
    CURRENT.with(|current| *current.borrow_mut() = Some(ctx));
}

/// The executor running on this thread.
pub fn current() -> Option<Rc<ExecutorCtx>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Spawns a task from inside a shard job (while the shard is borrowed): the task yields once before
/// running, so it never touches the shard before the job has returned.
pub fn spawn_from_job(future: impl std::future::Future<Output = ()> + 'static) {
    spawn_local(async move {
        yield_once().await;
        future.await;
    })
    .detach();
}

/// Lets every other ready task on this executor run once before continuing.
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}
