//! One redis-server replica (or a tool that sent SYNC) on the feed's executor: the answer to its
//! PSYNC (`+CONTINUE` from the backlog, or `+FULLRESYNC` and an RDB in the form it can read), then
//! the stream from its offset on; its `REPLCONF ACK`s count for WAIT and min-replicas and show in
//! INFO.

use super::sync::Sync;
use super::Feed;
use crate::client_output::ClientOutput;
use crate::connection::StreamRequest;
use crate::context::ExecutorCtx;
use crate::journal::signal::Signal;
use crate::replication_state::coordinator::Event;
use crate::replication_state::Session;
use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use glommio::net::TcpStream;
use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Bytes written to the socket per write call at most.
const WRITE_CHUNK: usize = 256 << 10;
/// While the replica waits for its RDB to start (or, in the `$<length>` form, to be complete),
/// it gets a newline this often, as Redis sends, so its link stays alive.
const NEWLINE_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the full sync's cut.
    AwaitingCut,
    Rdb,
    Streaming,
}

pub struct RedisReplica {
    pub session: u64,
    request: StreamRequest,
    phase: Cell<Phase>,
    /// The stream offset of the next byte to write (while streaming).
    position: Cell<u64>,
    /// The index of the next RDB chunk to write.
    rdb_next: Cell<usize>,
    /// The last offset the replica acknowledged, and when (or when it started streaming).
    acked: Cell<u64>,
    last_ack: Cell<Instant>,
    /// It counts for INFO (online), WAIT and min-replicas.
    online: Cell<bool>,
    signal: Signal,
    dead: Cell<bool>,
    pub soft_since: Cell<Option<Instant>>,
    sync: RefCell<Option<Rc<Sync>>>,
    output: Rc<ClientOutput>,
}

impl RedisReplica {
    pub fn is_dead(&self) -> bool {
        self.dead.get()
    }

    /// Reads an RDB whose length is not known in advance (`capa eof`, never with SYNC).
    pub fn eof_capable(&self) -> bool {
        self.request.hello.capa_eof && !self.request.legacy_sync
    }

    /// PSYNC's replication id and the stream offset it continues from (how many bytes it has).
    pub fn resume(&self) -> Option<(String, u64)> {
        self.request.resume.clone()
    }

    pub fn rdb_next(&self) -> usize {
        self.rdb_next.get()
    }

    pub fn acked(&self) -> u64 {
        self.acked.get()
    }

    pub fn wake(&self) {
        self.signal.raise();
    }

    /// Joins a full sync that has not taken its cut yet.
    pub fn join(&self, sync: Rc<Sync>) {
        *self.sync.borrow_mut() = Some(sync);
        self.wake();
    }

    /// The first stream offset this replica still needs, if it needs any.
    pub fn needs_from(&self) -> Option<u64> {
        match self.phase.get() {
            Phase::Streaming => Some(self.position.get()),
            Phase::AwaitingCut | Phase::Rdb => self.sync.borrow().as_ref()?.start_offset.get(),
        }
    }

    /// Drops the replica for overcoming its output buffer limit (as Redis logs and closes it).
    pub fn close_over_limit(&self) {
        self.output.close_over_limit();
        self.dead.set(true);
        self.wake();
    }

    /// Ends the replica's connection.
    pub fn close(&self) {
        self.output.close();
        self.dead.set(true);
        self.wake();
    }

    /// How long an online replica has not acknowledged anything (zero before it is online: a
    /// replica loading its RDB does not acknowledge).
    pub fn silent_for(&self) -> Duration {
        if self.phase.get() == Phase::Streaming && self.online.get() {
            self.last_ack.get().elapsed()
        } else {
            Duration::ZERO
        }
    }

    pub fn describe(&self) -> String {
        let port = self
            .request
            .hello
            .listening_port
            .map_or_else(|| "?".to_string(), |p| p.to_string());
        format!("{}:{port}", self.request.ip)
    }
}

