//! Differential test of the set commands against a real redis-server (see
//! `commands::difftest`). Replies whose order Redis leaves unspecified are compared as sets;
//! random picks (SPOP, SRANDMEMBER) are checked by shape and membership, then the server is
//! brought back to our contents so that the runs stay comparable.
//! `REDIS_DIFF_PORT=7103 cargo test -p damselfly-storage differential_sets -- --ignored --test-threads=1`

use crate::commands::difftest::{env_number, from_frame, redis_from_env, Client, Gen, R};
use crate::commands::tests::T;
use crate::config::SET_MAX_INTSET_ENTRIES;
use crate::value::Value;
use damselfly_protocol::Frame;
use std::collections::BTreeSet;

const KEYS: &[&str] = &["s0", "s1", "s2", "s3", "str"];
const MEMBERS: &[&str] = &[
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12",
    "-1",
    "0",
    "70000",
    "5000000000",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "01",
    "+1",
    " 1",
    "1\0",
    "",
    "a",
    "b",
    "c",
    "d",
    "member:123",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];
const COUNTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "5",
    "10",
    "40",
    "-1",
    "-3",
    "-20",
    "x",
    "",
    "1.5",
    "-9223372036854775808",
];
/// A small intset limit so that conversions by size happen often.
const INTSET_LIMIT: i64 = 8;

fn ours(f: &Frame) -> R {
    match f {
        Frame::Set(items) => R::Array(Some(items.iter().map(from_frame).collect())),
        other => from_frame(other),
    }
}

