//! Differential test of the sorted set commands against a real redis-server 7.0 (its data is
//! flushed and its zset thresholds changed). Ignored by default; run with
//! `REDIS_DIFF_PORT=<port> cargo test -p damselfly-storage differential_zsets -- --ignored --test-threads=1`
//! (`REDIS_DIFF_SEEDS` sets how many seeds, `REDIS_DIFF_STEPS` the commands per seed).
//!
//! Every reply must be identical, except random picks (ZRANDMEMBER), which are checked by their
//! properties, and ZSCAN on a skiplist, whose cursors differ: full iterations are compared as
//! sets. After every few commands each key's contents, encoding and DEBUG DIGEST-VALUE are
//! compared; at the end, the keyspace hit and miss counters.

use crate::commands::difftest::{env_number, from_frame, now_ms, redis_from_env, Client, Gen, R};
use crate::commands::tests::T;
use crate::config::{ZSET_MAX_LISTPACK_ENTRIES, ZSET_MAX_LISTPACK_VALUE};
use crate::digest::digest_value;
use damselfly_protocol::{format_double, Frame};
use std::collections::HashSet;

const KEYS: &[&str] = &["z0", "z1", "z2", "lex", "str", "none"];
const MEMBERS: &[&str] = &[
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "1",
    "-5",
    "",
    "member:long",
];
const SCORES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "1.5",
    "-0",
    "0.1",
    "0.3",
    "inf",
    "-inf",
    "+inf",
    "1e308",
    "-1e308",
    "3.0000000000000004",
    "1e-320",
    "10",
    "100",
    "7",
    "0x10",
    "abc",
    "nan",
    "",
    " 1",
    "1e400",
];
const BOUNDS: &[&str] = &[
    "-inf", "+inf", "0", "1", "(1", "2", "(2", "1.5", "(0", "-1", "10", "(inf", "x", "", "( 1",
];
const LEX_BOUNDS: &[&str] = &[
    "-", "+", "[a", "(a", "[c", "(c", "[e", "(h", "[", "(", "a", "++",
];
const INDICES: &[&str] = &["0", "1", "-1", "2", "-2", "5", "-100", "100", "x", "3"];

fn member(g: &mut Gen) -> String {
    if g.chance(3) {
        "x".repeat(10 + (g.next() % 60) as usize)
    } else {
        g.pick(MEMBERS).to_string()
    }
}

fn score(g: &mut Gen) -> String {
    if g.chance(15) {
        format!("{}.{}", g.next() % 20, g.next() % 1000)
    } else {
        g.pick(SCORES).to_string()
    }
}

/// A zset key: mostly the scored ones. Lex commands use "lex", whose scores are all 0 (lex
/// ranges are meaningful only then), "missing" and "string", which no other command writes.
fn key(g: &mut Gen) -> String {
    g.pick(&["z0", "z1", "z2", "z0", "z1", "str", "none"])
        .to_string()
}

fn lex_key(g: &mut Gen) -> String {
    g.pick(&["lex", "lex", "lex", "string", "missing"])
        .to_string()
}

fn push_all(cmd: &mut Vec<String>, items: &[&str]) {
    cmd.extend(items.iter().map(|s| s.to_string()));
}

fn zadd(g: &mut Gen, lex: bool) -> Vec<String> {
    let mut cmd = vec!["ZADD".to_string(), if lex { lex_key(g) } else { key(g) }];
    if !lex {
        for flag in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
            if g.chance(12) {
                cmd.push(flag.to_string());
            }
        }
    }
    let pairs = 1 + g.next() % if g.chance(20) { 12 } else { 3 };
    for _ in 0..pairs {
        cmd.push(if lex { "0".to_string() } else { score(g) });
        cmd.push(member(g));
    }
    if g.chance(3) {
        cmd.pop();
    }
    cmd
}

fn range_options(g: &mut Gen, cmd: &mut Vec<String>, limit: bool, scores: bool) {
    if scores && g.chance(50) {
        cmd.push("WITHSCORES".into());
    }
    if limit && g.chance(40) {
        cmd.push("LIMIT".into());
        cmd.push(g.pick(&["0", "1", "2", "-1", "5"]).into());
        cmd.push(g.pick(&["-1", "0", "1", "2", "10", "-5"]).into());
    }
}

