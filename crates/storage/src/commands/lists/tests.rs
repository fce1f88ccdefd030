//! List command tests; expected replies observed on redis-server 7.0.15.

use super::super::difftest::{env_number, from_frame, redis_from_env, Client, Gen, R};
use super::super::tests::T;
use crate::config::LIST_MAX_LISTPACK_SIZE;
use bytes::Bytes;
use damselfly_protocol::Frame;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn bulks(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

fn ints(items: &[i64]) -> Frame {
    Frame::Array(items.iter().map(|&i| Frame::Integer(i)).collect())
}

/// LMPOP's reply: the key and its popped elements.
fn popped(key: &str, items: &[&str]) -> Frame {
    Frame::Array(vec![bulk(key), bulks(items)])
}

fn err(s: &str) -> Frame {
    Frame::error_owned(s.to_string())
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";

#[test]
fn push_pop_and_range() {
    let mut t = T::new();
    assert_eq!(t.run("RPUSH l a b c"), Frame::Integer(3));
    assert_eq!(t.run("LPUSH l z y"), Frame::Integer(5));
    assert_eq!(t.run("LRANGE l 0 -1"), bulks(&["y", "z", "a", "b", "c"]));
    assert_eq!(t.run("LRANGE l -2 100"), bulks(&["b", "c"]));
    assert_eq!(t.run("LRANGE l -100 0"), bulks(&["y"]));
    assert_eq!(t.run("LRANGE l 3 2"), bulks(&[]));
    assert_eq!(t.run("LRANGE l 5 10"), bulks(&[]));
    assert_eq!(t.run("LRANGE l x 1"), err(NOT_INT));
    assert_eq!(t.run("LRANGE nope x 1"), err(NOT_INT));
    assert_eq!(t.run("LRANGE nope 0 1"), bulks(&[]));
    assert_eq!(t.run("OBJECT ENCODING l"), bulk("quicklist"));
    assert_eq!(t.run("LLEN l"), Frame::Integer(5));
    assert_eq!(t.run("LPOP l"), bulk("y"));
    assert_eq!(t.run("RPOP l"), bulk("c"));
    assert_eq!(t.run("LPOP l 0"), bulks(&[]));
    assert_eq!(t.run("RPOP l 2"), bulks(&["b", "a"]));
    assert_eq!(t.run("LPOP l 10"), bulks(&["z"]));
    assert_eq!(t.run("EXISTS l"), Frame::Integer(0));
    assert_eq!(t.run("LPOP l"), Frame::Null);
    assert_eq!(t.run("LPOP l 1"), Frame::NullArray);
    assert_eq!(t.run("LPOP l 0"), Frame::NullArray);
    assert_eq!(
        t.run("LPOP l -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        t.run("LPOP l x"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        t.run("LPOP l 1 2"),
        err("ERR wrong number of arguments for 'lpop' command")
    );
    assert_eq!(t.run("LPUSHX l a"), Frame::Integer(0));
    assert_eq!(t.run("RPUSHX l a"), Frame::Integer(0));
    assert_eq!(t.run("EXISTS l"), Frame::Integer(0));
    t.run("RPUSH l a");
    assert_eq!(t.run("RPUSHX l b c"), Frame::Integer(3));
    assert_eq!(t.run("LPUSHX l 0"), Frame::Integer(4));
    assert_eq!(t.run("LRANGE l 0 -1"), bulks(&["0", "a", "b", "c"]));
}

#[test]
fn wrong_types() {
    let mut t = T::new();
    t.run("SET s x");
    for cmd in [
        "LPUSH s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 2",
        "LRANGE s 0 1",
        "LLEN s",
        "LINDEX s 0",
        "LSET s 0 a",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LINSERT s BEFORE a b",
        "LPOS s a",
        "RPOPLPUSH s l",
        "LMOVE s l LEFT RIGHT",
        "LMPOP 1 s LEFT",
    ] {
        assert_eq!(t.run(cmd), err(WRONGTYPE), "{cmd}");
    }
    t.run("RPUSH l a");
    assert_eq!(t.run("RPOPLPUSH l s"), err(WRONGTYPE));
    assert_eq!(t.run("LRANGE l 0 -1"), bulks(&["a"]));
    assert_eq!(t.run("LMPOP 2 nope s LEFT"), err(WRONGTYPE));
    assert_eq!(t.run("LMPOP 2 l s LEFT"), popped("l", &["a"]));
}

#[test]
fn index_set_insert_remove_trim() {
    let mut t = T::new();
    t.run("RPUSH l a b c a b c a");
    assert_eq!(t.run("LINDEX l 0"), bulk("a"));
    assert_eq!(t.run("LINDEX l -1"), bulk("a"));
    assert_eq!(t.run("LINDEX l -7"), bulk("a"));
    assert_eq!(t.run("LINDEX l 7"), Frame::Null);
    assert_eq!(t.run("LINDEX l -8"), Frame::Null);
    assert_eq!(t.run("LINDEX l x"), err(NOT_INT));
    assert_eq!(t.run("LINDEX nope x"), Frame::Null);
    assert_eq!(t.run("LSET nope x a"), err("ERR no such key"));
    assert_eq!(t.run("LSET l x a"), err(NOT_INT));
    assert_eq!(t.run("LSET l 7 a"), err("ERR index out of range"));
    assert_eq!(t.run("LSET l -1 z"), Frame::OK);
    assert_eq!(t.run("LINSERT l MIDDLE a b"), err("ERR syntax error"));
    assert_eq!(t.run("LINSERT nope before a b"), Frame::Integer(0));
    assert_eq!(t.run("LINSERT l before nothing b"), Frame::Integer(-1));
    assert_eq!(t.run("LINSERT l after c 1"), Frame::Integer(8));
    assert_eq!(t.run("LINSERT l BEFORE a 0"), Frame::Integer(9));
    assert_eq!(
        t.run("LRANGE l 0 -1"),
        bulks(&["0", "a", "b", "c", "1", "a", "b", "c", "z"])
    );
    assert_eq!(t.run("LREM l x a"), err(NOT_INT));
    assert_eq!(t.run("LREM nope 0 a"), Frame::Integer(0));
    assert_eq!(t.run("LREM l -1 b"), Frame::Integer(1));
    assert_eq!(t.run("LREM l 1 c"), Frame::Integer(1));
    assert_eq!(t.run("LREM l 0 a"), Frame::Integer(2));
    assert_eq!(t.run("LREM l 0 a"), Frame::Integer(0));
    assert_eq!(t.run("LRANGE l 0 -1"), bulks(&["0", "b", "1", "c", "z"]));
    assert_eq!(t.run("LTRIM l x 1"), err(NOT_INT));
    assert_eq!(t.run("LTRIM nope 0 1"), Frame::OK);
    assert_eq!(t.run("LTRIM l 1 -2"), Frame::OK);
    assert_eq!(t.run("LRANGE l 0 -1"), bulks(&["b", "1", "c"]));
    assert_eq!(t.run("LTRIM l -100 100"), Frame::OK);
    assert_eq!(t.run("LLEN l"), Frame::Integer(3));
    assert_eq!(t.run("LTRIM l 2 1"), Frame::OK);
    assert_eq!(t.run("EXISTS l"), Frame::Integer(0));
    t.run("RPUSH l a b");
    assert_eq!(t.run("LREM l -9223372036854775808 a"), Frame::Integer(1));
    assert_eq!(t.run("LREM l 0 b"), Frame::Integer(1));
    assert_eq!(t.run("EXISTS l"), Frame::Integer(0));
}

#[test]
fn lpos() {
    let mut t = T::new();
    t.run("RPUSH l a b c 1 2 3 c c");
    assert_eq!(t.run("LPOS l c"), Frame::Integer(2));
    assert_eq!(t.run("LPOS l c RANK 2"), Frame::Integer(6));
    assert_eq!(t.run("LPOS l c RANK -1"), Frame::Integer(7));
    assert_eq!(t.run("LPOS l c RANK -3"), Frame::Integer(2));
    assert_eq!(t.run("LPOS l c RANK 4"), Frame::Null);
    assert_eq!(t.run("LPOS l c COUNT 0"), ints(&[2, 6, 7]));
    assert_eq!(t.run("LPOS l c COUNT 2 RANK 2"), ints(&[6, 7]));
    assert_eq!(t.run("LPOS l c COUNT 0 RANK -1"), ints(&[7, 6, 2]));
    assert_eq!(t.run("LPOS l c COUNT 0 MAXLEN 3"), ints(&[2]));
    assert_eq!(t.run("LPOS l c MAXLEN 2"), Frame::Null);
    assert_eq!(t.run("LPOS l c RANK -1 MAXLEN 1"), Frame::Integer(7));
    assert_eq!(t.run("LPOS l 1"), Frame::Integer(3));
    assert_eq!(t.run("LPOS l x COUNT 1"), ints(&[]));
    assert_eq!(t.run("LPOS nope x"), Frame::Null);
    assert_eq!(t.run("LPOS nope x COUNT 1"), ints(&[]));
    assert_eq!(
        t.run("LPOS l c RANK 0"),
        err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(t.run("LPOS l c RANK x"), err(NOT_INT));
    assert_eq!(
        t.run("LPOS l c COUNT -1"),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        t.run("LPOS l c MAXLEN x"),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(t.run("LPOS l c COUNT"), err("ERR syntax error"));
    assert_eq!(t.run("LPOS l c BOGUS 1"), err("ERR syntax error"));
    // Redis negates the rank in C: LONG_MIN stays negative, so every match from the tail counts.
    assert_eq!(
        t.run("LPOS l c RANK -9223372036854775808"),
        Frame::Integer(7)
    );
    assert_eq!(
        t.run("LPOS l c RANK -9223372036854775808 COUNT 1"),
        ints(&[7, 6, 2])
    );
}

#[test]
fn moves() {
    let mut t = T::new();
    t.run("RPUSH src a b c");
    assert_eq!(t.run("RPOPLPUSH src dst"), bulk("c"));
    assert_eq!(t.run("LMOVE src dst LEFT RIGHT"), bulk("a"));
    assert_eq!(t.run("LRANGE dst 0 -1"), bulks(&["c", "a"]));
    assert_eq!(t.run("LMOVE src dst left left"), bulk("b"));
    assert_eq!(t.run("EXISTS src"), Frame::Integer(0));
    assert_eq!(t.run("LMOVE src dst LEFT LEFT"), Frame::Null);
    assert_eq!(t.run("LMOVE src dst UP LEFT"), err("ERR syntax error"));
    assert_eq!(t.run("LMOVE src dst LEFT DOWN"), err("ERR syntax error"));
    // Rotation.
    assert_eq!(t.run("RPOPLPUSH dst dst"), bulk("a"));
    assert_eq!(t.run("LRANGE dst 0 -1"), bulks(&["a", "b", "c"]));
    assert_eq!(t.run("LMOVE dst dst LEFT RIGHT"), bulk("a"));
    assert_eq!(t.run("LRANGE dst 0 -1"), bulks(&["b", "c", "a"]));
    t.run("RPUSH one x");
    assert_eq!(t.run("LMOVE one one LEFT RIGHT"), bulk("x"));
    assert_eq!(t.run("LRANGE one 0 -1"), bulks(&["x"]));
}

#[test]
fn lmpop() {
    let mut t = T::new();
    t.run("RPUSH b 1 2 3");
    assert_eq!(t.run("LMPOP 2 a b LEFT"), popped("b", &["1"]));
    assert_eq!(t.run("LMPOP 2 a b RIGHT COUNT 5"), popped("b", &["3", "2"]));
    assert_eq!(t.run("LMPOP 2 a b RIGHT"), Frame::NullArray);
    let numkeys = "ERR numkeys should be greater than 0";
    assert_eq!(t.run("LMPOP 0 a LEFT"), err(numkeys));
    assert_eq!(t.run("LMPOP x a LEFT"), err(numkeys));
    assert_eq!(t.run("LMPOP 2 a LEFT"), err("ERR syntax error"));
    assert_eq!(
        t.run("LMPOP 9223372036854775807 a LEFT"),
        err("ERR syntax error")
    );
    assert_eq!(t.run("LMPOP 1 a MIDDLE"), err("ERR syntax error"));
    assert_eq!(
        t.run("LMPOP 1 a LEFT COUNT 0"),
        err("ERR count should be greater than 0")
    );
    assert_eq!(
        t.run("LMPOP 1 a LEFT COUNT 1 COUNT 1"),
        err("ERR syntax error")
    );
    assert_eq!(t.run("LMPOP 1 a LEFT COUNT"), err("ERR syntax error"));
}

#[test]
fn lmpop_replicates_as_a_pop() {
    let mut t = T::new();
    t.run("RPUSH b 1 2 3");
    let args: Vec<Bytes> = ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"]
        .iter()
        .map(|s| Bytes::from_static(s.as_bytes()))
        .collect();
    let mut effects = crate::Effects::default();
    let mut ctx = crate::ExecContext {
        now_ms: t.now,
        stats: &mut t.stats,
        effects: Some(&mut effects),
    };
    crate::execute(&mut t.dbs, 0, &args, &mut ctx);
    let expected: Vec<Bytes> = ["RPOP", "b", "3"]
        .iter()
        .map(|s| Bytes::from_static(s.as_bytes()))
        .collect();
    assert_eq!(effects.writes, vec![(0, Some(expected))]);
}

#[test]
fn unchanged_lists_are_not_written() {
    let mut t = T::new();
    t.run("RPUSH l a b");
    let before = t.dbs[0].mutations();
    for cmd in [
        "LREM l 0 zz",
        "LINSERT l BEFORE zz x",
        "LTRIM l 0 -1",
        "LPOP l 0",
        "LSET l 5 x",
        "LRANGE l 0 -1",
        "LPOS l a",
    ] {
        t.run(cmd);
    }
    assert_eq!(t.dbs[0].mutations(), before);
}

#[test]
fn lrange_on_a_long_list_is_fast() {
    let mut t = T::new();
    for _ in 0..100 {
        t.run(&format!("RPUSH big {}", vec!["xxx"; 1000].join(" ")));
    }
    let start = std::time::Instant::now();
    for _ in 0..200 {
        let Frame::Array(items) = t.run("LRANGE big 0 599") else {
            panic!("array");
        };
        assert_eq!(items.len(), 600);
    }
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(t.run("LINDEX big 50000"), bulk("xxx"));
}

// ---------------------------------------------------------------------------------------------
// Differential test against redis-server.

const KEYS: &[&str] = &["l0", "l1", "l2", "s"];
const VALUES: &[&str] = &[
    "a",
    "b",
    "c",
    "1",
    "2",
    "-1",
    "0",
    "",
    "xxx",
    "01",
    "9223372036854775807",
    "-9223372036854775808",
    "hello world",
    "a\0b",
];
const INDICES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "-2",
    "3",
    "5",
    "-5",
    "100",
    "-100",
    "abc",
    "9223372036854775807",
    "-9223372036854775808",
    "",
    " 1",
];
const FILLS: &[i64] = &[-1, -2, -3, -4, -5, 1, 2, 3, 5, 128];

fn value(g: &mut Gen) -> String {
    match g.next() % 20 {
        0 => "v".repeat(100 + (g.next() % 200) as usize),
        1 if g.chance(10) => "w".repeat(3000 + (g.next() % 6000) as usize),
        _ => g.pick(VALUES).to_string(),
    }
}

fn list_command(g: &mut Gen) -> Vec<String> {
    let k = |g: &mut Gen| g.pick(KEYS).to_string();
    let i = |g: &mut Gen| g.pick(INDICES).to_string();
    let end = |g: &mut Gen| {
        g.pick(&["LEFT", "RIGHT", "left", "Right", "up"])
            .to_string()
    };
    let name = g.pick(&[
        "LPUSH",
        "RPUSH",
        "LPUSHX",
        "RPUSHX",
        "LPOP",
        "RPOP",
        "LRANGE",
        "LLEN",
        "LINDEX",
        "LSET",
        "LREM",
        "LTRIM",
        "LINSERT",
        "LPOS",
        "RPOPLPUSH",
        "LMOVE",
        "LMPOP",
        "SET",
        "DEL",
        "OBJECT",
        "LPUSH",
        "RPUSH",
    ]);
    let mut c = vec![name.to_string()];
    match name {
        "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
            c.push(k(g));
            // Now and then a big batch, so that lists grow across many nodes.
            let n = if g.chance(15) {
                50 + g.next() % 400
            } else {
                1 + g.next() % 6
            };
            for _ in 0..n {
                c.push(value(g));
            }
        }
        "LPOP" | "RPOP" => {
            c.push(k(g));
            if g.chance(50) {
                c.push(
                    g.pick(&[
                        "0",
                        "1",
                        "2",
                        "5",
                        "100",
                        "-1",
                        "x",
                        "9223372036854775807",
                        "-9223372036854775808",
                        "",
                    ])
                    .to_string(),
                );
            }
            if g.chance(3) {
                c.push("1".to_string());
            }
        }
        "LRANGE" | "LTRIM" => {
            c.push(k(g));
            c.push(i(g));
            c.push(i(g));
        }
        "LLEN" | "DEL" => c.push(k(g)),
        "LINDEX" => {
            c.push(k(g));
            c.push(i(g));
        }
        "LSET" => {
            c.push(k(g));
            c.push(i(g));
            c.push(value(g));
        }
        "LREM" => {
            c.push(k(g));
            c.push(i(g));
            c.push(value(g));
        }
        "LINSERT" => {
            c.push(k(g));
            c.push(g.pick(&["BEFORE", "AFTER", "after", "nowhere"]).to_string());
            c.push(value(g));
            c.push(value(g));
        }
        "LPOS" => {
            c.push(k(g));
            c.push(value(g));
            while g.chance(40) {
                let opt = g.pick(&["RANK", "COUNT", "MAXLEN", "rank", "bogus"]);
                c.push(opt.to_string());
                if g.chance(95) {
                    c.push(i(g));
                }
            }
        }
        "RPOPLPUSH" => {
            c.push(k(g));
            c.push(k(g));
        }
        "LMOVE" => {
            c.push(k(g));
            c.push(k(g));
            c.push(end(g));
            c.push(end(g));
        }
        "LMPOP" => {
            let n = g.next() % 4;
            c.push(if g.chance(5) { i(g) } else { n.to_string() });
            for _ in 0..n {
                c.push(k(g));
            }
            if g.chance(95) {
                c.push(end(g));
            }
            while g.chance(30) {
                c.push(g.pick(&["COUNT", "count", "x"]).to_string());
                if g.chance(90) {
                    c.push(
                        g.pick(&[
                            "1",
                            "2",
                            "10",
                            "0",
                            "-1",
                            "x",
                            "9223372036854775807",
                            "1000",
                        ])
                        .to_string(),
                    );
                }
            }
        }
        "SET" => {
            c.push("s".to_string());
            c.push(value(g));
        }
        "OBJECT" => {
            c.push("ENCODING".to_string());
            c.push(k(g));
        }
        _ => unreachable!(),
    }
    c
}

fn call_ours(t: &mut T, args: &[Vec<u8>]) -> R {
    from_frame(&t.raw(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>()))
}

fn set_fill(redis: &mut Client, fill: i64) {
    let fill = fill.to_string().into_bytes();
    redis.call(&[
        b"CONFIG".to_vec(),
        b"SET".to_vec(),
        b"list-max-listpack-size".to_vec(),
        fill.clone(),
    ]);
    let fill: i64 = String::from_utf8_lossy(&fill).parse().unwrap_or(-2);
    LIST_MAX_LISTPACK_SIZE.set(fill);
}

#[test]
#[ignore]
fn differential_lists() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let seeds: u64 = env_number("REDIS_DIFF_SEEDS", 20);
    let steps: usize = env_number("REDIS_DIFF_STEPS", 3000);
    for seed in 1..=seeds {
        redis.call(&[b"FLUSHALL".to_vec()]);
        redis.call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
        let mut t = T::new();
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        set_fill(&mut redis, FILLS[(seed % FILLS.len() as u64) as usize]);
        let mut history: Vec<String> = Vec::new();
        for step in 0..steps {
            if g.chance(1) {
                let fill = FILLS[(g.next() % FILLS.len() as u64) as usize];
                set_fill(&mut redis, fill);
                history.push(format!("(fill {fill})"));
            }
            let cmd = list_command(&mut g);
            history.push(
                cmd.iter()
                    .map(|a| a.chars().take(20).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.clone().into_bytes()).collect();
            let ours = call_ours(&mut t, &args);
            let theirs = redis.call(&args);
            assert!(
                ours == theirs,
                "seed {seed} step {step}: {}\n ours:   {ours:?}\n redis:  {theirs:?}\nhistory:\n{}",
                history[history.len() - 1],
                history[history.len().saturating_sub(30)..].join("\n")
            );
        }
        for key in KEYS {
            for probe in [
                vec!["LRANGE", key, "0", "-1"],
                vec!["TYPE", key],
                vec!["OBJECT", "ENCODING", key],
            ] {
                let args: Vec<Vec<u8>> = probe.iter().map(|s| s.as_bytes().to_vec()).collect();
                assert_eq!(
                    call_ours(&mut t, &args),
                    redis.call(&args),
                    "seed {seed} {probe:?}"
                );
            }
            let digest = redis.call(&[
                b"DEBUG".to_vec(),
                b"DIGEST-VALUE".to_vec(),
                key.as_bytes().to_vec(),
            ]);
            if let R::Array(Some(items)) = digest {
                let ours: String = crate::digest_value(&mut t.dbs[0], key.as_bytes(), t.now)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(items, vec![R::Simple(ours)], "seed {seed} digest {key}");
            }
        }
        let info = redis.call(&[b"INFO".to_vec(), b"stats".to_vec()]);
        let R::Bulk(Some(info)) = info else {
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
            stat("keyspace_hits"),
            t.stats.keyspace_hits,
            "seed {seed} hits"
        );
        assert_eq!(
            stat("keyspace_misses"),
            t.stats.keyspace_misses,
            "seed {seed} misses"
        );
    }
    set_fill(&mut redis, -2);
}
