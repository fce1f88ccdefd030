//! The primary side: `DFLY SYNC` on a replica's control connection takes a consistent cut of every
//! shard (one transaction locking all of them) and registers one flow per shard, either continuing
//! from the replica's offsets (partial resync) or starting a point-in-time snapshot (full sync).
//! `DFLY FLOW` connections are then handed to the executor owning their shard, which streams the
//! snapshot interleaved with journal records, then live records, and reads acknowledgements.

use crate::clients::{ClientInfo, ClientKind};
use crate::connection::{Connection, Handoff};
use crate::context::ExecutorCtx;
use crate::journal::FlowSink;
use crate::journal::{snapshot, wire};
use crate::locks::LockRequest;
use crate::replication_state::coordinator::Event;
use crate::replication_state::Session;
use crate::shard::{Job, Shard, ShardMsg, Work};
use crate::transaction::Transaction;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use glommio::net::TcpStream;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Slots a snapshot step walks before yielding to other work.
const SNAPSHOT_STEP: u32 = 2048;
/// Bytes written to the socket per write call at most.
const WRITE_CHUNK: usize = 256 << 10;
/// A flow with nothing to send sends a keepalive this often.
const KEEPALIVE: Duration = Duration::from_secs(1);

/// Answer codes of the first hop of a sync.
const RESUMABLE: i64 = 1;
const NOT_RESUMABLE: i64 = 0;
const SNAPSHOT_RUNNING: i64 = 2;

