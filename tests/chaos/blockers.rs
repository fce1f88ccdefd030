//! Blocking commands: clients that block and vanish, and live consumers whose every pop is accounted for.

use crate::common::Reply;
use crate::ctx::{Ctx, Outcome};
use crate::model::Stats;
use crate::net::Conn;
use crate::slots::key_on_shard;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Blocks on BLPOP, BZPOPMIN or XREAD BLOCK (on keys nobody writes), then disconnects (FIN or RST) while
/// blocked. The server must forget the client: INFO's blocked_clients and connected_clients return to
/// their baseline after the round.
pub fn vanishing_blocker(ctx: &Ctx, id: usize) -> Outcome {
    let mut rng = rand::thread_rng();
    let mut n = 0u64;
    while ctx.running() {
        let mut conn = Conn::connect(ctx.addr)?;
        let cmd: Vec<String> = match n % 3 {
            0 => vec!["BLPOP".into(), format!("chaos:vanish:l:{id}"), "0".into()],
            1 => vec![
                "BZPOPMIN".into(),
                format!("chaos:vanish:z:{id}"),
                "0".into(),
            ],
            _ => ["XREAD", "BLOCK", "0", "STREAMS"]
                .iter()
                .map(|s| s.to_string())
                .chain([format!("chaos:vanish:s:{id}"), "$".into()])
                .collect(),
        };
        n += 1;
        conn.send_pipeline(&[cmd])?;
        // Chaos pacing: vanish after a random moment, sometimes before the command even blocked.
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
        if rng.gen_bool(0.5) {
            Stats::add(&ctx.stats.resets, 1);
            conn.reset();
        } else {
            conn.close();
        }
        Stats::add(&ctx.stats.vanished_blockers, 1);
    }
    Ok(Vec::new())
}

const STOP: &str = "stop";

/// One consumer: pops with BLPOP or BZPOPMIN from `keys` until it pops STOP, blocking again after a timeout.
/// With no timeout, a pop that waits more than the socket timeout (5 s) while the producer keeps pushing is
/// a lost wakeup.
fn consume(ctx: &Ctx, keys: &[String], zset: bool, timeout: &str) -> Result<Vec<String>, String> {
    let mut conn = Conn::connect(ctx.addr)?;
    let cmd = if zset { "BZPOPMIN" } else { "BLPOP" };
    let mut args = vec![cmd.to_string()];
    args.extend(keys.iter().cloned());
    args.push(timeout.into());
    let shown = args.join(" ");
    let mut got = Vec::new();
    loop {
        let reply = conn.cmd(&args).map_err(|e| {
            format!("{shown} got no element within 5 s while a producer was pushing (lost wakeup?): {e}")
        })?;
        if matches!(reply, Reply::NilArray | Reply::Null) && timeout != "0" {
            continue; // timed out: block again
        }
        let item = match &reply {
            Reply::Array(a)
                if a.len() == 2 + zset as usize && keys.iter().any(|k| a[0] == Reply::bulk(k)) =>
            {
                String::from_utf8_lossy(a[1].as_bytes()).into_owned()
            }
            other => return Err(format!("{shown} replied {other:?}")),
        };
        if item == STOP {
            conn.close();
            return Ok(got);
        }
        got.push(item);
        Stats::add(&ctx.stats.live_pops, 1);
    }
}

/// What is left in `key` (a list or a sorted set).
fn remaining(conn: &mut Conn, key: &str, zset: bool) -> Result<Vec<String>, String> {
    let cmd = if zset { "ZRANGE" } else { "LRANGE" };
    match conn.cmd(&[cmd, key, "0", "-1"])? {
        Reply::Array(a) => Ok(a
            .iter()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .collect()),
        other => Err(format!("{cmd} {key} 0 -1 replied {other:?}")),
    }
}

