//! damselfly's server: configuration, one pinned glommio executor per shard, connections, routing and the
//! transaction scheduler. See docs/architecture.md.

mod blocking;
mod client_limits;
mod client_output;
mod clients;
mod commands;
mod config;
mod connection;
mod context;
mod dispatch;
mod executor;
mod idle_clients;
mod ids;
mod journal;
mod keyplan;
mod lending;
mod listener;
mod locks;
mod logging;
mod memory;
mod mesh;
mod messages;
mod net;
mod open_files;
mod output_limits;
mod persistence;
mod pipeline;
mod publish;
mod pubsub;
mod replication;
mod replication_state;
mod router;
mod shard;
mod shared;
mod signals;
mod socket;
mod spec;
mod transaction;
mod units;
mod wakeup;

#[cfg(test)]
mod test_shards;
#[cfg(test)]
mod transaction_tests;

use clap::Parser;
use config::{Args, Config};
use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};
use shared::Shared;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The Redis version we are compatible with, as reported by INFO and HELLO.
pub const REDIS_VERSION: &str = "7.0.15";

/// Parses the command line, starts every shard and serves until shutdown. Returns the process exit code.
pub fn run() -> i32 {
    commands::install();
    let args = Args::parse();
    let config = match Config::load(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return 1;
        }
    };
    if let Err(err) = logging::init(&config) {
        eprintln!("{err}");
        return 1;
    }
    match serve(config) {
        Ok(()) => 0,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("{err}");
            1
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    let maxclients = open_files::fit_maxclients(config.maxclients)?;
    let cpus = allowed_cpus()?;
    let shards = config.threads.unwrap_or(cpus.len());
    let listener_fds = listener::bind_all(&config.bind, config.port, shards)?;
    let (keys, repl_position) = persistence::load(&config, shards)?;
    let snapshot = Arc::new(Mutex::new(keys));
    let placement = (0..shards)
        .map(|shard| {
            let cpu = cpus[shard % cpus.len()];
            CpuSet::online()
                .map(|set| set.filter(|location| location.cpu == cpu))
                .map_err(|err| err.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let port = config.port;
    let shared = Arc::new(Shared::new(config, shards, maxclients));
    // A replica of a redis-server resumes from where its snapshot stood (Redis keeps it the same way).
    shared.repl.state().link.resume = repl_position;
    signals::install().map_err(|err| format!("cannot install signal handlers: {err}"))?;
    tracing::info!(
        "damselfly {} (Redis {REDIS_VERSION} compatible) starting: {shards} shard(s) on CPUs {:?}, port {port}",
        env!("CARGO_PKG_VERSION"),
        (0..shards).map(|s| cpus[s % cpus.len()]).collect::<Vec<_>>()
    );
    let shard_cpus: Vec<usize> = (0..shards).map(|s| cpus[s % cpus.len()]).collect();
    let ports = Arc::new(Mutex::new(
        mesh::build(shards)
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>(),
    ));
    let pool = LocalExecutorPoolBuilder::new(PoolPlacement::Custom(placement))
        .name("shard")
        .io_memory(1 << 20)
        .preempt_timer(Duration::from_millis(2))
        .on_all_shards(move || {
            let shared = shared.clone();
            let fds = listener_fds.clone();
            let snapshot = snapshot.clone();
            let (id, ports) = claim_shard(&ports, &shard_cpus);
            async move { executor::executor_main(id, ports, shared, fds, snapshot).await }
        })
        .map_err(|err| format!("cannot start the executors: {err} (is RLIMIT_MEMLOCK too low? try `ulimit -l unlimited`)"))?;
    tracing::info!("Ready to accept connections tcp");
    for result in pool.join_all() {
        if let Err(err) = result {
            return Err(format!("an executor failed: {err}"));
        }
    }
    Ok(())
}

/// The shard this executor thread runs: the first unclaimed one placed on the CPU it is pinned to,
/// so shard i runs on the i-th allowed CPU whatever order the threads start in.
fn claim_shard(
    ports: &Mutex<Vec<Option<mesh::Ports>>>,
    shard_cpus: &[usize],
) -> (usize, mesh::Ports) {
    // SAFETY: sched_getcpu has no arguments and only reads the calling thread's CPU.
    let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).ok();
    let mut ports = ports
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let unclaimed = |shard: &usize| ports[*shard].is_some();
    let shard = (0..ports.len())
        .filter(unclaimed)
        .find(|&shard| Some(shard_cpus[shard]) == cpu)
        .or_else(|| (0..ports.len()).find(unclaimed))
        .expect("one executor per shard");
    let taken = ports[shard].take().expect("checked unclaimed");
    (shard, taken)
}

/// The CPUs this process may run on (its affinity mask, so `taskset` is honoured).
fn allowed_cpus() -> Result<Vec<usize>, String> {
    let cores = core_affinity::get_core_ids().ok_or("cannot read the CPU affinity mask")?;
    let mut cpus: Vec<usize> = cores.into_iter().map(|core| core.id).collect();
    cpus.sort_unstable();
    if cpus.is_empty() {
        return Err("the CPU affinity mask is empty".to_string());
    }
    Ok(cpus)
}

/// Registers every command definition (storage's and the server's connection families) for unit
/// tests of modules below `commands` that resolve commands by name; the crate root wires the
/// layers together, so this reaches `commands` without a module depending on it.
#[cfg(test)]
pub(crate) fn install_commands_for_tests() {
    commands::install();
}