/// `DFLY SYNC <listening-port> <replid|?> [offset per shard...]`
pub async fn sync(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let ctx = conn.ctx.clone();
    let repl = &ctx.shared.repl;
    if repl.is_replica() {
        return Frame::error("ERR Replicating a replica is unsupported");
    }
    let (Some(port), Some(replid)) = (
        args.get(2)
            .and_then(|p| std::str::from_utf8(p).ok()?.parse::<u16>().ok()),
        args.get(3),
    ) else {
        return Frame::error(errors::SYNTAX);
    };
    let offsets: Option<Vec<u64>> = args[4..]
        .iter()
        .map(|o| std::str::from_utf8(o).ok()?.parse().ok())
        .collect();
    let Some(offsets) = offsets else {
        return Frame::error(errors::SYNTAX);
    };
    let shards = ctx.shards();
    let our_replid = repl.state().replid.clone();
    let asked_partial = replid[..] != b"?"[..];
    let want_partial = replid[..] == *our_replid.as_bytes() && offsets.len() == shards;

    let started = Instant::now();
    let locks: BTreeMap<usize, Vec<LockRequest>> = (0..shards)
        .map(|shard| (shard, vec![LockRequest::whole_shard()]))
        .collect();
    let mut tx = Transaction::begin(&ctx, locks, false).await;
    let checks: Vec<(usize, Work<i64>)> = (0..shards)
        .map(|shard| {
            let offset = offsets.get(shard).copied();
            let job: Work<i64> = Box::new(move |s| {
                if want_partial && offset.is_some_and(|o| s.journal.can_resume_from(o)) {
                    RESUMABLE
                } else if s.dbs.iter().any(|db| db.snapshot_active()) {
                    SNAPSHOT_RUNNING
                } else {
                    NOT_RESUMABLE
                }
            });
            (shard, job)
        })
        .collect();
    let codes: Vec<i64> = tx
        .hop(checks, false)
        .await
        .into_iter()
        .map(|code| code.unwrap_or(NOT_RESUMABLE))
        .collect();
    let partial = want_partial && codes.iter().all(|&c| c == RESUMABLE);
    if !partial && codes.contains(&SNAPSHOT_RUNNING) {
        tx.finish().await;
        return Frame::error("ERR a full sync is already running, try again later");
    }
    let session = repl.next_session();
    // The replica class's client-output-buffer-limit covers a replica; each shard's flow gets its
    // share. As in Redis, a hard limit below repl-backlog-size counts as repl-backlog-size: a
    // replica that resumes from anywhere in the backlog must not be dropped for that lag alone.
    let shared = &conn.ctx.shared;
    let replica_limit = shared
        .output_limits
        .get(crate::output_limits::OutputClass::Replica);
    let hard = match replica_limit.hard {
        0 => 0,
        hard => hard.max(shared.config.repl_backlog_size),
    };
    let share = |bytes: u64| bytes.div_ceil(shards as u64);
    let limit = crate::output_limits::ClassLimit {
        hard: share(hard),
        soft: share(replica_limit.soft),
        ..replica_limit
    };
    let registrations: Vec<(usize, Work<()>)> = (0..shards)
        .map(|shard| {
            let offset = offsets.get(shard).copied().unwrap_or(0);
            let job: Work<()> = Box::new(move |s| {
                if partial {
                    s.journal.register_partial(session, offset, limit);
                } else {
                    s.activate_journal();
                    s.journal.register_full(session, limit);
                    for db in &mut s.dbs {
                        db.start_snapshot();
                    }
                }
            });
            (shard, job)
        })
        .collect();
    tx.hop(registrations, true).await;
    tx.finish().await;

    // The address the replica asked to be listed under (replica-announce-ip), else where it
    // connected from.
    let announced = conn
        .replica_hello
        .as_ref()
        .and_then(|hello| hello.ip_address.clone());
    let ip = announced.unwrap_or_else(|| conn.info.borrow().addr.ip().to_string());
    repl.state().sessions.insert(
        session,
        Session {
            ip: ip.clone(),
            port,
            acked: vec![0; shards],
            last_ack: Instant::now(),
            snapshots_sent: 0,
            full_sync: !partial,
            flows_open: 0,
            started: Instant::now(),
            stream_offset: None,
        },
    );
    let counter = if partial {
        &repl.sync_partial_ok
    } else {
        &repl.sync_full
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if asked_partial && !partial {
        repl.sync_partial_err
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let kind = if partial { "CONTINUE" } else { "FULLRESYNC" };
    tracing::info!(
        "replica {ip}:{port} session {session}: {} over {shards} flows (cut taken in {:?})",
        if partial {
            "partial resync"
        } else {
            "full sync"
        },
        started.elapsed()
    );
    Frame::Simple(format!("{kind} {our_replid} {session} {shards}").into())
}

/// `DFLY FLOW <session> <shard>`: validated here; the connection then moves to the shard's executor.
pub fn flow_request(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let parse = |i: usize| -> Option<u64> { std::str::from_utf8(args.get(i)?).ok()?.parse().ok() };
    match (parse(2), parse(3)) {
        (Some(session), Some(shard)) if (shard as usize) < conn.ctx.shards() => {
            conn.handoff = Some(Handoff::Flow {
                session,
                shard: shard as usize,
            });
            Frame::Null
        }
        _ => Frame::error("ERR invalid flow"),
    }
}

/// Moves a flow connection to the executor of its shard.
pub async fn hand_off(ctx: &Rc<ExecutorCtx>, stream: TcpStream, session: u64, shard: usize) {
    super::handoff::move_socket(ctx, stream, shard, move |ctx, fd| {
        crate::context::spawn_from_job(serve_flow(ctx, fd, session));
    })
    .await;
}

/// Streams one shard's flow to a replica until the connection ends or the flow dies.
async fn serve_flow(ctx: Rc<ExecutorCtx>, fd: OwnedFd, session: u64) {
    let stream = super::handoff::stream_of(fd);
    let _ = stream.set_nodelay(true);
    let shard_id = ctx.id;
    let sink = ctx.shard.borrow().journal.sink(session);
    let Some(sink) = sink else {
        let mut stream = stream;
        let _ = stream
            .write_all(b"-ERR unknown replication session\r\n")
            .await;
        return;
    };
    sink.attached.set(true);
    let info = register_client(&ctx, &stream);
    sink.attach(info.borrow().output.clone());
    session_flow_opened(&ctx, session);
    let (reader, mut writer) = stream.split();
    let hello = format!(
        "+{} {}\r\n",
        if sink.full_sync { "FULL" } else { "PARTIAL" },
        sink.start_offset
    );
    let finished = if writer.write_all(hello.as_bytes()).await.is_ok() {
        let acks = glommio::spawn_local(read_acks(ctx.clone(), reader, session)).detach();
        let result = stream_flow(&ctx, &sink, &mut writer).await;
        acks.cancel();
        result
    } else {
        Err("write failed".to_string())
    };
    sink.detach();
    if let Err(reason) = finished {
        tracing::info!("replica session {session}: flow of shard {shard_id} ended: {reason}");
    }
    {
        let mut shard = ctx.shard.borrow_mut();
        // Another shard's flow ending may have removed this sink already, snapshot running.
        if sink.snapshotting.get() {
            stop_snapshots(&mut shard);
        }
        drop_flow(&mut shard, session);
        shard.clients.remove(info.borrow().id);
    }
    session_flow_closed(&ctx, session);
}

pub fn register_client(ctx: &Rc<ExecutorCtx>, stream: &TcpStream) -> Rc<RefCell<ClientInfo>> {
    let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let now = Instant::now();
    let info = Rc::new(RefCell::new(ClientInfo {
        id: ctx.shared.next_client_id(),
        fd: stream.as_raw_fd(),
        addr: stream.peer_addr().unwrap_or(unspecified),
        laddr: stream.local_addr().unwrap_or(unspecified),
        name: String::new(),
        db: 0,
        resp: 2,
        created: now,
        last_interaction: now,
        last_command: "sync",
        shard: ctx.id,
        killed: false,
        kind: ClientKind::Replica,
        blocked: false,
        sub: 0,
        psub: 0,
        qbuf: 0,
        qbuf_free: 0,
        output: Rc::new(crate::client_output::ClientOutput::new(stream.as_raw_fd())),
    }));
    crate::clients::describe_output(&info);
    ctx.shard.borrow_mut().clients.add(info.clone());
    info
}

/// Writes the flow: the snapshot (if a full sync) interleaved with what the shard queues, then the
/// live journal, with a keepalive whenever it has been idle for a second.
async fn stream_flow(
    ctx: &Rc<ExecutorCtx>,
    sink: &Rc<FlowSink>,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<(), String> {
    let databases = ctx.shard.borrow().dbs.len();
    let mut snapshot_db = 0;
    let started = Instant::now();
    let mut snapshot_keys = 0usize;
    let mut snapshot_bytes = 0usize;
    while sink.snapshotting.get() {
        {
            let mut shard = ctx.shard.borrow_mut();
            shard.send_preimages();
            let mut images = Vec::new();
            let done = shard.dbs[snapshot_db].snapshot_step(SNAPSHOT_STEP, &mut images);
            if !images.is_empty() {
                snapshot_keys += images.len();
                let chunk = snapshot::encode_chunk(snapshot_db, &images);
                snapshot_bytes += chunk.len();
                shard.journal.push_to(sink, chunk);
            }
            if done {
                snapshot_db += 1;
                if snapshot_db >= databases {
                    sink.snapshotting.set(false);
                    shard
                        .journal
                        .push_to(sink, Bytes::from_static(wire::SNAPSHOT_END));
                }
            }
        }
        if sink.is_dead() {
            return Err("output buffer limit reached during the snapshot".to_string());
        }
        // Write what is queued before producing more, so the buffer stays small.
        while sink.queued_bytes() > WRITE_CHUNK {
            write_some(ctx, sink, writer).await?;
        }
        glommio::yield_if_needed().await;
    }
    if sink.full_sync {
        tracing::info!(
            "replica session {}: shard {} snapshot of {snapshot_keys} keys ({snapshot_bytes} bytes) produced in {:?}",
            sink.session,
            ctx.id,
            started.elapsed()
        );
        session_snapshot_sent(ctx, sink.session);
    }
    loop {
        write_some(ctx, sink, writer).await?;
    }
}

/// Writes what is queued for the flow (sealing the journal first, so a burst of records leaves in
/// one write), waiting for more if there is none; a keepalive after a second of silence.
async fn write_some(
    ctx: &Rc<ExecutorCtx>,
    sink: &FlowSink,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<(), String> {
    loop {
        if sink.is_dead() {
            return Err("flow dropped (output buffer limit or replica gone)".to_string());
        }
        ctx.shard.borrow_mut().journal.seal();
        let output = match sink.take_output(WRITE_CHUNK) {
            Some(output) => output,
            None => {
                let woken = futures::select! {
                    _ = sink.changed().fuse() => true,
                    _ = glommio::timer::sleep(KEEPALIVE).fuse() => false,
                };
                if woken {
                    // Let the connections that are ready run first: their records then leave in
                    // the same write, and the replica is woken once for all of them.
                    crate::context::yield_once().await;
                    continue;
                }
                wire::KEEPALIVE.to_vec()
            }
        };
        return writer
            .write_all(&output)
            .await
            .map_err(|err| err.to_string());
    }
}

/// Reads the replica's acknowledgements and reports them to the WAIT coordinator.
async fn read_acks(ctx: Rc<ExecutorCtx>, reader: ReadHalf<TcpStream>, session: u64) {
    super::acks::read_acks(reader, |offset| record_ack(&ctx, session, offset)).await;
}

fn record_ack(ctx: &Rc<ExecutorCtx>, session: u64, offset: u64) {
    let repl = &ctx.shared.repl;
    let online = {
        let mut state = repl.state();
        let Some(entry) = state.sessions.get_mut(&session) else {
            return;
        };
        if let Some(slot) = entry.acked.get_mut(ctx.id) {
            *slot = (*slot).max(offset);
        }
        entry.last_ack = Instant::now();
        entry.online()
    };
    if online {
        repl.coordinator.send(Event::Ack {
            session,
            shard: ctx.id,
            offset,
        });
    }
}

/// Updates a session; `became_online` says whether this change made it count for WAIT.
fn update_session(
    ctx: &Rc<ExecutorCtx>,
    session: u64,
    became_online: impl FnOnce(&mut Session) -> bool,
) {
    let repl = &ctx.shared.repl;
    let online = match repl.state().sessions.get_mut(&session) {
        Some(entry) => became_online(entry),
        None => return,
    };
    if online {
        repl.coordinator.send(Event::Online {
            session,
            shards: ctx.shards(),
        });
    }
}

fn session_flow_opened(ctx: &Rc<ExecutorCtx>, session: u64) {
    update_session(ctx, session, |entry| {
        entry.flows_open += 1;
        entry.last_ack = Instant::now();
        !entry.full_sync && entry.flows_open == entry.acked.len()
    });
}

fn session_snapshot_sent(ctx: &Rc<ExecutorCtx>, session: u64) {
    update_session(ctx, session, |entry| {
        entry.snapshots_sent += 1;
        if entry.online() {
            entry.last_ack = Instant::now();
            tracing::info!(
                "replica session {session}: full sync sent in {:?}",
                entry.started.elapsed()
            );
        }
        entry.online()
    });
}

/// A session disappears with its first closed flow: the replica reconnects as a whole.
fn session_flow_closed(ctx: &Rc<ExecutorCtx>, session: u64) {
    let repl = &ctx.shared.repl;
    if repl.state().sessions.remove(&session).is_some() {
        repl.coordinator.send(Event::Gone { session });
        let ctx = ctx.clone();
        glommio::spawn_local(async move {
            ctx.run_everywhere(|_| move |s: &mut Shard| drop_flow(s, session))
                .await;
        })
        .detach();
    }
}

/// Drops flows registered at a sync cut whose connection never arrived within repl-timeout.
/// Also drops the flows of an online replica that has not acknowledged anything for repl-timeout
/// (it resyncs when it comes back).
pub fn drop_stale_flows(ctx: &Rc<ExecutorCtx>) {
    let timeout = Duration::from_secs(ctx.shared.config.repl_timeout_secs);
    let mut shard = ctx.shard.borrow_mut();
    if shard.journal.sinks.is_empty() {
        return;
    }
    let silent: Vec<u64> = {
        let state = ctx.shared.repl.state();
        shard
            .journal
            .sinks
            .iter()
            .filter(|sink| {
                state
                    .sessions
                    .get(&sink.session)
                    .is_some_and(|session| session.online() && session.last_ack.elapsed() > timeout)
            })
            .map(|sink| sink.session)
            .collect()
    };
    for session in silent {
        tracing::warn!(
            "replica session {session}: no acknowledgement for {timeout:?}, dropping it"
        );
        drop_flow(&mut shard, session);
    }
    let stale: Vec<u64> = shard
        .journal
        .sinks
        .iter()
        .filter(|s| !s.attached.get() && s.created.elapsed() > timeout)
        .map(|s| s.session)
        .collect();
    for session in stale {
        tracing::warn!("replica session {session}: flow never connected, dropping it");
        drop_flow(&mut shard, session);
        ctx.shared.repl.state().sessions.remove(&session);
    }
}

/// Drops a session's flow on this shard. A full sync's flow that goes before its snapshot is done
/// (its connection ended, never came, or another shard's flow of the session ended) stops the
/// shard's snapshot, or every later full sync would be refused as "already running".
fn drop_flow(shard: &mut Shard, session: u64) {
    if shard.journal.remove(session) {
        stop_snapshots(shard);
    }
}

fn stop_snapshots(shard: &mut Shard) {
    for db in &mut shard.dbs {
        db.stop_snapshot();
    }
}

/// Asks every replica for an acknowledgement now (a client is waiting in WAIT).
pub fn request_acks(ctx: &Rc<ExecutorCtx>) {
    for shard in 0..ctx.shards() {
        let job: Job = Box::new(|s| s.journal.request_acks());
        let ctx = ctx.clone();
        glommio::spawn_local(async move {
            ctx.send(shard, ShardMsg::Run { job });
        })
        .detach();
    }
}
