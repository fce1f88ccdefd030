//! Command tests. Expected replies were observed on redis-server 7.0.15.

use super::execute;
use crate::{Db, ExecContext, Stats};
use bytes::Bytes;
use damselfly_protocol::Frame;

pub(crate) struct T {
    pub dbs: Vec<Db>,
    pub db: usize,
    pub stats: Stats,
    pub now: u64,
}

impl T {
    pub fn new() -> T {
        T {
            dbs: (0..16).map(|_| Db::new()).collect(),
            db: 0,
            stats: Stats::default(),
            now: 1_700_000_000_000,
        }
    }

    pub fn raw(&mut self, args: &[&[u8]]) -> Frame {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut ctx = ExecContext {
            now_ms: self.now,
            stats: &mut self.stats,
            effects: None,
        };
        let r = execute(&mut self.dbs, self.db, &args, &mut ctx);
        for db in &self.dbs {
            db.check_invariants();
        }
        r
    }

    pub fn run(&mut self, line: &str) -> Frame {
        let args: Vec<&[u8]> = line.split(' ').map(|s| s.as_bytes()).collect();
        self.raw(&args)
    }
}

fn ok() -> Frame {
    Frame::OK
}
fn int(i: i64) -> Frame {
    Frame::Integer(i)
}
fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}
fn err(s: &str) -> Frame {
    Frame::error_owned(s.to_string())
}
fn null() -> Frame {
    Frame::Null
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

#[test]
fn get_set_basic() {
    let mut t = T::new();
    assert_eq!(t.run("GET k"), null());
    assert_eq!(t.run("SET k v"), ok());
    assert_eq!(t.run("get k"), bulk("v"));
    assert_eq!(t.run("SET k 123"), ok());
    assert_eq!(t.run("GET k"), bulk("123"));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("int"));
    assert_eq!(t.raw(&[b"SET", b"k", b""]), ok());
    assert_eq!(t.run("GET k"), bulk(""));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("embstr"));
    let long = "x".repeat(45);
    t.run(&format!("SET k {long}"));
    assert_eq!(t.run("GET k"), bulk(&long));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("raw"));
    let bin: Vec<u8> = (0..=255u8).collect();
    t.raw(&[b"SET", b"\x00bin\xff", &bin]);
    assert_eq!(
        t.raw(&[b"GET", b"\x00bin\xff"]),
        Frame::Bulk(Bytes::from(bin))
    );
}

#[test]
fn set_options() {
    let mut t = T::new();
    assert_eq!(t.run("SET k v NX"), ok());
    assert_eq!(t.run("SET k v2 NX"), null());
    assert_eq!(t.run("SET k v2 XX"), ok());
    assert_eq!(t.run("SET other v XX"), null());
    assert_eq!(t.run("GET other"), null());
    assert_eq!(t.run("SET k v3 GET"), bulk("v2"));
    assert_eq!(t.run("SET new v GET"), null());
    assert_eq!(t.run("GET new"), bulk("v"));
    // GET with NX returns the old value and does not set.
    assert_eq!(t.run("SET k zz GET NX"), bulk("v3"));
    assert_eq!(t.run("GET k"), bulk("v3"));
    assert_eq!(t.run("SET nx1 zz NX GET"), null());
    assert_eq!(t.run("GET nx1"), bulk("zz"));
    // Expiry options.
    assert_eq!(t.run("SET k v EX 10 EX 20"), ok());
    assert_eq!(t.run("TTL k"), int(20));
    assert_eq!(t.run("SET k v PX 1500"), ok());
    assert_eq!(t.run("PTTL k"), int(1500));
    assert_eq!(t.run("TTL k"), int(2));
    let at = t.now / 1000 + 100;
    assert_eq!(t.run(&format!("SET k v EXAT {at}")), ok());
    assert_eq!(t.run("TTL k"), int(100));
    assert_eq!(t.run(&format!("SET k v PXAT {}", t.now + 5000)), ok());
    assert_eq!(t.run("PTTL k"), int(5000));
    assert_eq!(t.run("SET k v2 KEEPTTL"), ok());
    assert_eq!(t.run("PTTL k"), int(5000));
    assert_eq!(t.run("SET k v3"), ok());
    assert_eq!(t.run("PTTL k"), int(-1));
    // Already-expired absolute time: stored, gone on next access.
    assert_eq!(t.run("SET k v EXAT 1"), ok());
    assert_eq!(t.run("EXISTS k"), int(0));
    assert_eq!(t.stats.expired_keys, 1);
    assert_eq!(t.run("SET k v pxat 1"), ok());
    assert_eq!(t.run("GET k"), null());
    // Lowercase / mixed case options.
    assert_eq!(t.run("set k v nX Ex 5"), ok());
    assert_eq!(t.run("TTL k"), int(5));
}

