//! The link to a redis-server primary, used when the primary answered `DFLY SYNC` with an
//! unknown-command error: Redis's own protocol on the same control connection.
//!
//! `PSYNC <replid> <offset+1>` (or `PSYNC ? -1` without a history) → `+FULLRESYNC <replid>
//! <offset>` then an RDB (`rdb_load`), or `+CONTINUE [<new replid>]` then the stream from where we
//! stopped. The stream (`redis_stream`) goes through the same applier as a damselfly primary's,
//! as one flow whose offset is Redis's replication offset: the FULLRESYNC offset plus every
//! stream byte since. `REPLCONF ACK <offset>` goes back every second and after `REPLCONF GETACK`.

use super::applier::{self, Applier, SharedApplier};
use super::applier::{flush_everything, wait_idle};
use super::primary_conn::PrimaryConn;
use super::rdb_load;
use super::redis_stream::RedisStream;
use super::temp_file;
use crate::context::ExecutorCtx;
use crate::replication_state::ReplAux;
use crate::wakeup::await_remote;
use futures::{AsyncReadExt, FutureExt};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const ACK_INTERVAL: Duration = Duration::from_secs(1);
/// Most stream bytes read ahead while SAVE pauses the applying (then the socket fills and the
/// primary buffers the rest, within its replica output-buffer limit).
const PAUSED_INPUT: usize = 64 << 20;
/// How long the primary may take to answer PSYNC (it may be preparing the RDB; it sends
/// keepalives meanwhile, which reset nothing here: they are skipped as they come).
const PSYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// What a replica keeps of a Redis primary across reconnects, for a partial resync.
pub struct RedisHistory {
    pub replid: String,
    /// The stream's db when the link broke (Redis keeps it in its cached master client).
    pub db: usize,
}

/// The primary's answer to PSYNC.
#[derive(Debug, PartialEq, Eq)]
pub enum PsyncReply {
    Full {
        replid: String,
        offset: u64,
    },
    /// `+CONTINUE`, with the primary's new replication id when it changed (a failover).
    Continue {
        new_replid: Option<String>,
    },
}

pub fn parse_psync_reply(reply: &str) -> Result<PsyncReply, String> {
    let words: Vec<&str> = reply.split_whitespace().collect();
    match words[..] {
        ["+FULLRESYNC", replid, offset] if replid.len() == 40 => Ok(PsyncReply::Full {
            replid: replid.to_string(),
            offset: offset
                .parse()
                .map_err(|_| format!("bad FULLRESYNC offset in '{reply}'"))?,
        }),
        ["+CONTINUE"] => Ok(PsyncReply::Continue { new_replid: None }),
        ["+CONTINUE", replid] if replid.len() == 40 => Ok(PsyncReply::Continue {
            new_replid: Some(replid.to_string()),
        }),
        _ => Err(format!("PSYNC refused: {reply}")),
    }
}

/// The PSYNC arguments: our history's replid and the offset of the next byte we need (Redis's
/// `reploff + 1`), or `? -1` to ask for a full sync.
pub fn psync_request(history: Option<(&str, u64)>) -> (String, String) {
    match history {
        Some((replid, offset)) => (replid.to_string(), (offset + 1).to_string()),
        None => ("?".to_string(), "-1".to_string()),
    }
}

/// Reads PSYNC's reply line, skipping the bare `\n` keepalives the primary may send first.
async fn psync_line(conn: &mut PrimaryConn) -> Result<String, String> {
    let started = Instant::now();
    loop {
        let newlines = conn.input.iter().take_while(|&&b| b == b'\n').count();
        let _ = conn.input.split_to(newlines);
        if let Some(line) = super::handshake::take_line(&mut conn.input)? {
            return Ok(line);
        }
        let left = PSYNC_TIMEOUT.saturating_sub(started.elapsed());
        conn.read_more(left.max(Duration::from_millis(1))).await?;
    }
}