/// A producer and two consumers, keys fresh each round: id 0 BLPOP on one list, id 1 BZPOPMIN on one sorted
/// set, id 2 BLPOP on two lists and id 3 BZPOPMIN on two sorted sets on different shards (the producer
/// alternates between them), all with no timeout; ids 4 and 5 as 0 and 1 with a 20 ms timeout, blocking
/// again each time it passes. Every element pushed is popped
/// exactly once or is still in its key at the end; none is lost, duplicated or invented. Ids 2 and 3 are
/// skipped when `DAMSELFLY_CHAOS_CROSS_SHARD_BLOCKERS=0`.
pub fn live_blockers(ctx: &Ctx, id: usize) -> Outcome {
    let two_keys = id == 2 || id == 3;
    if two_keys && !ctx.cross_shard_blockers {
        return Ok(Vec::new());
    }
    let zset = id % 2 == 1;
    // Ids 4 and 5 block with a 20 ms timeout, so serving races with timing out.
    let timeout = if id >= 4 { "0.02" } else { "0" };
    let prefix = format!("chaos:q:{}:{id}", ctx.round);
    let keys: Vec<String> = if two_keys {
        vec![
            key_on_shard(&format!("{prefix}:a"), 0, ctx.shards),
            key_on_shard(&format!("{prefix}:b"), 1 % ctx.shards, ctx.shards),
        ]
    } else {
        vec![prefix]
    };
    let consumers = 2;
    let mut pushed = BTreeSet::new();
    let (popped, left) = std::thread::scope(|s| -> Result<_, String> {
        let handles: Vec<_> = (0..consumers)
            .map(|_| s.spawn(|| consume(ctx, &keys, zset, timeout)))
            .collect();
        let produced = (|| -> Result<Conn, String> {
            let mut conn = Conn::connect(ctx.addr)?;
            let mut rng = rand::thread_rng();
            let mut n = 0u64;
            let push =
                |conn: &mut Conn, key: &str, item: &str, score: &str| -> Result<(), String> {
                    let reply = if zset {
                        conn.cmd(&["ZADD", key, score, item])?
                    } else {
                        conn.cmd(&["RPUSH", key, item])?
                    };
                    match reply {
                        Reply::Int(_) => Ok(()),
                        other => Err(format!("push to {key} replied {other:?}")),
                    }
                };
            while ctx.running() {
                let item = format!("e{n}");
                push(
                    &mut conn,
                    &keys[n as usize % keys.len()],
                    &item,
                    &n.to_string(),
                )?;
                pushed.insert(item);
                n += 1;
                // Chaos pacing: consumers are sometimes blocked, sometimes find data waiting.
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..4)));
            }
            // STOPs go to the first key, which every consumer checks first: one per consumer.
            for i in 0..consumers {
                // Scores after every element; a zset holds STOP once, so wait until it is popped.
                let stop_score = (u64::MAX / 2 + i as u64).to_string();
                push(&mut conn, &keys[0], STOP, &stop_score)?;
                if zset {
                    let mut tries = 0;
                    while conn.cmd(&["ZSCORE", &keys[0], STOP])? != Reply::NilBulk {
                        tries += 1;
                        if tries > 5000 {
                            return Err(format!("STOP in {} was never popped", keys[0]));
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            Ok(conn)
        })();
        let popped: Vec<Result<Vec<String>, String>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a consumer panicked".into()))
            })
            .collect();
        if let Some(Err(e)) = popped.iter().find(|p| p.is_err()) {
            return Err(e.clone());
        }
        let mut conn = produced?;
        let mut left = Vec::new();
        for k in &keys {
            left.extend(remaining(&mut conn, k, zset)?);
        }
        Ok((popped, left))
    })?;
    if let Some(stop) = left.iter().find(|e| *e == STOP) {
        return Err(format!(
            "{keys:?}: {stop} left over after every consumer popped one"
        ));
    }
    // Where each element ended up: consumer i, or still in its key.
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, p) in popped.into_iter().enumerate() {
        for e in p.unwrap_or_default() {
            seen.entry(e)
                .or_default()
                .push(format!("popped by consumer {i}"));
        }
    }
    for e in left {
        seen.entry(e).or_default().push("left in its key".into());
    }
    let twice: Vec<_> = seen.iter().filter(|(_, w)| w.len() > 1).take(5).collect();
    if !twice.is_empty() {
        return Err(format!(
            "{keys:?}: elements delivered more than once (each was pushed once): {twice:?}"
        ));
    }
    let set: BTreeSet<String> = seen.into_keys().collect();
    if set != pushed {
        let lost: Vec<_> = pushed.difference(&set).take(5).collect();
        let extra: Vec<_> = set.difference(&pushed).take(5).collect();
        return Err(format!(
            "{keys:?}: {} pushed, {} popped or left; lost {lost:?}, never pushed {extra:?}",
            pushed.len(),
            set.len()
        ));
    }
    Ok(Vec::new())
}