fn command(g: &mut Gen) -> Vec<String> {
    let mut cmd: Vec<String> = Vec::new();
    match g.next() % 36 {
        0..=5 => return zadd(g, false),
        6 => return zadd(g, true),
        7 => push_all(&mut cmd, &["ZINCRBY", &key(g), &score(g), &member(g)]),
        8 => {
            push_all(&mut cmd, &["ZREM", &key(g)]);
            for _ in 0..1 + g.next() % 3 {
                cmd.push(member(g));
            }
        }
        9 => push_all(&mut cmd, &["ZSCORE", &key(g), &member(g)]),
        10 => push_all(&mut cmd, &["ZMSCORE", &key(g), &member(g), &member(g)]),
        11 => push_all(&mut cmd, &["ZCARD", &key(g)]),
        12 => push_all(
            &mut cmd,
            &["ZCOUNT", &key(g), g.pick(BOUNDS), g.pick(BOUNDS)],
        ),
        13 => push_all(
            &mut cmd,
            &[
                "ZLEXCOUNT",
                &lex_key(g),
                g.pick(LEX_BOUNDS),
                g.pick(LEX_BOUNDS),
            ],
        ),
        14 | 15 => {
            push_all(&mut cmd, &["ZRANGE", &key(g)]);
            let kind = g.pick(&["", "BYSCORE", "BYLEX"]);
            match kind {
                "BYSCORE" => push_all(&mut cmd, &[g.pick(BOUNDS), g.pick(BOUNDS)]),
                "BYLEX" => {
                    cmd[1] = lex_key(g);
                    push_all(&mut cmd, &[g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS)]);
                }
                _ => push_all(&mut cmd, &[g.pick(INDICES), g.pick(INDICES)]),
            }
            if !kind.is_empty() {
                cmd.push(kind.into());
            }
            if g.chance(40) {
                cmd.push("REV".into());
            }
            let (limit, scores) = (g.chance(80), kind != "BYLEX" || g.chance(5));
            range_options(g, &mut cmd, limit, scores);
        }
        16 => {
            let name = g.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]);
            push_all(&mut cmd, &[name, &key(g), g.pick(BOUNDS), g.pick(BOUNDS)]);
            let (limit, scores) = (true, true);
            range_options(g, &mut cmd, limit, scores);
        }
        17 => {
            let name = g.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
            push_all(
                &mut cmd,
                &[name, &lex_key(g), g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS)],
            );
            let (limit, scores) = (true, g.chance(5));
            range_options(g, &mut cmd, limit, scores);
        }
        18 => {
            push_all(
                &mut cmd,
                &["ZREVRANGE", &key(g), g.pick(INDICES), g.pick(INDICES)],
            );
            let (limit, scores) = (g.chance(5), true);
            range_options(g, &mut cmd, limit, scores);
        }
        19 => push_all(
            &mut cmd,
            &[g.pick(&["ZRANK", "ZREVRANK"]), &key(g), &member(g)],
        ),
        20 => {
            push_all(&mut cmd, &[g.pick(&["ZPOPMIN", "ZPOPMAX"]), &key(g)]);
            if g.chance(60) {
                cmd.push(g.pick(&["0", "1", "2", "5", "-1", "x"]).into());
            }
        }
        21 => {
            let n = 1 + g.next() % 3;
            push_all(&mut cmd, &["ZMPOP", &n.to_string()]);
            for _ in 0..n {
                cmd.push(key(g));
            }
            cmd.push(g.pick(&["MIN", "MAX", "max", "foo"]).into());
            if g.chance(50) {
                push_all(&mut cmd, &["COUNT", g.pick(&["1", "2", "10", "0", "-1"])]);
            }
        }
        22 | 23 => {
            push_all(&mut cmd, &["ZRANDMEMBER", &key(g)]);
            if g.chance(80) {
                cmd.push(g.pick(&["0", "1", "2", "-3", "5", "100", "-1", "x"]).into());
                if g.chance(40) {
                    cmd.push(g.pick(&["WITHSCORES", "WITHSCORES", "foo"]).into());
                }
            }
        }
        24 => push_all(
            &mut cmd,
            &["ZREMRANGEBYRANK", &key(g), g.pick(INDICES), g.pick(INDICES)],
        ),
        25 => push_all(
            &mut cmd,
            &["ZREMRANGEBYSCORE", &key(g), g.pick(BOUNDS), g.pick(BOUNDS)],
        ),
        26 => push_all(
            &mut cmd,
            &[
                "ZREMRANGEBYLEX",
                &lex_key(g),
                g.pick(LEX_BOUNDS),
                g.pick(LEX_BOUNDS),
            ],
        ),
        27..=29 => return set_op(g),
        30 => {
            push_all(&mut cmd, &["ZRANGESTORE", &key(g), &key(g)]);
            match g.pick(&["", "BYSCORE", "BYLEX"]) {
                "BYSCORE" => push_all(&mut cmd, &[g.pick(BOUNDS), g.pick(BOUNDS), "BYSCORE"]),
                "BYLEX" => {
                    cmd[2] = lex_key(g);
                    push_all(&mut cmd, &[g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS), "BYLEX"]);
                }
                _ => push_all(&mut cmd, &[g.pick(INDICES), g.pick(INDICES)]),
            }
            if g.chance(30) {
                cmd.push("REV".into());
            }
            let (limit, scores) = (g.chance(50), g.chance(5));
            range_options(g, &mut cmd, limit, scores);
        }
        31 => push_all(&mut cmd, &["ZSCAN", &key(g), "0"]),
        32 => push_all(
            &mut cmd,
            &[
                "ZSCAN",
                &key(g),
                g.pick(&["0", "x", "-1", ""]),
                g.pick(&["COUNT", "MATCH", "foo"]),
                g.pick(&["0", "2", "a*", "*"]),
            ],
        ),
        33 => push_all(&mut cmd, &["DEL", g.pick(KEYS)]),
        34 => push_all(&mut cmd, &["SET", g.pick(&["str", "string"]), "v"]),
        _ => push_all(
            &mut cmd,
            &[g.pick(&["OBJECT", "TYPE"]), "ENCODING", g.pick(KEYS)],
        ),
    }
    if cmd[0] == "TYPE" {
        cmd.remove(1);
    }
    cmd
}

