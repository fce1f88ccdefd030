//! Runs one read cycle's commands in order: local single-shard commands inline, remote ones gathered into one
//! batch per shard, multi-shard and server commands after the batches before them have completed.

use crate::commands::handler::run_connection_command;
use crate::commands::{self};
use crate::connection::Connection;
use crate::dispatch::{plan_keys, run_on_shard, Plan};
use crate::messages::Command;
use crate::shard::ShardMsg;
use crate::wakeup::await_remote;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{flag, CommandDef};
use futures::channel::oneshot;

/// Commands gathered for one remote shard, with the reply slots they fill.
#[derive(Default)]
struct RemoteBatch {
    commands: Vec<Command>,
    slots: Vec<usize>,
}

pub async fn execute(conn: &mut Connection, commands: Vec<Vec<Bytes>>) -> Vec<Frame> {
    let mut replies = Vec::with_capacity(commands.len());
    let mut batches: Vec<RemoteBatch> = Vec::new();
    let mut wrote = false;
    conn.ctx.shard.borrow_mut().tick();
    for args in commands {
        if conn.close_after_reply {
            break;
        }
        let (def, plan) = match plan(conn, &args) {
            Ok(planned) => planned,
            Err(error) => {
                replies.push(commands::multi::refuse(conn, &args[0], error).await);
                continue;
            }
        };
        if conn.subscribed() && !conn.resp3 && !def.has(flag::SUBSCRIBED_CONTEXT) {
            replies.push(commands::pubsub::not_allowed_while_subscribed(def.name));
            continue;
        }
        if conn.multi.is_some() && !def.has(flag::NOT_QUEUED) {
            replies.push(commands::multi::queue(conn, Command { def, args }));
            continue;
        }
        conn.ctx.shard.borrow_mut().commands_processed += 1;
        conn.info.borrow_mut().last_command = def.name;
        wrote |= def.is_write() || def.has(flag::RUNS_TRANSACTION);
        // XREAD/XREADGROUP with BLOCK: the timeout and the command without it.
        let stream_block = crate::blocking::read_block(def, &args);
        match plan {
            _ if stream_block.is_some() => {
                flush(conn, &mut batches, &mut replies).await;
                let reply = match stream_block {
                    Some(Ok((timeout, stripped))) => {
                        crate::blocking::run_read(conn, def, timeout, stripped).await
                    }
                    Some(Err(error)) => error,
                    None => Frame::error(errors::SYNTAX),
                };
                replies.push(reply);
                conn.ctx.shard.borrow_mut().tick();
            }
            _ if crate::blocking::is_blocking(def) => {
                flush(conn, &mut batches, &mut replies).await;
                replies.push(crate::blocking::run(conn, def, args).await);
                conn.ctx.shard.borrow_mut().tick();
            }
            Plan::Single(shard) if shard == conn.ctx.id => {
                let fast = conn.ctx.shard.borrow_mut().try_fast(conn.db, def, &args);
                let reply = match fast {
                    Some(reply) => reply,
                    None => {
                        flush(conn, &mut batches, &mut replies).await;
                        run_on_shard(conn, shard, Command { def, args }).await
                    }
                };
                replies.push(reply);
            }
            Plan::Single(shard) => {
                if batches.is_empty() {
                    batches.resize_with(conn.ctx.shards(), RemoteBatch::default);
                }
                batches[shard].commands.push(Command { def, args });
                batches[shard].slots.push(replies.len());
                replies.push(Frame::Null);
            }
            Plan::Multi => {
                flush(conn, &mut batches, &mut replies).await;
                replies.push(commands::multikey::run(conn, def, args).await);
                conn.ctx.shard.borrow_mut().tick();
            }
            Plan::Server => {
                flush(conn, &mut batches, &mut replies).await;
                replies.push(run_connection_command(conn, def, args).await);
                conn.ctx.shard.borrow_mut().tick();
            }
        }
    }
    flush(conn, &mut batches, &mut replies).await;
    if wrote && conn.ctx.shared.repl.journal_on() {
        // Redis's c->woff: what WAIT must see acknowledged covers everything up to now.
        conn.write_offsets = conn.ctx.shared.repl.current_offsets();
    }
    replies
}

fn plan(conn: &Connection, args: &[Bytes]) -> Result<(&'static CommandDef, Plan), Frame> {
    let def = crate::spec::resolve(args)?;
    // Redis 7.0's order: existence, arity, then authentication.
    if !def.arity_ok(args.len()) {
        return Err(commands::wrong_arity(def.name));
    }
    if !conn.authenticated && !def.has(flag::NO_AUTH) {
        return Err(Frame::error("NOAUTH Authentication required."));
    }
    if def.is_write() && conn.ctx.shared.repl.too_few_good_replicas() {
        return Err(Frame::error(crate::replication_state::NOREPLICAS));
    }
    if def.is_write() && conn.ctx.shared.repl.refuses_writes() {
        return Err(Frame::error(
            "READONLY You can't write against a read only replica.",
        ));
    }
    if !def.runs_on_shard() {
        return Ok((def, Plan::Server));
    }
    Ok((def, plan_keys(conn, def, args)))
}

/// Sends every gathered batch, then waits for all of them and fills their reply slots.
async fn flush(conn: &Connection, batches: &mut [RemoteBatch], replies: &mut [Frame]) {
    if batches.iter().all(|batch| batch.commands.is_empty()) {
        return;
    }
    let mut waiting = Vec::new();
    for (shard, batch) in batches.iter_mut().enumerate() {
        if batch.commands.is_empty() {
            continue;
        }
        let (reply, result) = oneshot::channel();
        let commands = std::mem::take(&mut batch.commands);
        conn.ctx.send(
            shard,
            ShardMsg::Batch {
                db: conn.db,
                commands,
                reply,
            },
        );
        waiting.push((std::mem::take(&mut batch.slots), result));
    }
    for (slots, result) in waiting {
        let frames = await_remote(result).await.unwrap_or_default();
        let mut frames = frames.into_iter();
        for slot in slots {
            replies[slot] = frames
                .next()
                .unwrap_or_else(|| Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER));
        }
    }
}
