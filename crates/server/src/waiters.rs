//! Who waits on which keys of this shard: connections that WATCH them and clients blocked on
//! them. The dbs note writes to these keys; after commands run, the shard marks the watchers'
//! transactions dirty and serves the blocked clients (`shard_waiters.rs`, `crate::blocking`).

use crate::blocking::Blocked;
use ahash::AHashMap;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A connection's WATCH: set once any watched key is written.
pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default)]
pub struct Waiters {
    pub(crate) watchers: AHashMap<(usize, Bytes), Vec<WatchFlag>>,
    pub(crate) blocked: AHashMap<(usize, Bytes), VecDeque<Blocked>>,
    /// Blocked keys written since they were last served.
    pub(crate) ready: Vec<(usize, Bytes)>,
}

impl Waiters {
    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty() && self.blocked.is_empty()
    }

    /// Whether anyone still waits on `key` (the db keeps noting its writes while so).
    pub(crate) fn interested(&self, db: usize, key: &Bytes) -> bool {
        let id = (db, key.clone());
        self.watchers.contains_key(&id) || self.blocked.contains_key(&id)
    }
}