/// Serves one replica whose socket was handed to the feed's executor.
pub async fn serve(ctx: Rc<ExecutorCtx>, fd: OwnedFd, request: Box<StreamRequest>) {
    let stream = super::super::handoff::stream_of(fd);
    let _ = stream.set_nodelay(true);
    let feed = super::feed(&ctx);
    let info = super::super::primary::register_client(&ctx, &stream);
    let output = info.borrow().output.clone();
    let replica = Rc::new(RedisReplica {
        session: ctx.shared.repl.next_session(),
        request: *request,
        phase: Cell::new(Phase::AwaitingCut),
        position: Cell::new(0),
        rdb_next: Cell::new(0),
        acked: Cell::new(0),
        last_ack: Cell::new(Instant::now()),
        online: Cell::new(false),
        signal: Signal::default(),
        dead: Cell::new(false),
        soft_since: Cell::new(None),
        sync: RefCell::new(None),
        output,
    });
    register_session(&ctx, &replica);
    let (reader, mut writer) = stream.split();
    let acks = glommio::spawn_local(read_acks(
        ctx.clone(),
        feed.clone(),
        replica.clone(),
        reader,
    ))
    .detach();
    let result = feed_replica(&ctx, &feed, &replica, &mut writer).await;
    acks.cancel();
    replica.dead.set(true);
    replica.output.retire();
    feed.remove(&replica);
    if let Some(sync) = replica.sync.borrow_mut().take() {
        if !sync.wanted() {
            sync.control
                .abandoned
                .store(true, std::sync::atomic::Ordering::Release);
        }
        sync.release_written();
    }
    let repl = &ctx.shared.repl;
    if repl.state().sessions.remove(&replica.session).is_some() {
        repl.coordinator.send(Event::Gone {
            session: replica.session,
        });
    }
    ctx.shard.borrow_mut().clients.remove(info.borrow().id);
    if let Err(reason) = result {
        tracing::info!("redis-format replica {}: {reason}", replica.describe());
    }
}

fn register_session(ctx: &Rc<ExecutorCtx>, replica: &RedisReplica) {
    let hello = &replica.request.hello;
    let session = Session {
        ip: hello
            .ip_address
            .clone()
            .unwrap_or_else(|| replica.request.ip.clone()),
        port: hello.listening_port.unwrap_or(0),
        acked: vec![0; ctx.shards()],
        last_ack: Instant::now(),
        snapshots_sent: 0,
        full_sync: true,
        flows_open: 0,
        started: Instant::now(),
        stream_offset: Some(0),
    };
    ctx.shared
        .repl
        .state()
        .sessions
        .insert(replica.session, session);
}

