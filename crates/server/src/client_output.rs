//! One connection's output as the rest of the executor sees it: messages pushed to it by others
//! (Pub/Sub deliveries) wait here for the connection's own writer, and the bytes it is writing are
//! counted here, so no shard ever waits for a client's socket and a client that stops reading is
//! closed by `client-output-buffer-limit` instead of growing without bound.

use crate::output_limits::{exceeded, OutputClass, OutputLimits};
use damselfly_protocol::{encode, Frame};
use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::Instant;

/// Redis writes the first 16 KB of a client's replies into a fixed buffer it does not count as
/// output-buffer memory (CLIENT LIST's obl); limits and omem cover what lies beyond it.
const REPLY_BUFFER: usize = 16 * 1024;

pub struct ClientOutput {
    fd: i32,
    class: Cell<OutputClass>,
    /// The protocol pushed messages are encoded in (HELLO may change it).
    resp3: Cell<bool>,
    /// Encoded pushes the writer has not taken yet.
    queued: RefCell<Vec<u8>>,
    queued_messages: Cell<usize>,
    /// Bytes the writer is sending now (a write the client is not reading holds them).
    writing: Cell<usize>,
    soft_since: Cell<Option<Instant>>,
    closing: Cell<bool>,
    writer: RefCell<Option<Waker>>,
    /// CLIENT LIST's line for this client, for the log line when it is closed.
    describe: RefCell<Option<Box<dyn Fn() -> String>>>,
}

impl ClientOutput {
    pub fn new(fd: i32) -> ClientOutput {
        ClientOutput {
            fd,
            class: Cell::new(OutputClass::Normal),
            resp3: Cell::new(false),
            queued: RefCell::new(Vec::new()),
            queued_messages: Cell::new(0),
            writing: Cell::new(0),
            soft_since: Cell::new(None),
            closing: Cell::new(false),
            writer: RefCell::new(None),
            describe: RefCell::new(None),
        }
    }

    pub fn set_class(&self, class: OutputClass) {
        self.class.set(class);
    }

    pub fn set_resp3(&self, resp3: bool) {
        self.resp3.set(resp3);
    }

    pub fn set_describe(&self, describe: Box<dyn Fn() -> String>) {
        *self.describe.borrow_mut() = Some(describe);
    }

    /// Unsent output in bytes.
    fn unsent(&self) -> usize {
        self.writing.get() + self.queued.borrow().len()
    }

    /// Unsent bytes within Redis's fixed reply buffer (CLIENT LIST's obl).
    pub fn buffered(&self) -> usize {
        self.unsent().min(REPLY_BUFFER)
    }

    /// Unsent bytes beyond it: what the limits and CLIENT LIST's omem count.
    pub fn bytes(&self) -> usize {
        self.unsent().saturating_sub(REPLY_BUFFER)
    }

    /// Messages waiting behind the write in progress (CLIENT LIST's oll).
    pub fn queued_messages(&self) -> usize {
        self.queued_messages.get()
    }

    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    /// Queues a message for the client; false if the client is being closed. Never waits.
    pub fn push(&self, message: &Frame, limits: &OutputLimits) -> bool {
        if self.closing.get() {
            return false;
        }
        encode(message, self.resp3.get(), &mut self.queued.borrow_mut());
        self.queued_messages.set(self.queued_messages.get() + 1);
        if let Some(writer) = self.writer.borrow_mut().take() {
            writer.wake();
        }
        self.enforce(limits);
        true
    }

    /// Waits until pushed messages are queued (or the client is being closed), then takes them.
    pub async fn next_pushed(&self) -> Vec<u8> {
        poll_fn(|cx| {
            if self.closing.get() || !self.queued.borrow().is_empty() {
                return Poll::Ready(());
            }
            *self.writer.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        self.queued_messages.set(0);
        std::mem::take(&mut *self.queued.borrow_mut())
    }

    /// The writer is about to send `bytes`: they count as unsent until `end_write`. False when the
    /// client must be closed instead (over its class's limit).
    pub fn begin_write(&self, bytes: usize, limits: &OutputLimits) -> bool {
        self.writing.set(bytes);
        self.enforce(limits);
        !self.closing.get()
    }

    pub fn end_write(&self) {
        self.writing.set(0);
        if self.queued.borrow().is_empty() {
            self.soft_since.set(None);
        }
    }

    /// Closes the client if its unsent output is past its class's limit, as Redis does: the socket
    /// is shut down, which also ends a write the client is not reading, and the queue is freed.
    fn enforce(&self, limits: &OutputLimits) {
        let limit = limits.get(self.class.get());
        if exceeded(limit, self.bytes(), &self.soft_since) {
            self.close_over_limit();
        }
    }

    /// Closes the client for overcoming its output buffer limit, logged with Redis's line. Does
    /// nothing once the client is closing or its connection has ended (`retire`): its fd may then
    /// belong to another connection.
    pub fn close_over_limit(&self) {
        if self.closing.get() {
            return;
        }
        let description = self
            .describe
            .borrow()
            .as_ref()
            .map_or_else(String::new, |describe| describe());
        tracing::warn!(
            "Client {description} scheduled to be closed ASAP for overcoming of output buffer limits."
        );
        self.close();
    }

    /// The connection has ended (its socket is closed or handed over elsewhere): nothing more is
    /// queued for it.
    pub fn retire(&self) {
        self.closing.set(true);
        *self.queued.borrow_mut() = Vec::new();
        self.queued_messages.set(0);
    }

    /// Ends the connection: pending output is dropped and the writer wakes to find the socket shut.
    pub fn close(&self) {
        self.retire();
        // SAFETY: shutdown only changes the socket's state; the fd stays owned by its connection
        // task, which is still running (it unregisters this output before closing the fd).
        unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
        if let Some(writer) = self.writer.borrow_mut().take() {
            writer.wake();
        }
    }
}
