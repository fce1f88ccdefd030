//! damselfly as a replica of a real redis-server 7.0 primary: full sync from its RDB (both
//! transfer forms), the command stream (MULTI/EXEC across our shards, SELECT, expiry, commands
//! sent verbatim across shards), offsets and WAIT, partial resync after a cut link.
//!
//! Every wait polls an event with a generous deadline (2-core machines); nothing sleeps a fixed
//! time. With `DAMSELFLY_TEST_AGAINST_REDIS=1` the replica is a redis-server too, which checks
//! the expectations.
mod common;

use common::*;
use std::time::Duration;

const SYNC_DEADLINE: Duration = Duration::from_secs(60);

fn wait_link_up(replica: &Server) {
    wait_for("master_link_status:up", SYNC_DEADLINE, || {
        let text = info_text(replica, "replication");
        (field(&text, "master_link_status").as_deref() == Some("up")
            && field(&text, "master_sync_in_progress").as_deref() == Some("0"))
        .then_some(())
    });
}

/// Waits until both servers have the same data (DEBUG DIGEST) and the replica's offset is the
/// primary's.
fn wait_identical(primary: &Server, replica: &Server) {
    let end = std::time::Instant::now() + SYNC_DEADLINE;
    loop {
        let (a, b) = (primary.digest(), replica.digest());
        let primary_offset = int_field(primary, "replication", "master_repl_offset");
        let replica_offset = int_field(replica, "replication", "slave_repl_offset");
        if a == b && primary_offset == replica_offset {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "replica never caught up: digests {a:?} / {b:?}, offsets {primary_offset} / {replica_offset}; replica log:\n{}",
            replica.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes after the sync: MULTI/EXEC over keys on different shards, commands Redis sends
/// verbatim across keys (RENAME, SMOVE, SINTERSTORE, LMOVE), a script, expiry, DEL, other dbs.
fn write_more(primary: &Server) {
    let mut r = primary.raw();
    r.check_cmd(&["MULTI"], ok());
    for i in 0..10 {
        let (k, v) = (format!("tx:{i}"), format!("{i}"));
        r.check_cmd(&["SET", &k, &v], status("QUEUED"));
    }
    r.check_cmd(&["INCR", "int"], status("QUEUED"));
    r.check_cmd(&["DEL", "str:0:1", "str:0:2", "str:0:3"], status("QUEUED"));
    assert!(!r.cmd(&["EXEC"]).is_error());
    r.check_cmd(&["RENAME", "str:0:10", "renamed:10"], ok());
    r.check_cmd(&["RENAME", "list", "list-renamed"], ok());
    r.check_cmd(&["SMOVE", "bigset", "other-set", "member-7"], int(1));
    r.cmd(&["SINTERSTORE", "inter", "bigset", "intset"]);
    r.cmd(&["SUNIONSTORE", "union", "intset", "other-set"]);
    r.cmd(&["LMOVE", "biglist", "moved-list", "LEFT", "RIGHT"]);
    r.cmd(&["COPY", "hash", "hash-copy"]);
    r.cmd(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'one'); redis.call('set', KEYS[2], 'two'); return 1",
        "2",
        "script:a",
        "script:b",
    ]);
    r.check_cmd(&["EXPIRE", "str:0:20", "1000"], int(1));
    r.check_cmd(&["SET", "short", "lived", "PX", "100"], ok());
    r.check_cmd(&["DEL", "str:0:30"], int(1));
    r.cmd(&["SPOP", "bigset", "3"]);
    r.cmd(&["INCRBYFLOAT", "float", "1.5"]);
    r.cmd(&["XADD", "stream", "*", "f", "new"]);
    r.check_cmd(&["SELECT", "9"], ok());
    r.check_cmd(&["SET", "in-db-9", "nine"], ok());
    r.check_cmd(&["FLUSHDB"], ok());
    r.check_cmd(&["SET", "after-flush", "x"], ok());
    r.check_cmd(&["SELECT", "4"], ok());
    r.check_cmd(&["MULTI"], ok());
    r.check_cmd(&["SET", "four:a", "1"], status("QUEUED"));
    r.check_cmd(&["SET", "four:b", "2"], status("QUEUED"));
    assert!(!r.cmd(&["EXEC"]).is_error());
    // The key with 100 ms to live expires on the primary, which sends its DEL.
    wait_for("the short-lived key to expire", SYNC_DEADLINE, || {
        r.check_cmd(&["SELECT", "0"], ok());
        (r.cmd(&["GET", "short"]) == Reply::nil()).then_some(())
    });
}

fn replicate_from_redis(diskless: &str, threads: usize) {
    eprintln!("--- repl-diskless-sync {diskless}, replica --threads {threads}");
    let primary = Server::redis_with(&[
        "--repl-diskless-sync",
        diskless,
        "--repl-diskless-sync-delay",
        "0",
    ]);
    load_mixed(&primary);
    let replica = Server::start_replica_of(threads, &primary, &[]);
    wait_link_up(&replica);
    wait_identical(&primary, &replica);

    let info = info_text(&replica, "replication");
    assert_eq!(field(&info, "role").as_deref(), Some("slave"));
    assert_eq!(field(&info, "master_host").as_deref(), Some("127.0.0.1"));
    assert_eq!(field(&info, "master_port"), Some(primary.port.to_string()));
    let primary_info = info_text(&primary, "replication");
    assert_eq!(
        field(&info, "master_replid"),
        field(&primary_info, "master_replid")
    );

    write_more(&primary);
    wait_identical(&primary, &replica);
    let mut r = replica.raw();
    r.check_cmd(&["GET", "renamed:10"], bulk("value-10"));
    r.check_cmd(&["EXISTS", "str:0:10"], int(0));
    r.check_cmd(&["SELECT", "4"], ok());
    r.check_cmd(&["MGET", "four:a", "four:b"], Reply::bulks(&["1", "2"]));
    let role = r.cmd(&["ROLE"]);
    assert_eq!(role.as_array()[0], bulk("slave"), "{role:?}");
    assert_eq!(role.as_array()[3], bulk("connected"), "{role:?}");

    // WAIT on the Redis primary counts damselfly.
    let mut p = primary.raw();
    p.check_cmd(&["SET", "waited", "1"], ok());
    p.check_cmd(&["WAIT", "1", "5000"], int(1));

    // A cut link comes back with a partial resync.
    let full_before = int_field(&primary, "stats", "sync_full");
    let partial_before = int_field(&primary, "stats", "sync_partial_ok");
    assert!(!p.cmd(&["CLIENT", "KILL", "TYPE", "replica"]).is_error());
    p.check_cmd(&["SET", "while-cut", "1"], ok());
    wait_for("a partial resync", SYNC_DEADLINE, || {
        (int_field(&primary, "stats", "sync_partial_ok") > partial_before).then_some(())
    });
    wait_link_up(&replica);
    p.check_cmd(&["SET", "after-resync", "1"], ok());
    wait_identical(&primary, &replica);
    assert_eq!(int_field(&primary, "stats", "sync_full"), full_before);
    p.check_cmd(&["WAIT", "1", "5000"], int(1));
}

#[test]
fn replica_of_a_redis_primary() {
    if !have_binary("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    for (diskless, threads) in [("yes", 2), ("no", 2), ("yes", 1), ("no", 1)] {
        replicate_from_redis(diskless, threads);
    }
}

/// The primary fails over (a chained Redis replica promoted with REPLICAOF NO ONE): it answers
/// our PSYNC with `+CONTINUE <new replid>`, which the replica adopts without a full sync.
#[test]
fn continue_with_a_new_replid_after_the_primary_fails_over() {
    if !have_binary("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    let origin = Server::redis_with(&["--repl-diskless-sync-delay", "0"]);
    let origin_port = origin.port.to_string();
    let middle = Server::redis_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--replicaof",
        "127.0.0.1",
        &origin_port,
    ]);
    let mut o = origin.raw();
    o.check_cmd(&["SET", "before", "1"], ok());
    wait_link_up(&middle);
    let replica = Server::start_replica_of(2, &middle, &[]);
    wait_link_up(&replica);
    o.check_cmd(&["MSET", "a", "1", "b", "2", "c", "3"], ok());
    o.check_cmd(&["WAIT", "1", "5000"], int(1));
    wait_identical_data(&middle, &replica);
    let old_replid = field(&info_text(&replica, "replication"), "master_replid");
    let full_before = int_field(&middle, "stats", "sync_full");
    let partial_before = int_field(&middle, "stats", "sync_partial_ok");

    let mut m = middle.raw();
    m.check_cmd(&["REPLICAOF", "NO", "ONE"], ok());
    let new_replid = field(&info_text(&middle, "replication"), "master_replid");
    assert_ne!(old_replid, new_replid);
    wait_for(
        "a partial resync with the promoted primary",
        SYNC_DEADLINE,
        || (int_field(&middle, "stats", "sync_partial_ok") > partial_before).then_some(()),
    );
    wait_link_up(&replica);
    m.check_cmd(&["SET", "after-failover", "1"], ok());
    wait_identical(&middle, &replica);
    assert_eq!(int_field(&middle, "stats", "sync_full"), full_before);
    assert_eq!(
        field(&info_text(&replica, "replication"), "master_replid"),
        new_replid
    );
}

