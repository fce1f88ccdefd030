//! Replication state every executor can read: the role, the replication id, the replicas connected
//! to this primary, the link to our own primary, per-shard journal offsets and sync counters.

pub mod apply_pause;
pub mod coordinator;
mod min_replicas;

pub use apply_pause::ApplyPause;

pub use min_replicas::{MinReplicas, NOREPLICAS};

use crate::ids::random_hex_id;
use crate::journal::wire::StreamPoint;
use coordinator::Coordinator;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Primary,
    Replica { host: String, port: u16 },
}

/// A replica connected to us, as INFO replication and ROLE describe it.
#[derive(Debug, Clone)]
pub struct Session {
    pub ip: String,
    pub port: u16,
    /// Per shard, the offset the replica acknowledged.
    pub acked: Vec<u64>,
    pub last_ack: Instant,
    /// Flows whose snapshot has been sent (all of them: the replica is online).
    pub snapshots_sent: usize,
    pub full_sync: bool,
    pub flows_open: usize,
    pub started: Instant,
    /// A redis-server replica (Redis-format stream): the stream offset it acknowledged. None for
    /// a damselfly replica, whose offsets are per shard (`acked`).
    pub stream_offset: Option<u64>,
}

impl Session {
    /// The offset INFO and ROLE show: in the Redis-format stream for a redis-server replica, the
    /// sum of the shard offsets for a damselfly replica.
    pub fn reported_offset(&self) -> u64 {
        self.stream_offset
            .unwrap_or_else(|| self.acked.iter().sum::<u64>())
    }
}

/// Where the Redis-format stream (redis-server replicas) stands, for INFO and ROLE on any executor.
#[derive(Default)]
pub struct StreamPosition {
    /// The stream has started (the first redis-server replica synced).
    pub on: AtomicBool,
    pub offset: AtomicU64,
    /// Its first byte still held (the backlog's start).
    pub start: AtomicU64,
    /// The stream runs (false once repl-backlog-ttl passed with no redis-server replica: the
    /// offset stays, a later stream continues after it).
    pub active: AtomicBool,
}

impl Session {
    pub fn online(&self) -> bool {
        !self.full_sync || self.snapshots_sent >= self.acked.len()
    }
}

/// Our link to the primary we replicate.
#[derive(Debug, Clone)]
pub struct Link {
    /// ROLE's state: connect, connecting, sync or connected.
    pub state: &'static str,
    pub last_io: Instant,
    /// When a connected link was lost; None while it never was since the last REPLICAOF NO ONE
    /// (INFO's `master_link_down_since_seconds:-1`, which Sentinel reads as "not down long").
    pub down_since: Option<Instant>,
    /// The primary's replication id and, per primary shard, the offset applied here (for a partial
    /// resynchronization after the link breaks).
    pub primary_replid: Option<String>,
    /// Per primary shard: bytes of journal read, and applied.
    pub offsets: Vec<u64>,
    pub applied: Vec<u64>,
    /// When the full sync in progress began.
    pub sync_started: Option<Instant>,
    /// With a redis-server primary: the db its command stream is in (None with a damselfly primary,
    /// and during a full sync).
    pub redis_db: Option<usize>,
    /// The Redis primary's replid, offset and stream db loaded from our RDB at start (Redis's
    /// `repl-id`, `repl-offset`, `repl-stream-db` aux fields), to resume with PSYNC.
    pub resume: Option<ReplAux>,
    /// With a damselfly primary: where what is applied stands exactly in that primary's
    /// Redis-format stream, when it is one of the positions the primary noted.
    pub stream_position: Option<StreamPoint>,
}

/// Where a replica of a redis-server stands in its primary's stream, as the RDB aux fields save it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplAux {
    pub replid: String,
    pub offset: u64,
    pub db: usize,
}

impl Link {
    fn new() -> Link {
        Link {
            state: "connect",
            last_io: Instant::now(),
            down_since: None,
            primary_replid: None,
            offsets: Vec::new(),
            applied: Vec::new(),
            sync_started: None,
            redis_db: None,
            resume: None,
            stream_position: None,
        }
    }

    pub fn applied_total(&self) -> u64 {
        self.applied.iter().sum()
    }

    pub fn read_total(&self) -> u64 {
        self.offsets.iter().sum()
    }
}

impl ReplState {
    /// This server replicates a redis-server (its link applies Redis's command stream).
    pub fn follows_redis(&self) -> bool {
        matches!(self.role, Role::Replica { .. }) && self.link.redis_db.is_some()
    }
}

