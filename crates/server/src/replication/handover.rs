//! Where a replica's data stands in its primary's Redis-format stream at the moment it stops
//! following that primary (REPLICAOF NO ONE, or REPLICAOF another host): the replication id and
//! offset a promoted server keeps as replid2, and that a new redis-server primary is asked to
//! continue from (PSYNC2).
//!
//! After a redis-server primary the link pauses (as for SAVE) and says where it stopped. After a
//! damselfly primary the flows stop applying, and once everything read is applied the position
//! is known when the applied data is exactly a position the primary noted (`stream_positions`).

use crate::context::ExecutorCtx;
use crate::replication_state::apply_pause::PauseGuard;
use crate::replication_state::{ReplAux, Role};
use crate::wakeup::await_remote;
use futures::FutureExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long the link may take to stop at an exact position.
const SETTLE: Duration = Duration::from_secs(5);
const LOOK_AGAIN: Duration = Duration::from_millis(5);

/// Stops the link to the current primary (by bumping the replication generation, which every
/// link task watches) and returns where the data stands in the primary's Redis-format stream, if
/// that is known exactly. `then` runs with the state locked at the moment the link stops.
pub async fn stop_link(
    ctx: &Rc<ExecutorCtx>,
    then: impl FnOnce(&mut crate::replication_state::ReplState),
) -> Option<ReplAux> {
    let repl = &ctx.shared.repl;
    let pause = repl
        .state()
        .follows_redis()
        .then(|| repl.apply_pause.pause());
    if let Some(held) = &pause {
        settle(held).await;
    }
    let was_replica = {
        let mut state = repl.state();
        let was_replica = matches!(state.role, Role::Replica { .. });
        state.generation += 1;
        then(&mut state);
        was_replica
    };
    if !was_replica {
        return None;
    }
    match pause.as_ref().and_then(PauseGuard::position) {
        Some(position) => Some(position),
        None if pause.is_some() => None,
        None => damselfly_position(ctx).await,
    }
}

async fn settle(held: &PauseGuard<'_>) {
    futures::select! {
        _ = await_remote(held.settled()).fuse() => {}
        _ = glommio::timer::sleep(SETTLE).fuse() => {
            tracing::warn!("the primary's stream did not pause within {SETTLE:?}: its replicas will full-sync with us");
        }
    }
}

/// After a damselfly primary: once everything the flows read is applied, the position noted for
/// exactly that data, if any.
async fn damselfly_position(ctx: &Rc<ExecutorCtx>) -> Option<ReplAux> {
    let started = Instant::now();
    loop {
        {
            let state = ctx.shared.repl.state();
            let link = &state.link;
            if link.read_total() == link.applied_total() {
                let point = link.stream_position.as_ref()?;
                return Some(ReplAux {
                    replid: link.primary_replid.clone()?,
                    offset: point.offset,
                    db: point.db.unwrap_or(0),
                });
            }
        }
        if started.elapsed() > SETTLE {
            return None;
        }
        glommio::timer::sleep(LOOK_AGAIN).await;
    }
}
