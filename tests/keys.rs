//! Generic key commands, expiry options, databases, and multi-key commands
//! over keys spread across every shard. Expected replies are Redis 7.0's.
mod common;

use common::*;
use std::collections::HashSet;

/// Enough keys that, whatever the hash, every shard owns some of them.
const SPREAD: usize = 200;

fn spread_keys(prefix: &str) -> Vec<String> {
    (0..SPREAD).map(|i| format!("{prefix}:{i}")).collect()
}

fn with_cmd(cmd: &str, keys: &[String]) -> Vec<String> {
    let mut v = vec![cmd.to_string()];
    v.extend(keys.iter().cloned());
    v
}

fn mset_all(r: &mut Raw, keys: &[String], val: &str) {
    let mut args = vec!["MSET".to_string()];
    for k in keys {
        args.push(k.clone());
        args.push(val.to_string());
    }
    r.check_cmd(&args, ok());
}

#[test]
fn del_unlink_exists_touch_type() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MSET a 1 b 2 c 3", ok());
        r.check("EXISTS a", int(1));
        r.check("EXISTS a a nokey b", int(3));
        r.check("TOUCH a a nokey b", int(3));
        r.check("TYPE a", status("string"));
        r.check("TYPE nokey", status("none"));
        r.check("DEL a a nokey", int(1));
        r.check("EXISTS a", int(0));
        r.check("UNLINK b c nokey", int(2));
        r.check("EXISTS a b c", int(0));
        r.check("DEL nokey", int(0));
        r.check("DBSIZE", int(0));
        for c in ["DEL", "UNLINK", "EXISTS", "TOUCH", "TYPE"] {
            r.check(c, arity_err(c));
        }
        r.check("TYPE a b", arity_err("type"));
    });
}

#[test]
fn multi_key_commands_across_shards() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let keys = spread_keys("spread");
        mset_all(&mut r, &keys, "v");
        r.check("DBSIZE", int(SPREAD as i64));
        r.check_cmd(&with_cmd("EXISTS", &keys), int(SPREAD as i64));
        // Duplicates are counted each time they exist.
        let mut dup = with_cmd("EXISTS", &keys);
        dup.extend(keys.iter().cloned());
        dup.push("missing".into());
        r.check_cmd(&dup, int(2 * SPREAD as i64));
        r.check_cmd(&with_cmd("TOUCH", &keys), int(SPREAD as i64));
        let got = r.cmd(&with_cmd("MGET", &keys));
        assert_eq!(got, Reply::bulks(&vec!["v"; SPREAD]));
        // KEYS sees every shard.
        let all = r.run("KEYS spread:*").as_string_set();
        assert_eq!(all, keys.iter().cloned().collect::<HashSet<_>>());
        // DEL half (every other key), with a missing key and a duplicate.
        let half: Vec<String> = keys.iter().step_by(2).cloned().collect();
        let mut del = with_cmd("DEL", &half);
        del.push("missing".into());
        del.push(half[0].clone());
        r.check_cmd(&del, int(half.len() as i64));
        r.check_cmd(
            &with_cmd("EXISTS", &keys),
            int((SPREAD - half.len()) as i64),
        );
        let got = r.cmd(&with_cmd("MGET", &keys));
        let expect: Vec<Reply> = (0..SPREAD)
            .map(|i| if i % 2 == 0 { nil() } else { bulk("v") })
            .collect();
        assert_eq!(got, arr(expect));
        r.check_cmd(
            &with_cmd("UNLINK", &keys),
            int((SPREAD - half.len()) as i64),
        );
        r.check("DBSIZE", int(0));
        r.check("KEYS *", arr(vec![]));
    });
}

