//! Sorted set command tests. Expected replies were observed on redis-server 7.0.15.

use crate::commands::tests::T;
use bytes::Bytes;
use damselfly_protocol::Frame;

fn int(i: i64) -> Frame {
    Frame::Integer(i)
}
fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}
fn err(s: &str) -> Frame {
    Frame::error_owned(s.to_string())
}
fn arr(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}
/// member, score, member, score... with scores as doubles.
fn scored(items: &[(&str, f64)]) -> Frame {
    Frame::Pairs(
        items
            .iter()
            .map(|(m, s)| (bulk(m), Frame::Double(*s)))
            .collect(),
    )
}

#[test]
fn zadd_options_and_errors() {
    let mut t = T::new();
    assert_eq!(t.run("ZADD z 1 a 2 b"), int(2));
    assert_eq!(
        t.run("ZADD z XX NX 1 a"),
        err("ERR XX and NX options at the same time are not compatible")
    );
    assert_eq!(
        t.run("ZADD z GT LT 1 a"),
        err("ERR GT, LT, and/or NX options at the same time are not compatible")
    );
    assert_eq!(
        t.run("ZADD z INCR 1 a 2 b"),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(t.run("ZADD z 1 a 2"), err("ERR syntax error"));
    assert_eq!(t.run("ZADD z nan a"), err("ERR value is not a valid float"));
    assert_eq!(t.run("ZADD z INCR 1 a"), Frame::Double(2.0));
    assert_eq!(t.run("ZADD z GT INCR 0 a"), Frame::Null);
    assert_eq!(t.run("ZADD z CH 5 a 7 c"), int(2));
    assert_eq!(t.run("ZADD z inf x"), int(1));
    assert_eq!(
        t.run("ZADD z INCR -inf x"),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(t.run("ZADD z 0x10 q"), int(1));
    assert_eq!(t.run("ZADD z XX 1 nothere"), int(0));
    assert_eq!(t.run("ZADD nokey XX 1 a"), int(0));
    assert_eq!(t.run("EXISTS nokey"), int(0));
    assert_eq!(t.run("ZINCRBY z 1.1 a"), Frame::Double(6.1));
    assert_eq!(
        t.run("ZINCRBY z abc a"),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        t.run("ZRANGE z 0 -1 WITHSCORES"),
        scored(&[
            ("b", 2.0),
            ("a", 6.1),
            ("c", 7.0),
            ("q", 16.0),
            ("x", f64::INFINITY)
        ])
    );
    t.run("SET s x");
    assert_eq!(
        t.run("ZADD s 1 a"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(t.run("ZADD s nan a"), err("ERR value is not a valid float"));
}

#[test]
fn negative_zero_is_zero_in_a_listpack() {
    let mut t = T::new();
    t.run("ZADD z -0 x");
    assert_eq!(t.run("ZSCORE z x"), Frame::Double(0.0));
    assert!(matches!(t.run("ZSCORE z x"), Frame::Double(s) if s.is_sign_positive()));
}

#[test]
fn ranges() {
    let mut t = T::new();
    t.run("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(t.run("ZRANGE z 1 2"), arr(&["b", "c"]));
    assert_eq!(t.run("ZRANGE z -2 -1 REV"), arr(&["b", "a"]));
    assert_eq!(t.run("ZREVRANGE z 0 1"), arr(&["e", "d"]));
    assert_eq!(t.run("ZRANGE z (1 3 BYSCORE"), arr(&["b", "c"]));
    assert_eq!(
        t.run("ZRANGE z 5 (2 BYSCORE REV LIMIT 1 2"),
        arr(&["d", "c"])
    );
    assert_eq!(t.run("ZRANGEBYSCORE z -inf +inf LIMIT -1 2"), arr(&[]));
    assert_eq!(
        t.run("ZRANGEBYSCORE z -inf +inf LIMIT 3 -1"),
        arr(&["d", "e"])
    );
    assert_eq!(t.run("ZRANGEBYLEX z [b (d"), arr(&["b", "c"]));
    assert_eq!(t.run("ZREVRANGEBYLEX z + (c"), arr(&["e", "d"]));
    assert_eq!(t.run("ZCOUNT z (1 +inf"), int(4));
    assert_eq!(t.run("ZLEXCOUNT z - +"), int(5));
    assert_eq!(
        t.run("ZRANGE z 0 -1 LIMIT 0 1"),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(
        t.run("ZRANGE z - + BYLEX WITHSCORES"),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    assert_eq!(
        t.run("ZRANGE z x 2 BYSCORE"),
        err("ERR min or max is not a float")
    );
    assert_eq!(
        t.run("ZRANGE z x 2 BYLEX"),
        err("ERR min or max not valid string range item")
    );
    assert_eq!(t.run("ZRANGE z 0 -1 REV REV"), err("ERR syntax error"));
    assert_eq!(t.run("ZRANK z c"), int(2));
    assert_eq!(t.run("ZREVRANK z c"), int(2));
    assert_eq!(t.run("ZRANGESTORE d z 1 -2"), int(3));
    assert_eq!(t.run("ZRANGE d 0 -1"), arr(&["b", "c", "d"]));
    assert_eq!(t.run("ZRANGESTORE d z 10 20"), int(0));
    assert_eq!(t.run("EXISTS d"), int(0));
    assert_eq!(t.run("ZREMRANGEBYSCORE z 2 (4"), int(2));
    assert_eq!(t.run("ZREMRANGEBYRANK z 0 0"), int(1));
    assert_eq!(t.run("ZREMRANGEBYLEX z - +"), int(2));
    assert_eq!(t.run("EXISTS z"), int(0));
}

#[test]
fn pops_and_random_members() {
    let mut t = T::new();
    t.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(
        t.run("ZPOPMIN z"),
        Frame::Array(vec![bulk("a"), Frame::Double(1.0)])
    );
    assert_eq!(t.run("ZPOPMAX z 5"), scored(&[("c", 3.0), ("b", 2.0)]));
    assert_eq!(t.run("EXISTS z"), int(0));
    assert_eq!(
        t.run("ZPOPMIN z -1"),
        err("ERR value is out of range, must be positive")
    );
    t.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(
        t.run("ZMPOP 2 nokey z MAX COUNT 2"),
        Frame::Array(vec![
            bulk("z"),
            Frame::Array(vec![
                Frame::Array(vec![bulk("c"), Frame::Double(3.0)]),
                Frame::Array(vec![bulk("b"), Frame::Double(2.0)]),
            ])
        ])
    );
    assert_eq!(t.run("ZMPOP 1 nokey MIN"), Frame::NullArray);
    assert_eq!(
        t.run("ZMPOP 0 z MIN"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        t.run("ZMPOP 1 z MIN COUNT 0"),
        err("ERR count should be greater than 0")
    );
    assert_eq!(t.run("ZRANDMEMBER z"), bulk("a"));
    assert_eq!(t.run("ZRANDMEMBER z -3"), arr(&["a", "a", "a"]));
    assert_eq!(t.run("ZRANDMEMBER z 5 WITHSCORES"), scored(&[("a", 1.0)]));
    assert_eq!(t.run("ZRANDMEMBER nokey 5"), arr(&[]));
    assert_eq!(
        t.run("ZRANDMEMBER z -4611686018427387904 WITHSCORES"),
        err("ERR value is out of range")
    );
}

#[test]
fn set_operations() {
    let mut t = T::new();
    t.run("ZADD z 1 a 2 b 3 c");
    t.run("ZADD y 5 b 6 d");
    assert_eq!(
        t.run("ZUNION 2 z y WITHSCORES"),
        scored(&[("a", 1.0), ("c", 3.0), ("d", 6.0), ("b", 7.0)])
    );
    assert_eq!(
        t.run("ZUNION 2 z y WEIGHTS inf -inf WITHSCORES"),
        scored(&[
            ("d", f64::NEG_INFINITY),
            ("b", 0.0),
            ("a", f64::INFINITY),
            ("c", f64::INFINITY)
        ])
    );
    assert_eq!(t.run("ZINTER 2 z y WITHSCORES"), scored(&[("b", 7.0)]));
    assert_eq!(
        t.run("ZDIFF 2 z y WITHSCORES"),
        scored(&[("a", 1.0), ("c", 3.0)])
    );
    assert_eq!(t.run("ZDIFF 2 z y WEIGHTS 1 2"), err("ERR syntax error"));
    assert_eq!(
        t.run("ZUNIONSTORE d 0 z"),
        err("ERR at least 1 input key is needed for 'zunionstore' command")
    );
    assert_eq!(
        t.run("ZUNIONSTORE d 1 z WEIGHTS x"),
        err("ERR weight value is not a float")
    );
    assert_eq!(t.run("ZINTERSTORE d 2 z y AGGREGATE MAX"), int(1));
    assert_eq!(t.run("ZSCORE d b"), Frame::Double(5.0));
    assert_eq!(t.run("ZINTERSTORE d 2 z nokey"), int(0));
    assert_eq!(t.run("EXISTS d"), int(0));
}

#[test]
fn scan_and_encodings() {
    let mut t = T::new();
    t.run("ZADD z 1 a 2 b");
    assert_eq!(
        t.run("ZSCAN z 0"),
        Frame::Array(vec![bulk("0"), arr(&["a", "1", "b", "2"])])
    );
    assert_eq!(t.run("ZSCAN z x"), err("ERR invalid cursor"));
    assert_eq!(t.run("ZSCAN z 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(t.run("OBJECT ENCODING z"), bulk("listpack"));
    for i in 0..200 {
        t.run(&format!("ZADD z {i} m{i}"));
    }
    assert_eq!(t.run("OBJECT ENCODING z"), bulk("skiplist"));
    let mut seen = 0;
    let mut cursor = "0".to_string();
    loop {
        let Frame::Array(reply) = t.run(&format!("ZSCAN z {cursor} COUNT 7")) else {
            panic!()
        };
        let (Frame::Bulk(next), Frame::Array(items)) = (&reply[0], &reply[1]) else {
            panic!()
        };
        seen += items.len() / 2;
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 202);
    assert_eq!(t.run("ZRANGESTORE d z 0 9"), int(10));
    assert_eq!(t.run("OBJECT ENCODING d"), bulk("listpack"));
    let long = "x".repeat(65);
    t.run(&format!("ZADD l 1 {long}"));
    assert_eq!(t.run("OBJECT ENCODING l"), bulk("skiplist"));
}

/// A one-member sorted set (`ZADD key 1 member`) costs Redis 7.0 a 16-byte robj and a listpack
/// in jemalloc's 24-byte class: the value itself must not cost more here. (The keyspace's own
/// per-key cost is the same for every type.)
#[test]
fn small_value_memory_is_at_most_redis() {
    let mut z = crate::types::ZSet::new();
    z.insert(b"member", 1.0);
    let value = crate::Value::ZSet(Box::new(z));
    assert!(value.heap_bytes() <= 40, "{} bytes", value.heap_bytes());
}