/// Runs the link to a Redis primary until it breaks. `applier` and `history` persist across
/// calls: with both, the link asks to continue where it stopped.
pub(super) async fn run(
    ctx: &Rc<ExecutorCtx>,
    generation: u64,
    mut conn: PrimaryConn,
    applier: &mut Option<SharedApplier>,
    history: &mut Option<RedisHistory>,
) -> Result<(), String> {
    let resume = match (history.as_ref(), applier.as_ref()) {
        (Some(history), Some(current)) if current.borrow().flows() == 1 => {
            Some((history.replid.clone(), current.borrow().consumed(0)))
        }
        _ => None,
    };
    let (replid, offset) = psync_request(resume.as_ref().map(|(id, off)| (id.as_str(), *off)));
    conn.send(&[b"PSYNC", replid.as_bytes(), offset.as_bytes()])
        .await?;
    let reply = parse_psync_reply(&psync_line(&mut conn).await?)?;
    let gate = Rc::new(glommio::sync::Semaphore::new(1));
    let timeout = Duration::from_secs(ctx.shared.config.repl_timeout_secs);
    let shared_applier = match reply {
        PsyncReply::Full { replid, offset } => {
            let (host, port) = primary_address(ctx);
            tracing::info!(
                "full sync from the Redis primary {host}:{port} (replid {replid}, offset {offset})"
            );
            let started = Instant::now();
            {
                let mut state = ctx.shared.repl.state();
                state.link.state = "sync";
                state.link.sync_started = Some(started);
                state.link.primary_replid = Some(replid.clone());
                state.link.redis_db = None;
            }
            if let Some(old) = applier.take() {
                wait_idle(&old).await;
            }
            *history = None;
            flush_everything(ctx).await;
            let fresh = Rc::new(RefCell::new(Applier::new(1, ctx.shards())));
            fresh.borrow_mut().set_start(0, offset);
            let path = rdb_load::temp_path(&ctx.shared.config.dir);
            let received = rdb_load::receive(&mut conn, &path, timeout).await;
            let loaded = match received {
                Ok(bytes) => rdb_load::load(ctx, &fresh, &gate, &path, &mut conn)
                    .await
                    .map(|loaded| (bytes, loaded)),
                Err(err) => Err(err),
            };
            temp_file::remove(&path).await;
            let (bytes, loaded) = loaded?;
            tracing::info!(
                "full sync complete: {} keys from a {bytes}-byte RDB in {:?}",
                loaded.keys,
                started.elapsed()
            );
            *history = Some(RedisHistory {
                replid,
                db: loaded.stream_db.unwrap_or(0),
            });
            *applier = Some(fresh.clone());
            fresh
        }
        PsyncReply::Continue { new_replid } => {
            let (Some(current), Some(history)) = (applier.clone(), history.as_mut()) else {
                return Err("the primary continued a sync we did not ask to continue".to_string());
            };
            if let Some(new_replid) = new_replid.filter(|id| *id != history.replid) {
                tracing::info!(
                    "the primary's replication id changed from {} to {new_replid} (a failover): adopted",
                    history.replid
                );
                history.replid = new_replid;
            }
            tracing::info!(
                "partial resync from the Redis primary at offset {}",
                current.borrow().consumed(0)
            );
            current
        }
    };
    let Some(history) = history.as_mut() else {
        return Err("no replication history".to_string());
    };
    {
        let mut state = ctx.shared.repl.state();
        state.link.primary_replid = Some(history.replid.clone());
        state.link.state = "connected";
        state.link.sync_started = None;
        state.link.last_io = Instant::now();
        state.link.redis_db = Some(history.db);
        state.link.offsets = vec![shared_applier.borrow().consumed(0)];
        state.link.applied = vec![shared_applier.borrow().applied(0)];
    }
    stream(
        ctx,
        generation,
        &mut conn,
        &shared_applier,
        &gate,
        history,
        timeout,
    )
    .await
}

fn primary_address(ctx: &ExecutorCtx) -> (String, u16) {
    match &ctx.shared.repl.state().role {
        crate::replication_state::Role::Replica { host, port } => (host.clone(), *port),
        crate::replication_state::Role::Primary => (String::new(), 0),
    }
}

