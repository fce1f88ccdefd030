//! One shard's replication journal: the offset (bytes of journal records so far), a backlog of recent
//! records bounded in bytes for partial resynchronization, and the flows (one per replica) that
//! records are copied to. Until the first replica connects the journal is off and costs nothing.

pub mod signal;
pub mod snapshot;
pub mod wire;

use crate::client_output::ClientOutput;
use crate::output_limits::{exceeded, ClassLimit};
use bytes::Bytes;
use signal::Signal;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

/// The outgoing side of one replica's flow from this shard: what the shard has produced and the
/// connection has not written yet.
pub struct FlowSink {
    pub session: u64,
    /// What is queued, each part marked with whether it counts toward the output limit.
    queue: RefCell<VecDeque<(Bytes, bool)>>,
    queued_bytes: Cell<usize>,
    /// Queued bytes that count toward the output limit: everything but the snapshot, which (like
    /// Redis's RDB transfer) is produced only as fast as the replica reads it.
    limited_bytes: Cell<usize>,
    /// This flow's share of the replica class's client-output-buffer-limit: past it the replica is
    /// dropped (it reconnects and resyncs) instead of buffering without bound.
    limit: ClassLimit,
    soft_since: Cell<Option<Instant>>,
    dead: Cell<bool>,
    changed: Signal,
    /// This flow runs a full sync whose snapshot is not finished yet.
    pub snapshotting: Cell<bool>,
    /// The flow connection has arrived (registered at the sync cut, attached later).
    pub attached: Cell<bool>,
    pub created: Instant,
    /// The journal offset the flow starts from.
    pub start_offset: u64,
    pub full_sync: bool,
    /// The flow connection's output while it is attached: a flow past its limit closes it as any
    /// client is closed (Redis's log line, its socket shut down, which also ends a write the stalled
    /// replica is not reading).
    connection: RefCell<Option<Rc<ClientOutput>>>,
}

impl FlowSink {
    pub fn new(session: u64, limit: ClassLimit, start_offset: u64, full_sync: bool) -> FlowSink {
        FlowSink {
            session,
            queue: RefCell::new(VecDeque::new()),
            queued_bytes: Cell::new(0),
            limited_bytes: Cell::new(0),
            limit,
            soft_since: Cell::new(None),
            dead: Cell::new(false),
            changed: Signal::default(),
            snapshotting: Cell::new(full_sync),
            attached: Cell::new(false),
            created: Instant::now(),
            start_offset,
            full_sync,
            connection: RefCell::new(None),
        }
    }

    /// The flow connection arrived: from now on a limit overrun closes its socket.
    pub fn attach(&self, output: Rc<ClientOutput>) {
        *self.connection.borrow_mut() = Some(output);
    }

    /// The flow connection is ending; its fd must not be touched any more.
    pub fn detach(&self) {
        if let Some(output) = self.connection.borrow_mut().take() {
            output.retire();
        }
    }

    /// Queues bytes for the replica; past the output limit the flow dies instead.
    pub fn push(&self, bytes: Bytes) {
        if self.dead.get() {
            return;
        }
        let limited = self.limited_bytes.get() + bytes.len();
        if exceeded(self.limit, limited, &self.soft_since) {
            self.close_for_limit(limited);
            return;
        }
        self.enqueue(bytes, true);
    }

    /// Queues a note about the stream that is not part of it (a position in the Redis-format
    /// stream): like snapshot data, it does not count toward the output limit.
    pub fn push_note(&self, bytes: Bytes) {
        self.push_snapshot(bytes);
    }

    /// Queues snapshot data, which does not count toward the output limit.
    pub fn push_snapshot(&self, bytes: Bytes) {
        if !self.dead.get() {
            self.enqueue(bytes, false);
        }
    }

    fn enqueue(&self, bytes: Bytes, limited: bool) {
        self.queued_bytes.set(self.queued_bytes.get() + bytes.len());
        if limited {
            self.limited_bytes
                .set(self.limited_bytes.get() + bytes.len());
        }
        self.queue.borrow_mut().push_back((bytes, limited));
        self.wake();
    }

    fn close_for_limit(&self, queued: usize) {
        match self.connection.borrow().as_ref() {
            Some(output) => output.close_over_limit(),
            None => tracing::warn!(
                "replica session {} overcame its output buffer limit ({queued} bytes unsent) before its flow connected: dropping it",
                self.session
            ),
        }
        self.kill();
    }

