//! Differential test of the stream commands against a real redis-server (ignored by default):
//! `REDIS_DIFF_PORT=7105 cargo test -p damselfly-storage differential_streams -- --ignored --test-threads=1`
//! Ids are explicit (servers generate different ones for `*`); times that depend on the exact
//! millisecond (idle times, seen times, radix tree node counts) are masked.

use super::super::difftest::{env_number, now_ms, redis_from_env, Client, Gen, R};
use super::super::tests::T;
use crate::config::STREAM_NODE_MAX_ENTRIES;
use damselfly_protocol::Frame;

const KEYS: &[&str] = &["s0", "s1", "s2", "str"];
const GROUPS: &[&str] = &["g0", "g1"];
const CONSUMERS: &[&str] = &["c0", "c1", "c2"];
const FIELDS: &[&str] = &["a", "b", "c", "1", "", "long-field-name"];
const VALUES: &[&str] = &[
    "1",
    "x",
    "",
    "-7",
    "hello",
    "12345678901234567890",
    // Long enough for stream-node-max-bytes (4096) to close nodes before their entry limit.
    LONG_VALUE,
];
const LONG_VALUE: &str = concat!(
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
);

/// RESP2 view of a frame: maps flatten, doubles become bulk strings.
fn resp2(f: &Frame) -> R {
    match f {
        Frame::Simple(s) => R::Simple(s.to_string()),
        Frame::Error(s) => R::Error(s.to_string()),
        Frame::Integer(i) => R::Int(*i),
        Frame::Bulk(b) => R::Bulk(Some(b.to_vec())),
        Frame::Null => R::Bulk(None),
        Frame::NullArray => R::Array(None),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            R::Array(Some(v.iter().map(resp2).collect()))
        }
        Frame::Map(pairs) => R::Array(Some(
            pairs
                .iter()
                .flat_map(|(k, v)| [resp2(k), resp2(v)])
                .collect(),
        )),
        Frame::Boolean(b) => R::Int(i64::from(*b)),
        Frame::Double(d) => R::Bulk(Some(d.to_string().into_bytes())),
        Frame::Verbatim(b) => R::Bulk(Some(b.to_vec())),
        Frame::Pairs(pairs) => R::Array(Some(
            pairs
                .iter()
                .flat_map(|(k, v)| [resp2(k), resp2(v)])
                .collect(),
        )),
        Frame::KeyedPairs(pairs) => R::Array(Some(
            pairs
                .iter()
                .map(|(k, v)| R::Array(Some(vec![resp2(k), resp2(v)])))
                .collect(),
        )),
        Frame::Many(frames) => R::Array(Some(frames.iter().map(resp2).collect())),
    }
}

/// Replaces values that depend on the moment or on radix tree internals.
fn mask(cmd: &[String], r: R) -> R {
    let is = |name: &str| cmd[0].eq_ignore_ascii_case(name);
    match r {
        R::Array(Some(items)) if is("XPENDING") && cmd.len() > 3 => R::Array(Some(
            items
                .into_iter()
                .map(|item| match item {
                    R::Array(Some(mut fields)) if fields.len() == 4 => {
                        fields[2] = R::Int(-1);
                        R::Array(Some(fields))
                    }
                    other => other,
                })
                .collect(),
        )),
        other => mask_tree(other),
    }
}

fn mask_tree(r: R) -> R {
    match r {
        R::Int(i) if i > 1_000_000_000_000 => R::Int(-1),
        R::Array(Some(items)) => {
            let mut out = Vec::with_capacity(items.len());
            let mut masked_next = false;
            for item in items {
                if masked_next {
                    out.push(R::Int(-1));
                    masked_next = false;
                    continue;
                }
                masked_next =
                    matches!(&item, R::Bulk(Some(b)) if b == b"idle" || b == b"radix-tree-nodes");
                out.push(mask_tree(item));
            }
            R::Array(Some(out))
        }
        other => other,
    }
}

/// An id near the existing ones (`top` is the latest explicit XADD millisecond).
fn id(g: &mut Gen, top: u64) -> String {
    let ms = top.saturating_sub(8) + g.next() % 12;
    match g.next() % 20 {
        0 => format!("{ms}"),
        1 => "-".into(),
        2 => "+".into(),
        3 => format!("{ms}-*"),
        4 => "abc".into(),
        5 => format!("({ms}-{}", g.next() % 4),
        6 => "0-0".into(),
        7 => "18446744073709551615-18446744073709551615".into(),
        _ => format!("{ms}-{}", g.next() % 4),
    }
}

fn count(g: &mut Gen) -> String {
    g.pick(&["0", "1", "2", "3", "5", "-1", "x", "100"])
        .to_string()
}

fn trim_args(g: &mut Gen, c: &mut Vec<String>, top: u64) {
    if g.chance(50) {
        c.push("MAXLEN".into());
        if g.chance(50) {
            c.push(g.pick(&["~", "="]).into());
        }
        c.push(g.pick(&["0", "1", "3", "5", "10", "-1", "x"]).into());
    } else {
        c.push("MINID".into());
        if g.chance(50) {
            c.push(g.pick(&["~", "="]).into());
        }
        c.push(id(g, top));
    }
    if g.chance(15) {
        c.push("LIMIT".into());
        c.push(g.pick(&["0", "1", "2", "100", "-1"]).into());
    }
}

