//! Runs the stock redis-benchmark against the server (`--threads 2`).
//! Skipped with a message when redis-benchmark is not installed.
mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

/// redis-benchmark 7.0's default suite, as it names its result lines.
const TESTS: &[&str] = &[
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LPUSH (needed to benchmark LRANGE)",
    "LRANGE_100 (first 100 elements)",
    "LRANGE_300 (first 300 elements)",
    "LRANGE_500 (first 500 elements)",
    "LRANGE_600 (first 600 elements)",
    "MSET (10 keys)",
];

#[test]
fn redis_benchmark_runs_all_tests() {
    if !have_binary("redis-benchmark") {
        eprintln!("skipping redis_benchmark_runs_all_tests: redis-benchmark is not installed");
        return;
    }
    let s = Server::start(2, &[]);
    let port = s.port.to_string();
    // redis-benchmark spins forever if the server goes away, hence the
    // deadline (the run takes well under a minute on this machine).
    let (exit, out) = run_to_exit(
        Command::new("redis-benchmark").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-r",
            "100000",
            "-n",
            "100000",
            "-q",
        ]),
        Duration::from_secs(600),
    );
    // Progress lines are separated by carriage returns.
    let text = out.replace('\r', "\n");
    assert!(
        exit.success(),
        "redis-benchmark exited with {exit}:\n{text}"
    );
    let results: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("requests per second"))
        .collect();
    for t in TESTS {
        assert!(
            results.iter().any(|l| l.starts_with(&format!("{t}: "))),
            "no result line for {t}:\n{}",
            results.join("\n")
        );
    }
    assert_eq!(results.len(), TESTS.len(), "{}", results.join("\n"));
    // The benchmark wrote real data and the server is still healthy.
    let mut r = s.raw();
    r.check("PING", status("PONG"));
    let keys = r.run("DBSIZE").as_int();
    assert!(keys > 1000, "DBSIZE after the benchmark: {keys}");
    let counter = r.run("GET counter:__rand_int__");
    assert_eq!(counter, nil(), "benchmark keys are randomized with -r");
    let mut c = 0;
    let sample: Vec<String> = (0..1000).map(|_| r.run("RANDOMKEY").as_string()).collect();
    for k in &sample {
        if k.starts_with("counter:") {
            // INCR keys hold integers.
            let v = r.cmd(&["GET", k]).as_string();
            assert!(v.parse::<i64>().is_ok(), "{k} = {v}");
            c += 1;
        } else {
            let known = ["key:", "mylist", "myset:", "myhash", "myzset"];
            assert!(
                known.iter().any(|prefix| k.starts_with(prefix)),
                "unexpected key {k}"
            );
        }
    }
    assert!(
        c > 0,
        "no counter:* keys among {} random keys",
        sample.len()
    );
}

#[test]
fn redis_benchmark_xadd_runs() {
    if !have_binary("redis-benchmark") {
        eprintln!("skipping redis_benchmark_xadd_runs: redis-benchmark is not installed");
        return;
    }
    let s = Server::start(2, &[]);
    let port = s.port.to_string();
    let (exit, out) = run_to_exit(
        Command::new("redis-benchmark").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-n",
            "100000",
            "-q",
            "XADD",
            "mystream",
            "*",
            "myfield",
            "value",
        ]),
        Duration::from_secs(300),
    );
    let text = out.replace('\r', "\n");
    assert!(
        exit.success(),
        "redis-benchmark exited with {exit}:\n{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("requests per second")),
        "no result line:\n{text}"
    );
    let mut r = s.raw();
    r.check("XLEN mystream", int(100000));
    r.check("TYPE mystream", status("stream"));
}
