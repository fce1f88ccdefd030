//! Pipelining: many commands written at once get their replies in order,
//! including commands whose keys live on different shards.
mod common;

use common::*;
use rand::{Rng, SeedableRng};
use std::io::Write;

/// Writes `bytes` from a helper thread (so a server that answers while we
/// are still writing cannot deadlock the test) and reads `n` replies.
fn send_and_read(r: &mut Raw, bytes: Vec<u8>, chunks: Option<u64>, n: usize) -> Vec<Reply> {
    let mut w = r.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || match chunks {
        None => w.write_all(&bytes).unwrap(),
        Some(seed) => {
            // Split at random points to exercise partial-frame parsing.
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut pos = 0;
            while pos < bytes.len() {
                let len = rng.gen_range(1..=4096).min(bytes.len() - pos);
                w.write_all(&bytes[pos..pos + len]).unwrap();
                w.flush().unwrap();
                pos += len;
            }
        }
    });
    let replies = r.read_replies(n);
    writer.join().unwrap();
    replies
}

/// 10,000 commands (SET, GET, INCR, EXISTS over 2,500 keys) and the replies
/// they must produce, in order.
fn workload() -> (Vec<u8>, Vec<Reply>) {
    let mut buf = Vec::new();
    let mut expect = Vec::new();
    for i in 0..2500 {
        let k = format!("pipe:{i}");
        buf.extend(encode_cmd(&["SET", &k, &i.to_string()]));
        expect.push(ok());
        buf.extend(encode_cmd(&["GET", &k]));
        expect.push(bulk(i.to_string()));
        buf.extend(encode_cmd(&["INCR", "pipe:counter"]));
        expect.push(int(i + 1));
        buf.extend(encode_cmd(&["EXISTS", &k, &format!("pipe:{}", i + 1)]));
        expect.push(int(1));
    }
    assert_eq!(expect.len(), 10_000);
    (buf, expect)
}

#[test]
fn ten_thousand_raw_commands_in_one_write() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let (buf, expect) = workload();
        let got = send_and_read(&mut r, buf, None, expect.len());
        for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
            assert_eq!(g, e, "reply #{i}");
        }
        // The connection is still in sync afterwards.
        r.check("PING", status("PONG"));
        assert!(r.pending().is_empty());
        r.check("DBSIZE", int(2501));
    });
}

#[test]
fn ten_thousand_commands_in_random_chunks() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let (buf, expect) = workload();
        let got = send_and_read(&mut r, buf, Some(7), expect.len());
        for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
            assert_eq!(g, e, "reply #{i}");
        }
        r.check("PING", status("PONG"));
    });
}

#[test]
fn one_byte_at_a_time() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut buf = Vec::new();
        buf.extend(encode_cmd(&["SET", "a", "hello\r\nworld"]));
        buf.extend(b"GET a\r\n");
        buf.extend(encode_cmd(&["MGET", "a", "b"]));
        buf.extend(b"PING\r\n");
        for b in &buf {
            r.send(std::slice::from_ref(b)).unwrap();
        }
        let got = r.read_replies(4);
        assert_eq!(
            got,
            vec![
                ok(),
                bulk("hello\r\nworld"),
                arr(vec![bulk("hello\r\nworld"), nil()]),
                status("PONG")
            ]
        );
    });
}

#[test]
fn redis_rs_pipeline_of_ten_thousand() {
    with_servers(&[], |s| {
        let mut c = s.client();
        let mut p = redis::pipe();
        for i in 0..5000 {
            p.cmd("SET").arg(format!("rp:{i}")).arg(i).ignore();
            p.cmd("GET").arg(format!("rp:{i}"));
        }
        let got: Vec<i64> = p.query(&mut c).unwrap();
        assert_eq!(got, (0..5000).collect::<Vec<i64>>());
        let mut p = redis::pipe();
        for _ in 0..10_000 {
            p.cmd("INCR").arg("rp:counter");
        }
        let got: Vec<i64> = p.query(&mut c).unwrap();
        assert_eq!(got, (1..=10_000).collect::<Vec<i64>>());
    });
}

#[test]
fn errors_and_select_inside_a_pipeline() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut buf = Vec::new();
        let mut expect = Vec::new();
        for i in 0..1000 {
            match i % 5 {
                0 => {
                    buf.extend(encode_cmd(&["SET", &format!("e:{i}"), "abc"]));
                    expect.push(ok());
                }
                1 => {
                    buf.extend(encode_cmd(&["INCR", &format!("e:{}", i - 1)]));
                    expect.push(err(NOT_INT));
                }
                2 => {
                    buf.extend(encode_cmd(&["NOSUCHCMD", "x"]));
                    expect.push(err(
                        "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' ",
                    ));
                }
                3 => {
                    buf.extend(encode_cmd(&["GET"]));
                    expect.push(arity_err("get"));
                }
                _ => {
                    buf.extend(encode_cmd(&["GET", &format!("e:{}", i - 4)]));
                    expect.push(bulk("abc"));
                }
            }
        }
        // SELECT in the middle applies to what follows.
        buf.extend(encode_cmd(&["SELECT", "3"]));
        expect.push(ok());
        buf.extend(encode_cmd(&["GET", "e:0"]));
        expect.push(nil());
        buf.extend(encode_cmd(&["SET", "e:0", "db3"]));
        expect.push(ok());
        buf.extend(encode_cmd(&["SELECT", "0"]));
        expect.push(ok());
        buf.extend(encode_cmd(&["GET", "e:0"]));
        expect.push(bulk("abc"));
        let n = expect.len();
        assert_eq!(send_and_read(&mut r, buf, None, n), expect);
    });
}

#[test]
fn mixed_inline_and_multibulk() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let mut buf = Vec::new();
        for i in 0..500 {
            if i % 2 == 0 {
                buf.extend(format!("SET inl:{i} {i}\r\n").as_bytes());
            } else {
                buf.extend(encode_cmd(&["SET", &format!("inl:{i}"), &i.to_string()]));
            }
        }
        buf.extend(b"MGET inl:0 inl:1 inl:498 inl:499\r\n");
        let got = send_and_read(&mut r, buf, None, 501);
        assert!(got[..500].iter().all(|g| *g == ok()));
        assert_eq!(got[500], Reply::bulks(&["0", "1", "498", "499"]));
    });
}

#[test]
fn large_replies_pipelined() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let big: String = (0..100_000)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        r.check_cmd(&["SET", "big", &big], ok());
        let mut buf = Vec::new();
        for _ in 0..100 {
            buf.extend(encode_cmd(&["GET", "big"]));
        }
        // ~10 MB of replies; read them all only after writing everything.
        r.send(&buf).unwrap();
        for reply in r.read_replies(100) {
            assert_eq!(reply.as_bytes(), big.as_bytes());
        }
    });
}

#[test]
fn many_clients_pipelining_at_once() {
    with_servers(&[], |s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let mut r = s.raw();
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut expect = Vec::new();
                    for i in 0..1000 {
                        let k = format!("mc:{t}:{i}");
                        buf.extend(encode_cmd(&["SET", &k, &format!("{t}-{i}")]));
                        expect.push(ok());
                        buf.extend(encode_cmd(&["GET", &k]));
                        expect.push(bulk(format!("{t}-{i}")));
                    }
                    let got = send_and_read(&mut r, buf, None, expect.len());
                    assert_eq!(got, expect);
                })
            })
            .collect();
        for h in handles {
            h.join().expect("client thread");
        }
        assert_eq!(s.raw().run("DBSIZE"), int(8000));
    });
}
