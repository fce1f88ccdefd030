//! A real redis-server 7.0 as a replica of damselfly: full sync (SYNC/PSYNC answered with
//! +FULLRESYNC and an RDB), the Redis-format command stream (MULTI/EXEC across our shards,
//! SELECT, expiry), REPLCONF ACK offsets and WAIT, min-replicas, partial resync (+CONTINUE) after
//! a cut link and after a replica restart, and the `SYNC` stream as raw tools read it.
//!
//! Every wait polls an event with a generous deadline (2-core machines); nothing sleeps a fixed
//! time. With `DAMSELFLY_TEST_AGAINST_REDIS=1` the primary is a redis-server too, which checks
//! the expectations. Only Redis-defined INFO fields are read.
mod common;

use common::*;
use std::collections::HashSet;
use std::io::Read;
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// How often a replica acknowledges (Redis's replicationCron).
const ACK_PERIOD: Duration = Duration::from_secs(1);
const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

fn skip_without_redis() -> bool {
    if have_binary("redis-server") {
        return false;
    }
    eprintln!("skipped: no redis-server on PATH");
    true
}

/// The primary under test; against Redis full syncs start at once instead of after 5 s.
fn start_primary(threads: usize) -> Server {
    let mut args = vec![];
    if against_redis() {
        args.extend(["--repl-diskless-sync-delay", "0"]);
    }
    Server::start(threads, &args)
}

/// A redis-server replica of `primary` (`--replicaof 127.0.0.1 <port>` then `extra`).
fn start_redis_replica(primary: &Server, extra: &[&str]) -> Server {
    let port = primary.port.to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
    args.extend_from_slice(extra);
    Server::redis_with(&args)
}

