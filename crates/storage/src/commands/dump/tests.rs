//! DUMP / RESTORE. Expected replies and payloads were observed on redis-server 7.0.15.

use super::dump_payload;
use crate::commands::execute;
use crate::commands::tests::T;
use crate::value::Value;
use crate::ExecContext;
use bytes::Bytes;
use damselfly_protocol::Frame;

fn err(s: &str) -> Frame {
    Frame::error_owned(s.to_string())
}

fn bulk(b: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(b))
}

fn dumped(t: &mut T, key: &str) -> Vec<u8> {
    match t.raw(&[b"DUMP", key.as_bytes()]) {
        Frame::Bulk(b) => b.to_vec(),
        other => panic!("DUMP {key}: {other:?}"),
    }
}

/// A payload with a valid footer around `body`.
fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = damselfly_rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn dump_is_byte_compatible_with_redis() {
    let mut t = T::new();
    t.run("SET k hello");
    t.run("SET n 12345");
    t.raw(&[b"SET", b"big", "abcdefgh".repeat(20).as_bytes()]);
    assert_eq!(dumped(&mut t, "k"), b"\x00\x05hello\n\x00cr\xdfve4 \n");
    assert_eq!(
        dumped(&mut t, "n"),
        b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9"
    );
    assert_eq!(
        dumped(&mut t, "big"),
        b"\x00\xc3\x10@\xa0\x08abcdefgha\xe0\x8c\x07\x01gh\n\x00\xa2\xb2\xee\x8c\xb4w\xf1J"
    );
    assert_eq!(t.run("DUMP missing"), Frame::Null);
    assert_eq!(
        t.run("DUMP"),
        err("ERR wrong number of arguments for 'dump' command")
    );
}

#[test]
fn restore_round_trips_and_keeps_encodings() {
    let mut t = T::new();
    t.run("SET n 12345");
    t.raw(&[b"SET", b"s", &[b'x'; 100]]);
    for (src, dst, encoding) in [("n", "n2", "int"), ("s", "s2", "raw")] {
        let payload = dumped(&mut t, src);
        assert_eq!(
            t.raw(&[b"RESTORE", dst.as_bytes(), b"0", &payload]),
            Frame::OK
        );
        assert_eq!(
            t.raw(&[b"GET", dst.as_bytes()]),
            t.raw(&[b"GET", src.as_bytes()])
        );
        assert_eq!(
            t.raw(&[b"OBJECT", b"ENCODING", dst.as_bytes()]),
            bulk(encoding.as_bytes())
        );
        assert_eq!(t.raw(&[b"TTL", dst.as_bytes()]), Frame::Integer(-1));
    }
    let payload = dumped(&mut t, "n");
    assert_eq!(
        t.raw(&[b"RESTORE", b"n2", b"0", &payload]),
        err("BUSYKEY Target key name already exists.")
    );
    let other = dumped(&mut t, "s");
    assert_eq!(
        t.raw(&[b"RESTORE", b"n2", b"0", &other, b"replace"]),
        Frame::OK
    );
    assert_eq!(t.run("STRLEN n2"), Frame::Integer(100));
}

