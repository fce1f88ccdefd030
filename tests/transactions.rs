//! MULTI / EXEC / DISCARD / WATCH / UNWATCH end to end.
//! Expected replies are those of Redis 7.0. Keys k1..k10 span every shard, so
//! transactions and watches here cross shards whenever the server has several.
mod common;

use common::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Ten keys; with any reasonable hash they span every shard.
fn keys(prefix: &str) -> Vec<String> {
    (1..=10).map(|i| format!("{prefix}{i}")).collect()
}

fn cmd_with(cmd: &str, keys: &[String]) -> Vec<String> {
    let mut v = vec![cmd.to_string()];
    v.extend(keys.iter().cloned());
    v
}

fn queued() -> Reply {
    status("QUEUED")
}

/// Sends every command in one write and reads one reply per command.
fn pipeline(r: &mut Raw, commands: &[Vec<String>]) -> Vec<Reply> {
    let mut bytes = Vec::new();
    for c in commands {
        bytes.extend(encode_cmd(c));
    }
    r.send(&bytes).expect("write pipeline");
    r.read_replies(commands.len())
}

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn multi_exec_basic_replies() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MULTI", ok());
        r.check("SET a 1", queued());
        r.check("INCR a", queued());
        r.check("SET s notanumber", queued());
        // A runtime error inside EXEC: reported in its slot, the others still run.
        r.check("INCR s", queued());
        r.check("APPEND s !", queued());
        r.check("GET a", queued());
        r.check("MGET a s nosuch", queued());
        r.check(
            "EXEC",
            arr(vec![
                ok(),
                int(2),
                ok(),
                err(NOT_INT),
                int(11),
                bulk("2"),
                arr(vec![bulk("2"), bulk("notanumber!"), nil()]),
            ]),
        );
        // Everything after the failing command was applied.
        r.check("GET s", bulk("notanumber!"));
        r.check("GET a", bulk("2"));
        // Nothing is applied before EXEC: another connection does not see queued writes.
        let mut other = s.raw();
        r.check("MULTI", ok());
        r.check("SET pending yes", queued());
        r.check("DEL a", queued());
        other.check("EXISTS pending", int(0));
        other.check("GET a", bulk("2"));
        r.check("EXEC", arr(vec![ok(), int(1)]));
        other.check("GET pending", bulk("yes"));
        other.check("EXISTS a", int(0));
        // An empty transaction.
        r.check("MULTI", ok());
        r.check("EXEC", arr(vec![]));
        // Cross-shard commands inside a transaction.
        r.check("MULTI", ok());
        r.check("MSET k1 a k2 b k3 c k4 d k5 e", queued());
        r.check("RENAME k1 k6", queued());
        r.check("DEL k2 k3", queued());
        r.check("MGET k1 k2 k3 k4 k5 k6", queued());
        r.check(
            "EXEC",
            arr(vec![
                ok(),
                ok(),
                int(2),
                arr(vec![nil(), nil(), nil(), bulk("d"), bulk("e"), bulk("a")]),
            ]),
        );
        // The connection is back to normal after EXEC.
        r.check("EXEC", err("ERR EXEC without MULTI"));
        r.check("GET k6", bulk("a"));
    });
}

#[test]
fn execabort_after_queueing_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        // Unknown command while queueing.
        r.check("SET x old", ok());
        r.check("MULTI", ok());
        r.check("SET x new", queued());
        let unknown = r.run("NOSUCHCOMMAND x");
        match &unknown {
            Reply::Error(e) => assert!(e.starts_with("ERR unknown command"), "{e}"),
            other => panic!("unknown command while queueing replied {other:?}"),
        }
        r.check("SET y 1", queued());
        r.check("EXEC", err(EXECABORT));
        r.check("GET x", bulk("old"));
        r.check("EXISTS y", int(0));
        // Wrong arity while queueing.
        r.check("MULTI", ok());
        r.check("SET x new", queued());
        r.check("GET", arity_err("get"));
        r.check("SET", arity_err("set"));
        r.check("EXEC", err(EXECABORT));
        r.check("GET x", bulk("old"));
        // The connection left MULTI: EXEC again is an error, commands run at once.
        r.check("EXEC", err("ERR EXEC without MULTI"));
        r.check("SET x newer", ok());
        r.check("GET x", bulk("newer"));
        // A syntax error found only when the command runs does not abort the
        // transaction (the command is queued fine).
        r.check("MULTI", ok());
        r.check("SET x v BADOPTION", queued());
        r.check("SET z 1", queued());
        r.check("EXEC", arr(vec![err(SYNTAX), ok()]));
        r.check("GET x", bulk("newer"));
        r.check("GET z", bulk("1"));
    });
}

