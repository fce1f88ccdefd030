//! Pub/Sub: a subscriber that reads (every message arrives, in order) and a subscriber that stalls while a
//! publisher floods its channel (the server must disconnect it at the pubsub output-buffer hard limit).

use crate::common::Reply;
use crate::ctx::{Ctx, Outcome};
use crate::model::Stats;
use crate::net::Conn;
use std::io;
use std::time::{Duration, Instant};

/// What a stalled subscriber is flooded with: more than the pubsub class's default hard limit (32 MB) plus
/// what the kernel's socket buffers can hold.
pub const FLOOD_BYTES: u64 = 48 << 20;
const FLOOD_MESSAGE: usize = 16 * 1024;

fn subscribe(conn: &mut Conn, channel: &str) -> Result<(), String> {
    let reply = conn.cmd(&["SUBSCRIBE", channel])?;
    let want = Reply::Array(vec![
        Reply::bulk("subscribe"),
        Reply::bulk(channel),
        Reply::Int(1),
    ]);
    if reply != want {
        return Err(format!("SUBSCRIBE {channel} replied {reply:?}"));
    }
    Ok(())
}

/// A subscriber that reads and a publisher that pipelines PUBLISH (20 per write) with a sequence number:
/// every PUBLISH reaches exactly one subscriber, and the subscriber gets every message once, in order.
pub fn healthy_pubsub(ctx: &Ctx, id: usize) -> Outcome {
    let channel = format!("chaos:news:{}:{id}", ctx.round);
    let mut sub = Conn::connect(ctx.addr)?;
    subscribe(&mut sub, &channel)?;
    std::thread::scope(|s| {
        let reader = s.spawn(|| -> Result<u64, String> {
            let mut next = 0u64;
            loop {
                let reply = sub.read_reply()?;
                let payload = match &reply {
                    Reply::Array(a)
                        if a.len() == 3
                            && a[0] == Reply::bulk("message")
                            && a[1] == Reply::bulk(&channel) =>
                    {
                        String::from_utf8_lossy(a[2].as_bytes()).into_owned()
                    }
                    other => return Err(format!("subscriber of {channel} got {other:?}")),
                };
                if payload == "end" {
                    return Ok(next);
                }
                if payload != next.to_string() {
                    return Err(format!(
                        "subscriber of {channel} got message {payload} where {next} was due"
                    ));
                }
                next += 1;
            }
        });
        let published = (|| -> Result<u64, String> {
            let mut publisher = Conn::connect(ctx.addr)?;
            let mut n = 0u64;
            while ctx.running() {
                let cmds: Vec<Vec<String>> = (n..n + 20)
                    .map(|i| vec!["PUBLISH".into(), channel.clone(), i.to_string()])
                    .collect();
                publisher.send_pipeline(&cmds)?;
                for r in publisher.read_replies(cmds.len())? {
                    if r != Reply::Int(1) {
                        return Err(format!(
                            "PUBLISH to {channel} (one subscriber) replied {r:?}"
                        ));
                    }
                }
                n += 20;
            }
            let r = publisher.cmd(&["PUBLISH", &channel, "end"])?;
            if r != Reply::Int(1) {
                return Err(format!("PUBLISH end to {channel} replied {r:?}"));
            }
            Ok(n)
        })();
        let received = reader
            .join()
            .unwrap_or_else(|_| Err("the subscriber panicked".into()))?;
        let published = published?;
        if received != published {
            return Err(format!(
                "{channel}: {published} published, {received} received"
            ));
        }
        Stats::add(&ctx.stats.pub_messages, published);
        Ok(())
    })?;
    sub.close();
    Ok(Vec::new())
}

/// SUBSCRIBE with a 4 KB receive buffer, then never read while a publisher floods the channel with 48 MB.
/// The server must disconnect the subscriber (client-output-buffer-limit pubsub, 32 MB hard by default):
/// afterwards the subscriber reads what the kernel still holds and then must meet EOF or a reset, having
/// received less than was published.
pub fn stalled_subscriber(ctx: &Ctx, id: usize) -> Outcome {
    let channel = format!("chaos:flood:{}:{id}", ctx.round);
    let mut sub = Conn::connect_with(ctx.addr, Some(4096))?;
    subscribe(&mut sub, &channel)?;
    let mut publisher = Conn::connect(ctx.addr)?;
    let payload = "f".repeat(FLOOD_MESSAGE);
    let mut flooded = 0u64;
    let mut dropped = false;
    while flooded < FLOOD_BYTES && !dropped {
        let cmds: Vec<Vec<&str>> = (0..64)
            .map(|_| vec!["PUBLISH", channel.as_str(), payload.as_str()])
            .collect();
        publisher.send_pipeline(&cmds)?;
        for r in publisher.read_replies(cmds.len())? {
            match r {
                Reply::Int(1) => flooded += FLOOD_MESSAGE as u64,
                // The subscriber is gone: the server disconnected it.
                Reply::Int(0) => dropped = true,
                other => return Err(format!("PUBLISH to {channel} replied {other:?}")),
            }
        }
    }
    publisher.close();
    Stats::add(&ctx.stats.flood_bytes, flooded);
    // Now read: what the kernel buffered arrives, then the server's close must follow.
    let mut received = 0u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match sub.read_some(256 * 1024) {
            Ok(0) => break,
            Ok(k) => {
                received += k as u64;
                sub.discard_buffer();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                break
            }
            Err(e) => {
                return Err(format!(
                    "stalled subscriber of {channel} was not disconnected: {} MB published to it, \
                     it then read {} MB and the connection stayed open ({e}); is there a pubsub \
                     client-output-buffer-limit?",
                    flooded >> 20,
                    received >> 20
                ))
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "stalled subscriber of {channel}: still receiving after 20 s ({} MB of {} MB published)",
                received >> 20,
                flooded >> 20
            ));
        }
    }
    if received >= flooded {
        return Err(format!(
            "stalled subscriber of {channel} received all {} MB published before the close: \
             the server buffered it all instead of applying the hard limit",
            flooded >> 20
        ));
    }
    Stats::add(&ctx.stats.flood_disconnects, 1);
    Ok(Vec::new())
}