fn set_op(g: &mut Gen) -> Vec<String> {
    let name = g.pick(&[
        "ZUNIONSTORE",
        "ZINTERSTORE",
        "ZDIFFSTORE",
        "ZUNION",
        "ZINTER",
        "ZDIFF",
    ]);
    let store = name.ends_with("STORE");
    let mut cmd = vec![name.to_string()];
    if store {
        cmd.push(key(g));
    }
    let n = 1 + g.next() % 3;
    cmd.push(if g.chance(3) {
        g.pick(&["0", "x", "9"]).to_string()
    } else {
        n.to_string()
    });
    for _ in 0..n {
        cmd.push(key(g));
    }
    if g.chance(40) {
        cmd.push("WEIGHTS".into());
        for _ in 0..n {
            cmd.push(
                g.pick(&["1", "2", "-1", "0", "0.5", "inf", "-inf", "x"])
                    .into(),
            );
        }
    }
    if g.chance(40) {
        push_all(
            &mut cmd,
            &["AGGREGATE", g.pick(&["SUM", "MIN", "MAX", "foo"])],
        );
    }
    if g.chance(50) {
        cmd.push("WITHSCORES".into());
    }
    cmd
}

struct Pair {
    redis: Client,
    t: T,
}

impl Pair {
    fn call(&mut self, cmd: &[String]) -> (R, R) {
        let ours = self.ours(cmd);
        (ours, self.redis.call(&bytes_of(cmd)))
    }

    /// Every (member, score) of a key on each side, via full ZSCANs in small steps.
    fn full_scan(&mut self, key: &str) -> (HashSet<Vec<u8>>, HashSet<Vec<u8>>) {
        let mut sides = Vec::new();
        for side in 0..2 {
            let mut seen = HashSet::new();
            let mut cursor = "0".to_string();
            for _ in 0..10_000 {
                let cmd = vec![
                    "ZSCAN".to_string(),
                    key.to_string(),
                    cursor.clone(),
                    "COUNT".into(),
                    "3".into(),
                ];
                let reply = if side == 0 {
                    self.ours(&cmd)
                } else {
                    self.redis.call(&bytes_of(&cmd))
                };
                let R::Array(Some(parts)) = reply else { break };
                let (R::Bulk(Some(next)), R::Array(Some(items))) = (&parts[0], &parts[1]) else {
                    break;
                };
                for pair in items.chunks(2) {
                    if let [R::Bulk(Some(m)), R::Bulk(Some(s))] = pair {
                        seen.insert([m.as_slice(), b"=", s.as_slice()].concat());
                    }
                }
                cursor = String::from_utf8_lossy(next).to_string();
                if cursor == "0" {
                    break;
                }
            }
            sides.push(seen);
        }
        let theirs = sides.pop().unwrap_or_default();
        (sides.pop().unwrap_or_default(), theirs)
    }