#[test]
fn hash_tags() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MSET {user1}:a 1 {user1}:b 2 {user1}:c 3", ok());
        r.check(
            "MGET {user1}:a {user1}:b {user1}:c {user1}:d",
            arr(vec![bulk("1"), bulk("2"), bulk("3"), nil()]),
        );
        r.check("RENAME {user1}:a {user1}:z", ok());
        r.check("GET {user1}:z", bulk("1"));
        r.check("COPY {user1}:b {user1}:y", int(1));
        r.check("EXISTS {user1}:a {user1}:b {user1}:y {user1}:z", int(3));
        r.check("DEL {user1}:b {user1}:c {user1}:y {user1}:z", int(4));
        // Odd tags: empty braces and unclosed braces are plain key names.
        r.check("MSET {}x 1 {x 2 }{y} 3", ok());
        r.check(
            "MGET {}x {x }{y}",
            arr(vec![bulk("1"), bulk("2"), bulk("3")]),
        );
        r.check("DBSIZE", int(3));
    });
}

#[test]
fn rename_renamenx() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("RENAME nokey x", err("ERR no such key"));
        r.check("RENAMENX nokey x", err("ERR no such key"));
        r.check("SET a 1", ok());
        r.check("RENAME a b", ok());
        r.check("EXISTS a", int(0));
        r.check("GET b", bulk("1"));
        // Rename onto itself.
        r.check("RENAME b b", ok());
        r.check("GET b", bulk("1"));
        r.check("RENAMENX b b", int(0));
        // Overwrite an existing key; its TTL goes away, the source's stays.
        r.check("SET c 2 EX 100", ok());
        r.check("RENAME b c", ok());
        r.check("GET c", bulk("1"));
        r.check("TTL c", int(-1));
        r.check("SET t v PXAT 4000000000000", ok());
        r.check("RENAME t t2", ok());
        r.check("PEXPIRETIME t2", int(4_000_000_000_000));
        // RENAMENX.
        r.check("SET d 4", ok());
        r.check("RENAMENX c d", int(0));
        r.check("GET c", bulk("1"));
        r.check("GET d", bulk("4"));
        r.check("RENAMENX c e", int(1));
        r.check("EXISTS c", int(0));
        r.check("GET e", bulk("1"));
        r.check("RENAME a", arity_err("rename"));
        r.check("RENAMENX a", arity_err("renamenx"));
        // Renames between keys on every pair of shards.
        let keys = spread_keys("rn");
        r.check("SET rn:0 payload", ok());
        for w in keys.windows(2) {
            r.check_cmd(&["RENAME", &w[0], &w[1]], ok());
        }
        let last = keys.last().unwrap();
        r.check_cmd(&["GET", last], bulk("payload"));
        r.check_cmd(&with_cmd("EXISTS", &keys), int(1));
        r.check_cmd(&["RENAMENX", last, "rn:0"], int(1));
        r.check("GET rn:0", bulk("payload"));
    });
}

#[test]
fn copy() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("COPY nokey b", int(0));
        r.check("SET a 1", ok());
        r.check("COPY a b", int(1));
        r.check("GET b", bulk("1"));
        r.check("SET a 2", ok());
        r.check("GET b", bulk("1")); // independent copy
        r.check("COPY a b", int(0));
        r.check("GET b", bulk("1"));
        r.check("COPY a b REPLACE", int(1));
        r.check("GET b", bulk("2"));
        r.check(
            "COPY a a",
            err("ERR source and destination objects are the same"),
        );
        // TTL is copied; REPLACE drops the destination's own TTL.
        r.check("SET t v PXAT 4000000000000", ok());
        r.check("COPY t t2", int(1));
        r.check("PEXPIRETIME t2", int(4_000_000_000_000));
        r.check("SET d x EX 100", ok());
        r.check("COPY a d REPLACE", int(1));
        r.check("TTL d", int(-1));
        // Into another database.
        r.check("COPY a a DB 1", int(1));
        r.check("COPY t t DB 1", int(1));
        r.check("COPY a a DB 1", int(0));
        r.check("COPY b a DB 1 REPLACE", int(1));
        r.check("SELECT 1", ok());
        r.check("GET a", bulk("2"));
        r.check("PEXPIRETIME t", int(4_000_000_000_000));
        r.check("DBSIZE", int(2));
        r.check("SELECT 0", ok());
        r.check("GET a", bulk("2"));
        r.check("COPY a b DB 99", err("ERR DB index is out of range"));
        r.check("COPY a b DB abc", err(NOT_INT));
        r.check("COPY a b foo", err(SYNTAX));
        r.check("COPY a", arity_err("copy"));
        // Across shards.
        let keys = spread_keys("cp");
        r.check("SET cp:0 payload", ok());
        for w in keys.windows(2) {
            r.check_cmd(&["COPY", &w[0], &w[1]], int(1));
        }
        let got = r.cmd(&with_cmd("MGET", &keys));
        assert_eq!(got, Reply::bulks(&vec!["payload"; SPREAD]));
    });
}

