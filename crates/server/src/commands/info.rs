//! INFO, with Redis's section and field names.

use super::handler::Later;
use crate::connection::Connection;
use crate::memory;
use crate::replication_state::Role;
use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef};
use damselfly_storage::Stats;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

/// The info commands.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::connection(
    "info",
    -1,
    &Later(|conn, args| Box::pin(async move { run(conn, &args).await })),
)
.flags(LOADING | STALE)
.acl(acl::DANGEROUS)
.tips(&[
    "nondeterministic_output",
    "request_policy:all_shards",
    "response_policy:special",
])
.doc(
    "server",
    "1.0.0",
    "O(1)",
    "Get information and statistics about the server",
)
.history(&[(
    "7.0.0",
    "Added support for taking multiple section arguments.",
)])
.args(&[Arg::string("section").optional().multiple()])];

/// What one shard contributes to INFO.
#[derive(Debug, Default)]
pub struct ShardInfo {
    /// Per db: (keys, keys with a TTL).
    pub keyspace: Vec<(usize, usize)>,
    pub stats: Stats,
    pub commands_processed: u64,
    pub connected_clients: usize,
    pub blocked_clients: usize,
    /// The largest unsent output of any client now (client_recent_max_output_buffer).
    pub max_output_buffer: usize,
    /// The largest unparsed input of any client now (client_recent_max_input_buffer).
    pub max_input_buffer: usize,
    pub connections_received: u64,
    /// Replication backlog: whether this shard journals, first offset held, bytes held.
    pub backlog_active: bool,
    pub backlog_first: u64,
    pub backlog_len: u64,
}

impl ShardInfo {
    fn collect(shard: &mut Shard) -> ShardInfo {
        // Keys that lazy expiry removed outside `execute` (KEYS, SCAN, cross-shard RENAME...) are counted here.
        let lazily_expired: u64 = shard.dbs.iter_mut().map(|db| db.take_expired_count()).sum();
        shard.stats.expired_keys += lazily_expired;
        ShardInfo {
            keyspace: shard
                .dbs
                .iter()
                .map(|db| (db.len(), db.expires_len()))
                .collect(),
            stats: shard.stats.clone(),
            commands_processed: shard.commands_processed,
            connected_clients: shard.clients.len(),
            blocked_clients: shard.blocked_clients,
            max_output_buffer: shard
                .clients
                .iter()
                .map(|info| info.borrow().output.bytes())
                .max()
                .unwrap_or(0),
            max_input_buffer: shard
                .clients
                .iter()
                .map(|info| info.borrow().qbuf)
                .max()
                .unwrap_or(0),
            connections_received: shard.clients.total_received,
            backlog_active: shard.journal.is_active(),
            backlog_first: shard.journal.backlog_span().0,
            backlog_len: shard.journal.backlog_span().1,
        }
    }

    fn add(&mut self, other: &ShardInfo) {
        if self.keyspace.len() < other.keyspace.len() {
            self.keyspace.resize(other.keyspace.len(), (0, 0));
        }
        for (mine, theirs) in self.keyspace.iter_mut().zip(&other.keyspace) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        self.stats.keyspace_hits += other.stats.keyspace_hits;
        self.stats.keyspace_misses += other.stats.keyspace_misses;
        self.stats.expired_keys += other.stats.expired_keys;
        self.commands_processed += other.commands_processed;
        self.connected_clients += other.connected_clients;
        self.blocked_clients += other.blocked_clients;
        self.max_output_buffer = self.max_output_buffer.max(other.max_output_buffer);
        self.max_input_buffer = self.max_input_buffer.max(other.max_input_buffer);
        self.connections_received += other.connections_received;
        self.backlog_active |= other.backlog_active;
        self.backlog_first += other.backlog_first;
        self.backlog_len += other.backlog_len;
    }
}

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "keyspace",
];

