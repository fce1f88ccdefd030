//! Key expiry: lazy (on access) and active (background) removal.
mod common;

use common::*;
use std::time::Duration;

/// The server's clock in milliseconds, from TIME.
fn server_ms(r: &mut Raw) -> i64 {
    let t = r.run("TIME").as_strings();
    assert_eq!(t.len(), 2, "TIME reply {t:?}");
    let secs: i64 = t[0].parse().unwrap();
    let micros: i64 = t[1].parse().unwrap();
    secs * 1000 + micros / 1000
}

/// Polls the server clock until it is past `when_ms` (a key whose
/// PEXPIRETIME is `when_ms` is then logically expired). Touches no key.
fn wait_server_past(r: &mut Raw, when_ms: i64) {
    wait_for(
        "server clock to pass the expiry time",
        Duration::from_secs(10),
        || (server_ms(r) > when_ms).then_some(()),
    );
}

#[test]
fn lazy_expiry_single_key() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET k v PX 50", ok());
        let pttl = r.run("PTTL k").as_int();
        // (-2 if this machine was slow enough for the key to expire already)
        assert!(pttl == -2 || (0..=50).contains(&pttl), "PTTL {pttl}");
        // Poll until PTTL says the key is gone.
        wait_for("PTTL to report -2", Duration::from_secs(10), || {
            (r.run("PTTL k") == int(-2)).then_some(())
        });
        r.check("GET k", nil());
        r.check("EXISTS k", int(0));
        r.check("TTL k", int(-2));
        r.check("DBSIZE", int(0));
    });
}

#[test]
fn lazy_expiry_every_command_sees_the_key_as_missing() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let names = [
            "get",
            "exists",
            "ttl",
            "mget",
            "incr",
            "append",
            "setnx",
            "setnxopt",
            "rename",
            "copy",
            "type",
            "getrange",
            "strlen",
            "expire",
            "persist",
            "getdel",
            "getex",
            "getset",
            "xx",
            "touch",
            "renamenx",
            "del",
            "keys",
            "incrbyfloat",
            "setrange",
            "msetnx",
        ];
        for n in names {
            r.check_cmd(&["SET", &format!("x:{n}"), "old", "PX", "1000"], ok());
        }
        // Volatile keys that get rewritten without a TTL must survive.
        r.check("SET survive old PX 1000", ok());
        r.check("SET survive new", ok());
        r.check("SET keep old PX 1000", ok());
        r.check("SET keep new KEEPTTL", ok());
        r.check("SET moved v PX 1000", ok());
        r.check("RENAME moved moved2", ok());
        let when = r.run("PEXPIRETIME x:get").as_int();
        assert!(when > 0);
        let latest = r.run("PEXPIRETIME moved2").as_int();
        wait_server_past(&mut r, when.max(latest));

        r.check("GET x:get", nil());
        r.check("EXISTS x:exists", int(0));
        r.check("TTL x:ttl", int(-2));
        r.check("MGET x:mget x:mget", arr(vec![nil(), nil()]));
        r.check("INCR x:incr", int(1));
        r.check("APPEND x:append new", int(3));
        r.check("GET x:append", bulk("new"));
        r.check("SETNX x:setnx new", int(1));
        r.check("SET x:setnxopt new NX", ok());
        r.check("RENAME x:rename other", err("ERR no such key"));
        r.check("COPY x:copy other", int(0));
        r.check("TYPE x:type", status("none"));
        r.check("GETRANGE x:getrange 0 -1", bulk(""));
        r.check("STRLEN x:strlen", int(0));
        r.check("EXPIRE x:expire 100", int(0));
        r.check("PERSIST x:persist", int(0));
        r.check("GETDEL x:getdel", nil());
        r.check("GETEX x:getex PERSIST", nil());
        r.check("GETSET x:getset new", nil());
        r.check("SET x:xx new XX", nil());
        r.check("TOUCH x:touch", int(0));
        r.check("RENAMENX x:renamenx other", err("ERR no such key"));
        r.check("DEL x:del", int(0));
        r.check("KEYS x:keys", arr(vec![]));
        r.check("INCRBYFLOAT x:incrbyfloat 1.5", bulk("1.5"));
        r.check("SETRANGE x:setrange 2 ab", int(4));
        r.check("GET x:setrange", bulk(b"\0\0ab"));
        r.check("MSETNX x:msetnx new", int(1));
        r.check("GET survive", bulk("new"));
        r.check("GET keep", nil());
        r.check("GET moved", nil());
        r.check("GET moved2", nil());
        // The recreated keys carry no TTL.
        r.check("TTL x:incr", int(-1));
        r.check("TTL x:setnx", int(-1));
    });
}

#[test]
fn lazy_expiry_many_keys_across_shards() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let n = 5000;
        let keys: Vec<String> = (0..n).map(|i| format!("lazy:{i}")).collect();
        // Pipeline the SETs in one write.
        let mut buf = Vec::new();
        for k in &keys {
            buf.extend(encode_cmd(&["SET", k, "v", "PX", "200"]));
        }
        r.send(&buf).unwrap();
        for reply in r.read_replies(n) {
            assert_eq!(reply, ok());
        }
        let when = r.cmd(&["PEXPIRETIME", &keys[n - 1]]).as_int();
        wait_server_past(&mut r, when);
        let mut mget = vec!["MGET".to_string()];
        mget.extend(keys.iter().cloned());
        assert_eq!(r.cmd(&mget), arr(vec![nil(); n]));
        let mut exists = vec!["EXISTS".to_string()];
        exists.extend(keys.iter().cloned());
        r.check_cmd(&exists, int(0));
        r.check("KEYS lazy:*", arr(vec![]));
        r.check("DBSIZE", int(0));
    });
}

#[test]
fn active_expiry_removes_untouched_keys() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let before: i64 = s
            .info_field("stats", "expired_keys")
            .expect("expired_keys in INFO stats")
            .parse()
            .unwrap();
        let mut buf = Vec::new();
        for i in 0..1000 {
            buf.extend(encode_cmd(&["SET", &format!("act:{i}"), "v", "PX", "100"]));
        }
        for i in 0..10 {
            buf.extend(encode_cmd(&["SET", &format!("stay:{i}"), "v"]));
        }
        buf.extend(encode_cmd(&["SELECT", "1"]));
        for i in 0..200 {
            buf.extend(encode_cmd(&["SET", &format!("act1:{i}"), "v", "PX", "100"]));
        }
        buf.extend(encode_cmd(&["SELECT", "0"]));
        r.send(&buf).unwrap();
        for reply in r.read_replies(1212) {
            assert_eq!(reply, ok());
        }
        // (No assertion on the count here: on a loaded machine some keys may
        // already be gone.)
        // Never touch the keys: only DBSIZE and INFO until they are gone.
        wait_for(
            "active expiry to remove 1000 keys",
            Duration::from_secs(10),
            || (r.run("DBSIZE") == int(10)).then_some(()),
        );
        wait_for("active expiry in db 1", Duration::from_secs(10), || {
            s.info_field("keyspace", "db1").is_none().then_some(())
        });
        let db0 = s.info_field("keyspace", "db0").expect("db0 line");
        assert!(db0.starts_with("keys=10,expires=0,avg_ttl="), "{db0}");
        let after: i64 = s
            .info_field("stats", "expired_keys")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after - before >= 1200, "expired_keys {before} -> {after}");
        r.check("GET stay:3", bulk("v"));
    });
}