/// An array reply's items as a set of byte strings (None when not an array of bulks).
fn as_set(r: &R) -> Option<BTreeSet<Vec<u8>>> {
    let R::Array(Some(items)) = r else {
        return None;
    };
    items
        .iter()
        .map(|i| match i {
            R::Bulk(Some(b)) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn array_len(r: &R) -> Option<usize> {
    match r {
        R::Array(Some(items)) => Some(items.len()),
        _ => None,
    }
}

/// A key's set members read directly (no statistics), None when it holds no set.
fn members_of(t: &T, key: &str) -> Option<BTreeSet<Vec<u8>>> {
    let db = &t.dbs[t.db];
    let id = db.find(key.as_bytes())?;
    match &db.slot(id).value {
        Value::Set(set) => Some(set.members().into_iter().map(|m| m.to_vec()).collect()),
        _ => None,
    }
}

fn encoding_of(t: &T, key: &str) -> Option<&'static str> {
    let db = &t.dbs[t.db];
    db.find(key.as_bytes())
        .map(|id| db.slot(id).value.encoding())
}

fn args_of(cmd: &[String]) -> Vec<Vec<u8>> {
    cmd.iter().map(|s| s.clone().into_bytes()).collect()
}

fn command(g: &mut Gen) -> Vec<String> {
    let k = |g: &mut Gen| g.pick(KEYS).to_string();
    let m = |g: &mut Gen| g.pick(MEMBERS).to_string();
    let name = g.pick(&[
        "SADD",
        "SADD",
        "SADD",
        "SREM",
        "SMEMBERS",
        "SISMEMBER",
        "SMISMEMBER",
        "SCARD",
        "SPOP",
        "SRANDMEMBER",
        "SMOVE",
        "SINTER",
        "SUNION",
        "SDIFF",
        "SINTERSTORE",
        "SUNIONSTORE",
        "SDIFFSTORE",
        "SINTERCARD",
        "SSCAN",
        "OBJECT",
        "SET",
        "DEL",
    ]);
    let mut c = vec![name.to_string()];
    match name {
        "SADD" | "SREM" | "SMISMEMBER" => {
            c.push(k(g));
            // Now and then many members, so sets outgrow the intset limit and SDIFF's work
            // estimate favours copying the first set.
            let many = if g.chance(10) { 16 } else { 5 };
            for _ in 0..1 + g.next() % many {
                c.push(m(g));
            }
        }
        "SMEMBERS" | "SCARD" | "DEL" => c.push(k(g)),
        "SISMEMBER" => {
            c.push(k(g));
            c.push(m(g));
        }
        "SPOP" | "SRANDMEMBER" => {
            c.push(k(g));
            if g.chance(60) {
                c.push(g.pick(COUNTS).to_string());
            }
            if g.chance(3) {
                c.push("1".to_string());
            }
        }
        "SMOVE" => {
            c.push(k(g));
            c.push(k(g));
            c.push(m(g));
        }
        "SINTER" | "SUNION" | "SDIFF" => {
            for _ in 0..1 + g.next() % 4 {
                c.push(k(g));
            }
        }
        "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" => {
            for _ in 0..2 + g.next() % 5 {
                c.push(k(g));
            }
        }
        "SINTERCARD" => {
            let n = 1 + g.next() % 3;
            c.push(if g.chance(5) {
                g.pick(&["0", "-1", "x", "9"]).to_string()
            } else {
                n.to_string()
            });
            for _ in 0..n {
                c.push(k(g));
            }
            if g.chance(40) {
                c.push(g.pick(&["LIMIT", "limit", "bogus"]).to_string());
                if g.chance(90) {
                    c.push(g.pick(&["0", "1", "2", "-1", "x"]).to_string());
                }
            }
        }
        "SSCAN" => {
            c.push(k(g));
            c.push(g.pick(&["0", "0", "0", "x", "-", " 0", ""]).to_string());
            while g.chance(30) {
                c.push(
                    g.pick(&["COUNT", "MATCH", "TYPE", "count", "bogus"])
                        .to_string(),
                );
                if g.chance(90) {
                    c.push(
                        g.pick(&["1", "0", "5", "1*", "*", "[a-c]", "string", "x"])
                            .to_string(),
                    );
                }
            }
        }
        "OBJECT" => {
            c.push("ENCODING".to_string());
            c.push(k(g));
        }
        "SET" => {
            c.push(k(g));
            c.push(m(g));
        }
        _ => unreachable!(),
    }
    c
}

/// Makes the server's key hold our members in our encoding.
fn resync(t: &T, redis: &mut Client, key: &str) {
    redis.call(&args_of(&["DEL".into(), key.into()]));
    let Some(members) = members_of(t, key) else {
        return;
    };
    let mut sadd = vec![b"SADD".to_vec(), key.as_bytes().to_vec()];
    sadd.extend(members);
    redis.call(&sadd);
    if encoding_of(t, key) == Some("hashtable") {
        let marker = b"\x01not-an-integer".to_vec();
        redis.call(&[b"SADD".to_vec(), key.as_bytes().to_vec(), marker.clone()]);
        redis.call(&[b"SREM".to_vec(), key.as_bytes().to_vec(), marker]);
    }
}

/// Runs a full SSCAN on one side: the first error or everything seen, and the calls made
/// (each a keyspace lookup; the two sides' cursors differ, so they may take different counts).
fn full_scan(mut call: impl FnMut(&[Vec<u8>]) -> R, cmd: &[String]) -> (R, u64) {
    let mut args = args_of(cmd);
    let mut seen = BTreeSet::new();
    for calls in 1..100_000 {
        let reply = call(&args);
        let R::Array(Some(parts)) = &reply else {
            return (reply, calls);
        };
        let [R::Bulk(Some(cursor)), page] = &parts[..] else {
            return (reply, calls);
        };
        seen.extend(as_set(page).unwrap_or_default());
        if cursor == b"0" {
            let all = seen.into_iter().map(|m| R::Bulk(Some(m))).collect();
            return (R::Array(Some(all)), calls);
        }
        args[2] = cursor.clone();
    }
    (R::Error("scan never finished".into()), 0)
}

/// Compares one command's replies; random picks are checked against `before` (the key's
/// members before the command). Returns whether the server needs a resync of the key.
fn check(
    cmd: &[String],
    ours: &R,
    theirs: &R,
    before: &Option<BTreeSet<Vec<u8>>>,
) -> Result<bool, String> {
    let fail = || Err(format!("ours {ours:?}\n redis {theirs:?}"));
    let name = cmd[0].as_str();
    let unordered = matches!(name, "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF");
    if unordered && ours != theirs {
        return if as_set(ours).is_some() && as_set(ours) == as_set(theirs) {
            Ok(false)
        } else {
            fail()
        };
    }
    let random = matches!(name, "SPOP" | "SRANDMEMBER") && !matches!(theirs, R::Error(_));
    if !random {
        return if ours == theirs { Ok(false) } else { fail() };
    }
    let empty = BTreeSet::new();
    let before = before.as_ref().unwrap_or(&empty);
    match (ours, theirs) {
        (R::Bulk(None), R::Bulk(None)) => Ok(false),
        (R::Bulk(Some(m)), R::Bulk(Some(_))) if before.contains(m) => Ok(name == "SPOP"),
        (R::Array(Some(items)), R::Array(Some(_))) if array_len(ours) == array_len(theirs) => {
            let picked = as_set(ours).unwrap_or_default();
            let distinct = name == "SPOP" || !cmd[2].starts_with('-');
            if !picked.is_subset(before) || (distinct && picked.len() != items.len()) {
                return fail();
            }
            Ok(name == "SPOP")
        }
        _ => fail(),
    }
}

#[test]
#[ignore]
fn differential_sets() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let seeds: u64 = env_number("REDIS_DIFF_SEEDS", 20);
    let default_limit = SET_MAX_INTSET_ENTRIES.get();
    SET_MAX_INTSET_ENTRIES.set(INTSET_LIMIT);
    let limit = INTSET_LIMIT.to_string().into_bytes();
    redis.call(&[
        b"CONFIG".to_vec(),
        b"SET".to_vec(),
        b"set-max-intset-entries".to_vec(),
        limit,
    ]);
    for seed in 1..=seeds {
        redis.call(&[b"FLUSHALL".to_vec()]);
        redis.call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
        let mut t = T::new();
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut history: Vec<String> = Vec::new();
        // Keyspace hits the server counted for SSCAN pages we did not need.
        let mut extra_hits = 0i64;
        for step in 0..3000 {
            let cmd = command(&mut g);
            history.push(format!("{cmd:?}"));
            let args = args_of(&cmd);
            let before = members_of(&t, &cmd[1]);
            let (our_reply, their_reply) = if cmd[0] == "SSCAN" {
                let (ours_r, our_calls) = full_scan(
                    |a| ours(&t.raw(&a.iter().map(Vec::as_slice).collect::<Vec<_>>())),
                    &cmd,
                );
                let (theirs_r, their_calls) = full_scan(|a| redis.call(a), &cmd);
                extra_hits += their_calls as i64 - our_calls as i64;
                (ours_r, theirs_r)
            } else {
                let ours_r = ours(&t.raw(&args.iter().map(Vec::as_slice).collect::<Vec<_>>()));
                (ours_r, redis.call(&args))
            };
            match check(&cmd, &our_reply, &their_reply, &before) {
                Ok(true) => resync(&t, &mut redis, &cmd[1]),
                Ok(false) => {}
                Err(e) => panic!(
                    "seed {seed} step {step}: {cmd:?}\n {e}\nhistory:\n{}",
                    history[history.len().saturating_sub(30)..].join("\n")
                ),
            }
            // Every write's keys must end in the same encoding (stored results, rebuilt sets).
            let written = match cmd[0].as_str() {
                "SMOVE" => &cmd[1..3],
                "SADD" | "SREM" | "SPOP" | "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" => {
                    &cmd[1..2]
                }
                _ => &[],
            };
            for key in written {
                let probe = args_of(&["OBJECT".into(), "ENCODING".into(), key.clone()]);
                let mine = ours(&t.raw(&probe.iter().map(Vec::as_slice).collect::<Vec<_>>()));
                let theirs = redis.call(&probe);
                assert_eq!(
                    mine, theirs,
                    "seed {seed} step {step}: encoding of {key} after {cmd:?}"
                );
            }
        }
        for key in KEYS {
            for probe in ["SMEMBERS", "OBJECT ENCODING", "TYPE"] {
                let mut cmd: Vec<String> = probe.split(' ').map(String::from).collect();
                cmd.push(key.to_string());
                let args = args_of(&cmd);
                let mine = ours(&t.raw(&args.iter().map(Vec::as_slice).collect::<Vec<_>>()));
                let theirs = redis.call(&args);
                let same = if probe == "SMEMBERS" {
                    as_set(&mine) == as_set(&theirs)
                } else {
                    mine == theirs
                };
                assert!(
                    same,
                    "seed {seed} final {probe} {key}: {mine:?} vs {theirs:?}"
                );
            }
        }
        let R::Bulk(Some(info)) = redis.call(&[b"INFO".to_vec(), b"stats".to_vec()]) else {
            panic!("info")
        };
        let info = String::from_utf8_lossy(&info).to_string();
        let stat = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(u64::MAX)
        };
        assert_eq!(
            stat("keyspace_hits") as i64 - extra_hits,
            t.stats.keyspace_hits as i64,
            "seed {seed} hits"
        );
        assert_eq!(
            stat("keyspace_misses"),
            t.stats.keyspace_misses,
            "seed {seed} misses"
        );
    }
    SET_MAX_INTSET_ENTRIES.set(default_limit);
    let limit = default_limit.to_string().into_bytes();
    redis.call(&[
        b"CONFIG".to_vec(),
        b"SET".to_vec(),
        b"set-max-intset-entries".to_vec(),
        limit,
    ]);
}
