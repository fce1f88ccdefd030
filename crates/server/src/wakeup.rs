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

const REPOLL: Duration = Duration::from_millis(5);

/// Awaits `future`, polling it again every few milliseconds even if no wakeup arrives.
pub async fn await_remote<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        match select(future.as_mut(), pin!(Timer::new(REPOLL))).await {
            Either::Left((output, _)) => return output,
            Either::Right(_) => continue,
        }
    }
}