/// Applies the command stream and acknowledges it until the link breaks. While SAVE holds a
/// pause (`replication_state::ApplyPause`), nothing more goes to the applier: once what went is
/// applied, the link publishes where the data stands and keeps reading into `input`, up to
/// `PAUSED_INPUT`, until the pause is released.
async fn stream(
    ctx: &Rc<ExecutorCtx>,
    generation: u64,
    conn: &mut PrimaryConn,
    applier: &SharedApplier,
    gate: &Rc<glommio::sync::Semaphore>,
    history: &mut RedisHistory,
    timeout: Duration,
) -> Result<(), String> {
    let mut parser = RedisStream::new(history.db, ctx.shared.config.databases);
    let mut chunk = vec![0u8; 256 << 10];
    // The first acknowledgement goes at once: after a diskless sync Redis starts the stream
    // only when it arrives.
    let mut last_ack: Option<Instant> = None;
    let ack_signal = applier.borrow().ack_signal(0);
    let mut input = std::mem::take(&mut conn.input);
    let mut last_data = Instant::now();
    // Dropped on every way out of this function, which ends any pause waiting on this link.
    let pause = ctx.shared.repl.apply_pause.register();
    loop {
        // Stopped following (promoted or re-pointed): apply nothing more, so the position the
        // handover reads stays exact.
        let pausing = pause.wanted() || ctx.shared.repl.state().generation != generation;
        let mut ack_now = false;
        if !pausing {
            let drained = parser.drain(&mut input, &mut applier.borrow_mut());
            history.db = parser.db;
            ack_now = drained?;
        }
        applier::flush(ctx, applier, gate).await;
        for (channel, message) in parser.take_published() {
            crate::publish::deliver(ctx, channel, message).await;
        }
        let (applied, consumed) = {
            let applier = applier.borrow();
            (applier.applied(0), applier.consumed(0))
        };
        {
            let mut state = ctx.shared.repl.state();
            state.link.last_io = last_data;
            state.link.offsets = vec![consumed];
            state.link.applied = vec![applied];
            state.link.redis_db = Some(parser.db);
        }
        // Nothing was handed on in this round, and everything before is applied (transactions
        // included): the data stands exactly at `applied`.
        let settling = pausing && !pause.is_settled();
        if settling && applied == consumed {
            pause.settle(ReplAux {
                replid: history.replid.clone(),
                offset: applied,
                db: parser.db,
            });
        }
        if ack_now {
            applier.borrow_mut().set_ack_wanted(0, true);
        }
        let owed = applier.borrow().ack_owed(0);
        if owed || last_ack.is_none_or(|at| at.elapsed() >= ACK_INTERVAL) {
            let offset = applied.to_string();
            conn.send(&[b"REPLCONF", b"ACK", offset.as_bytes()]).await?;
            last_ack = Some(Instant::now());
            // Records still in the transaction lane: acknowledge again once it applied them.
            applier
                .borrow_mut()
                .set_ack_wanted(0, owed && applied < consumed);
        }
        let mut wait =
            ACK_INTERVAL.saturating_sub(last_ack.map_or(Duration::ZERO, |at| at.elapsed()));
        if settling {
            // The transaction lane is still applying: look again soon.
            wait = wait.min(Duration::from_millis(1));
        }
        // Paused with a full buffer: leave the rest in the socket (the primary buffers it).
        let reading = !pausing || input.len() < PAUSED_INPUT;
        let read = async {
            if reading {
                conn.stream.read(&mut chunk).await
            } else {
                futures::future::pending().await
            }
        };
        let read = futures::select! {
            read = read.fuse() => Some(read),
            _ = ack_signal.wait().fuse() => None,
            _ = await_remote(pause.changed(pausing)).fuse() => None,
            _ = glommio::timer::sleep(wait.max(Duration::from_millis(1))).fuse() => None,
        };
        if ctx.shared.repl.state().generation != generation {
            // Promoted (or re-pointed): what was read is applied before the link goes, so the
            // position it leaves is exact (REPLICAOF NO ONE continues the stream from it).
            wait_idle(applier).await;
            let applier = applier.borrow();
            let mut state = ctx.shared.repl.state();
            state.link.offsets = vec![applier.consumed(0)];
            state.link.applied = vec![applier.applied(0)];
            return Ok(());
        }
        match read {
            None => {
                // Silence we chose (not reading) is not the primary's.
                if !reading {
                    last_data = Instant::now();
                }
                if last_data.elapsed() > timeout {
                    return Err(format!(
                        "no data from the primary for {timeout:?} (repl-timeout)"
                    ));
                }
            }
            Some(Ok(0)) => return Err("the primary closed the connection".to_string()),
            Some(Ok(read)) => {
                input.extend_from_slice(&chunk[..read]);
                last_data = Instant::now();
            }
            Some(Err(err)) => return Err(format!("read from the primary failed: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_replies_and_requests() {
        let id = "a".repeat(40);
        assert_eq!(
            parse_psync_reply(&format!("+FULLRESYNC {id} 1234")),
            Ok(PsyncReply::Full {
                replid: id.clone(),
                offset: 1234
            })
        );
        assert_eq!(
            parse_psync_reply("+CONTINUE"),
            Ok(PsyncReply::Continue { new_replid: None })
        );
        assert_eq!(
            parse_psync_reply(&format!("+CONTINUE {id}")),
            Ok(PsyncReply::Continue {
                new_replid: Some(id.clone())
            })
        );
        assert!(
            parse_psync_reply("-NOMASTERLINK Can't SYNC while not connected with my master")
                .is_err()
        );
        assert!(parse_psync_reply("+FULLRESYNC short 1").is_err());
        assert_eq!(psync_request(None), ("?".into(), "-1".into()));
        assert_eq!(psync_request(Some((&id, 99))), (id.clone(), "100".into()));
    }
}
