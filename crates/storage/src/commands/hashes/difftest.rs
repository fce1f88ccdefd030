//! Differential test of the hash commands against a real redis-server 7.0 (ignored by default):
//! `REDIS_DIFF_PORT=7102 cargo test -p damselfly-storage differential_hashes -- --ignored --test-threads=1`
//! (`REDIS_DIFF_SEEDS` sets how many seeds). The server's data is flushed; it must allow DEBUG
//! (`--enable-debug-command yes`) for digests to be compared too.

use crate::commands::difftest::{env_number, from_frame, now_ms, redis_from_env, Client, Gen, R};
use crate::commands::tests::T;
use crate::config::{HASH_MAX_LISTPACK_ENTRIES, HASH_MAX_LISTPACK_VALUE};
use crate::value::Value;
use damselfly_protocol::Frame;
use std::collections::{BTreeMap, BTreeSet};

const KEYS: &[&str] = &["h0", "h1", "h2", "h3", "s"];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "7",
    "100",
    "-100",
    "x",
    "1.5",
    "",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "1\0",
    " 2",
    "+3",
];
const FLOATS: &[&str] = &[
    "1", "0.1", "-0.1", "1e3", "2.5e-3", "inf", "-inf", "nan", "abc", "-7", "1e308", ".5",
    "0x1p-2", "1e4932", "-1e4932", "1e70", "5.0e3", "",
];
const CURSORS: &[&str] = &[
    "0",
    "1",
    "x",
    " 1",
    "-",
    "+5",
    "",
    "18446744073709551616",
    "-1",
    "18446744073709551615",
    "0x10",
    "3\0z",
];

/// Fields: a few small ones (so that commands meet), bulk ones, long and binary ones.
fn field(g: &mut Gen) -> Vec<u8> {
    match g.next() % 20 {
        0 => vec![b'L'; 64 + (g.next() % 3) as usize],
        1 => b"a\0b".to_vec(),
        2 => Vec::new(),
        3..=5 => format!("g{}", g.next() % 700).into_bytes(),
        _ => format!("f{}", g.next() % 8).into_bytes(),
    }
}

fn value(g: &mut Gen) -> Vec<u8> {
    match g.next() % 12 {
        0 => vec![b'v'; 63 + (g.next() % 3) as usize],
        1 => g.pick(NUMBERS).as_bytes().to_vec(),
        2 => g.pick(FLOATS).as_bytes().to_vec(),
        3 => Vec::new(),
        _ => format!("{}", g.next() % 1000).into_bytes(),
    }
}

