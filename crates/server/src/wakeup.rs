//! Guards against lost cross-thread wakeups. Under CPU contention (three busy loops on two cores) glommio 0.9
//! sometimes never woke an executor whose channel-mesh join had completed on the other side: 1 start in 30
//! left one shard deaf to its clients for minutes. Every future that another thread completes (mesh join,
//! mesh messages, oneshot replies) is therefore also re-polled on a short timer, so a lost wakeup costs a few
//! milliseconds instead of a hung client; with this, 110 starts under the same contention all answered
//! within 30 ms.

use futures::future::{select, Either};
use glommio::timer::Timer;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

/// For replies a client is waiting for: a lost wakeup costs at most this much latency.
const REPOLL: Duration = Duration::from_millis(5);
/// For the channel drain tasks, which wait most of their life: a rarer re-poll keeps an idle server idle.
pub const IDLE_REPOLL: Duration = Duration::from_millis(100);

/// Awaits `future`, polling it again every few milliseconds even if no wakeup arrives.
pub async fn await_remote<F: Future>(future: F) -> F::Output {
    await_remote_every(future, REPOLL).await
}

/// Awaits `future`, polling it again every `period` even if no wakeup arrives.
pub async fn await_remote_every<F: Future>(future: F, period: Duration) -> F::Output {
    let mut future = pin!(future);
    loop {
        match select(future.as_mut(), pin!(Timer::new(period))).await {
            Either::Left((output, _)) => return output,
            Either::Right(_) => continue,
        }
    }
}
