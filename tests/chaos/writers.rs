//! Well-behaved writers whose acknowledged writes form the model, and the readers that check
//! transactions are never seen half-applied.

use crate::common::Reply;
use crate::ctx::{Ctx, Outcome};
use crate::model::{Expect, Stats};
use crate::net::Conn;
use crate::slots::key_on_shard;
use rand::Rng;
use std::collections::BTreeMap;

fn show(cmd: &[String]) -> String {
    let mut s = cmd.join(" ");
    if s.len() > 80 {
        s.truncate(80);
        s.push_str("...");
    }
    s
}

fn expect_of(v: Option<&String>) -> Expect {
    match v {
        Some(v) => Expect::Value(v.clone()),
        None => Expect::Absent,
    }
}

/// Deep pipelines (200 to 500 commands per write) of SET, GET and INCR on keys spread over every shard;
/// every reply is checked against what the pipeline itself wrote before it.
pub fn pipeliner(ctx: &Ctx, id: usize) -> Outcome {
    let keys: Vec<String> = (0..40).map(|j| format!("chaos:pipe:{id}:{j}")).collect();
    let ctr = format!("chaos:pipe:{id}:ctr");
    let mut values: BTreeMap<String, String> = keys
        .iter()
        .filter_map(|k| Some((k.clone(), ctx.before.value(k)?.to_string())))
        .collect();
    let mut count = ctx.before.int(&ctr);
    let mut conn = Conn::connect(ctx.addr)?;
    let mut rng = rand::thread_rng();
    let mut batch = 0u64;
    while ctx.running() {
        batch += 1;
        let depth = rng.gen_range(200..=500);
        let mut cmds: Vec<Vec<String>> = Vec::with_capacity(depth);
        let mut expected = Vec::with_capacity(depth);
        let mut next_values = values.clone();
        let mut next_count = count;
        for i in 0..depth {
            let k = &keys[rng.gen_range(0..keys.len())];
            match rng.gen_range(0..3) {
                0 => {
                    let v = format!("r{}-b{batch}-{i}", ctx.round);
                    cmds.push(vec!["SET".into(), k.clone(), v.clone()]);
                    expected.push(Reply::ok());
                    next_values.insert(k.clone(), v);
                }
                1 => {
                    cmds.push(vec!["GET".into(), k.clone()]);
                    expected.push(match next_values.get(k) {
                        Some(v) => Reply::bulk(v),
                        None => Reply::NilBulk,
                    });
                }
                _ => {
                    next_count += 1;
                    cmds.push(vec!["INCR".into(), ctr.clone()]);
                    expected.push(Reply::Int(next_count));
                }
            }
        }
        conn.send_pipeline(&cmds)
            .map_err(|e| format!("pipeline of {depth}: {e}"))?;
        for (i, want) in expected.iter().enumerate() {
            let got = conn
                .read_reply()
                .map_err(|e| format!("reply {i} of a pipeline of {depth}: {e}"))?;
            if &got != want {
                return Err(format!(
                    "pipeline reply {i} of {depth} to {:?}: got {got:?}, expected {want:?}",
                    show(&cmds[i])
                ));
            }
        }
        values = next_values;
        count = next_count;
        Stats::add(&ctx.stats.pipelined, depth as u64);
    }
    conn.close();
    let mut out: Vec<(String, Expect)> = keys
        .iter()
        .map(|k| (k.clone(), expect_of(values.get(k))))
        .collect();
    out.push((
        ctr,
        if count == 0 {
            Expect::Absent
        } else {
            Expect::Value(count.to_string())
        },
    ));
    Ok(out)
}

/// The keys of transaction group `id`: six stamp keys, alternating over the shards (no common `{tag}`), and
/// two counters on the first and last shard.
pub fn tx_group(id: usize, shards: usize) -> (Vec<String>, [String; 2]) {
    let keys = (0..6)
        .map(|j| key_on_shard(&format!("chaos:tx:{id}:k{j}-"), j % shards, shards))
        .collect();
    let counters = [
        key_on_shard(&format!("chaos:tx:{id}:ca-"), 0, shards),
        key_on_shard(&format!("chaos:tx:{id}:cb-"), shards - 1, shards),
    ];
    (keys, counters)
}

/// A stamp: grows across rounds and within one.
fn stamp(round: u64, n: u64) -> u64 {
    round * 1_000_000_000 + n
}

