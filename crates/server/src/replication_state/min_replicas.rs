//! `min-replicas-to-write` / `min-replicas-max-lag` (Redis's min-slaves): a primary refuses writes
//! while fewer than N replicas acknowledged within the last M seconds. As in Redis, the count of
//! good replicas is refreshed once a second (and when a replica comes or goes), so the check on the
//! write path is two atomic loads.

use std::sync::atomic::{AtomicU64, Ordering};

/// Redis's reply to a write refused for want of good replicas.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

#[derive(Default)]
pub struct MinReplicas {
    /// min-replicas-to-write (0: off).
    pub to_write: AtomicU64,
    /// min-replicas-max-lag in seconds (0: off).
    pub max_lag: AtomicU64,
    /// Replicas online whose last acknowledgement is at most `max_lag` seconds old.
    good: AtomicU64,
}

impl MinReplicas {
    pub fn new(to_write: u64, max_lag: u64) -> MinReplicas {
        MinReplicas {
            to_write: AtomicU64::new(to_write),
            max_lag: AtomicU64::new(max_lag),
            good: AtomicU64::new(0),
        }
    }

    /// Whether the check is on (both settings non-zero, as in Redis).
    pub fn enabled(&self) -> bool {
        self.to_write.load(Ordering::Relaxed) != 0 && self.max_lag.load(Ordering::Relaxed) != 0
    }

    /// Whether a primary must refuse a write now.
    #[inline]
    pub fn too_few(&self) -> bool {
        let to_write = self.to_write.load(Ordering::Relaxed);
        to_write != 0
            && self.max_lag.load(Ordering::Relaxed) != 0
            && self.good.load(Ordering::Relaxed) < to_write
    }

    pub fn good(&self) -> u64 {
        self.good.load(Ordering::Relaxed)
    }

    pub(super) fn set_good(&self, good: u64) {
        self.good.store(good, Ordering::Relaxed);
    }
}
