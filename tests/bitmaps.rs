//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP (within one shard and across
//! shards), and their replication. Expected replies are those of Redis 7.0.
mod common;

use common::*;
use std::time::{Duration, Instant};

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_ERR: &str = "ERR bit is not an integer or out of range";
const BITPOS_BIT_ERR: &str = "ERR The bit argument must be 1 or 0.";
const NOT_ERR: &str = "ERR BITOP NOT must be called with a single source key.";

/// Enough keys that, whatever the hash, every shard owns some of them.
const SPREAD: usize = 16;

fn spread_keys(prefix: &str) -> Vec<String> {
    (0..SPREAD).map(|i| format!("{prefix}:{i}")).collect()
}

/// `SET key value` with a binary value.
fn set_bytes(r: &mut Raw, key: &str, value: &[u8]) {
    r.check_cmd(&[b"SET".as_slice(), key.as_bytes(), value], ok());
}

#[test]
fn setbit_and_getbit() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        // SETBIT returns the old bit and creates a zero-padded raw string.
        r.check("SETBIT b 7 1", int(0));
        r.check("GET b", bulk(b"\x01"));
        r.check("OBJECT ENCODING b", bulk("raw"));
        r.check("SETBIT b 7 1", int(1));
        r.check("SETBIT b 7 0", int(1));
        r.check("SETBIT b 7 0", int(0));
        r.check("SETBIT b 0 1", int(0));
        r.check("GET b", bulk(b"\x80"));
        // Growing pads with zero bytes.
        r.check("SETBIT b 33 1", int(0));
        r.check("GET b", bulk(b"\x80\x00\x00\x00\x40"));
        r.check("STRLEN b", int(5));
        r.check("GETBIT b 0", int(1));
        r.check("GETBIT b 1", int(0));
        r.check("GETBIT b 33", int(1));
        // Past the end, and the largest offset, read as 0 without growing the string.
        r.check("GETBIT b 40", int(0));
        r.check("GETBIT b 4294967295", int(0));
        r.check("STRLEN b", int(5));
        r.check("GETBIT missing 3", int(0));
        r.check("EXISTS missing", int(0));
        // An int-encoded string is read and modified as its decimal text.
        r.check("SET n 12", ok());
        r.check("OBJECT ENCODING n", bulk("int"));
        r.check("GETBIT n 6", int(0));
        r.check("GETBIT n 7", int(1));
        r.check("GETBIT n 15", int(0));
        r.check("SETBIT n 6 1", int(0));
        r.check("GET n", bulk("32"));
        r.check("OBJECT ENCODING n", bulk("raw"));
        // SETBIT keeps the TTL.
        r.check("SET t abc EX 100", ok());
        r.check("SETBIT t 100 1", int(0));
        assert!((1..=100).contains(&r.run("TTL t").as_int()));
        // Binary contents.
        set_bytes(&mut r, "bin", b"\x00\xff");
        r.check("GETBIT bin 7", int(0));
        r.check("GETBIT bin 8", int(1));
        r.check("SETBIT bin 8 0", int(1));
        r.check("GET bin", bulk(b"\x00\x7f"));
        // Command names are case-insensitive.
        r.check("setBit lower 1 1", int(0));
        r.check("gEtbit lower 1", int(1));
    });
}

#[test]
fn setbit_and_getbit_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        for offset in ["-1", "4294967296", "1.0", "x", "", "99999999999999999999"] {
            r.check_cmd(&["SETBIT", "b", offset, "1"], err(OFFSET_ERR));
            r.check_cmd(&["GETBIT", "b", offset], err(OFFSET_ERR));
        }
        r.check_cmd(&["SETBIT", "b", "1\0", "1"], err(OFFSET_ERR));
        for value in ["2", "-1", "01", "+1", "x", "", "1.0"] {
            r.check_cmd(&["SETBIT", "b", "1", value], err(BIT_ERR));
        }
        // The offset is checked before the value.
        r.check("SETBIT b x y", err(OFFSET_ERR));
        r.check("EXISTS b", int(0));
        // GETBIT checks the offset even when the key is missing.
        r.check("GETBIT missing 4294967296", err(OFFSET_ERR));
        r.check("SETBIT b 1", arity_err("setbit"));
        r.check("SETBIT b 1 1 1", arity_err("setbit"));
        r.check("GETBIT b", arity_err("getbit"));
        r.check("GETBIT b 1 1", arity_err("getbit"));
        r.check("DBSIZE", int(0));
    });
}

