//! Commands with a hand-written plan across shards (`multikey.rs`) on real shards connected by the
//! mesh (`crate::test_shards`), with no sockets: per-key spread with its merge (MSET, MGET, DEL,
//! EXISTS), MSETNX's all-or-nothing, RENAME / RENAMENX / COPY between shards, cross-shard BITOP.
//! Each test checks the reply, each key on its owner shard, and that every lock is released.

use super::run_across;
use crate::test_shards::{bulk, effect_line, run, TestShards};
use damselfly_protocol::errors;
use damselfly_protocol::Frame;

/// Two keys per shard of three, named after their shard: a0 b0 a1 b1 a2 b2.
fn six_keys(s: &TestShards) -> [String; 6] {
    [
        s.key("a", 0),
        s.key("b", 0),
        s.key("a", 1),
        s.key("b", 1),
        s.key("a", 2),
        s.key("b", 2),
    ]
}

fn get(s: &TestShards, shard: usize, db: usize, key: &str) -> Frame {
    s.command(shard, db, &format!("get {key}"))
}

#[test]
fn mset_and_mget_split_by_shard_and_merge_by_position() {
    run(3, |s| async move {
        let [a0, b0, a1, b1, a2, b2] = six_keys(&s);
        let line = format!("mset {a1} 1 {a0} 2 {a2} 3 {b0} 4 {a1} 5");
        assert_eq!(run_across(&s, 2, 0, &line).await, Frame::OK);
        assert_eq!(
            get(&s, 1, 0, &a1),
            bulk("5"),
            "the last value of a repeated key wins"
        );
        assert_eq!(get(&s, 0, 0, &a0), bulk("2"));
        assert_eq!(get(&s, 0, 0, &b0), bulk("4"));
        assert_eq!(get(&s, 2, 0, &a2), bulk("3"));
        assert_eq!(
            [
                s.stored_count(0, 0),
                s.stored_count(1, 0),
                s.stored_count(2, 0)
            ],
            [2, 1, 1]
        );

        s.command(2, 0, &format!("sadd {b2} member"));
        let line = format!("mget {a2} {b1} {a0} {b2} {a1} {a2}");
        let expected = vec![
            bulk("3"),
            Frame::Null,
            bulk("2"),
            Frame::Null,
            bulk("5"),
            bulk("3"),
        ];
        assert_eq!(run_across(&s, 0, 0, &line).await, Frame::Array(expected));
        s.assert_unlocked(0, &[&a0, &b0, &a1, &b1, &a2, &b2]).await;
    });
}

#[test]
fn del_and_exists_sum_the_shards_counts() {
    run(3, |s| async move {
        let [a0, b0, a1, b1, a2, b2] = six_keys(&s);
        s.command(0, 0, &format!("set {a0} x"));
        s.command(1, 0, &format!("rpush {a1} x"));
        s.command(1, 0, &format!("set {b1} x"));
        s.command(2, 0, &format!("sadd {a2} x"));
        let exists = format!("exists {a0} {b0} {a1} {b1} {a2} {b2} {a1}");
        assert_eq!(run_across(&s, 0, 0, &exists).await, Frame::Integer(5));
        let del = format!("del {a0} {b0} {a1} {a2} {b2}");
        assert_eq!(run_across(&s, 0, 0, &del).await, Frame::Integer(3));
        assert_eq!(run_across(&s, 0, 0, &exists).await, Frame::Integer(1));
        assert!(s.stored(1, 0, &b1), "a key not named survives");
        assert_eq!(
            [
                s.stored_count(0, 0),
                s.stored_count(1, 0),
                s.stored_count(2, 0)
            ],
            [0, 1, 0]
        );
        s.assert_unlocked(0, &[&a0, &b0, &a1, &b1, &a2, &b2]).await;
    });
}

#[test]
fn msetnx_writes_nothing_anywhere_when_a_key_exists_on_another_shard() {
    run(3, |s| async move {
        let [a0, b0, a1, _, a2, b2] = six_keys(&s);
        s.command(2, 0, &format!("set {b2} taken"));
        let line = format!("msetnx {a0} 1 {a1} 2 {b2} 3 {a2} 4");
        assert_eq!(run_across(&s, 0, 0, &line).await, Frame::Integer(0));
        assert!(!s.stored(0, 0, &a0) && !s.stored(1, 0, &a1) && !s.stored(2, 0, &a2));
        assert_eq!(get(&s, 2, 0, &b2), bulk("taken"));
        s.assert_unlocked(0, &[&a0, &a1, &a2, &b2]).await;

        let line = format!("msetnx {a0} 1 {a1} 2 {a2} 3 {b0} 4");
        assert_eq!(run_across(&s, 1, 0, &line).await, Frame::Integer(1));
        assert_eq!(get(&s, 0, 0, &a0), bulk("1"));
        assert_eq!(get(&s, 1, 0, &a1), bulk("2"));
        assert_eq!(get(&s, 2, 0, &a2), bulk("3"));
        assert_eq!(get(&s, 0, 0, &b0), bulk("4"));
        s.assert_unlocked(0, &[&a0, &b0, &a1, &a2, &b2]).await;
    });
}

