//! Applying one replicated command whose keys live on several of our shards and that cannot be
//! split by key: RENAME, COPY, SMOVE, LMOVE, SINTERSTORE, BITOP... as a redis-server primary sends
//! them verbatim (a damselfly primary journals such commands as single-key effects instead): by
//! lending their keys to one shard as the client path does (`crate::lending`), applied with no
//! clock as every replicated effect (nothing counts as expired, only the primary expires keys).

use crate::keyplan::{KeyPlan, Route};
use crate::shard::Origin;
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_storage::spec::{CommandDef, Spread};

/// Whether the command must be applied by lending: a gathered or moving command whose keys are
/// not all on one of our shards.
pub fn needs_lending(def: &'static CommandDef, args: &[Bytes], shards: usize) -> bool {
    matches!(def.spread, Spread::Gathered | Spread::MoveValue(_))
        && KeyPlan::new(def, args, 0, shards).route() == Route::Multi
}

/// Applies `args` in `db` under `tx` (which holds locks on all its keys, on their shards), with
/// the other shards' keys lent to one shard (`crate::lending`).
pub async fn apply(
    tx: &mut Transaction,
    shards: usize,
    db: usize,
    def: &'static CommandDef,
    args: Vec<Bytes>,
) {
    crate::lending::run(tx, shards, db, def, args, Origin::Replica, false).await;
}