#[test]
fn bitcount_ranges() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET f foobar", ok());
        // The examples of the Redis documentation.
        r.check("BITCOUNT f", int(26));
        r.check("BITCOUNT f 0 0", int(4));
        r.check("BITCOUNT f 1 1", int(6));
        r.check("BITCOUNT f 1 1 BYTE", int(6));
        r.check("BITCOUNT f 5 30 BIT", int(17));
        // Negative indexes count from the end; out-of-range ones are clamped.
        r.check("BITCOUNT f -2 -1", int(7));
        r.check("BITCOUNT f -1 -2", int(0));
        r.check("BITCOUNT f 0 -1", int(26));
        r.check("BITCOUNT f -100 100", int(26));
        r.check("BITCOUNT f 6 100", int(0));
        r.check("BITCOUNT f 3 1", int(0));
        r.check(
            "BITCOUNT f -9223372036854775808 9223372036854775807 bit",
            int(26),
        );
        r.check(
            "BITCOUNT f 9223372036854775807 -9223372036854775808",
            int(0),
        );
        // BIT ranges that start and end inside bytes.
        r.check("BITCOUNT f 0 -1 BIT", int(26));
        r.check("BITCOUNT f 1 6 BIT", int(4));
        r.check("BITCOUNT f 3 3 BIT", int(0));
        r.check("BITCOUNT f 1 1 BIT", int(1));
        r.check("BITCOUNT f -5 -1 BIT", int(2));
        r.check("BITCOUNT f -48 -41 BIT", int(4));
        r.check("BITCOUNT f 47 47 bit", int(0));
        r.check("BITCOUNT f 46 100 bit", int(1));
        r.check("BITCOUNT f 7 9 bit", int(1));
        // Missing keys, empty and int-encoded strings.
        r.check("BITCOUNT missing", int(0));
        r.check("BITCOUNT missing 0 -1 BIT", int(0));
        r.check_cmd(&["SET", "e", ""], ok());
        r.check("BITCOUNT e", int(0));
        r.check("BITCOUNT e 0 -1", int(0));
        r.check("BITCOUNT e 0 -1 BIT", int(0));
        r.check("SET n 255", ok());
        r.check("BITCOUNT n", int(11));
        r.check("BITCOUNT n 1 1", int(4));
        set_bytes(&mut r, "ones", &[0xff; 100]);
        r.check("BITCOUNT ones", int(800));
        r.check("BITCOUNT ones 3 797 BIT", int(795));
        r.check("BITCOUNT ones 10 -11", int(640));
    });
}

#[test]
fn bitcount_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET f foobar", ok());
        r.check("BITCOUNT f 1", err(SYNTAX));
        r.check("BITCOUNT f 1 2 3 4", err(SYNTAX));
        r.check("BITCOUNT f 1 2 bits", err(SYNTAX));
        r.check("BITCOUNT f a 1", err(NOT_INT));
        r.check("BITCOUNT f 1 b", err(NOT_INT));
        r.check("BITCOUNT f a b x", err(NOT_INT));
        r.check("BITCOUNT f 9223372036854775808 1", err(NOT_INT));
        // The unit is compared as a C string.
        r.check_cmd(&["BITCOUNT", "f", "0", "0", "bit\0junk"], int(0));
        r.check("BITCOUNT f 0 0 byte", int(4));
        r.check("BITCOUNT f 0 0 BiT", int(0));
        // Redis 7.0 looks the key up first: a missing key counts 0 whatever the arguments.
        r.check("BITCOUNT missing 1", int(0));
        r.check("BITCOUNT missing a b", int(0));
        r.check("BITCOUNT missing 1 2 3 4 5", int(0));
        r.check("BITCOUNT", arity_err("bitcount"));
    });
}