pub struct ReplState {
    pub role: Role,
    pub replid: String,
    /// After a promotion: the history we continued (our old primary's replid) and the first
    /// offset that is not part of it (Redis's master_replid2 and second_repl_offset).
    pub replid2: Option<(String, u64)>,
    /// Bumped by every REPLICAOF, so an old link task knows to stop.
    pub generation: u64,
    pub sessions: BTreeMap<u64, Session>,
    pub link: Link,
}

pub struct Replication {
    /// Per shard, its journal offset (published after each append, read by WAIT and INFO).
    pub offsets: Vec<AtomicU64>,
    /// Whether any shard keeps a journal (from the first replica on).
    pub journal_on: AtomicBool,
    pub is_replica: AtomicBool,
    pub read_only: AtomicBool,
    /// replica-priority, shown to Sentinel as INFO `slave_priority` (0: never promote).
    pub priority: AtomicU64,
    /// replica-announced, shown to Sentinel as INFO `replica_announced`.
    pub announced: AtomicBool,
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    next_session: AtomicU64,
    state: Mutex<ReplState>,
    pub coordinator: Coordinator,
    pub min_replicas: MinReplicas,
    pub redis_stream: StreamPosition,
    /// repl-ping-replica-period, in seconds (CONFIG SET changes it).
    ping_period: AtomicU64,
    /// SAVE pauses a redis-server primary's stream to save the position matching its data.
    pub apply_pause: ApplyPause,
}

impl Replication {
    pub fn new(
        shards: usize,
        read_only: bool,
        min_replicas: MinReplicas,
        ping_period_secs: u64,
    ) -> Replication {
        Replication {
            offsets: (0..shards).map(|_| AtomicU64::new(0)).collect(),
            journal_on: AtomicBool::new(false),
            is_replica: AtomicBool::new(false),
            read_only: AtomicBool::new(read_only),
            priority: AtomicU64::new(100),
            announced: AtomicBool::new(true),
            sync_full: AtomicU64::new(0),
            sync_partial_ok: AtomicU64::new(0),
            sync_partial_err: AtomicU64::new(0),
            next_session: AtomicU64::new(1),
            state: Mutex::new(ReplState {
                role: Role::Primary,
                replid: random_hex_id(),
                replid2: None,
                generation: 0,
                sessions: BTreeMap::new(),
                link: Link::new(),
            }),
            coordinator: Coordinator::start(),
            min_replicas,
            redis_stream: StreamPosition::default(),
            ping_period: AtomicU64::new(ping_period_secs),
            apply_pause: ApplyPause::default(),
        }
    }

    /// Counts the replicas that are online and acknowledged within min-replicas-max-lag seconds
    /// (Redis's refreshGoodSlavesCount). A replica of our own refuses nothing for want of replicas.
    pub fn refresh_good_replicas(&self) {
        if !self.min_replicas.enabled() {
            return;
        }
        let max_lag = self.min_replicas.max_lag.load(Ordering::Relaxed);
        let good = self
            .state()
            .sessions
            .values()
            .filter(|session| session.online() && session.last_ack.elapsed().as_secs() <= max_lag)
            .count() as u64;
        self.min_replicas.set_good(good);
    }

    /// Writes are refused for want of good replicas (a primary with min-replicas-to-write set).
    #[inline]
    pub fn too_few_good_replicas(&self) -> bool {
        self.min_replicas.too_few() && !self.is_replica()
    }

    pub fn state(&self) -> MutexGuard<'_, ReplState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn next_session(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    pub fn journal_on(&self) -> bool {
        self.journal_on.load(Ordering::Acquire)
    }

    pub fn is_replica(&self) -> bool {
        self.is_replica.load(Ordering::Acquire)
    }

    /// Writes from clients are refused (a read-only replica).
    pub fn refuses_writes(&self) -> bool {
        self.is_replica() && self.read_only.load(Ordering::Relaxed)
    }

    /// Every shard's journal offset now: a client's write offsets after its last write.
    pub fn current_offsets(&self) -> Vec<u64> {
        self.offsets
            .iter()
            .map(|o| o.load(Ordering::Acquire))
            .collect()
    }

    /// The sum of the shard journal offsets.
    pub fn primary_offset(&self) -> u64 {
        self.current_offsets().iter().sum()
    }

    /// Redis's master_repl_offset: the Redis-format stream's offset once redis-server replicas
    /// have been fed (what they count), the sum of the shard offsets before.
    pub fn reported_offset(&self) -> u64 {
        if self.redis_stream.on.load(Ordering::Acquire) {
            self.redis_stream.offset.load(Ordering::Acquire)
        } else {
            self.primary_offset()
        }
    }

    pub fn ping_period_secs(&self) -> u64 {
        self.ping_period.load(Ordering::Relaxed).max(1)
    }

    pub fn set_ping_period_secs(&self, seconds: u64) {
        self.ping_period.store(seconds, Ordering::Relaxed);
    }
}
