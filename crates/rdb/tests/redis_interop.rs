//! Interop with a real `redis-server` (7.0): parse its `dump.rdb`, and make it
//! load ours, and survive corrupted copies of its files. Skipped (with a message) when
//! `redis-server` is not on PATH.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use damselfly_fuzzkit::{bounded, CountingAlloc};
use damselfly_rdb::{read_rdb, RdbFile, RdbWriter, Stream, Value};

// Measures what reading corrupted files holds (see `corrupted_files_saved_by_redis_are_errors`).
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// (db, key, value, relative TTL in ms)
type Shape = (u64, Vec<u8>, Vec<u8>, Option<u64>);
type Dataset = BTreeMap<(u64, Vec<u8>), (Vec<u8>, Option<u64>)>;

fn have_redis() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: redis-server not found on PATH");
    }
    ok
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .args(["--dbfilename", "dump.rdb", "--enable-debug-command", "yes"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let server = Server { child, port };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = self.try_conn() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?
            .get_connection_with_timeout(Duration::from_secs(2))
    }

    fn conn(&self) -> redis::Connection {
        self.try_conn().expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn words(n: usize) -> Vec<u8> {
    let dict = ["alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta "];
    let r = pseudo_random(n, 7);
    let mut out = Vec::new();
    for b in r {
        out.extend_from_slice(dict[usize::from(b) % dict.len()].as_bytes());
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    out
}

fn value_shapes() -> Vec<Shape> {
    let mut v = vec![
        (0, b"str".to_vec(), b"hello".to_vec(), None),
        (0, b"empty".to_vec(), Vec::new(), None),
        (0, Vec::new(), b"empty key".to_vec(), None),
        (0, b"bin".to_vec(), vec![0, 255, 13, 10, 0], None),
        (0, b"c1000".to_vec(), b"abcdefgh".repeat(125), None),
        (0, b"c100k".to_vec(), vec![b'q'; 100_000], Some(3_600_000)),
        (0, b"words".to_vec(), words(5000), None),
        (0, b"rand1000".to_vec(), pseudo_random(1000, 1), None),
        (0, b"rand21".to_vec(), pseudo_random(21, 2), None),
        (0, b"twenty-one-a".to_vec(), vec![b'a'; 21], None),
        (0, b"px".to_vec(), b"expiring".to_vec(), Some(100_000)),
        (0, b"px-int".to_vec(), b"77".to_vec(), Some(200_000)),
        (3, b"db3-a".to_vec(), b"in three".to_vec(), None),
        (3, b"db3-b".to_vec(), b"x".repeat(1000), Some(50_000)),
        (3, b"str".to_vec(), b"same key other db".to_vec(), None),
        (15, b"db15".to_vec(), b"12345".to_vec(), None),
    ];
    let numbers = [
        "0",
        "1",
        "-1",
        "127",
        "-128",
        "128",
        "-129",
        "32767",
        "-32768",
        "32768",
        "2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "12345678901",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "-0",
        "+5",
        "3.14",
        "1e10",
        " 1",
    ];
    for (i, n) in numbers.iter().enumerate() {
        v.push((
            0,
            format!("num:{i}").into_bytes(),
            n.as_bytes().to_vec(),
            None,
        ));
    }
    v
}

fn to_map(file: &RdbFile) -> Dataset {
    file.entries
        .iter()
        .map(|e| {
            let Value::String(v) = &e.value else {
                panic!("unexpected non-string value")
            };
            ((e.db, e.key.clone()), (v.clone(), e.expire_ms))
        })
        .collect()
}

fn save_and_read(con: &mut redis::Connection, dir: &Path) -> damselfly_rdb::Result<RdbFile> {
    let _: String = redis::cmd("SAVE").query(con).unwrap();
    let bytes = std::fs::read(dir.join("dump.rdb")).unwrap();
    read_rdb(&bytes[..])
}

/// Reads back what the server holds for `keys`, including absolute expiries.
fn server_view(con: &mut redis::Connection, keys: &[(u64, Vec<u8>)]) -> Dataset {
    let mut out = Dataset::new();
    for (db, key) in keys {
        let _: () = redis::cmd("SELECT").arg(*db).query(con).unwrap();
        let v: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(con).unwrap();
        let pexp: i64 = redis::cmd("PEXPIRETIME").arg(key).query(con).unwrap();
        let v = v.unwrap_or_else(|| panic!("missing key {key:?} in db {db}"));
        out.insert(
            (*db, key.clone()),
            (v, u64::try_from(pexp).ok().filter(|_| pexp >= 0)),
        );
    }
    let _: () = redis::cmd("SELECT").arg(0).query(con).unwrap();
    out
}

#[test]
fn parse_dump_rdb_saved_by_redis() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut con = server.conn();

    let shapes = value_shapes();
    for (db, k, v, ttl) in &shapes {
        let _: () = redis::cmd("SELECT").arg(*db).query(&mut con).unwrap();
        let mut c = redis::cmd("SET");
        c.arg(k).arg(v);
        if let Some(ttl) = ttl {
            c.arg("PX").arg(*ttl);
        }
        let _: () = c.query(&mut con).unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let lib = "#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut con)
        .unwrap();

    let keys: Vec<(u64, Vec<u8>)> = shapes.iter().map(|s| (s.0, s.1.clone())).collect();
    let expected = server_view(&mut con, &keys);
    assert!(expected.values().filter(|v| v.1.is_some()).count() >= 4);

    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(file.version, 10);
    assert_eq!(file.aux(b"redis-ver"), Some(&b"7.0.15"[..]));
    assert_eq!(file.aux(b"redis-bits"), Some(&b"64"[..]));
    assert_ne!(file.checksum, Some(0));
    assert_eq!(file.functions, vec![lib.as_bytes().to_vec()]);
    assert_eq!(to_map(&file), expected);
    assert!(file
        .entries
        .iter()
        .all(|e| e.idle_secs.is_none() && e.freq.is_none()));

    // LRU policy: every key is preceded by IDLE.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut con)
        .unwrap();
    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(to_map(&file), expected);
    assert!(file.entries.iter().all(|e| e.idle_secs.is_some()));

    // LFU policy: every key is preceded by FREQ.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lfu")
        .query(&mut con)
        .unwrap();
    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(to_map(&file), expected);
    assert!(file.entries.iter().all(|e| e.freq.is_some()));
}

#[test]
fn parse_dump_rdb_with_checksum_disabled() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--rdbchecksum", "no"]);
    let mut con = server.conn();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("n")
        .arg("-300")
        .query(&mut con)
        .unwrap();
    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(file.checksum, Some(0));
    let want: Dataset = [
        ((0, b"k".to_vec()), (b"v".to_vec(), None)),
        ((0, b"n".to_vec()), (b"-300".to_vec(), None)),
    ]
    .into_iter()
    .collect();
    assert_eq!(to_map(&file), want);
}

fn write_dataset(path: &Path, data: &Dataset) {
    let mut w = RdbWriter::new(std::io::BufWriter::new(
        std::fs::File::create(path).unwrap(),
    ))
    .unwrap();
    w.write_default_aux(now_ms() / 1000, 1 << 20).unwrap();
    let mut dbs: Vec<u64> = data.keys().map(|k| k.0).collect();
    dbs.dedup();
    for db in dbs {
        let items: Vec<_> = data.iter().filter(|(k, _)| k.0 == db).collect();
        let expires = items.iter().filter(|(_, v)| v.1.is_some()).count() as u64;
        w.select_db(db).unwrap();
        w.resize_db(items.len() as u64, expires).unwrap();
        for ((_, k), (v, exp)) in items {
            w.write_string_entry(k, v, *exp).unwrap();
        }
    }
    w.finish().unwrap();
}

fn digest(con: &mut redis::Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

#[test]
fn redis_loads_rdb_written_by_us() {
    if !have_redis() {
        return;
    }
    let now = now_ms();
    let data: Dataset = value_shapes()
        .into_iter()
        .map(|(db, k, v, ttl)| ((db, k), (v, ttl.map(|t| now + t))))
        .collect();

    let dir = tempfile::tempdir().unwrap();
    write_dataset(&dir.path().join("dump.rdb"), &data);

    // redis-check-rdb, when installed, must accept the file too.
    if let Ok(out) = Command::new("redis-check-rdb")
        .arg(dir.path().join("dump.rdb"))
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
    }

    let loaded = Server::start(dir.path(), &[]);
    let mut con = loaded.conn();
    for db in [0u64, 3, 15] {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(
            n,
            data.keys().filter(|k| k.0 == db).count() as u64,
            "db {db}"
        );
    }
    let keys: Vec<_> = data.keys().cloned().collect();
    assert_eq!(server_view(&mut con, &keys), data);

    // Same data set built by commands on a fresh server: digests must match.
    let dir2 = tempfile::tempdir().unwrap();
    let fresh = Server::start(dir2.path(), &[]);
    let mut con2 = fresh.conn();
    for ((db, k), (v, exp)) in &data {
        let _: () = redis::cmd("SELECT").arg(*db).query(&mut con2).unwrap();
        let _: () = redis::cmd("SET").arg(k).arg(v).query(&mut con2).unwrap();
        if let Some(exp) = exp {
            let _: () = redis::cmd("PEXPIREAT")
                .arg(k)
                .arg(*exp)
                .query(&mut con2)
                .unwrap();
        }
    }
    let d1 = digest(&mut con);
    let d2 = digest(&mut con2);
    assert_ne!(d1, "0".repeat(40));
    assert_eq!(d1, d2);

    // Full circle: Redis re-saves what it loaded from us; we read it back.
    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(to_map(&file), data);
}

/// Runs one command given as words.
fn run(con: &mut redis::Connection, words: &[&[u8]]) -> redis::Value {
    let mut c = redis::cmd(std::str::from_utf8(words[0]).unwrap());
    for w in &words[1..] {
        c.arg(*w);
    }
    c.query(con).unwrap()
}

/// What the collections test stores, in the neutral form our reader must produce.
fn collections() -> Vec<(Vec<u8>, Value)> {
    let s = |x: &str| x.as_bytes().to_vec();
    let many = |n: usize, f: &dyn Fn(usize) -> String| -> Vec<Vec<u8>> {
        (0..n).map(|i| f(i).into_bytes()).collect()
    };
    let mut big_list = many(3000, &|i| format!("element-{i}"));
    big_list.push(vec![b'x'; 20_000]);
    big_list.extend(many(50, &|i| (i as i64 * 7919 - 100_000).to_string()));
    vec![
        (
            s("list:small"),
            Value::List(vec![s("a"), s("1"), s("-2"), s("300"), s("70000"), s("")]),
        ),
        (s("list:big"), Value::List(big_list)),
        (
            s("set:intset"),
            Value::Set(vec![s("-5"), s("1"), s("3"), s("100000"), s("9999999999")]),
        ),
        (s("set:strings"), Value::Set(vec![s("a"), s("b"), s("c")])),
        (s("set:bigint"), Value::Set(many(600, &|i| i.to_string()))),
        (
            s("hash:small"),
            Value::Hash(vec![(s("f"), s("v")), (s("n"), s("12"))]),
        ),
        (
            s("hash:big"),
            Value::Hash(
                (0..600)
                    .map(|i| {
                        (
                            format!("field{i}").into_bytes(),
                            format!("{}", i * 3).into_bytes(),
                        )
                    })
                    .collect(),
            ),
        ),
        (s("hash:long"), Value::Hash(vec![(s("f"), vec![b'v'; 100])])),
        (
            s("zset:small"),
            Value::ZSet(vec![
                (s("c"), f64::NEG_INFINITY),
                (s("a"), 1.0),
                (s("b"), 2.5),
                (s("d"), 1e300),
            ]),
        ),
        (
            s("zset:big"),
            Value::ZSet(
                (0..200)
                    .map(|i| (format!("m{i:03}").into_bytes(), f64::from(i) / 7.0))
                    .collect(),
            ),
        ),
    ]
}

fn load_collections(con: &mut redis::Connection) {
    for (key, value) in collections() {
        let mut words: Vec<Vec<u8>> = Vec::new();
        match &value {
            Value::List(items) => {
                words.push(b"RPUSH".to_vec());
                words.push(key);
                words.extend(items.iter().cloned());
            }
            Value::Set(members) => {
                words.push(b"SADD".to_vec());
                words.push(key);
                words.extend(members.iter().cloned());
            }
            Value::Hash(pairs) => {
                words.push(b"HSET".to_vec());
                words.push(key);
                for (f, v) in pairs {
                    words.push(f.clone());
                    words.push(v.clone());
                }
            }
            Value::ZSet(pairs) => {
                words.push(b"ZADD".to_vec());
                words.push(key);
                for (m, score) in pairs {
                    words.push(score.to_string().into_bytes());
                    words.push(m.clone());
                }
            }
            _ => unreachable!(),
        }
        let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        run(con, &refs);
    }
    run(con, &[b"PEXPIRE", b"hash:small", b"500000"]);
    // A stream with several nodes, entries with other fields, deletions, a group with pending
    // entries owned by two consumers and an idle consumer, and a second group.
    for i in 0..250u64 {
        let id = format!("{}-{}", 1_700_000_000_000 + i / 3, i % 3);
        let n = i.to_string();
        let name = format!("n{i}");
        if i % 7 == 3 {
            run(
                con,
                &[b"XADD", b"stream", id.as_bytes(), b"other", n.as_bytes()],
            );
        } else {
            run(
                con,
                &[
                    b"XADD",
                    b"stream",
                    id.as_bytes(),
                    b"name",
                    name.as_bytes(),
                    b"n",
                    n.as_bytes(),
                ],
            );
        }
    }
    run(
        con,
        &[b"XDEL", b"stream", b"1700000000000-1", b"1700000000050-0"],
    );
    run(con, &[b"XGROUP", b"CREATE", b"stream", b"g", b"0"]);
    run(
        con,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"alice",
            b"COUNT",
            b"3",
            b"STREAMS",
            b"stream",
            b">",
        ],
    );
    run(
        con,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"bob",
            b"COUNT",
            b"2",
            b"STREAMS",
            b"stream",
            b">",
        ],
    );
    run(con, &[b"XACK", b"stream", b"g", b"1700000000000-0"]);
    run(
        con,
        &[b"XGROUP", b"CREATECONSUMER", b"stream", b"g", b"idle"],
    );
    run(con, &[b"XGROUP", b"CREATE", b"stream", b"late", b"$"]);
    run(con, &[b"XADD", b"empty-stream", b"5-5", b"f", b"v"]);
    run(con, &[b"XDEL", b"empty-stream", b"5-5"]);
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Set(m) => {
            let mut m = m.clone();
            m.sort();
            Value::Set(m)
        }
        Value::Hash(p) => {
            let mut p = p.clone();
            p.sort();
            Value::Hash(p)
        }
        Value::ZSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            Value::ZSet(p)
        }
        v => v.clone(),
    }
}