#[test]
fn bitpos_ranges() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        // The examples of the Redis documentation.
        set_bytes(&mut r, "a", b"\xff\xf0\x00");
        r.check("BITPOS a 0", int(12));
        set_bytes(&mut r, "b", b"\x00\xff\xf0");
        r.check("BITPOS b 1 0", int(8));
        r.check("BITPOS b 1 2", int(16));
        r.check("BITPOS b 1 2 -1 BYTE", int(16));
        r.check("BITPOS b 1 7 15 BIT", int(8));
        r.check("BITPOS b 1 7 -3 BIT", int(8));
        set_bytes(&mut r, "z", b"\x00\x00\x00");
        r.check("BITPOS z 1", int(-1));
        r.check("BITPOS z 0", int(0));
        // Looking for 0 in all ones: past the end unless the range has an explicit end.
        set_bytes(&mut r, "ones", b"\xff\xff\xff");
        r.check("BITPOS ones 0", int(24));
        r.check("BITPOS ones 0 1", int(24));
        // Five arguments: the fifth is the end, not the unit.
        r.check("BITPOS ones 0 1 BIT", err(NOT_INT));
        r.check("BITPOS ones 0 0 -1", int(-1));
        r.check("BITPOS ones 0 0 -1 BIT", int(-1));
        r.check("BITPOS ones 0 3 20 BIT", int(-1));
        r.check("BITPOS ones 1 5", int(-1));
        r.check("BITPOS ones 1 -1", int(16));
        // BIT ranges that start and end inside bytes.
        set_bytes(&mut r, "m", b"\x81\x00\x81");
        r.check("BITPOS m 1 1 -1 BIT", int(7));
        r.check("BITPOS m 1 1 6 BIT", int(-1));
        r.check("BITPOS m 1 1 7 BIT", int(7));
        r.check("BITPOS m 1 8 16 BIT", int(16));
        r.check("BITPOS m 1 8 15 BIT", int(-1));
        r.check("BITPOS m 1 -8 -2 BIT", int(16));
        r.check("BITPOS m 1 -7 -2 BIT", int(-1));
        r.check("BITPOS m 0 0 0 BIT", int(-1));
        r.check("BITPOS m 0 0 1 BIT", int(1));
        r.check("BITPOS m 0 16 -1 BIT", int(17));
        r.check("BITPOS m 0 23 -1 BIT", int(-1));
        r.check("BITPOS m 0 23 23 BIT", int(-1));
        r.check("BITPOS m 1 5 2 BIT", int(-1));
        r.check(
            "BITPOS m 1 -9223372036854775808 9223372036854775807 BIT",
            int(0),
        );
        r.check("BITPOS m 0 9223372036854775807", int(-1));
        // Missing keys are endless zeros; empty strings hold no bit at all.
        r.check("BITPOS missing 0", int(0));
        r.check("BITPOS missing 1", int(-1));
        r.check("BITPOS missing 0 5 10 BIT", int(0));
        r.check_cmd(&["SET", "e", ""], ok());
        r.check("BITPOS e 0", int(-1));
        r.check("BITPOS e 1", int(-1));
        r.check("BITPOS e 0 0", int(-1));
        // An int-encoded string is searched as its decimal text ("1" is 0x31).
        r.check("SET n 1", ok());
        r.check("BITPOS n 1", int(2));
        r.check("BITPOS n 0 2 -1 BIT", int(4));
        // A long run before the match.
        let mut long = vec![0u8; 1000];
        long.push(0x08);
        set_bytes(&mut r, "long", &long);
        r.check("BITPOS long 1", int(8004));
        r.check("BITPOS long 1 3 999", int(-1));
        r.check("BITPOS long 1 8001 -1 BIT", int(8004));
        r.check("BITPOS long 0 -1", int(8000));
    });
}

#[test]
fn bitpos_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET f foobar", ok());
        r.check("BITPOS f 2", err(BITPOS_BIT_ERR));
        r.check("BITPOS f -1", err(BITPOS_BIT_ERR));
        r.check("BITPOS f 01", err(NOT_INT));
        r.check("BITPOS f x", err(NOT_INT));
        r.check("BITPOS f 1 x", err(NOT_INT));
        r.check("BITPOS f 1 0 x", err(NOT_INT));
        // The unit is checked after the start and before the end.
        r.check("BITPOS f 1 x 1 x", err(NOT_INT));
        r.check("BITPOS f 1 0 1 x", err(SYNTAX));
        r.check("BITPOS f 1 0 x x", err(SYNTAX));
        r.check("BITPOS f 1 0 1 bit extra", err(SYNTAX));
        // The bit is checked before the key; the range only for an existing key.
        r.check("BITPOS missing 3", err(BITPOS_BIT_ERR));
        r.check("BITPOS missing x", err(NOT_INT));
        r.check("BITPOS missing 1 x", int(-1));
        r.check("BITPOS missing 0 1 2 3 4 5", int(0));
        r.check("BITPOS f", arity_err("bitpos"));
        r.check("BITPOS", arity_err("bitpos"));
    });
}

