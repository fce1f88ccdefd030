//! Keyspace-wide commands that visit every shard: DBSIZE, FLUSHDB, FLUSHALL, KEYS, SCAN, RANDOMKEY.

use super::handler::Later;
use super::parse_i64;
use crate::connection::Connection;
use crate::locks::LockRequest;
use crate::shard::{Shard, Work};
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef, Spread};
use rand::Rng;

/// FLUSHDB's and FLUSHALL's ASYNC | SYNC mode (COMMAND DOCS).
const FLUSH_MODE: Arg = Arg::oneof(
    "async",
    &[
        Arg::pure_token("async", "ASYNC").since("4.0.0"),
        Arg::pure_token("sync", "SYNC").since("6.2.0"),
    ],
)
.optional();

/// The keyspace commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("dbsize", 1, &Later(|conn, _| Box::pin(dbsize(conn))))
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .tips(&["request_policy:all_shards", "response_policy:agg_sum"])
        .doc("server", "1.0.0", "O(1)", "Return the number of keys in the selected database"),
    CommandDef::connection("flushdb", -1, &Later(|conn, args| Box::pin(async move { flush(conn, &args, false).await })))
        .spread(Spread::EveryShard { all_dbs: false })
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("server", "1.0.0", "O(N) where N is the number of keys in the selected database", "Remove all keys from the current database")
        .history(&[
            ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
            ("6.2.0", "Added the `SYNC` flushing mode modifier."),
        ])
        .args(&[FLUSH_MODE]),
    CommandDef::connection("flushall", -1, &Later(|conn, args| Box::pin(async move { flush(conn, &args, true).await })))
        .spread(Spread::EveryShard { all_dbs: true })
        .flags(WRITE)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("server", "1.0.0", "O(N) where N is the total number of keys in all databases", "Remove all keys from all databases")
        .history(&[
            ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
            ("6.2.0", "Added the `SYNC` flushing mode modifier."),
        ])
        .args(&[FLUSH_MODE]),
    CommandDef::connection("keys", 2, &Later(|conn, args| Box::pin(async move { keys(conn, &args).await })))
        .flags(READONLY)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .tips(&["request_policy:all_shards", "nondeterministic_output_order"])
        .doc("generic", "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "Find all keys matching the given pattern")
        .args(&[Arg::pattern("pattern")]),
    CommandDef::connection("scan", -2, &Later(|conn, args| Box::pin(async move { scan(conn, &args).await })))
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .tips(&["nondeterministic_output", "request_policy:special"])
        .doc("generic", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Incrementally iterate the keys space")
        .history(&[("6.0.0", "Added the `TYPE` subcommand.")])
        .args(&[
            Arg::integer("cursor"),
            Arg::pattern("pattern").token("MATCH").optional(),
            Arg::integer("count").token("COUNT").optional(),
            Arg::string("type").token("TYPE").since("6.0.0").optional(),
        ]),
    CommandDef::connection("randomkey", 1, &Later(|conn, _| Box::pin(random_key(conn))))
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .tips(&["request_policy:all_shards", "nondeterministic_output"])
        .doc("generic", "1.0.0", "O(1)", "Return a random key from the keyspace"),
];

/// SCAN cursors keep the shard in their low bits and that shard's own cursor above them.
const SHARD_BITS: u32 = 10;

pub async fn dbsize(conn: &Connection) -> Frame {
    let db = conn.db;
    let outputs = conn
        .ctx
        .run_everywhere(|_| move |shard: &mut Shard| shard.dbs[db].len() as i64)
        .await;
    Frame::Integer(outputs.into_iter().flatten().sum())
}

pub async fn flush(conn: &Connection, args: &[Bytes], all: bool) -> Frame {
    match args.get(1) {
        None => {}
        Some(mode) if mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async") => {
        }
        Some(_) => return Frame::error(errors::SYNTAX),
    }
    if args.len() > 2 {
        return Frame::error(errors::SYNTAX);
    }
    // One transaction locking every shard: no client sees some shards flushed and others not, and
    // replicas get the flush as one record per shard that they apply together.
    let db = conn.db;
    let shards = conn.ctx.shards();
    let locks = (0..shards)
        .map(|shard| (shard, vec![LockRequest::whole_shard()]))
        .collect();
    let mut tx = Transaction::begin(&conn.ctx, locks, true).await;
    let jobs = flush_jobs(shards, db, all);
    tx.hop(jobs, true).await;
    tx.finish().await;
    Frame::OK
}

