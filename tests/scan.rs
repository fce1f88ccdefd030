//! SCAN: full iteration, MATCH, COUNT, TYPE, and the guarantee that every
//! key present for the whole iteration is returned even while other keys are
//! added and removed concurrently.
mod common;

use common::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Runs a full SCAN iteration with the given extra options. Returns the
/// keys seen (deduplicated) and the number of calls it took.
fn full_scan(r: &mut Raw, opts: &[&str]) -> (HashSet<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let reply = r.cmd(&args);
        calls += 1;
        let parts = reply.as_array();
        assert_eq!(parts.len(), 2, "SCAN reply {reply:?}");
        let next = parts[0].as_string();
        next.parse::<u64>()
            .unwrap_or_else(|_| panic!("cursor {next:?} is not a number"));
        seen.extend(parts[1].as_strings());
        cursor = next;
        if cursor == "0" {
            return (seen, calls);
        }
        assert!(calls < 1_000_000, "SCAN never returned cursor 0");
    }
}

fn load(r: &mut Raw, keys: impl IntoIterator<Item = String>) {
    let mut args = vec!["MSET".to_string()];
    for k in keys {
        args.push(k);
        args.push("v".into());
    }
    r.check_cmd(&args, ok());
}

#[test]
fn scan_empty_db() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let (seen, _) = full_scan(&mut r, &[]);
        assert!(seen.is_empty());
        r.check("SCAN 0", Reply::arr(vec![bulk("0"), arr(vec![])]));
    });
}

#[test]
fn scan_returns_every_key_and_honours_count() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let keys: HashSet<String> = (0..1000).map(|i| format!("key:{i}")).collect();
        load(&mut r, keys.iter().cloned());
        let (seen, calls) = full_scan(&mut r, &[]);
        assert_eq!(seen, keys);
        let (seen, calls10) = full_scan(&mut r, &["COUNT", "10"]);
        assert_eq!(seen, keys);
        // COUNT 10 over 1000 keys cannot be done in a couple of calls.
        assert!(calls10 >= 20, "COUNT 10 took only {calls10} calls");
        assert!(
            calls10 >= calls,
            "COUNT 10: {calls10} calls, default: {calls}"
        );
        let (seen, _) = full_scan(&mut r, &["COUNT", "100000"]);
        assert_eq!(seen, keys);
        // Only the selected database is scanned.
        r.check("SELECT 1", ok());
        load(&mut r, ["db1:a".to_string(), "db1:b".to_string()]);
        let (seen, _) = full_scan(&mut r, &["COUNT", "5"]);
        assert_eq!(
            seen,
            HashSet::from(["db1:a".to_string(), "db1:b".to_string()])
        );
    });
}

#[test]
fn scan_match_and_type() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let users: HashSet<String> = (0..300).map(|i| format!("user:{i}")).collect();
        let others: HashSet<String> = (0..300).map(|i| format!("other:{i}")).collect();
        load(&mut r, users.iter().chain(others.iter()).cloned());
        let (seen, _) = full_scan(&mut r, &["MATCH", "user:*"]);
        assert_eq!(seen, users);
        let (seen, _) = full_scan(&mut r, &["MATCH", "user:*", "COUNT", "7"]);
        assert_eq!(seen, users);
        let (seen, _) = full_scan(&mut r, &["COUNT", "7", "MATCH", "other:1?"]);
        let expect: HashSet<String> = (10..20).map(|i| format!("other:{i}")).collect();
        assert_eq!(seen, expect);
        let (seen, _) = full_scan(&mut r, &["MATCH", "nomatch*"]);
        assert!(seen.is_empty());
        // TYPE filters by value type; every key here is a string.
        let (seen, _) = full_scan(&mut r, &["TYPE", "string"]);
        assert_eq!(seen.len(), 600);
        let (seen, _) = full_scan(&mut r, &["TYPE", "STRING", "MATCH", "user:*"]);
        assert_eq!(seen, users);
        let (seen, _) = full_scan(&mut r, &["TYPE", "hash"]);
        assert!(seen.is_empty());
        let (seen, _) = full_scan(&mut r, &["TYPE", "list", "COUNT", "50"]);
        assert!(seen.is_empty());
        // The last MATCH wins.
        let (seen, _) = full_scan(&mut r, &["MATCH", "user:*", "MATCH", "other:*"]);
        assert_eq!(seen, others);
    });
}

#[test]
fn scan_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET a 1", ok());
        r.check("SCAN abc", err("ERR invalid cursor"));
        r.check("SCAN 18446744073709551616", err("ERR invalid cursor"));
        r.check("SCAN 0 COUNT 0", err(SYNTAX));
        r.check("SCAN 0 COUNT -1", err(SYNTAX));
        r.check("SCAN 0 COUNT abc", err(NOT_INT));
        r.check("SCAN 0 MATCH", err(SYNTAX));
        r.check("SCAN 0 TYPE", err(SYNTAX));
        r.check("SCAN 0 COUNT", err(SYNTAX));
        r.check("SCAN 0 foo bar", err(SYNTAX));
        r.check("SCAN", arity_err("scan"));
    });
}

#[test]
fn scan_complete_under_concurrent_changes() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let stable: HashSet<String> = (0..2000).map(|i| format!("stable:{i}")).collect();
        load(&mut r, stable.iter().cloned());

        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let churn = {
            let stop = stop.clone();
            let ops = ops.clone();
            let mut c = s.raw();
            std::thread::spawn(move || {
                // Grow to 20k extra keys then shrink back, repeatedly, so the
                // table is resized under the scanner. Bounded in count.
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) && round < 20 {
                    for phase in ["MSET", "DEL"] {
                        for batch in 0..40 {
                            let mut args = vec![phase.to_string()];
                            for i in 0..500 {
                                let k = format!("churn:{round}:{}", batch * 500 + i);
                                args.push(k);
                                if phase == "MSET" {
                                    args.push("x".into());
                                }
                            }
                            let reply = c.cmd(&args);
                            assert!(!reply.is_error(), "{phase}: {reply:?}");
                            ops.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    round += 1;
                }
            })
        };

        // Full iterations while the churn runs (at least three, and keep
        // going until the churn has made progress).
        let mut iterations = 0;
        while iterations < 3 || (ops.load(Ordering::Relaxed) < 200 && iterations < 50) {
            let (seen, _) = full_scan(&mut r, &["COUNT", "20"]);
            let missing: Vec<&String> = stable.difference(&seen).collect();
            assert!(
                missing.is_empty(),
                "iteration {iterations}: {} stable keys never returned, e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            );
            // Keys that never existed are never returned.
            assert!(seen
                .iter()
                .all(|k| k.starts_with("stable:") || k.starts_with("churn:")));
            iterations += 1;
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().expect("churn thread");
        eprintln!(
            "{iterations} full scans during {} churn batches",
            ops.load(Ordering::Relaxed)
        );
        assert!(ops.load(Ordering::Relaxed) > 0);
    });
}
