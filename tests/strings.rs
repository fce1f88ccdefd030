//! String commands: GET/SET and friends, counters, ranges.
//! Expected replies are those of Redis 7.0.
mod common;

use common::*;

/// A TTL reply that must be in `lo..=hi`.
#[track_caller]
fn assert_between(r: Reply, lo: i64, hi: i64) {
    let v = r.as_int();
    assert!((lo..=hi).contains(&v), "{v} not in {lo}..={hi}");
}

#[test]
fn get_set_basic() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("GET missing", nil());
        r.check("SET k v", ok());
        r.check("GET k", bulk("v"));
        r.check("SET k other", ok());
        r.check("GET k", bulk("other"));
        // Binary-safe keys and values, including CRLF and NUL bytes.
        let key = b"bin\r\n\0key".to_vec();
        let val = b"\0\r\n\xff\xfe value".to_vec();
        r.check_cmd(&[b"SET".to_vec(), key.clone(), val.clone()], ok());
        r.check_cmd(&[b"GET".to_vec(), key.clone()], bulk(&val));
        // Empty value and empty key.
        r.check_cmd(&["SET", "empty", ""], ok());
        r.check_cmd(&["GET", "empty"], bulk(""));
        r.check_cmd(&["SET", "", "emptykey"], ok());
        r.check_cmd(&["GET", ""], bulk("emptykey"));
        // A 1 MiB value round-trips.
        let big = "x".repeat(1 << 20);
        r.check_cmd(&["SET", "big", &big], ok());
        r.check_cmd(&["GET", "big"], bulk(&big));
        r.check("STRLEN big", int(1 << 20));
        // Commands are case-insensitive.
        r.check("set lower v", ok());
        r.check("gEt lower", bulk("v"));
        // Also through redis-rs.
        let mut c = s.client();
        let () = redis::cmd("SET").arg("rs").arg(42).query(&mut c).unwrap();
        let v: i64 = redis::cmd("GET").arg("rs").query(&mut c).unwrap();
        assert_eq!(v, 42);
    });
}

#[test]
fn set_nx_xx_get() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET k v XX", nil());
        r.check("EXISTS k", int(0));
        r.check("SET k v NX", ok());
        r.check("SET k v2 NX", nil());
        r.check("GET k", bulk("v"));
        r.check("SET k v3 XX", ok());
        r.check("GET k", bulk("v3"));
        r.check("SET k v4 nx", nil());
        r.check("SET k v4 xX", ok());
        // GET returns the old value (nil when absent).
        r.check("SET g 1 GET", nil());
        r.check("SET g 2 GET", bulk("1"));
        r.check("GET g", bulk("2"));
        // NX + GET is allowed since 7.0: returns the old value, sets nothing.
        r.check("SET g 3 NX GET", bulk("2"));
        r.check("GET g", bulk("2"));
        r.check("SET g2 3 NX GET", nil());
        r.check("GET g2", bulk("3"));
        // XX + GET on a missing key.
        r.check("SET g3 1 XX GET", nil());
        r.check("EXISTS g3", int(0));
        r.check("SET g2 4 XX GET", bulk("3"));
        r.check("GET g2", bulk("4"));
    });
}

#[test]
fn set_expiry_options() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET k v EX 100", ok());
        assert_between(r.run("TTL k"), 99, 100);
        assert_between(r.run("PTTL k"), 98_000, 100_000);
        r.check("SET k v PX 100000", ok());
        assert_between(r.run("PTTL k"), 98_000, 100_000);
        r.check("SET k v EXAT 4000000000", ok());
        r.check("EXPIRETIME k", int(4_000_000_000));
        r.check("SET k v PXAT 4000000000123", ok());
        r.check("PEXPIRETIME k", int(4_000_000_000_123));
        // KEEPTTL keeps it; a plain SET clears it.
        r.check("SET k v2 KEEPTTL", ok());
        r.check("PEXPIRETIME k", int(4_000_000_000_123));
        r.check("GET k", bulk("v2"));
        r.check("SET k v3 KEEPTTL GET", bulk("v2"));
        r.check("PEXPIRETIME k", int(4_000_000_000_123));
        r.check("SET k v4", ok());
        r.check("TTL k", int(-1));
        r.check("PEXPIRETIME k", int(-1));
        // Absolute times in the past: accepted, key is gone at once.
        r.check("SET past v EXAT 1", ok());
        r.check("EXISTS past", int(0));
        r.check("GET past", nil());
        r.check("SET k old", ok());
        r.check("SET k new PXAT 1 GET", bulk("old"));
        r.check("EXISTS k", int(0));
        // NX + EX
        r.check("SET nx v NX EX 100", ok());
        assert_between(r.run("TTL nx"), 99, 100);
        r.check("SET nx v NX EX 200", nil());
        assert_between(r.run("TTL nx"), 99, 100);
        // Options are case-insensitive.
        r.check("SET ci v ex 100", ok());
        assert_between(r.run("TTL ci"), 99, 100);
    });
}