pub async fn run(conn: &Connection, args: &[Bytes]) -> Frame {
    let requested: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let wanted = |section: &str| {
        requested.is_empty()
            || requested
                .iter()
                .any(|r| r == section || r == "all" || r == "everything" || (r == "default"))
    };
    let outputs = conn
        .ctx
        .run_everywhere(|_| |shard: &mut Shard| ShardInfo::collect(shard))
        .await;
    let mut total = ShardInfo::default();
    for info in outputs.into_iter().flatten() {
        total.add(&info);
    }
    let mut text = String::new();
    for section in SECTIONS.iter().filter(|s| wanted(s)) {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        match *section {
            "server" => server(conn, &mut text),
            "clients" => clients(conn, &total, &mut text),
            "memory" => memory_section(conn, &mut text),
            "persistence" => persistence(conn, &mut text),
            "stats" => stats(conn, &total, &mut text),
            "replication" => replication(conn, &total, &mut text),
            "cpu" => cpu(&mut text),
            _ => keyspace(&total, &mut text),
        }
    }
    Frame::Verbatim(Bytes::from(text))
}

fn server(conn: &Connection, out: &mut String) {
    let shared = &conn.ctx.shared;
    let uptime = shared.started.elapsed().as_secs();
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let config_file = shared
        .config
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let _ = write!(
        out,
        "# Server\r\nredis_version:{}\r\ndamselfly_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:io_uring\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\nexecutable:{}\r\nconfig_file:{}\r\nthreads:{}\r\n",
        crate::REDIS_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::process::id(),
        shared.run_id,
        shared.config.port,
        now_us,
        uptime,
        uptime / 86400,
        executable,
        config_file,
        shared.shards,
    );
}

fn clients(conn: &Connection, total: &ShardInfo, out: &mut String) {
    let _ = write!(
        out,
        "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
        total.connected_clients,
        conn.ctx.shared.client_limits.maxclients(),
        total.max_input_buffer,
        total.max_output_buffer,
        total.blocked_clients
    );
}

fn memory_section(conn: &Connection, out: &mut String) {
    let used = memory::allocated_bytes();
    let rss = memory::resident_bytes();
    let maxmemory = conn.ctx.shared.runtime().maxmemory;
    let _ = write!(
        out,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_dataset:{used}\r\nallocator_allocated:{used}\r\nallocator_resident:{}\r\ntotal_system_memory:{}\r\nmaxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:jemalloc-5.3.0\r\n",
        human(used),
        human(rss),
        memory::peak_bytes(),
        human(memory::peak_bytes()),
        memory::allocator_resident_bytes(),
        memory::total_system_memory(),
        human(maxmemory),
        if used > 0 { rss as f64 / used as f64 } else { 0.0 },
    );
}

fn persistence(conn: &Connection, out: &mut String) {
    let (saving, failed) = conn.ctx.shared.save_status();
    let _ = write!(
        out,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n",
        u8::from(saving),
        conn.ctx.shared.last_save(),
        if failed { "err" } else { "ok" },
    );
}

fn stats(conn: &Connection, total: &ShardInfo, out: &mut String) {
    let repl = &conn.ctx.shared.repl;
    let _ = write!(
        out,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\n",
        total.connections_received,
        total.commands_processed,
        conn.ctx.shared.client_limits.rejected(),
        total.stats.expired_keys,
        total.stats.keyspace_hits,
        total.stats.keyspace_misses,
        repl.sync_full.load(Ordering::Relaxed),
        repl.sync_partial_ok.load(Ordering::Relaxed),
        repl.sync_partial_err.load(Ordering::Relaxed),
    );
}

