//! Snapshots in Redis's RDB format (version 10): SAVE writes `--dir`/`--dbfilename` through a temporary file
//! and a rename, and the server loads that file at start, each shard keeping the keys it owns.

use crate::config::Config;
use crate::replication_state::ReplAux;
use crate::router::shard_of;
use bytes::Bytes;
use damselfly_rdb::{RdbReader, RdbWriter, Value as RdbValue};
use damselfly_storage::{Db, Entry, Value};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The keys one shard starts with: (db, key, entry).
pub type ShardKeys = Vec<(usize, Bytes, Entry)>;

/// One key of a snapshot: key, value in the RDB crate's neutral form, absolute expiry in ms.
pub type SnapshotEntry = (Bytes, RdbValue, Option<u64>);

pub fn snapshot_path(config: &Config) -> PathBuf {
    PathBuf::from(&config.dir).join(&config.dbfilename)
}

/// Copies the live keys of every database of one shard.
pub fn collect(dbs: &mut [Db], now_ms: u64) -> Vec<Vec<SnapshotEntry>> {
    dbs.iter_mut()
        .map(|db| {
            let mut keys = Vec::new();
            db.keys(b"*", now_ms, &mut keys);
            keys.into_iter()
                .filter_map(|key| {
                    let entry = db.get_entry(&key, now_ms)?;
                    Some((key, entry.value().to_rdb(), entry.expire_at()))
                })
                .collect()
        })
        .collect()
}

/// Writes every shard's part (per shard, per db) as one RDB file, atomically replacing the old one: a temporary
/// file is written and fsynced, renamed over the snapshot, and the directory fsynced so the rename survives a
/// crash. On any error the temporary file is removed and the old snapshot is left as it was.
///
/// `repl` (a replica of a redis-server) is saved as Redis's `repl-stream-db`, `repl-id` and
/// `repl-offset` aux fields, so the replica resumes with a partial resync after a restart.
pub fn write(
    config: &Config,
    shards: &[Vec<Vec<SnapshotEntry>>],
    repl: Option<&ReplAux>,
) -> Result<usize, String> {
    let started = Instant::now();
    let path = snapshot_path(config);
    let temp = PathBuf::from(&config.dir).join(format!("temp-{}.rdb", std::process::id()));
    let result = write_file(&temp, shards, repl).and_then(|saved| {
        std::fs::rename(&temp, &path).map_err(|err| err.to_string())?;
        File::open(&config.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|err| err.to_string())?;
        Ok(saved)
    });
    match result {
        Ok(saved) => {
            tracing::info!(
                "DB saved on disk: {saved} keys to {} in {:?}",
                path.display(),
                started.elapsed()
            );
            Ok(saved)
        }
        Err(err) => {
            let _ = std::fs::remove_file(&temp);
            Err(format!("Failed saving the DB to {}: {err}", path.display()))
        }
    }
}

fn write_file(
    temp: &Path,
    shards: &[Vec<Vec<SnapshotEntry>>],
    repl: Option<&ReplAux>,
) -> Result<usize, String> {
    let text = |err: &dyn std::fmt::Display| err.to_string();
    let file = File::create(temp).map_err(|err| text(&err))?;
    let mut writer = RdbWriter::new(BufWriter::new(file)).map_err(|err| text(&err))?;
    let now_secs = crate::shard::now_ms() / 1000;
    writer
        .write_default_aux(now_secs, crate::memory::allocated_bytes())
        .map_err(|err| text(&err))?;
    if let Some(repl) = repl {
        for (key, value) in [
            (&b"repl-stream-db"[..], repl.db.to_string()),
            (b"repl-id", repl.replid.clone()),
            (b"repl-offset", repl.offset.to_string()),
        ] {
            writer
                .write_aux(key, value.as_bytes())
                .map_err(|err| text(&err))?;
        }
    }
    let databases = shards.iter().map(Vec::len).max().unwrap_or(0);
    let mut saved = 0;
    for db in 0..databases {
        let entries: Vec<&SnapshotEntry> = shards
            .iter()
            .filter_map(|shard| shard.get(db))
            .flatten()
            .collect();
        if entries.is_empty() {
            continue;
        }
        let expiring = entries
            .iter()
            .filter(|(_, _, expire)| expire.is_some())
            .count();
        writer.select_db(db as u64).map_err(|err| text(&err))?;
        writer
            .resize_db(entries.len() as u64, expiring as u64)
            .map_err(|err| text(&err))?;
        saved += entries.len();
        for (key, value, expire) in entries {
            writer
                .write_entry(key, value, *expire)
                .map_err(|err| text(&err))?;
        }
    }
    let mut buffered = writer.finish().map_err(|err| text(&err))?;
    buffered.flush().map_err(|err| text(&err))?;
    let file = buffered.into_inner().map_err(|err| text(&err.error()))?;
    file.sync_all().map_err(|err| text(&err))?;
    Ok(saved)
}