#[test]
fn set_errors() {
    let mut t = T::new();
    for bad in [
        "SET k v EX 10 PX 20",
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v KEEPTTL EX 5",
        "SET k v EX 5 KEEPTTL",
        "SET k v EX",
        "SET k v bogus",
        "SET k v PERSIST",
        "SET k v EXAT 5 PXAT 6",
    ] {
        assert_eq!(t.run(bad), err(SYNTAX), "{bad}");
    }
    let inv = err("ERR invalid expire time in 'set' command");
    assert_eq!(t.run("SET k v PX 9223372036854775807"), inv);
    assert_eq!(t.run("SET k v EX 9223372036854775"), inv);
    assert_eq!(t.run("SET k v EX 9223372036854776"), inv);
    assert_eq!(t.run("SET k v EX 0"), inv);
    assert_eq!(t.run("SET k v EX -1"), inv);
    assert_eq!(t.run("SET k v PXAT 0"), inv);
    assert_eq!(t.run("SET k v EX abc"), err(NOT_INT));
    assert_eq!(t.run("SET k v EX 1.5"), err(NOT_INT));
    assert_eq!(t.run("EXISTS k"), int(0));
    // C string option semantics: an option is read up to its first NUL.
    assert_eq!(t.raw(&[b"SET", b"k", b"v", b"ex\0zz", b"100"]), ok());
    assert_eq!(t.run("TTL k"), int(100));
    assert_eq!(t.raw(&[b"SET", b"k", b"v", b"nx\0"]), null());
    assert_eq!(
        t.raw(&[b"SET", b"k"]),
        err("ERR wrong number of arguments for 'set' command")
    );
}

#[test]
fn setnx_setex_psetex() {
    let mut t = T::new();
    assert_eq!(t.run("SETNX k v"), int(1));
    assert_eq!(t.run("SETNX k v2"), int(0));
    assert_eq!(t.run("GET k"), bulk("v"));
    assert_eq!(t.run("SETEX k 10 v3"), ok());
    assert_eq!(t.run("TTL k"), int(10));
    assert_eq!(t.run("PSETEX k 2500 v4"), ok());
    assert_eq!(t.run("PTTL k"), int(2500));
    assert_eq!(t.run("GET k"), bulk("v4"));
    assert_eq!(
        t.run("SETEX k 0 v"),
        err("ERR invalid expire time in 'setex' command")
    );
    assert_eq!(
        t.run("PSETEX k -1 v"),
        err("ERR invalid expire time in 'psetex' command")
    );
    assert_eq!(t.run("SETEX k abc v"), err(NOT_INT));
    assert_eq!(
        t.run("SETEX k 10"),
        err("ERR wrong number of arguments for 'setex' command")
    );
}

#[test]
fn getset_getdel_getex() {
    let mut t = T::new();
    assert_eq!(t.run("GETSET k a"), null());
    assert_eq!(t.run("SET k v EX 100"), ok());
    assert_eq!(t.run("GETSET k 12"), bulk("v"));
    assert_eq!(t.run("TTL k"), int(-1));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("int"));
    assert_eq!(t.run("GETDEL k"), bulk("12"));
    assert_eq!(t.run("GETDEL k"), null());
    assert_eq!(t.run("EXISTS k"), int(0));

    assert_eq!(t.run("GETEX k"), null());
    assert_eq!(t.run("GETEX nokey EX -5"), null());
    t.run("SET k v");
    assert_eq!(t.run("GETEX k"), bulk("v"));
    assert_eq!(t.run("GETEX k EX 100"), bulk("v"));
    assert_eq!(t.run("TTL k"), int(100));
    assert_eq!(t.run("GETEX k PX 5000"), bulk("v"));
    assert_eq!(t.run("PTTL k"), int(5000));
    assert_eq!(t.run(&format!("GETEX k PXAT {}", t.now + 700)), bulk("v"));
    assert_eq!(t.run("PTTL k"), int(700));
    assert_eq!(t.run("GETEX k PERSIST"), bulk("v"));
    assert_eq!(t.run("TTL k"), int(-1));
    assert_eq!(t.run("GETEX k PERSIST EX 5"), err(SYNTAX));
    assert_eq!(t.run("GETEX k EX 5 PERSIST"), err(SYNTAX));
    assert_eq!(t.run("GETEX k NX"), err(SYNTAX));
    assert_eq!(t.run("GETEX k KEEPTTL"), err(SYNTAX));
    assert_eq!(t.run("GETEX k GET"), err(SYNTAX));
    assert_eq!(
        t.run("GETEX k EX -5"),
        err("ERR invalid expire time in 'getex' command")
    );
    assert_eq!(t.run("GETEX k EX x"), err(NOT_INT));
    // An absolute time in the past deletes the key (not counted as expired).
    assert_eq!(t.run("GETEX k EXAT 1"), bulk("v"));
    assert_eq!(t.run("EXISTS k"), int(0));
    assert_eq!(t.stats.expired_keys, 0);
}