#[test]
fn expire_ttl_persist() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("TTL nokey", int(-2));
        r.check("PTTL nokey", int(-2));
        r.check("EXPIRETIME nokey", int(-2));
        r.check("PEXPIRETIME nokey", int(-2));
        r.check("EXPIRE nokey 100", int(0));
        r.check("PERSIST nokey", int(0));
        r.check("SET k v", ok());
        r.check("TTL k", int(-1));
        r.check("PTTL k", int(-1));
        r.check("EXPIRETIME k", int(-1));
        r.check("PEXPIRETIME k", int(-1));
        r.check("PERSIST k", int(0));
        r.check("EXPIRE k 100", int(1));
        let ttl = r.run("TTL k").as_int();
        assert!((99..=100).contains(&ttl), "{ttl}");
        let pttl = r.run("PTTL k").as_int();
        assert!((98_000..=100_000).contains(&pttl), "{pttl}");
        r.check("PEXPIRE k 200000", int(1));
        let pttl = r.run("PTTL k").as_int();
        assert!((198_000..=200_000).contains(&pttl), "{pttl}");
        r.check("EXPIREAT k 4000000000", int(1));
        r.check("EXPIRETIME k", int(4_000_000_000));
        r.check("PEXPIRETIME k", int(4_000_000_000_000));
        r.check("PEXPIREAT k 4000000000600", int(1));
        r.check("PEXPIRETIME k", int(4_000_000_000_600));
        r.check("EXPIRETIME k", int(4_000_000_001)); // rounded
        r.check("PEXPIREAT k 4000000000400", int(1));
        r.check("EXPIRETIME k", int(4_000_000_000));
        r.check("PERSIST k", int(1));
        r.check("TTL k", int(-1));
        r.check("GET k", bulk("v"));
        // Expiring in the past deletes.
        r.check("EXPIRE k -1", int(1));
        r.check("EXISTS k", int(0));
        r.check("SET k v", ok());
        r.check("EXPIRE k 0", int(1));
        r.check("EXISTS k", int(0));
        r.check("SET k v", ok());
        r.check("EXPIREAT k 1", int(1));
        r.check("EXISTS k", int(0));
        r.check("SET k v", ok());
        r.check("PEXPIREAT k 100", int(1));
        r.check("EXISTS k", int(0));
        r.check("SET k v", ok());
        r.check("PEXPIRE k -5", int(1));
        r.check("GET k", nil());
        // Errors.
        r.check("SET k v", ok());
        r.check("EXPIRE k abc", err(NOT_INT));
        r.check("EXPIREAT k 1.5", err(NOT_INT));
        r.check("EXPIRE k 9223372036854775807", expire_err("expire"));
        r.check("PEXPIRE k 9223372036854775807", expire_err("pexpire"));
        r.check("EXPIREAT k 9223372036854775807", expire_err("expireat"));
        r.check("EXPIRE k 9223372036854775", expire_err("expire"));
        r.check("EXPIRE k", arity_err("expire"));
        r.check("PEXPIREAT k", arity_err("pexpireat"));
        r.check("TTL", arity_err("ttl"));
        r.check("PERSIST", arity_err("persist"));
        r.check("TTL k", int(-1));
    });
}

