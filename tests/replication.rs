//! Replication end to end: real primary and replica processes on ephemeral ports, real clients.
//!
//! Every test waits for events (INFO fields, replies, DEBUG DIGEST equality) with deadlines;
//! nothing sleeps a fixed time to synchronize. Against real Redis
//! (`DAMSELFLY_TEST_AGAINST_REDIS=1`) each topology runs once and the primary gets
//! `--repl-diskless-sync-delay 0` (Redis 7.0 otherwise waits 5 s before every full sync);
//! against damselfly the topologies that depend on the shard count run with several
//! `--threads` combinations (primary, replica).
mod common;

use common::*;
use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Time allowed for a full sync plus catching up (generous: 2-core machines, debug logging).
const SYNC_DEADLINE: Duration = Duration::from_secs(30);
/// Time allowed for a replica to reconnect by itself (Redis retries once a second).
const RECONNECT_DEADLINE: Duration = Duration::from_secs(20);

/// (primary threads, replica threads) pairs; against Redis only the first one runs.
fn topologies(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    if against_redis() {
        pairs[..1].to_vec()
    } else {
        pairs.to_vec()
    }
}

/// Runs `f(primary threads, replica threads)` for every pair, all of them even when one fails,
/// then fails naming the pairs that did (each failure's message is printed above).
fn for_each_topology(pairs: &[(usize, usize)], f: impl Fn(usize, usize)) {
    let mut failed = Vec::new();
    for (pt, rt) in topologies(pairs) {
        eprintln!("--- primary --threads {pt}, replica --threads {rt}");
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(pt, rt)));
        if run.is_err() {
            failed.push((pt, rt));
        }
    }
    assert!(
        failed.is_empty(),
        "failed with (primary threads, replica threads) in {failed:?}; see the panics above"
    );
}

/// Starts a primary; against Redis full syncs start at once instead of after 5 s.
fn start_primary(threads: usize, extra: &[&str]) -> Server {
    let mut args = extra.to_vec();
    if against_redis() {
        args.extend(["--repl-diskless-sync-delay", "0"]);
    }
    Server::start(threads, &args)
}

fn info_text(r: &mut Raw, section: &str) -> String {
    match r.cmd(&["INFO", section]) {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8(b).expect("INFO is UTF-8"),
        other => panic!("INFO {section} replied {other:?}"),
    }
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == name).then(|| v.trim_end())
    })
}

/// An integer INFO field; panics with the whole section when it is missing.
fn info_int(s: &Server, section: &str, name: &str) -> i64 {
    let text = info_text(&mut s.raw_authed(), section);
    field(&text, name)
        .unwrap_or_else(|| panic!("INFO {section} has no {name}:\n{text}"))
        .parse()
        .unwrap_or_else(|e| panic!("INFO {section} {name} is not an integer ({e}):\n{text}"))
}