#[test]
fn bitop_single_shard() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        // Hash tags keep every key on one shard.
        set_bytes(&mut r, "{t}a", b"\xf0\x0f\xaa");
        set_bytes(&mut r, "{t}b", b"\xff\x00");
        r.check("BITOP AND {t}d {t}a {t}b", int(3));
        r.check("GET {t}d", bulk(b"\xf0\x00\x00"));
        r.check("OBJECT ENCODING {t}d", bulk("raw"));
        r.check("BITOP OR {t}d {t}a {t}b", int(3));
        r.check("GET {t}d", bulk(b"\xff\x0f\xaa"));
        r.check("BITOP XOR {t}d {t}a {t}b", int(3));
        r.check("GET {t}d", bulk(b"\x0f\x0f\xaa"));
        r.check("BITOP NOT {t}d {t}a", int(3));
        r.check("GET {t}d", bulk(b"\x0f\xf0\x55"));
        r.check("bitop xor {t}d {t}a {t}a {t}b", int(3));
        r.check("GET {t}d", bulk(b"\xff\x00\x00"));
        // Missing keys are empty strings (zero-padded).
        r.check("BITOP OR {t}d {t}a {t}missing", int(3));
        r.check("GET {t}d", bulk(b"\xf0\x0f\xaa"));
        r.check("BITOP AND {t}d {t}a {t}missing", int(3));
        r.check("GET {t}d", bulk(b"\x00\x00\x00"));
        // An empty result deletes the destination.
        r.check("BITOP OR {t}d {t}missing {t}missing2", int(0));
        r.check("EXISTS {t}d", int(0));
        r.check("BITOP NOT {t}d {t}missing", int(0));
        r.check_cmd(&["SET", "{t}e", ""], ok());
        r.check("SET {t}d x", ok());
        r.check("BITOP AND {t}d {t}e {t}missing", int(0));
        r.check("EXISTS {t}d", int(0));
        // The destination loses its TTL; it may be a source too.
        r.check("SET {t}d x EX 100", ok());
        r.check("BITOP OR {t}d {t}d {t}b", int(2));
        r.check("GET {t}d", bulk(b"\xff\x00"));
        r.check("TTL {t}d", int(-1));
        // Int-encoded sources are their decimal text.
        r.check("SET {t}n 5", ok());
        r.check("BITOP OR {t}d {t}n", int(1));
        r.check("GET {t}d", bulk("5"));
        r.check("OBJECT ENCODING {t}d", bulk("raw"));
        r.check("BITCOUNT {t}d", int(4));
    });
}

#[test]
fn bitop_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("SET a x", ok());
        r.check("BITOP NAND d a", err(SYNTAX));
        r.check("BITOP andx d a", err(SYNTAX));
        r.check_cmd(&["BITOP", "and\0x", "d", "a"], int(1));
        r.check("BITOP NOT d a b", err(NOT_ERR));
        r.check("BITOP not d a a", err(NOT_ERR));
        r.check("BITOP AND", arity_err("bitop"));
        r.check("BITOP AND d", arity_err("bitop"));
        r.check("BITOP NOT", arity_err("bitop"));
        r.check("BITOP NOT d", arity_err("bitop"));
        // Syntax is checked before NOT's arity.
        r.check("BITOP NAND d a b", err(SYNTAX));
    });
}

/// A local model of BITOP, for sources of distinct lengths spread over the shards.
fn model_bitop(op: &str, sources: &[Vec<u8>]) -> Vec<u8> {
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|j| {
            let byte = |i: usize| sources[i].get(j).copied().unwrap_or(0);
            (1..sources.len()).fold(
                if op == "NOT" { !byte(0) } else { byte(0) },
                |acc, i| match op {
                    "AND" => acc & byte(i),
                    "OR" => acc | byte(i),
                    _ => acc ^ byte(i),
                },
            )
        })
        .collect()
}