#[test]
fn restore_ttls_and_options() {
    let mut t = T::new();
    t.run("SET k v");
    let p = dumped(&mut t, "k");
    assert_eq!(t.raw(&[b"RESTORE", b"a", b"5000", &p]), Frame::OK);
    assert_eq!(t.run("PTTL a"), Frame::Integer(5000));
    let at = (t.now + 9000).to_string();
    assert_eq!(
        t.raw(&[b"RESTORE", b"b", at.as_bytes(), &p, b"ABSTTL"]),
        Frame::OK
    );
    assert_eq!(t.run("PTTL b"), Frame::Integer(9000));
    // Already expired: OK, nothing created; REPLACE still removes the old key.
    let past = (t.now - 1).to_string();
    assert_eq!(
        t.raw(&[b"RESTORE", b"c", past.as_bytes(), &p, b"ABSTTL"]),
        Frame::OK
    );
    assert_eq!(t.run("EXISTS c"), Frame::Integer(0));
    assert_eq!(
        t.raw(&[b"RESTORE", b"a", past.as_bytes(), &p, b"ABSTTL", b"REPLACE"]),
        Frame::OK
    );
    assert_eq!(t.run("EXISTS a"), Frame::Integer(0));

    assert_eq!(
        t.raw(&[b"RESTORE", b"i", b"0", &p, b"IDLETIME", b"100"]),
        Frame::OK
    );
    assert_eq!(t.run("OBJECT IDLETIME i"), Frame::Integer(100));
    assert_eq!(
        t.raw(&[b"RESTORE", b"f", b"0", &p, b"FREQ", b"5"]),
        Frame::OK
    );

    for (args, want) in [
        (
            &[&b"k2"[..], b"-1"][..],
            "ERR Invalid TTL value, must be >= 0",
        ),
        (
            &[b"k2", b"abc"],
            "ERR value is not an integer or out of range",
        ),
        (&[b"k", b"0", b"foo"], "ERR syntax error"),
        (
            &[b"k2", b"0", b"idletime", b"-1"],
            "ERR Invalid IDLETIME value, must be >= 0",
        ),
        (
            &[b"k2", b"0", b"freq", b"256"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            &[b"k2", b"0", b"idletime", b"1", b"freq", b"1"],
            "ERR syntax error",
        ),
        (&[b"k2", b"0", b"idletime"], "ERR syntax error"),
        (&[b"k", b"0"], "BUSYKEY Target key name already exists."),
    ] {
        let mut cmd: Vec<&[u8]> = vec![b"RESTORE", args[0], args[1], &p];
        cmd.extend_from_slice(&args[2..]);
        assert_eq!(t.raw(&cmd), err(want), "{args:?}");
    }
}

#[test]
fn restore_rejects_bad_payloads() {
    let mut t = T::new();
    t.run("SET k hello");
    let good = dumped(&mut t, "k");
    let wrong = "ERR DUMP payload version or checksum are wrong";
    let mut flipped = good.clone();
    flipped[3] ^= 1;
    let newer = with_footer(&good[..good.len() - 10], 11);
    for p in [&b"x"[..], &good[..9], &flipped, &newer] {
        assert_eq!(t.raw(&[b"RESTORE", b"r", b"0", p]), err(wrong));
    }
    let older = with_footer(&good[..good.len() - 10], 9);
    assert_eq!(t.raw(&[b"RESTORE", b"r", b"0", &older]), Frame::OK);
    let mut empty_list = Vec::new();
    damselfly_rdb::encode_value(&damselfly_rdb::Value::List(Vec::new()), &mut empty_list);
    for body in [&b"\x00\x05hel"[..], b"\x07\x00", b"", &empty_list] {
        let p = with_footer(body, 10);
        assert_eq!(
            t.raw(&[b"RESTORE", b"r2", b"0", &p]),
            err("ERR Bad data format")
        );
    }
    assert_eq!(t.run("EXISTS r2"), Frame::Integer(0));
}

#[test]
fn relative_ttl_replays_as_absolute() {
    let mut t = T::new();
    t.run("SET k v");
    let p = Bytes::from(dump_payload(&Value::from_arg(b"v")));
    let args = vec![
        Bytes::from_static(b"RESTORE"),
        Bytes::from_static(b"r"),
        Bytes::from_static(b"5000"),
        p.clone(),
    ];
    let mut effects = crate::Effects::default();
    let mut ctx = ExecContext {
        now_ms: t.now,
        stats: &mut t.stats,
        effects: Some(&mut effects),
    };
    assert_eq!(execute(&mut t.dbs, 0, &args, &mut ctx), Frame::OK);
    let want = vec![
        Bytes::from_static(b"RESTORE"),
        Bytes::from_static(b"r"),
        Bytes::from((t.now + 5000).to_string()),
        p,
        Bytes::from_static(b"ABSTTL"),
    ];
    assert_eq!(effects.writes, vec![(0, Some(want))]);
}

/// A random string value: integers, compressible runs, random bytes, around Redis's encoding
/// boundaries (11-byte integers, 20-byte LZF threshold, 44-byte embstr).
fn random_value(g: &mut crate::commands::difftest::Gen) -> Vec<u8> {
    match g.next() % 6 {
        0 => (g.next() as i64 >> (g.next() % 64))
            .to_string()
            .into_bytes(),
        1 => format!("{}", g.next() % 100_000).into_bytes(),
        2 => {
            let unit = ["ab", "hello ", "x", "0123456789"][(g.next() % 4) as usize];
            unit.repeat((g.next() % 300) as usize).into_bytes()
        }
        3 => (0..g.next() % 60).map(|_| g.next() as u8).collect(),
        4 => (0..g.next() % 3000)
            .map(|_| b'a' + (g.next() % 3) as u8)
            .collect(),
        _ => ["007", "-0", "+5", " 1", "1e3", "3.14", ""][(g.next() % 7) as usize]
            .as_bytes()
            .to_vec(),
    }
}

/// DUMP and RESTORE against redis-server: identical payloads and replies.
/// `REDIS_DIFF_PORT=7106 cargo test -p damselfly-storage differential_dump -- --ignored`
#[test]
#[ignore]
fn differential_dump() {
    use crate::commands::difftest::{from_frame, redis_from_env, Gen};
    let Some(mut redis) = redis_from_env() else {
        return;
    };
    for seed in 1..=3u64 {
        redis.call(&[b"FLUSHALL".to_vec()]);
        let mut t = T::new();
        let mut g = Gen(seed);
        for step in 0..2000 {
            let key = format!("k{}", g.next() % 20).into_bytes();
            let cmd: Vec<Vec<u8>> = match g.next() % 4 {
                0 => vec![b"SET".to_vec(), key, random_value(&mut g)],
                1 => vec![b"DUMP".to_vec(), key],
                2 => {
                    let source = format!("k{}", g.next() % 20).into_bytes();
                    let mut payload = match redis.call(&[b"DUMP".to_vec(), source]) {
                        crate::commands::difftest::R::Bulk(Some(p)) => p,
                        _ => b"nothing".to_vec(),
                    };
                    if g.chance(10) {
                        let at = (g.next() as usize) % payload.len();
                        payload[at] ^= 1;
                    }
                    let mut cmd = vec![b"RESTORE".to_vec(), key, b"0".to_vec(), payload];
                    for option in ["REPLACE", "IDLETIME", "FREQ", "BOGUS"] {
                        if g.chance(25) {
                            cmd.push(option.as_bytes().to_vec());
                            if option != "REPLACE" && option != "BOGUS" {
                                cmd.push((g.next() % 300).to_string().into_bytes());
                            }
                        }
                    }
                    cmd
                }
                _ => vec![b"GET".to_vec(), key],
            };
            let refs: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            let ours = from_frame(&t.raw(&refs));
            let theirs = redis.call(&cmd);
            assert_eq!(
                ours,
                theirs,
                "seed {seed} step {step}: {:?}",
                String::from_utf8_lossy(&cmd.concat())
            );
        }
    }
}
