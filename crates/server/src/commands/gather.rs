//! Clients' commands whose keys live on several shards and that cannot be split by key (SINTERSTORE,
//! LMOVE, ZUNIONSTORE...): run on one shard with the others' keys lent to it (`crate::lending`).

use crate::shard::Origin;
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;

/// Runs a client's `args` in `db` under `tx` (see `lending::run`).
pub async fn run(
    tx: &mut Transaction,
    shards: usize,
    db: usize,
    spec: &'static CommandDef,
    args: Vec<Bytes>,
    conclude: bool,
) -> Frame {
    crate::lending::run(tx, shards, db, spec, args, Origin::Client, conclude).await
}
