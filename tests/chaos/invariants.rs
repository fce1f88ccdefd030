//! The checks run after every round, each through fresh connections. Each returns what it measured or a
//! message saying what broke.

use crate::common::Reply;
use crate::model::{Expect, Model};
use crate::net::Conn;
use crate::slots::key_on_shard;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Latency bound for a keyed command on every shard.
pub const SHARD_LATENCY: Duration = Duration::from_millis(100);
/// Fresh connections tried per shard before declaring it slow (the machine is shared: one descheduled
/// moment is not a frozen shard, three in a row are).
const LATENCY_TRIES: usize = 3;

/// One key per shard, for keyed probes.
pub fn probe_keys(shards: usize) -> Vec<String> {
    (0..shards)
        .map(|s| key_on_shard("chaos:probe:", s, shards))
        .collect()
}

/// Invariant 1: through a fresh connection, PING and then a GET of a key on each shard each answer within
/// SHARD_LATENCY. One of LATENCY_TRIES fresh connections must manage it (the fresh connections land on
/// whichever executor the kernel picks; a GET of a key on another shard goes through the mesh to that
/// shard). Returns the latencies of the passing try: PING first, then one per shard.
pub fn shard_latencies(addr: SocketAddr, keys: &[String]) -> Result<Vec<Duration>, String> {
    let mut tries = Vec::new();
    for attempt in 0..LATENCY_TRIES {
        if attempt > 0 {
            // Spread the tries over time, so they sample different moments rather than one lucky one.
            std::thread::sleep(Duration::from_millis(150));
        }
        let mut conn = Conn::connect(addr)?;
        let mut took = Vec::new();
        let start = Instant::now();
        match conn.cmd(&["PING"]) {
            Ok(Reply::Status(s)) if s == "PONG" => took.push(start.elapsed()),
            Ok(other) => return Err(format!("PING through a fresh connection replied {other:?}")),
            Err(e) => return Err(format!("PING through a fresh connection: {e}")),
        }
        for (shard, key) in keys.iter().enumerate() {
            let start = Instant::now();
            match conn.cmd(&["GET", key]) {
                Ok(Reply::NilBulk) => took.push(start.elapsed()),
                Ok(other) => return Err(format!("GET {key} (shard {shard}) replied {other:?}")),
                Err(e) => return Err(format!("GET {key} (shard {shard}): {e}")),
            }
        }
        if took.iter().all(|t| *t <= SHARD_LATENCY) {
            return Ok(took);
        }
        tries.push(took);
    }
    Err(format!(
        "no fresh connection of {LATENCY_TRIES} got PING and a GET on every shard answered within \
         {SHARD_LATENCY:?} each: [PING, GET shard 0, ...] per try {tries:.1?}"
    ))
}

/// Invariant 2: DBSIZE answers an integer and INFO a bulk string with its sections.
pub fn answers(addr: SocketAddr) -> Result<i64, String> {
    let mut conn = Conn::connect(addr)?;
    let size = match conn.cmd(&["DBSIZE"])? {
        Reply::Int(n) => n,
        other => return Err(format!("DBSIZE replied {other:?}")),
    };
    match conn.cmd(&["INFO"])? {
        Reply::Bulk(b) if String::from_utf8_lossy(&b).contains("# Clients") => Ok(size),
        other => Err(format!("INFO replied {other:?}")),
    }
}

/// `INFO section` field `name` through a fresh connection.
pub fn info_field(addr: SocketAddr, section: &str, name: &str) -> Result<String, String> {
    let mut conn = Conn::connect(addr)?;
    let text = match conn.cmd(&["INFO", section])? {
        Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => return Err(format!("INFO {section} replied {other:?}")),
    };
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k == name).then(|| v.trim().to_string())
        })
        .ok_or_else(|| format!("INFO {section} has no {name}"))
}

fn info_number(addr: SocketAddr, section: &str, name: &str) -> Result<u64, String> {
    let v = info_field(addr, section, name)?;
    v.parse()
        .map_err(|_| format!("INFO {name} is not a number: {v:?}"))
}