#[test]
fn set_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        for line in [
            "SET k v EX 10 PX 100",
            "SET k v EX 10 EXAT 4000000000",
            "SET k v NX XX",
            "SET k v KEEPTTL EX 10",
            "SET k v PX 10 KEEPTTL",
            "SET k v EX",
            "SET k v PX",
            "SET k v foo",
            "SET k v NX foo",
        ] {
            r.check(line, err(SYNTAX));
        }
        // Repeating the same option is accepted.
        r.check("SET k v EX 10 EX 10", ok());
        r.check("DEL k", int(1));
        for line in [
            "SET k v EX 0",
            "SET k v EX -1",
            "SET k v PX 0",
            "SET k v PX -100",
            "SET k v EXAT 0",
            "SET k v PXAT -1",
            "SET k v EX 9223372036854775807",
            "SET k v PX 9223372036854775807",
            "SET k v EXAT 9223372036854775807",
        ] {
            r.check(line, expire_err("set"));
        }
        r.check("SET k v EX abc", err(NOT_INT));
        r.check("SET k v PX 1.5", err(NOT_INT));
        r.check("SET k v EX 99999999999999999999", err(NOT_INT));
        r.check("SET k", arity_err("set"));
        r.check("SET", arity_err("set"));
        r.check("GET", arity_err("get"));
        r.check("GET a b", arity_err("get"));
        // No error left anything behind.
        r.check("EXISTS k", int(0));
        r.check("DBSIZE", int(0));
    });
}

#[test]
fn setnx_setex_psetex() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SETNX a 1", int(1));
        r.check("SETNX a 2", int(0));
        r.check("GET a", bulk("1"));
        r.check("SETEX a 100 x", ok());
        r.check("GET a", bulk("x"));
        assert_between(r.run("TTL a"), 99, 100);
        r.check("PSETEX a 100000 y", ok());
        r.check("GET a", bulk("y"));
        assert_between(r.run("PTTL a"), 98_000, 100_000);
        r.check("SETEX a 0 v", expire_err("setex"));
        r.check("SETEX a -5 v", expire_err("setex"));
        r.check("PSETEX a 0 v", expire_err("psetex"));
        r.check("SETEX a abc v", err(NOT_INT));
        r.check("SETEX a 10", arity_err("setex"));
        r.check("SETNX a", arity_err("setnx"));
        r.check("PSETEX a 10", arity_err("psetex"));
        // Errors did not touch the key.
        r.check("GET a", bulk("y"));
    });
}

#[test]
fn getset_getdel_getex() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("GETSET gs 1", nil());
        r.check("GETSET gs 2", bulk("1"));
        r.check("GET gs", bulk("2"));
        r.check("SET t v EX 100", ok());
        r.check("GETSET t w", bulk("v"));
        r.check("TTL t", int(-1));

        r.check("GETDEL gs", bulk("2"));
        r.check("GETDEL gs", nil());
        r.check("EXISTS gs", int(0));

        r.check("GETEX nokey", nil());
        r.check("GETEX nokey EX 100", nil());
        r.check("EXISTS nokey", int(0));
        r.check("SET gx v", ok());
        r.check("GETEX gx", bulk("v"));
        r.check("TTL gx", int(-1));
        r.check("GETEX gx EX 100", bulk("v"));
        assert_between(r.run("TTL gx"), 99, 100);
        r.check("GETEX gx PERSIST", bulk("v"));
        r.check("TTL gx", int(-1));
        r.check("GETEX gx PX 100000", bulk("v"));
        assert_between(r.run("PTTL gx"), 98_000, 100_000);
        r.check("GETEX gx EXAT 4000000000", bulk("v"));
        r.check("EXPIRETIME gx", int(4_000_000_000));
        r.check("GETEX gx PXAT 4000000000000", bulk("v"));
        r.check("PEXPIRETIME gx", int(4_000_000_000_000));
        r.check("GETEX gx EXAT 1", bulk("v"));
        r.check("EXISTS gx", int(0));

        r.check("SET gx v", ok());
        r.check("GETEX gx EX 0", expire_err("getex"));
        r.check("GETEX gx PX -1", expire_err("getex"));
        r.check("GETEX gx PERSIST EX 10", err(SYNTAX));
        r.check("GETEX gx EX 10 PX 10", err(SYNTAX));
        r.check("GETEX gx foo", err(SYNTAX));
        r.check("GETEX gx EX", err(SYNTAX));
        r.check("GETEX gx EX abc", err(NOT_INT));
        r.check("GETEX", arity_err("getex"));
        r.check("GETDEL", arity_err("getdel"));
        r.check("GETDEL a b", arity_err("getdel"));
        r.check("GETSET a", arity_err("getset"));
        r.check("TTL gx", int(-1));
    });
}