#[test]
fn multi_errors_and_discard() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("EXEC", err("ERR EXEC without MULTI"));
        r.check("DISCARD", err("ERR DISCARD without MULTI"));
        // Nested MULTI is an error but the transaction goes on.
        r.check("MULTI", ok());
        r.check("SET a 1", queued());
        r.check("MULTI", err("ERR MULTI calls can not be nested"));
        r.check("SET b 2", queued());
        r.check("EXEC", arr(vec![ok(), ok()]));
        r.check("MGET a b", Reply::bulks(&["1", "2"]));
        // DISCARD drops the queue.
        r.check("MULTI", ok());
        r.check("SET a discarded", queued());
        r.check("DEL b", queued());
        r.check("DISCARD", ok());
        r.check("MGET a b", Reply::bulks(&["1", "2"]));
        r.check("EXEC", err("ERR EXEC without MULTI"));
        r.check("DISCARD", err("ERR DISCARD without MULTI"));
        // DISCARD also clears a failed queue: the next transaction runs.
        r.check("MULTI", ok());
        r.check("GET", arity_err("get"));
        r.check("DISCARD", ok());
        r.check("MULTI", ok());
        r.check("INCR a", queued());
        r.check("EXEC", arr(vec![int(2)]));
        // WATCH inside MULTI is refused.
        r.check("MULTI", ok());
        r.check("SET c 3", queued());
        r.check("WATCH a", err("ERR WATCH inside MULTI is not allowed"));
        r.check("EXEC", arr(vec![ok()]));
        r.check("GET c", bulk("3"));
    });
}

#[test]
fn select_inside_multi() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET k db0", ok());
        r.check("MULTI", ok());
        r.check("SET k first", queued());
        r.check("SELECT 1", queued());
        r.check("SET k db1", queued());
        r.check("GET k", queued());
        r.check("SELECT 0", queued());
        r.check("GET k", queued());
        r.check("SELECT 2", queued());
        r.check(
            "EXEC",
            arr(vec![
                ok(),
                ok(),
                ok(),
                bulk("db1"),
                ok(),
                bulk("first"),
                ok(),
            ]),
        );
        // The SELECT inside the transaction sticks.
        r.check("GET k", nil());
        r.check("SET k db2", ok());
        r.check("SELECT 1", ok());
        r.check("GET k", bulk("db1"));
        r.check("SELECT 0", ok());
        r.check("GET k", bulk("first"));
        // A bad SELECT fails at EXEC time only; the db stays.
        r.check("MULTI", ok());
        r.check("SELECT 100000", queued());
        r.check("GET k", queued());
        let reply = r.run("EXEC");
        let items = reply.as_array();
        assert_eq!(items.len(), 2, "{reply:?}");
        assert!(items[0].is_error(), "{reply:?}");
        assert_eq!(items[1], bulk("first"));
    });
}

#[test]
fn flushall_inside_multi() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let ks = keys("k");
        let mut mset = vec!["MSET".to_string()];
        for k in &ks {
            mset.push(k.clone());
            mset.push("v".into());
        }
        r.check_cmd(&mset, ok());
        r.check("SELECT 1", ok());
        r.check("SET other-db v", ok());
        r.check("SELECT 0", ok());
        r.check("MULTI", ok());
        r.check("SET before flush", queued());
        r.check("FLUSHALL", queued());
        r.check("GET before", queued());
        r.check("EXISTS k1 k2 k3 k4 k5 k6 k7 k8 k9 k10", queued());
        r.check("SET after flush", queued());
        r.check("DBSIZE", queued());
        r.check("EXEC", arr(vec![ok(), ok(), nil(), int(0), ok(), int(1)]));
        r.check("DBSIZE", int(1));
        r.check("GET after", bulk("flush"));
        r.check("SELECT 1", ok());
        r.check("DBSIZE", int(0));
        r.check("SELECT 0", ok());
        // FLUSHDB inside MULTI empties only the selected db.
        r.check("SELECT 1", ok());
        r.check("SET keep me", ok());
        r.check("SELECT 0", ok());
        r.check("MULTI", ok());
        r.check("FLUSHDB", queued());
        r.check("SET k5 new", queued());
        r.check("EXEC", arr(vec![ok(), ok()]));
        r.check("DBSIZE", int(1));
        r.check("SELECT 1", ok());
        r.check("GET keep", bulk("me"));
    });
}