#[test]
fn rename_moves_the_value_and_its_ttl_between_shards() {
    run(2, |s| async move {
        let (src, dst) = (s.key("src", 0), s.key("dst", 1));
        s.command(0, 0, &format!("rpush {src} x y"));
        s.command(0, 0, &format!("pexpire {src} 100000"));
        s.command(1, 0, &format!("set {dst} old"));
        assert_eq!(
            run_across(&s, 1, 0, &format!("rename {src} {dst}")).await,
            Frame::OK
        );
        assert!(!s.stored(0, 0, &src));
        assert_eq!(
            s.command(1, 0, &format!("lrange {dst} 0 -1")),
            Frame::Array(vec![bulk("x"), bulk("y")]),
            "the destination was overwritten, type and all"
        );
        let Frame::Integer(ttl) = s.command(1, 0, &format!("pttl {dst}")) else {
            panic!("PTTL answers an integer");
        };
        assert!(ttl > 0 && ttl <= 100_000, "the TTL moved: {ttl}");

        // A missing source is an error, and nothing changes.
        let reply = run_across(&s, 0, 0, &format!("rename {src} {dst}")).await;
        assert_eq!(reply, Frame::error(errors::NO_SUCH_KEY));
        assert_eq!(s.command(1, 0, &format!("llen {dst}")), Frame::Integer(2));
        s.assert_unlocked(0, &[&src, &dst]).await;
    });
}

#[test]
fn renamenx_refuses_an_existing_destination_on_another_shard() {
    run(2, |s| async move {
        let (src, dst, free) = (s.key("src", 0), s.key("dst", 1), s.key("free", 1));
        s.command(0, 0, &format!("set {src} value"));
        s.command(1, 0, &format!("set {dst} taken"));
        let reply = run_across(&s, 0, 0, &format!("renamenx {src} {dst}")).await;
        assert_eq!(reply, Frame::Integer(0));
        assert_eq!(get(&s, 0, 0, &src), bulk("value"));
        assert_eq!(get(&s, 1, 0, &dst), bulk("taken"));
        let reply = run_across(&s, 0, 0, &format!("renamenx {src} {free}")).await;
        assert_eq!(reply, Frame::Integer(1));
        assert!(!s.stored(0, 0, &src));
        assert_eq!(get(&s, 1, 0, &free), bulk("value"));
        let reply = run_across(&s, 0, 0, &format!("renamenx {src} {free}")).await;
        assert_eq!(reply, Frame::error(errors::NO_SUCH_KEY));
        s.assert_unlocked(0, &[&src, &dst, &free]).await;
    });
}

#[test]
fn copy_between_shards_with_replace_and_into_another_db() {
    run(2, |s| async move {
        let (src, dst) = (s.key("src", 0), s.key("dst", 1));
        s.command(0, 0, &format!("sadd {src} x"));
        let copy = |options: &str| format!("copy {src} {dst}{options}");
        assert_eq!(run_across(&s, 1, 0, &copy("")).await, Frame::Integer(1));
        assert!(s.stored(0, 0, &src), "COPY keeps its source");
        assert_eq!(s.command(1, 0, &format!("scard {dst}")), Frame::Integer(1));
        assert!(!s.stored(1, 0, &src) && !s.stored(0, 0, &dst));

        // An existing destination: refused, unless REPLACE.
        s.command(0, 0, &format!("sadd {src} y"));
        assert_eq!(run_across(&s, 1, 0, &copy("")).await, Frame::Integer(0));
        assert_eq!(s.command(1, 0, &format!("scard {dst}")), Frame::Integer(1));
        assert_eq!(
            run_across(&s, 1, 0, &copy(" replace")).await,
            Frame::Integer(1)
        );
        assert_eq!(s.command(1, 0, &format!("scard {dst}")), Frame::Integer(2));

        // DB n: written in that db on the destination's owner; db 0 keeps its copy.
        assert_eq!(
            run_across(&s, 1, 0, &copy(" db 3")).await,
            Frame::Integer(1)
        );
        assert_eq!(s.command(1, 3, &format!("scard {dst}")), Frame::Integer(2));
        assert!(!s.stored(0, 3, &dst) && !s.stored(0, 3, &src));
        assert_eq!(
            run_across(&s, 1, 0, &copy(" db 3")).await,
            Frame::Integer(0)
        );
        s.assert_unlocked(3, &[&dst]).await;

        let reply = run_across(&s, 1, 0, &copy(" db 99")).await;
        assert_eq!(reply, Frame::error(errors::DB_OUT_OF_RANGE));
        let reply = run_across(&s, 1, 0, &copy(" db")).await;
        assert_eq!(reply, Frame::error(errors::SYNTAX));

        // A missing source copies nothing.
        s.command(0, 0, &format!("del {src}"));
        assert_eq!(
            run_across(&s, 1, 0, &copy(" replace")).await,
            Frame::Integer(0)
        );
        assert_eq!(s.command(1, 0, &format!("scard {dst}")), Frame::Integer(2));
        s.assert_unlocked(0, &[&src, &dst]).await;
    });
}