#[test]
fn mget_mset_msetnx() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MSET a 1 b 2 c 3", ok());
        r.check(
            "MGET a b nokey c",
            arr(vec![bulk("1"), bulk("2"), nil(), bulk("3")]),
        );
        r.check("MGET nokey", arr(vec![nil()]));
        r.check("MSET a 1 a 2", ok());
        r.check("GET a", bulk("2"));
        r.check("MSETNX a 9 d 4", int(0));
        r.check("EXISTS d", int(0));
        r.check("GET a", bulk("2"));
        r.check("MSETNX d 4 e 5", int(1));
        r.check("MGET d e", arr(vec![bulk("4"), bulk("5")]));
        // MSETNX with the same new key twice.
        r.check("MSETNX f 1 f 2", int(1));
        r.check("GET f", bulk("2"));
        // MSET clears TTLs like SET.
        r.check("SET t v EX 100", ok());
        r.check("MSET t w", ok());
        r.check("TTL t", int(-1));
        r.check("MSET a", arity_err("mset"));
        r.check("MSET a 1 b", arity_err("mset"));
        r.check("MSET", arity_err("mset"));
        r.check("MSETNX a 1 b", arity_err("msetnx"));
        r.check("MGET", arity_err("mget"));
        r.check("EXISTS b", int(1));
        r.check("GET b", bulk("2"));

        // Many keys (spread over every shard) in one MSET/MGET.
        let mut args = vec!["MSET".to_string()];
        for i in 0..500 {
            args.push(format!("many:{i}"));
            args.push(format!("val{i}"));
        }
        r.check_cmd(&args, ok());
        let mut get = vec!["MGET".to_string()];
        get.extend((0..500).map(|i| format!("many:{i}")));
        get.push("many:missing".into());
        let mut expect: Vec<Reply> = (0..500).map(|i| bulk(format!("val{i}"))).collect();
        expect.push(nil());
        r.check_cmd(&get, arr(expect));
        // MSETNX over many keys, one of which exists: nothing is set.
        let mut nx = vec!["MSETNX".to_string()];
        for i in 0..100 {
            nx.push(format!("nx:{i}"));
            nx.push("x".into());
        }
        nx.push("many:250".into());
        nx.push("x".into());
        r.check_cmd(&nx, int(0));
        r.check("EXISTS nx:0 nx:1 nx:50 nx:99", int(0));
        r.check("GET many:250", bulk("val250"));
        nx.truncate(nx.len() - 2);
        r.check_cmd(&nx, int(1));
        let mut ex = vec!["EXISTS".to_string()];
        ex.extend((0..100).map(|i| format!("nx:{i}")));
        r.check_cmd(&ex, int(100));
    });
}