fn check_stream(s: &Stream) {
    assert_eq!(s.entries.len(), 248);
    assert_eq!(s.entries[0].0, (1_700_000_000_000, 0));
    assert_eq!(s.entries[1].0, (1_700_000_000_000, 2));
    assert_eq!(s.entries[2].1, vec![(b"other".to_vec(), b"3".to_vec())]);
    assert_eq!(
        s.entries[1].1,
        vec![
            (b"name".to_vec(), b"n2".to_vec()),
            (b"n".to_vec(), b"2".to_vec())
        ]
    );
    assert_eq!(s.last_id, (1_700_000_000_083, 0));
    assert_eq!(s.first_id, (1_700_000_000_000, 0));
    assert_eq!(s.max_deleted_id, (1_700_000_000_050, 0));
    assert_eq!(s.entries_added, 250);
    assert_eq!(s.groups.len(), 2);
    let g = &s.groups[0];
    assert_eq!(g.name, b"g");
    assert_eq!(g.last_id, (1_700_000_000_001, 2));
    assert_eq!(g.entries_read, -1, "XDEL before the group was created");
    let owners: Vec<(_, &[u8])> = g.pending.iter().map(|p| (p.0, &p.3[..])).collect();
    assert_eq!(
        owners,
        vec![
            ((1_700_000_000_000, 2), &b"alice"[..]),
            ((1_700_000_000_001, 0), b"alice"),
            ((1_700_000_000_001, 1), b"bob"),
            ((1_700_000_000_001, 2), b"bob"),
        ]
    );
    assert!(g
        .pending
        .iter()
        .all(|p| p.2 == 1 && p.1 > 1_600_000_000_000));
    let names: Vec<&[u8]> = g.consumers.iter().map(|c| &c.0[..]).collect();
    assert_eq!(names, vec![&b"alice"[..], b"bob", b"idle"]);
    assert_eq!(s.groups[1].name, b"late");
    assert_eq!(s.groups[1].entries_read, -1);
}

