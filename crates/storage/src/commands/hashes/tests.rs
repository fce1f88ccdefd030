//! Expected replies observed on redis-server 7.0.15.

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

#[test]
fn set_get_and_friends() {
    let mut t = T::new();
    assert_eq!(t.run("HSET h a 1 b 2"), int(2));
    assert_eq!(t.run("HSET h a 3 c 4"), int(1));
    assert_eq!(t.run("HMSET h d 5"), Frame::OK);
    assert_eq!(
        t.run("HSET h a"),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        t.run("HMSET h a 1 b"),
        err("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(t.run("HGET h a"), bulk("3"));
    assert_eq!(t.run("HGET h zz"), Frame::Null);
    assert_eq!(t.run("HGET nokey a"), Frame::Null);
    assert_eq!(
        t.run("HMGET h a zz b"),
        Frame::Array(vec![bulk("3"), Frame::Null, bulk("2")])
    );
    assert_eq!(t.run("HLEN h"), int(4));
    assert_eq!(t.run("HSTRLEN h a"), int(1));
    assert_eq!(t.run("HEXISTS h zz"), int(0));
    assert_eq!(t.run("HKEYS h"), arr(&["a", "b", "c", "d"]));
    assert_eq!(t.run("HVALS h"), arr(&["3", "2", "4", "5"]));
    assert_eq!(
        t.run("HGETALL h"),
        Frame::Map(vec![
            (bulk("a"), bulk("3")),
            (bulk("b"), bulk("2")),
            (bulk("c"), bulk("4")),
            (bulk("d"), bulk("5"))
        ])
    );
    assert_eq!(t.run("HGETALL nokey"), Frame::Map(vec![]));
    assert_eq!(t.run("HSETNX h a 9"), int(0));
    assert_eq!(t.run("HSETNX h e 9"), int(1));
    assert_eq!(t.run("HDEL h a zz a"), int(1));
    assert_eq!(t.run("HDEL h b c d e"), int(4));
    assert_eq!(t.run("EXISTS h"), int(0));
    t.run("SET s x");
    for cmd in [
        "HGET s a",
        "HSET s a 1",
        "HLEN s",
        "HMGET s a",
        "HDEL s a",
        "HSCAN s 0",
    ] {
        assert_eq!(
            t.run(cmd),
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "{cmd}"
        );
    }
}

#[test]
fn encodings_follow_redis() {
    let mut t = T::new();
    let long = "x".repeat(65);
    t.run("HSET h a 1");
    assert_eq!(t.run("OBJECT ENCODING h"), bulk("listpack"));
    assert_eq!(t.run(&format!("HSETNX h a {long}")), int(0));
    assert_eq!(t.run("OBJECT ENCODING h"), bulk("listpack"));
    assert_eq!(t.run(&format!("HINCRBY h {long} 1")), int(1));
    assert_eq!(t.run("OBJECT ENCODING h"), bulk("hashtable"));
    t.run("HSET g a 1");
    assert!(!t.run("HINCRBYFLOAT g a 1e70").is_error());
    assert_eq!(t.run("OBJECT ENCODING g"), bulk("hashtable"));
}

#[test]
fn increments() {
    let mut t = T::new();
    assert_eq!(t.run("HINCRBY h a 5"), int(5));
    assert_eq!(t.run("HINCRBY h a -7"), int(-2));
    assert_eq!(
        t.run("HINCRBY h a x"),
        err("ERR value is not an integer or out of range")
    );
    t.run("HSET h b x c 9223372036854775807");
    assert_eq!(
        t.run("HINCRBY h b 1"),
        err("ERR hash value is not an integer")
    );
    assert_eq!(
        t.run("HINCRBY h c 1"),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        t.run("HINCRBYFLOAT h b 1"),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        t.run("HINCRBYFLOAT h a inf"),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        t.run("HINCRBYFLOAT h a nan"),
        err("ERR value is not a valid float")
    );
    assert_eq!(t.run("HINCRBYFLOAT h a 0.5"), bulk("-1.5"));
    assert_eq!(
        t.run("HINCRBYFLOAT h f 1e70"),
        bulk("10000000000000000000222479489586148259025995410601157579323600873193472")
    );
    assert_eq!(
        t.run("HINCRBYFLOAT nokey a x"),
        err("ERR value is not a valid float")
    );
    assert_eq!(t.run("EXISTS nokey"), int(0));
}

#[test]
fn randfield_shapes() {
    let mut t = T::new();
    assert_eq!(t.run("HRANDFIELD nokey"), Frame::Null);
    assert_eq!(t.run("HRANDFIELD nokey 3"), Frame::Array(vec![]));
    assert_eq!(
        t.run("HRANDFIELD nokey x"),
        err("ERR value is not an integer or out of range")
    );
    t.run("HSET h a 1 b 2 c 3");
    assert_eq!(t.run("HRANDFIELD h 0"), Frame::Array(vec![]));
    assert_eq!(t.run("HRANDFIELD h 1 withvalue"), err("ERR syntax error"));
    assert_eq!(
        t.run("HRANDFIELD h 1 withvalues x"),
        err("ERR syntax error")
    );
    assert_eq!(
        t.run("HRANDFIELD h -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        t.run("HRANDFIELD h 4611686018427387904 withvalues"),
        err("ERR value is out of range")
    );
    let Frame::Pairs(all) = t.run("HRANDFIELD h 10 WITHVALUES") else {
        panic!()
    };
    assert_eq!(all.len(), 3);
    let Frame::Array(rep) = t.run("HRANDFIELD h -10") else {
        panic!()
    };
    assert_eq!(rep.len(), 10);
    let Frame::Array(two) = t.run("HRANDFIELD h 2") else {
        panic!()
    };
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    assert!(matches!(t.run("HRANDFIELD h"), Frame::Bulk(_)));
}

#[test]
fn scan_listpack_and_hashtable() {
    let mut t = T::new();
    assert_eq!(t.run("HSCAN nokey x"), err("ERR invalid cursor"));
    assert_eq!(
        t.run("HSCAN nokey 0 COUNT 0"),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![])])
    );
    t.run("HSET h a 1 b 2");
    assert_eq!(t.run("HSCAN h 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(t.run("HSCAN h 0 MATCH"), err("ERR syntax error"));
    assert_eq!(
        t.run("HSCAN h 0 COUNT x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        t.run("HSCAN h 18446744073709551616"),
        err("ERR invalid cursor")
    );
    assert_eq!(
        t.run("HSCAN h -1 MATCH a*"),
        Frame::Array(vec![bulk("0"), arr(&["a", "1"])])
    );
    let fields: Vec<String> = (0..1000).map(|i| format!("f{i} v")).collect();
    t.run(&format!("HSET big {}", fields.join(" ")));
    assert_eq!(t.run("OBJECT ENCODING big"), bulk("hashtable"));
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Frame::Array(reply) = t.run(&format!("HSCAN big {cursor} COUNT 7")) else {
            panic!()
        };
        let (Frame::Bulk(next), Frame::Array(items)) = (&reply[0], &reply[1]) else {
            panic!()
        };
        for pair in items.chunks(2) {
            seen.insert(format!("{:?}", pair[0]));
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
}

#[test]
fn digest_matches_redis() {
    let mut t = T::new();
    t.run("HSET h a 1 b 2");
    let digest = crate::digest::digest_value(&mut t.dbs[0], b"h", 0);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "6c8f22b3bf510fdcfd6122dd0f908a80e88243bf");
}

/// What a command journals for replicas.
fn journal(dbs: &mut [crate::Db], line: &str) -> Vec<(usize, Option<Vec<Bytes>>)> {
    let mut stats = crate::Stats::default();
    let mut effects = crate::Effects::default();
    let mut ctx = crate::ExecContext {
        now_ms: 1,
        stats: &mut stats,
        effects: Some(&mut effects),
    };
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    crate::commands::execute(dbs, 0, &args, &mut ctx);
    effects.writes
}

#[test]
fn journal_effects() {
    let mut dbs = vec![crate::Db::new()];
    let words = |s: &str| {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    };
    assert_eq!(
        journal(&mut dbs, "HINCRBYFLOAT h f 1.5"),
        vec![(0, Some(words("HSET h f 1.5")))]
    );
    assert_eq!(journal(&mut dbs, "HSET h g 1"), vec![(0, None)]);
    assert!(journal(&mut dbs, "HSETNX h f 2").is_empty());
    assert!(journal(&mut dbs, "HDEL h nope").is_empty());
    assert!(journal(&mut dbs, "HINCRBY h f 1").is_empty());
    assert_eq!(journal(&mut dbs, "HDEL h f g"), vec![(0, None)]);
}