    fn ours(&mut self, cmd: &[String]) -> R {
        let args = bytes_of(cmd);
        self.t.now = now_ms();
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        resp2(&self.t.raw(&refs))
    }

    /// The keyspace counters of both sides since the last reset, then a reset.
    fn take_stats(&mut self) -> ((u64, u64), (u64, u64)) {
        let info = self.redis.call(&[b"INFO".to_vec(), b"stats".to_vec()]);
        self.redis
            .call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
        let info = match info {
            R::Bulk(Some(info)) => String::from_utf8_lossy(&info).to_string(),
            _ => String::new(),
        };
        let stat = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(u64::MAX)
        };
        let ours = (self.t.stats.keyspace_hits, self.t.stats.keyspace_misses);
        self.t.stats.keyspace_hits = 0;
        self.t.stats.keyspace_misses = 0;
        (ours, (stat("keyspace_hits"), stat("keyspace_misses")))
    }
}

/// A reply as a RESP2 client reads it (doubles are bulk strings).
fn resp2(frame: &Frame) -> R {
    match frame {
        Frame::Double(d) => R::Bulk(Some(format_double(*d).into_bytes())),
        Frame::Array(items) => R::Array(Some(items.iter().map(resp2).collect())),
        Frame::Pairs(pairs) => R::Array(Some(
            pairs
                .iter()
                .flat_map(|(member, score)| [resp2(member), resp2(score)])
                .collect(),
        )),
        other => from_frame(other),
    }
}

fn bytes_of(cmd: &[String]) -> Vec<Vec<u8>> {
    cmd.iter().map(|s| s.clone().into_bytes()).collect()
}