/// Waits until the replica's link is up and no sync is in progress; the panic shows the
/// replica's last INFO replication (its log is printed when the Server drops).
fn wait_link_up(replica: &Server) {
    let end = Instant::now() + SYNC_DEADLINE;
    loop {
        let text = info_text(replica, "replication");
        if field(&text, "master_link_status").as_deref() == Some("up")
            && field(&text, "master_sync_in_progress").as_deref() == Some("0")
        {
            return;
        }
        assert!(
            Instant::now() < end,
            "the replica's link never came up within {SYNC_DEADLINE:?}; INFO replication:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many times the redis-server replica logged that its primary answered PSYNC with
/// +CONTINUE.
fn partial_resyncs_logged(replica: &Server) -> usize {
    replica
        .log_text()
        .matches("Master accepted a Partial Resynchronization")
        .count()
}

/// The primary's `slave0:ip=..,port=..,state=..,offset=..,lag=..` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReplicaLine {
    ip: String,
    port: u16,
    state: String,
    offset: i64,
    lag: i64,
}

/// Parses `slave0` from INFO replication, asserting Redis's field names and order.
fn slave0(info: &str) -> Option<ReplicaLine> {
    let line = field(info, "slave0")?;
    let pairs: Vec<(&str, &str)> = line
        .split(',')
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect();
    let names: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        ["ip", "port", "state", "offset", "lag"],
        "slave0 line {line:?}"
    );
    let num = |i: usize| -> i64 {
        pairs[i]
            .1
            .parse()
            .unwrap_or_else(|e| panic!("slave0 {} is not an integer ({e}): {line:?}", pairs[i].0))
    };
    Some(ReplicaLine {
        ip: pairs[0].1.to_string(),
        port: num(1) as u16,
        state: pairs[2].1.to_string(),
        offset: num(3),
        lag: num(4),
    })
}

/// Waits until the primary lists exactly one replica, `replica`, online.
fn wait_replica_online(primary: &Server, replica: &Server) -> ReplicaLine {
    let end = Instant::now() + SYNC_DEADLINE;
    loop {
        let last = info_text(primary, "replication");
        if field(&last, "connected_slaves").as_deref() == Some("1") {
            if let Some(line) = slave0(&last) {
                if line.state == "online" && line.port == replica.port {
                    assert_eq!(line.ip, "127.0.0.1", "{last}");
                    assert!(field(&last, "slave1").is_none(), "{last}");
                    return line;
                }
            }
        }
        assert!(
            Instant::now() < end,
            "the primary never listed the replica (port {}) online; INFO replication:\n{last}",
            replica.port
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until both servers have the same data (DEBUG DIGEST), the replica's master_repl_offset
/// is the primary's, and the primary's slave0 offset (the replica's last ACK) is that too.
fn wait_identical(primary: &Server, replica: &Server) {
    let end = Instant::now() + SYNC_DEADLINE;
    loop {
        let (a, b) = (primary.digest(), replica.digest());
        let pinfo = info_text(primary, "replication");
        let rinfo = info_text(replica, "replication");
        let p_offset = field(&pinfo, "master_repl_offset");
        let r_offset = field(&rinfo, "master_repl_offset");
        let acked = slave0(&pinfo).map(|l| l.offset.to_string());
        if a == b && p_offset.is_some() && p_offset == r_offset && acked == p_offset {
            return;
        }
        assert!(
            Instant::now() < end,
            "replica never caught up: digests {a:?} / {b:?}\nprimary INFO replication:\n{pinfo}\
             \nreplica INFO replication:\n{rinfo}\nreplica log:\n{}",
            replica.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes after the sync: MULTI/EXEC over many keys (several shards), commands over several keys
/// (RENAME, SMOVE, SINTERSTORE, LMOVE, COPY, MSET), expiry, DEL, FLUSHDB, other dbs.
fn write_more(primary: &Server) {
    let mut r = primary.raw();
    r.check_cmd(&["MULTI"], ok());
    for i in 0..10 {
        let (k, v) = (format!("tx:{i}"), format!("{i}"));
        r.check_cmd(&["SET", &k, &v], status("QUEUED"));
    }
    r.check_cmd(&["INCR", "int"], status("QUEUED"));
    r.check_cmd(&["DEL", "str:0:1", "str:0:2", "str:0:3"], status("QUEUED"));
    let exec = r.cmd(&["EXEC"]);
    assert_eq!(exec.as_array().len(), 12, "EXEC: {exec:?}");
    assert_eq!(exec.as_array()[10], int(12346), "EXEC: {exec:?}");
    assert_eq!(exec.as_array()[11], int(3), "EXEC: {exec:?}");
    r.check_cmd(&["RENAME", "str:0:10", "renamed:10"], ok());
    r.check_cmd(&["RENAME", "list", "list-renamed"], ok());
    r.check_cmd(&["SMOVE", "bigset", "other-set", "member-7"], int(1));
    r.check_cmd(&["SINTERSTORE", "inter", "bigset", "intset"], int(0));
    r.check_cmd(&["SUNIONSTORE", "union", "intset", "other-set"], int(4));
    let moved = format!("element-0-{}", "y".repeat(40));
    r.check_cmd(
        &["LMOVE", "biglist", "moved-list", "LEFT", "RIGHT"],
        bulk(moved),
    );
    r.check_cmd(&["COPY", "hash", "hash-copy"], int(1));
    r.check_cmd(
        &["MSET", "m:a", "1", "m:b", "2", "m:c", "3", "m:d", "4"],
        ok(),
    );
    r.check_cmd(&["EXPIRE", "str:0:20", "1000"], int(1));
    r.check_cmd(&["SET", "short", "lived", "PX", "100"], ok());
    r.check_cmd(&["DEL", "str:0:30"], int(1));
    assert_eq!(r.cmd(&["SPOP", "bigset", "3"]).as_array().len(), 3);
    r.check_cmd(&["INCRBYFLOAT", "float", "1.5"], bulk("1.5"));
    assert!(!r.cmd(&["XADD", "stream", "*", "f", "new"]).is_error());
    r.check_cmd(&["SELECT", "9"], ok());
    r.check_cmd(&["SET", "in-db-9", "nine"], ok());
    r.check_cmd(&["FLUSHDB"], ok());
    r.check_cmd(&["SET", "after-flush", "x"], ok());
    r.check_cmd(&["SELECT", "4"], ok());
    r.check_cmd(&["MULTI"], ok());
    r.check_cmd(&["SET", "four:a", "1"], status("QUEUED"));
    r.check_cmd(&["SET", "four:b", "2"], status("QUEUED"));
    r.check_cmd(&["EXEC"], Reply::arr(vec![ok(), ok()]));
    // The key with 100 ms to live expires on the primary, which sends its DEL.
    r.check_cmd(&["SELECT", "0"], ok());
    wait_for("the short-lived key to expire", SYNC_DEADLINE, || {
        (r.cmd(&["GET", "short"]) == Reply::nil()).then_some(())
    });
}

fn full_sync_into(threads: usize, diskless_load: &str) {
    eprintln!("--- primary --threads {threads}, replica --repl-diskless-load {diskless_load}");
    let primary = start_primary(threads);
    load_mixed(&primary);
    let replica = start_redis_replica(&primary, &["--repl-diskless-load", diskless_load]);
    wait_link_up(&replica);
    let line = wait_replica_online(&primary, &replica);
    assert!(line.lag >= 0 && line.lag < 60, "{line:?}");
    wait_identical(&primary, &replica);

    let info = info_text(&replica, "replication");
    assert_eq!(field(&info, "role").as_deref(), Some("slave"));
    assert_eq!(field(&info, "master_host").as_deref(), Some("127.0.0.1"));
    assert_eq!(field(&info, "master_port"), Some(primary.port.to_string()));
    let primary_info = info_text(&primary, "replication");
    assert_eq!(field(&primary_info, "role").as_deref(), Some("master"));
    assert_eq!(
        field(&info, "master_replid"),
        field(&primary_info, "master_replid"),
        "the replica adopted the primary's replid"
    );
    let mut rr = replica.raw();
    for db in ["0", "2", "9"] {
        rr.check_cmd(&["SELECT", db], ok());
        let key = format!("str:{db}:199");
        rr.check_cmd(&["GET", &key], bulk("value-199"));
        rr.check_cmd(&["LLEN", "biglist"], int(300));
        rr.check_cmd(&["SCARD", "bigset"], int(600));
        rr.check_cmd(&["XLEN", "stream"], int(2));
        let pending = rr.cmd(&["XPENDING", "stream", "group"]);
        assert_eq!(pending.as_array()[0], int(1), "XPENDING {pending:?}");
        let ttl = rr.cmd(&["TTL", "ttl"]).as_int();
        assert!(ttl > 99_000 && ttl <= 100_000, "TTL on the replica: {ttl}");
        let pttl = rr.cmd(&["PTTL", "ttlhash"]).as_int();
        assert!(pttl > 400_000 && pttl <= 500_000, "PTTL: {pttl}");
    }
    let role = primary.raw().cmd(&["ROLE"]);
    let role = role.as_array();
    assert_eq!(role[0], bulk("master"), "{role:?}");
    let listed = role[2].as_array();
    assert_eq!(listed.len(), 1, "{role:?}");
    assert_eq!(listed[0].as_array()[0], bulk("127.0.0.1"), "{role:?}");
    assert_eq!(
        listed[0].as_array()[1],
        bulk(replica.port.to_string()),
        "{role:?}"
    );

    // The command stream after the sync, in Redis's format.
    write_more(&primary);
    wait_identical(&primary, &replica);
    rr.check_cmd(&["SELECT", "0"], ok());
    rr.check_cmd(&["GET", "renamed:10"], bulk("value-10"));
    rr.check_cmd(&["EXISTS", "str:0:10", "short", "str:0:1"], int(0));
    rr.check_cmd(&["GET", "tx:9"], bulk("9"));
    rr.check_cmd(&["SELECT", "9"], ok());
    rr.check_cmd(&["DBSIZE"], int(1));
    rr.check_cmd(&["SELECT", "4"], ok());
    rr.check_cmd(&["MGET", "four:a", "four:b"], Reply::bulks(&["1", "2"]));
    let role = rr.cmd(&["ROLE"]);
    assert_eq!(role.as_array()[0], bulk("slave"), "{role:?}");
    assert_eq!(role.as_array()[3], bulk("connected"), "{role:?}");
}

/// Full sync of every data type in several dbs, then the command stream: identical DEBUG DIGEST,
/// the link up, the replica listed online in `slave0`, equal offsets once idle.
#[test]
fn redis_replica_full_syncs_mixed_data_and_follows_the_stream() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        for diskless_load in ["disabled", "swapdb"] {
            full_sync_into(threads, diskless_load);
        }
    });
}

/// Keys written together by one MSET, and by one MULTI/EXEC.
const MSET_KEYS: usize = 16;
const TX_SET_KEYS: &[&str] = &["a", "b", "d", "e", "f", "g", "h"];

fn mset_keys() -> Vec<String> {
    (1..=MSET_KEYS).map(|i| format!("k{i}")).collect()
}

/// Round `i` of the writer: one MSET of every k<n> to `i`, then MULTI, SET a..h to `i`,
/// INCR c (c counts the rounds, so it is `i` too), EXEC.
fn write_round(w: &mut Raw, i: usize) {
    let v = i.to_string();
    let mut mset = vec!["MSET".to_string()];
    for k in mset_keys() {
        mset.push(k);
        mset.push(v.clone());
    }
    assert_eq!(w.cmd(&mset), ok(), "MSET {i}");
    w.check_cmd(&["MULTI"], ok());
    for k in TX_SET_KEYS {
        w.check_cmd(&["SET", k, &v], status("QUEUED"));
    }
    w.check_cmd(&["INCR", "c"], status("QUEUED"));
    let mut want = vec![ok(); TX_SET_KEYS.len()];
    want.push(int(i as i64));
    w.check_cmd(&["EXEC"], Reply::arr(want));
}

/// Reads both groups of keys on the replica; panics when one shows half of a write.
/// Returns the MSET group's value and the transaction group's value.
fn read_groups(r: &mut Raw) -> (Reply, Reply) {
    let mut mget = vec!["MGET".to_string()];
    mget.extend(mset_keys());
    let mset = r.cmd(&mget);
    let values = mset.as_array();
    assert!(
        values.len() == MSET_KEYS && values.iter().all(|v| *v == values[0]),
        "the replica shows a partial MSET: {mset:?}"
    );
    let mut mget = vec!["MGET".to_string()];
    mget.extend(TX_SET_KEYS.iter().map(|k| k.to_string()));
    mget.push("c".into());
    let tx = r.cmd(&mget);
    let values = tx.as_array();
    assert!(
        values.iter().all(|v| *v == values[0]),
        "the replica shows a partial MULTI/EXEC: {tx:?}"
    );
    (mset.as_array()[0].clone(), values[0].clone())
}

fn replicate_under_load(threads: usize) {
    const ROUNDS: usize = 3000;
    let primary = start_primary(threads);
    let replica = start_redis_replica(&primary, &[]);
    wait_link_up(&replica);
    wait_replica_online(&primary, &replica);

    let done = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (done, rounds) = (done.clone(), rounds.clone());
        let mut w = primary.raw();
        std::thread::spawn(move || {
            for i in 1..=ROUNDS {
                write_round(&mut w, i);
                rounds.store(i, Ordering::Relaxed);
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    let abort = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, abort) = (done.clone(), abort.clone());
        let mut r = replica.raw();
        std::thread::spawn(move || {
            let last = bulk(ROUNDS.to_string());
            let mut seen = HashSet::new();
            let end = Instant::now() + SYNC_DEADLINE * 3;
            loop {
                let writer_done = done.load(Ordering::Relaxed);
                let (a, b) = read_groups(&mut r);
                seen.insert(a.clone());
                seen.insert(b.clone());
                if (writer_done && a == last && b == last) || abort.load(Ordering::Relaxed) {
                    return seen.len();
                }
                assert!(
                    Instant::now() < end,
                    "the replica never showed the last round (writer done: {writer_done}; \
                     last reads {a:?} / {b:?})"
                );
            }
        })
    };
    // WAIT counts the replica while the writer runs.
    let mut p = primary.raw();
    for n in 0..5 {
        wait_for("more writer rounds", SYNC_DEADLINE, || {
            (rounds.load(Ordering::Relaxed) > n * ROUNDS / 6 || writer.is_finished()).then_some(())
        });
        p.check_cmd(&["SET", "waited", &n.to_string()], ok());
        p.check_cmd(&["WAIT", "1", "5000"], int(1));
    }
    if writer.join().is_err() {
        abort.store(true, Ordering::Relaxed);
        let _ = reader.join();
        panic!("the writer thread failed (its panic is printed above)");
    }
    let seen = reader.join().expect("reader thread");
    eprintln!("the replica reader saw {seen} distinct values");
    assert!(
        seen >= 3,
        "the reader saw only {seen} distinct values: no concurrency was exercised"
    );
    wait_identical(&primary, &replica);

    if have_binary("redis-benchmark") {
        let port = primary.port.to_string();
        let (exit, out) = run_to_exit(
            Command::new("redis-benchmark").args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "set,lpush,incr",
                "-n",
                "20000",
                "-r",
                "1000",
                "-q",
            ]),
            Duration::from_secs(180),
        );
        assert!(exit.success(), "redis-benchmark exited with {exit}:\n{out}");
        wait_identical(&primary, &replica);
        let keys = replica.raw().cmd(&["DBSIZE"]).as_int();
        assert!(keys > 1000, "replica DBSIZE after the benchmark: {keys}");
    } else {
        eprintln!("redis-benchmark not on PATH: its part is skipped");
    }
}

/// Cross-shard MSETs and MULTI/EXECs stream while a reader on the replica checks that it never
/// sees half of one; WAIT counts the replica meanwhile; redis-benchmark traffic converges.
#[test]
fn redis_replica_applies_multi_key_writes_atomically_under_load() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(replicate_under_load);
}

/// WAIT returns as soon as the redis replica acknowledges, and waits out its timeout when fewer
/// replicas than asked exist.
#[test]
fn wait_counts_a_redis_replica() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        let replica = start_redis_replica(&primary, &[]);
        wait_link_up(&replica);
        wait_replica_online(&primary, &replica);
        let mut p = primary.raw();
        for value in ["1", "2", "3"] {
            p.check_cmd(&["SET", "x", value], ok());
            let t = Instant::now();
            p.check_cmd(&["WAIT", "1", "5000"], int(1));
            let took = t.elapsed();
            eprintln!("SET x {value}; WAIT 1 5000 took {took:?}");
            assert!(
                took < Duration::from_millis(900),
                "WAIT 1 5000 took {took:?}; it should return on the replica's ACK"
            );
            replica.raw().check_cmd(&["GET", "x"], bulk(value));
        }
        let t = Instant::now();
        p.check_cmd(&["WAIT", "2", "1000"], int(1));
        let took = t.elapsed();
        eprintln!("WAIT 2 1000 took {took:?}");
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_secs(10),
            "WAIT 2 1000 took {took:?}"
        );
    });
}