fn command(g: &mut Gen) -> Vec<Vec<u8>> {
    let name = g.pick(&[
        "HSET",
        "HSET",
        "HSET",
        "HMSET",
        "HSETNX",
        "HGET",
        "HMGET",
        "HDEL",
        "HDEL",
        "HLEN",
        "HEXISTS",
        "HSTRLEN",
        "HGETALL",
        "HKEYS",
        "HVALS",
        "HINCRBY",
        "HINCRBY",
        "HINCRBYFLOAT",
        "HINCRBYFLOAT",
        "HRANDFIELD",
        "HRANDFIELD",
        "HSCAN",
        "HSCAN",
        "BULK",
        "SET",
        "DEL",
        "TYPE",
        "EXISTS",
        "OBJECT",
    ]);
    let key = g.pick(KEYS).as_bytes().to_vec();
    let word = |s: &str| s.as_bytes().to_vec();
    let mut c = vec![word(if name == "BULK" { "HSET" } else { name }), key];
    match name {
        "HSET" | "HMSET" => {
            for _ in 0..1 + g.next() % 3 {
                c.push(field(g));
                c.push(value(g));
            }
            if g.chance(5) {
                c.push(field(g));
            }
        }
        "BULK" => {
            // Enough fields at once to cross hash-max-listpack-entries.
            for _ in 0..50 + g.next() % 300 {
                c.push(format!("g{}", g.next() % 700).into_bytes());
                c.push(value(g));
            }
        }
        "HSETNX" => {
            c.push(field(g));
            c.push(value(g));
        }
        "HGET" | "HEXISTS" | "HSTRLEN" => c.push(field(g)),
        "HMGET" | "HDEL" => {
            for _ in 0..1 + g.next() % 4 {
                c.push(field(g));
            }
        }
        "HINCRBY" => {
            c.push(field(g));
            c.push(word(g.pick(NUMBERS)));
        }
        "HINCRBYFLOAT" => {
            c.push(field(g));
            c.push(word(g.pick(FLOATS)));
        }
        "HRANDFIELD" if g.chance(70) => {
            let count = g.pick(&[
                "0",
                "1",
                "2",
                "5",
                "-1",
                "-5",
                "20",
                "1000",
                "-1000",
                "x",
                "-9223372036854775808",
                "4611686018427387904",
                "-4611686018427387904",
            ]);
            c.push(word(count));
            // A huge negative count without WITHVALUES means that many picks: skip it.
            let huge = count.len() > 15;
            if huge || g.chance(50) {
                c.push(word(if huge {
                    "WITHVALUES"
                } else {
                    g.pick(&["WITHVALUES", "withvalues", "WITHVALUE", "x"])
                }));
            }
            if g.chance(3) {
                c.push(word("x"));
            }
        }
        "HSCAN" => {
            c.push(word(if g.chance(70) { "0" } else { g.pick(CURSORS) }));
            while g.chance(35) {
                let opt = g.pick(&["MATCH", "COUNT", "match", "count", "TYPE", "NOVALUES"]);
                c.push(word(opt));
                if g.chance(92) {
                    c.push(word(if opt.eq_ignore_ascii_case("match") {
                        g.pick(&["*", "f*", "g1*", "?", "f[0-3]", "*b", "nomatch"])
                    } else {
                        g.pick(&["1", "5", "100", "0", "-1", "x"])
                    }));
                }
            }
        }
        "SET" => c.push(value(g)),
        "OBJECT" => c.insert(1, word("ENCODING")),
        _ => {}
    }
    c
}

/// A reply as comparable data: maps flattened as RESP2 shows them.
fn reply(f: &Frame) -> R {
    match f {
        Frame::Map(pairs) => R::Array(Some(
            pairs
                .iter()
                .flat_map(|(k, v)| [reply(k), reply(v)])
                .collect(),
        )),
        other => from_frame(other),
    }
}