/// Writers INCR k1..k10 in one transaction; readers must never see the
/// counters differ (MGET, or GETs inside their own MULTI).
#[test]
fn multi_over_shards_is_atomic() {
    const WRITE_TIME: Duration = Duration::from_millis(1500);
    const WRITER_ITERS: usize = 2000;
    with_servers(&[], |s| {
        let ks = keys("k");
        let done = Arc::new(AtomicBool::new(false));
        let checks = Arc::new(AtomicU64::new(0));
        let writes = Arc::new(AtomicU64::new(0));
        let mut writer_tx = vec![args("MULTI")];
        writer_tx.extend(ks.iter().map(|k| vec!["INCR".to_string(), k.clone()]));
        writer_tx.push(args("EXEC"));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let mut c = s.raw();
                let tx = writer_tx.clone();
                let writes = writes.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    for _ in 0..WRITER_ITERS {
                        if start.elapsed() > WRITE_TIME {
                            break;
                        }
                        let replies = pipeline(&mut c, &tx);
                        assert_eq!(replies[0], ok());
                        assert!(replies[1..11].iter().all(|r| *r == queued()));
                        let results = replies[11].as_array();
                        assert_eq!(results.len(), 10, "{:?}", replies[11]);
                        let first = results[0].as_int();
                        assert!(
                            results.iter().all(|r| r.as_int() == first),
                            "one EXEC's INCRs returned different values: {:?}",
                            replies[11]
                        );
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let mut reader_tx = vec![args("MULTI")];
        reader_tx.extend(ks.iter().map(|k| vec!["GET".to_string(), k.clone()]));
        reader_tx.push(args("EXEC"));
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let mut c = s.raw();
                let mget = cmd_with("MGET", &ks);
                let tx = reader_tx.clone();
                let done = done.clone();
                let checks = checks.clone();
                std::thread::spawn(move || {
                    let end = Instant::now() + WRITE_TIME * 10;
                    while !done.load(Ordering::Relaxed) && Instant::now() < end {
                        let reply = if i == 0 {
                            c.cmd(&mget)
                        } else {
                            pipeline(&mut c, &tx).pop().unwrap()
                        };
                        let vals = reply.as_array();
                        assert_eq!(vals.len(), 10);
                        assert!(
                            vals.iter().all(|v| v == &vals[0]),
                            "a reader saw a partial transaction: {reply:?}"
                        );
                        checks.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let mut panicked = false;
        for h in writers {
            panicked |= h.join().is_err();
        }
        done.store(true, Ordering::Relaxed);
        for h in readers {
            panicked |= h.join().is_err();
        }
        assert!(!panicked, "a writer or reader failed (see above)");
        let writes = writes.load(Ordering::Relaxed);
        let checks = checks.load(Ordering::Relaxed);
        assert!(writes > 0 && checks > 0, "writes {writes}, checks {checks}");
        eprintln!("{writes} transactions, {checks} consistent reads");
        // Every transaction applied every INCR exactly once.
        let mut r = s.raw();
        let expected = bulk(writes.to_string());
        assert_eq!(r.cmd(&cmd_with("MGET", &ks)), arr(vec![expected; 10]));
    });
}

#[test]
fn watch_invalidated_by_other_connections_write() {
    with_servers(&[], |s| {
        let ks = keys("k");
        let mut r = s.raw();
        let mut other = s.raw();
        let mut watch = cmd_with("WATCH", &ks);
        watch.push("missing".into());
        // A write to any one watched key, on whatever shard, fails the EXEC.
        for k in &ks {
            r.check_cmd(&watch, ok());
            other.check_cmd(&["SET", k, "changed"], ok());
            r.check("MULTI", ok());
            r.check("SET result tx", queued());
            r.check("EXEC", Reply::NilArray);
            other.check("EXISTS result", int(0));
        }
        // Creating a watched key that did not exist counts as a change too;
        // so do DEL, INCR, APPEND, cross-shard MSET and RENAME.
        let writes: Vec<Vec<String>> = vec![
            args("SET missing now"),
            args("DEL k1"),
            args("INCR k2"),
            args("APPEND k3 x"),
            args("MSET k4 a k9 b"),
            args("RENAME k5 k10"),
            args("RENAME k6 elsewhere"),
            args("MSET unrelated 1 k7 2"),
            args("FLUSHALL"),
        ];
        for write in &writes {
            other.check(
                "MSET k1 v k2 1 k3 v k4 v k5 v k6 v k7 v k8 v k9 v k10 v",
                ok(),
            );
            r.check_cmd(&watch, ok());
            assert!(!other.cmd(write).is_error(), "{write:?}");
            r.check("MULTI", ok());
            r.check("SET result tx", queued());
            r.check("EXEC", Reply::NilArray);
            r.check("EXISTS result", int(0));
        }
        // The failed EXEC ended the watch: the next transaction runs.
        r.check("MULTI", ok());
        r.check("SET result tx", queued());
        r.check("EXEC", arr(vec![ok()]));
        // A MULTI/EXEC from another connection invalidates as well.
        r.check("WATCH k8", ok());
        other.check("MULTI", ok());
        other.check("SET k8 by-tx", queued());
        other.check("EXEC", arr(vec![ok()]));
        r.check("MULTI", ok());
        r.check("GET k8", queued());
        r.check("EXEC", Reply::NilArray);
        // A write in another db does not touch the watched key.
        r.check("WATCH k8", ok());
        other.check("SELECT 3", ok());
        other.check("SET k8 other-db", ok());
        r.check("MULTI", ok());
        r.check("GET k8", queued());
        r.check("EXEC", arr(vec![bulk("by-tx")]));
    });
}

#[test]
fn watch_own_write_unwatch_and_unchanged() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        // The watching connection's own write invalidates as well.
        r.check("SET own 1", ok());
        r.check("WATCH own", ok());
        r.check("INCR own", int(2));
        r.check("MULTI", ok());
        r.check("SET own 100", queued());
        r.check("EXEC", Reply::NilArray);
        r.check("GET own", bulk("2"));
        // UNWATCH forgets the watched keys.
        r.check("WATCH own k1 k2 k3", ok());
        other.check("SET own 3", ok());
        other.check("SET k2 x", ok());
        r.check("UNWATCH", ok());
        r.check("MULTI", ok());
        r.check("INCR own", queued());
        r.check("EXEC", arr(vec![int(4)]));
        // DISCARD ends the watch too.
        r.check("WATCH own", ok());
        other.check("SET own 10", ok());
        r.check("MULTI", ok());
        r.check("DISCARD", ok());
        r.check("MULTI", ok());
        r.check("INCR own", queued());
        r.check("EXEC", arr(vec![int(11)]));
        // Unchanged watched keys (existing or not, on any shard): EXEC runs;
        // reads of them by others do not count as changes.
        let ks = keys("k");
        let mut watch = cmd_with("WATCH", &ks);
        watch.push("never".into());
        r.check_cmd(&watch, ok());
        other.check("GET k1", nil());
        other.check("MGET k2 never", Reply::Array(vec![bulk("x"), nil()]));
        other.check("EXISTS k3 never", int(0));
        other.check("SET unrelated 1", ok());
        r.check("MULTI", ok());
        r.check("SET k1 mine", queued());
        r.check("GET k2", queued());
        r.check("EXEC", arr(vec![ok(), bulk("x")]));
        other.check("GET k1", bulk("mine"));
        // WATCH twice the same key, then UNWATCH with nothing watched: fine.
        r.check("WATCH own own", ok());
        r.check("WATCH own", ok());
        r.check("UNWATCH", ok());
        r.check("UNWATCH", ok());
        // Writes that leave a key unchanged in value still count (SET same value).
        r.check("WATCH own", ok());
        other.check("SET own 11", ok());
        r.check("MULTI", ok());
        r.check("GET own", queued());
        r.check("EXEC", Reply::NilArray);
    });
}

#[test]
fn watched_key_expiring_invalidates() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        // The key must still be alive when WATCH runs (Redis ignores keys
        // already expired when watched): confirm with PTTL afterwards and
        // retry with a longer TTL on a very slow machine.
        let mut ttl = 50;
        loop {
            r.check_cmd(&["SET", "volatile", "v", "PX", &ttl.to_string()], ok());
            r.check("WATCH volatile", ok());
            if r.run("PTTL volatile").as_int() > 0 {
                break;
            }
            r.check("UNWATCH", ok());
            ttl *= 2;
            assert!(ttl < 10_000, "could not WATCH a live volatile key");
        }
        wait_for("the watched key to expire", Duration::from_secs(10), || {
            (other.run("EXISTS volatile") == int(0)).then_some(())
        });
        r.check("MULTI", ok());
        r.check("SET volatile again", queued());
        r.check("EXEC", Reply::NilArray);
        r.check("EXISTS volatile", int(0));
        // A key with a TTL far away that stays: EXEC runs.
        r.check("SET lasting v EX 1000", ok());
        r.check("WATCH lasting", ok());
        r.check("MULTI", ok());
        r.check("GET lasting", queued());
        r.check("EXEC", arr(vec![bulk("v")]));
        // Adding a TTL (EXPIRE) to a watched key is a write.
        r.check("WATCH lasting", ok());
        other.check("EXPIRE lasting 2000", int(1));
        r.check("MULTI", ok());
        r.check("GET lasting", queued());
        r.check("EXEC", Reply::NilArray);
    });
}

