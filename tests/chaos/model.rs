//! The model of acknowledged writes and the per-round counters.
//!
//! Every writer owns disjoint keys and reports, per key, what the data must be once its round is over:
//! the value of the last write the server acknowledged, or that the key must not exist (a command the
//! client never finished sending must never run). The harness merges the reports into one model that
//! carries over from round to round and compares it with the server's data after every round.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A string value (also integers, which GET returns as their decimal text).
    Value(String),
    /// The key must not exist.
    Absent,
}

/// What must hold for each key, from the writers' acknowledged writes.
#[derive(Default, Clone)]
pub struct Model {
    pub keys: BTreeMap<String, Expect>,
}

impl Model {
    pub fn merge(&mut self, expect: Vec<(String, Expect)>) {
        for (k, e) in expect {
            self.keys.insert(k, e);
        }
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        match self.keys.get(key) {
            Some(Expect::Value(v)) => Some(v),
            _ => None,
        }
    }

    /// An integer the model holds for `key`, or 0.
    pub fn int(&self, key: &str) -> i64 {
        self.value(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// Named counters of what a round did, printed as its progress line.
#[derive(Default)]
pub struct Stats {
    pub pipelined: AtomicU64,
    pub execs: AtomicU64,
    pub msets: AtomicU64,
    pub tx_reads: AtomicU64,
    pub half_commands: AtomicU64,
    pub half_closes: AtomicU64,
    pub resets: AtomicU64,
    pub slow_bytes: AtomicU64,
    pub slow_replies: AtomicU64,
    pub never_readers: AtomicU64,
    pub vanished_blockers: AtomicU64,
    pub live_pops: AtomicU64,
    pub pub_messages: AtomicU64,
    pub flood_bytes: AtomicU64,
    pub flood_disconnects: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn line(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        let _ = write!(
            s,
            "pipelined {} cmds, {} EXECs, {} MSETs, {} tx reads, {} half commands, {} half-closes, \
             {} resets, slow readers {} replies/{} KB, {} never-readers, {} vanished blockers, \
             {} live pops, {} pub msgs",
            g(&self.pipelined),
            g(&self.execs),
            g(&self.msets),
            g(&self.tx_reads),
            g(&self.half_commands),
            g(&self.half_closes),
            g(&self.resets),
            g(&self.slow_replies),
            g(&self.slow_bytes) / 1024,
            g(&self.never_readers),
            g(&self.vanished_blockers),
            g(&self.live_pops),
            g(&self.pub_messages),
        );
        if g(&self.flood_bytes) > 0 {
            let _ = write!(
                s,
                ", flood {} MB ({} stalled subscribers disconnected)",
                g(&self.flood_bytes) >> 20,
                g(&self.flood_disconnects)
            );
        }
        s
    }
}