/// Members (and scores) of a ZRANDMEMBER reply, and whether they are consistent with the set
/// as `zrange` (ZRANGE 0 -1 WITHSCORES) shows it.
fn random_pick_ok(cmd: &[String], reply: &R, zrange: &R) -> bool {
    let all: Vec<(Vec<u8>, Vec<u8>)> = match zrange {
        R::Array(Some(items)) => items
            .chunks(2)
            .filter_map(|p| match p {
                [R::Bulk(Some(m)), R::Bulk(Some(s))] => Some((m.clone(), s.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let with_scores = cmd.len() == 4;
    let count: Option<i64> = cmd.get(2).and_then(|c| c.parse().ok());
    let items: Vec<&R> = match reply {
        R::Array(Some(items)) => items.iter().collect(),
        R::Bulk(Some(_)) if count.is_none() => vec![reply],
        _ => return false,
    };
    let step = if with_scores { 2 } else { 1 };
    let mut members = Vec::new();
    for chunk in items.chunks(step) {
        let R::Bulk(Some(m)) = chunk[0] else {
            return false;
        };
        let Some((_, s)) = all.iter().find(|(am, _)| am == m) else {
            return false;
        };
        if with_scores && chunk.get(1).copied() != Some(&R::Bulk(Some(s.clone()))) {
            return false;
        }
        members.push(m.clone());
    }
    let expected = match count {
        None => 1,
        Some(n) if n < 0 => n.unsigned_abs() as usize,
        Some(n) => (n as usize).min(all.len()),
    };
    let distinct = count.is_none_or(|n| n < 0)
        || members.iter().collect::<HashSet<_>>().len() == members.len();
    members.len() == expected && distinct
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
#[ignore]
fn differential_zsets() {
    let Some(redis) = redis_from_env() else {
        return;
    };
    let env = env_number::<u64>;
    let (seeds, steps) = (env("REDIS_DIFF_SEEDS", 20), env("REDIS_DIFF_STEPS", 3000));
    let first_seed = env("REDIS_DIFF_FIRST_SEED", 1);
    let mut p = Pair { redis, t: T::new() };
    for seed in first_seed..first_seed + seeds {
        let (entries, value) = match seed % 3 {
            0 => (128, 64),
            1 => (4, 12),
            _ => (1 + (seed % 10) as i64, 20),
        };
        ZSET_MAX_LISTPACK_ENTRIES.set(entries);
        ZSET_MAX_LISTPACK_VALUE.set(value);
        for (name, v) in [
            ("zset-max-listpack-entries", entries),
            ("zset-max-listpack-value", value),
        ] {
            p.redis.call(&[
                b"CONFIG".to_vec(),
                b"SET".to_vec(),
                name.into(),
                v.to_string().into(),
            ]);
        }
        p.redis.call(&[b"FLUSHALL".to_vec()]);
        p.redis.call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
        p.t = T::new();
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut history: Vec<String> = Vec::new();
        // Full scans take different numbers of calls on each side: skip that window's counters.
        let mut counters_comparable = true;
        for step in 0..steps {
            let cmd = command(&mut g);
            history.push(cmd.join(" "));
            let context = || history[history.len().saturating_sub(30)..].join("\n");
            let (ours, theirs) = p.call(&cmd);
            let random = cmd[0] == "ZRANDMEMBER" && !matches!(theirs, R::Error(_));
            let scan_of_skiplist =
                cmd[0] == "ZSCAN" && ours != theirs && !matches!(theirs, R::Error(_));
            if random {
                let dump = p.call(&[
                    "ZRANGE".into(),
                    cmd[1].clone(),
                    "0".into(),
                    "-1".into(),
                    "WITHSCORES".into(),
                ]);
                // Equal replies pass; different picks must both be valid ones.
                if ours != theirs {
                    assert!(
                        random_pick_ok(&cmd, &ours, &dump.0),
                        "seed {seed} step {step}: ours {ours:?}\n{}",
                        context()
                    );
                    assert!(
                        random_pick_ok(&cmd, &theirs, &dump.1),
                        "seed {seed} step {step}: redis {theirs:?}\n{}",
                        context()
                    );
                }
            } else if scan_of_skiplist {
                let (a, b) = p.full_scan(&cmd[1]);
                counters_comparable = false;
                assert_eq!(
                    a,
                    b,
                    "seed {seed} step {step}: full scan of {}\n{}",
                    cmd[1],
                    context()
                );
            } else {
                assert_eq!(
                    ours,
                    theirs,
                    "seed {seed} step {step}: {cmd:?}\n{}",
                    context()
                );
            }
            if step % 5 == 0 || step + 1 == steps {
                let (ours, theirs) = p.take_stats();
                if counters_comparable {
                    assert_eq!(
                        ours,
                        theirs,
                        "seed {seed} step {step}: keyspace hits, misses\n{}",
                        context()
                    );
                }
                compare_state(&mut p, seed, step, &context());
                p.take_stats();
                counters_comparable = true;
            }
        }
        eprintln!("seed {seed}: {steps} commands agree");
    }
    ZSET_MAX_LISTPACK_ENTRIES.set(128);
    ZSET_MAX_LISTPACK_VALUE.set(64);
}

/// Contents, encoding and digest of every key must agree.
fn compare_state(p: &mut Pair, seed: u64, step: u64, context: &str) {
    for key in KEYS {
        for probe in [
            vec!["ZRANGE", key, "0", "-1", "WITHSCORES"],
            vec!["OBJECT", "ENCODING", key],
        ] {
            if key == &"str" && probe[0] == "ZRANGE" {
                continue;
            }
            let cmd: Vec<String> = probe.iter().map(|s| s.to_string()).collect();
            let (ours, theirs) = p.call(&cmd);
            assert_eq!(
                ours, theirs,
                "seed {seed} after step {step}: {cmd:?}\n{context}"
            );
        }
        let theirs = p.redis.call(&[
            b"DEBUG".to_vec(),
            b"DIGEST-VALUE".to_vec(),
            key.as_bytes().to_vec(),
        ]);
        if let R::Array(Some(items)) = theirs {
            let now = p.t.now;
            let ours = hex(&digest_value(&mut p.t.dbs[0], key.as_bytes(), now));
            let theirs = match items.first() {
                Some(R::Simple(s)) => s.clone(),
                Some(R::Bulk(Some(b))) => String::from_utf8_lossy(b).to_string(),
                other => format!("{other:?}"),
            };
            assert_eq!(
                ours, theirs,
                "seed {seed} after step {step}: digest of {key}\n{context}"
            );
        }
    }
}
