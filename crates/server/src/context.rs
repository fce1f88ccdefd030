//! What every task on an executor reaches: the shard it owns, the channels to the other shards,
//! the shared state, and running jobs on any shard.

use crate::shard::{job, Shard, ShardMsg};
use crate::shared::Shared;
use crate::wakeup::await_remote;
use futures::channel::mpsc::UnboundedSender;
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

    /// Runs `work` on one shard, without transactional isolation. None when the shard did not
    /// answer (it is shutting down).
    pub async fn run_on<T: Send + 'static>(
        &self,
        target: usize,
        work: impl FnOnce(&mut Shard) -> T + Send + 'static,
    ) -> Option<T> {
        if target == self.id {
            return Some(self.shard.borrow_mut().run_job(work));
        }
        let (job, result) = job(work);
        self.send(target, ShardMsg::Run { job });
        await_remote(result).await.ok()
    }

    /// Runs the work `make` gives for each shard on every shard in parallel; the results come in
    /// shard order (None for a shard that did not answer).
    pub async fn run_everywhere<T, W>(&self, make: impl Fn(usize) -> W) -> Vec<Option<T>>
    where
        T: Send + 'static,
        W: FnOnce(&mut Shard) -> T + Send + 'static,
    {
        let mut results = Vec::with_capacity(self.shards());
        for target in 0..self.shards() {
            let (job, result) = job(make(target));
            self.send(target, ShardMsg::Run { job });
            results.push(result);
        }
        let mut outputs = Vec::with_capacity(results.len());
        for result in results {
            outputs.push(await_remote(result).await.ok());
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
