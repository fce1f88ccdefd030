//! State every executor can read: the startup configuration, the few settings CONFIG SET may change, and
//! global counters. Keyspace data is never here.

use crate::client_limits::ClientLimits;
use crate::config::Config;
use crate::ids::random_hex_id;
use crate::output_limits::OutputLimits;
use crate::replication_state::{MinReplicas, Replication};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Settings CONFIG SET may change at run time.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub requirepass: Option<String>,
    pub maxmemory: u64,
    pub protected_mode: bool,
    pub loglevel: String,
    pub save: String,
    /// replica-announce-ip / -port: read at each handshake with a primary, as Redis does.
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
}

pub struct Shared {
    pub config: Config,
    pub runtime: RwLock<RuntimeConfig>,
    pub shards: usize,
    pub started: Instant,
    pub run_id: String,
    next_client_id: AtomicU64,
    next_txid: AtomicU64,
    /// Unix seconds of the last successful SAVE (start time until then), for LASTSAVE and INFO.
    last_save: AtomicU64,
    /// Set while a SAVE runs: one snapshot at a time.
    saving: AtomicBool,
    last_save_failed: AtomicBool,
    pub repl: Replication,
    /// client-output-buffer-limit, per client class.
    pub output_limits: OutputLimits,
    /// maxclients, timeout, tcp-keepalive, client-query-buffer-limit.
    pub client_limits: ClientLimits,
}

impl Shared {
    /// `maxclients` is the configured one as the open files limit allows it.
    pub fn new(config: Config, shards: usize, maxclients: u64) -> Shared {
        let runtime = RuntimeConfig {
            requirepass: config.requirepass.clone(),
            maxmemory: config.maxmemory,
            protected_mode: config.protected_mode,
            loglevel: config.loglevel.clone(),
            save: String::new(),
            replica_announce_ip: config.replica_announce_ip.clone(),
            replica_announce_port: config.replica_announce_port,
        };
        let min_replicas =
            MinReplicas::new(config.min_replicas_to_write, config.min_replicas_max_lag);
        let repl = Replication::new(
            shards,
            config.replica_read_only,
            min_replicas,
            config.repl_ping_replica_period_secs,
        );
        repl.priority
            .store(config.replica_priority, Ordering::Relaxed);
        repl.announced
            .store(config.replica_announced, Ordering::Relaxed);
        let output_limits = OutputLimits::default();
        for &(class, limit) in &config.output_limits {
            output_limits.set(class, limit);
        }
        let client_limits = ClientLimits::new(&config, maxclients);
        Shared {
            repl,
            client_limits,
            output_limits,
            config,
            runtime: RwLock::new(runtime),
            shards,
            started: Instant::now(),
            run_id: random_hex_id(),
            next_client_id: AtomicU64::new(1),
            next_txid: AtomicU64::new(1),
            last_save: AtomicU64::new(unix_seconds()),
            saving: AtomicBool::new(false),
            last_save_failed: AtomicBool::new(false),
        }
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new transaction id, larger than every id handed out before.
    pub fn next_txid(&self) -> u64 {
        self.next_txid.fetch_add(1, Ordering::Relaxed)
    }

    /// Claims the right to save; false when another save is running.
    pub fn begin_save(&self) -> bool {
        !self.saving.swap(true, Ordering::AcqRel)
    }

    pub fn end_save(&self, succeeded: bool) {
        if succeeded {
            self.last_save.store(unix_seconds(), Ordering::Relaxed);
        }
        self.last_save_failed.store(!succeeded, Ordering::Relaxed);
        self.saving.store(false, Ordering::Release);
    }

    /// (a save is running, the last one failed), for INFO persistence.
    pub fn save_status(&self) -> (bool, bool) {
        (
            self.saving.load(Ordering::Acquire),
            self.last_save_failed.load(Ordering::Relaxed),
        )
    }

    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    pub fn runtime(&self) -> RuntimeConfig {
        match self.runtime.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn update_runtime(&self, change: impl FnOnce(&mut RuntimeConfig)) {
        match self.runtime.write() {
            Ok(mut guard) => change(&mut guard),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
