//! The replica side: REPLICAOF / --replicaof start a link task on executor 0 that connects to the
//! primary, performs the handshake (PING, AUTH, REPLCONF listening-port and capa, DFLY SYNC), opens
//! one flow connection per primary shard and applies them until the link breaks, then reconnects,
//! asking to continue from the offsets it has (partial resync). A primary that answers DFLY with an
//! unknown-command error is a redis-server: the link continues with `redis_link`.

use super::applier::{self, flush_everything, wait_idle, Applier, SharedApplier};
use super::flow_input::FlowInput;
use super::handover;
use super::handshake::{is_unknown_command, parse_flow_hello, parse_sync_reply, SyncReply};
use super::primary_conn::PrimaryConn;
use super::redis_link::{self, RedisHistory};
use crate::context::ExecutorCtx;
use crate::replication_state::Role;
use crate::shard::Shard;
use futures::{AsyncReadExt, FutureExt};
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Pause between attempts to reach the primary.
const RETRY: Duration = Duration::from_secs(1);
/// Replicas acknowledge at least this often.
const ACK_INTERVAL: Duration = Duration::from_secs(1);

/// Makes this server a replica of `host:port` (keeping its data until a full sync replaces it).
/// When it was a replica already and knows exactly where its data stands in its old primary's
/// Redis-format stream, it asks the new primary to continue that stream (a redis-server that was
/// promoted from the same primary answers `+CONTINUE`).
pub async fn follow(ctx: &Rc<ExecutorCtx>, host: String, port: u16) {
    let target = Role::Replica { host, port };
    let continued = handover::stop_link(ctx, |state| {
        state.role = target;
        // As Redis: moving away from a connected primary marks the link down from now; otherwise
        // the link stays down since whenever it was (never, for a server that was a primary).
        if state.link.state == "connected" {
            state.link.down_since = Some(Instant::now());
        }
        state.link.state = "connect";
    })
    .await;
    let generation = {
        let mut state = ctx.shared.repl.state();
        if continued.is_some() {
            state.link.resume = continued;
        }
        state.generation
    };
    ctx.shared
        .repl
        .is_replica
        .store(true, std::sync::atomic::Ordering::Release);
    set_passive_expiry(ctx, true).await;
    super::redis_feed::stop(ctx).await;
    let start_link = move |_: &mut Shard| {
        if let Some(ctx) = crate::context::current() {
            crate::context::spawn_from_job(link_task(ctx, generation));
        }
    };
    ctx.run_on(0, start_link).await;
}

/// REPLICAOF NO ONE: stop replicating, keep the data, and start a new history (a new replication
/// id), keeping the old one as replid2 (Redis's PSYNC2). When the data stands exactly at a
/// position of the old primary's Redis-format stream (always after a redis-server primary, and
/// after a damselfly primary that noted it), our own Redis-format stream starts there, so the old
/// primary's other replicas continue from us with a partial resync.
pub async fn promote(ctx: &Rc<ExecutorCtx>) {
    if ctx.shared.repl.state().role == Role::Primary {
        return;
    }
    let continued = handover::stop_link(ctx, |state| {
        state.link.state = "connect";
        state.link.down_since = None;
    })
    .await;
    {
        let mut state = ctx.shared.repl.state();
        let history = match &continued {
            Some(position) => Some((position.replid.clone(), position.offset)),
            None => state
                .link
                .primary_replid
                .clone()
                .map(|replid| (replid, state.link.applied_total())),
        };
        state.role = Role::Primary;
        state.replid = crate::ids::random_hex_id();
        state.replid2 = history.map(|(replid, offset)| (replid, offset + 1));
    }
    if let Some(position) = &continued {
        super::redis_feed::start_at(ctx, position.offset).await;
        tracing::info!(
            "the Redis-format stream continues {}'s at offset {}",
            position.replid,
            position.offset
        );
    }
    ctx.shared
        .repl
        .is_replica
        .store(false, std::sync::atomic::Ordering::Release);
    set_passive_expiry(ctx, false).await;
    tracing::info!("replication stopped: this server is now a primary with a new replication id");
}

async fn set_passive_expiry(ctx: &Rc<ExecutorCtx>, on: bool) {
    ctx.run_everywhere(|_| {
        move |s: &mut Shard| {
            for db in &mut s.dbs {
                db.set_passive_expiry(on);
            }
        }
    })
    .await;
}

fn current_generation(ctx: &ExecutorCtx) -> u64 {
    ctx.shared.repl.state().generation
}

