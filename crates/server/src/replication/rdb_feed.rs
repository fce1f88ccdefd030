//! Reads and decodes the full sync's received RDB on a plain std thread and hands what it finds
//! to the link task in batches, over a bounded channel: the file reads and the decoding stay off
//! executor 0, which only puts the keys into the shards (`rdb_load::load`). A std thread rather
//! than glommio's blocking pool, because the whole load would hold that one-thread pool for its
//! duration, and SAVE's file writes share it.
//!
//! The thread ends at the end of the file, at the first error (sent as the last item), or as
//! soon as the receiver is dropped (the link gave up): its next send fails.

use bytes::Bytes;
use damselfly_rdb::{RdbEvent, RdbReader};
use damselfly_storage::{Entry, Value};
use futures::channel::mpsc;
use futures::SinkExt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Items per batch: one channel message per this many keys.
const BATCH: usize = 1024;
/// Batches decoded ahead of the executor.
const AHEAD: usize = 4;

/// What the RDB holds, decoded and ready for the shards.
pub enum Found {
    Key {
        db: usize,
        key: Bytes,
        entry: Entry,
    },
    /// A key in a db beyond `--databases`, or of a type damselfly lacks.
    Skipped,
    /// `repl-stream-db`: the db the primary's command stream starts in, when it parses.
    StreamDb(Option<usize>),
    Functions,
    ModuleData {
        module_id: u64,
    },
}

pub type Batch = Result<Vec<Found>, String>;

/// Starts reading `path`; the receiver yields batches until the file ends (or one `Err`).
pub fn start(path: PathBuf, databases: usize) -> Result<mpsc::Receiver<Batch>, String> {
    let (mut sender, receiver) = mpsc::channel(AHEAD);
    std::thread::Builder::new()
        .name("damselfly-rdb-load".to_string())
        .spawn(move || {
            unpin();
            let result = read(&path, databases, &mut sender);
            if let Err(err) = result {
                // The receiver may be gone already; nobody is left to tell then.
                let _ = futures::executor::block_on(sender.send(Err(err)));
            }
        })
        .map_err(|err| format!("cannot start the RDB loading thread: {err}"))?;
    Ok(receiver)
}

/// Lets this thread run on any CPU the process may use. It inherits executor 0's pin otherwise,
/// and its decoding would take that executor's CPU from its clients while other cores idle.
/// Best effort: pinned, it is only slower to share.
fn unpin() {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; both calls only read or write `set`, and
    // pid 0 is this thread. The process id names the main thread, which glommio does not pin.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(libc::getpid(), size, &mut set) == 0 {
            libc::sched_setaffinity(0, size, &set);
        }
    }
}

/// Reads the file into `sender`. An error is passed on by the caller; the receiver going away
/// ends the reading quietly.
fn read(path: &Path, databases: usize, sender: &mut mpsc::Sender<Batch>) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))?;
    let mut reader = RdbReader::new(BufReader::with_capacity(256 << 10, file))
        .map_err(|err| format!("the primary's RDB: {err}"))?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(event) = reader
        .next_event()
        .map_err(|err| format!("the primary's RDB: {err}"))?
    {
        let found = match event {
            RdbEvent::Entry(entry) => {
                let db = entry.db as usize;
                match Value::from_rdb(entry.value).filter(|_| db < databases) {
                    Some(value) => Found::Key {
                        db,
                        key: Bytes::from(entry.key),
                        entry: Entry::new(value, entry.expire_ms),
                    },
                    None => Found::Skipped,
                }
            }
            RdbEvent::Aux { key, value } if key == b"repl-stream-db" => Found::StreamDb(
                std::str::from_utf8(&value)
                    .ok()
                    .and_then(|db| db.parse().ok()),
            ),
            RdbEvent::Function(_) => Found::Functions,
            RdbEvent::ModuleAux { module_id } => Found::ModuleData { module_id },
            _ => continue,
        };
        batch.push(found);
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if futures::executor::block_on(sender.send(Ok(full))).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = futures::executor::block_on(sender.send(Ok(batch)));
    }
    Ok(())
}
