//! SAVE, BGSAVE, LASTSAVE and SHUTDOWN's save: a snapshot of every shard written to the RDB file.

use super::connection::shutdown_request;
use super::handler::{Later, Now};
use crate::commands::connection::ShutdownRequest;
use crate::connection::Connection;
use crate::context::ExecutorCtx;
use crate::persistence;
use crate::shard::Shard;
use crate::wakeup::await_remote;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef};
use futures::FutureExt;
use std::rc::Rc;
use std::time::Duration;

/// The save commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("save", 1, &Later(|conn, _| Box::pin(save(conn))))
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI)
        .doc("server", "1.0.0", "O(N) where N is the total number of keys in all databases", "Synchronously save the dataset to disk"),
    CommandDef::connection("bgsave", -1, &Now(|conn, args| bgsave(conn, args)))
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING)
        .doc("server", "1.0.0", "O(1)", "Asynchronously save the dataset to disk")
        .history(&[("3.2.2", "Added the `SCHEDULE` option.")])
        .args(&[Arg::pure_token("schedule", "SCHEDULE").since("3.2.2").optional()]),
    CommandDef::connection("lastsave", 1, &Now(|conn, _| lastsave(conn)))
        .flags(LOADING | STALE | FAST)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .tips(&["nondeterministic_output"])
        .doc("server", "1.0.0", "O(1)", "Get the UNIX time stamp of the last successful save to disk"),
    CommandDef::connection("shutdown", -1, &Later(|conn, args| Box::pin(async move { match shutdown_request(conn, &args) { Ok(request) => shutdown(conn, request).await, Err(error) => error } })))
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY)
        .doc("server", "1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "Synchronously save the dataset to disk and then shut down the server")
        .history(&[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")])
        .args(&[
            Arg::oneof("nosave_save", &[
                Arg::pure_token("nosave", "NOSAVE"),
                Arg::pure_token("save", "SAVE"),
            ]).optional(),
            Arg::pure_token("now", "NOW").since("7.0.0").optional(),
            Arg::pure_token("force", "FORCE").since("7.0.0").optional(),
            Arg::pure_token("abort", "ABORT").since("7.0.0").optional(),
        ]),
];

/// Why a snapshot was not written.
enum SaveError {
    InProgress,
    Failed(String),
}

pub async fn save(conn: &Connection) -> Frame {
    match save_snapshot(conn).await {
        Ok(()) => Frame::OK,
        Err(SaveError::InProgress) => Frame::error(errors::SAVE_IN_PROGRESS),
        Err(SaveError::Failed(err)) => {
            tracing::warn!("{err}");
            Frame::error("ERR")
        }
    }
}

/// Copies every shard's keys (each shard at its own moment, like the other keyspace-wide commands) and writes
/// them as one file. Only one save runs at a time.
async fn save_snapshot(conn: &Connection) -> Result<(), SaveError> {
    let shared = &conn.ctx.shared;
    if !shared.begin_save() {
        return Err(SaveError::InProgress);
    }
    let result = collect_and_write(&conn.ctx).await;
    shared.end_save(result.is_ok());
    result.map_err(SaveError::Failed)
}

/// BGSAVE [SCHEDULE]: answers at once and saves in a task of this executor; LASTSAVE and INFO's
/// rdb_bgsave_in_progress / rdb_last_bgsave_status tell when it is done.
pub fn bgsave(conn: &Connection, args: &[Bytes]) -> Frame {
    if args.len() > 2
        || args
            .get(1)
            .is_some_and(|option| !option.eq_ignore_ascii_case(b"schedule"))
    {
        return Frame::error(errors::SYNTAX);
    }
    if !conn.ctx.shared.begin_save() {
        return Frame::error(errors::SAVE_IN_PROGRESS);
    }
    let ctx = conn.ctx.clone();
    glommio::spawn_local(async move {
        let result = collect_and_write(&ctx).await;
        if let Err(err) = &result {
            tracing::warn!("Background saving error: {err}");
        }
        ctx.shared.end_save(result.is_ok());
    })
    .detach();
    Frame::simple("Background saving started")
}

/// Longest SAVE waits for a redis-server primary's stream to pause before it saves without the
/// position (the link applies what it already handed on first, normally in milliseconds).
const PAUSE_WAIT: Duration = Duration::from_secs(5);

async fn collect(
    ctx: &Rc<ExecutorCtx>,
) -> Result<Vec<Vec<Vec<persistence::SnapshotEntry>>>, String> {
    let outputs = ctx
        .run_everywhere(|_| {
            |shard: &mut Shard| {
                let now = shard.clock();
                persistence::collect(&mut shard.dbs, now)
            }
        })
        .await;
    let shards: Vec<Vec<Vec<persistence::SnapshotEntry>>> = outputs.into_iter().flatten().collect();
    if shards.len() != ctx.shards() {
        return Err("a shard did not hand over its keys".to_string());
    }
    Ok(shards)
}

async fn collect_and_write(ctx: &Rc<ExecutorCtx>) -> Result<(), String> {
    // A replica of a redis-server saves its stream position with the data, as Redis does, so a
    // restart resumes with a partial resync. The stream is paused while the shards are copied,
    // so the position is the data's; without one (no link applying a stream, or it went away
    // meanwhile) the file has none and a restart full syncs, which is always correct.
    let follows_redis = ctx.shared.repl.state().follows_redis();
    let mut pause = follows_redis.then(|| ctx.shared.repl.apply_pause.pause());
    if let Some(held) = &pause {
        let settled = futures::select! {
            _ = await_remote(held.settled()).fuse() => true,
            _ = glommio::timer::sleep(PAUSE_WAIT).fuse() => false,
        };
        if !settled {
            // A link settling later, during the copy, would give a position some shards'
            // copies predate: release the pause and save without one.
            tracing::warn!("saving without the replication offset: the primary's stream did not pause within {PAUSE_WAIT:?}");
            pause = None;
        }
    }
    let shards = collect(ctx).await?;
    let position = pause.as_ref().and_then(|pause| pause.position());
    // The stream goes on while the file is written.
    drop(pause);
    // The file is written on the executor's blocking thread, so the shard keeps serving while it goes to disk.
    let config = ctx.shared.config.clone();
    let write = glommio::executor()
        .spawn_blocking(move || persistence::write(&config, &shards, position.as_ref()).map(drop));
    await_remote(write).await
}

pub fn lastsave(conn: &Connection) -> Frame {
    Frame::Integer(conn.ctx.shared.last_save() as i64)
}

/// SHUTDOWN: saves first when asked; a failed save keeps the server running unless FORCE was given, as in Redis.
pub async fn shutdown(conn: &Connection, request: ShutdownRequest) -> Frame {
    tracing::info!("User requested shutdown...");
    if request.save {
        if let Err(err) = save_snapshot(conn).await {
            let reason = match err {
                SaveError::InProgress => "another save is in progress".to_string(),
                SaveError::Failed(err) => err,
            };
            if !request.force {
                tracing::warn!("Error trying to save the DB, can't exit: {reason}");
                return Frame::error("ERR Errors trying to SHUTDOWN. Check logs.");
            }
            tracing::warn!("Error trying to save the DB. Exit anyway: {reason}");
        }
    }
    crate::signals::shutdown_now();
}