/// Polls `probe` every 50 ms until it returns `Ok(Some)`, or fails with the last observation.
pub fn poll<T>(
    deadline: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let end = Instant::now() + deadline;
    loop {
        let last = match probe() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => String::new(),
            Err(e) => e,
        };
        if Instant::now() > end {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Invariant 3: connected_clients returns to `baseline` (the probing connection itself) and
/// blocked_clients to 0. Returns how long that took.
pub fn clients_return(
    addr: SocketAddr,
    baseline: u64,
    deadline: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut last = (0, 0);
    poll(deadline, || {
        let connected = info_number(addr, "clients", "connected_clients")?;
        let blocked = info_number(addr, "clients", "blocked_clients")?;
        last = (connected, blocked);
        Ok((connected == baseline && blocked == 0).then_some(()))
    })
    .map_err(|e| {
        format!(
            "connections leaked: after {deadline:?} connected_clients {} (baseline {baseline}), \
             blocked_clients {} (expected 0) {e}",
            last.0, last.1
        )
    })?;
    Ok(start.elapsed())
}

/// The server's resident set size in bytes (INFO memory used_memory_rss).
pub fn rss(addr: SocketAddr) -> Result<u64, String> {
    info_number(addr, "memory", "used_memory_rss")
}

/// Bytes the server's allocator has handed out and not freed (INFO memory used_memory).
pub fn used_memory(addr: SocketAddr) -> Result<u64, String> {
    info_number(addr, "memory", "used_memory")
}

/// Invariant 4, second half: used_memory comes back to at most 120% of `baseline` (or baseline + 2 MB when
/// that is larger: a small baseline moves by a few allocations). Unlike RSS, which keeps freed pages the
/// allocator has not returned yet, this shows a leak at once.
pub fn used_memory_returns(
    addr: SocketAddr,
    baseline: u64,
    deadline: Duration,
) -> Result<u64, String> {
    let limit = baseline + (baseline / 5).max(2 << 20);
    let mut last = 0;
    poll(deadline, || {
        last = used_memory(addr)?;
        Ok((last <= limit).then_some(last))
    })
    .map_err(|e| {
        format!(
            "used_memory did not return within 20% (min 2 MB) of its baseline in {deadline:?}: {} KB, \
             baseline {} KB {e}",
            last >> 10,
            baseline >> 10
        )
    })
}

/// The RSS once it stops moving: two readings 500 ms apart within 2% (bounded by `deadline`).
pub fn settled_rss(addr: SocketAddr, deadline: Duration) -> Result<u64, String> {
    let mut prev = rss(addr)?;
    let end = Instant::now() + deadline;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = rss(addr)?;
        if now.abs_diff(prev) * 50 <= prev || Instant::now() > end {
            return Ok(now);
        }
        prev = now;
    }
}

/// Invariant 4: RSS comes back to at most 120% of `baseline`. Returns the RSS that satisfied it.
pub fn rss_returns(addr: SocketAddr, baseline: u64, deadline: Duration) -> Result<u64, String> {
    let limit = baseline + baseline / 5;
    let mut last = 0;
    poll(deadline, || {
        last = rss(addr)?;
        Ok((last <= limit).then_some(last))
    })
    .map_err(|e| {
        format!(
            "RSS did not return within 20% of its baseline in {deadline:?}: {} KB, baseline {} KB {e}",
            last >> 10,
            baseline >> 10
        )
    })
}

/// Invariant 5: the data equals the model of acknowledged writes (MGET in chunks of 100 keys).
pub fn model_matches(addr: SocketAddr, model: &Model) -> Result<usize, String> {
    let mut conn = Conn::connect(addr)?;
    let keys: Vec<(&String, &Expect)> = model.keys.iter().collect();
    let mut wrong = Vec::new();
    for chunk in keys.chunks(100) {
        let mut cmd = vec!["MGET".to_string()];
        cmd.extend(chunk.iter().map(|(k, _)| k.to_string()));
        let values = match conn.cmd(&cmd)? {
            Reply::Array(v) if v.len() == chunk.len() => v,
            other => return Err(format!("MGET of {} keys replied {other:?}", chunk.len())),
        };
        for ((key, expect), got) in chunk.iter().zip(values) {
            let ok = match expect {
                Expect::Absent => got == Reply::NilBulk,
                Expect::Value(v) => got == Reply::bulk(v),
            };
            if !ok {
                let shown = match &got {
                    Reply::Bulk(b) if b.len() > 60 => format!("<{} bytes>", b.len()),
                    other => format!("{other:?}"),
                };
                let want = match expect {
                    Expect::Value(v) if v.len() > 60 => format!("<{} bytes>", v.len()),
                    other => format!("{other:?}"),
                };
                wrong.push(format!("{key}: server has {shown}, model says {want}"));
            }
        }
    }
    if wrong.is_empty() {
        Ok(keys.len())
    } else {
        Err(format!(
            "{} of {} keys differ from the acknowledged writes: {:?}",
            wrong.len(),
            keys.len(),
            &wrong[..wrong.len().min(10)]
        ))
    }
}
