//! Clients that misbehave at the socket level: they vanish mid-command, reset their connection, read
//! slowly or never. None of their unfinished commands may take effect, and none may leak a connection.

use crate::common::{encode_cmd, Reply};
use crate::ctx::{Ctx, Outcome};
use crate::model::{Expect, Stats};
use crate::net::Conn;
use rand::Rng;
use std::time::{Duration, Instant};

/// Keys written only by commands that are never complete (or never EXECed): they must never exist.
const NEVER_KEYS: u64 = 32;

fn close_or_reset(conn: Conn, reset: bool, ctx: &Ctx) {
    if reset {
        Stats::add(&ctx.stats.resets, 1);
        conn.reset();
    } else {
        conn.close();
    }
}

/// Sends part of a command and disconnects (FIN or RST): cut in a bulk argument, after a multibulk header,
/// inside a declared 1 MB argument, or an inline command without its newline.
pub fn half_commands(ctx: &Ctx, id: usize) -> Outcome {
    let mut rng = rand::thread_rng();
    let mut n = 0u64;
    let mut used = Vec::new();
    while ctx.running() {
        let key = format!("chaos:half:{id}:{}", n % NEVER_KEYS);
        if n < NEVER_KEYS {
            used.push(key.clone());
        }
        n += 1;
        let mut conn = Conn::connect(ctx.addr)?;
        // Make sure the server is reading this connection before the partial command arrives.
        if rng.gen_bool(0.5) && conn.cmd(&["PING"])? != Reply::status("PONG") {
            return Err("PING before a partial command did not answer PONG".into());
        }
        let full = encode_cmd(&["SET", &key, "value"]);
        let bytes = match rng.gen_range(0..4) {
            // Cut anywhere inside the multibulk (never after its last byte).
            0 => full[..rng.gen_range(1..full.len() - 1)].to_vec(),
            1 => b"*3\r\n$3\r\nSET\r\n".to_vec(),
            2 => {
                let mut b = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1048576\r\n", key.len())
                    .into_bytes();
                b.extend(std::iter::repeat_n(b'x', rng.gen_range(1..300_000)));
                b
            }
            _ => format!("SET {key} value").into_bytes(),
        };
        // A write error here only means the server already dropped us, which is allowed.
        let _ = conn.send(&bytes);
        close_or_reset(conn, rng.gen_bool(0.5), ctx);
        Stats::add(&ctx.stats.half_commands, 1);
    }
    Ok(used.into_iter().map(|k| (k, Expect::Absent)).collect())
}

/// Connections that end with RST (SO_LINGER 0): after a pipeline whose replies are never read, in the middle
/// of a large reply, or inside an open MULTI (whose queued SETs must then never run).
pub fn resetter(ctx: &Ctx, id: usize) -> Outcome {
    let f = &ctx.fixtures;
    let mut rng = rand::thread_rng();
    let mut n = 0u64;
    let mut never = Vec::new();
    while ctx.running() {
        let mut conn = Conn::connect(ctx.addr)?;
        match n % 3 {
            0 => {
                let mut cmds = Vec::new();
                for j in 0..50 {
                    cmds.push(vec![
                        "SET".to_string(),
                        format!("chaos:rst:{id}:{j}"),
                        "v".into(),
                    ]);
                    cmds.push(vec!["GET".to_string(), f.big_key.clone()]);
                }
                let _ = conn.send_pipeline(&cmds);
            }
            1 => {
                let cmds: Vec<Vec<String>> = (0..10)
                    .map(|_| vec!["LRANGE".into(), f.list_key.clone(), "0".into(), "-1".into()])
                    .collect();
                let _ = conn.send_pipeline(&cmds);
                // Take a little of the reply so the server is mid-write when the reset comes.
                let _ = conn.read_some(rng.gen_range(1..16 * 1024));
            }
            _ => {
                let key = format!("chaos:rstmulti:{id}:{}", n % NEVER_KEYS);
                if never.len() < NEVER_KEYS as usize && !never.contains(&key) {
                    never.push(key.clone());
                }
                let cmds: Vec<Vec<String>> = vec![
                    vec!["MULTI".into()],
                    vec!["SET".into(), key.clone(), "queued".into()],
                    vec!["INCR".into(), key],
                ];
                conn.send_pipeline(&cmds)?;
                let replies = conn.read_replies(3)?;
                let queued = Reply::status("QUEUED");
                if replies != [Reply::ok(), queued.clone(), queued] {
                    return Err(format!("MULTI, SET, INCR replied {replies:?}"));
                }
            }
        }
        n += 1;
        close_or_reset(conn, true, ctx);
    }
    Ok(never.into_iter().map(|k| (k, Expect::Absent)).collect())
}

