//! MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//!
//! EXEC runs the queued commands as one transaction over every key they name (and the watched
//! keys, read-locked so that writes scheduled before it land first): a first hop on every
//! participant checks WATCH, then the commands run in order. Runs of single-shard commands go as
//! one hop with one job per shard; a command spanning shards runs through `gather`; FLUSHALL and
//! FLUSHDB lock whole shards. Every participant journals its share as one part of the whole, so a
//! replica applies the transaction atomically too.

use super::handler::{Later, Now};
use crate::commands::{gather, keyspace, parse_i64};
use crate::connection::{Connection, MultiState, WatchState};
use crate::keyplan::KeyPlan;
use crate::locks::LockRequest;
use crate::messages::Command;
use crate::router::shard_of;
use crate::shard::Work;
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, key::*, Arg, CommandDef, KeySpec, Spread};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The multi commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("multi", 1, &Now(|conn, _| multi(conn)))
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED)
        .acl(acl::TRANSACTION)
        .doc(
            "transactions",
            "1.2.0",
            "O(1)",
            "Mark the start of a transaction block",
        ),
    CommandDef::connection("exec", 1, &Later(|conn, _| Box::pin(exec(conn))))
        .flags(NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NOT_QUEUED | RUNS_TRANSACTION)
        .acl(acl::TRANSACTION)
        .doc(
            "transactions",
            "1.2.0",
            "Depends on commands in the transaction",
            "Execute all commands issued after MULTI",
        ),
    CommandDef::connection("discard", 1, &Later(|conn, _| Box::pin(discard(conn))))
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED)
        .acl(acl::TRANSACTION)
        .doc(
            "transactions",
            "2.0.0",
            "O(N), when N is the number of queued commands",
            "Discard all commands issued after MULTI",
        ),
    CommandDef::connection(
        "watch",
        -2,
        &Later(|conn, args| Box::pin(async move { watch(conn, &args).await })),
    )
    .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED)
    .acl(acl::TRANSACTION)
    .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO)])
    .doc(
        "transactions",
        "2.2.0",
        "O(1) for every key.",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
    )
    .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::connection("unwatch", 1, &Later(|conn, _| Box::pin(unwatch(conn))))
        .flags(NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY)
        .acl(acl::TRANSACTION)
        .doc(
            "transactions",
            "2.2.0",
            "O(1)",
            "Forget about all watched keys",
        ),
];

/// Queues a command inside MULTI.
pub fn queue(conn: &mut Connection, command: Command) -> Frame {
    if let Some(state) = conn.multi.as_mut() {
        state.commands.push(command);
    }
    Frame::simple("QUEUED")
}

/// A command was refused (unknown, wrong arity...): inside MULTI, EXEC will abort; a refused EXEC
/// itself aborts the transaction at once, as Redis does. Returns the reply.
pub async fn refuse(conn: &mut Connection, name: &[u8], error: Frame) -> Frame {
    let Some(state) = conn.multi.as_mut() else {
        return error;
    };
    if !name.eq_ignore_ascii_case(b"exec") {
        state.failed = true;
        return error;
    }
    conn.multi = None;
    unwatch_all(conn).await;
    let reason = match &error {
        Frame::Error(text) => text.strip_prefix("ERR ").unwrap_or(text).to_string(),
        _ => String::new(),
    };
    Frame::error_owned(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

pub fn multi(conn: &mut Connection) -> Frame {
    if conn.multi.is_some() {
        return Frame::error("ERR MULTI calls can not be nested");
    }
    conn.multi = Some(MultiState::default());
    Frame::OK
}

pub async fn discard(conn: &mut Connection) -> Frame {
    if conn.multi.take().is_none() {
        return Frame::error("ERR DISCARD without MULTI");
    }
    unwatch_all(conn).await;
    Frame::OK
}

pub async fn watch(conn: &mut Connection, args: &[Bytes]) -> Frame {
    if conn.multi.is_some() {
        return Frame::error("ERR WATCH inside MULTI is not allowed");
    }
    let ctx = conn.ctx.clone();
    let shards = ctx.shards();
    let db = conn.db;
    let state = conn.watch.get_or_insert_with(|| WatchState {
        flag: Arc::new(AtomicBool::new(false)),
        keys: Vec::new(),
    });
    let flag = state.flag.clone();
    for key in &args[1..] {
        if state.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            continue;
        }
        let (watched, watcher) = (key.clone(), flag.clone());
        let expire_at = ctx
            .run_on(shard_of(key, shards), move |s| {
                let now = s.clock();
                s.watch(db, watched, watcher, now)
            })
            .await
            .unwrap_or(0);
        state.keys.push((db, key.clone(), expire_at));
    }
    Frame::OK
}

pub async fn unwatch(conn: &mut Connection) -> Frame {
    unwatch_all(conn).await;
    Frame::OK
}

/// Forgets the connection's watched keys on their shards (EXEC, DISCARD, UNWATCH, RESET, close).
pub async fn unwatch_all(conn: &mut Connection) {
    let Some(state) = conn.watch.take() else {
        return;
    };
    let ctx = conn.ctx.clone();
    let shards = ctx.shards();
    for (db, key, _) in state.keys {
        let flag = state.flag.clone();
        let shard = shard_of(&key, shards);
        ctx.run_on(shard, move |s| s.unwatch(db, key, &flag)).await;
    }
}

/// Single-shard commands waiting for the next hop, per shard: (reply slot, db, command).
type Pending = BTreeMap<usize, Vec<(usize, usize, Command)>>;

/// What EXEC will do with one queued command.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// All its keys on one shard.
    Single(usize),
    /// Keys on several shards.
    Gathered,
    /// FLUSHALL (true) or FLUSHDB (false) on every shard.
    Flush(bool),
    /// A server command run the usual way (PING, INFO, SELECT...).
    Server,
}