/// Same data on both (a chained replica's offsets are its own primary's).
fn wait_identical_data(a: &Server, b: &Server) {
    wait_for("identical DEBUG DIGEST", SYNC_DEADLINE, || {
        (a.digest() == b.digest()).then_some(())
    });
}

/// Starts the replica again (same `args`, so the same --dir and its RDB) and checks that it
/// resumes with a partial resync and ends with the primary's data.
fn restart_with_a_partial_resync(primary: &Server, args: &[&str]) -> Server {
    let full_before = int_field(primary, "stats", "sync_full");
    let partial_before = int_field(primary, "stats", "sync_partial_ok");
    let replica = Server::start(2, args);
    wait_for("a partial resync after the restart", SYNC_DEADLINE, || {
        (int_field(primary, "stats", "sync_partial_ok") > partial_before).then_some(())
    });
    wait_link_up(&replica);
    wait_identical(primary, &replica);
    assert_eq!(int_field(primary, "stats", "sync_full"), full_before);
    replica
}

/// SAVE on the replica keeps the primary's replid and offset in the RDB aux fields; a restarted
/// replica loads them and resumes with a partial resync, as a restarted Redis replica does.
#[test]
fn a_restarted_replica_resumes_with_a_partial_resync() {
    if !have_binary("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    let primary = Server::redis_with(&["--repl-diskless-sync-delay", "0"]);
    load_mixed(&primary);
    let dir = scratch_dir("redis-replica-restart");
    let dir_arg = dir.to_str().expect("UTF-8 path").to_string();
    let port = primary.port.to_string();
    let args = ["--replicaof", "127.0.0.1", &port, "--dir", &dir_arg];
    let mut p = primary.raw();
    {
        let replica = Server::start(2, &args);
        wait_link_up(&replica);
        p.check_cmd(&["SET", "before-save", "1"], ok());
        wait_identical(&primary, &replica);
        replica.raw().check_cmd(&["SAVE"], ok());
        // The replica goes away; the primary keeps writing meanwhile.
    }
    p.check_cmd(&["SET", "while-down", "1"], ok());
    p.check_cmd(&["INCR", "int"], int(12346));
    let replica = restart_with_a_partial_resync(&primary, &args);
    replica.raw().check_cmd(&["GET", "while-down"], bulk("1"));
}

/// Writes to the primary from a thread until told to stop: increments, appends and overwrites
/// spread over the replica's shards and two dbs, so that an offset saved ahead of or behind its
/// data shows in DEBUG DIGEST after a partial resync (a missed or twice-applied INCR or RPUSH).
fn background_writer(
    primary: &Server,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    let addr = primary.addr();
    std::thread::spawn(move || {
        let mut r = Raw::connect(&addr);
        let mut written = 0u64;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let i = written.to_string();
            let db = if written.is_multiple_of(7) { "3" } else { "0" };
            r.check_cmd(&["SELECT", db], ok());
            r.cmd(&["INCR", &format!("counter:{}", written % 16)]);
            r.cmd(&["RPUSH", &format!("log:{}", written % 8), &i]);
            r.check_cmd(&["SET", &format!("key:{}", written % 1000), &i], ok());
            if written.is_multiple_of(10) {
                r.check_cmd(&["MULTI"], ok());
                r.check_cmd(&["INCR", "tx:a"], status("QUEUED"));
                r.check_cmd(&["INCR", "tx:b"], status("QUEUED"));
                assert!(!r.cmd(&["EXEC"]).is_error());
            }
            written += 1;
        }
        written
    })
}