#[test]
fn mget_mset_msetnx() {
    let mut t = T::new();
    assert_eq!(t.run("MSET a 1 b 2"), ok());
    assert_eq!(
        t.run("MGET a b c"),
        Frame::Array(vec![bulk("1"), bulk("2"), null()])
    );
    assert_eq!(
        t.run("MSET a 1 b"),
        err("ERR wrong number of arguments for 'mset' command")
    );
    assert_eq!(t.run("MSETNX a 5 c 3"), int(0));
    assert_eq!(t.run("EXISTS c"), int(0));
    assert_eq!(t.run("MSETNX c 3 d 4"), int(1));
    assert_eq!(t.run("MGET c d"), Frame::Array(vec![bulk("3"), bulk("4")]));
    assert_eq!(
        t.run("MSETNX e 3 e"),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    // MSET removes TTLs.
    t.run("SET a x EX 100");
    t.run("MSET a y");
    assert_eq!(t.run("TTL a"), int(-1));
    // Same key twice: last wins.
    t.run("MSET z 1 z 2");
    assert_eq!(t.run("GET z"), bulk("2"));
}

#[test]
fn incr_decr() {
    let mut t = T::new();
    assert_eq!(t.run("INCR n"), int(1));
    assert_eq!(t.run("INCRBY n 10"), int(11));
    assert_eq!(t.run("DECR n"), int(10));
    assert_eq!(t.run("DECRBY n 20"), int(-10));
    assert_eq!(
        t.run("DECRBY n -9223372036854775808"),
        err("ERR decrement would overflow")
    );
    assert_eq!(t.run("INCRBY n abc"), err(NOT_INT));
    assert_eq!(t.run("INCRBY n 1.5"), err(NOT_INT));
    t.run("SET n 9223372036854775807");
    assert_eq!(
        t.run("INCR n"),
        err("ERR increment or decrement would overflow")
    );
    t.run("SET n -9223372036854775808");
    assert_eq!(
        t.run("DECR n"),
        err("ERR increment or decrement would overflow")
    );
    for bad in [" 1", "01", "+1", "1.0", "abc", "-0", "1 "] {
        t.raw(&[b"SET", b"n", bad.as_bytes()]);
        assert_eq!(t.run("INCR n"), err(NOT_INT), "{bad}");
    }
    t.raw(&[b"SET", b"n", b"1\0"]);
    assert_eq!(t.run("INCR n"), err(NOT_INT));
    // TTL is kept, encoding is int.
    t.run("SET n 5 EX 100");
    assert_eq!(t.run("INCR n"), int(6));
    assert_eq!(t.run("TTL n"), int(100));
    assert_eq!(t.run("OBJECT ENCODING n"), bulk("int"));
    // Raw strings holding integers are accepted.
    t.run("SET r 1");
    t.run("APPEND r 2");
    assert_eq!(t.run("INCR r"), int(13));
    assert_eq!(t.run("OBJECT ENCODING r"), bulk("int"));
}

#[test]
fn incrbyfloat() {
    let mut t = T::new();
    assert_eq!(t.run("INCRBYFLOAT f 10.5"), bulk("10.5"));
    assert_eq!(t.run("INCRBYFLOAT f 0.1"), bulk("10.6"));
    assert_eq!(t.run("OBJECT ENCODING f"), bulk("embstr"));
    t.run("SET f 1");
    assert_eq!(t.run("INCRBYFLOAT f 2"), bulk("3"));
    assert_eq!(t.run("OBJECT ENCODING f"), bulk("embstr"));
    assert_eq!(
        t.run("INCRBYFLOAT f inf"),
        err("ERR increment would produce NaN or Infinity")
    );
    let nf = err("ERR value is not a valid float");
    for bad in ["nan", "1e5000", "1e-5000", " 1", "1 ", "1e", "abc"] {
        assert_eq!(t.raw(&[b"INCRBYFLOAT", b"f", bad.as_bytes()]), nf, "{bad}");
    }
    assert_eq!(t.raw(&[b"INCRBYFLOAT", b"f", b""]), nf);
    assert_eq!(t.raw(&[b"INCRBYFLOAT", b"f", b"2\0x"]), nf);
    assert_eq!(t.run("INCRBYFLOAT f +1.5"), bulk("4.5"));
    assert_eq!(t.run("INCRBYFLOAT f .5"), bulk("5"));
    assert_eq!(t.run("INCRBYFLOAT f 0x1p3"), bulk("13"));
    t.run("SET s abc");
    assert_eq!(t.run("INCRBYFLOAT s 1"), nf);
    t.raw(&[b"SET", b"s", b"1\0abc"]);
    assert_eq!(t.run("INCRBYFLOAT s 1"), nf);
    t.run("SET s 1e1");
    assert_eq!(t.run("INCRBYFLOAT s 1"), bulk("11"));
    t.run("SET g 0 EX 100");
    assert_eq!(t.run("INCRBYFLOAT g 1e300"), bulk("1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"));
    assert_eq!(t.run("OBJECT ENCODING g"), bulk("raw"));
    assert_eq!(t.run("TTL g"), int(100));
    assert_eq!(t.run("INCRBYFLOAT h -1e-20"), bulk("0"));
}

#[test]
fn append_strlen_getrange_setrange() {
    let mut t = T::new();
    assert_eq!(t.run("APPEND k 12"), int(2));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("int"));
    assert_eq!(t.run("APPEND k 3"), int(3));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("raw"));
    assert_eq!(t.run("GET k"), bulk("123"));
    assert_eq!(t.run("STRLEN k"), int(3));
    assert_eq!(t.run("STRLEN nokey"), int(0));
    t.run("SET n -12345");
    assert_eq!(t.run("STRLEN n"), int(6));
    assert_eq!(t.run("GETRANGE n 1 2"), bulk("12"));
    for _ in 0..1000 {
        t.run("APPEND big abcdefghij");
    }
    assert_eq!(t.run("STRLEN big"), int(10_000));

    t.run("SET k hello");
    assert_eq!(t.run("GETRANGE k -1 -5"), bulk(""));
    assert_eq!(t.run("GETRANGE k 0 -100"), bulk("h"));
    assert_eq!(t.run("GETRANGE k -100 -1"), bulk("hello"));
    assert_eq!(t.run("GETRANGE k 2 1"), bulk(""));
    assert_eq!(t.run("GETRANGE k 1 100"), bulk("ello"));
    assert_eq!(t.run("SUBSTR k 1 3"), bulk("ell"));
    assert_eq!(
        t.run("GETRANGE k -9223372036854775808 9223372036854775807"),
        bulk("hello")
    );
    assert_eq!(t.run("GETRANGE k a 1"), err(NOT_INT));
    assert_eq!(t.run("GETRANGE nokey 0 1"), bulk(""));
    t.raw(&[b"SET", b"e", b""]);
    assert_eq!(t.run("GETRANGE e 0 -1"), bulk(""));

    assert_eq!(t.run("SETRANGE k -1 x"), err("ERR offset is out of range"));
    assert_eq!(t.run("SETRANGE k a x"), err(NOT_INT));
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(t.run("SETRANGE k 9223372036854775807 x"), too_big);
    assert_eq!(t.run("SETRANGE k 536870912 x"), too_big);
    assert_eq!(t.raw(&[b"SETRANGE", b"nokey", b"0", b""]), int(0));
    assert_eq!(t.run("EXISTS nokey"), int(0));
    assert_eq!(t.raw(&[b"SETRANGE", b"k", b"1", b""]), int(5));
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("embstr"));
    assert_eq!(t.run("SETRANGE k 8 X"), int(9));
    assert_eq!(
        t.run("GET k"),
        Frame::Bulk(Bytes::from_static(b"hello\0\0\0X"))
    );
    assert_eq!(t.run("OBJECT ENCODING k"), bulk("raw"));
    assert_eq!(t.run("SETRANGE k 0 J"), int(9));
    assert_eq!(t.run("GETRANGE k 0 4"), bulk("Jello"));
    assert_eq!(t.run("SETRANGE n2 2 ab"), int(4));
    assert_eq!(t.run("GET n2"), Frame::Bulk(Bytes::from_static(b"\0\0ab")));
    assert_eq!(t.run("OBJECT ENCODING n2"), bulk("raw"));
    t.run("SET i 123");
    assert_eq!(t.run("SETRANGE i 1 9"), int(3));
    assert_eq!(t.run("GET i"), bulk("193"));
}