#[test]
fn every_type_saved_by_redis_reads_back_and_round_trips() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut con = server.conn();
    load_collections(&mut con);
    let encodings: Vec<String> = collections()
        .iter()
        .map(|(k, _)| {
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(k)
                .query(&mut con)
                .unwrap()
        })
        .collect();
    assert_eq!(
        encodings,
        [
            "quicklist",
            "quicklist",
            "intset",
            "hashtable",
            "hashtable",
            "listpack",
            "hashtable",
            "hashtable",
            "listpack",
            "skiplist"
        ]
    );
    let want_digest = digest(&mut con);

    let file = save_and_read(&mut con, dir.path()).unwrap();
    let by_key: BTreeMap<&[u8], &damselfly_rdb::Entry> =
        file.entries.iter().map(|e| (&e.key[..], e)).collect();
    for (key, value) in collections() {
        let e = by_key[&key[..]];
        assert_eq!(
            sorted(&e.value),
            sorted(&value),
            "{}",
            String::from_utf8_lossy(&key)
        );
    }
    assert!(by_key[&b"hash:small"[..]].expire_ms.is_some());
    let Value::Stream(s) = &by_key[&b"stream"[..]].value else {
        panic!("stream expected")
    };
    check_stream(s);
    let Value::Stream(empty) = &by_key[&b"empty-stream"[..]].value else {
        panic!("stream expected")
    };
    assert!(empty.entries.is_empty());
    assert_eq!(empty.last_id, (5, 5));

    // Our writer: redis-check-rdb accepts the file and Redis loads the same data set.
    let dir2 = tempfile::tempdir().unwrap();
    let path = dir2.path().join("dump.rdb");
    let mut w = RdbWriter::new(std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap(),
    ))
    .unwrap();
    w.write_default_aux(now_ms() / 1000, 1 << 20).unwrap();
    w.select_db(0).unwrap();
    w.resize_db(file.entries.len() as u64, 1).unwrap();
    for e in &file.entries {
        w.write_entry(&e.key, &e.value, e.expire_ms).unwrap();
    }
    w.finish().unwrap();
    let out = Command::new("redis-check-rdb").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );

    let loaded = Server::start(dir2.path(), &[]);
    let mut con2 = loaded.conn();
    assert_eq!(digest(&mut con2), want_digest);
    let encodings2: Vec<String> = collections()
        .iter()
        .map(|(k, _)| {
            redis::cmd("OBJECT")
                .arg("ENCODING")
                .arg(k)
                .query(&mut con2)
                .unwrap()
        })
        .collect();
    assert_eq!(encodings2, encodings);
    for cmd in [
        &[&b"XINFO"[..], b"STREAM", b"stream"][..],
        &[b"XPENDING", b"stream", b"g"],
        &[b"XINFO", b"GROUPS", b"stream"],
        &[b"ZRANGE", b"zset:small", b"0", b"-1", b"WITHSCORES"],
        &[b"LRANGE", b"list:small", b"0", b"-1"],
    ] {
        assert_eq!(run(&mut con2, cmd), run(&mut con, cmd), "{:?}", cmd[0]);
    }
    let pttl: i64 = redis::cmd("PTTL")
        .arg("hash:small")
        .query(&mut con2)
        .unwrap();
    assert!(pttl > 0);

    // DUMP payloads of our encode_value restore in Redis to the same value.
    for (key, _) in collections() {
        let e = by_key[&key[..]];
        let mut payload = Vec::new();
        damselfly_rdb::encode_value(&e.value, &mut payload);
        payload.extend_from_slice(&10u16.to_le_bytes());
        let crc = damselfly_rdb::crc64(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let copy = [b"copy:".as_slice(), &key].concat();
        // DIGEST-VALUE covers whether the key expires.
        let ttl = e.expire_ms.unwrap_or(0).to_string();
        run(
            &mut con2,
            &[b"RESTORE", &copy, ttl.as_bytes(), &payload, b"ABSTTL"],
        );
        let a: Vec<String> = redis::cmd("DEBUG")
            .arg("DIGEST-VALUE")
            .arg(&copy)
            .query(&mut con2)
            .unwrap();
        let b: Vec<String> = redis::cmd("DEBUG")
            .arg("DIGEST-VALUE")
            .arg(&key)
            .query(&mut con)
            .unwrap();
        assert_eq!(a, b, "{}", String::from_utf8_lossy(&key));
    }
}

