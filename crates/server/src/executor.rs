//! One executor: its shard, its listeners, the tasks draining messages from the other shards, and the
//! active-expiry cycle.

use crate::clients::ClientInfo;
use crate::context::ExecutorCtx;
use crate::persistence::ShardKeys;
use crate::shard::{now_ms, Shard};
use crate::shared::Shared;
use crate::wakeup::{await_remote_every, IDLE_REPOLL};
use futures::future::join_all;
use futures::StreamExt;
use glommio::net::TcpListener;
use glommio::{spawn_local, timer};
use std::os::fd::{FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The keys each shard starts with, loaded from the snapshot file before the executors start.
pub type InitialKeys = Arc<Mutex<Vec<ShardKeys>>>;

pub async fn executor_main(
    id: usize,
    ports: crate::mesh::Ports,
    shared: Arc<Shared>,
    listener_fds: Vec<Vec<RawFd>>,
    initial_keys: InitialKeys,
) {
    let crate::mesh::Ports { senders, receivers } = ports;
    let mut shard = Shard::new(id, shared.clone());
    let keys = initial_keys
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(id)
        .map(std::mem::take)
        .unwrap_or_default();
    for (db, key, entry) in keys {
        shard.dbs[db].put(key, entry);
    }
    let ctx = Rc::new(ExecutorCtx::new(id, shard, senders, shared));
    crate::context::set_current(ctx.clone());
    for mut receiver in receivers {
        let ctx = ctx.clone();
        spawn_local(async move {
            while let Some(message) = await_remote_every(receiver.next(), IDLE_REPOLL).await {
                ctx.shard.borrow_mut().handle(message);
            }
        })
        .detach();
    }
    spawn_local(expiry_cycle(ctx.clone())).detach();
    let idle_ctx = ctx.clone();
    spawn_local(async move {
        let close = |is_idle: &dyn Fn(&ClientInfo) -> bool| {
            idle_ctx.shard.borrow_mut().clients.kill(is_idle)
        };
        crate::idle_clients::close_idle_clients(&idle_ctx.shared.client_limits, close).await
    })
    .detach();
    if let (0, Some((host, port))) = (id, ctx.shared.config.replicaof.clone()) {
        let ctx = ctx.clone();
        spawn_local(async move { crate::replication::replica::follow(&ctx, host, port).await })
            .detach();
    }
    let fds = listener_fds.get(id).cloned().unwrap_or_default();
    join_all(fds.into_iter().map(|fd| accept_loop(ctx.clone(), fd))).await;
}

async fn accept_loop(ctx: Rc<ExecutorCtx>, fd: RawFd) {
    // SAFETY: the fd is a bound, listening socket created for this executor alone in `listener::bind_all`.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    loop {
        match listener.accept().await {
            Ok(stream) => {
                spawn_local(crate::net::serve(ctx.clone(), stream)).detach();
            }
            Err(err) => {
                tracing::warn!("accept failed: {err}");
                timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Redis's active expiry: ten times a second sample keys with a TTL and delete expired ones, repeating while
/// more than a quarter of a sample was expired, within a CPU budget per tick. The same tick drops
/// stale replication flows and, once a second, the blocked-client entries of clients that left.
async fn expiry_cycle(ctx: Rc<ExecutorCtx>) {
    const SAMPLE: usize = 20;
    const BUDGET: Duration = Duration::from_millis(2);
    let mut ticks = 0u64;
    loop {
        timer::sleep(Duration::from_millis(100)).await;
        ticks += 1;
        if ticks.is_multiple_of(10) {
            ctx.shard.borrow_mut().drop_departed_waiters();
            if ctx.id == 0 {
                ctx.shared.repl.refresh_good_replicas();
            }
        }
        crate::replication::primary::drop_stale_flows(&ctx);
        ctx.shard.borrow_mut().journal.seal();
        if ctx.shared.repl.is_replica() {
            // Only the primary expires keys; its deletions arrive through the stream.
            continue;
        }
        let started = Instant::now();
        let databases = ctx.shard.borrow().dbs.len();
        for db in 0..databases {
            loop {
                let expired = {
                    let mut shard = ctx.shard.borrow_mut();
                    let expired = shard.dbs[db].active_expire(now_ms(), SAMPLE);
                    shard.stats.expired_keys += expired as u64;
                    shard.journal_side_effects();
                    expired
                };
                if expired * 4 <= SAMPLE || started.elapsed() > BUDGET {
                    break;
                }
                glommio::yield_if_needed().await;
            }
        }
    }
}
