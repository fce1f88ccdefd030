//! Commands whose keys live on several shards, run as transactions so no client sees half of one.

use crate::commands::wrong_arity;
use crate::connection::Connection;
use crate::context::ExecutorCtx;
use crate::keyplan::KeyPlan;
use crate::router::shard_of;
use crate::shard::Work;
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::composed;
use damselfly_storage::spec::{CommandDef, Merge, Move, Spread};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The key arguments of one command grouped by owning shard (`KeyPlan::split`), owned so each
/// shard's share can travel to it.
struct Split {
    /// Per shard: (index of the key among all keys, the words that go with it: the key, or key and value).
    parts: BTreeMap<usize, Vec<(usize, Vec<Bytes>)>>,
}

fn split(plan: &KeyPlan) -> Split {
    let parts = plan
        .split()
        .into_iter()
        .map(|(shard, items)| {
            let items = items
                .into_iter()
                .map(|(index, words)| (index, words.to_vec()))
                .collect();
            (shard, items)
        })
        .collect();
    Split { parts }
}

impl Split {
    /// One job per shard running the command (`def`, named `name`) over that shard's share of
    /// the arguments.
    fn jobs(&self, def: &'static CommandDef, name: &Bytes, db: usize) -> Vec<(usize, Work<Frame>)> {
        self.parts
            .iter()
            .map(|(&shard, items)| {
                let mut args = vec![name.clone()];
                args.extend(items.iter().flat_map(|(_, words)| words.iter().cloned()));
                let job: Work<Frame> = Box::new(move |s| s.run_command(db, def, &args));
                (shard, job)
            })
            .collect()
    }
}

/// Runs a command whose keys span shards for `conn`, in its current db.
pub async fn run(conn: &mut Connection, spec: &'static CommandDef, args: Vec<Bytes>) -> Frame {
    let ctx = conn.ctx.clone();
    run_in(&ctx, conn.db, spec, args).await
}

/// `run` with what it needs of a connection: its executor (the coordinator) and its db. The
/// coordination tests (`commands/multikey_tests.rs`) call it without a connection.
pub(crate) async fn run_in(
    ctx: &Rc<ExecutorCtx>,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    let shards = ctx.shards();
    let step = spec.key_step();
    match spec.spread {
        Spread::PerKey(merge) => {
            if !(args.len() - 1).is_multiple_of(step) {
                return wrong_arity(spec.name);
            }
            let plan = KeyPlan::new(spec, &args, db, shards);
            let split = split(&plan);
            let exclusive = spec.is_write();
            let mut tx = Transaction::begin(ctx, plan.locks_by_shard(), exclusive).await;
            let outputs = tx.hop(split.jobs(spec, &args[0], db), true).await;
            match merge {
                Merge::Sum => Frame::Integer(
                    outputs
                        .into_iter()
                        .map(|reply| match reply {
                            Some(Frame::Integer(n)) => n,
                            _ => 0,
                        })
                        .sum(),
                ),
                Merge::Ok => Frame::OK,
                Merge::Positional => {
                    let mut values = vec![Frame::Null; (args.len() - 1) / step];
                    for ((_, items), output) in split.parts.iter().zip(outputs) {
                        if let Some(Frame::Array(frames)) = output {
                            for ((index, _), frame) in items.iter().zip(frames) {
                                values[*index] = frame;
                            }
                        }
                    }
                    Frame::Array(values)
                }
            }
        }
        Spread::AllOrNothing => all_or_nothing(ctx, db, spec, args).await,
        Spread::MoveValue(kind) => move_value(ctx, db, spec, kind, args).await,
        Spread::Bitop => bitop(ctx, db, spec, args).await,
        Spread::Gathered | Spread::EveryShard { .. } => gathered(ctx, db, spec, args).await,
    }
}

/// MSETNX across shards: under locks on every key, checks that none exists, then sets them all.
async fn all_or_nothing(
    ctx: &Rc<ExecutorCtx>,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    if !(args.len() - 1).is_multiple_of(2) {
        return wrong_arity(spec.name);
    }
    let plan = KeyPlan::new(spec, &args, db, ctx.shards());
    let split = split(&plan);
    let mut tx = Transaction::begin(ctx, plan.locks_by_shard(), true).await;
    let checks = split
        .parts
        .iter()
        .map(|(&shard, items)| {
            let keys: Vec<Bytes> = items.iter().map(|(_, words)| words[0].clone()).collect();
            let job: Work<usize> = Box::new(move |s| s.count_existing(db, &keys));
            (shard, job)
        })
        .collect();
    let existing: usize = tx.hop(checks, false).await.into_iter().flatten().sum();
    if existing > 0 {
        tx.finish().await;
        return Frame::Integer(0);
    }
    tx.hop(split.jobs(spec, &args[0], db), true).await;
    Frame::Integer(1)
}

/// Any other command across shards: locks on all its keys, then `gather::run`.
async fn gathered(
    ctx: &Rc<ExecutorCtx>,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    let shards = ctx.shards();
    let locks = KeyPlan::new(spec, &args, db, shards).locks_by_shard();
    let mut tx = Transaction::begin(ctx, locks, spec.is_write()).await;
    let reply = super::gather::run(&mut tx, shards, db, spec, args, true).await;
    tx.finish().await;
    reply
}

/// What the first hop of a move finds on each side.
enum Probe {
    Source(Option<damselfly_storage::Entry>),
    TargetExists(bool),
}