/// Optimistic locking: every thread increments a counter with
/// WATCH/GET/MULTI/SET/EXEC, retrying on a null EXEC. The final counter equals
/// the number of EXECs that succeeded: no update is lost.
#[test]
fn watch_race_optimistic_locking() {
    const THREADS: usize = 4;
    const PER_THREAD: u64 = 150;
    const TIME: Duration = Duration::from_secs(20);
    with_servers(&[], |s| {
        let mut setup = s.raw();
        setup.check("SET counter 0", ok());
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let mut c = s.raw();
                std::thread::spawn(move || {
                    let (mut wins, mut losses) = (0u64, 0u64);
                    let end = Instant::now() + TIME;
                    while wins < PER_THREAD && Instant::now() < end {
                        assert_eq!(c.run("WATCH counter"), ok());
                        let val: u64 = c.run("GET counter").as_string().parse().unwrap();
                        let next = (val + 1).to_string();
                        let replies = pipeline(
                            &mut c,
                            &[
                                args("MULTI"),
                                vec!["SET".into(), "counter".into(), next],
                                args("EXEC"),
                            ],
                        );
                        assert_eq!(replies[..2], [ok(), queued()]);
                        match &replies[2] {
                            Reply::NilArray => losses += 1,
                            Reply::Array(items) if items[..] == [ok()] => wins += 1,
                            other => panic!("EXEC replied {other:?}"),
                        }
                    }
                    (wins, losses)
                })
            })
            .collect();
        let (mut wins, mut losses) = (0, 0);
        for h in handles {
            let (w, l) = h.join().expect("a racing thread failed");
            wins += w;
            losses += l;
        }
        eprintln!("{wins} successful EXECs, {losses} retries");
        assert!(wins > 0);
        setup.check("GET counter", bulk(wins.to_string()));
    });
}

