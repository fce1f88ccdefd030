//! DEBUG DIGEST / DIGEST-VALUE / POPULATE / SLEEP / JMAP-free subset.

use super::handler::Later;
use super::{parse_i64, unknown_subcommand, wrong_arity};
use crate::connection::Connection;
use crate::router::shard_of;
use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{flag::*, CommandDef};
use damselfly_storage::{digest_value, mix_digest};
use std::time::Duration;

/// The debug commands.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::connection(
    "debug",
    -2,
    &Later(|conn, args| Box::pin(async move { run(conn, &args).await })),
)
.flags(ADMIN | NOSCRIPT | LOADING | STALE)
.doc(
    "server",
    "1.0.0",
    "Depends on subcommand.",
    "A container for debugging commands",
)
.syscmd()];

pub async fn run(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"digest" if args.len() == 2 => digest(conn).await,
        b"digest-value" => digest_values(conn, &args[2..]).await,
        b"populate" if (3..=5).contains(&args.len()) => populate(conn, &args[2..]).await,
        b"sleep" if args.len() == 3 => {
            let Some(pause) = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .and_then(|seconds| Duration::try_from_secs_f64(seconds.max(0.0)).ok())
            else {
                return Frame::error(damselfly_protocol::errors::NOT_A_FLOAT);
            };
            // DEBUG SLEEP blocks the server, as in Redis: here, this connection's executor.
            std::thread::sleep(pause);
            Frame::OK
        }
        b"digest" | b"populate" | b"sleep" => wrong_arity("debug"),
        b"help" => Frame::Array(
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "DIGEST-VALUE <key> [<key> ...]",
                "POPULATE <count> [<prefix>] [<size>]",
                "SLEEP <seconds>",
                "HELP",
            ]
            .iter()
            .map(|line| Frame::simple(line))
            .collect(),
        ),
        _ => unknown_subcommand(args),
    }
}

/// Digests are status replies in Redis.
fn hex(digest: &[u8; 20]) -> Frame {
    Frame::Simple(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into(),
    )
}

/// Redis's dataset digest: for each non-empty db in order, mix in its index, then xor in every key's digest.
async fn digest(conn: &Connection) -> Frame {
    let outputs = conn
        .ctx
        .run_everywhere(|_| {
            |shard: &mut Shard| -> Vec<Option<[u8; 20]>> {
                let now = shard.clock();
                shard.dbs.iter_mut().map(|db| db.digest(now)).collect()
            }
        })
        .await;
    let per_shard: Vec<Vec<Option<[u8; 20]>>> = outputs.into_iter().flatten().collect();
    let mut result = [0u8; 20];
    for db in 0..conn.ctx.shared.config.databases {
        let parts: Vec<[u8; 20]> = per_shard
            .iter()
            .filter_map(|shard| shard.get(db).copied().flatten())
            .collect();
        if parts.is_empty() {
            continue;
        }
        // Redis mixes in htonl(db index).
        mix_digest(&mut result, &(db as i32).to_be_bytes());
        for part in parts {
            for (byte, other) in result.iter_mut().zip(part) {
                *byte ^= other;
            }
        }
    }
    hex(&result)
}

async fn digest_values(conn: &Connection, keys: &[Bytes]) -> Frame {
    let mut values = Vec::with_capacity(keys.len());
    let db = conn.db;
    for key in keys {
        let key = key.clone();
        let shard = shard_of(&key, conn.ctx.shards());
        let digest = conn
            .ctx
            .run_on(shard, move |s| {
                let now = s.clock();
                digest_value(&mut s.dbs[db], &key, now)
            })
            .await;
        values.push(hex(&digest.unwrap_or([0; 20])));
    }
    Frame::Array(values)
}

async fn populate(conn: &Connection, args: &[Bytes]) -> Frame {
    let Some(count) = parse_i64(&args[0]).filter(|n| *n >= 0) else {
        return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_POSITIVE);
    };
    let prefix = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| Bytes::from_static(b"key"));
    let size = match args.get(2).map(|a| parse_i64(a)) {
        None => 0,
        // Values are bulk strings, so no larger than proto-max-bulk-len.
        Some(Some(size))
            if (0..=damselfly_storage::config::PROTO_MAX_BULK_LEN.get()).contains(&size) =>
        {
            size as usize
        }
        Some(_) => return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_POSITIVE),
    };
    let db = conn.db;
    let shards = conn.ctx.shards();
    conn.ctx
        .run_everywhere(|target| {
            let prefix = prefix.clone();
            move |shard: &mut Shard| {
                let owns = |key: &[u8]| shard_of(key, shards) == target;
                let mut journal = shard.journal.is_active().then(Vec::new);
                let added =
                    shard.dbs[db].populate(&prefix, 0..count as u64, size, &owns, journal.as_mut());
                for command in journal.unwrap_or_default() {
                    shard.record((db, command));
                }
                added
            }
        })
        .await;
    Frame::OK
}