/// MULTI/EXEC across shards (SET every stamp key to one stamp, INCR both counters) and cross-shard MSETs
/// of the stamp keys. The counters count acknowledged EXECs.
pub fn transactor(ctx: &Ctx, id: usize) -> Outcome {
    let (keys, counters) = tx_group(id, ctx.shards);
    let mut execs = ctx.before.int(&counters[0]);
    let mut last: Option<String> = ctx.before.value(&keys[0]).map(str::to_string);
    let mut conn = Conn::connect(ctx.addr)?;
    let mut rng = rand::thread_rng();
    let mut n = 0u64;
    while ctx.running() {
        n += 1;
        let s = stamp(ctx.round, n).to_string();
        if rng.gen_bool(0.6) {
            let mut cmds: Vec<Vec<String>> = vec![vec!["MULTI".into()]];
            for k in &keys {
                cmds.push(vec!["SET".into(), k.clone(), s.clone()]);
            }
            for c in &counters {
                cmds.push(vec!["INCR".into(), c.clone()]);
            }
            cmds.push(vec!["EXEC".into()]);
            conn.send_pipeline(&cmds)?;
            let replies = conn.read_replies(cmds.len())?;
            let mut want = vec![Reply::ok()];
            want.extend((0..keys.len() + 2).map(|_| Reply::status("QUEUED")));
            let mut results = vec![Reply::ok(); keys.len()];
            results.extend([Reply::Int(execs + 1), Reply::Int(execs + 1)]);
            want.push(Reply::Array(results));
            if replies != want {
                return Err(format!(
                    "MULTI/EXEC over {keys:?} + {counters:?} replied {replies:?}, expected {want:?}"
                ));
            }
            execs += 1;
            Stats::add(&ctx.stats.execs, 1);
        } else {
            let mut cmd = vec!["MSET".to_string()];
            for k in &keys {
                cmd.push(k.clone());
                cmd.push(s.clone());
            }
            let got = conn.cmd(&cmd)?;
            if got != Reply::ok() {
                return Err(format!("{} replied {got:?}", show(&cmd)));
            }
            Stats::add(&ctx.stats.msets, 1);
        }
        last = Some(s);
    }
    conn.close();
    let mut out: Vec<(String, Expect)> = keys
        .iter()
        .map(|k| (k.clone(), expect_of(last.as_ref())))
        .collect();
    for c in counters {
        out.push((
            c,
            if execs == 0 {
                Expect::Absent
            } else {
                Expect::Value(execs.to_string())
            },
        ));
    }
    Ok(out)
}

/// Reads every transaction group, alternately with MGET and with MULTI/GET.../EXEC, and checks that no
/// read ever mixes two stamps, that both counters agree, and that neither stamps nor counters go back.
pub fn tx_reader(ctx: &Ctx, _id: usize) -> Outcome {
    let groups: Vec<_> = (0..ctx.tx_writers)
        .map(|w| tx_group(w, ctx.shards))
        .collect();
    let mut seen: Vec<(u64, i64)> = vec![(0, 0); groups.len()];
    let mut conn = Conn::connect(ctx.addr)?;
    let mut reads = 0u64;
    while ctx.running() {
        for (g, (keys, counters)) in groups.iter().enumerate() {
            let all: Vec<&String> = keys.iter().chain(counters.iter()).collect();
            let values = if reads.is_multiple_of(2) {
                let mut cmd = vec!["MGET".to_string()];
                cmd.extend(all.iter().map(|k| k.to_string()));
                match conn.cmd(&cmd)? {
                    Reply::Array(v) => v,
                    other => return Err(format!("MGET replied {other:?}")),
                }
            } else {
                let mut cmds: Vec<Vec<String>> = vec![vec!["MULTI".into()]];
                cmds.extend(all.iter().map(|k| vec!["GET".to_string(), k.to_string()]));
                cmds.push(vec!["EXEC".into()]);
                conn.send_pipeline(&cmds)?;
                let mut replies = conn.read_replies(cmds.len())?;
                match replies.pop() {
                    Some(Reply::Array(v)) => v,
                    other => return Err(format!("EXEC of GETs replied {other:?}")),
                }
            };
            reads += 1;
            if values.len() != all.len() {
                return Err(format!("read of {all:?} returned {values:?}"));
            }
            let (stamps, ctrs) = values.split_at(keys.len());
            if stamps.iter().any(|v| v != &stamps[0]) {
                return Err(format!(
                    "a reader saw a half-applied transaction: stamp keys {keys:?} hold {stamps:?}"
                ));
            }
            if ctrs[0] != ctrs[1] {
                return Err(format!(
                    "a reader saw a half-applied EXEC: counters {counters:?} hold {ctrs:?}"
                ));
            }
            let num = |r: &Reply| -> Result<i64, String> {
                match r {
                    Reply::NilBulk => Ok(0),
                    Reply::Bulk(b) => String::from_utf8_lossy(b)
                        .parse()
                        .map_err(|_| format!("non-numeric value {r:?} in group {g}")),
                    other => Err(format!("unexpected {other:?} in group {g}")),
                }
            };
            let st = num(&stamps[0])? as u64;
            let ct = num(&ctrs[0])?;
            if st < seen[g].0 || ct < seen[g].1 {
                return Err(format!(
                    "group {g} went back in time: stamp {st} counter {ct} after stamp {} counter {}",
                    seen[g].0, seen[g].1
                ));
            }
            seen[g] = (st, ct);
        }
    }
    Stats::add(&ctx.stats.tx_reads, reads);
    conn.close();
    Ok(Vec::new())
}