#[test]
fn del_exists_touch_type() {
    let mut t = T::new();
    t.run("MSET a 1 b 2 c 3");
    assert_eq!(t.run("EXISTS a b x a"), int(3));
    assert_eq!(t.run("DEL a x"), int(1));
    assert_eq!(t.run("UNLINK b c b"), int(2));
    assert!(t.dbs[0].is_empty());
    t.run("SET a 1");
    assert_eq!(t.run("TOUCH a b"), int(1));
    assert_eq!(t.run("TYPE a"), Frame::simple("string"));
    assert_eq!(t.run("TYPE b"), Frame::simple("none"));
    // DEL on an expired key counts it as expired, not deleted.
    t.run("SET e 1 PX 10");
    t.now += 11;
    assert_eq!(t.run("DEL e"), int(0));
    assert_eq!(t.stats.expired_keys, 1);
}

#[test]
fn keyspace_stats() {
    let mut t = T::new();
    t.run("SET a 1");
    let cases: &[(&str, u64, u64)] = &[
        ("GET a", 1, 0),
        ("GET x", 0, 1),
        ("EXISTS a x", 1, 1),
        ("TYPE a", 1, 0),
        ("TTL x", 0, 1),
        ("PTTL a", 1, 0),
        ("EXPIRETIME x", 0, 1),
        ("STRLEN x", 0, 1),
        ("GETRANGE x 0 1", 0, 1),
        ("MGET a x", 1, 1),
        ("TOUCH a x", 1, 1),
        ("OBJECT ENCODING x", 0, 1),
        ("OBJECT ENCODING a", 1, 0),
        ("INCR y", 0, 0),
        ("APPEND z z", 0, 0),
        ("SETRANGE z 0 a", 0, 0),
        ("SET a 2 GET", 1, 0),
        ("SET a 2", 0, 0),
        ("GETSET a 3", 1, 0),
        ("GETDEL y", 1, 0),
        ("GETEX x", 0, 1),
        ("COPY a b", 1, 0),
        ("COPY x b", 0, 1),
        ("MOVE x 1", 0, 0),
        ("RENAME z zz", 0, 0),
        ("RENAME nokey z", 0, 0),
        ("EXPIRE x 10", 0, 0),
        ("PERSIST x", 0, 0),
        ("DEL x", 0, 0),
        ("SETNX a 1", 0, 0),
        ("MSETNX q 1", 0, 0),
        ("INCRBYFLOAT x 1", 0, 0),
    ];
    for &(cmd, hits, misses) in cases {
        t.stats = Stats::default();
        t.run(cmd);
        assert_eq!(
            (t.stats.keyspace_hits, t.stats.keyspace_misses),
            (hits, misses),
            "{cmd}"
        );
    }
}

