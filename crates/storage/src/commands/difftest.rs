//! Differential test against a real redis-server: random command sequences run on both, every
//! reply compared. Ignored by default; run with a redis-server 7.0 listening on
//! `REDIS_DIFF_PORT` (its data is flushed):
//! `REDIS_DIFF_PORT=7777 cargo test -p damselfly-storage --release -- --ignored --test-threads=1`

use super::tests::T;
use damselfly_protocol::Frame;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum R {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<R>>),
}

pub(crate) fn from_frame(f: &Frame) -> R {
    match f {
        Frame::Simple(s) => R::Simple(s.to_string()),
        Frame::Error(s) => R::Error(s.to_string()),
        Frame::Integer(i) => R::Int(*i),
        Frame::Bulk(b) => R::Bulk(Some(b.to_vec())),
        Frame::Null => R::Bulk(None),
        Frame::NullArray => R::Array(None),
        Frame::Array(v) => R::Array(Some(v.iter().map(from_frame).collect())),
        Frame::KeyedPairs(pairs) => R::Array(Some(
            pairs
                .iter()
                .map(|(a, b)| R::Array(Some(vec![from_frame(a), from_frame(b)])))
                .collect(),
        )),
        Frame::Pairs(pairs) => R::Array(Some(
            pairs
                .iter()
                .flat_map(|(a, b)| [from_frame(a), from_frame(b)])
                .collect(),
        )),
        other => R::Simple(format!("unexpected {other:?}")),
    }
}

pub(crate) struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    pub(crate) fn connect(port: u16) -> Client {
        let w = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
        let r = BufReader::new(w.try_clone().expect("clone"));
        Client { w, r }
    }

    pub(crate) fn call(&mut self, args: &[Vec<u8>]) -> R {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&out).expect("write");
        self.read()
    }

    fn read(&mut self) -> R {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).expect("read");
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).to_string();
        match line[0] {
            b'+' => R::Simple(body),
            b'-' => R::Error(body),
            b':' => R::Int(body.parse().expect("int")),
            b'$' => {
                let n: i64 = body.parse().expect("len");
                if n < 0 {
                    return R::Bulk(None);
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut buf).expect("bulk");
                buf.truncate(n as usize);
                R::Bulk(Some(buf))
            }
            b'*' => {
                let n: i64 = body.parse().expect("len");
                if n < 0 {
                    return R::Array(None);
                }
                R::Array(Some((0..n).map(|_| self.read()).collect()))
            }
            other => panic!("bad reply type {other}"),
        }
    }
}

/// Small deterministic generator.
pub(crate) struct Gen(pub u64);

