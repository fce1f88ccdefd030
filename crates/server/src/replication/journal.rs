//! One shard's replication journal: the offset (bytes of journal records so far), a backlog of recent
//! records bounded in bytes for partial resynchronization, and the flows (one per replica) that
//! records are copied to. Until the first replica connects the journal is off and costs nothing.

use super::wire;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

/// The outgoing side of one replica's flow from this shard: what the shard has produced and the
/// connection has not written yet.
pub struct FlowSink {
    pub session: u64,
    queue: RefCell<VecDeque<Bytes>>,
    queued_bytes: Cell<usize>,
    /// Past this many unsent bytes the replica is dropped instead of buffering without bound.
    limit: usize,
    dead: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// This flow runs a full sync whose snapshot is not finished yet.
    pub snapshotting: Cell<bool>,
    /// The flow connection has arrived (registered at the sync cut, attached later).
    pub attached: Cell<bool>,
    pub created: Instant,
    /// The journal offset the flow starts from.
    pub start_offset: u64,
    pub full_sync: bool,
}

impl FlowSink {
    pub fn new(session: u64, limit: usize, start_offset: u64, full_sync: bool) -> FlowSink {
        FlowSink {
            session,
            queue: RefCell::new(VecDeque::new()),
            queued_bytes: Cell::new(0),
            limit,
            dead: Cell::new(false),
            waker: RefCell::new(None),
            snapshotting: Cell::new(full_sync),
            attached: Cell::new(false),
            created: Instant::now(),
            start_offset,
            full_sync,
        }
    }

    /// Queues bytes for the replica; past the output limit the flow dies instead.
    pub fn push(&self, bytes: Bytes) {
        if self.dead.get() {
            return;
        }
        let queued = self.queued_bytes.get() + bytes.len();
        if queued > self.limit {
            tracing::warn!(
                "replica session {} exceeded its output buffer limit ({} bytes): dropping it",
                self.session,
                self.limit
            );
            self.kill();
            return;
        }
        self.queued_bytes.set(queued);
        self.queue.borrow_mut().push_back(bytes);
        self.wake();
    }

    pub fn kill(&self) {
        self.dead.set(true);
        self.queue.borrow_mut().clear();
        self.queued_bytes.set(0);
        self.wake();
    }

    pub fn is_dead(&self) -> bool {
        self.dead.get()
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Takes up to about `max_bytes` of queued output (at least one item), waiting until there is
    /// some; `None` once the flow is dead.
    pub async fn next_output(&self, max_bytes: usize) -> Option<Vec<u8>> {
        poll_fn(|cx| {
            if self.dead.get() {
                return Poll::Ready(None);
            }
            let mut queue = self.queue.borrow_mut();
            if queue.is_empty() {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let mut out = Vec::new();
            while let Some(front) = queue.front() {
                if !out.is_empty() && out.len() + front.len() > max_bytes {
                    break;
                }
                out.extend_from_slice(front);
                queue.pop_front();
            }
            self.queued_bytes
                .set(self.queued_bytes.get().saturating_sub(out.len()));
            Poll::Ready(Some(out))
        })
        .await
    }

    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.get()
    }
}

pub struct Journal {
    active: bool,
    offset: u64,
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

    /// Appends a record: it gets the next offsets, is kept in the backlog and goes to every flow.
    pub fn append(&mut self, record: Bytes) {
        self.offset += record.len() as u64;
        self.backlog_bytes += record.len();
        self.backlog.push_back(record.clone());
        while self.backlog_bytes > self.backlog_limit && self.backlog.len() > 1 {
            if let Some(old) = self.backlog.pop_front() {
                self.backlog_bytes -= old.len();
                self.backlog_start += old.len() as u64;
            }
        }
        let mut any_dead = false;
        for sink in &self.sinks {
            sink.push(record.clone());
            any_dead |= sink.is_dead();
        }
        if any_dead {
            self.sinks.retain(|sink| !sink.is_dead());
        }
    }

    /// The flow of a session whose snapshot is in progress, if any.
    pub fn snapshotting_sink(&self) -> Option<&Rc<FlowSink>> {
        self.sinks
            .iter()
            .find(|s| s.snapshotting.get() && !s.is_dead())
    }

    /// Asks every attached flow's replica for an acknowledgement.
    pub fn request_acks(&self) {
        for sink in self.sinks.iter().filter(|s| s.attached.get()) {
            sink.push(Bytes::from_static(wire::GETACK));
        }
    }

    /// Whether a replica that has everything up to `offset` can continue from here.
    pub fn can_resume_from(&self, offset: u64) -> bool {
        self.active && offset >= self.backlog_start && offset <= self.offset
    }

    /// Registers a flow that continues from `offset` (checked with `can_resume_from`): the backlog
    /// from there is queued for it at once.
    pub fn register_partial(&mut self, session: u64, offset: u64, limit: usize) {
        let sink = Rc::new(FlowSink::new(session, limit, offset, false));
        let mut position = self.backlog_start;
        for record in &self.backlog {
            if position >= offset {
                sink.push(record.clone());
            }
            position += record.len() as u64;
        }
        self.sinks.push(sink);
    }

    /// Registers a flow that starts with a snapshot taken now; records from now on follow it.
    pub fn register_full(&mut self, session: u64, limit: usize) {
        self.activate();
        self.sinks
            .push(Rc::new(FlowSink::new(session, limit, self.offset, true)));
    }

    pub fn sink(&self, session: u64) -> Option<Rc<FlowSink>> {
        self.sinks.iter().find(|s| s.session == session).cloned()
    }

    /// Drops a session's flow (its connection ended or it never came).
    pub fn remove(&mut self, session: u64) {
        for sink in self.sinks.iter().filter(|s| s.session == session) {
            sink.kill();
        }
        self.sinks.retain(|s| s.session != session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_keeps_the_newest_records_within_its_limit() {
        let mut journal = Journal::new(25);
        journal.activate();
        for i in 0..10u8 {
            journal.append(Bytes::from(vec![i; 10]));
        }
        assert_eq!(journal.offset(), 100);
        assert_eq!(journal.backlog_span(), (80, 20));
        assert!(journal.can_resume_from(80));
        assert!(journal.can_resume_from(100));
        assert!(!journal.can_resume_from(70));
        journal.register_partial(7, 90, 1 << 20);
        assert_eq!(journal.sink(7).unwrap().queued_bytes(), 10);
    }

    #[test]
    fn a_flow_past_its_limit_is_dropped() {
        let mut journal = Journal::new(1 << 20);
        journal.register_full(1, 15);
        journal.append(Bytes::from(vec![0; 10]));
        assert_eq!(journal.sinks.len(), 1);
        journal.append(Bytes::from(vec![0; 10]));
        assert!(journal.sinks.is_empty());
    }
}