#[test]
fn rename_renamenx() {
    let mut t = T::new();
    assert_eq!(t.run("RENAME nokey x"), err("ERR no such key"));
    assert_eq!(t.run("RENAME nokey nokey"), err("ERR no such key"));
    assert_eq!(t.run("RENAMENX nokey x"), err("ERR no such key"));
    t.run("SET a 1 EX 100");
    assert_eq!(t.run("RENAME a a"), ok());
    assert_eq!(t.run("RENAMENX a a"), int(0));
    assert_eq!(t.run("RENAME a b"), ok());
    assert_eq!(t.run("EXISTS a"), int(0));
    assert_eq!(t.run("TTL b"), int(100));
    t.run("SET c 2");
    assert_eq!(t.run("RENAMENX b c"), int(0));
    assert_eq!(t.run("RENAMENX b d"), int(1));
    assert_eq!(t.run("RENAME d c"), ok());
    assert_eq!(t.run("GET c"), bulk("1"));
    assert_eq!(t.run("TTL c"), int(100));
    assert_eq!(t.dbs[0].len(), 1);
    // An expired source does not exist.
    t.run("SET e 1 PX 5");
    t.now += 10;
    assert_eq!(t.run("RENAME e f"), err("ERR no such key"));
    assert_eq!(t.stats.expired_keys, 1);
}