/// Answers PSYNC, sends the RDB if it needs one, then the stream, until the connection ends.
async fn feed_replica(
    ctx: &Rc<ExecutorCtx>,
    feed: &Rc<Feed>,
    replica: &Rc<RedisReplica>,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<(), String> {
    let replid = ctx.shared.repl.state().replid.clone();
    // A replica that continues, or got its RDB with its length first, has the data once it is
    // written; one that read a diskless (`$EOF:`) RDB counts from its first acknowledgement, as
    // Redis puts such a replica online.
    let (start, has_data) = match feed.try_continue(replica) {
        Some(offset) => {
            let answer = if replica.request.hello.capa_psync2 {
                format!("+CONTINUE {replid}\r\n")
            } else {
                "+CONTINUE\r\n".to_string()
            };
            write(writer, answer.as_bytes()).await?;
            ctx.shared
                .repl
                .sync_partial_ok
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(
                "redis-format replica {}: partial resync from offset {offset}",
                replica.describe()
            );
            (offset, true)
        }
        None => {
            let repl = &ctx.shared.repl;
            repl.sync_full
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if replica.request.resume.is_some() {
                repl.sync_partial_err
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            feed.enqueue_full_sync(ctx, replica.clone());
            let started = Instant::now();
            let offset = transfer_rdb(&replid, replica, writer).await?;
            tracing::info!(
                "redis-format replica {}: full sync sent in {:?}",
                replica.describe(),
                started.elapsed()
            );
            (offset, !replica.eof_capable())
        }
    };
    start_streaming(ctx, feed, replica, start, has_data);
    loop {
        if replica.is_dead() {
            return Err("connection closed".to_string());
        }
        match feed.read(replica.position.get(), WRITE_CHUNK) {
            Err(()) => return Err("fell out of the stream's backlog".to_string()),
            Ok(Some(bytes)) => {
                write(writer, &bytes).await?;
                replica
                    .position
                    .set(replica.position.get() + bytes.len() as u64);
            }
            Ok(None) => replica.signal.wait().await,
        }
    }
}

/// Waits for the sync's cut, answers `+FULLRESYNC` (not to SYNC), writes the RDB in the form the
/// replica reads; returns the stream offset the replica continues from.
async fn transfer_rdb(
    replid: &str,
    replica: &Rc<RedisReplica>,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<u64, String> {
    let sync = loop {
        if replica.is_dead() {
            return Err("dropped while waiting for its full sync".to_string());
        }
        let sync = replica.sync.borrow().clone();
        if let Some(sync) = sync.filter(|s| s.start_offset.get().is_some()) {
            break sync;
        }
        newline_unless_woken(replica, writer).await?;
    };
    let offset = sync.start_offset.get().unwrap_or(0);
    replica.phase.set(Phase::Rdb);
    if !replica.request.legacy_sync {
        write(
            writer,
            format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes(),
        )
        .await?;
    }
    if replica.eof_capable() {
        let mark = crate::ids::random_hex_id();
        write(writer, format!("$EOF:{mark}\r\n").as_bytes()).await?;
        write_chunks(&sync, replica, writer).await?;
        write(writer, mark.as_bytes()).await?;
    } else {
        while !sync.complete.get() {
            newline_unless_woken(replica, writer).await?;
        }
        write(writer, format!("${}\r\n", sync.total_length()).as_bytes()).await?;
        write_chunks(&sync, replica, writer).await?;
    }
    replica.sync.borrow_mut().take();
    sync.release_written();
    Ok(offset)
}

/// Writes the RDB's chunks as they are produced, until its end.
async fn write_chunks(
    sync: &Rc<Sync>,
    replica: &Rc<RedisReplica>,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<(), String> {
    loop {
        if replica.is_dead() {
            return Err("dropped during its full sync".to_string());
        }
        match sync.chunk(replica.rdb_next.get()) {
            Some(chunk) => {
                write(writer, &chunk).await?;
                replica.rdb_next.set(replica.rdb_next.get() + 1);
                sync.release_written();
            }
            None if sync.complete.get() => return Ok(()),
            None => replica.signal.wait().await,
        }
    }
}

/// Waits to be woken; after a second without, writes a newline (Redis's keepalive before a sync).
async fn newline_unless_woken(
    replica: &RedisReplica,
    writer: &mut WriteHalf<TcpStream>,
) -> Result<(), String> {
    let woken = futures::select! {
        _ = replica.signal.wait().fuse() => true,
        _ = glommio::timer::sleep(NEWLINE_EVERY).fuse() => false,
    };
    if !woken {
        write(writer, b"\n").await?;
    }
    Ok(())
}

/// The replica streams from `offset` on; it counts (INFO online, WAIT, min-replicas) now when it
/// `has_data` up to there, else from its first acknowledgement.
fn start_streaming(
    ctx: &Rc<ExecutorCtx>,
    feed: &Rc<Feed>,
    replica: &Rc<RedisReplica>,
    offset: u64,
    has_data: bool,
) {
    replica.position.set(offset);
    replica.acked.set(offset);
    replica.last_ack.set(Instant::now());
    replica.phase.set(Phase::Streaming);
    if has_data {
        record_ack(ctx, feed, replica, offset);
    }
}

/// The replica counts from now on: online in INFO, and for WAIT and min-replicas.
fn put_online(ctx: &Rc<ExecutorCtx>, replica: &RedisReplica) {
    replica.online.set(true);
    let shards = ctx.shards();
    let repl = &ctx.shared.repl;
    if let Some(session) = repl.state().sessions.get_mut(&replica.session) {
        session.snapshots_sent = shards;
    }
    repl.coordinator.send(Event::Online {
        session: replica.session,
        shards,
    });
}

async fn write(writer: &mut WriteHalf<TcpStream>, bytes: &[u8]) -> Result<(), String> {
    writer.write_all(bytes).await.map_err(|err| err.to_string())
}

/// Reads the replica's acknowledgements until it closes its side, which ends the writer too (it
/// may be waiting for data).
async fn read_acks(
    ctx: Rc<ExecutorCtx>,
    feed: Rc<Feed>,
    replica: Rc<RedisReplica>,
    reader: ReadHalf<TcpStream>,
) {
    super::super::acks::read_acks(reader, |offset| record_ack(&ctx, &feed, &replica, offset)).await;
    replica.dead.set(true);
    replica.wake();
}

/// An acknowledgement of the stream up to `offset`: INFO and min-replicas see it, and WAIT counts
/// it for the shard journal offsets that part of the stream covers.
fn record_ack(ctx: &Rc<ExecutorCtx>, feed: &Rc<Feed>, replica: &RedisReplica, offset: u64) {
    if replica.phase.get() != Phase::Streaming {
        return;
    }
    if !replica.online.get() {
        put_online(ctx, replica);
    }
    let offset = offset.max(replica.acked.get());
    replica.acked.set(offset);
    replica.last_ack.set(Instant::now());
    let shard_offsets = feed.shard_offsets_at(offset);
    let repl = &ctx.shared.repl;
    if let Some(session) = repl.state().sessions.get_mut(&replica.session) {
        session.last_ack = Instant::now();
        session.stream_offset = Some(offset);
        if let Some(offsets) = &shard_offsets {
            session.acked.clone_from(offsets);
        }
    }
    for (shard, offset) in shard_offsets.into_iter().flatten().enumerate() {
        repl.coordinator.send(Event::Ack {
            session: replica.session,
            shard,
            offset,
        });
    }
}
