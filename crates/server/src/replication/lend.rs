//! Applying one replicated command whose keys live on several of our shards and that cannot be
//! split by key: RENAME, COPY, SMOVE, LMOVE, SINTERSTORE, BITOP... as a redis-server primary sends
//! them verbatim (a damselfly primary journals such commands as single-key effects instead). As
//! the client path does (`commands/gather.rs`), inside a transaction that holds locks on every key:
//! the owners lend copies of their keys to the home shard (the first written key's), which applies
//! the command with them in place and gives back the written keys to their owners. Applied with no
//! clock, as every replicated effect: nothing counts as expired, only the primary expires keys.

use crate::router::shard_of;
use crate::shard::{Lent, Work};
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_storage::spec::{CommandDef, Spread};
use std::collections::BTreeMap;

/// Whether the command must be applied by lending: a gathered or moving command whose keys are
/// not all on one of our shards.
pub fn needs_lending(def: &'static CommandDef, args: &[Bytes], shards: usize) -> bool {
    if !matches!(def.spread, Spread::Gathered | Spread::MoveValue(_)) {
        return false;
    }
    let mut owners = def
        .key_positions(args)
        .map(|position| shard_of(&args[position], shards));
    let first = owners.next();
    owners.any(|owner| Some(owner) != first)
}

/// Applies `args` in `db` under `tx` (which holds locks on all its keys, on their shards).
pub async fn apply(
    tx: &mut Transaction,
    shards: usize,
    db: usize,
    def: &'static CommandDef,
    args: Vec<Bytes>,
) {
    let mut keys: Vec<Bytes> = def
        .key_positions(&args)
        .map(|position| args[position].clone())
        .collect();
    keys.sort();
    keys.dedup();
    let written: Vec<Bytes> = def
        .written_key_positions(&args)
        .map(|position| args[position].clone())
        .collect();
    let Some(first) = written.first().or(keys.first()) else {
        return;
    };
    let home = shard_of(first, shards);
    let mut lent: BTreeMap<usize, Vec<Bytes>> = BTreeMap::new();
    for key in keys {
        let owner = shard_of(&key, shards);
        if owner != home {
            lent.entry(owner).or_default().push(key);
        }
    }
    // Hop 1: the owners copy their keys' entries.
    let lend: Vec<(usize, Work<Lent>)> = lent
        .into_iter()
        .map(|(owner, owned)| {
            let work: Work<Lent> = Box::new(move |s| {
                owned
                    .into_iter()
                    .map(|key| {
                        let entry = s.dbs.get_mut(db).and_then(|d| d.get_entry(&key, 0));
                        (key, entry)
                    })
                    .collect()
            });
            (owner, work)
        })
        .collect();
    let borrowed: Lent = tx
        .hop(lend, false)
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    // Hop 2: the home shard applies the command with the copies in place, then takes them out
    // again, keeping the final entries of the written ones.
    let run: Work<Lent> = Box::new(move |s| {
        if db >= s.dbs.len() {
            return Vec::new();
        }
        let keys: Vec<Bytes> = borrowed.iter().map(|(key, _)| key.clone()).collect();
        for (key, entry) in borrowed {
            if let Some(entry) = entry {
                s.dbs[db].put(key, entry);
            }
        }
        s.apply_replicated(db, def, &args);
        keys.into_iter()
            .filter_map(|key| {
                let entry = s.dbs[db].extract(&key);
                written.contains(&key).then_some((key, entry))
            })
            .collect()
    });
    let returned: Lent = tx
        .hop(vec![(home, run)], false)
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    // Hop 3: the owners store the final entries of their written keys.
    let mut back: BTreeMap<usize, Lent> = BTreeMap::new();
    for (key, entry) in returned {
        back.entry(shard_of(&key, shards))
            .or_default()
            .push((key, entry));
    }
    let jobs: Vec<(usize, Work<()>)> = back
        .into_iter()
        .map(|(owner, entries)| {
            let work: Work<()> = Box::new(move |s| {
                for (key, entry) in entries {
                    s.return_lent(db, key, entry);
                }
            });
            (owner, work)
        })
        .collect();
    if !jobs.is_empty() {
        tx.hop(jobs, false).await;
    }
}