/// One job per shard emptying db `db` (or every db) and journaling it.
pub fn flush_jobs(shards: usize, db: usize, all: bool) -> Vec<(usize, Work<()>)> {
    (0..shards)
        .map(|shard| -> (usize, Work<()>) {
            let job: Work<()> = Box::new(move |shard| {
                let command = if all {
                    shard.dbs.iter_mut().for_each(|d| d.clear());
                    "FLUSHALL"
                } else {
                    shard.dbs[db].clear();
                    "FLUSHDB"
                };
                shard.record((db, vec![Bytes::from_static(command.as_bytes())]));
            });
            (shard, job)
        })
        .collect()
}

pub async fn keys(conn: &Connection, args: &[Bytes]) -> Frame {
    let db = conn.db;
    let pattern = args[1].clone();
    let outputs = conn
        .ctx
        .run_everywhere(|_| {
            let pattern = pattern.clone();
            move |shard: &mut Shard| {
                let mut keys = Vec::new();
                let now = shard.clock();
                shard.dbs[db].keys(&pattern, now, &mut keys);
                keys
            }
        })
        .await;
    let all = outputs.into_iter().flatten().flatten().map(Frame::Bulk);
    Frame::Array(all.collect())
}

pub async fn scan(conn: &Connection, args: &[Bytes]) -> Frame {
    let Some(cursor) = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return Frame::error(damselfly_protocol::errors::INVALID_CURSOR);
    };
    let mut count = 10usize;
    let mut pattern = None;
    let mut type_name = None;
    let mut options = args[2..].iter();
    while let Some(option) = options.next() {
        let Some(value) = options.next() else {
            return Frame::error(errors::SYNTAX);
        };
        if option.eq_ignore_ascii_case(b"count") {
            match parse_i64(value) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return Frame::error(errors::SYNTAX),
                None => return super::not_an_integer(),
            }
        } else if option.eq_ignore_ascii_case(b"match") {
            pattern = Some(value.clone());
        } else if option.eq_ignore_ascii_case(b"type") {
            type_name = Some(value.clone());
        } else {
            return Frame::error(errors::SYNTAX);
        }
    }
    let shards = conn.ctx.shards() as u64;
    let mut shard = cursor & ((1 << SHARD_BITS) - 1);
    let mut local_cursor = cursor >> SHARD_BITS;
    let mut found = Vec::new();
    let db = conn.db;
    // Visit shards in order until COUNT keys are gathered or the last shard is done, so an empty
    // keyspace answers cursor 0 at once, as Redis does.
    while shard < shards {
        let (pattern, type_name, wanted) = (
            pattern.clone(),
            type_name.clone(),
            count.saturating_sub(found.len()),
        );
        let page = conn.ctx.run_on(shard as usize, move |s| {
            let mut keys = Vec::new();
            let now = s.clock();
            let next = s.dbs[db].scan(
                local_cursor,
                wanted.max(1),
                pattern.as_deref(),
                type_name.as_deref(),
                now,
                &mut keys,
            );
            (next, keys)
        });
        let Some((next, keys)) = page.await else {
            return Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER);
        };
        found.extend(keys);
        if next != 0 {
            return scan_reply((next << SHARD_BITS) | shard, found);
        }
        shard += 1;
        local_cursor = 0;
        if found.len() >= count {
            break;
        }
    }
    scan_reply(if shard < shards { shard } else { 0 }, found)
}

fn scan_reply(cursor: u64, keys: Vec<Bytes>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(keys.into_iter().map(Frame::Bulk).collect()),
    ])
}

pub async fn random_key(conn: &Connection) -> Frame {
    let shards = conn.ctx.shards();
    let start = rand::thread_rng().gen_range(0..shards);
    let db = conn.db;
    for offset in 0..shards {
        let found = conn.ctx.run_on((start + offset) % shards, move |s| {
            let now = s.clock();
            s.dbs[db].random_key(now)
        });
        if let Some(Some(key)) = found.await {
            return Frame::Bulk(key);
        }
    }
    Frame::Null
}
