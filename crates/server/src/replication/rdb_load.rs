//! A Redis primary's full sync: the RDB after `+FULLRESYNC`, received into a temporary file in
//! `--dir` (as redis-server does with its default `repl-diskless-load disabled`, so memory stays
//! bounded whatever the data set's size) and then loaded key by key onto the shards that own them.
//! The file is written (`temp_file`) and read and decoded (`rdb_feed`) off the executor; the
//! executor reads the socket and puts the decoded keys into the shards.
//!
//! Both transfer forms are read: `$<len>\r\n<payload>` (disk-based sync) and the diskless
//! `$EOF:<40 bytes>\r\n<payload><the same 40 bytes>`. Before the `$` line the primary may send bare
//! `\n` keepalives while it prepares the RDB.

use super::applier::{self, SharedApplier};
use super::primary_conn::PrimaryConn;
use super::rdb_feed::{self, Found};
use super::temp_file::TempFile;
use crate::context::ExecutorCtx;
use crate::wakeup::await_remote;
use futures::{AsyncWriteExt, StreamExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Length of the diskless transfer's end mark (Redis's `RDB_EOF_MARK_SIZE`).
const EOF_MARK: usize = 40;
/// Bytes gathered from the socket per file write.
const WRITE_CHUNK: usize = 1 << 20;
/// How often a replica loading the RDB tells the primary it is alive.
const NEWLINE_EVERY: Duration = Duration::from_secs(1);
/// Longest `$...` line accepted.
const MAX_HEADER: usize = 256;

/// Where the RDB is received (removed once loaded, or when the transfer fails).
pub fn temp_path(dir: &str) -> PathBuf {
    Path::new(dir).join(format!("temp-repl-{}.rdb", std::process::id()))
}

/// How the primary frames the payload.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    EofMark(Vec<u8>),
}

/// Parses the bulk header that introduces the RDB (without its `\r\n`).
pub fn parse_header(line: &str) -> Result<Framing, String> {
    if let Some(mark) = line.strip_prefix("$EOF:") {
        if mark.len() != EOF_MARK {
            return Err(format!("bad diskless end mark in '{line}'"));
        }
        return Ok(Framing::EofMark(mark.as_bytes().to_vec()));
    }
    match line.strip_prefix('$').map(str::parse::<u64>) {
        Some(Ok(len)) => Ok(Framing::Length(len)),
        _ => Err(format!("bad RDB header from the primary: '{line}'")),
    }
}

/// Drops the bare `\n` keepalives a primary sends while it prepares the RDB.
fn skip_keepalives(conn: &mut PrimaryConn) {
    let newlines = conn.input.iter().take_while(|&&b| b == b'\n').count();
    let _ = conn.input.split_to(newlines);
}

/// Reads the RDB header line, skipping keepalives.
async fn read_header(conn: &mut PrimaryConn, timeout: Duration) -> Result<Framing, String> {
    loop {
        skip_keepalives(conn);
        if let Some(end) = conn.input.windows(2).position(|pair| pair == b"\r\n") {
            let line = conn.input.split_to(end + 2);
            return parse_header(&String::from_utf8_lossy(&line[..end]));
        }
        if conn.input.len() > MAX_HEADER {
            return Err("primary sent an overlong RDB header".to_string());
        }
        conn.read_more(timeout).await?;
    }
}