/// The replica drops its link (CLIENT KILL TYPE master) and comes back with a partial resync
/// (+CONTINUE) that carries the writes made meanwhile.
#[test]
fn redis_replica_resumes_a_cut_link_with_a_partial_resync() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        load_mixed(&primary);
        let replica = start_redis_replica(&primary, &[]);
        wait_link_up(&replica);
        wait_replica_online(&primary, &replica);
        wait_identical(&primary, &replica);
        let full_before = int_field(&primary, "stats", "sync_full");
        let partial_before = int_field(&primary, "stats", "sync_partial_ok");
        assert!(full_before >= 1, "sync_full {full_before}");

        let mut p = primary.raw();
        let mut r = replica.raw();
        for round in 0..2i64 {
            let killed = r.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
            assert_eq!(killed, int(1), "CLIENT KILL TYPE master");
            for i in 0..100 {
                let (k, v) = (format!("cut:{round}:{i}"), i.to_string());
                p.check_cmd(&["SET", &k, &v], ok());
            }
            p.check_cmd(&["INCR", "int"], int(12346 + round));
            wait_for("a partial resync", SYNC_DEADLINE, || {
                (int_field(&primary, "stats", "sync_partial_ok") > partial_before + round)
                    .then_some(())
            });
            wait_link_up(&replica);
            wait_identical(&primary, &replica);
            assert_eq!(
                int_field(&primary, "stats", "sync_full"),
                full_before,
                "the cut link needed a full sync"
            );
            assert_eq!(partial_resyncs_logged(&replica), round as usize + 1);
        }
        r.check_cmd(&["GET", "cut:1:99"], bulk("99"));
        p.check_cmd(&["SET", "after-resync", "1"], ok());
        p.check_cmd(&["WAIT", "1", "5000"], int(1));
        r.check_cmd(&["GET", "after-resync"], bulk("1"));
    });
}

