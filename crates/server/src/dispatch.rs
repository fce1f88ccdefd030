//! Where one command runs (this shard, another, several, or the connection), and running one keyed
//! command there now: the read cycle's pipeline batches what it can, commands that run others
//! (blocking pops) run theirs through here.

use crate::commands::handler::run_connection_command;
use crate::commands::multikey;
use crate::connection::Connection;
use crate::keyplan::{KeyPlan, Route};
use crate::messages::Command;
use crate::shard::ShardMsg;
use crate::wakeup::await_remote;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;
use futures::channel::oneshot;

/// Where a command runs.
pub enum Plan {
    /// All keys live in this shard.
    Single(usize),
    /// Keys span several shards: a transaction.
    Multi,
    Server,
}

/// Where a shard command runs: a command naming no key runs here.
pub fn plan_keys(conn: &Connection, def: &'static CommandDef, args: &[Bytes]) -> Plan {
    match KeyPlan::new(def, args, conn.db, conn.ctx.shards()).route() {
        Route::NoKeys => Plan::Single(conn.ctx.id),
        Route::Single(shard) => Plan::Single(shard),
        Route::Multi => Plan::Multi,
    }
}

/// Runs one keyed command now, wherever its keys live (for commands that run others).
pub async fn run_keyed(conn: &mut Connection, def: &'static CommandDef, args: Vec<Bytes>) -> Frame {
    let plan = if def.runs_on_shard() {
        plan_keys(conn, def, &args)
    } else {
        Plan::Server
    };
    match plan {
        Plan::Single(shard) if shard == conn.ctx.id => {
            let fast = conn.ctx.shard.borrow_mut().try_fast(conn.db, def, &args);
            match fast {
                Some(reply) => reply,
                None => run_on_shard(conn, shard, Command { def, args }).await,
            }
        }
        Plan::Single(shard) => run_on_shard(conn, shard, Command { def, args }).await,
        Plan::Multi => multikey::run(conn, def, args).await,
        Plan::Server => run_connection_command(conn, def, args).await,
    }
}

/// Runs one command on `shard` as a batch of one, behind any transaction holding its keys (a local
/// command that met a lock waits in its shard's queue this way).
pub async fn run_on_shard(conn: &Connection, shard: usize, command: Command) -> Frame {
    let (reply, result) = oneshot::channel();
    conn.ctx.send(
        shard,
        ShardMsg::Batch {
            db: conn.db,
            commands: vec![command],
            reply,
        },
    );
    await_remote(result)
        .await
        .ok()
        .and_then(|frames| frames.into_iter().next())
        .unwrap_or_else(|| Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER))
}