#[test]
fn incr_decr() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("INCR n", int(1));
        r.check("INCR n", int(2));
        r.check("DECR n", int(1));
        r.check("INCRBY n 10", int(11));
        r.check("DECRBY n 20", int(-9));
        r.check("INCRBY n -1", int(-10));
        r.check("GET n", bulk("-10"));
        r.check("DECR fresh", int(-1));
        r.check("INCRBY fresh2 5", int(5));
        r.check("DECRBY fresh3 5", int(-5));
        r.check("SET n 100", ok());
        r.check("INCR n", int(101));
        // A TTL survives INCR.
        r.check("SET t 1 EX 100", ok());
        r.check("INCR t", int(2));
        assert_between(r.run("TTL t"), 99, 100);

        // Limits.
        r.check("SET n 9223372036854775806", ok());
        r.check("INCR n", int(i64::MAX));
        r.check("INCR n", err(OVERFLOW));
        r.check("INCRBY n 1", err(OVERFLOW));
        r.check("DECRBY n -1", err(OVERFLOW));
        r.check("GET n", bulk("9223372036854775807"));
        r.check("SET m -9223372036854775807", ok());
        r.check("DECR m", int(i64::MIN));
        r.check("DECR m", err(OVERFLOW));
        r.check("INCRBY m -1", err(OVERFLOW));
        r.check("INCRBY m 0", int(i64::MIN));
        r.check("SET n 5", ok());
        r.check(
            "DECRBY n -9223372036854775808",
            err("ERR decrement would overflow"),
        );
        r.check("INCRBY n -9223372036854775808", int(i64::MIN + 5));

        // Values that are not integers.
        r.check("SET s abc", ok());
        for v in [
            "abc",
            "1.5",
            " 1",
            "1 ",
            "01",
            "+1",
            "-0",
            "",
            "12345678901234567890",
            "0x10",
        ] {
            r.check_cmd(&["SET", "s", v], ok());
            r.check("INCR s", err(NOT_INT));
            r.check("DECR s", err(NOT_INT));
            r.check("INCRBY s 1", err(NOT_INT));
            r.check_cmd(&["GET", "s"], bulk(v));
        }
        r.check("SET s 0", ok());
        r.check("INCR s", int(1));
        r.check("SET s -9223372036854775808", ok());
        r.check("INCRBY s 0", int(i64::MIN));
        // Increments that are not integers.
        r.check("INCRBY n abc", err(NOT_INT));
        r.check("INCRBY n 1.5", err(NOT_INT));
        r.check("INCRBY n 9223372036854775808", err(NOT_INT));
        r.check_cmd(&["DECRBY", "n", ""], err(NOT_INT));
        r.check("INCR", arity_err("incr"));
        r.check("INCR a b", arity_err("incr"));
        r.check("INCRBY a", arity_err("incrby"));
        r.check("DECRBY a", arity_err("decrby"));
        r.check("DECR", arity_err("decr"));
        r.check("GET n", bulk("-9223372036854775803"));
    });
}

#[test]
fn incrbyfloat() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("INCRBYFLOAT f 1.5", bulk("1.5"));
        r.check("INCRBYFLOAT f 0.25", bulk("1.75"));
        r.check("INCRBYFLOAT f -1.75", bulk("0"));
        r.check("INCRBYFLOAT f 3", bulk("3"));
        r.check("GET f", bulk("3"));
        r.check("INCRBYFLOAT f 1e2", bulk("103"));
        r.check("INCRBYFLOAT f -103", bulk("0"));
        r.check("SET f 3.0", ok());
        r.check("INCRBYFLOAT f 0", bulk("3"));
        r.check("SET f 5.0e3", ok());
        r.check("INCRBYFLOAT f 1.5", bulk("5001.5"));
        r.check("SET f 10.5", ok());
        r.check("INCRBYFLOAT f 0.1", bulk("10.6"));
        r.check("SET f 10", ok());
        r.check("INCRBYFLOAT f -0.5", bulk("9.5"));
        r.check("INCR f", err(NOT_INT));
        // TTL survives.
        r.check("SET t 1 EX 100", ok());
        r.check("INCRBYFLOAT t 1", bulk("2"));
        assert_between(r.run("TTL t"), 99, 100);
        // Errors.
        r.check("SET s abc", ok());
        r.check("INCRBYFLOAT s 1", err(NOT_FLOAT));
        r.check("INCRBYFLOAT f abc", err(NOT_FLOAT));
        r.check_cmd(&["INCRBYFLOAT", "f", " 1"], err(NOT_FLOAT));
        r.check_cmd(&["INCRBYFLOAT", "f", ""], err(NOT_FLOAT));
        r.check_cmd(&["SET", "sp", " 1.5"], ok());
        r.check("INCRBYFLOAT sp 1", err(NOT_FLOAT));
        r.check_cmd(&["SET", "sp", "1.5 "], ok());
        r.check("INCRBYFLOAT sp 1", err(NOT_FLOAT));
        r.check(
            "INCRBYFLOAT f inf",
            err("ERR increment would produce NaN or Infinity"),
        );
        r.check(
            "INCRBYFLOAT f -inf",
            err("ERR increment would produce NaN or Infinity"),
        );
        r.check("INCRBYFLOAT f nan", err(NOT_FLOAT));
        r.check("GET f", bulk("9.5"));
        r.check("INCRBYFLOAT f", arity_err("incrbyfloat"));
    });
}