/// A tiny receive buffer (4 KB), a few hundred bytes read every few milliseconds: fetches the big value and
/// the big list and checks both replies in full; vanishes mid-reply when the round ends.
pub fn slow_reader(ctx: &Ctx, _id: usize) -> Outcome {
    let f = &ctx.fixtures;
    let mut rng = rand::thread_rng();
    let mut conn = Conn::connect_with(ctx.addr, Some(4096))?;
    let want_list = Reply::Array(f.list_items.iter().map(Reply::bulk).collect());
    'outer: while ctx.running() {
        let cmds: Vec<Vec<String>> = vec![
            vec!["GET".into(), f.big_key.clone()],
            vec!["LRANGE".into(), f.list_key.clone(), "0".into(), "-1".into()],
        ];
        conn.send_pipeline(&cmds)?;
        let mut got = Vec::new();
        while got.len() < 2 {
            if let Some(r) = conn.try_parse()? {
                got.push(r);
                continue;
            }
            if !ctx.running() {
                break 'outer; // vanish mid-reply
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(1..4)));
            match conn.read_some(rng.gen_range(256..2048)) {
                Ok(0) => return Err("the server closed a slow reader's connection".into()),
                Ok(k) => Stats::add(&ctx.stats.slow_bytes, k as u64),
                Err(e) => return Err(format!("slow reader: {e}")),
            }
        }
        if got[0] != Reply::bulk(&f.big_value) {
            return Err(format!(
                "slow reader: GET {} returned a different value ({} bytes)",
                f.big_key,
                got[0].as_bytes_len()
            ));
        }
        if got[1] != want_list {
            return Err(format!(
                "slow reader: LRANGE {} returned a different list",
                f.list_key
            ));
        }
        Stats::add(&ctx.stats.slow_replies, 2);
    }
    close_or_reset(conn, rng.gen_bool(0.5), ctx);
    Ok(Vec::new())
}

/// Asks for megabytes (GETs of the big value, LRANGEs of the big list) with a 4 KB receive buffer and never
/// reads; holds the connection for half a second to two seconds (or until the round ends), then closes or
/// resets it, and starts over.
pub fn never_reader(ctx: &Ctx, _id: usize) -> Outcome {
    let f = &ctx.fixtures;
    let mut rng = rand::thread_rng();
    while ctx.running() {
        let mut conn = Conn::connect_with(ctx.addr, Some(4096))?;
        let mut cmds: Vec<Vec<String>> = (0..8)
            .map(|_| vec!["GET".into(), f.big_key.clone()])
            .collect();
        cmds.extend(
            (0..4).map(|_| vec!["LRANGE".into(), f.list_key.clone(), "0".into(), "-1".into()]),
        );
        conn.send_pipeline(&cmds)?;
        Stats::add(&ctx.stats.never_readers, 1);
        // Holding the connection open is the scenario: pace until it is time to go.
        let hold_until = ctx
            .until
            .min(Instant::now() + Duration::from_millis(rng.gen_range(500..2000)));
        while Instant::now() < hold_until {
            std::thread::sleep(Duration::from_millis(20));
        }
        close_or_reset(conn, rng.gen_bool(0.5), ctx);
    }
    Ok(Vec::new())
}

trait BytesLen {
    fn as_bytes_len(&self) -> usize;
}

impl BytesLen for Reply {
    fn as_bytes_len(&self) -> usize {
        match self {
            Reply::Bulk(b) => b.len(),
            _ => 0,
        }
    }
}