/// Keeps the link to the primary up until REPLICAOF changes it.
async fn link_task(ctx: Rc<ExecutorCtx>, generation: u64) {
    let mut applier: Option<SharedApplier> = None;
    let mut redis_history: Option<RedisHistory> = None;
    // Where our RDB said we stood in a Redis primary's stream: try to continue from there.
    if let Some(resume) = ctx.shared.repl.state().link.resume.take() {
        let resumed = Applier::new(1, ctx.shards());
        let resumed = Rc::new(RefCell::new(resumed));
        resumed.borrow_mut().set_start(0, resume.offset);
        applier = Some(resumed);
        redis_history = Some(RedisHistory {
            replid: resume.replid,
            db: resume.db,
        });
    }
    while current_generation(&ctx) == generation {
        let result = run_link(&ctx, generation, &mut applier, &mut redis_history).await;
        if current_generation(&ctx) != generation {
            return;
        }
        {
            let mut state = ctx.shared.repl.state();
            if state.link.state == "connected" {
                state.link.down_since = Some(Instant::now());
            }
            state.link.state = "connect";
        }
        if let Err(reason) = result {
            tracing::warn!("replication link: {reason}; retrying in {RETRY:?}");
        }
        glommio::timer::sleep(RETRY).await;
    }
}

fn expect_ok(reply: String, what: &str) -> Result<(), String> {
    if reply.starts_with('+') {
        Ok(())
    } else {
        Err(format!("{what}: primary replied {reply}"))
    }
}

/// Connects and authenticates one connection to the primary.
async fn connect(ctx: &ExecutorCtx, host: &str, port: u16) -> Result<PrimaryConn, String> {
    let mut conn = PrimaryConn::open(host, port).await?;
    if let Some(password) = &ctx.shared.config.masterauth {
        let reply = conn.command(&[b"AUTH", password.as_bytes()]).await?;
        expect_ok(reply, "Unable to AUTH to MASTER")?;
    }
    Ok(conn)
}

async fn run_link(
    ctx: &Rc<ExecutorCtx>,
    generation: u64,
    applier: &mut Option<SharedApplier>,
    redis_history: &mut Option<RedisHistory>,
) -> Result<(), String> {
    let Role::Replica { host, port } = ctx.shared.repl.state().role.clone() else {
        return Ok(());
    };
    ctx.shared.repl.state().link.state = "connecting";
    let mut control = connect(ctx, &host, port).await?;
    let pong = control.command(&[b"PING"]).await?;
    if !pong.starts_with("+PONG") {
        return Err(format!("MASTER aborted replication: {pong}"));
    }
    ctx.shared.repl.state().link.state = "handshake";
    // The primary lists us (INFO slaveN, which Sentinel reads to reach us) under the address we
    // connected from and the port we say, unless replica-announce-ip/port say otherwise.
    let runtime = ctx.shared.runtime();
    let our_port = match runtime.replica_announce_port {
        0 => ctx.shared.config.port,
        announced => announced,
    }
    .to_string();
    expect_ok(
        control
            .command(&[b"REPLCONF", b"listening-port", our_port.as_bytes()])
            .await?,
        "REPLCONF listening-port",
    )?;
    if let Some(ip) = &runtime.replica_announce_ip {
        // Not fatal, as in Redis: a primary that refuses it still replicates to us.
        let reply = control
            .command(&[b"REPLCONF", b"ip-address", ip.as_bytes()])
            .await?;
        if let Err(refused) = expect_ok(reply, "REPLCONF ip-address") {
            tracing::info!("(non critical) {refused}");
        }
    }
    expect_ok(
        control
            .command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
            .await?,
        "REPLCONF capa",
    )?;
    // Ask to continue where we are when we have a history with this primary.
    let (replid, offsets) = {
        let state = ctx.shared.repl.state();
        match (&state.link.primary_replid, applier.as_ref()) {
            (Some(replid), Some(current)) => {
                let current = current.borrow();
                let offsets: Vec<String> = (0..current.flows())
                    .map(|flow| current.consumed(flow).to_string())
                    .collect();
                (replid.clone(), offsets)
            }
            _ => ("?".to_string(), Vec::new()),
        }
    };
    let mut request: Vec<&[u8]> = vec![b"DFLY", b"SYNC", our_port.as_bytes(), replid.as_bytes()];
    request.extend(offsets.iter().map(|o| o.as_bytes()));
    let reply = control.command(&request).await?;
    // A redis-server primary does not know DFLY: speak Redis's protocol on this connection.
    if is_unknown_command(&reply) {
        return redis_link::run(ctx, generation, control, applier, redis_history).await;
    }
    *redis_history = None;
    ctx.shared.repl.state().link.redis_db = None;
    let SyncReply {
        full,
        replid: primary_replid,
        session,
        flows,
    } = parse_sync_reply(&reply)?;
    drop(control);
    let started = Instant::now();
    if full || applier.as_ref().is_none_or(|a| a.borrow().flows() != flows) {
        tracing::info!("full sync from {host}:{port} over {flows} flows");
        if let Some(old) = applier.take() {
            wait_idle(&old).await;
        }
        flush_everything(ctx).await;
        *applier = Some(Rc::new(RefCell::new(Applier::new(flows, ctx.shards()))));
    } else {
        tracing::info!("partial resync from {host}:{port}");
    }
    let Some(shared_applier) = applier.clone() else {
        return Err("no applier".to_string());
    };
    {
        let mut state = ctx.shared.repl.state();
        state.link.primary_replid = Some(primary_replid);
        state.link.state = if full { "sync" } else { "connected" };
        state.link.offsets = vec![0; flows];
        state.link.applied = vec![0; flows];
        state.link.last_io = Instant::now();
        state.link.sync_started = Some(started).filter(|_| full);
    }
    let mut connections = Vec::with_capacity(flows);
    for flow in 0..flows {
        let mut conn = connect(ctx, &host, port).await?;
        let flow_text = flow.to_string();
        let hello = conn
            .command(&[b"DFLY", b"FLOW", session.as_bytes(), flow_text.as_bytes()])
            .await?;
        let start = parse_flow_hello(flow, &hello)?;
        if full {
            shared_applier.borrow_mut().set_start(flow, start);
        } else if shared_applier.borrow().consumed(flow) != start {
            return Err(format!(
                "flow {flow} resumed at {start}, not where we stopped"
            ));
        }
        connections.push(conn);
    }
    let gate = Rc::new(glommio::sync::Semaphore::new(1));
    let sockets: Vec<i32> = connections
        .iter()
        .map(|conn| conn.stream.as_raw_fd())
        .collect();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(flow, conn)| {
            glommio::spawn_local(read_flow(
                ctx.clone(),
                shared_applier.clone(),
                gate.clone(),
                flow,
                conn,
                generation,
            ))
        })
        .collect();
    let (result, _, rest) = futures::future::select_all(tasks).await;
    // Stop the other flows at their next read, never in the middle of applying what they read:
    // a partial resync continues from what they consumed.
    for fd in sockets {
        // SAFETY: shutdown only changes the state of a socket owned by a flow task still running.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }
    futures::future::join_all(rest).await;
    result
}

