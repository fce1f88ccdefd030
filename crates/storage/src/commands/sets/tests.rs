//! Set command tests. Expected replies were observed on redis-server 7.0.15.

use crate::commands::tests::T;
use crate::digest::digest_value;
use crate::{Effects, ExecContext};
use bytes::Bytes;
use damselfly_protocol::Frame;
use std::collections::BTreeSet;

fn int(i: i64) -> Frame {
    Frame::Integer(i)
}

fn err(s: &str) -> Frame {
    Frame::error_owned(s.to_string())
}

/// The members of a set or array reply, sorted.
fn members(f: Frame) -> Vec<String> {
    let (Frame::Set(items) | Frame::Array(items)) = f else {
        panic!("not a collection: {f:?}")
    };
    let sorted: BTreeSet<String> = items
        .into_iter()
        .map(|m| match m {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    sorted.into_iter().collect()
}

fn encoding(t: &mut T, key: &str) -> Frame {
    t.run(&format!("OBJECT ENCODING {key}"))
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn add_remove_and_encodings() {
    let mut t = T::new();
    assert_eq!(t.run("SADD s 1 2 3 2"), int(3));
    assert_eq!(encoding(&mut t, "s"), bulk("intset"));
    assert_eq!(t.run("SADD s 3"), int(0));
    assert_eq!(t.run("SADD s a"), int(1));
    assert_eq!(encoding(&mut t, "s"), bulk("hashtable"));
    assert_eq!(t.run("SREM s a 1 nope"), int(2));
    assert_eq!(encoding(&mut t, "s"), bulk("hashtable"));
    assert_eq!(t.run("SCARD s"), int(2));
    assert_eq!(t.run("SISMEMBER s 2"), int(1));
    assert_eq!(t.run("SISMEMBER s 02"), int(0));
    assert_eq!(
        t.run("SMISMEMBER s 2 9 3"),
        Frame::Array(vec![int(1), int(0), int(1)])
    );
    assert_eq!(t.run("SMISMEMBER nokey a"), Frame::Array(vec![int(0)]));
    assert_eq!(members(t.run("SMEMBERS s")), vec!["2", "3"]);
    assert_eq!(t.run("SREM s 2 3 4"), int(2));
    assert_eq!(t.run("EXISTS s"), int(0));
    assert_eq!(t.run("SMEMBERS s"), Frame::Set(vec![]));
    t.run("SET str x");
    for cmd in [
        "SADD str a",
        "SREM str a",
        "SCARD str",
        "SMEMBERS str",
        "SPOP str",
    ] {
        assert_eq!(t.run(cmd), err(WRONGTYPE), "{cmd}");
    }
}

#[test]
fn intset_limit_converts() {
    let mut t = T::new();
    let limit = crate::config::SET_MAX_INTSET_ENTRIES.get();
    let args: Vec<String> = (0..limit).map(|i| i.to_string()).collect();
    t.run(&format!("SADD s {}", args.join(" ")));
    assert_eq!(encoding(&mut t, "s"), bulk("intset"));
    t.run(&format!("SADD s {limit}"));
    assert_eq!(encoding(&mut t, "s"), bulk("hashtable"));
}

#[test]
fn smove() {
    let mut t = T::new();
    t.run("SADD a 1 2");
    t.run("SET str x");
    assert_eq!(t.run("SMOVE nokey a 1"), int(0));
    assert_eq!(t.run("SMOVE nokey str 1"), int(0));
    assert_eq!(t.run("SMOVE a str 1"), err(WRONGTYPE));
    assert_eq!(t.run("SMOVE a a 1"), int(1));
    assert_eq!(t.run("SMOVE a a 9"), int(0));
    assert_eq!(t.run("SMOVE a b 9"), int(0));
    assert_eq!(t.run("SMOVE a b 1"), int(1));
    assert_eq!(t.run("SMOVE a b 2"), int(1));
    assert_eq!(t.run("EXISTS a"), int(0));
    assert_eq!(members(t.run("SMEMBERS b")), vec!["1", "2"]);
    assert_eq!(encoding(&mut t, "b"), bulk("intset"));
}

#[test]
fn algebra_and_stores() {
    let mut t = T::new();
    t.run("SADD y 1 2 3");
    t.run("SADD z 2 3 4 b");
    t.run("SET str x");
    assert_eq!(members(t.run("SINTER y z")), vec!["2", "3"]);
    assert_eq!(
        members(t.run("SUNION y z nokey")),
        vec!["1", "2", "3", "4", "b"]
    );
    assert_eq!(members(t.run("SDIFF z y")), vec!["4", "b"]);
    assert_eq!(t.run("SINTER nokey str"), err(WRONGTYPE));
    assert_eq!(t.run("SINTER y nokey"), Frame::Set(vec![]));
    assert_eq!(t.run("SINTERSTORE d y z"), int(2));
    assert_eq!(encoding(&mut t, "d"), bulk("intset"));
    assert_eq!(t.run("SDIFFSTORE d1 z y"), int(2));
    assert_eq!(encoding(&mut t, "d1"), bulk("hashtable"));
    // An empty result deletes the destination, whatever it held.
    assert_eq!(t.run("SINTERSTORE str y nokey"), int(0));
    assert_eq!(t.run("EXISTS str"), int(0));
    t.run("SET str x");
    assert_eq!(t.run("SUNIONSTORE str y"), int(3));
    assert_eq!(t.run("TYPE str"), Frame::simple("set"));
    assert_eq!(t.run("SINTERCARD 2 y z"), int(2));
    assert_eq!(t.run("SINTERCARD 2 y z LIMIT 1"), int(1));
    assert_eq!(t.run("SINTERCARD 2 y nokey"), int(0));
    assert_eq!(
        t.run("SINTERCARD 0 y"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        t.run("SINTERCARD 2 y"),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        t.run("SINTERCARD 1 y LIMIT -1"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(t.run("SINTERCARD 1 y LIMIT"), err("ERR syntax error"));
}

#[test]
fn difference_encoding_follows_redis_algorithm() {
    let mut t = T::new();
    t.run("SADD f a 1 2 3 4 5 6 7 8 9 10");
    t.run("SADD g a");
    t.run("SADD h 1");
    // Copy-then-remove: the copy of `f` was a hashtable.
    assert_eq!(t.run("SDIFFSTORE d4 f g h"), int(9));
    assert_eq!(encoding(&mut t, "d4"), bulk("hashtable"));
    // Probe-and-add: only integers were added.
    assert_eq!(t.run("SDIFFSTORE d5 f g"), int(10));
    assert_eq!(encoding(&mut t, "d5"), bulk("intset"));
}

#[test]
fn spop_and_srandmember() {
    let mut t = T::new();
    t.run("SADD s a b c d e");
    let popped = t.run("SPOP s");
    assert!(matches!(popped, Frame::Bulk(_)));
    assert_eq!(t.run("SCARD s"), int(4));
    assert_eq!(members(t.run("SPOP s 2")).len(), 2);
    assert_eq!(t.run("SCARD s"), int(2));
    assert_eq!(members(t.run("SPOP s 10")).len(), 2);
    assert_eq!(t.run("EXISTS s"), int(0));
    assert_eq!(t.run("SPOP s"), Frame::Null);
    assert_eq!(t.run("SPOP s 3"), Frame::Set(vec![]));
    assert_eq!(
        t.run("SPOP s -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        t.run("SPOP s x"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(t.run("SPOP s 1 2"), err("ERR syntax error"));
    // Popping most of a hashtable of integers rebuilds it as an intset.
    t.run("SADD x 5 6 7 8 9 10 11 12 13 14 a");
    t.run("SREM x a");
    assert_eq!(members(t.run("SPOP x 9")).len(), 9);
    assert_eq!(encoding(&mut t, "x"), bulk("intset"));

    t.run("SADD r 1 2 3 4 5 6 7 8 9 10");
    assert_eq!(t.run("SRANDMEMBER r 0"), Frame::Array(vec![]));
    assert_eq!(members(t.run("SRANDMEMBER r 20")).len(), 10);
    assert_eq!(members(t.run("SRANDMEMBER r 5")).len(), 5);
    assert_eq!(members(t.run("SRANDMEMBER r 2")).len(), 2);
    let Frame::Array(repeated) = t.run("SRANDMEMBER r -30") else {
        panic!("array")
    };
    assert_eq!(repeated.len(), 30);
    assert_eq!(t.run("SRANDMEMBER nokey -3"), Frame::Array(vec![]));
    assert_eq!(t.run("SRANDMEMBER nokey"), Frame::Null);
    assert_eq!(
        t.run("SRANDMEMBER r -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(t.run("SCARD r"), int(10));
}

/// Runs one command with a replication journal, returning the reply and what was journaled.
fn journaled(t: &mut T, line: &str) -> (Frame, Vec<Vec<String>>) {
    let mut effects = Effects::default();
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    let mut ctx = ExecContext {
        now_ms: t.now,
        stats: &mut t.stats,
        effects: Some(&mut effects),
    };
    let reply = crate::commands::execute(&mut t.dbs, 0, &args, &mut ctx);
    let commands = effects
        .writes
        .into_iter()
        .map(|(_, command)| {
            command
                .unwrap_or_else(|| args.clone())
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect();
    (reply, commands)
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[test]
fn spop_journals_its_effect() {
    let mut t = T::new();
    t.run("SADD s a b c d e f g h i j");
    t.run("PEXPIREAT s 1800000000000");
    // Few popped: one SREM of the popped members.
    let (reply, journal) = journaled(&mut t, "SPOP s 3");
    let popped = members(reply);
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0][..2], ["SREM", "s"]);
    assert_eq!(sorted(journal[0][2..].to_vec()), popped);
    // Most popped: the key is rebuilt from the members that stay, with its TTL.
    let (reply, journal) = journaled(&mut t, "SPOP s 6");
    assert_eq!(members(reply).len(), 6);
    let stays = members(t.run("SMEMBERS s"));
    assert_eq!(journal.len(), 3);
    assert_eq!(journal[0], ["DEL", "s"]);
    assert_eq!(journal[1][..2], ["SADD", "s"]);
    assert_eq!(sorted(journal[1][2..].to_vec()), stays);
    assert_eq!(journal[2], ["PEXPIREAT", "s", "1800000000000"]);
    // Everything popped: a DEL.
    let (_, journal) = journaled(&mut t, "SPOP s 5");
    assert_eq!(journal, vec![vec!["DEL", "s"]]);
    t.run("SADD s x");
    let (Frame::Bulk(popped), journal) = journaled(&mut t, "SPOP s") else {
        panic!("bulk")
    };
    assert_eq!(&popped[..], b"x");
    assert_eq!(journal, vec![vec!["SREM", "s", "x"]]);
    let (_, journal) = journaled(&mut t, "SPOP s");
    assert!(journal.is_empty());
}

#[test]
fn sscan() {
    let mut t = T::new();
    t.run("SADD i 3 1 2");
    assert_eq!(
        t.run("SSCAN i 0"),
        Frame::Array(vec![
            bulk("0"),
            Frame::Array(vec![bulk("1"), bulk("2"), bulk("3")])
        ])
    );
    assert_eq!(t.run("SSCAN i 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(t.run("SSCAN i 0 TYPE string"), err("ERR syntax error"));
    assert_eq!(t.run("SSCAN i x"), err("ERR invalid cursor"));
    assert_eq!(
        t.run("SSCAN nokey 0 COUNT 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])])
    );
    let all: Vec<String> = (0..1000).map(|i| format!("m:{i}")).collect();
    t.run(&format!("SADD h {}", all.join(" ")));
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Frame::Array(reply) = t.run(&format!("SSCAN h {cursor} COUNT 7 MATCH m:1*")) else {
            panic!("array")
        };
        let [Frame::Bulk(next), page] = &reply[..] else {
            panic!("shape")
        };
        seen.extend(members(page.clone()));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 111);
}

#[test]
fn digest_matches_redis() {
    let mut t = T::new();
    t.run("SADD dg a b 1");
    t.run("SADD di 1 2 3");
    let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(digest_value(&mut t.dbs[0], b"dg", 0)),
        "e8f32bbb1ad9bf537c8867de4f19fec9e001296d"
    );
    assert_eq!(
        hex(digest_value(&mut t.dbs[0], b"di", 0)),
        "2a462a3f51a1db89738ebbeef0c47ce1bbc85246"
    );
}