impl Gen {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const KEYS: &[&str] = &["k0", "k1", "k2", "k3", "k4"];
const VALUES: &[&str] = &[
    "",
    "1",
    "-5",
    "0",
    "abc",
    "3.5",
    "1e3",
    "0x10",
    " 1",
    "01",
    "9223372036854775807",
    "-9223372036854775808",
    "12345678901234567890",
    "9999",
    "10000",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "hello world",
    "a\0b",
    "1\0",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "10",
    "-10",
    "abc",
    "1.5",
    "9223372036854775807",
    "-9223372036854775808",
    "100",
    "536870911",
    "",
    "1\0",
    "+1",
    " 2",
];
const FLOATS: &[&str] = &[
    "1", "0.1", "-0.1", "1e3", "2.5e-3", "inf", "nan", "abc", "-7", "1e308", ".5", "0x1p-2", "1\0",
    "1e4932", "-1e4932", "0x", "+.5e+1",
];
/// Expiry arguments; valid ones are long enough (even as milliseconds) not to race the clock.
const TTLS: &[&str] = &[
    "100000",
    "200000",
    "-1",
    "0",
    "abc",
    "9223372036854775807",
    "1000000",
];
const EXPIRE_FLAGS: &[&str] = &["NX", "XX", "GT", "LT", "nx", "bogus"];
const SET_FLAGS: &[&str] = &[
    "NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT", "PERSIST", "bad", "nx\0y", "Get",
];

fn command(g: &mut Gen) -> Vec<String> {
    let k = |g: &mut Gen| g.pick(KEYS).to_string();
    let v = |g: &mut Gen| g.pick(VALUES).to_string();
    let n = |g: &mut Gen| g.pick(NUMBERS).to_string();
    let name = g.pick(&[
        "GET",
        "SET",
        "SETNX",
        "SETEX",
        "PSETEX",
        "GETSET",
        "GETDEL",
        "GETEX",
        "MGET",
        "MSET",
        "MSETNX",
        "INCR",
        "DECR",
        "INCRBY",
        "DECRBY",
        "INCRBYFLOAT",
        "APPEND",
        "STRLEN",
        "GETRANGE",
        "SUBSTR",
        "SETRANGE",
        "DEL",
        "UNLINK",
        "EXISTS",
        "TOUCH",
        "TYPE",
        "RENAME",
        "RENAMENX",
        "COPY",
        "MOVE",
        "EXPIRE",
        "PEXPIRE",
        "EXPIREAT",
        "PEXPIREAT",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "PERSIST",
        "OBJECT",
    ]);
    let mut c = vec![name.to_string()];
    match name {
        "GET" | "GETDEL" | "INCR" | "DECR" | "STRLEN" | "TYPE" | "TTL" | "PTTL" | "EXPIRETIME"
        | "PEXPIRETIME" | "PERSIST" => c.push(k(g)),
        "SET" => {
            c.push(k(g));
            c.push(v(g));
            while g.chance(40) {
                let f = g.pick(SET_FLAGS);
                c.push(f.to_string());
                if matches!(f, "EX" | "PX") && g.chance(90) {
                    c.push(g.pick(TTLS).to_string());
                }
                if matches!(f, "EXAT" | "PXAT") && g.chance(90) {
                    let now = now_ms();
                    c.push(if f == "EXAT" {
                        (now / 1000 + 300).to_string()
                    } else {
                        (now + 300_000).to_string()
                    });
                }
            }
        }
        "GETEX" => {
            c.push(k(g));
            if g.chance(60) {
                let f = g.pick(&["EX", "PX", "PERSIST", "EXAT", "NX", "PXAT"]);
                c.push(f.to_string());
                if f != "PERSIST" && f != "NX" {
                    c.push(g.pick(TTLS).to_string());
                }
            }
        }
        "SETNX" | "GETSET" | "APPEND" => {
            c.push(k(g));
            c.push(v(g));
        }
        "SETEX" | "PSETEX" => {
            c.push(k(g));
            c.push(g.pick(TTLS).to_string());
            c.push(v(g));
        }
        "MGET" | "DEL" | "UNLINK" | "EXISTS" | "TOUCH" => {
            for _ in 0..1 + g.next() % 3 {
                c.push(k(g));
            }
        }
        "MSET" | "MSETNX" => {
            for _ in 0..1 + g.next() % 3 {
                c.push(k(g));
                c.push(v(g));
            }
            if g.chance(5) {
                c.push(k(g));
            }
        }
        "INCRBY" | "DECRBY" => {
            c.push(k(g));
            c.push(n(g));
        }
        "INCRBYFLOAT" => {
            c.push(k(g));
            c.push(g.pick(FLOATS).to_string());
        }
        "GETRANGE" | "SUBSTR" => {
            c.push(k(g));
            c.push(n(g));
            c.push(n(g));
        }
        "SETRANGE" => {
            c.push(k(g));
            c.push(
                g.pick(&["0", "1", "5", "-1", "abc", "536870912", "60"])
                    .to_string(),
            );
            c.push(v(g));
        }
        "RENAME" | "RENAMENX" => {
            c.push(k(g));
            c.push(k(g));
        }
        "COPY" => {
            c.push(k(g));
            c.push(k(g));
            while g.chance(40) {
                let f = g.pick(&["REPLACE", "DB", "bogus"]);
                c.push(f.to_string());
                if f == "DB" && g.chance(90) {
                    c.push(g.pick(&["0", "1", "16", "-1", "x"]).to_string());
                }
            }
        }
        "MOVE" => {
            c.push(k(g));
            c.push(g.pick(&["0", "1", "16", "x"]).to_string());
        }
        "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" => {
            c.push(k(g));
            let t = if name.ends_with("AT") && g.chance(70) {
                let now = now_ms();
                if name == "EXPIREAT" {
                    (now / 1000 + 500).to_string()
                } else {
                    (now + 500_000).to_string()
                }
            } else if g.chance(60) {
                // Distinct relative times, so GT/LT comparisons never hinge on the clock.
                let secs = 100 + g.next() % 100_000;
                if name == "PEXPIRE" {
                    (secs * 1000).to_string()
                } else {
                    secs.to_string()
                }
            } else {
                g.pick(TTLS).to_string()
            };
            c.push(t);
            while g.chance(30) {
                c.push(g.pick(EXPIRE_FLAGS).to_string());
            }
        }
        "OBJECT" => {
            let sub = g.pick(&["ENCODING", "FREQ", "HELP", "nope"]);
            c.push(sub.to_string());
            if sub != "HELP" {
                c.push(k(g));
            }
        }
        _ => unreachable!(),
    }
    c
}

/// A connection to the redis-server on `REDIS_DIFF_PORT`, or None (with a note) when it is unset.
pub(crate) fn redis_from_env() -> Option<Client> {
    let port = std::env::var("REDIS_DIFF_PORT")
        .ok()
        .and_then(|p| p.parse().ok());
    if port.is_none() {
        eprintln!("REDIS_DIFF_PORT not set; skipping");
    }
    port.map(Client::connect)
}

/// A numeric setting of a differential run (`REDIS_DIFF_SEEDS`...), `default` when unset.
pub(crate) fn env_number<N: std::str::FromStr>(name: &str, default: N) -> N {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Replies that depend on the exact millisecond may differ slightly between the two servers.
pub(crate) fn close_enough(cmd: &str, a: &R, b: &R) -> bool {
    if a == b {
        return true;
    }
    let tolerance = match cmd {
        "PTTL" | "PEXPIRETIME" => 100,
        "TTL" | "EXPIRETIME" => 1,
        _ => return false,
    };
    matches!((a, b), (R::Int(x), R::Int(y)) if *x >= 0 && *y >= 0 && (x - y).abs() <= tolerance)
}

#[test]
#[ignore]
fn differential() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let seeds: u64 = env_number("REDIS_DIFF_SEEDS", 20);
    for seed in 1..=seeds {
        redis.call(&[b"FLUSHALL".to_vec()]);
        redis.call(&[b"SELECT".to_vec(), b"0".to_vec()]);
        redis.call(&[b"CONFIG".to_vec(), b"RESETSTAT".to_vec()]);
        let mut t = T::new();
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut history: Vec<String> = Vec::new();
        for step in 0..2000 {
            let cmd = command(&mut g);
            history.push(cmd.join(" "));
            let args: Vec<Vec<u8>> = cmd.iter().map(|s| s.clone().into_bytes()).collect();
            t.now = now_ms();
            let ours = from_frame(&t.raw(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>()));
            let theirs = redis.call(&args);
            assert!(
                close_enough(&cmd[0], &ours, &theirs),
                "seed {seed} step {step}: {cmd:?}\n ours:   {ours:?}\n redis:  {theirs:?}\nhistory:\n{}",
                history[history.len().saturating_sub(40)..].join("\n")
            );
        }
        // Compare the final state of dbs 0 and 1, and the keyspace counters.
        for db in 0..2 {
            redis.call(&[b"SELECT".to_vec(), db.to_string().into_bytes()]);
            t.db = db;
            for key in KEYS {
                for probe in ["GET", "TTL", "OBJECT ENCODING"] {
                    let mut args: Vec<Vec<u8>> =
                        probe.split(' ').map(|s| s.as_bytes().to_vec()).collect();
                    args.push(key.as_bytes().to_vec());
                    t.now = now_ms();
                    let ours =
                        from_frame(&t.raw(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>()));
                    let theirs = redis.call(&args);
                    assert!(
                        close_enough(probe, &ours, &theirs),
                        "seed {seed} final {probe} {key} db {db}: {ours:?} vs {theirs:?}"
                    );
                }
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
}

fn random_float(g: &mut Gen) -> String {
    let digits = 1 + g.next() % 25;
    let mut s = String::new();
    if g.chance(30) {
        s.push('-');
    }
    for i in 0..digits {
        s.push(char::from(b'0' + (g.next() % 10) as u8));
        if i == 0 && g.chance(50) {
            s.push('.');
        }
    }
    if g.chance(60) {
        let range = if g.chance(5) { 9900 } else { 40 };
        let e = (g.next() % range) as i64 - (range / 2) as i64;
        s.push_str(&format!("e{e}"));
    }
    s
}

#[test]
#[ignore]
fn differential_floats() {
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    let mut t = T::new();
    let mut g = Gen(0x1234_5678_9abc_def1);
    for step in 0..50_000 {
        let (a, b) = (random_float(&mut g), random_float(&mut g));
        for args in [
            vec!["SET", "f", a.as_str()],
            vec!["INCRBYFLOAT", "f", b.as_str()],
            vec!["GET", "f"],
        ] {
            let args: Vec<Vec<u8>> = args.iter().map(|s| s.as_bytes().to_vec()).collect();
            let ours = from_frame(&t.raw(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>()));
            let theirs = redis.call(&args);
            assert_eq!(ours, theirs, "step {step}: {a} + {b}");
        }
    }
}
