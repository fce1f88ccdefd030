//! What every chaos actor gets: where the server is, when its round ends, the shared fixtures and counters.

use crate::model::{Expect, Model, Stats};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// A value and a list every reader may fetch; written once before the first round, never changed.
pub struct Fixtures {
    pub big_key: String,
    pub big_value: String,
    pub list_key: String,
    pub list_items: Vec<String>,
}

impl Fixtures {
    pub fn new() -> Fixtures {
        let big_value: String = (0..256 * 1024)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let list_items = (0..2000)
            .map(|i| format!("{i:06}-{}", "x".repeat(57)))
            .collect();
        Fixtures {
            big_key: "chaos:big".into(),
            big_value,
            list_key: "chaos:biglist".into(),
            list_items,
        }
    }
}

pub struct Ctx {
    pub addr: SocketAddr,
    /// Shards the server runs (`--threads N`).
    pub shards: usize,
    /// Round number; part of every stamp so stamps grow across rounds.
    pub round: u64,
    /// When actors stop starting new work.
    pub until: Instant,
    pub stats: Arc<Stats>,
    pub fixtures: Arc<Fixtures>,
    /// The model as it stood before this round (writers continue their counters from it).
    pub before: Arc<Model>,
    /// How many transaction writers run (the transaction readers check all their groups).
    pub tx_writers: usize,
    /// Whether live consumers also block on two keys of different shards (see `blockers::live_blockers`).
    pub cross_shard_blockers: bool,
}

impl Ctx {
    pub fn running(&self) -> bool {
        Instant::now() < self.until
    }
}

/// What an actor returns: the final state of the keys it owns, or what went wrong.
pub type Outcome = Result<Vec<(String, Expect)>, String>;