/// Reads one flow, applies it, and acknowledges what is applied.
async fn read_flow(
    ctx: Rc<ExecutorCtx>,
    applier: SharedApplier,
    gate: Rc<glommio::sync::Semaphore>,
    flow: usize,
    mut conn: PrimaryConn,
    generation: u64,
) -> Result<(), String> {
    let timeout = Duration::from_secs(ctx.shared.config.repl_timeout_secs);
    let mut flow_input = FlowInput::default();
    let mut chunk = vec![0u8; 256 << 10];
    let mut last_ack = Instant::now();
    let mut input = std::mem::take(&mut conn.input);
    let ack_signal = applier.borrow().ack_signal(flow);
    loop {
        if current_generation(&ctx) != generation {
            // Stopped following: apply nothing more (the handover reads where the data stands).
            return Ok(());
        }
        let ack_now = flow_input.drain(&mut input, &mut applier.borrow_mut(), flow)?;
        applier::flush(&ctx, &applier, &gate).await;
        let (applied, consumed, synced) = {
            let applier = applier.borrow();
            (
                applier.applied(flow),
                applier.consumed(flow),
                applier.snapshots_done(),
            )
        };
        note_progress(&ctx, flow, consumed, synced);
        if ack_now {
            applier.borrow_mut().set_ack_wanted(flow, true);
        }
        let owed = applier.borrow().ack_owed(flow);
        if synced && (owed || last_ack.elapsed() >= ACK_INTERVAL) {
            let offset = applied.to_string();
            conn.send(&[b"REPLCONF", b"ACK", offset.as_bytes()]).await?;
            last_ack = Instant::now();
            // Records still in the transaction lane: acknowledge again when it has applied them.
            applier
                .borrow_mut()
                .set_ack_wanted(flow, owed && applied < consumed);
        }
        let read = futures::select! {
            read = conn.stream.read(&mut chunk).fuse() => Some(read),
            _ = ack_signal.wait().fuse() => None,
            _ = glommio::timer::sleep(timeout).fuse() => {
                return Err(format!("no data from the primary for {timeout:?} (repl-timeout)"))
            }
        };
        let Some(read) = read else {
            continue;
        };
        if current_generation(&ctx) != generation {
            return Ok(());
        }
        match read {
            Ok(0) => return Err("primary closed the flow".to_string()),
            Ok(read) => input.extend_from_slice(&chunk[..read]),
            Err(err) => return Err(format!("flow read failed: {err}")),
        }
    }
}

/// What a flow has read (what it applied is published by the applier, `publish_progress`).
fn note_progress(ctx: &ExecutorCtx, flow: usize, consumed: u64, synced: bool) {
    let mut state = ctx.shared.repl.state();
    let link = &mut state.link;
    link.last_io = Instant::now();
    if let Some(slot) = link.offsets.get_mut(flow) {
        *slot = consumed;
    }
    if synced && link.state == "sync" {
        link.state = "connected";
        if let Some(started) = link.sync_started.take() {
            tracing::info!("full sync complete in {:?}", started.elapsed());
        }
    }
}