#[test]
fn a_move_is_journaled_as_one_transaction_of_two_parts() {
    run(2, |s| async move {
        s.activate_journals();
        let (src, dst) = (s.key("src", 0), s.key("dst", 1));
        s.command(0, 0, &format!("set {src} value"));
        let source_offset = s.journal(0).len();
        assert_eq!(
            run_across(&s, 0, 0, &format!("rename {src} {dst}")).await,
            Frame::OK
        );
        let (source, target) = (s.journal(0), s.journal(1));
        let (source, target) = (&source[source_offset..], &target[..]);
        assert_eq!(
            (source.len(), target.len()),
            (1, 1),
            "{source:?} {target:?}"
        );
        assert_eq!(source[0].0, target[0].0, "the same transaction");
        assert_eq!((source[0].1, target[0].1), (2, 2));
        let lines = |effects: &[crate::journal::wire::Effect]| -> Vec<String> {
            effects.iter().map(effect_line).collect()
        };
        assert_eq!(lines(&source[0].2), [format!("DEL {src}")]);
        let written = lines(&target[0].2);
        assert!(!written.is_empty(), "the destination's state is journaled");
        assert!(
            written
                .iter()
                .all(|line| line.contains(&dst) && !line.contains(&src)),
            "{written:?}"
        );
    });
}

#[test]
fn bitop_reads_every_source_and_writes_on_the_destinations_owner() {
    run(3, |s| async move {
        let (dest, a, b, c) = (
            s.key("dest", 2),
            s.key("a", 0),
            s.key("b", 1),
            s.key("c", 2),
        );
        s.command(0, 0, &format!("set {a} \x0f\x0f"));
        s.command(1, 0, &format!("set {b} \x33"));
        let bitop = |op: &str, sources: &str| format!("bitop {op} {dest} {sources}");
        let line = bitop("or", &format!("{a} {b} {c}"));
        assert_eq!(run_across(&s, 0, 0, &line).await, Frame::Integer(2));
        assert_eq!(get(&s, 2, 0, &dest), bulk("\x3f\x0f"));
        assert!(!s.stored(0, 0, &dest) && !s.stored(1, 0, &dest));
        let line = bitop("and", &format!("{a} {b}"));
        assert_eq!(run_across(&s, 1, 0, &line).await, Frame::Integer(2));
        assert_eq!(get(&s, 2, 0, &dest), bulk("\x03\x00"));
        let line = bitop("xor", &format!("{a} {b}"));
        assert_eq!(run_across(&s, 1, 0, &line).await, Frame::Integer(2));
        assert_eq!(get(&s, 2, 0, &dest), bulk("\x3c\x0f"));
        assert_eq!(get(&s, 0, 0, &a), bulk("\x0f\x0f"), "sources unchanged");

        // A source that is not a string: WRONGTYPE, and the destination is kept.
        let other = s.key("other", 1);
        s.command(1, 0, &format!("sadd {other} x"));
        let line = bitop("or", &format!("{a} {other}"));
        assert_eq!(
            run_across(&s, 0, 0, &line).await,
            Frame::error(errors::WRONGTYPE)
        );
        assert_eq!(get(&s, 2, 0, &dest), bulk("\x3c\x0f"));

        // Only missing sources: the empty result deletes the destination.
        let (gone0, gone1) = (s.key("gone", 0), s.key("gone", 1));
        let line = bitop("or", &format!("{gone0} {gone1}"));
        assert_eq!(run_across(&s, 0, 0, &line).await, Frame::Integer(0));
        assert!(!s.stored(2, 0, &dest));
        s.assert_unlocked(0, &[&dest, &a, &b, &c, &other]).await;
    });
}
