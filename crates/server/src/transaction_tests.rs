//! Transactions across real shards connected by the mesh (`crate::test_shards`), with no sockets:
//! conflicting transactions run in the same order on every shard (VLL's order stamps and retries),
//! shared locks admit other readers while exclusive ones make writers wait, and a transaction
//! abandoned midway releases its locks.

use crate::commands::run_across;
use crate::locks::LockRequest;
use crate::shard::Work;
use crate::test_shards::{bulk, run, words, TestShards};
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::Frame;
use glommio::spawn_local;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// One lock per (shard, key), all exclusive or all shared.
fn locks(keys: &[(usize, &str)], exclusive: bool) -> BTreeMap<usize, Vec<LockRequest>> {
    let mut locks: BTreeMap<usize, Vec<LockRequest>> = BTreeMap::new();
    for &(shard, key) in keys {
        locks.entry(shard).or_default().push(LockRequest {
            db: 0,
            key: Bytes::copy_from_slice(key.as_bytes()),
            exclusive,
        });
    }
    locks
}

/// A hop job running one command line on its shard, in db 0.
fn job(line: String) -> Work<Frame> {
    Box::new(move |shard| shard.run_internal(0, &words(&line)))
}

fn get(s: &TestShards, shard: usize, key: &str) -> Frame {
    s.command(shard, 0, &format!("get {key}"))
}

/// Two coordinators on different executors start conflicting transactions at the same moment, so
/// each shard hears of its own executor's transaction first; VLL's order stamps refuse the one that
/// would run out of order on a shard, it retries with a newer id, and on both shards the two run
/// in the same order. Twenty rounds, alternating which coordinator starts first.
#[test]
fn conflicting_transactions_run_in_the_same_order_on_every_shard() {
    run(2, |s| async move {
        let (a, b) = (s.key("a", 0), s.key("b", 1));
        let keys = [(0, a.as_str()), (1, b.as_str())];
        let first_txid = s.shared().next_txid();
        for round in 0..20 {
            let transaction = |coordinator: usize, tag: &'static str| {
                let (s, a, b) = (&s, a.clone(), b.clone());
                async move {
                    let mut tx =
                        Transaction::begin(s.ctx(coordinator), locks(&keys, true), true).await;
                    let hops = vec![
                        (0, job(format!("append {a} {tag}"))),
                        (1, job(format!("append {b} {tag}"))),
                    ];
                    tx.hop(hops, true).await;
                }
            };
            let (one, other) = (round % 2, 1 - round % 2);
            futures::join!(transaction(one, "x"), transaction(other, "y"));
        }
        let (on_a, on_b) = (get(&s, 0, &a), get(&s, 1, &b));
        let Frame::Bulk(order) = &on_a else {
            panic!("{on_a:?}")
        };
        assert_eq!(order.len(), 40, "every transaction ran once on each shard");
        assert_eq!(on_a, on_b, "the same order on both shards");
        assert!(
            s.shared().next_txid() > first_txid + 41,
            "some transaction was refused and retried with a new id"
        );
        s.assert_unlocked(0, &[&a, &b]).await;
    });
}

#[test]
fn shared_locks_admit_readers_and_make_writers_wait() {
    run(2, |s| async move {
        let s = Rc::new(s);
        let (a, b) = (s.key("a", 0), s.key("b", 1));
        s.command(0, 0, &format!("set {a} 1"));
        s.command(1, 0, &format!("set {b} 2"));
        let keys = [(0, a.as_str()), (1, b.as_str())];
        let reader = Transaction::begin(s.ctx(0), locks(&keys, false), false).await;

        // Another reader, across shards and on one shard, runs at once.
        let mget = format!("mget {a} {b}");
        let both = Frame::Array(vec![bulk("1"), bulk("2")]);
        assert_eq!(run_across(&s, 1, 0, &mget).await, both);
        assert_eq!(s.batch(1, 0, 0, &[&format!("get {a}")]).await, [bulk("1")]);

        // A writer waits on both shards until the reader finishes.
        let done = Rc::new(Cell::new(false));
        let writer = {
            let (s, done, line) = (s.clone(), done.clone(), format!("mset {a} 10 {b} 20"));
            spawn_local(async move {
                let reply = run_across(&s, 1, 0, &line).await;
                done.set(true);
                reply
            })
        };
        s.until(|s| s.waiting_hops(0) == 1 && s.waiting_hops(1) == 1)
            .await;
        assert!(!done.get());
        assert_eq!(get(&s, 0, &a), bulk("1"));
        assert_eq!(get(&s, 1, &b), bulk("2"));
        reader.finish().await;
        assert_eq!(writer.await, Frame::OK);
        assert_eq!(get(&s, 0, &a), bulk("10"));
        assert_eq!(get(&s, 1, &b), bulk("20"));
        s.assert_unlocked(0, &[&a, &b]).await;
    });
}

#[test]
fn an_exclusive_lock_makes_a_cross_shard_reader_wait() {
    run(2, |s| async move {
        let s = Rc::new(s);
        let (a, b) = (s.key("a", 0), s.key("b", 1));
        let keys = [(0, a.as_str()), (1, b.as_str())];
        let mut writer = Transaction::begin(s.ctx(1), locks(&keys, true), true).await;
        let reader = {
            let (s, line) = (s.clone(), format!("mget {a} {b}"));
            spawn_local(async move { run_across(&s, 0, 0, &line).await })
        };
        s.until(|s| s.waiting_hops(0) == 1 && s.waiting_hops(1) == 1)
            .await;
        // The reader sees both writes or neither: here both, as it runs after the writer.
        let hops = vec![
            (0, job(format!("set {a} new"))),
            (1, job(format!("set {b} new"))),
        ];
        writer.hop(hops, true).await;
        assert_eq!(reader.await, Frame::Array(vec![bulk("new"), bulk("new")]));
        s.assert_unlocked(0, &[&a, &b]).await;
    });
}

#[test]
fn a_transaction_dropped_midway_releases_its_locks() {
    run(2, |s| async move {
        let s = Rc::new(s);
        let (a, b) = (s.key("a", 0), s.key("b", 1));
        s.command(1, 0, &format!("set {b} before"));
        let keys = [(0, a.as_str()), (1, b.as_str())];
        let mut tx = Transaction::begin(s.ctx(0), locks(&keys, true), true).await;
        tx.hop(vec![(0, job(format!("set {a} half")))], false).await;
        assert!(s.locked(0, 0, &a) && s.locked(1, 0, &b));

        // A connection's command on b meets the lock and waits in shard 1's queue.
        let waiting = {
            let (s, get_b) = (s.clone(), format!("get {b}"));
            spawn_local(async move { s.batch(0, 1, 0, &[&get_b]).await })
        };
        s.until(|s| s.waiting_hops(1) == 1).await;

        // Its connection task cancelled: the transaction is dropped without concluding.
        drop(tx);
        assert_eq!(waiting.await, [bulk("before")]);
        let line = format!("mset {a} 1 {b} 2");
        assert_eq!(run_across(&s, 1, 0, &line).await, Frame::OK);
        assert_eq!(get(&s, 1, &b), bulk("2"));
        s.assert_unlocked(0, &[&a, &b]).await;
    });
}