/// Sends SET, GET and INCR, half-closes (shutdown of the write side), then reads every reply and expects
/// the server to close its side afterwards.
pub fn half_closer(ctx: &Ctx, id: usize) -> Outcome {
    let key = format!("chaos:hc:{id}");
    let ctr = format!("chaos:hc:{id}:n");
    let mut value = ctx.before.value(&key).map(str::to_string);
    let mut count = ctx.before.int(&ctr);
    let mut n = 0;
    while ctx.running() {
        n += 1;
        let v = format!("r{}-{n}", ctx.round);
        let mut conn = Conn::connect(ctx.addr)?;
        let cmds: Vec<Vec<String>> = vec![
            vec!["SET".into(), key.clone(), v.clone()],
            vec!["GET".into(), key.clone()],
            vec!["INCR".into(), ctr.clone()],
        ];
        conn.send_pipeline(&cmds)?;
        conn.shutdown_write()?;
        let replies = conn
            .read_replies(3)
            .map_err(|e| format!("after a half-close: {e}"))?;
        let want = vec![Reply::ok(), Reply::bulk(&v), Reply::Int(count + 1)];
        if replies != want {
            return Err(format!(
                "half-closed connection got {replies:?}, expected {want:?}"
            ));
        }
        value = Some(v);
        count += 1;
        match conn.read_some(1024) {
            Ok(0) => {}
            Ok(_) => {
                return Err("unexpected data after the replies of a half-closed connection".into())
            }
            Err(e) => {
                return Err(format!(
                    "the server did not close a half-closed connection after answering it: {e}"
                ))
            }
        }
        Stats::add(&ctx.stats.half_closes, 1);
    }
    Ok(vec![
        (key, expect_of(value.as_ref())),
        (
            ctr,
            if count == 0 {
                Expect::Absent
            } else {
                Expect::Value(count.to_string())
            },
        ),
    ])
}

/// Two clients increment a pair of counters on different shards with optimistic locking: WATCH both, MGET
/// (both must be equal), MULTI, SET both to the value plus one, EXEC; a null EXEC means the other client won
/// and is retried. At the end both counters equal their start plus every successful EXEC: a lost update or a
/// WATCH that missed a write shows as a difference.
pub fn watcher(ctx: &Ctx, id: usize) -> Outcome {
    let a = key_on_shard(&format!("chaos:watch:{id}:a-"), 0, ctx.shards);
    let b = key_on_shard(&format!("chaos:watch:{id}:b-"), ctx.shards - 1, ctx.shards);
    let start = ctx.before.int(&a);
    let client = || -> Result<i64, String> {
        let mut conn = Conn::connect(ctx.addr)?;
        let mut wins = 0;
        while ctx.running() {
            conn.send_pipeline(&[vec!["WATCH", &a, &b], vec!["MGET", &a, &b]])?;
            let replies = conn.read_replies(2)?;
            let value = match &replies[..] {
                [Reply::Status(ok), Reply::Array(v)]
                    if ok == "OK" && v.len() == 2 && v[0] == v[1] =>
                {
                    match &v[0] {
                        Reply::NilBulk => 0,
                        Reply::Bulk(b) => String::from_utf8_lossy(b)
                            .parse::<i64>()
                            .map_err(|_| format!("counter {a} holds {:?}", v[0]))?,
                        other => return Err(format!("MGET {a} {b} gave {other:?}")),
                    }
                }
                other => {
                    return Err(format!(
                        "WATCH then MGET of the counter pair replied {other:?} (they must be equal)"
                    ))
                }
            };
            let next = (value + 1).to_string();
            conn.send_pipeline(&[
                vec!["MULTI"],
                vec!["SET", &a, &next],
                vec!["SET", &b, &next],
                vec!["EXEC"],
            ])?;
            let replies = conn.read_replies(4)?;
            let queued = Reply::status("QUEUED");
            if replies[..3] != [Reply::ok(), queued.clone(), queued] {
                return Err(format!("MULTI, SET, SET replied {:?}", &replies[..3]));
            }
            match &replies[3] {
                Reply::Array(r) if r == &[Reply::ok(), Reply::ok()] => wins += 1,
                Reply::NilArray => {}
                other => return Err(format!("EXEC of the watched pair replied {other:?}")),
            }
        }
        conn.close();
        Ok(wins)
    };
    let (w0, w1) = std::thread::scope(|s| {
        let h0 = s.spawn(client);
        let h1 = s.spawn(client);
        (
            h0.join()
                .unwrap_or_else(|_| Err("a watcher panicked".into())),
            h1.join()
                .unwrap_or_else(|_| Err("a watcher panicked".into())),
        )
    });
    let total = start + w0? + w1?;
    Stats::add(&ctx.stats.execs, (total - start) as u64);
    let expect = if total == 0 {
        Expect::Absent
    } else {
        Expect::Value(total.to_string())
    };
    Ok(vec![(a, expect.clone()), (b, expect)])
}