/// SAVE while the primary writes without a pause: the replica pauses applying the stream while
/// it copies the data, so the saved offset is exactly its data's. A replica restarted from that
/// file resumes with a partial resync and ends identical to the primary.
#[test]
fn save_under_writes_records_the_offset_of_its_data() {
    if !have_binary("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    let primary = Server::redis_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-size",
        "64mb",
    ]);
    load_mixed(&primary);
    let dir = scratch_dir("redis-replica-save-under-writes");
    let dir_arg = dir.to_str().expect("UTF-8 path").to_string();
    let port = primary.port.to_string();
    let args = ["--replicaof", "127.0.0.1", &port, "--dir", &dir_arg];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let replica = Server::start(2, &args);
        wait_link_up(&replica);
        let writer = background_writer(&primary, stop.clone());
        let mut r = replica.raw();
        // Several saves, each while the stream is busy: the last file is the one restarted from.
        for _ in 0..3 {
            wait_for("the stream to reach the replica", SYNC_DEADLINE, || {
                (r.cmd(&["GET", "counter:0"]) != Reply::nil()).then_some(())
            });
            r.check_cmd(&["SAVE"], ok());
        }
        // The replica goes away mid-stream; the primary keeps writing meanwhile.
        drop(replica);
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().expect("the writer thread");
        assert!(written > 0);
    }
    restart_with_a_partial_resync(&primary, &args);
}
