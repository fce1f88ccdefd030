//! The shard-to-shard mesh: one unbounded channel per ordered pair of shards, built before the
//! executors start.
//!
//! Why not glommio's `channel_mesh`: its receivers and senders push a clone of the task's waker onto
//! a list every time they are polled while pending, and only pop as many as there are messages (or
//! free slots). Our drain tasks re-poll their receive every 100 ms to survive glommio's lost
//! cross-thread wakeups (`wakeup.rs`), so on an idle mesh each drain task gained ten waker clones a
//! second; glommio counts a task's wakers in an `i16` and asserts on overflow, so after about 55
//! minutes the executor panicked and its shard stopped answering for good (reproduced: 32,767
//! re-polls of a pending `recv` abort with "Waker invariant broken"). A `futures` channel keeps one
//! waker per receiver and replaces it on every poll, so re-polling costs nothing; a message to a
//! parked executor goes through glommio's foreign-wake queue, as the oneshot replies always did.
//!
//! Unbounded is safe here: every message is work some connection or transaction waits for (a batch,
//! a hop, a fan-out), so what is in flight is bounded by the connections and their pipelines.

use crate::shard::ShardMsg;
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// One shard's ends of the mesh.
pub struct Ports {
    /// Per target shard, the sender to it (None for this shard itself).
    pub senders: Vec<Option<UnboundedSender<ShardMsg>>>,
    /// One receiver per other shard.
    pub receivers: Vec<UnboundedReceiver<ShardMsg>>,
}

/// The ports of every shard, indexed by shard.
pub fn build(shards: usize) -> Vec<Ports> {
    let mut ports: Vec<Ports> = (0..shards)
        .map(|_| Ports {
            senders: (0..shards).map(|_| None).collect(),
            receivers: Vec::with_capacity(shards.saturating_sub(1)),
        })
        .collect();
    for from in 0..shards {
        for to in 0..shards {
            if from != to {
                let (sender, receiver) = mpsc::unbounded();
                ports[from].senders[to] = Some(sender);
                ports[to].receivers.push(receiver);
            }
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::time::Duration;

    #[test]
    fn every_pair_is_connected_once() {
        let ports = build(3);
        for (from, port) in ports.iter().enumerate() {
            assert_eq!(port.receivers.len(), 2);
            for (to, sender) in port.senders.iter().enumerate() {
                assert_eq!(sender.is_some(), from != to);
            }
        }
    }

    /// The regression behind the shard freeze: tens of thousands of re-polls of an idle receive
    /// must not grow anything (glommio's mesh panicked after 32,767).
    #[test]
    fn an_idle_receive_survives_endless_repolls() {
        let mut ports = build(2);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut receiver = ports[1].receivers.remove(0);
        let sender = ports[0].senders[1].take();
        let handle = std::thread::spawn(move || {
            let executor = glommio::LocalExecutorBuilder::default()
                .make()
                .expect("executor");
            executor.run(async move {
                for _ in 0..50_000 {
                    assert!(futures::poll!(receiver.next()).is_pending());
                }
                let _ = tx.send(());
                receiver.next().await.is_some()
            })
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the re-polls finished");
        let job: crate::shard::Job = Box::new(|_| {});
        sender
            .expect("a sender to shard 1")
            .unbounded_send(ShardMsg::Run { job })
            .expect("shard 1 listens");
        assert!(handle.join().expect("no panic"));
    }
}