/// A replication link read by hand: `SYNC` as Redis's own test suite attaches
/// (`attach_to_replication_stream`: the bulk length line after optional `\n` keepalives, the RDB,
/// then RESP commands), or the `PSYNC` handshake a redis-server replica performs.
struct ReplLink {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Replication offset of the last stream byte consumed (meaningful after PSYNC).
    offset: i64,
    /// Whether to send `REPLCONF ACK <offset>` each second while waiting for data, as a
    /// redis-server replica does (a diskless sync's stream starts on an ACK).
    acking: bool,
}

/// How the RDB of a full sync was framed.
#[derive(Debug, PartialEq, Eq)]
enum RdbForm {
    /// `$<len>\r\n` then len bytes (disk-based transfer).
    Length,
    /// `$EOF:<40 bytes>\r\n`, the RDB, the same 40 bytes (diskless transfer to `capa eof`).
    EofMark,
}

impl ReplLink {
    fn connect(primary: &Server) -> ReplLink {
        let stream = TcpStream::connect(primary.addr()).expect("connect");
        stream.set_read_timeout(Some(ACK_PERIOD)).unwrap();
        ReplLink {
            stream,
            buf: Vec::new(),
            offset: 0,
            acking: false,
        }
    }

    /// Sends `SYNC` and reads the RDB; returns the link (positioned after it) and the RDB.
    fn attach_with_sync(primary: &Server) -> (ReplLink, Vec<u8>) {
        let mut link = ReplLink::connect(primary);
        link.send(b"SYNC\r\n");
        let (form, rdb) = link.read_rdb();
        assert_eq!(
            form,
            RdbForm::Length,
            "SYNC (no capa eof) needs the $<len> form"
        );
        (link, rdb)
    }

    /// `REPLCONF listening-port`, `REPLCONF capa eof capa psync2`, then `PSYNC <replid> <offset>`;
    /// returns the primary's answer line without its CRLF.
    fn psync(
        primary: &Server,
        listening_port: u16,
        replid: &str,
        offset: &str,
    ) -> (ReplLink, String) {
        let mut link = ReplLink::connect(primary);
        let port = listening_port.to_string();
        for cmd in [
            vec!["REPLCONF", "listening-port", port.as_str()],
            vec!["REPLCONF", "capa", "eof", "capa", "psync2"],
        ] {
            link.send(&encode_cmd(&cmd));
            assert_eq!(link.read_line(), b"+OK\r\n", "reply to {cmd:?}");
        }
        link.send(&encode_cmd(&["PSYNC", replid, offset]));
        let line = String::from_utf8(link.read_line()).expect("PSYNC reply is text");
        (link, line.trim_end().to_string())
    }

