//! Blocking commands: clients that block and vanish, and live consumers whose every pop is accounted for.

use crate::common::Reply;
use crate::ctx::{Ctx, Outcome};
use crate::model::Stats;
use crate::net::Conn;
use rand::Rng;
use std::collections::BTreeSet;
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

/// One consumer: pops with `pop` (BLPOP or BZPOPMIN, no timeout) until it pops STOP. A pop that waits more
/// than the socket timeout (5 s) while the producer keeps pushing is a lost wakeup.
fn consume(ctx: &Ctx, key: &str, zset: bool) -> Result<Vec<String>, String> {
    let mut conn = Conn::connect(ctx.addr)?;
    let mut got = Vec::new();
    loop {
        let cmd = if zset { "BZPOPMIN" } else { "BLPOP" };
        let reply = conn.cmd(&[cmd, key, "0"]).map_err(|e| {
            format!(
                "{cmd} {key} 0 got no element within 5 s while a producer was pushing \
                 (lost wakeup?): {e}"
            )
        })?;
        let item = match &reply {
            Reply::Array(a) if a.len() == 2 + zset as usize && a[0] == Reply::bulk(key) => {
                String::from_utf8_lossy(a[1].as_bytes()).into_owned()
            }
            other => return Err(format!("{cmd} {key} 0 replied {other:?}")),
        };
        if item == STOP {
            conn.close();
            return Ok(got);
        }
        got.push(item);
        Stats::add(&ctx.stats.live_pops, 1);
    }
}

/// A producer and two consumers blocked on one list (BLPOP) or one sorted set (BZPOPMIN), keys fresh each
/// round. Every element pushed is popped exactly once, and the key is empty at the end.
pub fn live_blockers(ctx: &Ctx, id: usize) -> Outcome {
    let zset = id % 2 == 1;
    let key = format!("chaos:q:{}:{id}", ctx.round);
    let consumers = 2;
    let mut pushed = BTreeSet::new();
    let popped: Vec<Result<Vec<String>, String>> = std::thread::scope(|s| -> Result<_, String> {
        let handles: Vec<_> = (0..consumers)
            .map(|_| s.spawn(|| consume(ctx, &key, zset)))
            .collect();
        let produced = (|| -> Result<Conn, String> {
            let mut conn = Conn::connect(ctx.addr)?;
            let mut rng = rand::thread_rng();
            let mut n = 0u64;
            let push = |conn: &mut Conn, item: &str, score: &str| -> Result<(), String> {
                let reply = if zset {
                    conn.cmd(&["ZADD", &key, score, item])?
                } else {
                    conn.cmd(&["RPUSH", &key, item])?
                };
                match reply {
                    Reply::Int(_) => Ok(()),
                    other => Err(format!("push to {key} replied {other:?}")),
                }
            };
            while ctx.running() {
                let item = format!("e{n}");
                push(&mut conn, &item, &n.to_string())?;
                pushed.insert(item);
                n += 1;
                // Chaos pacing: consumers are sometimes blocked, sometimes find data waiting.
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..4)));
            }
            for i in 0..consumers {
                // Scores after every element; distinct members so the zset holds one per consumer.
                let stop_score = (u64::MAX / 2 + i as u64).to_string();
                push(&mut conn, STOP, &stop_score)?;
                if zset {
                    // A zset holds a member once: wait until this STOP is popped before the next.
                    let mut tries = 0;
                    while conn.cmd(&["ZSCORE", &key, STOP])? != Reply::NilBulk {
                        tries += 1;
                        if tries > 5000 {
                            return Err(format!("STOP in {key} was never popped"));
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            Ok(conn)
        })();
        let popped = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a consumer panicked".into()))
            })
            .collect::<Vec<_>>();
        let popped: Vec<Result<Vec<String>, String>> = popped;
        if let Some(Err(e)) = popped.iter().find(|p| p.is_err()) {
            return Err(e.clone());
        }
        // Every consumer has popped its STOP, which came after every element: nothing may be left.
        let mut conn = produced?;
        let left = conn.cmd(&["EXISTS", &key])?;
        if left != Reply::Int(0) {
            let len = conn.cmd(&[if zset { "ZCARD" } else { "LLEN" }, &key])?;
            return Err(format!(
                "{key} still holds {len:?} elements after every consumer popped its STOP"
            ));
        }
        Ok(popped)
    })?;
    let mut all = Vec::new();
    for p in popped {
        all.extend(p?);
    }
    let set: BTreeSet<String> = all.iter().cloned().collect();
    if set.len() != all.len() {
        return Err(format!("an element of {key} was popped twice"));
    }
    if set != pushed {
        let lost: Vec<_> = pushed.difference(&set).take(5).collect();
        let extra: Vec<_> = set.difference(&pushed).take(5).collect();
        return Err(format!(
            "{key}: {} pushed, {} popped; lost {lost:?}, never pushed {extra:?}",
            pushed.len(),
            set.len()
        ));
    }
    Ok(Vec::new())
}
