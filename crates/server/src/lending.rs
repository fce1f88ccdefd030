//! A command whose keys live on several shards, run inside a transaction that holds locks on all
//! of them: the entries of the keys owned by other shards are lent to one shard (the first written
//! key's), the command runs there exactly as it would with all keys local, and the keys it wrote go
//! back to their owners. Clients' gathered commands (`commands/gather.rs`) run this way, and so
//! does a replica applying a command a redis-server primary sent verbatim (`replication/lend.rs`).
//!
//! A client's command journals its effects on the shard that ran it; every effect of a multi-key
//! command names a single key (see storage's effect rules), so a replica routes each to its own
//! shard.

use crate::router::shard_of;
use crate::shard::{Lent, Origin, Work};
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;
use std::collections::BTreeMap;

/// The keys a write command may change (its key specs say which); the others are only read.
fn written_keys(def: &'static CommandDef, args: &[Bytes]) -> Vec<Bytes> {
    def.written_key_positions(args)
        .map(|position| args[position].clone())
        .collect()
}

/// Runs `args` in `db` under `tx`, which holds locks on all its keys, as a client's command or as a
/// replicated one (`origin`: no clock, nothing journaled). `conclude` releases the
/// home shard and the owners of written keys as their part ends (false inside MULTI, whose
/// transaction goes on); the caller finishes the transaction.
pub async fn run(
    tx: &mut Transaction,
    shards: usize,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
    origin: Origin,
    conclude: bool,
) -> Frame {
    let mut keys: Vec<Bytes> = spec
        .key_positions(&args)
        .map(|position| args[position].clone())
        .collect();
    keys.dedup();
    let written = written_keys(spec, &args);
    let Some(first) = written.first().or(keys.first()) else {
        return Frame::error("ERR command has no keys");
    };
    let home = shard_of(first, shards);
    let mut lent: BTreeMap<usize, Vec<Bytes>> = BTreeMap::new();
    for key in &keys {
        let owner = shard_of(key, shards);
        if owner != home && !lent.get(&owner).is_some_and(|k| k.contains(key)) {
            lent.entry(owner).or_default().push(key.clone());
        }
    }

    // Hop 1: the owners copy their keys' entries (lazily expiring them as any read would). The
    // home shard takes part too, so the whole hop runs in the transaction's order there.
    let mut lend: Vec<(usize, Work<Lent>)> = Vec::with_capacity(lent.len() + 1);
    lend.push((home, Box::new(|_| Vec::new())));
    for (&owner, owned) in &lent {
        let owned = owned.clone();
        lend.push((owner, Box::new(move |s| s.lend(db, owned, origin))));
    }
    let borrowed: Lent = tx
        .hop(lend, false)
        .await
        .into_iter()
        .flatten()
        .flatten()
        .collect();

    // Hop 2: the home shard runs the command with the lent keys in place, then gives back the
    // written ones and drops the read-only copies.
    let give_back: Vec<Bytes> = borrowed
        .iter()
        .map(|(key, _)| key.clone())
        .filter(|key| written.contains(key))
        .collect();
    let run: Work<(Frame, Lent)> =
        Box::new(move |s| s.run_with_borrowed(db, spec, &args, borrowed, &give_back, origin));
    let mut outputs = tx.hop(vec![(home, run)], conclude).await.into_iter();
    let Some(Some((reply, returned))) = outputs.next() else {
        return Frame::error(damselfly_protocol::errors::SHARD_DID_NOT_ANSWER);
    };

    // Hop 3: the owners store the final entries of their written keys.
    let mut back: BTreeMap<usize, Vec<_>> = BTreeMap::new();
    for (key, entry) in returned {
        back.entry(shard_of(&key, shards))
            .or_insert_with(Vec::new)
            .push((key, entry));
    }
    let mut jobs: Vec<(usize, Work<()>)> = Vec::new();
    for (owner, entries) in back {
        jobs.push((
            owner,
            Box::new(move |s| {
                for (key, entry) in entries {
                    s.return_lent(db, key, entry);
                }
            }),
        ));
    }
    if !jobs.is_empty() {
        tx.hop(jobs, conclude).await;
    }
    reply
}
