//! Redis's `timeout`: a normal client that sends nothing for that many seconds is closed. Replicas,
//! the link to our primary, Pub/Sub subscribers and clients blocked in a command are never closed
//! for idleness, as in Redis.

use crate::client_limits::ClientLimits;
use crate::clients::{ClientInfo, ClientKind};
use glommio::timer;
use std::time::{Duration, Instant};

/// How often each executor looks for idle clients (Redis visits every client about once a second).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Closes this executor's idle clients: `close` closes those its argument picks and counts them.
pub async fn close_idle_clients(
    limits: &ClientLimits,
    close: impl Fn(&dyn Fn(&ClientInfo) -> bool) -> i64,
) {
    loop {
        timer::sleep(CHECK_EVERY).await;
        let timeout = limits.timeout();
        if timeout == 0 {
            continue;
        }
        let now = Instant::now();
        let closed = close(&|info| idle_past(info, now, Duration::from_secs(timeout)));
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