    fn send(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self.stream, bytes).expect("write to the primary");
    }

    /// `REPLCONF ACK <offset>` for everything consumed so far.
    fn ack(&mut self) {
        let offset = self.offset.to_string();
        self.send(&encode_cmd(&["REPLCONF", "ACK", &offset]));
    }

    /// Reads until `done` holds (bounded by SYNC_DEADLINE), acknowledging once a second when
    /// `acking`.
    fn fill_until(&mut self, done: impl Fn(&[u8]) -> bool) {
        let mut chunk = [0u8; 64 * 1024];
        let end = Instant::now() + SYNC_DEADLINE;
        while !done(&self.buf) {
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "the primary closed the replication link; buffered {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) && Instant::now() < end =>
                {
                    if self.acking {
                        self.ack();
                    }
                }
                Err(e) => panic!(
                    "reading the replication link failed ({e}); buffered {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// One line up to and including its `\n`.
    fn read_line(&mut self) -> Vec<u8> {
        self.fill_until(|b| b.contains(&b'\n'));
        let end = self.buf.iter().position(|&b| b == b'\n').unwrap();
        self.buf.drain(..=end).collect()
    }

    /// The RDB of a full sync, after any `\n` keepalives, in either framing.
    fn read_rdb(&mut self) -> (RdbForm, Vec<u8>) {
        let mut newlines = 0;
        let header = loop {
            let line = self.read_line();
            if line != b"\n" {
                break line;
            }
            newlines += 1;
        };
        eprintln!(
            "{newlines} keepalive newline(s) before the RDB header {:?}",
            String::from_utf8_lossy(&header)
        );
        let header = String::from_utf8(header).expect("the RDB header line is text");
        let Some(size) = header
            .strip_prefix('$')
            .and_then(|h| h.strip_suffix("\r\n"))
        else {
            panic!("expected $<count>\\r\\n or $EOF:<mark>\\r\\n, got {header:?}");
        };
        if let Some(mark) = size.strip_prefix("EOF:") {
            let mark = mark.as_bytes().to_vec();
            assert_eq!(mark.len(), 40, "EOF mark {header:?}");
            self.fill_until(|b| b.windows(40).any(|w| w == mark.as_slice()));
            let at = self
                .buf
                .windows(40)
                .position(|w| w == mark.as_slice())
                .unwrap();
            let rdb: Vec<u8> = self.buf.drain(..at).collect();
            self.buf.drain(..40);
            return (RdbForm::EofMark, rdb);
        }
        let count: usize = size
            .parse()
            .unwrap_or_else(|_| panic!("bad RDB length line {header:?}"));
        self.fill_until(|b| b.len() >= count);
        (RdbForm::Length, self.buf.drain(..count).collect())
    }

    /// The next command of the stream, as its words; the command name is upper-cased.
    fn next_command(&mut self) -> Vec<String> {
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    self.offset += used as i64;
                    let Reply::Array(_) = reply else {
                        panic!("the stream carried {reply:?}, not a command");
                    };
                    let mut words = reply.as_strings();
                    assert!(!words.is_empty(), "empty command in the stream");
                    words[0] = words[0].to_ascii_uppercase();
                    return words;
                }
                Ok(None) => {
                    let have = self.buf.len();
                    self.fill_until(|b| b.len() > have);
                }
                Err(e) => panic!(
                    "the stream is not RESP ({e}): {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// The next command that is not a PING or a REPLCONF GETACK.
    fn next_data_command(&mut self) -> Vec<String> {
        loop {
            let words = self.next_command();
            let getack = words[0] == "REPLCONF"
                && words
                    .get(1)
                    .is_some_and(|w| w.eq_ignore_ascii_case("GETACK"));
            if words[0] != "PING" && !getack {
                return words;
            }
        }
    }

    /// Asserts the next data commands are `want` (command names compared case-insensitively).
    fn expect_commands(&mut self, want: &[&[&str]]) {
        for (i, want) in want.iter().enumerate() {
            let got = self.next_data_command();
            let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
            assert_eq!(got, want, "command {i} of the replication stream");
        }
    }
}

/// Asserts `rdb` is a whole RDB file: `REDIS00..` magic, EOF opcode, 8 checksum bytes.
fn assert_whole_rdb(rdb: &[u8], must_contain: &str) {
    assert!(
        rdb.starts_with(b"REDIS00"),
        "RDB header {:?}",
        String::from_utf8_lossy(&rdb[..rdb.len().min(9)])
    );
    assert!(rdb.len() > 9 + 9, "RDB of {} bytes", rdb.len());
    assert_eq!(
        rdb[rdb.len() - 9],
        0xFF,
        "the RDB does not end with EOF + 8 CRC bytes: tail {:?}",
        &rdb[rdb.len() - 9..]
    );
    assert!(
        rdb.windows(must_contain.len())
            .any(|w| w == must_contain.as_bytes()),
        "the RDB lacks {must_contain:?}"
    );
}

/// `SYNC` from a plain client gets `$<len>` + an RDB (not the EOF-marked diskless form, which
/// needs `REPLCONF capa eof`), then the commands in Redis's form, SELECT before a db switch.
#[test]
fn a_raw_sync_client_reads_the_rdb_and_the_command_stream() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        let mut p = primary.raw();
        p.check_cmd(&["SET", "before-sync", "in-the-rdb"], ok());
        let (mut stream, rdb) = ReplLink::attach_with_sync(&primary);
        assert_whole_rdb(&rdb, "before-sync");

        p.check_cmd(&["set", "foo", "bar"], ok());
        p.check_cmd(&["SELECT", "9"], ok());
        p.check_cmd(&["incr", "n"], int(1));
        p.check_cmd(&["del", "foo"], int(0)); // missing in db 9: nothing is propagated
        p.check_cmd(&["SELECT", "0"], ok());
        p.check_cmd(&["del", "foo"], int(1));
        stream.expect_commands(&[
            &["SELECT", "0"],
            &["SET", "foo", "bar"],
            &["SELECT", "9"],
            &["INCR", "n"],
            &["SELECT", "0"],
            &["DEL", "foo"],
        ]);
        // The primary lists the SYNC client as an online replica; it sent no REPLCONF
        // listening-port, so its port shows as 0.
        let info = info_text(&primary, "replication");
        assert_eq!(
            field(&info, "connected_slaves").as_deref(),
            Some("1"),
            "{info}"
        );
        let line = slave0(&info).unwrap_or_else(|| panic!("no slave0 line:\n{info}"));
        assert_eq!((line.port, line.state.as_str()), (0, "online"), "{info}");
    });
}

/// Waits until the primary's slave0 line shows the replica at `port` online with `offset` acked.
fn wait_acked(primary: &Server, port: u16, offset: i64) {
    wait_for(
        &format!("slave0 port={port} state=online offset={offset}"),
        SYNC_DEADLINE,
        || {
            let line = slave0(&info_text(primary, "replication"))?;
            (line.port == port && line.state == "online" && line.offset == offset).then_some(())
        },
    );
}