/// Polls `INFO section` until `pred` holds; the panic shows the last INFO text.
fn wait_info(
    s: &Server,
    section: &str,
    what: &str,
    deadline: Duration,
    pred: impl Fn(&str) -> bool,
) {
    let mut r = s.raw_authed();
    let end = Instant::now() + deadline;
    loop {
        let text = info_text(&mut r, section);
        if pred(&text) {
            return;
        }
        if Instant::now() > end {
            panic!(
                "timed out after {deadline:?} waiting for {what} (port {}); last INFO {section}:\n{text}",
                s.port
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the replica's link is up and no sync is in progress.
fn wait_synced(replica: &Server) {
    wait_info(
        replica,
        "replication",
        "master_link_status:up and master_sync_in_progress:0",
        SYNC_DEADLINE,
        |i| {
            field(i, "master_link_status") == Some("up")
                && field(i, "master_sync_in_progress") == Some("0")
        },
    );
}

/// `slave<i>:` lines of the primary's INFO replication, as (port, state) pairs.
fn replica_lines(info: &str) -> Vec<(String, String)> {
    info.lines()
        .filter(|l| l.starts_with("slave") && l.contains(":ip="))
        .map(|l| {
            let kv = l.split_once(':').unwrap().1;
            let get = |name: &str| {
                kv.split(',')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .unwrap_or("")
                    .to_string()
            };
            (get("port"), get("state"))
        })
        .collect()
}

/// Waits until the primary lists exactly `replicas` as connected and online.
fn wait_replicas_online(primary: &Server, replicas: &[&Server]) {
    let want: HashSet<String> = replicas.iter().map(|r| r.port.to_string()).collect();
    wait_info(
        primary,
        "replication",
        &format!("connected_slaves:{} with ports {want:?} online", want.len()),
        SYNC_DEADLINE,
        |i| {
            let lines = replica_lines(i);
            field(i, "connected_slaves") == Some(&want.len().to_string())
                && lines.len() == want.len()
                && lines.iter().all(|(_, state)| state == "online")
                && lines.iter().map(|(p, _)| p.clone()).collect::<HashSet<_>>() == want
        },
    );
}

/// Waits until every replica's DEBUG DIGEST equals the primary's (the primary must be idle).
/// Returns the digest. The panic shows sizes, digests and both sides' INFO replication.
fn wait_same_data(primary: &Server, replicas: &[&Server]) -> Reply {
    let mut p = primary.raw_authed();
    let mut rs: Vec<Raw> = replicas.iter().map(|r| r.raw_authed()).collect();
    let end = Instant::now() + SYNC_DEADLINE;
    loop {
        let want = p.run("DEBUG DIGEST");
        let got: Vec<Reply> = rs.iter_mut().map(|r| r.run("DEBUG DIGEST")).collect();
        if got.iter().all(|g| *g == want) {
            return want;
        }
        if Instant::now() > end {
            let mut report = format!(
                "primary (port {}): DBSIZE {:?} digest {want:?}\n{}\n",
                primary.port,
                p.run("DBSIZE"),
                info_text(&mut p, "replication")
            );
            for ((s, r), g) in replicas.iter().zip(rs.iter_mut()).zip(&got) {
                report += &format!(
                    "replica (port {}): DBSIZE {:?} digest {g:?}\n{}\n",
                    s.port,
                    r.run("DBSIZE"),
                    info_text(r, "replication")
                );
            }
            panic!("replicas did not converge within {SYNC_DEADLINE:?}:\n{report}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs redis-benchmark against `s`, asserting it exits 0; returns its output.
fn benchmark(s: &Server, args: &[&str], deadline: Duration) -> String {
    let port = s.port.to_string();
    let (exit, out) = run_to_exit(
        Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args),
        deadline,
    );
    let text = out.replace('\r', "\n");
    assert!(
        exit.success(),
        "redis-benchmark {args:?} exited with {exit}:\n{text}"
    );
    text
}

fn skip_without_benchmark(test: &str) -> bool {
    if have_binary("redis-benchmark") {
        return false;
    }
    eprintln!("skipping {test}: redis-benchmark is not installed");
    true
}

/// Pipelines `n` string writes of several kinds (SET with and without TTL, MSET, INCR,
/// INCRBY, APPEND, EXPIRE, PERSIST, DEL, SETRANGE) in batches; asserts no error replies.
fn write_mix(r: &mut Raw, round: usize, n: usize) {
    let mut batch = Vec::new();
    let mut pending = 0;
    for i in 0..n {
        let s = |j: usize| format!("str:{}", (j * 7919 + round * 31) % 3000);
        let c = |j: usize| format!("ctr:{}", (j * 13 + round) % 500);
        let v = format!("v{round}.{i}");
        let cmd: Vec<String> = match i % 10 {
            0 => vec!["SET".into(), s(i), v],
            1 => vec![
                "MSET".into(),
                s(i),
                v.clone(),
                s(i + 1),
                v.clone(),
                s(i + 2),
                v,
            ],
            2 => vec!["INCR".into(), c(i)],
            3 => vec!["INCRBY".into(), c(i), "-7".into()],
            4 => vec!["APPEND".into(), s(i), "+x".into()],
            5 => vec!["EXPIRE".into(), s(i), "100000".into()],
            6 => vec!["DEL".into(), s(i + 5)],
            7 => vec!["SET".into(), s(i), v, "PX".into(), "500000".into()],
            8 => vec!["SETRANGE".into(), s(i), "2".into(), "zz".into()],
            _ => vec!["PERSIST".into(), s(i + 3)],
        };
        batch.extend(encode_cmd(&cmd));
        pending += 1;
        if pending == 200 || i + 1 == n {
            r.send(&batch).expect("write batch");
            for reply in r.read_replies(pending) {
                assert!(!reply.is_error(), "write_mix got {reply:?}");
            }
            batch.clear();
            pending = 0;
        }
    }
}

/// Item 1: A replica started after DEBUG POPULATE 200000 gets the whole dataset by full sync.
#[test]
fn full_sync_of_a_populated_primary() {
    let primary_threads = 2;
    let p = start_primary(primary_threads, &[]);
    let mut pr = p.raw();
    pr.check("DEBUG POPULATE 200000", ok());
    pr.check("SET extra:persist value", ok());
    pr.check("SET extra:ttl value EX 100000", ok());
    pr.check("SELECT 5", ok());
    pr.check("SET other:db 5", ok());
    pr.check("SELECT 0", ok());
    let replica_threads: &[usize] = if against_redis() { &[1] } else { &[1, 2] };
    for &threads in replica_threads {
        eprintln!("--- primary --threads {primary_threads}, replica --threads {threads}");
        let full_before = info_int(&p, "stats", "sync_full");
        let r = Server::start_replica_of(threads, &p, &[]);
        wait_synced(&r);
        let digest = wait_same_data(&p, &[&r]);
        assert_ne!(digest, bulk("0".repeat(40)), "the primary is not empty");
        let mut rr = r.raw();
        assert_eq!(rr.run("DBSIZE"), int(200_002), "replica DBSIZE");
        assert_eq!(rr.run("GET key:123"), bulk("value:123"));
        let ttl = rr.run("TTL extra:ttl").as_int();
        assert!(ttl > 99_000 && ttl <= 100_000, "TTL on the replica: {ttl}");
        rr.check("SELECT 5", ok());
        rr.check("GET other:db", bulk("5"));
        assert!(
            info_int(&p, "stats", "sync_full") > full_before,
            "sync_full did not grow on the primary"
        );
        // The replica's view of its link, and ROLE.
        let info = info_text(&mut rr, "replication");
        assert_eq!(field(&info, "role"), Some("slave"), "{info}");
        assert_eq!(field(&info, "master_host"), Some("127.0.0.1"), "{info}");
        assert_eq!(
            field(&info, "master_port"),
            Some(p.port.to_string().as_str()),
            "{info}"
        );
        let role = rr.run("ROLE");
        let role = role.as_array();
        assert_eq!(role[0], bulk("slave"), "ROLE {role:?}");
        assert_eq!(role[1], bulk("127.0.0.1"), "ROLE {role:?}");
        assert_eq!(role[2], int(p.port as i64), "ROLE {role:?}");
        assert_eq!(role[3], bulk("connected"), "ROLE {role:?}");
        // The primary lists it by its listening port.
        wait_replicas_online(&p, &[&r]);
        let prole = pr.run("ROLE");
        let prole = prole.as_array();
        assert_eq!(prole[0], bulk("master"), "primary ROLE {prole:?}");
        let listed = prole[2].as_array();
        assert_eq!(listed.len(), 1, "primary ROLE {prole:?}");
        assert_eq!(
            listed[0].as_array()[1],
            bulk(r.port.to_string()),
            "primary ROLE {prole:?}"
        );
    }
}

/// Item 2: Writes made by redis-benchmark after the replica attached stream to it.
#[test]
fn streaming_writes_from_redis_benchmark_reach_the_replica() {
    if skip_without_benchmark("streaming_writes_from_redis_benchmark_reach_the_replica") {
        return;
    }
    for_each_topology(&[(2, 2), (1, 2), (2, 1)], |pt, rt| {
        let p = start_primary(pt, &[]);
        let r = Server::start_replica_of(rt, &p, &[]);
        wait_synced(&r);
        wait_replicas_online(&p, &[&r]);
        let full_before = info_int(&p, "stats", "sync_full");
        benchmark(
            &p,
            &["-t", "set,incr,mset", "-r", "100000", "-n", "50000", "-q"],
            Duration::from_secs(180),
        );
        wait_same_data(&p, &[&r]);
        let keys = r.raw().run("DBSIZE").as_int();
        assert!(keys > 50_000, "replica DBSIZE after the benchmark: {keys}");
        // The replica acknowledged everything the benchmark's MSETs journaled (transactions that
        // were retried under contention included), so a WAIT covering all of it succeeds.
        let mut pr = p.raw();
        pr.check("SET after-benchmark 1", ok());
        assert_eq!(pr.run("WAIT 1 5000"), int(1), "WAIT after the benchmark");
        assert_eq!(
            info_int(&p, "stats", "sync_full"),
            full_before,
            "the stream needed another full sync"
        );
        assert_eq!(info_int(&r, "replication", "master_sync_in_progress"), 0);
    });
}

/// Item 3: A replica process that is killed and started again (same flags, empty dataset) gets a
/// new full sync; the primary forgets the dead link.
#[test]
fn restarted_replica_full_syncs_again() {
    let (pt, rt) = topologies(&[(2, 1)])[0];
    let p = start_primary(pt, &[]);
    let mut pr = p.raw();
    pr.check("DEBUG POPULATE 20000", ok());
    let target = format!("127.0.0.1:{}", p.port);
    let port = p.port.to_string();
    // damselfly also takes the host:port form.
    let flags: Vec<&str> = if against_redis() {
        vec!["--replicaof", "127.0.0.1", &port]
    } else {
        vec!["--replicaof", &target]
    };
    let r = Server::start(rt, &flags);
    wait_synced(&r);
    wait_same_data(&p, &[&r]);
    let full_before = info_int(&p, "stats", "sync_full");
    drop(r); // SIGKILL
    write_mix(&mut pr, 1, 2000);
    let r = Server::start(rt, &flags);
    wait_synced(&r);
    wait_same_data(&p, &[&r]);
    assert!(
        info_int(&p, "stats", "sync_full") > full_before,
        "sync_full did not grow after the replica restarted"
    );
    wait_replicas_online(&p, &[&r]);
    // Writes after the new sync still stream.
    write_mix(&mut pr, 2, 2000);
    wait_same_data(&p, &[&r]);
}

/// Item 4: `CLIENT KILL TYPE replica|slave` on the primary cuts the link while a client keeps
/// writing; the replica reconnects by itself and continues with a partial sync.
#[test]
fn cut_link_resumes_with_partial_sync() {
    for_each_topology(&[(2, 2), (1, 2), (2, 1)], |pt, rt| {
        let p = start_primary(pt, &["--repl-backlog-size", "16mb"]);
        // Before the replica starts: Redis does not propagate DEBUG POPULATE.
        p.raw().check("DEBUG POPULATE 10000", ok());
        let r = Server::start_replica_of(rt, &p, &[]);
        wait_synced(&r);
        wait_replicas_online(&p, &[&r]);

        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let writer = {
            let (stop, written) = (stop.clone(), written.clone());
            let mut w = p.raw();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w:{}", i % 10_000);
                    assert_eq!(w.cmd(&["SET", &key, &i.to_string()]), Reply::ok());
                    assert!(!w.cmd(&["INCR", "w:counter"]).is_error());
                    i += 1;
                    written.store(i, Ordering::Relaxed);
                }
            })
        };
        // Some writes stream before the first cut.
        wait_for("the writer to start", Duration::from_secs(10), || {
            (written.load(Ordering::Relaxed) > 500).then_some(())
        });
        let full_before = info_int(&p, "stats", "sync_full");
        let err_before = info_int(&p, "stats", "sync_partial_err");
        for alias in ["replica", "slave"] {
            let ok_before = info_int(&p, "stats", "sync_partial_ok");
            let killed = p.raw().cmd(&["CLIENT", "KILL", "TYPE", alias]);
            assert!(
                killed.as_int() >= 1,
                "CLIENT KILL TYPE {alias} killed {killed:?}"
            );
            wait_info(
                &p,
                "stats",
                &format!("sync_partial_ok > {ok_before} after CLIENT KILL TYPE {alias}"),
                RECONNECT_DEADLINE,
                |i| field(i, "sync_partial_ok").unwrap().parse::<i64>().unwrap() > ok_before,
            );
            wait_synced(&r);
            // Writes keep flowing after the reconnection.
            let at = written.load(Ordering::Relaxed);
            wait_for(
                "writes after the reconnection",
                Duration::from_secs(10),
                || (written.load(Ordering::Relaxed) > at + 500).then_some(()),
            );
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("writer thread");
        wait_same_data(&p, &[&r]);
        assert_eq!(
            info_int(&p, "stats", "sync_full"),
            full_before,
            "a cut link needed a full sync"
        );
        assert_eq!(info_int(&p, "stats", "sync_partial_err"), err_before);
        let counter: i64 = r.raw().run("GET w:counter").as_string().parse().unwrap();
        assert!(counter > 1000, "w:counter on the replica: {counter}");
    });
}

/// Item 5: Keys the primary expires disappear on the replica; a replica answers nil for keys that
/// are logically expired even before the primary's delete arrives.
#[test]
fn expired_keys_disappear_on_the_replica() {
    let (pt, rt) = topologies(&[(2, 2)])[0];
    let p = start_primary(pt, &[]);
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_replicas_online(&p, &[&r]);
    let mut pr = p.raw();
    let mut rr = r.raw();
    let expired_before = info_int(&p, "stats", "expired_keys");
    for i in 0..50 {
        pr.check_cmd(&["SET", &format!("keep:{i}"), "v"], ok());
    }
    for i in 0..200 {
        pr.check_cmd(&["SET", &format!("vol:{i}"), "v", "PX", "300"], ok());
    }
    // The primary expires them (actively, nobody reads them) and the replica follows.
    wait_for(
        "the replica's DBSIZE to drop to the 50 persistent keys",
        Duration::from_secs(20),
        || (rr.run("DBSIZE") == int(50)).then_some(()),
    );
    assert!(
        info_int(&p, "stats", "expired_keys") >= expired_before + 200,
        "the primary did not count its expirations"
    );
    assert_eq!(rr.run("GET vol:7"), nil());
    assert_eq!(rr.run("GET keep:7"), bulk("v"));
    assert_eq!(
        r.info_field("keyspace", "db0")
            .map(|v| v.starts_with("keys=50,")),
        Some(true),
        "INFO keyspace on the replica"
    );

    // Logical expiry on the replica: freeze the primary so no delete can arrive, then wait
    // for the replica's own clock to pass the deadline.
    let mut frozen_with_value = false;
    for attempt in 0..5 {
        let key = format!("lazy:{attempt}");
        pr.check_cmd(&["SET", &key, "soon", "PX", "1500"], ok());
        wait_for(
            "the volatile key on the replica",
            Duration::from_secs(5),
            || (rr.cmd(&["GET", &key]) == bulk("soon")).then_some(()),
        );
        p.stop_process();
        if rr.cmd(&["GET", &key]) != bulk("soon") {
            // Too slow: the key already expired before the primary froze; try again.
            p.continue_process();
            continue;
        }
        wait_for(
            "GET of a logically expired key on the replica to answer nil",
            Duration::from_secs(10),
            || (rr.cmd(&["GET", &key]) == nil()).then_some(()),
        );
        assert_eq!(
            p.process_state(),
            Some('T'),
            "the primary must still be frozen"
        );
        assert_eq!(rr.cmd(&["EXISTS", &key]), int(0), "EXISTS {key}");
        assert_eq!(rr.cmd(&["PTTL", &key]), int(-2), "PTTL {key}");
        assert_eq!(
            rr.cmd(&["MGET", &key, "keep:1"]),
            arr(vec![nil(), bulk("v")])
        );
        p.continue_process();
        frozen_with_value = true;
        break;
    }
    assert!(
        frozen_with_value,
        "never froze the primary before the key expired"
    );
    // The primary expires it after resuming and the replica drops it too.
    wait_for(
        "the replica's DBSIZE back to 50",
        Duration::from_secs(20),
        || (rr.run("DBSIZE") == int(50)).then_some(()),
    );
    wait_same_data(&p, &[&r]);
}

/// Item 6: An MSET over ten keys (on different shards) is applied atomically on the replica: a
/// reader never sees a mix of two MSETs.
#[test]
fn multi_key_mset_is_atomic_on_the_replica() {
    let (pt, rt) = topologies(&[(2, 2)])[0];
    let p = start_primary(pt, &[]);
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_replicas_online(&p, &[&r]);
    const ITERATIONS: usize = 5000;
    let keys: Vec<String> = (1..=10).map(|i| format!("k{i}")).collect();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let done = done.clone();
        let keys = keys.clone();
        let mut w = p.raw();
        std::thread::spawn(move || {
            for i in 0..ITERATIONS {
                let v = i.to_string();
                let mut cmd = vec!["MSET".to_string()];
                for k in &keys {
                    cmd.push(k.clone());
                    cmd.push(v.clone());
                }
                assert_eq!(w.cmd(&cmd), Reply::ok(), "MSET {i}");
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    let mut rr = r.raw();
    let mut mget = vec!["MGET".to_string()];
    mget.extend(keys.iter().cloned());
    let mut reads = 0usize;
    let mut seen = HashSet::new();
    let last = (ITERATIONS - 1).to_string();
    let end = Instant::now() + SYNC_DEADLINE;
    loop {
        let writer_done = done.load(Ordering::Relaxed);
        if !writer_done && writer.is_finished() {
            writer.join().expect("MSET writer thread");
            unreachable!("the writer stopped without finishing");
        }
        let reply = rr.cmd(&mget);
        let values = reply.as_array();
        assert_eq!(values.len(), 10, "MGET reply {reply:?}");
        assert!(
            values.iter().all(|v| *v == values[0]),
            "read {reads}: the replica shows a partial MSET: {reply:?}"
        );
        reads += 1;
        if values[0] != nil() {
            seen.insert(values[0].clone());
        }
        if writer_done && values[0] == bulk(&last) {
            break;
        }
        assert!(
            Instant::now() < end,
            "the replica did not reach the last MSET within {SYNC_DEADLINE:?} (writer done: \
             {writer_done}, last MGET {reply:?})"
        );
    }
    writer.join().expect("writer thread");
    eprintln!("{reads} MGETs saw {} distinct MSETs", seen.len());
    assert!(
        seen.len() >= 2,
        "the reader saw only {} MSET value(s) over {reads} reads: no concurrency was exercised",
        seen.len()
    );
    wait_same_data(&p, &[&r]);
}

/// Item 7: REPLICAOF NO ONE turns the replica into a primary that keeps its data, has a new
/// replication id and takes writes; SLAVEOF host port attaches it again.
#[test]
fn replicaof_no_one_promotes_the_replica() {
    let (pt, rt) = topologies(&[(2, 1)])[0];
    let p = start_primary(pt, &[]);
    let mut pr = p.raw();
    pr.check("DEBUG POPULATE 5000", ok());
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    write_mix(&mut pr, 1, 1000);
    let digest = wait_same_data(&p, &[&r]);
    let primary_replid = p.info_field("replication", "master_replid").unwrap();
    assert_eq!(primary_replid.len(), 40, "master_replid {primary_replid:?}");

    let mut rr = r.raw();
    rr.check("REPLICAOF NO ONE", ok());
    let info = info_text(&mut rr, "replication");
    assert_eq!(field(&info, "role"), Some("master"), "{info}");
    let new_replid = field(&info, "master_replid").unwrap().to_string();
    assert_eq!(new_replid.len(), 40, "{info}");
    assert!(new_replid.chars().all(|c| c.is_ascii_hexdigit()), "{info}");
    assert_ne!(
        new_replid, primary_replid,
        "a promoted replica needs a new replid"
    );
    assert_eq!(rr.run("ROLE").as_array()[0], bulk("master"));
    assert_eq!(
        rr.run("DEBUG DIGEST"),
        digest,
        "the promoted replica kept its data"
    );
    rr.check("SET promoted yes", ok());
    rr.check("GET promoted", bulk("yes"));
    assert!(!rr.run("INCR ctr:1").is_error());
    wait_info(
        &p,
        "replication",
        "connected_slaves:0",
        SYNC_DEADLINE,
        |i| field(i, "connected_slaves") == Some("0"),
    );

    // Attach it again with the SLAVEOF alias: its own writes are discarded.
    let port = p.port.to_string();
    rr.check_cmd(&["SLAVEOF", "127.0.0.1", &port], ok());
    wait_info(&r, "replication", "role:slave", SYNC_DEADLINE, |i| {
        field(i, "role") == Some("slave")
    });
    wait_synced(&r);
    pr.check("SET after:reattach 1", ok());
    wait_same_data(&p, &[&r]);
    assert_eq!(r.raw().run("GET promoted"), nil());
}

/// Item 8: A replica refuses writes with READONLY and serves reads; with
/// `--replica-read-only no` local writes succeed.
#[test]
fn replica_is_read_only_by_default() {
    let (pt, rt) = topologies(&[(1, 2)])[0];
    let p = start_primary(pt, &[]);
    let mut pr = p.raw();
    pr.check("SET k value", ok());
    pr.check("SET n 10", ok());
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_same_data(&p, &[&r]);
    let mut rr = r.raw();
    let readonly = err("READONLY You can't write against a read only replica.");
    for cmd in [
        "SET k other",
        "SET fresh 1",
        "INCR n",
        "DEL k",
        "MSET a 1 b 2 c 3",
        "APPEND k x",
        "EXPIRE k 100",
    ] {
        rr.check(cmd, readonly.clone());
    }
    rr.check("GET k", bulk("value"));
    rr.check(
        "MGET k n missing",
        arr(vec![bulk("value"), bulk("10"), nil()]),
    );
    rr.check("EXISTS k n", int(2));
    rr.check("DBSIZE", int(2));
    assert_eq!(
        r.info_field("replication", "slave_read_only").as_deref(),
        Some("1")
    );
    // The refused writes did not change anything.
    assert_eq!(rr.run("DEBUG DIGEST"), p.digest());
    // CONFIG reports the replication settings and can lift the restriction at run time.
    assert_eq!(
        rr.run("CONFIG GET replicaof"),
        config_pair("replicaof", &format!("127.0.0.1 {}", p.port))
    );
    rr.check("CONFIG SET replica-read-only no", ok());
    rr.check("SET local 1", ok());
    rr.check("CONFIG SET replica-read-only yes", ok());
    assert!(rr.run("SET local 2").is_error(), "read-only again");

    let w = Server::start_replica_of(rt, &p, &["--replica-read-only", "no"]);
    wait_synced(&w);
    wait_same_data(&p, &[&w]);
    assert_eq!(
        w.info_field("replication", "slave_read_only").as_deref(),
        Some("0")
    );
    let mut wr = w.raw();
    wr.check("SET local 1", ok());
    wr.check("INCR n", int(11));
    wr.check("GET local", bulk("1"));
    // Local writes are not sent back to the primary.
    assert_eq!(pr.run("GET local"), nil());
    assert_eq!(pr.run("GET n"), bulk("10"));
}

/// Item 9: A frozen (SIGSTOP) replica does not stall the primary: redis-benchmark completes while
/// it is stopped, and after SIGCONT the replica catches up.
#[test]
fn stopped_replica_does_not_block_the_primary() {
    if skip_without_benchmark("stopped_replica_does_not_block_the_primary") {
        return;
    }
    let (pt, rt) = topologies(&[(2, 2)])[0];
    let p = start_primary(pt, &[]);
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_replicas_online(&p, &[&r]);
    r.stop_process();
    let started = Instant::now();
    benchmark(
        &p,
        &["-t", "set", "-r", "100000", "-n", "100000", "-q"],
        Duration::from_secs(120),
    );
    eprintln!(
        "benchmark took {:?} with the replica stopped",
        started.elapsed()
    );
    assert_eq!(
        r.process_state(),
        Some('T'),
        "the replica must have stayed stopped during the benchmark"
    );
    // The primary still answers at once.
    p.raw().check("SET after:benchmark 1", ok());
    r.continue_process();
    wait_same_data(&p, &[&r]);
    assert!(r.raw().run("DBSIZE").as_int() > 50_000);
}

/// Writes `batches` × 100 pipelined SETs of 10 KB values (`big:<tag>:<batch>:<i>`).
fn write_big_values(w: &mut Raw, tag: &str, batches: usize) {
    let value = "v".repeat(10_000);
    for batch in 0..batches {
        let mut pipeline = Vec::new();
        for i in 0..100 {
            let key = format!("big:{tag}:{batch}:{i}");
            pipeline.extend(encode_cmd(&["SET", key.as_str(), value.as_str()]));
        }
        w.send(&pipeline).expect("pipeline");
        for reply in w.read_replies(100) {
            assert_eq!(reply, Reply::ok());
        }
    }
}

/// A primary with this replica `client-output-buffer-limit` and backlog, and its replica, synced
/// and then stopped (SIGSTOP): from now on the replica reads nothing.
fn synced_then_stopped(pt: usize, rt: usize, limit: &str, backlog: &str) -> (Server, Server) {
    let p = start_primary(
        pt,
        &[
            "--client-output-buffer-limit",
            limit,
            "--repl-backlog-size",
            backlog,
        ],
    );
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_replicas_online(&p, &[&r]);
    r.stop_process();
    (p, r)
}

const OUTPUT_LIMIT_LOG: &str = "scheduled to be closed ASAP for overcoming of output buffer limits";

/// A replica that stops reading is dropped once its stream passes the replica class's hard
/// client-output-buffer-limit, logged as Redis logs it, and the writers never wait for it. Its
/// lag is then past the (small) backlog, so after SIGCONT it reconnects with a full sync.
#[test]
fn a_replica_past_its_hard_output_limit_is_dropped_and_full_syncs() {
    for_each_topology(&[(2, 2), (1, 1)], |pt, rt| {
        let (p, r) = synced_then_stopped(pt, rt, "replica 4mb 0 0", "1mb");
        let full_before = info_int(&p, "stats", "sync_full");

        // 60 MB of writes: more than the loopback socket buffers and the limit together.
        let mut w = p.raw();
        let started = Instant::now();
        write_big_values(&mut w, "hard", 60);
        eprintln!(
            "60 MB written in {:?} with the replica stopped",
            started.elapsed()
        );
        wait_for("the replica to be dropped", Duration::from_secs(20), || {
            p.log_text().contains(OUTPUT_LIMIT_LOG).then_some(())
        });
        assert_eq!(
            r.process_state(),
            Some('T'),
            "the replica must still be stopped"
        );
        w.check("SET after:drop 1", ok());

        r.continue_process();
        wait_info(
            &p,
            "stats",
            &format!("sync_full > {full_before}"),
            RECONNECT_DEADLINE,
            |i| field(i, "sync_full").unwrap().parse::<i64>().unwrap() > full_before,
        );
        wait_same_data(&p, &[&r]);
        assert_eq!(r.raw().run("DBSIZE"), int(6_001));
    });
}

/// A replica past the soft limit for its seconds is dropped too; when its lag is still in the
/// backlog it comes back with a partial resync.
#[test]
fn a_replica_past_its_soft_output_limit_is_dropped_and_resyncs_partially() {
    for_each_topology(&[(2, 2), (1, 1)], |pt, rt| {
        let (p, r) = synced_then_stopped(pt, rt, "replica 0 2mb 1", "128mb");
        let partial_before = info_int(&p, "stats", "sync_partial_ok");
        let full_before = info_int(&p, "stats", "sync_full");

        let mut w = p.raw();
        write_big_values(&mut w, "soft", 30);
        // The soft limit is checked as new writes arrive, once its second has passed.
        let mut extra = 0;
        wait_for("the replica to be dropped", Duration::from_secs(20), || {
            w.check_cmd(
                &["SET", &format!("extra:{extra}"), &"e".repeat(10_000)],
                ok(),
            );
            extra += 1;
            p.log_text().contains(OUTPUT_LIMIT_LOG).then_some(())
        });
        assert_eq!(
            r.process_state(),
            Some('T'),
            "the replica must still be stopped"
        );

        r.continue_process();
        wait_info(
            &p,
            "stats",
            &format!("sync_partial_ok > {partial_before}"),
            RECONNECT_DEADLINE,
            |i| field(i, "sync_partial_ok").unwrap().parse::<i64>().unwrap() > partial_before,
        );
        wait_same_data(&p, &[&r]);
        assert_eq!(info_int(&p, "stats", "sync_full"), full_before);
        assert_eq!(r.raw().run("DBSIZE").as_int(), 3_000 + extra);
    });
}

/// Item 10: WAIT counts acknowledging replicas, times out when the replica is frozen, and is
/// refused on a replica.
#[test]
fn wait_counts_acknowledged_replicas() {
    let (pt, rt) = topologies(&[(2, 1)])[0];
    let p = start_primary(pt, &[]);
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    wait_replicas_online(&p, &[&r]);
    let mut pr = p.raw();
    // Redis 7.0 starts streaming to a replica after a diskless sync only on its first periodic
    // ACK (up to 1 s later), so warm the link up before timing anything.
    pr.check("SET warm 1", ok());
    assert_eq!(pr.run("WAIT 1 10000"), int(1), "first WAIT");

    pr.check("SET a 1", ok());
    let t = Instant::now();
    assert_eq!(pr.run("WAIT 1 1000"), int(1), "WAIT with a healthy replica");
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "WAIT 1 1000 took {:?}; it should return as soon as the replica acknowledges",
        t.elapsed()
    );
    // Writes from several keys (shards) in one WAIT: on damselfly a transaction whose parts come
    // from several flows, acknowledged as soon as the replica has applied it.
    pr.check("MSET b 1 c 2 d 3 e 4 f 5", ok());
    let t = Instant::now();
    assert_eq!(pr.run("WAIT 1 5000"), int(1));
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "WAIT after a cross-shard MSET took {:?}",
        t.elapsed()
    );
    assert_eq!(
        r.raw().run("GET f"),
        bulk("5"),
        "WAIT returned before the replica had it"
    );

    r.stop_process();
    pr.check("SET a 2", ok());
    let t = Instant::now();
    assert_eq!(
        pr.run("WAIT 1 500"),
        int(0),
        "WAIT with the replica stopped"
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "WAIT 1 500 took {took:?}"
    );
    r.continue_process();
    let t = Instant::now();
    assert_eq!(pr.run("WAIT 1 0"), int(1), "WAIT 1 0 after SIGCONT");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(r.raw().run("GET a"), bulk("2"));

    let t = Instant::now();
    assert_eq!(pr.run("WAIT 2 300"), int(1), "WAIT 2 with one replica");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "WAIT 2 300 took {took:?}"
    );
    let on_replica = r.raw().run("WAIT 1 100");
    match &on_replica {
        Reply::Error(e) => assert!(
            e.starts_with("ERR WAIT cannot be used with replica instances"),
            "WAIT on the replica: {e}"
        ),
        other => panic!("WAIT on the replica answered {other:?}"),
    }
}

/// Starts a replica that the primary should refuse, and waits until the primary has accepted two
/// connections from it: its first attempt failed and it retried.
fn start_refused_replica(p: &Server, threads: usize, extra: &[&str]) -> Server {
    let mut poll = p.raw_authed();
    let mut connections = || -> i64 {
        field(&info_text(&mut poll, "stats"), "total_connections_received")
            .expect("INFO stats total_connections_received")
            .parse()
            .unwrap()
    };
    let before = connections();
    let replica = Server::start_replica_of(threads, p, extra);
    wait_for(
        "two connection attempts from the refused replica",
        RECONNECT_DEADLINE,
        || (connections() >= before + 2).then_some(()),
    );
    replica
}

/// Item 11: A replica of a password-protected primary syncs with --masterauth; without it (or with
/// a wrong one) its link stays down.
#[test]
fn replica_authenticates_with_masterauth() {
    let (pt, rt) = topologies(&[(2, 1)])[0];
    let p = start_primary(pt, &["--requirepass", "s3cret"]);
    let mut pr = p.raw_authed();
    pr.check("DEBUG POPULATE 3000", ok());
    let no_auth = start_refused_replica(&p, rt, &[]);
    let wrong = start_refused_replica(&p, rt, &["--masterauth", "wrong"]);
    let good = Server::start_replica_of(rt, &p, &["--masterauth", "s3cret"]);
    wait_synced(&good);
    write_mix(&mut pr, 1, 1000);
    wait_same_data(&p, &[&good]);
    wait_replicas_online(&p, &[&good]);
    for (name, bad) in [("no masterauth", &no_auth), ("wrong masterauth", &wrong)] {
        let mut br = bad.raw();
        let info = info_text(&mut br, "replication");
        assert_eq!(field(&info, "role"), Some("slave"), "{name}: {info}");
        assert_eq!(
            field(&info, "master_link_status"),
            Some("down"),
            "{name}: {info}"
        );
        assert_eq!(br.run("DBSIZE"), int(0), "{name}: the replica got data");
    }
    assert_eq!(
        p.info_field("replication", "connected_slaves").as_deref(),
        Some("1"),
        "only the authenticated replica is attached"
    );
}

/// Item 12: Two replicas with different shard counts attached to one primary at the same time.
#[test]
fn two_replicas_of_one_primary() {
    let pt = 2;
    let p = start_primary(pt, &[]);
    let mut pr = p.raw();
    pr.check("DEBUG POPULATE 50000", ok());
    let port = p.port.to_string();
    let r1 = Server::start_replica_of(1, &p, &[]);
    // The second one uses the --slaveof alias.
    let r2 = Server::start(2, &["--slaveof", "127.0.0.1", &port]);
    wait_synced(&r1);
    wait_synced(&r2);
    wait_replicas_online(&p, &[&r1, &r2]);
    assert_eq!(
        p.info_field("replication", "connected_slaves").as_deref(),
        Some("2")
    );
    for round in 0..5 {
        write_mix(&mut pr, round, 2000);
    }
    wait_same_data(&p, &[&r1, &r2]);
    assert_eq!(
        r2.raw().run("DBSIZE"),
        pr.run("DBSIZE"),
        "DBSIZE of the second replica"
    );
    wait_replicas_online(&p, &[&r1, &r2]);
}

/// Offsets reported by INFO agree once the replica has caught up: the replica's
/// slave_repl_offset and the primary's slave0 offset (its last ACK) reach master_repl_offset.
#[test]
fn replication_offsets_agree_after_catching_up() {
    let (pt, rt) = topologies(&[(2, 2)])[0];
    let p = start_primary(pt, &[]);
    let r = Server::start_replica_of(rt, &p, &[]);
    wait_synced(&r);
    let mut pr = p.raw();
    write_mix(&mut pr, 0, 3000);
    wait_same_data(&p, &[&r]);
    let mut rr = r.raw();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let pinfo = info_text(&mut pr, "replication");
        let rinfo = info_text(&mut rr, "replication");
        let master_off: i64 = field(&pinfo, "master_repl_offset")
            .unwrap()
            .parse()
            .unwrap();
        let replica_off: i64 = field(&rinfo, "slave_repl_offset").unwrap().parse().unwrap();
        let acked: Option<i64> = field(&pinfo, "slave0").and_then(|l| {
            l.split(',')
                .find_map(|kv| kv.strip_prefix("offset="))
                .and_then(|v| v.parse().ok())
        });
        if master_off > 0 && replica_off == master_off && acked == Some(master_off) {
            assert_eq!(
                field(&rinfo, "master_replid"),
                field(&pinfo, "master_replid"),
                "the replica reports its primary's replid"
            );
            break;
        }
        assert!(
            Instant::now() < end,
            "offsets did not agree:\nprimary:\n{pinfo}\nreplica:\n{rinfo}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CONFIG GET's reply for one parameter (RESP2: a flat array).
fn config_pair(name: &str, value: &str) -> Reply {
    arr(vec![bulk(name), bulk(value)])
}

/// Issue 11 item 4: with min-replicas-to-write N a primary refuses writes (`-NOREPLICAS`, inside
/// MULTI too) while fewer than N replicas acknowledged within min-replicas-max-lag seconds; reads
/// always work; both settings change with CONFIG SET and show in INFO and CONFIG GET.
#[test]
fn min_replicas_to_write_refuses_writes_without_good_replicas() {
    for_each_topology(&[(2, 1)], |pt, rt| {
        let noreplicas = err("NOREPLICAS Not enough good replicas to write.");
        let p = start_primary(
            pt,
            &[
                "--min-replicas-to-write",
                "1",
                "--min-replicas-max-lag",
                "2",
            ],
        );
        let mut pr = p.raw();
        pr.check("SET k v", noreplicas.clone());
        pr.check("GET k", nil());
        assert_eq!(info_int(&p, "replication", "min_slaves_good_slaves"), 0);
        pr.check("MULTI", ok());
        pr.check("INCR n", noreplicas.clone());
        pr.check(
            "EXEC",
            err("EXECABORT Transaction discarded because of previous errors."),
        );
        pr.check(
            "CONFIG GET min-slaves-max-lag",
            config_pair("min-slaves-max-lag", "2"),
        );

        let r = Server::start_replica_of(rt, &p, &[]);
        wait_synced(&r);
        wait_replicas_online(&p, &[&r]);
        // The count of good replicas is refreshed once a second.
        wait_for("a good replica", SYNC_DEADLINE, || {
            (pr.run("SET k v") == ok()).then_some(())
        });
        assert_eq!(info_int(&p, "replication", "min_slaves_good_slaves"), 1);
        pr.check("CONFIG SET min-replicas-to-write 2", ok());
        pr.check("SET k v", noreplicas.clone());
        pr.check("CONFIG SET min-slaves-to-write 0", ok());
        pr.check("SET k v", ok());
        pr.check(
            "CONFIG GET min-replicas-to-write",
            config_pair("min-replicas-to-write", "0"),
        );
        pr.check(
            "CONFIG SET min-replicas-to-write x",
            err("ERR CONFIG SET failed (possibly related to argument 'min-replicas-to-write') - argument couldn't be parsed into an integer"),
        );

        // Once the replica is gone, writes are refused again (within max-lag and a refresh).
        pr.check("CONFIG SET min-replicas-to-write 1", ok());
        drop(r);
        wait_for("writes refused without the replica", SYNC_DEADLINE, || {
            (pr.run("SET k v") == noreplicas).then_some(())
        });
        pr.check("GET k", bulk("v"));
    });
}