/// INFO replication. Once redis-server replicas have been fed, offsets are those of the
/// Redis-format stream (what they count); before, they are sums over shards: master_repl_offset is
/// the sum of the shard journals' offsets, and the backlog's first byte and length are summed the
/// same way. A damselfly replica's offset in its slaveN line is the sum of its shard offsets.
fn replication(conn: &Connection, total: &ShardInfo, out: &mut String) {
    let repl = &conn.ctx.shared.repl;
    let config = &conn.ctx.shared.config;
    let state = repl.state();
    let offset = repl.reported_offset();
    let stream = &repl.redis_stream;
    let (backlog_first, backlog_len) = if stream.on.load(Ordering::Acquire) {
        if stream.active.load(Ordering::Acquire) {
            let start = stream.start.load(Ordering::Acquire);
            (start + 1, offset.saturating_sub(start))
        } else {
            (0, 0)
        }
    } else {
        (total.backlog_first, total.backlog_len)
    };
    match &state.role {
        Role::Primary => {
            let online: Vec<_> = state.sessions.values().collect();
            let _ = write!(
                out,
                "# Replication\r\nrole:master\r\nconnected_slaves:{}\r\n",
                online.len()
            );
            if repl.min_replicas.enabled() {
                let _ = write!(
                    out,
                    "min_slaves_good_slaves:{}\r\n",
                    repl.min_replicas.good()
                );
            }
            for (index, session) in online.iter().enumerate() {
                let state_name = if session.online() {
                    "online"
                } else {
                    "send_bulk"
                };
                let _ = write!(
                    out,
                    "slave{index}:ip={},port={},state={state_name},offset={},lag={}\r\n",
                    session.ip,
                    session.port,
                    session.reported_offset(),
                    session.last_ack.elapsed().as_secs()
                );
            }
        }
        Role::Replica { host, port } => {
            let link = &state.link;
            let up = link.state == "connected";
            let _ = write!(
                out,
                "# Replication\r\nrole:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                if up { "up" } else { "down" },
                if link.state == "connect" { -1 } else { link.last_io.elapsed().as_secs() as i64 },
                u8::from(link.state == "sync"),
                link.read_total(),
                link.applied_total(),
            );
            if !up {
                let _ = write!(
                    out,
                    "master_link_down_since_seconds:{}\r\n",
                    link.down_since
                        .map_or(-1, |since| since.elapsed().as_secs() as i64)
                );
            }
            let _ = write!(
                out,
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\nconnected_slaves:0\r\n",
                repl.priority.load(Ordering::Relaxed),
                u8::from(repl.read_only.load(Ordering::Relaxed)),
                u8::from(repl.announced.load(Ordering::Relaxed))
            );
        }
    }
    let (replid2, second_offset) = match &state.replid2 {
        Some((replid, offset)) => (replid.clone(), *offset as i64),
        None => ("0".repeat(40), -1),
    };
    let replica_offset = match &state.role {
        Role::Primary => offset,
        Role::Replica { .. } => state.link.applied_total(),
    };
    let _ = write!(
        out,
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{replid2}\r\nmaster_repl_offset:{replica_offset}\r\nsecond_repl_offset:{second_offset}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        match &state.role {
            Role::Primary => state.replid.clone(),
            Role::Replica { .. } => state.link.primary_replid.clone().unwrap_or_else(|| state.replid.clone()),
        },
        u8::from(if stream.on.load(Ordering::Acquire) {
            stream.active.load(Ordering::Acquire)
        } else {
            total.backlog_active
        }),
        config.repl_backlog_size,
        backlog_first,
        backlog_len,
    );
}

fn cpu(out: &mut String) {
    let (user, system) = memory::cpu_seconds();
    let _ = write!(
        out,
        "# CPU\r\nused_cpu_sys:{system:.6}\r\nused_cpu_user:{user:.6}\r\n"
    );
}

fn keyspace(total: &ShardInfo, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (db, (keys, expires)) in total.keyspace.iter().enumerate() {
        if *keys > 0 {
            let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
        }
    }
}

/// Bytes in Redis's human form (1.50M).
fn human(bytes: u64) -> String {
    let units = [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (suffix, size) in units {
        if bytes >= size {
            return format!("{:.2}{suffix}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes}B")
}