#[test]
fn append_strlen() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("STRLEN nokey", int(0));
        r.check("APPEND k ab", int(2));
        r.check("APPEND k cd", int(4));
        r.check("GET k", bulk("abcd"));
        r.check("STRLEN k", int(4));
        r.check_cmd(&["APPEND", "k", ""], int(4));
        r.check_cmd(&["APPEND", "e", ""], int(0));
        r.check("EXISTS e", int(1));
        r.check("GET e", bulk(""));
        // APPEND to a number, then use it as one.
        r.check("SET n 12", ok());
        r.check("INCR n", int(13));
        r.check("APPEND n 4", int(3));
        r.check("INCR n", int(135));
        r.check("STRLEN n", int(3));
        // TTL survives.
        r.check("SET t a EX 100", ok());
        r.check("APPEND t b", int(2));
        assert_between(r.run("TTL t"), 99, 100);
        r.check("APPEND k", arity_err("append"));
        r.check("STRLEN", arity_err("strlen"));
        r.check("STRLEN a b", arity_err("strlen"));
    });
}

#[test]
fn getrange_substr() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("GETRANGE nokey 0 -1", bulk(""));
        r.check("SET s Hello", ok());
        r.check("GETRANGE s 0 -1", bulk("Hello"));
        r.check("GETRANGE s 0 0", bulk("H"));
        r.check("GETRANGE s -3 -1", bulk("llo"));
        r.check("GETRANGE s 2 100", bulk("llo"));
        r.check("GETRANGE s 10 20", bulk(""));
        r.check("GETRANGE s 3 1", bulk(""));
        r.check("GETRANGE s -1 -5", bulk(""));
        r.check("GETRANGE s -100 2", bulk("Hel"));
        r.check("GETRANGE s 4 4", bulk("o"));
        // Redis 7.0 clamps a negative end to 0 before checking start > end,
        // so a range entirely before the string yields its first byte.
        r.check("GETRANGE s -100 -50", bulk("H"));
        r.check("SUBSTR s 1 2", bulk("el"));
        r.check("SUBSTR s 0 -1", bulk("Hello"));
        r.check("GETRANGE s a 1", err(NOT_INT));
        r.check("GETRANGE s 0 b", err(NOT_INT));
        r.check("GETRANGE s 0", arity_err("getrange"));
        r.check("SUBSTR s 0", arity_err("substr"));
        r.check_cmd(&["SET", "e", ""], ok());
        r.check("GETRANGE e 0 -1", bulk(""));
    });
}

#[test]
fn setrange() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET s Hello", ok());
        r.check("SETRANGE s 1 ipp", int(5));
        r.check("GET s", bulk("Hippo"));
        r.check("SETRANGE s 5 potamus", int(12));
        r.check("GET s", bulk("Hippopotamus"));
        // Padding with zero bytes.
        r.check("SETRANGE p 3 ab", int(5));
        r.check("GET p", bulk(b"\0\0\0ab"));
        r.check("SETRANGE s 14 !", int(15));
        r.check("GET s", bulk(b"Hippopotamus\0\0!"));
        // Empty value: no-op, does not create the key.
        r.check_cmd(&["SETRANGE", "nokey", "0", ""], int(0));
        r.check_cmd(&["SETRANGE", "nokey", "5", ""], int(0));
        r.check("EXISTS nokey", int(0));
        r.check_cmd(&["SETRANGE", "s", "100", ""], int(15));
        r.check("STRLEN s", int(15));
        // TTL survives.
        r.check("SET t abc EX 100", ok());
        r.check("SETRANGE t 0 X", int(3));
        r.check("GET t", bulk("Xbc"));
        assert_between(r.run("TTL t"), 99, 100);
        // Errors.
        r.check("SETRANGE s -1 x", err("ERR offset is out of range"));
        r.check(
            "SETRANGE s 536870912 x",
            err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
        );
        r.check("SETRANGE s abc x", err(NOT_INT));
        r.check("SETRANGE s 0", arity_err("setrange"));
        r.check("GET s", bulk(b"Hippopotamus\0\0!"));
    });
}

#[test]
fn redis_rs_typed_roundtrip() {
    use redis::Commands;
    with_servers(&[], |s| {
        let mut c = s.client();
        let _: () = c.set("a", "1").unwrap();
        let _: () = c.mset(&[("b", "2"), ("c", "3")]).unwrap();
        let v: Vec<Option<String>> = c.mget(&["a", "b", "c", "d"]).unwrap();
        assert_eq!(
            v,
            vec![Some("1".into()), Some("2".into()), Some("3".into()), None]
        );
        let n: i64 = c.incr("a", 41).unwrap();
        assert_eq!(n, 42);
        let f: f64 = c.incr("f", 2.5).unwrap();
        assert_eq!(f, 2.5);
        let len: usize = c.append("c", "xyz").unwrap();
        assert_eq!(len, 4);
        let e: String = redis::cmd("SET")
            .arg("x")
            .arg("1")
            .arg("EX")
            .arg(0)
            .query::<()>(&mut c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid expire time"), "{e}");
    });
}
