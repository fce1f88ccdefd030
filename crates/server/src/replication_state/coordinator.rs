//! The WAIT coordinator: a plain thread that holds, per replica, the offset each primary shard's flow
//! has acknowledged, and the clients blocked in WAIT. A replica counts for a waiter once it has
//! acknowledged the waiter's write offset on every shard. Everything is event driven: an arriving
//! acknowledgement, a new waiter or the nearest deadline wakes the thread; there is no polling.

use futures::channel::oneshot;
use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant;

pub enum Event {
    /// A replica finished its sync and now counts for WAIT.
    Online {
        session: u64,
        shards: usize,
    },
    Gone {
        session: u64,
    },
    Ack {
        session: u64,
        shard: usize,
        offset: u64,
    },
    /// A waiter's client went away: forget cancelled waiters now.
    Sweep,
    Wait {
        /// Per shard, the journal offset of the client's last write there.
        offsets: Vec<u64>,
        replicas: i64,
        deadline: Option<Instant>,
        reply: oneshot::Sender<i64>,
    },
}

struct Waiter {
    offsets: Vec<u64>,
    replicas: i64,
    deadline: Option<Instant>,
    reply: oneshot::Sender<i64>,
}

pub struct Coordinator {
    events: mpsc::Sender<Event>,
}

impl Coordinator {
    pub fn start() -> Coordinator {
        let (events, inbox) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("damselfly-wait".to_string())
            .spawn(move || run(inbox));
        if let Err(err) = spawned {
            tracing::error!("could not start the WAIT coordinator thread: {err}");
        }
        Coordinator { events }
    }

    pub fn send(&self, event: Event) {
        // The thread lives as long as the process; a send can only fail if it could not start.
        let _ = self.events.send(event);
    }
}

fn run(inbox: mpsc::Receiver<Event>) {
    let mut acked: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut waiters: Vec<Waiter> = Vec::new();
    loop {
        let nearest = waiters.iter().filter_map(|w| w.deadline).min();
        let event = match nearest {
            Some(deadline) => {
                match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(event) => Some(event),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            None => match inbox.recv() {
                Ok(event) => Some(event),
                Err(_) => return,
            },
        };
        match event {
            Some(Event::Online { session, shards }) => {
                acked.insert(session, vec![0; shards]);
            }
            Some(Event::Gone { session }) => {
                acked.remove(&session);
            }
            Some(Event::Ack {
                session,
                shard,
                offset,
            }) => {
                if let Some(slot) = acked.get_mut(&session).and_then(|v| v.get_mut(shard)) {
                    *slot = (*slot).max(offset);
                }
            }
            Some(Event::Wait {
                offsets,
                replicas,
                deadline,
                reply,
            }) => waiters.push(Waiter {
                offsets,
                replicas,
                deadline,
                reply,
            }),
            Some(Event::Sweep) | None => {}
        }
        let now = Instant::now();
        waiters.retain_mut(|waiter| {
            if waiter.reply.is_canceled() {
                return false;
            }
            let count = count_caught_up(&acked, &waiter.offsets);
            if count >= waiter.replicas || waiter.deadline.is_some_and(|d| d <= now) {
                let (reply, _) = oneshot::channel();
                let _ = std::mem::replace(&mut waiter.reply, reply).send(count);
                return false;
            }
            true
        });
    }
}

/// Replicas whose acknowledged offsets reach `offsets` on every shard.
pub fn count_caught_up(acked: &HashMap<u64, Vec<u64>>, offsets: &[u64]) -> i64 {
    acked
        .values()
        .filter(|shards| {
            offsets
                .iter()
                .enumerate()
                .all(|(shard, &needed)| shards.get(shard).copied().unwrap_or(0) >= needed)
        })
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_replica_counts_once_every_shard_has_caught_up() {
        let mut acked = HashMap::new();
        acked.insert(1, vec![10, 5]);
        acked.insert(2, vec![10, 4]);
        assert_eq!(count_caught_up(&acked, &[10, 5]), 1);
        assert_eq!(count_caught_up(&acked, &[0, 0]), 2);
        assert_eq!(count_caught_up(&acked, &[11, 0]), 0);
    }

    #[test]
    fn waiters_wake_on_ack_or_deadline() {
        let coordinator = Coordinator::start();
        coordinator.send(Event::Online {
            session: 9,
            shards: 1,
        });
        let (reply, answer) = oneshot::channel();
        coordinator.send(Event::Wait {
            offsets: vec![100],
            replicas: 1,
            deadline: None,
            reply,
        });
        coordinator.send(Event::Ack {
            session: 9,
            shard: 0,
            offset: 100,
        });
        assert_eq!(futures::executor::block_on(answer), Ok(1));

        let (reply, answer) = oneshot::channel();
        let started = Instant::now();
        coordinator.send(Event::Wait {
            offsets: vec![200],
            replicas: 1,
            deadline: Some(started + Duration::from_millis(50)),
            reply,
        });
        assert_eq!(futures::executor::block_on(answer), Ok(0));
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
