//! Chaos harness (issue 9, item 5): many clients at once against one server, misbehaving in every way a
//! socket allows, while well-behaved writers run cross-shard transactions; after every round the server
//! must be healthy and hold exactly the acknowledged writes. See docs/robustness.md ("Chaos harness").
//!
//! Short form (CI): `cargo test --release --test chaos` (4 s rounds: a warm-up and two rounds with
//! `--threads 1`, a warm-up and three rounds with `--threads 2`).
//! Long form: `DAMSELFLY_CHAOS_SECS=600 cargo test --release --test chaos -- --nocapture` (`--threads 2`,
//! 15 s rounds until the time is up, every invariant after every round, one progress line per round).
//! `DAMSELFLY_CHAOS_STALLED_SUBSCRIBER=1|0` forces the stalled-subscriber flood on or off; by default it
//! runs when the server reports a pubsub `client-output-buffer-limit` (CONFIG GET).
//! `DAMSELFLY_CHAOS_CROSS_SHARD_BLOCKERS=0` leaves out the consumers blocked on keys of two shards.
//! `DAMSELFLY_CHAOS_SABOTAGE=<mode>` breaks one invariant on purpose (tests/chaos/sabotage.rs).
mod common;

#[path = "chaos/blockers.rs"]
mod blockers;
#[path = "chaos/ctx.rs"]
mod ctx;
#[path = "chaos/invariants.rs"]
mod invariants;
#[path = "chaos/model.rs"]
mod model;
#[path = "chaos/net.rs"]
mod net;
#[path = "chaos/procstat.rs"]
mod procstat;
#[path = "chaos/pubsub.rs"]
mod pubsub;
#[path = "chaos/rude.rs"]
mod rude;
#[path = "chaos/sabotage.rs"]
mod sabotage;
#[path = "chaos/slots.rs"]
mod slots;
#[path = "chaos/writers.rs"]
mod writers;

use common::{Kind, Reply, Server};
use ctx::{Ctx, Fixtures, Outcome};
use model::{Expect, Model, Stats};
use net::Conn;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Transaction writers (their groups are what the transaction readers check).
const TX_WRITERS: usize = 2;
/// How long connections may take to be noticed closed and blocked clients to be dropped.
const CLIENTS_DEADLINE: Duration = Duration::from_secs(10);
/// How long the RSS may take to come back (jemalloc returns freed pages over seconds).
const RSS_DEADLINE: Duration = Duration::from_secs(30);

type Actor = fn(&Ctx, usize) -> Outcome;

/// Every scenario and how many of it run at once in each round.
fn cast(stalled_subscriber: bool) -> Vec<(&'static str, Actor, usize)> {
    let mut v: Vec<(&'static str, Actor, usize)> = vec![
        ("pipeliner", writers::pipeliner, 2),
        ("transactor", writers::transactor, TX_WRITERS),
        ("tx-reader", writers::tx_reader, 2),
        ("watcher", writers::watcher, 1),
        ("half-closer", writers::half_closer, 1),
        ("half-commands", rude::half_commands, 2),
        ("resetter", rude::resetter, 1),
        ("slow-reader", rude::slow_reader, 2),
        ("never-reader", rude::never_reader, 2),
        ("vanishing-blocker", blockers::vanishing_blocker, 2),
        // BLPOP and BZPOPMIN consumers: one key, two keys of different shards, one key with a timeout.
        ("live-blockers", blockers::live_blockers, 6),
        ("pubsub", pubsub::healthy_pubsub, 1),
    ];
    if stalled_subscriber {
        v.push(("stalled-subscriber", pubsub::stalled_subscriber, 1));
    }
    v
}

fn env_flag(name: &str) -> Option<bool> {
    match std::env::var(name).ok()?.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Long-form duration from DAMSELFLY_CHAOS_SECS.
fn long_run() -> Option<Duration> {
    let v = std::env::var("DAMSELFLY_CHAOS_SECS").ok()?;
    let secs: u64 = v
        .parse()
        .unwrap_or_else(|_| panic!("DAMSELFLY_CHAOS_SECS={v:?} is not a number of seconds"));
    Some(Duration::from_secs(secs))
}

/// Whether the stalled-subscriber flood runs, and why.
fn stalled_subscriber_mode(addr: SocketAddr) -> (bool, String) {
    if let Some(on) = env_flag("DAMSELFLY_CHAOS_STALLED_SUBSCRIBER") {
        return (on, "set by DAMSELFLY_CHAOS_STALLED_SUBSCRIBER".into());
    }
    let reply = Conn::connect(addr)
        .and_then(|mut c| c.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]));
    let limit = match &reply {
        Ok(Reply::Array(a)) if a.len() == 2 => {
            String::from_utf8_lossy(a[1].as_bytes()).into_owned()
        }
        _ => String::new(),
    };
    if limit.contains("pubsub") {
        (
            true,
            format!("server has client-output-buffer-limit {limit:?}"),
        )
    } else {
        (
            false,
            "server reports no client-output-buffer-limit (set DAMSELFLY_CHAOS_STALLED_SUBSCRIBER=1 to force)"
                .into(),
        )
    }
}