#[test]
fn resp3_exec_watch_failure_is_null() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        match r.run("HELLO 3") {
            Reply::Map(_) => {}
            other => panic!("HELLO 3 replied {other:?}"),
        }
        r.check("WATCH k1 k7", ok());
        other.check("SET k7 x", ok());
        r.check("MULTI", ok());
        r.check("GET k1", queued());
        r.check("EXEC", Reply::Null);
        // A successful EXEC is a plain array in RESP3 too.
        r.check("MULTI", ok());
        r.check("GET k7", queued());
        r.check("EXEC", arr(vec![bulk("x")]));
        // The RESP2 encoding of the same failure.
        other.check("WATCH k1", ok());
        r.check("SET k1 y", ok());
        other.check("MULTI", ok());
        other.check("GET k1", queued());
        other.check("EXEC", Reply::NilArray);
    });
}

#[test]
fn watch_is_per_db_and_ignores_noop_writes() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        // FLUSHALL touches only watched keys that existed.
        r.check("WATCH nokey", ok());
        other.check("FLUSHALL", ok());
        r.check("MULTI", ok());
        r.check("EXEC", arr(vec![]));
        // DEL of a missing watched key changes nothing.
        r.check("WATCH nokey", ok());
        other.check("DEL nokey", int(0));
        r.check("MULTI", ok());
        r.check("EXEC", arr(vec![]));
        // A watch is on the key of the db selected when WATCH ran.
        r.check("SELECT 1", ok());
        r.check("WATCH k", ok());
        other.check("SET k db0", ok());
        r.check("MULTI", ok());
        r.check("EXEC", arr(vec![]));
        r.check("WATCH k", ok());
        r.check("SELECT 0", ok());
        other.check("SELECT 1", ok());
        other.check("SET k db1", ok());
        r.check("MULTI", ok());
        r.check("GET k", queued());
        r.check("EXEC", Reply::NilArray);
        // Reads that change the key (GETEX with a TTL, GETDEL) are writes.
        other.check("SELECT 0", ok());
        r.check("SET cnt 5", ok());
        r.check("WATCH cnt", ok());
        other.check("GET cnt", bulk("5"));
        other.check("GETEX cnt PX 100000", bulk("5"));
        r.check("MULTI", ok());
        r.check("EXEC", Reply::NilArray);
        r.check("WATCH cnt", ok());
        other.check("GETDEL cnt", bulk("5"));
        r.check("MULTI", ok());
        r.check("EXEC", Reply::NilArray);
    });
}

