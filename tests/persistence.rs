//! RDB snapshots: SAVE, SHUTDOWN SAVE and loading at start, including files written by redis-server.
mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

fn load_sample(r: &mut Raw) {
    r.check("DEBUG POPULATE 2000 key 20", ok());
    r.check("SET counter 12345", ok());
    r.check_cmd(&["SET", "long", &"x".repeat(5000)], ok());
    r.check("SET soon gone PX 100000", ok());
    r.check("SELECT 3", ok());
    r.check("SET other-db yes", ok());
    r.check("SELECT 0", ok());
}

/// SAVE writes every shard's keys; a restart with a different shard count loads them back.
#[test]
fn save_then_restart_restores_the_dataset() {
    if against_redis() {
        return; // exercises damselfly's own start-up load
    }
    for (before, after) in [(1, 2), (2, 1)] {
        let dir = scratch_dir("save");
        let dir_arg = dir.to_str().unwrap();
        let mut first = Server::start(before, &["--dir", dir_arg]);
        let mut r = first.raw();
        load_sample(&mut r);
        let digest = r.run("DEBUG DIGEST");
        let before_save = r.run("LASTSAVE").as_int();
        r.check("SAVE", ok());
        assert!(r.run("LASTSAVE").as_int() >= before_save);
        assert!(dir.join("dump.rdb").exists());
        r.send(&encode_cmd(&["SHUTDOWN", "NOSAVE"])).unwrap();
        assert!(first.wait_exit(Duration::from_secs(20)).success());

        let second = Server::start(after, &["--dir", dir_arg]);
        let mut r = second.raw();
        assert_eq!(r.run("DEBUG DIGEST"), digest, "{before} -> {after} shards");
        assert_eq!(r.run("DBSIZE"), int(2003));
        let ttl = r.run("PTTL soon").as_int();
        assert!(ttl > 0 && ttl <= 100_000, "{ttl}");
        r.check("SELECT 3", ok());
        r.check("GET other-db", bulk("yes"));
    }
}

/// SHUTDOWN SAVE saves before exiting.
#[test]
fn shutdown_save_writes_the_snapshot() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("shutdown-save");
    let dir_arg = dir.to_str().unwrap();
    let mut server = Server::start(2, &["--dir", dir_arg]);
    let mut r = server.raw();
    r.check("SET kept 1", ok());
    r.send(&encode_cmd(&["SHUTDOWN", "SAVE"])).unwrap();
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let again = Server::start(1, &["--dir", dir_arg]);
    again.raw().check("GET kept", bulk("1"));
}

/// A dump.rdb written by redis-server 7.0 loads with the same DEBUG DIGEST.
#[test]
fn loads_a_snapshot_written_by_redis() {
    if against_redis() || !have_binary("redis-server") {
        return;
    }
    let dir = scratch_dir("from-redis");
    let dir_arg = dir.to_str().unwrap();
    // Redis 7 refuses CONFIG SET dir, so start it with --dir.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir_arg,
        ])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "yes",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + STARTUP_DEADLINE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut r = Raw::connect(&format!("127.0.0.1:{port}"));
    load_sample(&mut r);
    r.check("SAVE", ok());
    let digest = r.run("DEBUG DIGEST");
    let _ = redis.kill();
    let _ = redis.wait();
    with_servers(&["--dir", dir_arg], |s| {
        assert_eq!(s.raw().run("DEBUG DIGEST"), digest);
    });
}

/// A corrupt snapshot stops the start with a clear message instead of serving partial data.
#[test]
fn a_corrupt_snapshot_stops_the_start() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("corrupt");
    std::fs::write(dir.join("dump.rdb"), b"REDIS0010\xfa\x03bad").unwrap();
    let (status, output) = run_to_exit(
        Command::new(env!("CARGO_BIN_EXE_damselfly"))
            .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
            .arg(&dir),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "{output}");
    assert!(output.contains("dump.rdb"), "{output}");
}

/// A SAVE that cannot write answers a bare -ERR as Redis does, leaves no temporary file, keeps LASTSAVE, and
/// SHUTDOWN SAVE then refuses to exit (FORCE exits anyway).
#[test]
fn a_failed_save_is_reported_and_the_server_keeps_running() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("failed-save");
    let dir_arg = dir.to_str().unwrap();
    let mut server = Server::start(2, &["--dir", dir_arg]);
    let mut r = server.raw();
    r.check("SET k v", ok());
    let lastsave = r.run("LASTSAVE");
    std::fs::remove_dir_all(&dir).unwrap();
    r.check("SAVE", err("ERR"));
    assert_eq!(r.run("LASTSAVE"), lastsave);
    r.check("SHUTDOWN SAVE NOSAVE", err("ERR syntax error"));
    r.check(
        "SHUTDOWN SAVE",
        err("ERR Errors trying to SHUTDOWN. Check logs."),
    );
    r.check("GET k", bulk("v"));
    std::fs::create_dir_all(&dir).unwrap();
    r.check("SAVE", ok());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("dump.rdb")]);
    std::fs::remove_dir_all(&dir).unwrap();
    r.send(&encode_cmd(&["SHUTDOWN", "SAVE", "FORCE"])).unwrap();
    assert!(server.wait_exit(Duration::from_secs(20)).success());
}

/// --dir must exist and --dbfilename must be a plain file name, as redis-server checks at start.
#[test]
fn bad_snapshot_settings_stop_the_start() {
    if against_redis() {
        return;
    }
    for args in [
        vec!["--dir", "/nonexistent/damselfly-dir"],
        vec!["--dbfilename", "sub/dump.rdb"],
    ] {
        let (status, output) = run_to_exit(
            Command::new(env!("CARGO_BIN_EXE_damselfly"))
                .args(["--port", "0"])
                .args(&args),
            Duration::from_secs(20),
        );
        assert!(!status.success(), "{args:?}: {output}");
        assert!(
            output.contains("chdir") || output.contains("dbfilename"),
            "{output}"
        );
    }
}

/// BGSAVE answers at once; INFO's rdb_bgsave_in_progress drops to 0 with status ok once the file is written, and
/// a restart loads it.
#[test]
fn bgsave_writes_the_snapshot_in_the_background() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("bgsave");
    let dir_arg = dir.to_str().unwrap();
    let mut server = Server::start(2, &["--dir", dir_arg]);
    let mut r = server.raw();
    r.check("DEBUG POPULATE 5000", ok());
    r.check("BGSAVE", status("Background saving started"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server
        .info_field("persistence", "rdb_bgsave_in_progress")
        .as_deref()
        != Some("0")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "BGSAVE never finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        server
            .info_field("persistence", "rdb_last_bgsave_status")
            .as_deref(),
        Some("ok")
    );
    r.check("BGSAVE now", err("ERR syntax error"));
    r.send(&encode_cmd(&["SHUTDOWN", "NOSAVE"])).unwrap();
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let again = Server::start(1, &["--dir", dir_arg]);
    again.raw().check("DBSIZE", int(5000));
}