#[test]
fn expire_nx_xx_gt_lt() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET k v", ok());
        // No TTL: XX and GT refuse (no TTL counts as infinite), NX and LT set.
        r.check("EXPIREAT k 4000000000 XX", int(0));
        r.check("EXPIREAT k 4000000000 GT", int(0));
        r.check("TTL k", int(-1));
        r.check("EXPIREAT k 4000000000 LT", int(1));
        r.check("EXPIRETIME k", int(4_000_000_000));
        r.check("PERSIST k", int(1));
        r.check("EXPIREAT k 4000000000 NX", int(1));
        r.check("EXPIRETIME k", int(4_000_000_000));
        // With a TTL.
        r.check("EXPIREAT k 3000000000 NX", int(0));
        r.check("EXPIREAT k 4100000000 XX", int(1));
        r.check("EXPIRETIME k", int(4_100_000_000));
        r.check("EXPIREAT k 4000000000 GT", int(0));
        r.check("EXPIREAT k 4100000000 GT", int(0)); // equal is not greater
        r.check("EXPIREAT k 4200000000 GT", int(1));
        r.check("EXPIRETIME k", int(4_200_000_000));
        r.check("EXPIREAT k 4300000000 LT", int(0));
        r.check("EXPIREAT k 4200000000 LT", int(0));
        r.check("EXPIREAT k 4150000000 LT", int(1));
        r.check("EXPIRETIME k", int(4_150_000_000));
        r.check("PEXPIREAT k 4150000000001 GT", int(1));
        r.check("PEXPIRETIME k", int(4_150_000_000_001));
        r.check("EXPIRE k 100 LT", int(1));
        let ttl = r.run("TTL k").as_int();
        assert!((99..=100).contains(&ttl), "{ttl}");
        r.check("PEXPIRE k 500000 GT", int(1));
        r.check("EXPIRE k 100 GT", int(0));
        r.check("EXPIRE k 100 nx", int(0));
        r.check("EXPIRE k 100 xx lt", int(1));
        // Missing key.
        r.check("EXPIRE nokey 100 NX", int(0));
        r.check("EXPIRE nokey 100 LT", int(0));
        // Incompatible options.
        let nx_err = err("ERR NX and XX, GT or LT options at the same time are not compatible");
        r.check("EXPIRE k 10 NX XX", nx_err.clone());
        r.check("EXPIRE k 10 NX GT", nx_err.clone());
        r.check("PEXPIRE k 10 LT NX", nx_err.clone());
        r.check("EXPIREAT k 10 NX XX GT", nx_err);
        r.check(
            "EXPIRE k 10 GT LT",
            err("ERR GT and LT options at the same time are not compatible"),
        );
        r.check("EXPIRE k 10 foo", err("ERR Unsupported option foo"));
        r.check("PEXPIREAT k 10 bar", err("ERR Unsupported option bar"));
        let ttl = r.run("TTL k").as_int();
        assert!((99..=100).contains(&ttl), "{ttl}");
    });
}

#[test]
fn keys_patterns() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("KEYS *", arr(vec![]));
        r.check(
            "MSET hello 1 hallo 1 hxllo 1 h*llo 1 heeello 1 other 1",
            ok(),
        );
        let set = |r: &mut Raw, p: &str| r.cmd(&["KEYS", p]).as_string_set();
        let hs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        assert_eq!(
            set(&mut r, "*"),
            hs(&["hello", "hallo", "hxllo", "h*llo", "heeello", "other"])
        );
        assert_eq!(
            set(&mut r, "h?llo"),
            hs(&["hello", "hallo", "hxllo", "h*llo"])
        );
        assert_eq!(
            set(&mut r, "h*llo"),
            hs(&["hello", "hallo", "hxllo", "h*llo", "heeello"])
        );
        assert_eq!(set(&mut r, "h[ae]llo"), hs(&["hello", "hallo"]));
        assert_eq!(set(&mut r, "h[^e]llo"), hs(&["hallo", "hxllo", "h*llo"]));
        assert_eq!(set(&mut r, "h[a-f]llo"), hs(&["hello", "hallo"]));
        assert_eq!(set(&mut r, "h\\*llo"), hs(&["h*llo"]));
        assert_eq!(set(&mut r, "H*"), hs(&[]));
        assert_eq!(set(&mut r, "other"), hs(&["other"]));
        assert_eq!(set(&mut r, "nomatch"), hs(&[]));
        r.check("KEYS", arity_err("keys"));
        // Many keys across shards.
        let keys = spread_keys("kp");
        mset_all(&mut r, &keys, "1");
        let got = set(&mut r, "kp:*");
        assert_eq!(got, keys.iter().cloned().collect::<HashSet<_>>());
        let got = set(&mut r, "kp:1?");
        assert_eq!(got.len(), 10);
        // Expired keys are not listed.
        r.check("SET gone v PXAT 1", ok());
        r.check("SET willgo v", ok());
        r.check("PEXPIREAT willgo 1", int(1));
        assert!(set(&mut r, "*").is_disjoint(&hs(&["gone", "willgo"])));
    });
}

