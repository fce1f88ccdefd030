//! Stream command tests. Expected replies were observed on redis-server 7.0.15.

use super::super::execute;
use super::super::tests::T;
use crate::digest::digest_value;
use crate::value::Value;
use crate::{Effects, ExecContext};
use bytes::Bytes;
use damselfly_protocol::Frame;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn words(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

/// Runs `line` with a replication journal; returns the reply and the commands a replica replays.
fn journaled(t: &mut T, line: &str) -> (Frame, Vec<Vec<Bytes>>) {
    let args = words(line);
    let mut effects = Effects::default();
    let mut ctx = ExecContext {
        now_ms: t.now,
        stats: &mut t.stats,
        effects: Some(&mut effects),
    };
    let reply = execute(&mut t.dbs, t.db, &args, &mut ctx);
    let replayed = effects
        .writes
        .into_iter()
        .map(|(_, command)| command.unwrap_or_else(|| args.clone()))
        .collect();
    (reply, replayed)
}

fn replay(replica: &mut T, commands: &[Vec<Bytes>]) {
    for command in commands {
        let args: Vec<&[u8]> = command.iter().map(|a| &a[..]).collect();
        let reply = replica.raw(&args);
        assert!(
            !matches!(reply, Frame::Error(_)),
            "replay of {command:?} failed: {reply:?}"
        );
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn auto_ids_follow_the_clock_and_the_last_id() {
    let mut t = T::new();
    t.now = 1000;
    assert_eq!(t.run("XADD s * a 1"), bulk("1000-0"));
    assert_eq!(t.run("XADD s * a 1"), bulk("1000-1"));
    assert_eq!(t.run("XADD s 1000-* a 1"), bulk("1000-2"));
    assert_eq!(t.run("XADD s 2000-* a 1"), bulk("2000-0"));
    // The clock went back: the sequence of the last id grows.
    assert_eq!(t.run("XADD s * a 1"), bulk("2000-1"));
    t.now = 3000;
    assert_eq!(t.run("XADD s * a 1"), bulk("3000-0"));
    assert_eq!(
        t.run("XADD s 5-* a 1"),
        Frame::error(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        )
    );
    assert_eq!(t.run("XLEN s"), Frame::Integer(6));
    assert_eq!(t.run("TYPE s"), Frame::Simple("stream".into()));
    assert_eq!(t.run("OBJECT ENCODING s"), bulk("stream"));
}

#[test]
fn replicas_replaying_the_journal_end_up_identical() {
    let mut primary = T::new();
    let mut replica = T::new();
    let script = [
        "XADD s * a 1",
        "XADD s * b 2",
        "XADD s MAXLEN ~ 1 * c 3",
        "XADD s 7-* d 4",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s h $ MKSTREAM",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g alice STREAMS s 0",
        "XREADGROUP GROUP h carol NOACK STREAMS s >",
        "XCLAIM s g bob 0 0-0 1-0",
        "XAUTOCLAIM s g carol 0 0 COUNT 1",
        "XACK s g 0-1",
        "XADD s MINID ~ 0 * e 5",
        "XTRIM s MAXLEN 2",
        "XDEL s 0-0",
    ];
    for (step, line) in script.iter().enumerate() {
        primary.now = 1_000 + step as u64;
        replica.now = 5_000_000 + step as u64 * 7;
        let (_, commands) = journaled(&mut primary, line);
        replay(&mut replica, &commands);
    }
    // Delivery times are absolute, so with equal clocks idle times agree too.
    replica.now = primary.now;
    for probe in [
        "XRANGE s - +",
        "XINFO GROUPS s",
        "XPENDING s g",
        "XPENDING s g - + 10",
        "XPENDING s h - + 10",
    ] {
        assert_eq!(primary.run(probe), replica.run(probe), "{probe}");
    }
}

#[test]
fn nothing_changed_journals_nothing() {
    let mut t = T::new();
    t.run("XADD s 1-1 a b");
    for line in [
        "XADD s 1-1 a b",
        "XADD missing NOMKSTREAM * a b",
        "XTRIM s MAXLEN 5",
        "XDEL s 9-9",
        "XRANGE s - +",
        "XREAD STREAMS s 0",
        "XREAD BLOCK 10 STREAMS s $",
    ] {
        assert!(journaled(&mut t, line).1.is_empty(), "{line}");
    }
}

#[test]
fn xread_ignores_block_and_answers_at_once() {
    let mut t = T::new();
    t.run("XADD s 1-1 a b");
    assert_eq!(t.run("XREAD BLOCK 0 STREAMS s $"), Frame::NullArray);
    t.run("XGROUP CREATE s g $");
    assert_eq!(
        t.run("XREADGROUP GROUP g c BLOCK 0 STREAMS s >"),
        Frame::NullArray
    );
    let Frame::KeyedPairs(reply) = t.run("XREAD BLOCK 0 STREAMS s 0") else {
        panic!("entries expected");
    };
    assert_eq!(reply.len(), 1);
}

#[test]
fn digest_matches_debug_digest_value() {
    let mut t = T::new();
    t.run("XADD s 1-1 a b");
    t.raw(&[b"XADD", b"s", b"2-5", b"f1", b"v1", b"f2", b""]);
    assert_eq!(
        hex(&digest_value(&mut t.dbs[0], b"s", t.now)),
        "a791943aed84c7eee9df61ff067f8aa0e4ffaf1f"
    );
    // Groups do not count.
    t.run("XGROUP CREATE s g 0");
    assert_eq!(
        hex(&digest_value(&mut t.dbs[0], b"s", t.now)),
        "a791943aed84c7eee9df61ff067f8aa0e4ffaf1f"
    );
    t.run("XDEL s 1-1");
    assert_eq!(
        hex(&digest_value(&mut t.dbs[0], b"s", t.now)),
        "0cdf586b1ac54d661c8a0f4000d06f28758cb029"
    );
}

#[test]
fn rdb_round_trip_keeps_entries_and_groups() {
    let mut t = T::new();
    for i in 1..=250 {
        t.run(&format!("XADD s {i}-1 f{i} v{i} x y"));
    }
    t.run("XDEL s 3-1 100-1");
    t.run("XGROUP CREATE s g 0");
    t.run("XREADGROUP GROUP g alice COUNT 5 STREAMS s >");
    t.run("XGROUP CREATECONSUMER s g idle");
    t.run("XGROUP CREATE s h 50-1 ENTRIESREAD 10");
    let Some(slot) = t.dbs[0].lookup(b"s", t.now) else {
        panic!("stream expected");
    };
    let dumped = t.dbs[0].slot(slot).value.to_rdb();
    let Some(Value::Stream(loaded)) = Value::from_rdb(dumped.clone()) else {
        panic!("stream expected");
    };
    assert_eq!(Value::Stream(loaded.clone()).to_rdb(), dumped);
    assert_eq!(loaded.len(), 248);
    assert_eq!(loaded.heap_bytes(), {
        let mut fresh = loaded.clone();
        fresh.refresh_group_bytes();
        fresh.heap_bytes()
    });
    let mut copy = T::new();
    copy.dbs[0].insert(b"s", Value::Stream(loaded), 0, copy.now);
    for probe in [
        "XRANGE s - +",
        "XINFO STREAM s",
        "XINFO GROUPS s",
        "XPENDING s g - + 10",
    ] {
        assert_eq!(t.run(probe), copy.run(probe), "{probe}");
    }
}

#[test]
fn errors_match_redis() {
    let mut t = T::new();
    t.run("SET str v");
    assert_eq!(
        t.run("XADD str * a b"),
        Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        t.run("XADD s 0-0 a b"),
        Frame::error("ERR The ID specified in XADD must be greater than 0-0")
    );
    assert_eq!(
        t.run("XADD s * a"),
        Frame::error("ERR wrong number of arguments for 'xadd' command")
    );
    assert_eq!(
        t.run("XREAD STREAMS s"),
        Frame::error("ERR wrong number of arguments for 'xread' command")
    );
    assert_eq!(
        t.run("XGROUP CREATE s g $"),
        Frame::error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
    );
}

#[test]
fn forced_claims_start_from_one_delivery() {
    let mut t = T::new();
    t.run("XADD s 1-1 a b");
    t.run("XADD s 1-2 a b");
    t.run("XGROUP CREATE s g $");
    assert_eq!(
        t.run("XCLAIM s g c 0 1-1 FORCE JUSTID"),
        Frame::Array(vec![bulk("1-1")])
    );
    t.run("XCLAIM s g c 0 1-2 FORCE");
    let counts: Vec<Frame> = match t.run("XPENDING s g - + 10") {
        Frame::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Frame::Array(mut fields) => fields.pop(),
                _ => None,
            })
            .collect(),
        other => vec![other],
    };
    assert_eq!(counts, [Frame::Integer(1), Frame::Integer(2)]);
}