#[test]
fn bitop_across_shards() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let keys = spread_keys("src");
        let mut values = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let value: Vec<u8> = (0..=i).map(|j| (i * 37 + j * 11 + 0x5a) as u8).collect();
            set_bytes(&mut r, key, &value);
            values.push(value);
        }
        for op in ["AND", "OR", "XOR"] {
            for (d, dest) in spread_keys(&format!("dst-{op}")).iter().enumerate() {
                // A varying subset of sources, with a missing key in the middle.
                let picked: Vec<usize> = (0..SPREAD).filter(|i| (i + d) % 3 != 0).collect();
                let mut cmd = vec!["BITOP".to_string(), op.to_string(), dest.clone()];
                let mut sources = Vec::new();
                for (n, &i) in picked.iter().enumerate() {
                    cmd.push(keys[i].clone());
                    sources.push(values[i].clone());
                    if n == 2 {
                        cmd.push(format!("missing:{d}"));
                        sources.push(Vec::new());
                    }
                }
                let expected = model_bitop(op, &sources);
                r.check_cmd(&cmd, int(expected.len() as i64));
                r.check_cmd(&["GET", dest.as_str()], bulk(&expected));
            }
        }
        for (i, key) in keys.iter().enumerate() {
            let dest = format!("not:{i}");
            r.check_cmd(&["BITOP", "NOT", &dest, key], int(i as i64 + 1));
            let expected = model_bitop("NOT", &values[i..=i]);
            r.check_cmd(&["GET", dest.as_str()], bulk(&expected));
        }
        // Every source at once, into one of the sources.
        let mut cmd = vec!["BITOP".to_string(), "XOR".to_string(), keys[3].clone()];
        cmd.extend(keys.iter().cloned());
        let expected = model_bitop("XOR", &values);
        r.check_cmd(&cmd, int(SPREAD as i64));
        r.check_cmd(&["GET", keys[3].as_str()], bulk(&expected));
        // An empty result deletes the destination wherever it lives; its TTL goes with a write.
        for dest in spread_keys("gone") {
            r.check_cmd(&["SET", dest.as_str(), "x", "EX", "100"], ok());
            let mut cmd = vec!["BITOP", "OR", dest.as_str()];
            cmd.extend(["m:1", "m:2", "m:3", "m:4"]);
            r.check_cmd(&cmd, int(0));
            r.check_cmd(&["EXISTS", dest.as_str()], int(0));
        }
        for dest in spread_keys("ttl") {
            r.check_cmd(&["SET", dest.as_str(), "x", "EX", "100"], ok());
            let mut cmd = vec!["BITOP", "AND", dest.as_str()];
            cmd.extend(keys.iter().map(String::as_str));
            r.check_cmd(&cmd, int(SPREAD as i64));
            r.check_cmd(&["TTL", dest.as_str()], int(-1));
            r.check_cmd(&["OBJECT", "ENCODING", dest.as_str()], bulk("raw"));
        }
        // Errors come before any key is touched.
        let mut cmd = vec!["BITOP", "NOT", "d"];
        cmd.extend(keys.iter().map(String::as_str));
        r.check_cmd(&cmd, err(NOT_ERR));
        cmd[1] = "NAND";
        r.check_cmd(&cmd, err(SYNTAX));
        r.check("EXISTS d", int(0));
    });
}

/// Polls DEBUG DIGEST until the replica's equals the primary's.
fn wait_same_digest(primary: &Server, replica: &Server) {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (want, got) = (primary.digest(), replica.digest());
        if want == got {
            return;
        }
        assert!(
            Instant::now() < end,
            "replica digest {got:?} never matched the primary's {want:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn bitmaps_replicate() {
    // Different shard counts on each side, so cross-shard BITOPs land differently.
    let pairs: &[(usize, usize)] = if against_redis() {
        &[(1, 1)]
    } else {
        &[(2, 1), (1, 2), (2, 2)]
    };
    for &(pt, rt) in pairs {
        eprintln!("--- primary --threads {pt}, replica --threads {rt}");
        let extra: &[&str] = if against_redis() {
            &["--repl-diskless-sync-delay", "0"]
        } else {
            &[]
        };
        let p = Server::start(pt, extra);
        let replica = Server::start_replica_of(rt, &p, &[]);
        let mut rr = replica.raw();
        wait_for("the replica to sync", Duration::from_secs(30), || {
            let info = rr.run("INFO replication").as_string();
            (info.contains("master_link_status:up") && info.contains("master_sync_in_progress:0"))
                .then_some(())
        });
        let mut r = p.raw();
        let keys = spread_keys("bm");
        for (i, key) in keys.iter().enumerate() {
            let offset = (i * 13).to_string();
            r.check_cmd(&["SETBIT", key.as_str(), offset.as_str(), "1"], int(0));
            r.check_cmd(&["SETBIT", key.as_str(), "3", "1"], int(0));
        }
        r.check("SET bm:n 42", ok());
        r.check("SETBIT bm:n 1 1", int(0));
        for (d, op) in ["AND", "OR", "XOR"].iter().enumerate() {
            let dest = format!("out:{op}");
            let mut cmd = vec!["BITOP".to_string(), op.to_string(), dest];
            cmd.extend(keys.iter().skip(d).cloned());
            assert!(r.cmd(&cmd).as_int() > 0);
        }
        r.check("BITOP NOT bm:0 bm:5", int(9));
        r.check("SET out:gone x EX 100", ok());
        r.check("BITOP OR out:gone nothing:1 nothing:2", int(0));
        r.check("SET out:ttl x EX 100", ok());
        r.check("BITOP OR out:ttl bm:1 bm:2 bm:n", int(4));
        wait_same_digest(&p, &replica);
        let mut rr = replica.raw();
        rr.check("EXISTS out:gone", int(0));
        rr.check("TTL out:ttl", int(-1));
        rr.check_cmd(&["GET", "out:OR"], r.run("GET out:OR"));
    }
}