pub async fn exec(conn: &mut Connection) -> Frame {
    let Some(state) = conn.multi.take() else {
        return Frame::error("ERR EXEC without MULTI");
    };
    let watch = conn.watch.take();
    let reply = if state.failed {
        Frame::error("EXECABORT Transaction discarded because of previous errors.")
    } else if watch
        .as_ref()
        .is_some_and(|w| w.flag.load(Ordering::Acquire))
    {
        Frame::NullArray
    } else {
        run_transaction(conn, state.commands, watch.as_ref()).await
    };
    conn.watch = watch;
    unwatch_all(conn).await;
    reply
}

async fn run_transaction(
    conn: &mut Connection,
    commands: Vec<Command>,
    watch: Option<&WatchState>,
) -> Frame {
    let ctx = conn.ctx.clone();
    let shards = ctx.shards();
    let mut locks: BTreeMap<usize, Vec<LockRequest>> = BTreeMap::new();
    let mut planned = Vec::with_capacity(commands.len());
    let mut writes = false;
    let mut db = conn.db;
    for Command { def: spec, args } in commands {
        writes |= spec.is_write();
        let step = plan_step(spec, &args, shards, db, &mut locks);
        if spec.name == "select" {
            db = selected_db(&args, ctx.shared.config.databases).unwrap_or(db);
        }
        planned.push((spec, step, args));
    }
    for (watch_db, key, _) in watch.map(|w| &w.keys[..]).unwrap_or_default() {
        locks
            .entry(shard_of(key, shards))
            .or_default()
            .push(LockRequest {
                db: *watch_db,
                key: key.clone(),
                exclusive: false,
            });
    }
    if locks.is_empty() {
        let mut replies = Vec::with_capacity(planned.len());
        for (spec, _, args) in planned {
            replies.push(Box::pin(super::handler::run_connection_command(conn, spec, args)).await);
        }
        return Frame::Array(replies);
    }
    let mut tx = Transaction::begin(&ctx, locks.clone(), writes).await;
    if watched_key_expired(&mut tx, &locks, shards, watch).await {
        tx.finish().await;
        return Frame::NullArray;
    }
    let mut replies = vec![Frame::Null; planned.len()];
    let mut pending: Pending = BTreeMap::new();
    for (index, (spec, step, args)) in planned.into_iter().enumerate() {
        if let Step::Single(shard) = step {
            pending
                .entry(shard)
                .or_default()
                .push((index, conn.db, Command { def: spec, args }));
            continue;
        }
        run_pending(&mut tx, &mut pending, &mut replies).await;
        replies[index] = match step {
            Step::Single(_) => continue,
            Step::Gathered => gather::run(&mut tx, shards, conn.db, spec, args, false).await,
            Step::Flush(all) => {
                tx.hop(keyspace::flush_jobs(shards, conn.db, all), false)
                    .await;
                Frame::OK
            }
            Step::Server => {
                Box::pin(super::handler::run_connection_command(conn, spec, args)).await
            }
        };
    }
    run_pending(&mut tx, &mut pending, &mut replies).await;
    tx.finish().await;
    Frame::Array(replies)
}

/// Decides how a queued command runs and adds the locks it needs.
fn plan_step(
    spec: &'static CommandDef,
    args: &[Bytes],
    shards: usize,
    db: usize,
    locks: &mut BTreeMap<usize, Vec<LockRequest>>,
) -> Step {
    if let Spread::EveryShard { all_dbs } = spec.spread {
        for shard in 0..shards {
            locks
                .entry(shard)
                .or_default()
                .push(LockRequest::whole_shard());
        }
        return Step::Flush(all_dbs);
    }
    if !spec.runs_on_shard() {
        return Step::Server;
    }
    let plan = KeyPlan::new(spec, args, db, shards);
    for (shard, lock) in plan.locks() {
        locks.entry(shard).or_default().push(lock);
    }
    let owners = plan.owners();
    match owners[..] {
        [] => Step::Server,
        [shard] => Step::Single(shard),
        _ => Step::Gathered,
    }
}

