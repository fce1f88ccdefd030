//! Redis's `timeout`: a normal client that sends nothing for that many seconds is closed. Replicas,
//! the link to our primary, Pub/Sub subscribers and clients blocked in a command are never closed
//! for idleness, as in Redis.

use crate::clients::{ClientInfo, ClientKind};
use crate::executor::ExecutorCtx;
use glommio::timer;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How often each executor looks for idle clients (Redis visits every client about once a second).
const CHECK_EVERY: Duration = Duration::from_secs(1);

pub async fn close_idle_clients(ctx: Rc<ExecutorCtx>) {
    loop {
        timer::sleep(CHECK_EVERY).await;
        let timeout = ctx.shared.client_limits.timeout();
        if timeout == 0 {
            continue;
        }
        let now = Instant::now();
        let closed = ctx
            .shard
            .borrow_mut()
            .clients
            .kill(&|info| idle_past(info, now, Duration::from_secs(timeout)));
        for _ in 0..closed {
            tracing::debug!("Closing idle client");
        }
    }
}

fn idle_past(info: &ClientInfo, now: Instant, timeout: Duration) -> bool {
    info.kind == ClientKind::Normal
        && !info.blocked
        && now.saturating_duration_since(info.last_interaction) > timeout
}