#[test]
fn randomkey() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("RANDOMKEY", nil());
        r.check("SET only v", ok());
        r.check("RANDOMKEY", bulk("only"));
        let keys = spread_keys("rk");
        mset_all(&mut r, &keys, "1");
        let all: HashSet<String> = keys.iter().cloned().chain(["only".into()]).collect();
        let mut seen = HashSet::new();
        for _ in 0..300 {
            let k = r.run("RANDOMKEY").as_string();
            assert!(all.contains(&k), "RANDOMKEY returned unknown key {k}");
            seen.insert(k);
        }
        // Random means more than one distinct key (and from several shards).
        assert!(
            seen.len() > 20,
            "RANDOMKEY returned only {} keys",
            seen.len()
        );
        r.check("RANDOMKEY x", arity_err("randomkey"));
        r.check("FLUSHDB", ok());
        r.check("RANDOMKEY", nil());
    });
}

#[test]
fn select_isolation() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut other = s.raw();
        r.check("SET k db0", ok());
        r.check("SELECT 1", ok());
        r.check("GET k", nil());
        r.check("DBSIZE", int(0));
        r.check("KEYS *", arr(vec![]));
        r.check("SET k db1", ok());
        r.check("SET only1 x", ok());
        r.check("GET k", bulk("db1"));
        // Another connection is still on db 0.
        other.check("GET k", bulk("db0"));
        other.check("EXISTS only1", int(0));
        other.check("DBSIZE", int(1));
        // DEL/RENAME/EXPIRE in db 1 do not affect db 0.
        r.check("RENAME k k2", ok());
        other.check("GET k", bulk("db0"));
        other.check("EXISTS k2", int(0));
        r.check("EXPIRE k2 -1", int(1));
        r.check("DBSIZE", int(1));
        // FLUSHDB only flushes the selected db.
        r.check("FLUSHDB", ok());
        r.check("DBSIZE", int(0));
        other.check("GET k", bulk("db0"));
        r.check("SELECT 15", ok());
        r.check("SET k db15", ok());
        r.check("SELECT 16", err("ERR DB index is out of range"));
        r.check("SELECT -1", err("ERR DB index is out of range"));
        r.check("SELECT abc", err(NOT_INT));
        r.check("GET k", bulk("db15"));
        r.check("SELECT 0", ok());
        r.check("GET k", bulk("db0"));
        // Many keys in several dbs across shards.
        let keys = spread_keys("sel");
        for db in ["2", "3"] {
            r.check_cmd(&["SELECT", db], ok());
            mset_all(&mut r, &keys, db);
        }
        r.check("SELECT 2", ok());
        r.check_cmd(&["GET", &keys[7]], bulk("2"));
        r.check("DBSIZE", int(SPREAD as i64));
        r.check("SELECT 3", ok());
        r.check_cmd(&["GET", &keys[7]], bulk("3"));
        r.check("FLUSHALL", ok());
        for db in ["0", "1", "2", "3", "15"] {
            r.check_cmd(&["SELECT", db], ok());
            r.check("DBSIZE", int(0));
        }
    });
}