/// Reads the snapshot, if there is one, and splits its keys by owning shard; with it where a replica
/// of a redis-server stood in its primary's stream, when the file says (`repl-id`, `repl-offset`,
/// `repl-stream-db`). A corrupt file stops the start.
pub fn load(config: &Config, shards: usize) -> Result<(Vec<ShardKeys>, Option<ReplAux>), String> {
    let path = snapshot_path(config);
    let mut per_shard = vec![Vec::new(); shards];
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((per_shard, None)),
        Err(err) => return Err(format!("Can't open {}: {err}", path.display())),
    };
    let started = Instant::now();
    let now = crate::shard::now_ms();
    let bad = |err: damselfly_rdb::Error| match err {
        damselfly_rdb::Error::UnsupportedType(_) | damselfly_rdb::Error::UnsupportedOpcode(_) => {
            format!(
                "{} holds data damselfly cannot load yet: {err}. Aborting.",
                path.display()
            )
        }
        _ => format!(
            "Short read or corrupt RDB {}: {err}. Aborting.",
            path.display()
        ),
    };
    let mut reader = RdbReader::new(BufReader::new(file)).map_err(bad)?;
    let mut loaded = 0usize;
    let (mut replid, mut offset, mut stream_db) = (None, None, None);
    while let Some(event) = reader.next_event().map_err(bad)? {
        let entry = match event {
            damselfly_rdb::RdbEvent::Entry(entry) => entry,
            damselfly_rdb::RdbEvent::Aux { key, value } => {
                let value = String::from_utf8_lossy(&value).into_owned();
                match &key[..] {
                    b"repl-id" => replid = Some(value),
                    b"repl-offset" => offset = value.parse::<u64>().ok(),
                    b"repl-stream-db" => stream_db = value.parse::<usize>().ok(),
                    _ => {}
                }
                continue;
            }
            _ => continue,
        };
        let db = entry.db as usize;
        if db >= config.databases {
            return Err(format!(
                "{} uses db {db}, but --databases is {}",
                path.display(),
                config.databases
            ));
        }
        // A primary drops keys that expired while it was down, as Redis does when loading.
        if entry.expire_ms.is_some_and(|expire| expire <= now) {
            continue;
        }
        let Some(value) = Value::from_rdb(entry.value) else {
            return Err(format!(
                "{} holds a value type damselfly does not support",
                path.display()
            ));
        };
        let key = Bytes::from(entry.key);
        let shard = shard_of(&key, shards);
        per_shard[shard].push((db, key, Entry::new(value, entry.expire_ms)));
        loaded += 1;
    }
    tracing::info!(
        "DB loaded from disk: {loaded} keys in {:?}",
        started.elapsed()
    );
    let repl = match (replid, offset) {
        (Some(replid), Some(offset)) if replid.len() == 40 => Some(ReplAux {
            replid,
            offset,
            db: stream_db.filter(|&db| db < config.databases).unwrap_or(0),
        }),
        _ => None,
    };
    Ok((per_shard, repl))
}
