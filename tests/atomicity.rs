//! Multi-key commands are atomic even when their keys live on different
//! shards: concurrent readers never observe a half-applied MSET, DEL or
//! RENAME. Every loop is bounded in count and time.
mod common;

use common::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Ten keys; with any reasonable hash they span every shard.
fn keys(prefix: &str) -> Vec<String> {
    (1..=10).map(|i| format!("{prefix}{i}")).collect()
}

const WRITER_ITERS: usize = 3000;
const WRITE_TIME: Duration = Duration::from_millis(1500);

fn cmd_with(cmd: &str, keys: &[String]) -> Vec<String> {
    let mut v = vec![cmd.to_string()];
    v.extend(keys.iter().cloned());
    v
}

/// Runs `writers` and `readers` concurrently until every writer finishes.
/// Readers loop until then; each returns how many checks it made.
fn race(writers: Vec<Box<dyn FnOnce() + Send>>, readers: Vec<Box<dyn FnMut() + Send>>) -> u64 {
    let done = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let reader_handles: Vec<_> = readers
        .into_iter()
        .map(|mut f| {
            let done = done.clone();
            let checks = checks.clone();
            std::thread::spawn(move || {
                // Bounded: writers finish within WRITE_TIME plus slack.
                let end = Instant::now() + WRITE_TIME * 10;
                while !done.load(Ordering::Relaxed) && Instant::now() < end {
                    f();
                    checks.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let writer_handles: Vec<_> = writers.into_iter().map(std::thread::spawn).collect();
    let mut panicked = false;
    for h in writer_handles {
        panicked |= h.join().is_err();
    }
    done.store(true, Ordering::Relaxed);
    for h in reader_handles {
        panicked |= h.join().is_err();
    }
    assert!(!panicked, "a writer or reader failed (see above)");
    checks.load(Ordering::Relaxed)
}

#[test]
fn mset_is_atomic_for_mget() {
    with_servers(&[], |s| {
        let ks = keys("atom:");
        let mut setup = s.raw();
        let mut args = vec!["MSET".to_string()];
        for k in &ks {
            args.push(k.clone());
            args.push("init".into());
        }
        setup.check_cmd(&args, ok());
        let writers: Vec<Box<dyn FnOnce() + Send>> = (0..2)
            .map(|w| {
                let mut c = s.raw();
                let ks = ks.clone();
                Box::new(move || {
                    let start = Instant::now();
                    for i in 0..WRITER_ITERS {
                        if start.elapsed() > WRITE_TIME {
                            break;
                        }
                        let v = format!("w{w}-{i}");
                        let mut args = vec!["MSET".to_string()];
                        for k in &ks {
                            args.push(k.clone());
                            args.push(v.clone());
                        }
                        assert_eq!(c.cmd(&args), ok());
                    }
                }) as Box<dyn FnOnce() + Send>
            })
            .collect();
        let readers: Vec<Box<dyn FnMut() + Send>> = (0..2)
            .map(|_| {
                let mut c = s.raw();
                let get = cmd_with("MGET", &ks);
                Box::new(move || {
                    let reply = c.cmd(&get);
                    let vals = reply.as_array();
                    assert_eq!(vals.len(), 10);
                    assert!(
                        vals.iter().all(|v| v == &vals[0]),
                        "MGET saw a partial MSET: {reply:?}"
                    );
                }) as Box<dyn FnMut() + Send>
            })
            .collect();
        let checks = race(writers, readers);
        assert!(checks > 0);
        eprintln!("{checks} consistent MGETs");
    });
}

#[test]
fn del_and_msetnx_are_atomic_for_exists_and_mget() {
    with_servers(&[], |s| {
        let ks = keys("atomdel:");
        let writer: Box<dyn FnOnce() + Send> = {
            let mut c = s.raw();
            let ks = ks.clone();
            Box::new(move || {
                let start = Instant::now();
                let del = cmd_with("DEL", &ks);
                for i in 0..WRITER_ITERS {
                    if start.elapsed() > WRITE_TIME {
                        break;
                    }
                    let (create, expect) = if i % 2 == 0 {
                        ("MSET", ok())
                    } else {
                        ("MSETNX", int(1))
                    };
                    let mut args = vec![create.to_string()];
                    for k in &ks {
                        args.push(k.clone());
                        args.push(format!("v{i}"));
                    }
                    assert_eq!(c.cmd(&args), expect);
                    assert_eq!(c.cmd(&del), int(10));
                }
            })
        };
        let exists_reader: Box<dyn FnMut() + Send> = {
            let mut c = s.raw();
            let ex = cmd_with("EXISTS", &ks);
            Box::new(move || {
                let n = c.cmd(&ex).as_int();
                assert!(n == 0 || n == 10, "EXISTS saw a partial DEL/MSET: {n}");
            })
        };
        let mget_reader: Box<dyn FnMut() + Send> = {
            let mut c = s.raw();
            let get = cmd_with("MGET", &ks);
            Box::new(move || {
                let reply = c.cmd(&get);
                let vals = reply.as_array();
                assert!(
                    vals.iter().all(|v| v == &vals[0]),
                    "MGET saw a partial DEL/MSET: {reply:?}"
                );
            })
        };
        let checks = race(vec![writer], vec![exists_reader, mget_reader]);
        assert!(checks > 0);
        eprintln!("{checks} consistent EXISTS/MGETs");
    });
}

#[test]
fn rename_moves_atomically() {
    with_servers(&[], |s| {
        let ks = keys("ring:");
        let mut setup = s.raw();
        setup.check_cmd(&["SET", &ks[0], "token"], ok());
        let writer: Box<dyn FnOnce() + Send> = {
            let mut c = s.raw();
            let ks = ks.clone();
            Box::new(move || {
                let start = Instant::now();
                for i in 0..WRITER_ITERS {
                    if start.elapsed() > WRITE_TIME {
                        break;
                    }
                    let from = &ks[i % 10];
                    let to = &ks[(i + 1) % 10];
                    if i % 3 == 0 {
                        assert_eq!(c.cmd(&["RENAMENX", from, to]), int(1));
                    } else {
                        assert_eq!(c.cmd(&["RENAME", from, to]), ok());
                    }
                }
            })
        };
        let readers: Vec<Box<dyn FnMut() + Send>> = vec![
            {
                let mut c = s.raw();
                let ex = cmd_with("EXISTS", &ks);
                Box::new(move || {
                    let n = c.cmd(&ex).as_int();
                    assert_eq!(n, 1, "EXISTS saw the token in {n} places");
                })
            },
            {
                let mut c = s.raw();
                let get = cmd_with("MGET", &ks);
                Box::new(move || {
                    let reply = c.cmd(&get);
                    let present: Vec<&Reply> = reply
                        .as_array()
                        .iter()
                        .filter(|v| **v != Reply::NilBulk)
                        .collect();
                    assert_eq!(present, vec![&bulk("token")], "MGET: {reply:?}");
                })
            },
        ];
        let checks = race(vec![writer], readers);
        assert!(checks > 0);
        let mut c = s.raw();
        c.check_cmd(&cmd_with("EXISTS", &ks), int(1));
        c.check("DBSIZE", int(1));
    });
}

#[test]
fn concurrent_incr_loses_no_updates() {
    with_servers(&[], |s| {
        let per_thread = 2000;
        let writers: Vec<Box<dyn FnOnce() + Send>> = (0..4)
            .map(|t| {
                let mut c = s.raw();
                Box::new(move || {
                    // Pipelined in batches to keep it quick.
                    for _ in 0..per_thread / 100 {
                        let mut buf = Vec::new();
                        for _ in 0..100 {
                            buf.extend(encode_cmd(&["INCR", "counter"]));
                            buf.extend(encode_cmd(&["INCRBY", &format!("own:{t}"), "2"]));
                        }
                        c.send(&buf).unwrap();
                        for r in c.read_replies(200) {
                            assert!(matches!(r, Reply::Int(_)), "{r:?}");
                        }
                    }
                }) as Box<dyn FnOnce() + Send>
            })
            .collect();
        race(writers, vec![]);
        let mut c = s.raw();
        c.check("GET counter", bulk((4 * per_thread).to_string()));
        for t in 0..4 {
            c.check_cmd(
                &["GET", &format!("own:{t}")],
                bulk((2 * per_thread).to_string()),
            );
        }
    });
}