/// The PSYNC handshake by hand, as a redis-server replica performs it: `+FULLRESYNC <replid>
/// <offset>` and an RDB, the stream from that offset, REPLCONF ACK offsets in slave0 and in WAIT,
/// then `+CONTINUE <replid>` and the backlog after a reconnection; an unknown replid or an offset
/// past the backlog gets a full resync.
#[test]
fn raw_psync_handshake_acks_and_continue() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        let mut p = primary.raw();
        p.check_cmd(&["SET", "before-psync", "1"], ok());
        let full_before = int_field(&primary, "stats", "sync_full");
        let (mut link, answer) = ReplLink::psync(&primary, 4242, "?", "-1");
        let words: Vec<&str> = answer.split(' ').collect();
        assert!(
            words.len() == 3 && words[0] == "+FULLRESYNC",
            "PSYNC ? -1 answered {answer:?}"
        );
        let replid = words[1].to_string();
        assert!(
            replid.len() == 40 && replid.bytes().all(|b| b.is_ascii_hexdigit()),
            "replid in {answer:?}"
        );
        assert_eq!(
            field(&info_text(&primary, "replication"), "master_replid"),
            Some(replid.clone())
        );
        link.offset = words[2]
            .parse()
            .unwrap_or_else(|_| panic!("offset in {answer:?}"));
        let (form, rdb) = link.read_rdb();
        eprintln!("PSYNC with capa eof: the RDB came in the {form:?} form");
        assert_whole_rdb(&rdb, "before-psync");
        // Redis 7.0 starts the stream after a diskless transfer on an ACK once the transfer is
        // done on its side: acknowledge once a second while waiting, as a replica does.
        link.acking = true;
        link.ack();
        assert_eq!(int_field(&primary, "stats", "sync_full"), full_before + 1);

        p.check_cmd(&["SET", "after-psync", "1"], ok());
        link.expect_commands(&[&["SELECT", "0"], &["SET", "after-psync", "1"]]);
        link.ack();
        wait_acked(&primary, 4242, link.offset);

        // WAIT counts only what the link acknowledged.
        p.check_cmd(&["SET", "w", "1"], ok());
        let t = Instant::now();
        p.check_cmd(&["WAIT", "1", "300"], int(0));
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(10),
            "WAIT 1 300 without an ACK took {took:?}"
        );
        link.expect_commands(&[&["SET", "w", "1"]]);
        link.ack();
        p.check_cmd(&["WAIT", "1", "5000"], int(1));

        // Reconnect after writes made meanwhile: +CONTINUE and exactly the missed commands.
        let resume = link.offset;
        drop(link);
        wait_for("the primary to drop the link", SYNC_DEADLINE, || {
            (field(&info_text(&primary, "replication"), "connected_slaves").as_deref() == Some("0"))
                .then_some(())
        });
        p.check_cmd(&["SELECT", "3"], ok());
        p.check_cmd(&["SET", "c", "1"], ok());
        p.check_cmd(&["INCR", "c"], int(2));
        let partial_before = int_field(&primary, "stats", "sync_partial_ok");
        let next = (resume + 1).to_string();
        let (mut link, answer) = ReplLink::psync(&primary, 4242, &replid, &next);
        assert_eq!(
            answer,
            format!("+CONTINUE {replid}"),
            "PSYNC {replid} {next}"
        );
        link.offset = resume;
        link.acking = true;
        link.expect_commands(&[&["SELECT", "3"], &["SET", "c", "1"], &["INCR", "c"]]);
        assert_eq!(
            int_field(&primary, "stats", "sync_partial_ok"),
            partial_before + 1
        );
        assert_eq!(int_field(&primary, "stats", "sync_full"), full_before + 1);
        link.ack();
        wait_acked(&primary, 4242, link.offset);
        p.check_cmd(&["SET", "c", "3"], ok());
        link.expect_commands(&[&["SET", "c", "3"]]);
        drop(link);

        // A replid the primary never had, or an offset past its backlog: a full resync.
        let past = (int_field(&primary, "replication", "master_repl_offset") + 1000).to_string();
        let unknown = "f".repeat(40);
        for (id, offset) in [(unknown.as_str(), "1"), (replid.as_str(), past.as_str())] {
            let (_link, answer) = ReplLink::psync(&primary, 4243, id, offset);
            assert!(
                answer.starts_with(&format!("+FULLRESYNC {replid} ")),
                "PSYNC {id} {offset} answered {answer:?}"
            );
        }
    });
}

/// Writes `k` (`<tag>:1`, `<tag>:2`, ...) until the primary refuses with -NOREPLICAS; returns the
/// value `k` holds then (the last accepted write, or what it held before).
fn write_until_refused(p: &mut Raw, tag: &str) -> String {
    let mut last = p.cmd(&["GET", "k"]).as_string();
    let mut n = 0;
    wait_for(&format!("writes refused ({tag})"), SYNC_DEADLINE, || {
        n += 1;
        let value = format!("{tag}:{n}");
        let reply = p.cmd(&["SET", "k", &value]);
        if reply == ok() {
            last = value;
            return None;
        }
        assert_eq!(reply, err(NOREPLICAS), "SET k {value}");
        Some(())
    });
    last
}

/// With min-replicas-to-write 1 the primary takes writes while the redis replica acknowledges,
/// refuses them with -NOREPLICAS once its ACKs lag past min-replicas-max-lag (process frozen),
/// takes them again when it resumes, and refuses them once it has shut down.
#[test]
fn min_replicas_to_write_follows_the_redis_replica() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        let mut replica = start_redis_replica(&primary, &[]);
        wait_link_up(&replica);
        wait_replica_online(&primary, &replica);
        let mut p = primary.raw();
        p.check_cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"], ok());
        p.check_cmd(&["CONFIG", "SET", "min-replicas-max-lag", "2"], ok());
        // The count of good replicas is refreshed once a second.
        wait_for("writes accepted with the replica", SYNC_DEADLINE, || {
            (p.cmd(&["SET", "k", "1"]) == ok()).then_some(())
        });
        assert_eq!(
            int_field(&primary, "replication", "min_slaves_good_slaves"),
            1
        );

        replica.stop_process();
        let frozen = Instant::now();
        let accepted = write_until_refused(&mut p, "frozen");
        let took = frozen.elapsed();
        eprintln!("writes refused {took:?} after the replica froze");
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(15),
            "writes were refused {took:?} after the replica froze (max lag 2 s)"
        );
        // Reads are still served; the refused write left no trace.
        p.check_cmd(&["GET", "k"], bulk(accepted));
        replica.continue_process();
        wait_for(
            "writes accepted after the replica resumed",
            SYNC_DEADLINE,
            || (p.cmd(&["SET", "k", "resumed"]) == ok()).then_some(()),
        );

        let mut r = replica.raw();
        r.send(&encode_cmd(&["SHUTDOWN", "NOSAVE"]))
            .expect("send SHUTDOWN");
        r.expect_closed();
        let status = replica.wait_exit(SYNC_DEADLINE);
        assert!(status.success(), "redis replica exited with {status}");
        let gone = Instant::now();
        let accepted = write_until_refused(&mut p, "gone");
        eprintln!(
            "writes refused {:?} after the replica shut down",
            gone.elapsed()
        );
        assert!(
            gone.elapsed() < Duration::from_secs(15),
            "writes were refused only {:?} after the replica shut down",
            gone.elapsed()
        );
        p.check_cmd(&["GET", "k"], bulk(accepted));
        p.check_cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"], ok());
        p.check_cmd(&["SET", "k", "5"], ok());
    });
}