fn items(r: &R) -> Vec<Vec<u8>> {
    match r {
        R::Array(Some(items)) => items
            .iter()
            .map(|i| match i {
                R::Bulk(Some(b)) => b.clone(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Our hash at `key` (read without touching statistics).
fn our_hash(t: &T, key: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = &t.dbs[t.db];
    match db.find(key).map(|id| &db.slot(id).value) {
        Some(Value::Hash(h)) => h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
        _ => BTreeMap::new(),
    }
}

fn our_encoding(t: &T, key: &[u8]) -> Option<&'static str> {
    let db = &t.dbs[t.db];
    db.find(key).map(|id| db.slot(id).value.encoding())
}

/// HRANDFIELD replies are random: check their shape against the (identical) contents.
fn check_randfield(cmd: &[Vec<u8>], contents: &BTreeMap<Vec<u8>, Vec<u8>>, ours: &R, theirs: &R) {
    let shape = |r: &R| match r {
        R::Error(e) => format!("error {e}"),
        R::Bulk(None) => "null".into(),
        R::Bulk(Some(_)) => "bulk".into(),
        R::Array(Some(a)) => format!("array {}", a.len()),
        other => format!("{other:?}"),
    };
    assert_eq!(shape(ours), shape(theirs), "{cmd:?}");
    let with_values = cmd.len() == 4;
    let count: i64 = cmd
        .get(2)
        .and_then(|c| std::str::from_utf8(c).ok()?.parse().ok())
        .unwrap_or(1);
    for r in [ours, theirs] {
        let picked = match r {
            R::Bulk(Some(f)) => vec![f.clone()],
            R::Array(Some(_)) => items(r),
            _ => continue,
        };
        let step = if with_values { 2 } else { 1 };
        let fields: Vec<&Vec<u8>> = picked.iter().step_by(step).collect();
        for (i, f) in fields.iter().enumerate() {
            let v = contents.get(*f);
            assert!(v.is_some(), "{cmd:?}: {f:?} not a field");
            if with_values {
                assert_eq!(v, Some(&picked[i * 2 + 1]), "{cmd:?}: value of {f:?}");
            }
        }
        if count > 0 && cmd.len() > 2 {
            let distinct: BTreeSet<_> = fields.iter().collect();
            assert_eq!(distinct.len(), fields.len(), "{cmd:?}: repeats");
            assert_eq!(
                fields.len() as i64,
                count.min(contents.len() as i64),
                "{cmd:?}"
            );
        }
    }
}

/// Runs HSCAN to completion on one side; the union of pairs and the number of calls.
fn full_scan(mut call: impl FnMut(&[Vec<u8>]) -> R, cmd: &[Vec<u8>]) -> (R, usize) {
    let mut cmd = cmd.to_vec();
    let mut pairs = BTreeSet::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let r = call(&cmd);
        let R::Array(Some(parts)) = &r else {
            return (r, calls);
        };
        let R::Bulk(Some(next)) = &parts[0] else {
            panic!("cursor {r:?}")
        };
        let found = items(&parts[1]);
        for pair in found.chunks(2) {
            pairs.insert((pair[0].clone(), pair[1].clone()));
        }
        if next == b"0" {
            let flat = pairs
                .into_iter()
                .flat_map(|(f, v)| [R::Bulk(Some(f)), R::Bulk(Some(v))])
                .collect();
            return (R::Array(Some(flat)), calls);
        }
        cmd[2] = next.clone();
    }
}

fn run_seed(redis: &mut Client, seed: u64, steps: usize) {
    redis.call(&[b"FLUSHALL".to_vec()]);
    redis.call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
    let mut t = T::new();
    let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut history: Vec<String> = Vec::new();
    // Extra keyspace hits we count because a full HSCAN takes more calls here than there.
    let mut extra_hits: i64 = 0;
    for step in 0..steps {
        let cmd = command(&mut g);
        history.push(
            String::from_utf8_lossy(&cmd.join(&b' '))
                .chars()
                .take(200)
                .collect(),
        );
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        t.now = now_ms();
        let name = String::from_utf8_lossy(&cmd[0]).to_string();
        let contents = our_hash(&t, &cmd[1]);
        let encoding = our_encoding(&t, &cmd[1]);
        let context = || history[history.len().saturating_sub(30)..].join("\n");
        if name == "HSCAN" && cmd[2] == b"0" {
            let (ours, our_calls) = full_scan(
                |c| reply(&t.raw(&c.iter().map(|a| a.as_slice()).collect::<Vec<_>>())),
                &cmd,
            );
            let (theirs, their_calls) = full_scan(|c| redis.call(c), &cmd);
            extra_hits += our_calls as i64 - their_calls as i64;
            assert_eq!(
                ours,
                theirs,
                "seed {seed} step {step}: {cmd:?}\nhistory:\n{}",
                context()
            );
            continue;
        }
        let ours = reply(&t.raw(&args));
        let theirs = redis.call(&cmd);
        match name.as_str() {
            "HRANDFIELD" => check_randfield(&cmd, &contents, &ours, &theirs),
            "HSCAN" if encoding == Some("hashtable") && !matches!(theirs, R::Error(_)) => {
                assert!(matches!(ours, R::Array(Some(_))), "{cmd:?}: {ours:?}");
            }
            "HGETALL" | "HKEYS" | "HVALS" if encoding == Some("hashtable") => {
                let sorted = |r: &R| {
                    let mut v = match r {
                        R::Array(Some(_)) => items(r),
                        other => return vec![format!("{other:?}").into_bytes()],
                    };
                    if name == "HGETALL" {
                        let mut pairs: Vec<Vec<u8>> = v.chunks(2).map(|p| p.concat()).collect();
                        pairs.sort();
                        return pairs;
                    }
                    v.sort();
                    v
                };
                assert_eq!(
                    sorted(&ours),
                    sorted(&theirs),
                    "seed {seed} step {step}: {cmd:?}"
                );
            }
            _ => assert_eq!(
                ours,
                theirs,
                "seed {seed} step {step}: {cmd:?}\nhistory:\n{}",
                context()
            ),
        }
    }
    let R::Bulk(Some(info)) = redis.call(&[b"INFO".to_vec(), b"stats".to_vec()]) else {
        panic!("INFO")
    };
    let info = String::from_utf8_lossy(&info).to_string();
    let stat = |name: &str| -> i64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    // A full HSCAN of a hashtable takes a different number of calls here and there.
    let ours = (
        t.stats.keyspace_hits as i64 - extra_hits,
        t.stats.keyspace_misses as i64,
    );
    let theirs = (stat("keyspace_hits"), stat("keyspace_misses"));
    assert_eq!(ours, theirs, "seed {seed}: keyspace hits and misses");
    final_state(redis, &mut t, seed);
}

/// Every key's contents, encoding and digest agree.
fn final_state(redis: &mut Client, t: &mut T, seed: u64) {
    for key in KEYS {
        let key = key.as_bytes().to_vec();
        let ours = our_hash(t, &key);
        let theirs = match redis.call(&[b"TYPE".to_vec(), key.clone()]) {
            R::Simple(s) if s == "hash" => {
                let all = items(&redis.call(&[b"HGETALL".to_vec(), key.clone()]));
                all.chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect()
            }
            _ => BTreeMap::new(),
        };
        assert_eq!(ours, theirs, "seed {seed} final contents of {key:?}");
        let encoding = redis.call(&[b"OBJECT".to_vec(), b"ENCODING".to_vec(), key.clone()]);
        let our_enc = our_encoding(t, &key).map(|e| e.as_bytes().to_vec());
        assert_eq!(
            R::Bulk(our_enc),
            encoding,
            "seed {seed} final encoding of {key:?}"
        );
        if let R::Bulk(Some(hex)) =
            redis.call(&[b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec(), key.clone()])
        {
            let digest = crate::digest::digest_value(&mut t.dbs[0], &key, now_ms());
            let ours: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(ours.as_bytes(), &hex[..], "seed {seed} digest of {key:?}");
        }
    }
}

fn set_thresholds(redis: &mut Client, entries: i64, value: i64) {
    for (name, v) in [
        ("hash-max-listpack-entries", entries),
        ("hash-max-listpack-value", value),
    ] {
        redis.call(&[
            b"CONFIG".to_vec(),
            b"SET".to_vec(),
            name.as_bytes().to_vec(),
            v.to_string().into_bytes(),
        ]);
    }
    HASH_MAX_LISTPACK_ENTRIES.set(entries);
    HASH_MAX_LISTPACK_VALUE.set(value);
}

#[test]
#[ignore]
fn differential_hashes() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let seeds: u64 = env_number("REDIS_DIFF_SEEDS", 20);
    for seed in 1..=seeds {
        // Every third seed uses small thresholds so that conversions happen often.
        if seed % 3 == 0 {
            set_thresholds(&mut redis, 4 + (seed as i64 % 5), 3 + (seed as i64 % 4));
        } else {
            set_thresholds(&mut redis, 512, 64);
        }
        run_seed(&mut redis, seed, 3000);
    }
    set_thresholds(&mut redis, 512, 64);
}