fn selected_db(args: &[Bytes], databases: usize) -> Option<usize> {
    let index = parse_i64(args.get(1)?)?;
    (index >= 0 && (index as usize) < databases).then_some(index as usize)
}

/// Runs the single-shard commands gathered so far: one job per shard, all shards in one hop.
async fn run_pending(tx: &mut Transaction, pending: &mut Pending, replies: &mut [Frame]) {
    if pending.is_empty() {
        return;
    }
    let batches = std::mem::take(pending);
    let mut slots = Vec::with_capacity(batches.len());
    let mut jobs: Vec<(usize, Work<Vec<Frame>>)> = Vec::with_capacity(batches.len());
    for (shard, commands) in batches {
        slots.push(
            commands
                .iter()
                .map(|(index, _, _)| *index)
                .collect::<Vec<_>>(),
        );
        let job: Work<Vec<Frame>> = Box::new(move |s| {
            commands
                .iter()
                .map(|(_, db, command)| s.run_command(*db, command.def, &command.args))
                .collect()
        });
        jobs.push((shard, job));
    }
    for (indexes, frames) in slots.into_iter().zip(tx.hop(jobs, false).await) {
        for (index, frame) in indexes.into_iter().zip(frames.unwrap_or_default()) {
            replies[index] = frame;
        }
    }
}

/// The first hop, on every participant: whether a watched key that had a TTL when watched has
/// expired since (Redis counts expiry as a change). The hop also lets every transaction that was
/// scheduled earlier on these keys finish first.
async fn watched_key_expired(
    tx: &mut Transaction,
    locks: &BTreeMap<usize, Vec<LockRequest>>,
    shards: usize,
    watch: Option<&WatchState>,
) -> bool {
    let mut jobs: Vec<(usize, Work<bool>)> = Vec::with_capacity(locks.len());
    for &shard in locks.keys() {
        let expiring: Vec<u64> = watch
            .map(|w| {
                w.keys
                    .iter()
                    .filter(|(_, key, expire_at)| *expire_at != 0 && shard_of(key, shards) == shard)
                    .map(|(_, _, expire_at)| *expire_at)
                    .collect()
            })
            .unwrap_or_default();
        let job: Work<bool> = Box::new(move |s| {
            let now = s.clock();
            expiring.iter().any(|&at| now > at)
        });
        jobs.push((shard, job));
    }
    let expired = tx
        .hop(jobs, false)
        .await
        .into_iter()
        .any(|expired| expired == Some(true));
    expired || watch.is_some_and(|w| w.flag.load(Ordering::Acquire))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{resolve, words};

    /// Plans `lines` in order as EXEC does, on two shards, in db 0.
    fn plan(lines: &[&str]) -> (Vec<Step>, BTreeMap<usize, Vec<LockRequest>>) {
        crate::commands::install();
        let mut locks = BTreeMap::new();
        let steps = lines
            .iter()
            .map(|line| {
                let args = words(line);
                let def = resolve(&args).unwrap();
                plan_step(def, &args, 2, 0, &mut locks)
            })
            .collect();
        (steps, locks)
    }

    fn key_on(shard: usize) -> String {
        crate::router::key_on(shard, 2)
    }

    #[test]
    fn each_command_runs_where_its_keys_live() {
        let (a, b) = (key_on(0), key_on(1));
        let (steps, locks) = plan(&[
            &format!("set {a} 1"),
            &format!("get {b}"),
            &format!("mset {a} 1 {b} 2"),
            "ping",
        ]);
        assert_eq!(
            steps,
            vec![
                Step::Single(0),
                Step::Single(1),
                Step::Gathered,
                Step::Server
            ]
        );
        // SET and MSET write a; GET reads b, MSET writes it.
        let on = |shard: usize, key: &str, exclusive: bool| {
            locks[&shard]
                .iter()
                .any(|lock| lock.key.as_ref() == key.as_bytes() && lock.exclusive == exclusive)
        };
        assert!(on(0, &a, true));
        assert!(on(1, &b, false) && on(1, &b, true));
    }

    #[test]
    fn flushes_lock_every_shard_whole() {
        let (steps, locks) = plan(&["flushall", "flushdb"]);
        assert_eq!(steps, vec![Step::Flush(true), Step::Flush(false)]);
        for shard in 0..2 {
            assert!(locks[&shard].iter().all(LockRequest::is_whole_shard));
            assert_eq!(locks[&shard].len(), 2);
        }
    }

    #[test]
    fn move_locks_its_key_in_the_other_db() {
        let a = key_on(1);
        let (steps, locks) = plan(&[&format!("move {a} 7")]);
        assert_eq!(steps, vec![Step::Single(1)]);
        assert!(locks[&1]
            .iter()
            .any(|lock| lock.db == 7 && lock.key.as_ref() == a.as_bytes() && lock.exclusive));
    }
}