#[test]
fn copy_command() {
    let mut t = T::new();
    t.run("SET k hello EX 100");
    assert_eq!(
        t.run("COPY k k"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        t.run("COPY k k DB 0"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(t.run("COPY k k db 1"), int(1));
    t.db = 1;
    assert_eq!(t.run("GET k"), bulk("hello"));
    assert_eq!(t.run("TTL k"), int(100));
    t.db = 0;
    let range = err("ERR DB index is out of range");
    assert_eq!(t.run("COPY k kk DB 16"), range);
    assert_eq!(t.run("COPY k kk DB -1"), range);
    assert_eq!(t.run("COPY k kk DB abc"), err(NOT_INT));
    assert_eq!(
        t.run("COPY k kk DB 99999999999"),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(t.run("COPY k kk bogus"), err(SYNTAX));
    assert_eq!(t.run("COPY k kk DB"), err(SYNTAX));
    assert_eq!(t.run("COPY k kk REPLACE REPLACE"), int(1));
    assert_eq!(t.run("COPY k kk"), int(0));
    assert_eq!(t.run("COPY k kk REPLACE"), int(1));
    assert_eq!(t.run("COPY nokey kk REPLACE"), int(0));
    assert_eq!(t.raw(&[b"COPY", b"k", b"k2", b"db\0x", b"2"]), int(1));
    t.run("SET r 1");
    t.run("APPEND r 2");
    t.run("COPY r r2");
    assert_eq!(t.run("OBJECT ENCODING r2"), bulk("raw"));
    // Modifying the copy leaves the source alone.
    t.run("APPEND r2 3");
    assert_eq!(t.run("GET r"), bulk("12"));
}

#[test]
fn move_command() {
    let mut t = T::new();
    t.run("SET k v PX 5000");
    assert_eq!(
        t.run("MOVE k 0"),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(t.run("MOVE k 16"), err("ERR DB index is out of range"));
    assert_eq!(t.run("MOVE k abc"), err(NOT_INT));
    assert_eq!(t.run("MOVE nokey 1"), int(0));
    assert_eq!(t.run("MOVE k 1"), int(1));
    assert_eq!(t.run("EXISTS k"), int(0));
    t.db = 1;
    assert_eq!(t.run("PTTL k"), int(5000));
    t.run("SET j 1");
    t.db = 0;
    t.run("SET j 2");
    assert_eq!(t.run("MOVE j 1"), int(0));
    assert_eq!(t.run("GET j"), bulk("2"));
}

#[test]
fn expire_family() {
    let mut t = T::new();
    t.run("SET k hello");
    assert_eq!(
        t.run("EXPIRE k 100 NX XX"),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        t.run("EXPIRE k 100 GT LT"),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(
        t.run("EXPIRE k 100 NX GT"),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(t.run("EXPIRE k 100 foo"), err("ERR Unsupported option foo"));
    assert_eq!(t.run("EXPIRE k abc foo"), err("ERR Unsupported option foo"));
    assert_eq!(
        t.run("EXPIRE nokey 10 bogus"),
        err("ERR Unsupported option bogus")
    );
    assert_eq!(
        t.raw(&[b"EXPIRE", b"k", b"1", b"f\0oo"]),
        err("ERR Unsupported option f")
    );
    assert_eq!(
        t.raw(&[b"EXPIRE", b"k", b"1", b"f\r\noo"]),
        err("ERR Unsupported option f  oo")
    );
    assert_eq!(t.run("EXPIRE k abc"), err(NOT_INT));
    assert_eq!(
        t.run("EXPIRE k 9223372036854776"),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        t.run("EXPIRE k -9223372036854776"),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        t.run("PEXPIRE k 9223372036854775807"),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(
        t.run("EXPIREAT k 9223372036854776"),
        err("ERR invalid expire time in 'expireat' command")
    );
    assert_eq!(t.run("PEXPIREAT k 9223372036854775807"), int(1));
    assert_eq!(t.run("EXPIRETIME k"), int(9223372036854776));
    assert_eq!(t.run("PEXPIRETIME k"), int(9223372036854775807));
    assert_eq!(t.run("PEXPIREAT k 9223372036854775308"), int(1));
    assert_eq!(t.run("EXPIRETIME k"), int(9223372036854775));
    assert_eq!(t.run("PERSIST k"), int(1));
    assert_eq!(t.run("EXPIRE k 100 GT"), int(0));
    assert_eq!(t.run("EXPIRE k 100 XX"), int(0));
    assert_eq!(t.run("EXPIRE k 100 NX"), int(1));
    assert_eq!(t.run("EXPIRE k 100 NX"), int(0));
    assert_eq!(t.run("EXPIRE k 100 XX"), int(1));
    assert_eq!(t.run("EXPIRE k 200 GT"), int(1));
    assert_eq!(t.run("TTL k"), int(200));
    assert_eq!(t.run("EXPIRE k 100 GT"), int(0));
    assert_eq!(t.run("EXPIRE k 100 LT"), int(1));
    assert_eq!(t.run("TTL k"), int(100));
    assert_eq!(t.run("EXPIRE k 300 LT"), int(0));
    assert_eq!(t.run("EXPIRETIME k"), int((t.now / 1000 + 100) as i64));
    assert_eq!(t.run("PEXPIRETIME k"), int((t.now + 100_000) as i64));
    assert_eq!(t.run("PEXPIRE k 1234"), int(1));
    assert_eq!(t.run("PTTL k"), int(1234));
    assert_eq!(t.run("TTL k"), int(1));
    assert_eq!(t.run(&format!("EXPIREAT k {}", t.now / 1000 + 50)), int(1));
    assert_eq!(t.run(&format!("PEXPIREAT k {}", t.now + 50)), int(1));
    assert_eq!(t.run("PTTL k"), int(50));
    assert_eq!(t.run("PERSIST k"), int(1));
    assert_eq!(t.run("PERSIST k"), int(0));
    assert_eq!(t.run("PERSIST nokey"), int(0));
    assert_eq!(t.run("TTL k"), int(-1));
    assert_eq!(t.run("TTL nokey"), int(-2));
    assert_eq!(t.run("PEXPIRETIME nokey"), int(-2));
    assert_eq!(t.run("EXPIRETIME k"), int(-1));
    // LT on a key without TTL succeeds; GT fails.
    assert_eq!(t.run("EXPIRE k -1 GT"), int(0));
    assert_eq!(t.run("EXPIRE k 100 LT"), int(1));
    // Past times delete the key (not counted as expired).
    assert_eq!(t.run("EXPIRE k -1 LT"), int(1));
    assert_eq!(t.run("EXISTS k"), int(0));
    t.run("SET k v");
    assert_eq!(t.run("PEXPIREAT k 0"), int(1));
    assert_eq!(t.run("EXISTS k"), int(0));
    t.run("SET k v");
    assert_eq!(t.run(&format!("PEXPIREAT k {}", t.now)), int(1));
    assert_eq!(t.run("EXISTS k"), int(0));
    assert_eq!(t.run("EXPIRE nokey 10"), int(0));
    assert_eq!(t.stats.expired_keys, 0);
    // Lazy expiry: alive at exactly its expiry time, gone one ms later.
    t.run("SET k v PX 100");
    t.now += 100;
    assert_eq!(t.run("PTTL k"), int(0));
    assert_eq!(t.run("TTL k"), int(0));
    t.now += 1;
    assert_eq!(t.run("PTTL k"), int(-2));
    assert_eq!(t.stats.expired_keys, 1);
}

#[test]
fn ttl_rounding() {
    let mut t = T::new();
    t.run("SET k v PX 1499");
    assert_eq!(t.run("TTL k"), int(1));
    t.run("SET k v PX 1500");
    assert_eq!(t.run("TTL k"), int(2));
    t.run("SET k v PX 499");
    assert_eq!(t.run("TTL k"), int(0));
}

#[test]
fn object_command() {
    let mut t = T::new();
    assert_eq!(t.run("OBJECT ENCODING nokey"), null());
    assert_eq!(t.run("OBJECT FREQ nokey"), null());
    assert_eq!(t.run("OBJECT REFCOUNT nokey"), null());
    assert_eq!(t.run("OBJECT IDLETIME nokey"), null());
    t.run("SET k 1");
    assert_eq!(
        t.run("OBJECT FREQ k"),
        err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(
        t.run("OBJECT foo k"),
        err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")
    );
    assert_eq!(
        t.run("OBJECT encoding"),
        err("ERR wrong number of arguments for 'object|encoding' command")
    );
    assert_eq!(
        t.run("OBJECT ENCODING a b"),
        err("ERR wrong number of arguments for 'object|encoding' command")
    );
    assert_eq!(
        t.run("OBJECT help extra"),
        err("ERR wrong number of arguments for 'object|help' command")
    );
    assert_eq!(t.run("OBJECT REFCOUNT k"), int(2147483647));
    t.run("SET k 10000");
    assert_eq!(t.run("OBJECT REFCOUNT k"), int(1));
    t.run("SET k -1");
    assert_eq!(t.run("OBJECT REFCOUNT k"), int(1));
    t.run("SET k abc");
    assert_eq!(t.run("OBJECT REFCOUNT k"), int(1));
    assert_eq!(t.run("OBJECT IDLETIME k"), int(0));
    t.now += 10_000;
    assert_eq!(t.run("OBJECT IDLETIME k"), int(10));
    // NOTOUCH lookups do not reset the idle time; reads do.
    t.run("TYPE k");
    t.run("EXISTS k");
    t.run("TTL k");
    assert_eq!(t.run("OBJECT IDLETIME k"), int(10));
    t.run("GET k");
    assert_eq!(t.run("OBJECT IDLETIME k"), int(0));
    match t.run("OBJECT HELP") {
        Frame::Array(lines) => {
            assert_eq!(lines.len(), 15);
            assert_eq!(
                lines[0],
                Frame::simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dispatch_and_arity() {
    let mut t = T::new();
    assert_eq!(
        t.run("GET"),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        t.run("GET a b"),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        t.run("DEL"),
        err("ERR wrong number of arguments for 'del' command")
    );
    assert_eq!(t.raw(&[]), err("ERR empty command"));
    assert!(t.run("NOSUCHCOMMAND x").is_error());
    assert!(t.raw(&[&[b'x'; 100]]).is_error());
}

#[test]
fn lazy_expiry_on_every_access_path() {
    let mut t = T::new();
    for cmd in [
        "GET k",
        "EXISTS k",
        "TYPE k",
        "STRLEN k",
        "APPEND k x",
        "INCR k",
        "SETNX k 1",
        "TTL k",
        "PERSIST k",
        "EXPIRE k 10",
        "MGET k",
        "TOUCH k",
        "GETDEL k",
        "OBJECT ENCODING k",
    ] {
        t.dbs[0].clear();
        t.stats = Stats::default();
        t.run("SET k 5 PX 10");
        t.now += 11;
        t.run(cmd);
        assert_eq!(t.stats.expired_keys, 1, "{cmd}");
    }
}

fn dataset_digest(t: &mut T) -> String {
    let mut fin = [0u8; 20];
    for (j, db) in t.dbs.iter_mut().enumerate() {
        if let Some(d) = db.digest(0) {
            crate::mix_digest(&mut fin, &(j as u32).to_be_bytes());
            for (a, b) in fin.iter_mut().zip(d.iter()) {
                *a ^= b;
            }
        }
    }
    fin.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digests observed with DEBUG DIGEST on redis-server 7.0.15.
#[test]
fn digest_matches_redis() {
    let mut t = T::new();
    // DEBUG POPULATE 1000
    assert_eq!(
        t.dbs[0].populate(b"key", 0..1000, 0, &|_: &[u8]| true, None),
        1000
    );
    assert_eq!(
        dataset_digest(&mut t),
        "de87cf36afa8c921f610de73147c3c9363f314a3"
    );
    // DEBUG POPULATE 100 pre 5; DEBUG POPULATE 50 pre 12
    let mut t = T::new();
    assert_eq!(
        t.dbs[0].populate(b"pre", 0..100, 5, &|_: &[u8]| true, None),
        100
    );
    assert_eq!(
        t.dbs[0].populate(b"pre", 0..50, 12, &|_: &[u8]| true, None),
        0
    );
    assert_eq!(
        dataset_digest(&mut t),
        "76375e26177d15b07c9a0fd5c067b3bbaa266a61"
    );
    // A mixed dataset over three dbs, with TTLs and every string encoding.
    let mut t = T::new();
    t.run("SET a 1");
    t.run("SET b hello");
    t.run("SET c world");
    t.run("PEXPIREAT c 99999999999999");
    t.run("APPEND d 12");
    t.run("APPEND d 34");
    t.run(&format!("SET e {}", "x".repeat(60)));
    t.db = 2;
    t.run("SET a 1");
    t.run("INCRBYFLOAT f 1.5");
    t.db = 15;
    t.run("SET z -123 EX 1000");
    assert_eq!(
        dataset_digest(&mut t),
        "29b0efea745903337c19633f7cc5cc41ef015182"
    );
    let now = t.now;
    assert_eq!(
        hex(&crate::digest_value(&mut t.dbs[2], b"a", now)),
        "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da"
    );
    assert_eq!(
        hex(&crate::digest_value(&mut t.dbs[2], b"f", now)),
        "ced3b82c10166d0ab45ab07e697ae0c47a45f4e8"
    );
    assert_eq!(crate::digest_value(&mut t.dbs[2], b"nokey", now), [0u8; 20]);
}

mod no_panics {
    use super::T;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "get",
        "set",
        "setnx",
        "setex",
        "psetex",
        "getset",
        "getdel",
        "getex",
        "mget",
        "mset",
        "msetnx",
        "incr",
        "decr",
        "incrby",
        "decrby",
        "incrbyfloat",
        "append",
        "strlen",
        "getrange",
        "substr",
        "setrange",
        "del",
        "unlink",
        "exists",
        "touch",
        "type",
        "rename",
        "renamenx",
        "copy",
        "move",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "ttl",
        "pttl",
        "expiretime",
        "pexpiretime",
        "persist",
        "object",
    ];

    fn arg() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::sample::select(vec![
                "k",
                "k2",
                "0",
                "1",
                "-1",
                "ex",
                "px",
                "exat",
                "pxat",
                "nx",
                "xx",
                "gt",
                "lt",
                "get",
                "keepttl",
                "persist",
                "db",
                "replace",
                "encoding",
                "refcount",
                "help",
                "idletime",
                "freq",
                "9223372036854775807",
                "-9223372036854775808",
                "1e4932",
                "0x1p-16445",
                "inf",
                "536870000",
                "1.5",
                "",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..12),
        ]
    }

    fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
        (
            prop::sample::select(NAMES.to_vec()),
            prop::collection::vec(arg(), 0..7),
        )
            .prop_map(|(name, mut rest)| {
                rest.insert(0, name.as_bytes().to_vec());
                rest
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn random_commands_never_panic(cmds in prop::collection::vec(command(), 1..30), step in 0u64..5000) {
            let mut t = T::new();
            for cmd in cmds {
                let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
                let _ = t.raw(&args);
                t.now += step;
            }
        }
    }
}

/// Runs `line` with a journal and returns its effects as text: `db:ARGS` per write, `db:DEL key`
/// per expired key, in order (expired first).
fn effects_of(t: &mut T, line: &str) -> Vec<String> {
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    for db in &mut t.dbs {
        db.set_expiry_log(true);
    }
    let mut effects = crate::Effects::default();
    let mut ctx = ExecContext {
        now_ms: t.now,
        stats: &mut t.stats,
        effects: Some(&mut effects),
    };
    execute(&mut t.dbs, t.db, &args, &mut ctx);
    let text = |words: &[Bytes]| {
        words
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out: Vec<String> = effects
        .expired
        .iter()
        .map(|(db, key)| format!("{db}:DEL {}", String::from_utf8_lossy(key)))
        .collect();
    for (db, write) in &effects.writes {
        out.push(format!(
            "{db}:{}",
            write.as_deref().map_or(text(&args), text)
        ));
    }
    out
}

#[test]
fn effects_replay_the_same_way_anywhere() {
    let mut t = T::new();
    let now = t.now;
    assert_eq!(effects_of(&mut t, "SET k v"), ["0:SET k v"]);
    // Failed conditions and reads change nothing, so nothing is journaled.
    assert!(effects_of(&mut t, "SET k w NX").is_empty());
    assert!(effects_of(&mut t, "GET k").is_empty());
    assert!(effects_of(&mut t, "DEL nothing").is_empty());
    // Relative times become absolute.
    assert_eq!(
        effects_of(&mut t, "SET k v EX 10"),
        [format!("0:SET k v PXAT {}", now + 10_000)]
    );
    assert_eq!(
        effects_of(&mut t, "EXPIRE k 20"),
        [format!("0:PEXPIREAT k {}", now + 20_000)]
    );
    assert_eq!(effects_of(&mut t, "PERSIST k"), ["0:PERSIST k"]);
    assert_eq!(effects_of(&mut t, "EXPIRE k -1"), ["0:DEL k"]);
    // Float arithmetic is replayed as its result.
    assert_eq!(effects_of(&mut t, "INCRBYFLOAT f 1.5"), ["0:SET f 1.5"]);
    assert_eq!(effects_of(&mut t, "INCR n"), ["0:INCR n"]);
    // Moves become a deletion and a full write.
    assert_eq!(effects_of(&mut t, "RENAME f g"), ["0:DEL f", "0:SET g 1.5"]);
    assert_eq!(effects_of(&mut t, "MOVE g 3"), ["0:DEL g", "3:SET g 1.5"]);
    assert_eq!(effects_of(&mut t, "MSETNX a 1 b 2"), ["0:MSET a 1 b 2"]);
    // A key found expired is journaled as a deletion before the command.
    effects_of(&mut t, "SET e v PX 5");
    t.now += 10;
    assert_eq!(effects_of(&mut t, "GET e"), ["0:DEL e"]);
    assert_eq!(effects_of(&mut t, "APPEND e x"), ["0:APPEND e x"]);
}