/// RENAME, RENAMENX and COPY between two shards: read the source, check the destination, then write the
/// destination and (for renames) delete the source, all under the transaction's locks.
async fn move_value(
    ctx: &Rc<ExecutorCtx>,
    source_db: usize,
    spec: &'static CommandDef,
    kind: Move,
    args: Vec<Bytes>,
) -> Frame {
    let shards = ctx.shards();
    let (mut target_db, mut replace) = (source_db, kind == Move::Rename);
    if kind == Move::Copy {
        let mut options = args[3..].iter();
        while let Some(option) = options.next() {
            if option.eq_ignore_ascii_case(b"replace") {
                replace = true;
            } else if option.eq_ignore_ascii_case(b"db") {
                let Some(value) = options.next() else {
                    return Frame::error(errors::SYNTAX);
                };
                let Some(index) = crate::commands::parse_i64(value) else {
                    return Frame::error(errors::NOT_INTEGER);
                };
                if index < 0 || index as usize >= ctx.shared.config.databases {
                    return Frame::error(damselfly_protocol::errors::DB_OUT_OF_RANGE);
                }
                target_db = index as usize;
            } else {
                return Frame::error(errors::SYNTAX);
            }
        }
    }
    let (source, target) = (args[1].clone(), args[2].clone());
    let (source_shard, target_shard) = (shard_of(&source, shards), shard_of(&target, shards));
    // The target in `target_db` is locked too when COPY names a DB (the definition's `other_db`).
    let locks = KeyPlan::new(spec, &args, source_db, shards).locks_by_shard();
    let mut tx = Transaction::begin(ctx, locks, true).await;

    let (read_source, check_target) = (source.clone(), target.clone());
    let read: Work<Probe> =
        Box::new(move |s| Probe::Source(s.entry_to_move(source_db, &read_source)));
    let check: Work<Probe> = Box::new(move |s| {
        Probe::TargetExists(s.count_existing(target_db, std::slice::from_ref(&check_target)) > 0)
    });
    let mut outputs = tx
        .hop(vec![(source_shard, read), (target_shard, check)], false)
        .await
        .into_iter();
    let (Some(Some(Probe::Source(entry))), Some(Some(Probe::TargetExists(target_exists)))) =
        (outputs.next(), outputs.next())
    else {
        tx.finish().await;
        return Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER);
    };
    let Some(entry) = entry else {
        tx.finish().await;
        return match kind {
            Move::Copy | Move::ToDb => Frame::Integer(0),
            Move::Rename | Move::RenameNx => Frame::error(damselfly_protocol::errors::NO_SUCH_KEY),
        };
    };
    if target_exists && !replace {
        tx.finish().await;
        return Frame::Integer(0);
    }
    let write: Work<()> = Box::new(move |s| s.put_moved(target_db, target, entry));
    let mut jobs = vec![(target_shard, write)];
    if kind != Move::Copy {
        let delete: Work<()> = Box::new(move |s| {
            s.take_moved(source_db, source);
        });
        jobs.push((source_shard, delete));
    }
    tx.hop(jobs, true).await;
    tx.finish().await;
    match kind {
        Move::Rename => Frame::OK,
        Move::RenameNx | Move::Copy | Move::ToDb => Frame::Integer(1),
    }
}

/// BITOP whose keys span shards: read every source on its shard (GET, so hits, misses and lazy
/// expiry count as usual), compute the result here, then store it on the destination's shard
/// and journal the destination's resulting state.
async fn bitop(
    ctx: &Rc<ExecutorCtx>,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    let op = match damselfly_storage::parse_bitop(&args) {
        Ok(op) => op,
        Err(error) => return error,
    };
    let shards = ctx.shards();
    let dest = args[2].clone();
    let dest_shard = shard_of(&dest, shards);
    let locks = KeyPlan::new(spec, &args, db, shards).locks_by_shard();
    // Per shard: (index among the sources, key). Every participant runs the first hop, the
    // destination's shard too, so that each journals its part even when nothing is written.
    let mut reads: BTreeMap<usize, Vec<(usize, Bytes)>> = BTreeMap::new();
    reads.insert(dest_shard, Vec::new());
    for (index, key) in args[3..].iter().enumerate() {
        reads
            .entry(shard_of(key, shards))
            .or_default()
            .push((index, key.clone()));
    }
    let mut tx = Transaction::begin(ctx, locks, true).await;

    let jobs: Vec<(usize, Work<Vec<Frame>>)> = reads
        .iter()
        .map(|(&shard, items)| {
            let keys: Vec<Bytes> = items.iter().map(|(_, key)| key.clone()).collect();
            let job: Work<Vec<Frame>> = Box::new(move |s| {
                keys.into_iter()
                    .map(|key| {
                        s.run_internal(db, &[Bytes::from_static(composed::GET.as_bytes()), key])
                    })
                    .collect()
            });
            (shard, job)
        })
        .collect();
    let outputs = tx.hop(jobs, false).await;
    let mut values: Vec<Option<Bytes>> = vec![None; args.len() - 3];
    for ((_, items), output) in reads.iter().zip(outputs) {
        let Some(frames) = output else {
            tx.finish().await;
            return Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER);
        };
        for ((index, _), frame) in items.iter().zip(frames) {
            match frame {
                Frame::Bulk(value) => values[*index] = Some(value),
                Frame::Null => {}
                // WRONGTYPE: nothing is written.
                other => {
                    tx.finish().await;
                    return other;
                }
            }
        }
    }
    let sources: Vec<Option<&[u8]>> = values.iter().map(|v| v.as_deref()).collect();
    let result = damselfly_storage::bitop(op, &sources);
    let len = result.len() as i64;
    let write: Work<()> = Box::new(move |s| s.put_bitop_result(db, &dest, result));
    tx.hop(vec![(dest_shard, write)], true).await;
    tx.finish().await;
    Frame::Integer(len)
}