/// Our `encode_value` + version + CRC is byte for byte Redis's DUMP for the encodings with a
/// deterministic layout.
#[test]
fn dump_payloads_match_redis() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut con = server.conn();
    load_collections(&mut con);
    let mut keys: Vec<(Vec<u8>, Value)> = collections()
        .into_iter()
        .filter(|(k, _)| {
            [
                &b"list:small"[..],
                b"list:big",
                b"set:intset",
                b"hash:small",
                b"zset:small",
                b"zset:big",
            ]
            .contains(&&k[..])
        })
        .collect();
    // A stream built by XADD alone (no tombstones), with a group, pending entries and consumers.
    let mut entries = Vec::new();
    for i in 0..400u64 {
        let id = (1_700_000_000_000 + i / 2, i % 2);
        let fields = if i % 9 == 4 {
            vec![(b"other".to_vec(), vec![b'o'; (i % 50) as usize])]
        } else {
            vec![
                (b"a".to_vec(), i.to_string().into_bytes()),
                (b"b".to_vec(), vec![b'v'; (i % 40) as usize]),
            ]
        };
        let mut cmd: Vec<Vec<u8>> = vec![
            b"XADD".to_vec(),
            b"xs".to_vec(),
            format!("{}-{}", id.0, id.1).into_bytes(),
        ];
        for (f, v) in &fields {
            cmd.push(f.clone());
            cmd.push(v.clone());
        }
        run(&mut con, &cmd.iter().map(Vec::as_slice).collect::<Vec<_>>());
        entries.push((id, fields));
    }
    run(&mut con, &[b"XGROUP", b"CREATE", b"xs", b"g", b"0"]);
    run(
        &mut con,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c1",
            b"COUNT",
            b"3",
            b"STREAMS",
            b"xs",
            b">",
        ],
    );
    let Value::Stream(from_redis) = damselfly_rdb::decode_value(
        &mut &redis::cmd("DUMP")
            .arg("xs")
            .query::<Vec<u8>>(&mut con)
            .unwrap()[..],
    )
    .unwrap() else {
        panic!("stream expected")
    };
    assert_eq!(from_redis.entries, entries);
    keys.push((b"xs".to_vec(), Value::Stream(from_redis)));
    for (i, (_, _, v, _)) in value_shapes().into_iter().enumerate() {
        let key = format!("string:{i}").into_bytes();
        run(&mut con, &[b"SET", &key, &v]);
        keys.push((key, Value::String(v)));
    }
    for (key, value) in keys {
        let theirs: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut con).unwrap();
        let mut ours = Vec::new();
        damselfly_rdb::encode_value(&value, &mut ours);
        ours.extend_from_slice(&10u16.to_le_bytes());
        let crc = damselfly_rdb::crc64(&ours);
        ours.extend_from_slice(&crc.to_le_bytes());
        let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert!(
            ours == theirs,
            "{}: lengths {} vs {}, first difference at {first_diff:?}",
            String::from_utf8_lossy(&key),
            ours.len(),
            theirs.len()
        );
    }
}

/// A file Redis saved with every type (the fuzz targets in fuzz.rs start from our own writer's
/// output): every truncation and a byte flipped at every position, with the checksum disabled
/// so that the corruption reaches the decoders, is an error or a load, never a panic, a hang,
/// or more than 64 times the file's size held at once.
#[test]
fn corrupted_files_saved_by_redis_are_errors() {
    if !have_redis() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--rdbchecksum", "no"]);
    let mut con = server.conn();
    load_collections(&mut con);
    let file = save_and_read(&mut con, dir.path()).unwrap();
    assert_eq!(file.checksum, Some(0));
    let bytes = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    let step = (bytes.len() / 500).max(1);
    for at in (0..bytes.len()).step_by(step) {
        assert!(bounded(&bytes[..at], 64, || read_rdb(&bytes[..at]).is_err()));
        let mut flipped = bytes.clone();
        flipped[at] ^= 0xff;
        bounded(&flipped, 64, || read_rdb(&flipped[..]).is_ok());
    }
}
