//! Delivering a published message to the subscribers of every shard (each shard holds its own
//! connections' subscriptions): PUBLISH, and the PUBLISH a redis-server primary propagates to its
//! replicas.

use crate::context::ExecutorCtx;
use crate::shard::Shard;
use bytes::Bytes;

/// Sends `message` to the subscribers of `channel` on every shard; returns how many received it.
pub async fn deliver(ctx: &ExecutorCtx, channel: Bytes, message: Bytes) -> i64 {
    let outputs = ctx
        .run_everywhere(|_| {
            let (channel, message) = (channel.clone(), message.clone());
            move |s: &mut Shard| {
                s.pubsub
                    .publish(&channel, &message, &s.shared.output_limits)
            }
        })
        .await;
    outputs.into_iter().flatten().sum()
}