fn command(g: &mut Gen, next_ms: &mut u64) -> Vec<String> {
    let key = g.pick(KEYS).to_string();
    let group = g.pick(GROUPS).to_string();
    let consumer = g.pick(CONSUMERS).to_string();
    let name = g.pick(&[
        "XADD",
        "XADD",
        "XADD",
        "XADD",
        "XLEN",
        "XRANGE",
        "XREVRANGE",
        "XDEL",
        "XTRIM",
        "XREAD",
        "XGROUP",
        "XGROUP",
        "XGROUP",
        "XREADGROUP",
        "XREADGROUP",
        "XACK",
        "XPENDING",
        "XCLAIM",
        "XAUTOCLAIM",
        "XINFO",
        "TYPE",
        "OBJECT",
        "SET",
        "DEL",
    ]);
    let mut c = vec![name.to_string(), key.clone()];
    match name {
        "XADD" => {
            if g.chance(10) {
                c.push("NOMKSTREAM".into());
            }
            if g.chance(25) {
                trim_args(g, &mut c, *next_ms);
            }
            if g.chance(80) {
                *next_ms += g.next() % 3;
                c.push(format!("{}-{}", *next_ms, g.next() % 3));
            } else {
                c.push(id(g, *next_ms));
            }
            let pairs = if g.chance(5) { 0 } else { 1 + g.next() % 3 };
            for _ in 0..pairs {
                c.push(g.pick(FIELDS).into());
                c.push(g.pick(VALUES).into());
            }
            if g.chance(3) {
                c.push("odd".into());
            }
        }
        "XLEN" | "TYPE" | "DEL" => {}
        // Only `str` turns into a string, so the other keys stay streams long enough for groups.
        "SET" => {
            c[1] = "str".into();
            c.push("v".into());
        }
        "OBJECT" => c.insert(1, "ENCODING".into()),
        "XRANGE" | "XREVRANGE" => {
            c.push(id(g, *next_ms));
            c.push(id(g, *next_ms));
            if g.chance(40) {
                c.push(g.pick(&["COUNT", "count", "LIMIT"]).into());
                c.push(count(g));
            }
        }
        "XDEL" => {
            for _ in 0..1 + g.next() % 3 {
                c.push(id(g, *next_ms));
            }
        }
        "XTRIM" if g.chance(95) => trim_args(g, &mut c, *next_ms),
        "XREAD" | "XREADGROUP" => {
            c.pop();
            if name == "XREADGROUP" && g.chance(95) {
                c.extend(["GROUP".into(), group, consumer]);
            }
            if g.chance(40) {
                c.push("COUNT".into());
                c.push(count(g));
            }
            if g.chance(10) {
                c.push("BLOCK".into());
                c.push(g.pick(&["-1", "x"]).into());
            }
            if g.chance(15) {
                c.push("NOACK".into());
            }
            c.push("STREAMS".into());
            // One stream mostly: a group missing on any of them fails the whole call.
            let n = if g.chance(75) { 1 } else { 2 };
            let keys: Vec<String> = (0..n).map(|_| g.pick(KEYS).to_string()).collect();
            c.extend(keys);
            for _ in 0..n {
                c.push(if name == "XREADGROUP" && g.chance(50) {
                    ">".into()
                } else if g.chance(50) {
                    g.pick(&[">", "$", "0", "0-0"]).into()
                } else {
                    id(g, *next_ms)
                });
            }
            if g.chance(3) {
                c.pop();
            }
        }
        "XGROUP" => {
            // Mostly CREATE: the group commands need groups to exist to do anything.
            let sub = g.pick(&[
                "CREATE",
                "CREATE",
                "CREATE",
                "CREATE",
                "CREATE",
                "SETID",
                "DESTROY",
                "CREATECONSUMER",
                "DELCONSUMER",
                "HELP",
                "nope",
            ]);
            c.insert(1, sub.into());
            c.push(group);
            match sub {
                "CREATE" | "SETID" => {
                    c.push(if g.chance(30) {
                        "$".into()
                    } else {
                        id(g, *next_ms)
                    });
                    if g.chance(60) {
                        c.push("MKSTREAM".into());
                    }
                    if g.chance(20) {
                        c.push("ENTRIESREAD".into());
                        c.push(g.pick(&["0", "1", "-1", "-2", "5", "x"]).into());
                    }
                }
                "CREATECONSUMER" | "DELCONSUMER" => c.push(consumer),
                "HELP" => c.truncate(2),
                _ => {}
            }
        }
        "XACK" => {
            c.push(group);
            for _ in 0..1 + g.next() % 3 {
                c.push(id(g, *next_ms));
            }
        }
        "XPENDING" => {
            c.push(group);
            if g.chance(70) {
                if g.chance(30) {
                    c.push("IDLE".into());
                    c.push(g.pick(&["0", "3600000", "x"]).into());
                }
                c.push(id(g, *next_ms));
                c.push(id(g, *next_ms));
                c.push(count(g));
                if g.chance(40) {
                    c.push(consumer);
                }
            }
        }
        "XCLAIM" => {
            c.push(group);
            c.push(consumer);
            c.push(g.pick(&["0", "3600000", "-5", "x"]).into());
            for _ in 0..1 + g.next() % 3 {
                c.push(id(g, *next_ms));
            }
            for _ in 0..g.next() % 3 {
                match g.next() % 8 {
                    0 => c.extend(["IDLE".into(), g.pick(&["7200000", "0", "x"]).into()]),
                    1 => c.extend(["TIME".into(), g.pick(&["1000", "-5", "x"]).into()]),
                    2 => c.extend(["RETRYCOUNT".into(), g.pick(&["0", "7", "-1", "x"]).into()]),
                    3 => c.push("FORCE".into()),
                    4 => c.push("JUSTID".into()),
                    5 => c.extend(["LASTID".into(), id(g, *next_ms)]),
                    6 => c.push("BOGUS".into()),
                    _ => c.push("IDLE".into()),
                }
            }
        }
        "XAUTOCLAIM" => {
            c.push(group);
            c.push(consumer);
            c.push(g.pick(&["0", "3600000", "-5", "x"]).into());
            c.push(id(g, *next_ms));
            if g.chance(50) {
                c.push("COUNT".into());
                c.push(g.pick(&["1", "2", "0", "-1", "x", "100"]).into());
            }
            if g.chance(30) {
                c.push("JUSTID".into());
            }
        }
        "XINFO" => {
            let sub = g.pick(&["STREAM", "STREAM", "GROUPS", "CONSUMERS", "HELP", "nope"]);
            c.insert(1, sub.into());
            match sub {
                "STREAM" if g.chance(50) => {
                    c.push("FULL".into());
                    if g.chance(50) {
                        c.push("COUNT".into());
                        c.push(count(g));
                    }
                }
                "CONSUMERS" => c.push(group),
                "HELP" => c.truncate(2),
                _ => {}
            }
        }
        _ => {}
    }
    c
}

