//! Pub/Sub subscriptions of the connections living on one executor. A subscriber registers only
//! with its own executor; PUBLISH runs on every executor, each delivering to its own subscribers
//! (the mesh keeps one publisher's messages in order).

use crate::client_output::ClientOutput;
use crate::output_limits::OutputLimits;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_protocol::Frame;
use std::rc::Rc;

/// Where a connection's pushed messages go: queued for its writer, never waited for.
pub type PushSink = Rc<ClientOutput>;

#[derive(Default)]
pub struct PubSub {
    channels: AHashMap<Bytes, Vec<(u64, PushSink)>>,
    /// (pattern, connection id, sink), in subscription order.
    patterns: Vec<(Bytes, u64, PushSink)>,
}

impl PubSub {
    pub fn subscribe(&mut self, channel: Bytes, conn: u64, sink: PushSink) {
        self.channels.entry(channel).or_default().push((conn, sink));
    }

    pub fn unsubscribe(&mut self, channel: &Bytes, conn: u64) {
        if let Some(subscribers) = self.channels.get_mut(channel) {
            subscribers.retain(|(id, _)| *id != conn);
            if subscribers.is_empty() {
                self.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&mut self, pattern: Bytes, conn: u64, sink: PushSink) {
        self.patterns.push((pattern, conn, sink));
    }

    pub fn punsubscribe(&mut self, pattern: &Bytes, conn: u64) {
        self.patterns
            .retain(|(p, id, _)| !(p == pattern && *id == conn));
    }

    /// Delivers a message to this executor's subscribers; returns how many received it. A subscriber
    /// past its output limit is closed here rather than slowing the publisher.
    pub fn publish(&self, channel: &Bytes, message: &Bytes, limits: &OutputLimits) -> i64 {
        let mut received = 0;
        if let Some(subscribers) = self.channels.get(channel) {
            for (_, sink) in subscribers {
                let push = Frame::Push(vec![
                    Frame::bulk("message"),
                    Frame::Bulk(channel.clone()),
                    Frame::Bulk(message.clone()),
                ]);
                if sink.push(&push, limits) {
                    received += 1;
                }
            }
        }
        for (pattern, _, sink) in &self.patterns {
            if damselfly_storage::glob_match(pattern, channel, false) {
                let push = Frame::Push(vec![
                    Frame::bulk("pmessage"),
                    Frame::Bulk(pattern.clone()),
                    Frame::Bulk(channel.clone()),
                    Frame::Bulk(message.clone()),
                ]);
                if sink.push(&push, limits) {
                    received += 1;
                }
            }
        }
        received
    }

    /// Channels with at least one subscriber, optionally matching a pattern (PUBSUB CHANNELS).
    pub fn active_channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.channels
            .keys()
            .filter(|channel| {
                pattern.is_none_or(|p| damselfly_storage::glob_match(p, channel, false))
            })
            .cloned()
            .collect()
    }

    pub fn subscriber_count(&self, channel: &Bytes) -> i64 {
        self.channels.get(channel).map_or(0, |s| s.len() as i64)
    }

    /// Distinct patterns subscribed here (PUBSUB NUMPAT counts patterns, not subscriptions).
    pub fn patterns(&self) -> Vec<Bytes> {
        let mut patterns: Vec<Bytes> = self.patterns.iter().map(|(p, _, _)| p.clone()).collect();
        patterns.sort();
        patterns.dedup();
        patterns
    }
}