/// A redis replica saves on SHUTDOWN SAVE with the primary's replid and offset in its RDB; started
/// again on the same dir it loads them and resumes with a partial resync.
#[test]
fn a_restarted_redis_replica_resumes_with_a_partial_resync() {
    if skip_without_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = start_primary(threads);
        load_mixed(&primary);
        let dir = scratch_dir("redis-replica-restart");
        let dir_arg = dir.to_str().expect("UTF-8 path").to_string();
        let mut p = primary.raw();
        {
            let mut replica = start_redis_replica(&primary, &["--dir", &dir_arg]);
            wait_link_up(&replica);
            wait_replica_online(&primary, &replica);
            p.check_cmd(&["SET", "before-restart", "1"], ok());
            wait_identical(&primary, &replica);
            let mut r = replica.raw();
            r.send(&encode_cmd(&["SHUTDOWN", "SAVE"]))
                .expect("send SHUTDOWN");
            r.expect_closed();
            let status = replica.wait_exit(SYNC_DEADLINE);
            assert!(status.success(), "redis replica exited with {status}");
        }
        assert!(dir.join("dump.rdb").exists(), "SHUTDOWN SAVE wrote no RDB");
        p.check_cmd(&["SET", "while-down", "1"], ok());
        p.check_cmd(&["INCR", "int"], int(12346));
        let full_before = int_field(&primary, "stats", "sync_full");
        let partial_before = int_field(&primary, "stats", "sync_partial_ok");
        let replica = start_redis_replica(&primary, &["--dir", &dir_arg]);
        wait_for("a partial resync after the restart", SYNC_DEADLINE, || {
            (int_field(&primary, "stats", "sync_partial_ok") > partial_before).then_some(())
        });
        wait_link_up(&replica);
        wait_identical(&primary, &replica);
        assert_eq!(
            int_field(&primary, "stats", "sync_full"),
            full_before,
            "the restarted replica needed a full sync"
        );
        assert_eq!(partial_resyncs_logged(&replica), 1);
        replica.raw().check_cmd(&["GET", "while-down"], bulk("1"));
    });
}