/// Receives the RDB into `path`; returns its size. Bytes the primary sent after it stay in
/// `conn.input` (the start of the command stream).
pub(super) async fn receive(
    conn: &mut PrimaryConn,
    path: &Path,
    timeout: Duration,
) -> Result<u64, String> {
    let framing = read_header(conn, timeout).await?;
    let mut file = TempFile::create(path).await?;
    let mut written = 0u64;
    match framing {
        Framing::Length(len) => loop {
            let take = (len - written).min(conn.input.len() as u64) as usize;
            let done = written + take as u64 == len;
            // Small reads are gathered into one write (each write is a trip to another thread).
            if take >= WRITE_CHUNK || done {
                file.write(conn.input.split_to(take).freeze()).await?;
                written += take as u64;
            }
            if done {
                break;
            }
            conn.read_more(timeout).await?;
        },
        Framing::EofMark(mark) => loop {
            // The payload ends where the mark is: keep the last 40 bytes back until then. The
            // primary sends nothing after the mark before our first acknowledgement.
            if conn.input.ends_with(&mark) {
                let payload = conn.input.len() - EOF_MARK;
                file.write(conn.input.split_to(payload).freeze()).await?;
                written += payload as u64;
                conn.input.clear();
                break;
            }
            if conn.input.len() >= WRITE_CHUNK + EOF_MARK {
                let chunk = conn.input.split_to(conn.input.len() - EOF_MARK);
                written += chunk.len() as u64;
                file.write(chunk.freeze()).await?;
            }
            conn.read_more(timeout).await?;
        },
    }
    file.finish().await?;
    Ok(written)
}

/// What a load found besides keys.
#[derive(Debug, Default)]
pub struct Loaded {
    pub keys: u64,
    /// The db the primary's command stream starts in (`repl-stream-db`), when it says.
    pub stream_db: Option<usize>,
}

/// Loads the received RDB: every key (with its expiry, even one already past: only the primary
/// expires keys, and it will send the DEL) onto its owning shard. Function libraries and module
/// data are skipped with one warning each, since damselfly has neither. While loading, a `\n` goes
/// to the primary every second, as redis-server replicas send it: the primary takes it as a sign of
/// life and does not drop us for `repl-timeout` during a long load.
pub(super) async fn load(
    ctx: &Rc<ExecutorCtx>,
    applier: &SharedApplier,
    gate: &Rc<glommio::sync::Semaphore>,
    path: &Path,
    conn: &mut PrimaryConn,
) -> Result<Loaded, String> {
    let mut last_newline = Instant::now();
    let mut batches = rdb_feed::start(path.to_path_buf(), ctx.shared.config.databases)?;
    let mut loaded = Loaded::default();
    let (mut warned_functions, mut warned_modules, mut skipped) = (false, false, 0u64);
    while let Some(batch) = await_remote(batches.next()).await {
        for found in batch? {
            match found {
                Found::Key { db, key, entry } => {
                    applier.borrow_mut().put(db, key, entry);
                    loaded.keys += 1;
                }
                Found::Skipped => skipped += 1,
                Found::StreamDb(db) => loaded.stream_db = db,
                Found::Functions if !warned_functions => {
                    warned_functions = true;
                    tracing::warn!(
                        "the primary's RDB has function libraries; damselfly has no functions and skips them"
                    );
                }
                Found::ModuleData { module_id } if !warned_modules => {
                    warned_modules = true;
                    tracing::warn!(
                        "the primary's RDB has module data (module id {module_id:#x}); damselfly has no modules and skips it"
                    );
                }
                Found::Functions | Found::ModuleData { .. } => {}
            }
        }
        // One flush per batch: it waits until the shards applied the keys.
        applier::flush(ctx, applier, gate).await;
        if last_newline.elapsed() >= NEWLINE_EVERY {
            last_newline = Instant::now();
            conn.stream
                .write_all(b"\n")
                .await
                .map_err(|err| format!("write to primary failed: {err}"))?;
        }
    }
    if skipped > 0 {
        tracing::warn!(
            "{skipped} keys of the primary's RDB were skipped (a db beyond --databases or a type damselfly lacks)"
        );
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_both_transfer_forms() {
        assert_eq!(parse_header("$123"), Ok(Framing::Length(123)));
        let mark = "a".repeat(40);
        assert_eq!(
            parse_header(&format!("$EOF:{mark}")),
            Ok(Framing::EofMark(mark.into_bytes()))
        );
        assert!(parse_header("$EOF:short").is_err());
        assert!(parse_header("+OK").is_err());
        assert!(parse_header("$-1x").is_err());
    }
}
