//! SAVE and LASTSAVE: a synchronous snapshot of every shard into the RDB file, as Redis's SAVE blocks.

use crate::connection::Connection;
use crate::messages::{Job, Output};
use crate::persistence;
use damselfly_protocol::Frame;

pub async fn save(conn: &Connection) -> Frame {
    match save_snapshot(conn).await {
        Ok(_) => Frame::OK,
        Err(err) => {
            tracing::warn!("{err}");
            Frame::error("ERR Background save already in progress or failed: see the server log")
        }
    }
}

/// Copies every shard's keys (each shard at its own moment, like the other keyspace-wide commands) and writes
/// them as one file. Returns the number of keys saved.
pub async fn save_snapshot(conn: &Connection) -> Result<usize, String> {
    let outputs = conn
        .ctx
        .run_everywhere(|_| -> Job {
            Box::new(|shard| {
                let now = crate::shard::now_ms();
                Output::Snapshot(persistence::collect(&mut shard.dbs, now))
            })
        })
        .await;
    let shards = outputs
        .into_iter()
        .filter_map(|output| match output {
            Output::Snapshot(dbs) => Some(dbs),
            _ => None,
        })
        .collect();
    let saved = persistence::write(&conn.ctx.shared.config, shards)?;
    conn.ctx.shared.mark_saved();
    Ok(saved)
}

pub fn lastsave(conn: &Connection) -> Frame {
    Frame::Integer(conn.ctx.shared.last_save() as i64)
}

/// SHUTDOWN: saves first when asked, then exits; a failed save keeps the server running, as in Redis.
pub async fn shutdown(conn: &Connection, save_first: bool) -> Frame {
    tracing::info!("User requested shutdown...");
    if save_first {
        if let Err(err) = save_snapshot(conn).await {
            tracing::warn!("{err}");
            return Frame::error("ERR Errors trying to SHUTDOWN. Check logs.");
        }
    }
    crate::signals::shutdown_now();
}