    pub fn kill(&self) {
        self.dead.set(true);
        self.queue.borrow_mut().clear();
        self.queued_bytes.set(0);
        self.limited_bytes.set(0);
        self.wake();
    }

    pub fn is_dead(&self) -> bool {
        self.dead.get()
    }

    fn wake(&self) {
        self.changed.raise();
    }

    /// Takes up to about `max_bytes` of queued output (at least one item), if any.
    pub fn take_output(&self, max_bytes: usize) -> Option<Vec<u8>> {
        let mut queue = self.queue.borrow_mut();
        let mut out = Vec::new();
        let mut limited = 0;
        while let Some((front, counts)) = queue.front() {
            if !out.is_empty() && out.len() + front.len() > max_bytes {
                break;
            }
            out.extend_from_slice(front);
            if *counts {
                limited += front.len();
            }
            queue.pop_front();
        }
        self.queued_bytes
            .set(self.queued_bytes.get().saturating_sub(out.len()));
        self.limited_bytes
            .set(self.limited_bytes.get().saturating_sub(limited));
        (!out.is_empty()).then_some(out)
    }

    /// Waits until something was queued or journaled for this flow since the last wait (or it died).
    pub async fn changed(&self) {
        self.changed.wait().await
    }

    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.get()
    }
}

/// Pending records are sealed into a chunk at this size even if no flow writer asked (no replica
/// connected, or a stalled one); the expiry cycle also seals every 100 ms.
const SEAL_AT: usize = 64 << 10;

pub struct Journal {
    active: bool,
    offset: u64,
    /// Records appended since the last `seal`, not yet in the backlog or the flows.
    pending: Vec<u8>,
    /// Sealed chunks of whole records, oldest first.
    backlog: VecDeque<Bytes>,
    /// Offset of the first byte in `backlog`.
    backlog_start: u64,
    backlog_bytes: usize,
    backlog_limit: usize,
    pub sinks: Vec<Rc<FlowSink>>,
}

impl Journal {
    pub fn new(backlog_limit: usize) -> Journal {
        Journal {
            active: false,
            offset: 0,
            pending: Vec::new(),
            backlog: VecDeque::new(),
            backlog_start: 0,
            backlog_bytes: 0,
            backlog_limit,
            sinks: Vec::new(),
        }
    }

    /// Whether writes are being recorded (from the first replica on, as Redis keeps its backlog).
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn activate(&mut self) {
        if !self.active {
            self.active = true;
            self.backlog_start = self.offset;
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// (first byte offset held, bytes held) of the backlog, as INFO reports them.
    pub fn backlog_span(&self) -> (u64, u64) {
        (self.backlog_start, self.offset - self.backlog_start)
    }

    /// Appends a record; it reaches the backlog and the flows at the next `seal` (the flows' writers
    /// seal before they write, so a burst of commands leaves as one chunk).
    pub fn append(&mut self, txid: u64, parts: u32, effects: &[(usize, &[Bytes])]) {
        let before = self.pending.len();
        wire::write_record(&mut self.pending, txid, parts, effects);
        self.offset += (self.pending.len() - before) as u64;
        if before == 0 {
            for sink in &self.sinks {
                sink.wake();
            }
        }
        if self.pending.len() >= SEAL_AT {
            self.seal();
        }
    }

    /// Moves the records appended since the last seal into the backlog and every flow.
    pub fn seal(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.pending));
        self.backlog_bytes += chunk.len();
        self.backlog.push_back(chunk.clone());
        while self.backlog_bytes > self.backlog_limit && self.backlog.len() > 1 {
            if let Some(old) = self.backlog.pop_front() {
                self.backlog_bytes -= old.len();
                self.backlog_start += old.len() as u64;
            }
        }
        let mut any_dead = false;
        for sink in &self.sinks {
            sink.push(chunk.clone());
            any_dead |= sink.is_dead();
        }
        if any_dead {
            self.sinks.retain(|sink| !sink.is_dead());
        }
    }

    /// Queues snapshot data (chunks, preimages, the end marker) for one flow, after every record
    /// journaled so far.
    pub fn push_to(&mut self, sink: &FlowSink, bytes: Bytes) {
        self.seal();
        sink.push_snapshot(bytes);
    }

    /// The flow of a session whose snapshot is in progress, if any.
    pub fn snapshotting_sink(&self) -> Option<&Rc<FlowSink>> {
        self.sinks
            .iter()
            .find(|s| s.snapshotting.get() && !s.is_dead())
    }