/// A damselfly replica of a redis-server primary is promoted with REPLICAOF NO ONE: it keeps the
/// old history as master_replid2 / second_repl_offset (Redis's PSYNC2), and the old primary's
/// other replica, a redis-server, follows it with a partial resync, not a full one.
fn promoted_replica_of_redis_keeps_the_other_replica(threads: usize) {
    eprintln!("--- promoted replica --threads {threads}");
    let origin = Server::redis_with(&["--repl-diskless-sync-delay", "0"]);
    let origin_port = origin.port.to_string();
    let promoted = Server::start(threads, &["--replicaof", "127.0.0.1", &origin_port]);
    let other = start_redis_replica(&origin, &[]);
    wait_link_up(&promoted);
    wait_link_up(&other);
    load_mixed(&origin);
    let mut o = origin.raw();
    o.check_cmd(&["MSET", "a", "1", "b", "2", "c", "3"], ok());
    o.check_cmd(&["WAIT", "2", "10000"], int(2));
    wait_identical(&origin, &promoted);
    wait_identical(&origin, &other);
    let old_replid = field(&info_text(&origin, "replication"), "master_replid")
        .expect("the origin has a replid");
    let offset = int_field(&origin, "replication", "master_repl_offset");

    let mut p = promoted.raw();
    p.check_cmd(&["REPLICAOF", "NO", "ONE"], ok());
    let info = info_text(&promoted, "replication");
    assert_eq!(field(&info, "role").as_deref(), Some("master"));
    assert_eq!(field(&info, "master_replid2"), Some(old_replid.clone()));
    assert_ne!(field(&info, "master_replid"), Some(old_replid));
    // The origin may have sent a PING since `offset` was read: at least that much, and the
    // second offset is the first byte after it.
    let continued: i64 = field(&info, "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .expect("an offset");
    assert!(continued >= offset, "{continued} < {offset}");
    assert_eq!(
        field(&info, "second_repl_offset"),
        Some((continued + 1).to_string())
    );
    drop(origin);

    let promoted_port = promoted.port.to_string();
    let mut r = other.raw();
    r.check_cmd(&["REPLICAOF", "127.0.0.1", &promoted_port], ok());
    wait_for("the other replica's partial resync", SYNC_DEADLINE, || {
        (int_field(&promoted, "stats", "sync_partial_ok") == 1).then_some(())
    });
    wait_link_up(&other);
    assert_eq!(int_field(&promoted, "stats", "sync_full"), 0);
    assert_eq!(partial_resyncs_logged(&other), 1);
    p.check_cmd(&["SET", "after-failover", "1"], ok());
    p.check_cmd(&["MSET", "x", "1", "y", "2", "z", "3"], ok());
    p.check_cmd(&["WAIT", "1", "5000"], int(1));
    wait_identical(&promoted, &other);
    r.check_cmd(&["GET", "after-failover"], bulk("1"));
}

#[test]
fn a_promoted_replica_of_redis_keeps_the_other_replica_with_a_partial_resync() {
    if skip_without_redis() {
        return;
    }
    for threads in [1, 2] {
        promoted_replica_of_redis_keeps_the_other_replica(threads);
    }
}

/// A damselfly primary with a damselfly replica and a redis-server replica fails over (the primary
/// goes away); `promote_damselfly` picks which replica becomes the primary. Either way the other
/// one continues the old primary's Redis-format stream from the new primary with a partial
/// resync: the damselfly replica knows its exact offset in that stream from the positions the
/// primary noted on its flows (PSYNC2 across kinds).
fn fail_over_mixed_replicas(threads: usize, promote_damselfly: bool) {
    eprintln!("--- mixed failover, --threads {threads}, promoting the damselfly replica: {promote_damselfly}");
    let primary = start_primary(threads);
    let primary_port = primary.port.to_string();
    let replica_args = ["--replicaof", "127.0.0.1", primary_port.as_str()];
    let damselfly = Server::start(threads, &replica_args);
    let redis = start_redis_replica(&primary, &[]);
    wait_link_up(&damselfly);
    wait_link_up(&redis);
    load_mixed(&primary);
    let mut p = primary.raw();
    p.check_cmd(&["MSET", "a", "1", "b", "2", "c", "3", "d", "4"], ok());
    p.check_cmd(&["MULTI"], ok());
    p.check_cmd(&["SET", "tx:1", "x"], status("QUEUED"));
    p.check_cmd(&["SET", "tx:2", "y"], status("QUEUED"));
    assert!(!p.cmd(&["EXEC"]).is_error());
    p.check_cmd(&["SET", "acknowledged", "by-both"], ok());
    p.check_cmd(&["WAIT", "2", "10000"], int(2));
    wait_for(
        "identical data and offsets on both replicas",
        SYNC_DEADLINE,
        || {
            let offset = |s: &Server| field(&info_text(s, "replication"), "master_repl_offset");
            let digest = primary.digest();
            (digest == damselfly.digest()
                && digest == redis.digest()
                && offset(&primary) == offset(&redis))
            .then_some(())
        },
    );
    drop(primary);

    let (promoted, follower) = if promote_damselfly {
        (&damselfly, &redis)
    } else {
        (&redis, &damselfly)
    };
    promoted.raw().check_cmd(&["REPLICAOF", "NO", "ONE"], ok());
    let partial_before = int_field(promoted, "stats", "sync_partial_ok");
    let full_before = int_field(promoted, "stats", "sync_full");
    let promoted_port = promoted.port.to_string();
    follower
        .raw()
        .check_cmd(&["REPLICAOF", "127.0.0.1", &promoted_port], ok());
    wait_for("the follower's partial resync", SYNC_DEADLINE, || {
        (int_field(promoted, "stats", "sync_partial_ok") > partial_before).then_some(())
    });
    wait_link_up(follower);
    assert_eq!(int_field(promoted, "stats", "sync_full"), full_before);
    let mut w = promoted.raw();
    w.check_cmd(&["SET", "after-failover", "1"], ok());
    w.check_cmd(&["MSET", "x", "1", "y", "2", "z", "3"], ok());
    w.check_cmd(&["WAIT", "1", "5000"], int(1));
    wait_for("identical data after the failover", SYNC_DEADLINE, || {
        (promoted.digest() == follower.digest()).then_some(())
    });
    let mut r = follower.raw();
    r.check_cmd(&["GET", "acknowledged"], bulk("by-both"));
    r.check_cmd(&["GET", "after-failover"], bulk("1"));
}

#[test]
fn a_mixed_failover_continues_with_a_partial_resync_either_way() {
    if skip_without_redis() {
        return;
    }
    for threads in [1, 2] {
        fail_over_mixed_replicas(threads, true);
        fail_over_mixed_replicas(threads, false);
    }
}

/// PUBLISH on the primary reaches subscribers on its redis-server replica, as Redis 7.0
/// propagates it down the replication stream.
#[test]
fn publish_reaches_subscribers_of_a_redis_replica() {
    if skip_without_redis() {
        return;
    }
    for threads in [1, 2] {
        let primary = start_primary(threads);
        let replica = start_redis_replica(&primary, &[]);
        wait_link_up(&replica);
        let mut subscriber = replica.raw();
        assert_eq!(
            subscriber.cmd(&["SUBSCRIBE", "news"]),
            Reply::arr(vec![bulk("subscribe"), bulk("news"), int(1)])
        );
        let mut p = primary.raw();
        p.check_cmd(&["SELECT", "3"], ok());
        p.check_cmd(&["PUBLISH", "news", "hello replicas"], int(0));
        assert_eq!(
            subscriber.read_reply(),
            Reply::arr(vec![bulk("message"), bulk("news"), bulk("hello replicas")])
        );
        p.check_cmd(&["SET", "after", "publish"], ok());
        wait_identical(&primary, &replica);
    }
}

/// With no redis-server replica for repl-backlog-ttl seconds the primary frees the stream's
/// backlog (INFO repl_backlog_active:0), as Redis does; the next replica full-syncs, and the
/// offset never goes back.
#[test]
fn the_backlog_is_freed_after_repl_backlog_ttl() {
    if skip_without_redis() {
        return;
    }
    for threads in [1, 2] {
        let mut args = vec!["--repl-backlog-ttl", "1"];
        if against_redis() {
            args.extend(["--repl-diskless-sync-delay", "0"]);
        }
        let primary = Server::start(threads, &args);
        let mut p = primary.raw();
        {
            let replica = start_redis_replica(&primary, &[]);
            wait_link_up(&replica);
            p.check_cmd(&["SET", "before", "1"], ok());
            wait_identical(&primary, &replica);
            assert_eq!(
                field(&info_text(&primary, "replication"), "repl_backlog_active").as_deref(),
                Some("1")
            );
        }
        let offset = int_field(&primary, "replication", "master_repl_offset");
        wait_for("the backlog to be freed", SYNC_DEADLINE, || {
            let info = info_text(&primary, "replication");
            (field(&info, "repl_backlog_active").as_deref() == Some("0")).then_some(())
        });
        p.check_cmd(&["SET", "while-alone", "1"], ok());
        let full_before = int_field(&primary, "stats", "sync_full");
        let replica = start_redis_replica(&primary, &[]);
        wait_link_up(&replica);
        p.check_cmd(&["SET", "after", "1"], ok());
        wait_identical(&primary, &replica);
        assert_eq!(int_field(&primary, "stats", "sync_full"), full_before + 1);
        assert!(int_field(&primary, "replication", "master_repl_offset") >= offset);
        replica.raw().check_cmd(&["GET", "while-alone"], bulk("1"));
    }
}
