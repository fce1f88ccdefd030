//! Process-level behaviour of the damselfly binary: config file, flags,
//! --version, bind failures, signals. The config-file and --version tests are
//! damselfly-only and skip under DAMSELFLY_TEST_AGAINST_REDIS=1.
mod common;

use common::*;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

fn skip_against_redis(test: &str) -> bool {
    if against_redis() {
        eprintln!("skipping {test}: damselfly-only (DAMSELFLY_TEST_AGAINST_REDIS=1)");
        return true;
    }
    false
}

/// Writes a config file; it lives as long as the returned directory.
fn write_config(text: &str) -> (ScratchDir, std::path::PathBuf) {
    let dir = scratch_dir("config");
    let path = dir.join("damselfly.conf");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    if skip_against_redis("config_file_is_read_and_flags_override_it") {
        return;
    }
    for_each_thread_count(|threads| {
        // The file's port is overridden by the harness's --port flag.
        let file_port = free_port();
        let (_dir, path) = write_config(&format!(
            "# damselfly test config\n\
             \n\
             port {file_port}\n\
             \x20 # an indented comment\n\
             requirepass filepass\n"
        ));
        let s = Server::start_damselfly_with_config(threads, &path, &[]);
        assert_ne!(s.port, file_port);
        let mut r = s.raw();
        // requirepass came from the file.
        r.check("PING", err("NOAUTH Authentication required."));
        r.check(
            "AUTH wrong",
            err("WRONGPASS invalid username-password pair or user is disabled."),
        );
        r.check("AUTH filepass", ok());
        r.check(
            "CONFIG GET port",
            Reply::bulks(&["port", &s.port.to_string()]),
        );
        r.check(
            "CONFIG GET requirepass",
            Reply::bulks(&["requirepass", "filepass"]),
        );
        drop(r);
        drop(s);

        // A flag overrides the file's value.
        let s = Server::start_damselfly_with_config(threads, &path, &["--requirepass", "flagpass"]);
        let mut r = s.raw();
        r.check(
            "AUTH filepass",
            err("WRONGPASS invalid username-password pair or user is disabled."),
        );
        r.check("AUTH flagpass", ok());
        r.check("PING", status("PONG"));
    });
}

#[test]
fn missing_config_file_fails() {
    if skip_against_redis("missing_config_file_fails") {
        return;
    }
    let path = scratch_dir("noconf").join("does-not-exist.conf");
    let port = free_port().to_string();
    let (status, out) = run_to_exit(
        Command::new(env!("CARGO_BIN_EXE_damselfly"))
            .arg(&path)
            .args(["--port", &port, "--bind", "127.0.0.1", "--threads", "1"]),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "started without its config file: {out}");
    assert!(
        out.contains("does-not-exist.conf"),
        "message should name the file: {out}"
    );
}

#[test]
fn version_flag() {
    if skip_against_redis("version_flag") {
        return;
    }
    let (status, out) = run_to_exit(
        Command::new(env!("CARGO_BIN_EXE_damselfly")).arg("--version"),
        Duration::from_secs(20),
    );
    assert!(status.success(), "--version exited with {status}: {out}");
    assert!(
        out.contains(env!("CARGO_PKG_VERSION")),
        "--version output lacks {}: {out}",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn port_in_use_fails_with_a_clear_message() {
    // Hold the port for the whole test.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = scratch_dir("inuse");
    let mut cmd = if against_redis() {
        let mut c = Command::new("redis-server");
        c.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&dir);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_damselfly"));
        c.args(["--port", &port, "--bind", "127.0.0.1", "--threads", "2"]);
        c
    };
    let (status, out) = run_to_exit(&mut cmd, Duration::from_secs(20));
    assert!(!status.success(), "started on a port in use: {out}");
    assert!(
        out.contains(&port),
        "message should name the port {port}: {out}"
    );
    assert!(
        out.to_lowercase().contains("address already in use"),
        "message should say the address is in use: {out}"
    );
    drop(listener);
}

#[test]
fn sigterm_exits_cleanly() {
    for_each_thread_count(|threads| {
        let mut s = Server::start(threads, &[]);
        let mut r = s.raw();
        r.check("SET a 1", ok());
        let _idle = s.raw(); // an idle client must not block shutdown
        send_signal(s.pid().unwrap(), "TERM");
        let status = s.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "exit status after SIGTERM: {status}");
        // The server closed its connections.
        r.send(b"PING\r\n").ok();
        assert_eq!(r.read_reply_or_close(), ReadEnd::Closed);
    });
}

#[test]
fn sigint_exits_cleanly() {
    for_each_thread_count(|threads| {
        let mut s = Server::start(threads, &[]);
        send_signal(s.pid().unwrap(), "INT");
        let status = s.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "exit status after SIGINT: {status}");
    });
}

/// `--threads` defaults to the CPUs of the affinity mask, and shards are pinned inside it: under
/// `taskset -c 1` there is one shard and it runs on CPU 1.
#[test]
fn threads_follow_the_affinity_mask() {
    if skip_against_redis("threads_follow_the_affinity_mask") || !have_binary("taskset") {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("taskset")
        .args([
            "-c",
            "1",
            env!("CARGO_BIN_EXE_damselfly"),
            "--bind",
            "127.0.0.1",
            "--port",
        ])
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start damselfly under taskset");
    let deadline = std::time::Instant::now() + STARTUP_DEADLINE;
    let info = loop {
        let reply = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|client| client.get_connection())
            .and_then(|mut conn| redis::cmd("INFO").arg("server").query::<String>(&mut conn));
        match reply {
            Ok(info) => break info,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(err) => panic!("damselfly under taskset never answered: {err}"),
        }
    };
    assert!(info.contains("threads:1\r\n"), "{info}");
    let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id())).unwrap();
    let shard_cpus: Vec<String> = tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            let cpus = status
                .lines()
                .find(|l| l.starts_with("Cpus_allowed_list:"))?
                .to_string();
            name.starts_with("shard").then_some(cpus)
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!shard_cpus.is_empty());
    for cpus in shard_cpus {
        assert_eq!(cpus.split_whitespace().last(), Some("1"), "{cpus}");
    }
}