/// Redis 7.0 rejects a malformed EXEC inside MULTI by discarding the whole
/// transaction (`execCommandAbort`), leaving the MULTI state. Damselfly
/// replies the plain arity error and stays in MULTI with the queue flagged
/// (crates/server/src/pipeline.rs, the `plan` error branch of `execute`).
#[test]
fn exec_with_wrong_arity_discards_the_transaction() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MULTI", ok());
        r.check("SET q 1", queued());
        r.check(
            "EXEC x",
            err("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"),
        );
        // Out of MULTI: commands run at once, nothing was applied.
        r.check("GET q", nil());
        r.check("EXEC", err("ERR EXEC without MULTI"));
    });
}

/// A key already expired (but not yet reclaimed) when WATCHed: Redis 7.0 does
/// not count its later reclaim (lazy, by another client's read) as a change
/// (multi.c: touchWatchedKey skips a `wk->expired` key that is now deleted).
/// Damselfly's WATCH records no expiry for such a key, then the lazy delete
/// (keyspace.rs lookup -> remove_expired -> remove -> before_mutate ->
/// interest.note) marks the watcher dirty, so EXEC returns a null array.
#[test]
fn watch_of_already_expired_key_ignores_its_reclaim() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        // A key already expired (but maybe not yet deleted) when watched:
        // its lazy deletion by another client's read is no change. `probe`
        // expires no earlier than `gone`, so once it is gone, so is `gone`.
        r.check("SET gone v PX 1", ok());
        r.check("SET probe v PX 1", ok());
        wait_for("the probe key to expire", Duration::from_secs(10), || {
            (other.run("EXISTS probe") == int(0)).then_some(())
        });
        r.check("WATCH gone", ok());
        other.check("GET gone", nil());
        r.check("MULTI", ok());
        r.check("EXEC", arr(vec![]));
        // ...but creating it again is.
        r.check("WATCH gone", ok());
        other.check("SET gone new", ok());
        r.check("MULTI", ok());
        r.check("EXEC", Reply::NilArray);
    });
}