/// Kills the server and exits the process if the whole test outlives its deadline (a hung server or a bug
/// in the harness must not hang CI).
struct Watchdog {
    done: Arc<AtomicBool>,
    pid: Arc<Mutex<Option<u32>>>,
}

impl Watchdog {
    fn start(deadline: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let pid: Arc<Mutex<Option<u32>>> = Arc::default();
        let (d, p) = (done.clone(), pid.clone());
        std::thread::spawn(move || {
            let end = Instant::now() + deadline;
            while Instant::now() < end {
                if d.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            // Written straight to fd 2: the test harness's capture would swallow eprintln! on exit.
            let _ = writeln!(
                std::io::stderr(),
                "chaos: overall deadline of {deadline:?} exceeded; killing the server and exiting"
            );
            if let Some(pid) = *p.lock().unwrap_or_else(|e| e.into_inner()) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            std::process::exit(101);
        });
        Watchdog { done, pid }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

fn setup_fixtures(addr: SocketAddr, f: &Fixtures) -> Result<(), String> {
    let mut c = Conn::connect(addr)?;
    if c.cmd(&["SET", &f.big_key, &f.big_value])? != Reply::ok() {
        return Err("SET of the big value failed".into());
    }
    c.cmd(&["DEL", &f.list_key])?;
    for chunk in f.list_items.chunks(500) {
        let mut cmd = vec!["RPUSH".to_string(), f.list_key.clone()];
        cmd.extend(chunk.iter().cloned());
        c.cmd(&cmd)?;
    }
    match c.cmd(&["LLEN", &f.list_key])? {
        Reply::Int(n) if n as usize == f.list_items.len() => Ok(()),
        other => Err(format!("LLEN of the fixture list: {other:?}")),
    }
}

/// Runs every actor of `cast` for one round; returns what they reported (model updates) or every failure.
fn run_actors(
    ctx: &Arc<Ctx>,
    cast: &[(&'static str, Actor, usize)],
) -> (Vec<(String, Expect)>, Vec<String>) {
    let mut handles = Vec::new();
    for &(name, actor, count) in cast {
        for id in 0..count {
            let ctx = ctx.clone();
            let h = std::thread::Builder::new()
                .name(format!("{name}#{id}"))
                .spawn(move || actor(&ctx, id))
                .expect("spawn an actor thread");
            handles.push((name, id, h));
        }
    }
    let mut expect = Vec::new();
    let mut failures = Vec::new();
    for (name, id, h) in handles {
        match h.join() {
            Ok(Ok(e)) => expect.extend(e),
            Ok(Err(e)) => failures.push(format!("{name}#{id}: {e}")),
            Err(_) => failures.push(format!("{name}#{id} panicked (see its message above)")),
        }
    }
    (expect, failures)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
}

/// One server, `rounds` rounds after a warm-up (or rounds until `until`), invariants after each.
fn chaos_run(
    threads: usize,
    rounds: Option<u64>,
    until: Instant,
    round_len: Duration,
    pid: &Mutex<Option<u32>>,
) {
    let server = Server::start(threads, &[]);
    *pid.lock().unwrap_or_else(|e| e.into_inner()) = server.pid();
    let addr: SocketAddr = server.addr().parse().expect("server address");
    let shards = if server.kind == Kind::Redis {
        1
    } else {
        threads
    };
    let fixtures = Arc::new(Fixtures::new());
    setup_fixtures(addr, &fixtures).unwrap_or_else(|e| panic!("fixtures: {e}"));
    let mut model = Model::default();
    model.merge(vec![(
        fixtures.big_key.clone(),
        Expect::Value(fixtures.big_value.clone()),
    )]);
    // The baseline is one client: the INFO probe itself.
    let clients_baseline = 1;
    invariants::clients_return(addr, clients_baseline, CLIENTS_DEADLINE)
        .unwrap_or_else(|e| panic!("before the first round: {e}"));
    let (flood, why) = stalled_subscriber_mode(addr);
    eprintln!(
        "[chaos] {:?} --threads {threads} on {addr}; stalled-subscriber flood {} ({why})",
        server.kind,
        if flood { "ON" } else { "OFF" }
    );
    let cast = cast(flood);
    let cross_shard_blockers = env_flag("DAMSELFLY_CHAOS_CROSS_SHARD_BLOCKERS").unwrap_or(true);
    if !cross_shard_blockers {
        eprintln!("[chaos] consumers blocked on keys of two shards: OFF (DAMSELFLY_CHAOS_CROSS_SHARD_BLOCKERS=0)");
    }
    let probes = invariants::probe_keys(shards);
    let started = Instant::now();
    let mut mem_baseline: Option<(u64, u64)> = None;
    let mut round = 0u64;
    let sabotage = sabotage::Sabotage::from_env();
    let mut sabotage_kept = Vec::new();
    loop {
        let warm_up = round == 0;
        if !warm_up {
            match rounds {
                Some(n) if round > n => break,
                None if Instant::now() + round_len > until => break,
                _ => {}
            }
        }
        let round_start = Instant::now();
        let stats = Arc::new(Stats::default());
        let ctx = Arc::new(Ctx {
            addr,
            shards,
            round,
            until: round_start + round_len,
            stats: stats.clone(),
            fixtures: fixtures.clone(),
            before: Arc::new(model.clone()),
            tx_writers: TX_WRITERS,
            cross_shard_blockers,
        });
        let sabotage = sabotage.filter(|_| !warm_up);
        let rogue = sabotage.and_then(|m| sabotage::during_round(m, addr, shards, ctx.until));
        let sampler = procstat::Sampler::start(server.pid());
        let (expect, mut failures) = run_actors(&ctx, &cast);
        // A writer that failed may have had writes applied that it never saw acknowledged: its keys are
        // then unknown, so the data is compared with the model only after a round without failures.
        let writers_failed = !failures.is_empty();
        model.merge(expect);
        let active = round_start.elapsed();
        let mut stall = None;
        if let Some(mode) = sabotage {
            if let Some(r) = rogue {
                let _ = r.join();
            }
            let (keep, thread) = sabotage::before_checks(mode, addr, server.pid());
            sabotage_kept.extend(keep);
            stall = thread;
            eprintln!("[chaos] SABOTAGE {mode:?} applied: this round must fail");
        }

        // Invariants, each through fresh connections.
        let mut report = Vec::new();
        match invariants::shard_latencies(addr, &probes) {
            Ok(l) => report.push(format!("PING {:.1?}, GET per shard {:.1?}", l[0], &l[1..])),
            Err(e) => failures.push(format!("invariant 1 (shard latency): {e}")),
        }
        if let Some(t) = stall.take() {
            let _ = t.join();
        }
        match invariants::answers(addr) {
            Ok(n) => report.push(format!("DBSIZE {n}")),
            Err(e) => failures.push(format!("invariant 2 (DBSIZE/INFO): {e}")),
        }
        match invariants::clients_return(addr, clients_baseline, CLIENTS_DEADLINE) {
            Ok(t) => report.push(format!("clients back to {clients_baseline} in {t:.1?}")),
            Err(e) => failures.push(format!("invariant 3 (connections): {e}")),
        }
        if writers_failed {
            report.push("model not compared (actors failed)".into());
        } else {
            match invariants::model_matches(addr, &model) {
                Ok(n) => report.push(format!("model {n} keys ok")),
                Err(e) => failures.push(format!("invariant 5 (acknowledged writes): {e}")),
            }
        }
        match mem_baseline {
            None => match invariants::settled_rss(addr, RSS_DEADLINE)
                .and_then(|rss| Ok((rss, invariants::used_memory(addr)?)))
            {
                Ok((rss, used)) => {
                    mem_baseline = Some((rss, used));
                    report.push(format!("baseline RSS {} used_memory {}", mb(rss), mb(used)));
                }
                Err(e) => failures.push(format!("memory baseline: {e}")),
            },
            Some((rss_base, used_base)) => {
                match invariants::used_memory_returns(addr, used_base, RSS_DEADLINE) {
                    Ok(u) => report.push(format!("used_memory {}", mb(u))),
                    Err(e) => failures.push(format!("invariant 4 (used_memory): {e}")),
                }
                match invariants::rss_returns(addr, rss_base, RSS_DEADLINE) {
                    Ok(r) => report.push(format!(
                        "RSS {} ({:+.1}% of baseline)",
                        mb(r),
                        (r as f64 / rss_base as f64 - 1.0) * 100.0
                    )),
                    Err(e) => failures.push(format!("invariant 4 (RSS): {e}")),
                }
            }
        }
        eprintln!(
            "[chaos] threads={threads} round {}{} active {active:.1?}, t+{:.0?}: {} | {}",
            round,
            if warm_up { " (warm-up)" } else { "" },
            started.elapsed(),
            stats.line(),
            report.join(", ")
        );
        let threads_report = sampler.finish();
        assert!(
            failures.is_empty(),
            "chaos round {round} with --threads {threads} broke {} invariant(s):\n  {}\n{threads_report}",
            failures.len(),
            failures.join("\n  ")
        );
        round += 1;
    }
}

#[test]
fn chaos() {
    let long = long_run();
    let overall = match long {
        Some(d) => d + Duration::from_secs(300),
        None => Duration::from_secs(240),
    };
    let watchdog = Watchdog::start(overall);
    let start = Instant::now();
    match long {
        Some(d) => chaos_run(2, None, start + d, Duration::from_secs(15), &watchdog.pid),
        None => {
            for threads in common::thread_counts() {
                let rounds = if threads == 1 { 2 } else { 3 };
                chaos_run(
                    threads,
                    Some(rounds),
                    start + overall,
                    Duration::from_secs(4),
                    &watchdog.pid,
                );
            }
        }
    }
    eprintln!("[chaos] done in {:.1?}", start.elapsed());
}