    /// Asks every attached flow's replica for an acknowledgement.
    pub fn request_acks(&mut self) {
        self.seal();
        for sink in self.sinks.iter().filter(|s| s.attached.get()) {
            sink.push(Bytes::from_static(wire::GETACK));
        }
    }

    /// Whether a replica that has everything up to `offset` can continue from here.
    pub fn can_resume_from(&self, offset: u64) -> bool {
        self.active && offset >= self.backlog_start && offset <= self.offset
    }

    /// Registers a flow that continues from `offset` (checked with `can_resume_from`, a record
    /// boundary): the backlog from there is queued for it at once.
    pub fn register_partial(&mut self, session: u64, offset: u64, limit: ClassLimit) {
        self.seal();
        let sink = Rc::new(FlowSink::new(session, limit, offset, false));
        let mut position = self.backlog_start;
        for chunk in &self.backlog {
            let end = position + chunk.len() as u64;
            if end > offset {
                let skip = offset.saturating_sub(position) as usize;
                sink.push(chunk.slice(skip..));
            }
            position = end;
        }
        self.sinks.push(sink);
    }

    /// Registers a flow that starts with a snapshot taken now; records from now on follow it.
    pub fn register_full(&mut self, session: u64, limit: ClassLimit) {
        self.activate();
        self.seal();
        self.sinks
            .push(Rc::new(FlowSink::new(session, limit, self.offset, true)));
    }

    /// Registers the sink of the Redis-format feed: every record from now on. It never runs a
    /// snapshot of its own (a full sync marks its cut in it) and has no size limit (its forwarder
    /// drains it continuously; each redis-server replica has its own limit downstream).
    pub fn register_feed(&mut self, session: u64) -> Rc<FlowSink> {
        self.activate();
        self.seal();
        let unlimited = ClassLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        let sink = Rc::new(FlowSink::new(session, unlimited, self.offset, false));
        sink.attached.set(true);
        self.sinks.push(sink.clone());
        sink
    }

    pub fn sink(&self, session: u64) -> Option<Rc<FlowSink>> {
        self.sinks.iter().find(|s| s.session == session).cloned()
    }

    /// Drops a session's flow (its connection ended or it never came). True when that flow's
    /// snapshot was still running: the caller stops the shard's snapshot.
    pub fn remove(&mut self, session: u64) -> bool {
        let mut snapshotting = false;
        for sink in self.sinks.iter().filter(|s| s.session == session) {
            snapshotting |= sink.snapshotting.get();
            sink.kill();
        }
        self.sinks.retain(|s| s.session != session);
        snapshotting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hard(bytes: usize) -> ClassLimit {
        ClassLimit {
            hard: bytes as u64,
            soft: 0,
            soft_seconds: 0,
        }
    }

    fn record(journal: &mut Journal, byte: u8) {
        let args = [Bytes::from(vec![byte; 3])];
        journal.append(0, 1, &[(0, &args[..])]);
        journal.seal();
    }

    #[test]
    fn backlog_keeps_the_newest_records_within_its_limit() {
        let mut journal = Journal::new(110);
        journal.activate();
        for i in 0..10u8 {
            record(&mut journal, i);
        }
        let size = journal.offset() / 10;
        assert_eq!(journal.backlog_span(), (8 * size, 2 * size));
        assert!(journal.can_resume_from(8 * size));
        assert!(journal.can_resume_from(10 * size));
        assert!(!journal.can_resume_from(7 * size));
        journal.register_partial(7, 9 * size, hard(1 << 20));
        assert_eq!(journal.sink(7).unwrap().queued_bytes() as u64, size);
    }

    #[test]
    fn a_flow_past_its_limit_is_dropped() {
        let mut journal = Journal::new(1 << 20);
        journal.register_full(1, hard(60));
        record(&mut journal, 1);
        assert_eq!(journal.sinks.len(), 1);
        record(&mut journal, 2);
        assert!(journal.sinks.is_empty());
    }

    #[test]
    fn records_reach_a_flow_when_sealed() {
        let mut journal = Journal::new(1 << 20);
        journal.register_full(1, hard(1 << 20));
        let args = [Bytes::from_static(b"PING")];
        journal.append(0, 1, &[(0, &args[..])]);
        journal.append(0, 1, &[(0, &args[..])]);
        let sink = journal.sink(1).unwrap();
        assert!(sink.take_output(1 << 20).is_none());
        journal.seal();
        assert_eq!(
            sink.take_output(1 << 20).unwrap().len() as u64,
            journal.offset()
        );
    }
}