fn run_both(t: &mut T, redis: &mut Client, cmd: &[String]) -> (R, R) {
    let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.clone().into_bytes()).collect();
    t.now = now_ms();
    let ours = resp2(&t.raw(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>()));
    let theirs = redis.call(&args);
    (mask(cmd, ours), mask(cmd, theirs))
}

#[test]
#[ignore]
fn differential_streams() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let seeds: u64 = env_number("REDIS_DIFF_SEEDS", 20);
    let steps: usize = env_number("REDIS_DIFF_STEPS", 3000);
    // How often each command failed and why, to see which paths the run really exercised.
    let mut outcomes: std::collections::BTreeMap<(String, String), u32> = Default::default();
    for seed in 1..=seeds {
        let node_entries = [100, 3, 5][(seed % 3) as usize];
        STREAM_NODE_MAX_ENTRIES.set(node_entries);
        let config = ["CONFIG", "SET", "stream-node-max-entries"];
        let mut config: Vec<Vec<u8>> = config.iter().map(|s| s.as_bytes().to_vec()).collect();
        config.push(node_entries.to_string().into_bytes());
        redis.call(&config);
        redis.call(&[b"FLUSHALL".to_vec()]);
        let mut t = T::new();
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut next_ms = 1;
        let mut history: Vec<String> = Vec::new();
        for step in 0..steps {
            let cmd = command(&mut g, &mut next_ms);
            history.push(cmd.join(" "));
            let (ours, theirs) = run_both(&mut t, &mut redis, &cmd);
            let outcome = match &theirs {
                R::Error(e) => e.chars().take(40).collect(),
                _ => "ok".to_string(),
            };
            *outcomes.entry((cmd[0].clone(), outcome)).or_default() += 1;
            assert_eq!(
                ours,
                theirs,
                "seed {seed} step {step}: {cmd:?}\nhistory:\n{}",
                history[history.len().saturating_sub(30)..].join("\n")
            );
        }
        for key in KEYS {
            for probe in [
                "XRANGE - +",
                "XINFO STREAM",
                "XINFO STREAM FULL COUNT 0",
                "XINFO GROUPS",
                "TYPE",
            ] {
                let mut cmd: Vec<String> = probe.split(' ').map(String::from).collect();
                let at = if probe.starts_with("XINFO") { 2 } else { 1 };
                cmd.insert(at, key.to_string());
                let (ours, theirs) = run_both(&mut t, &mut redis, &cmd);
                assert_eq!(ours, theirs, "seed {seed} final {cmd:?}");
            }
        }
    }
    STREAM_NODE_MAX_ENTRIES.set(100);
    for ((name, outcome), n) in outcomes {
        eprintln!("{name:<12} {n:>7} {outcome}");
    }
}
