//! Who waits on which keys of this shard, and the shard's side of WATCH: connections that WATCH
//! keys (their transactions become dirty when a key is written) and clients blocked on keys (served
//! in `blocked.rs`). The dbs note writes to these keys; after commands run, the shard marks the
//! watchers' transactions dirty and serves the blocked clients.

use super::Shard;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;
use damselfly_storage::Db;
use futures::channel::mpsc;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A connection's WATCH: set once any watched key is written.
pub type WatchFlag = Arc<AtomicBool>;

#[derive(Default)]
pub struct Waiters {
    pub(crate) watchers: AHashMap<(usize, Bytes), Vec<WatchFlag>>,
    pub(crate) blocked: AHashMap<(usize, Bytes), VecDeque<Blocked>>,
    /// Blocked keys written since they were last served.
    pub(crate) ready: Vec<(usize, Bytes)>,
}

impl Waiters {
    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty() && self.blocked.is_empty()
    }

    /// Whether anyone still waits on `key` (the db keeps noting its writes while so).
    pub(crate) fn interested(&self, db: usize, key: &Bytes) -> bool {
        let id = (db, key.clone());
        self.watchers.contains_key(&id) || self.blocked.contains_key(&id)
    }
}

/// One blocked client, registered on every shard owning one of its keys.
pub struct Waiter {
    /// Set by whoever ends the wait first.
    claimed: AtomicBool,
    pub(super) db: usize,
    /// The client's socket: a shard about to serve checks that the client is still there, so an
    /// element never goes to a client that left.
    fd: i32,
    pub(super) reply: mpsc::UnboundedSender<(Bytes, Frame)>,
}

impl Waiter {
    pub fn new(db: usize, fd: i32, reply: mpsc::UnboundedSender<(Bytes, Frame)>) -> Waiter {
        Waiter {
            claimed: AtomicBool::new(false),
            db,
            fd,
            reply,
        }
    }

    /// The blocked client's socket.
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Ends the wait; false when someone else ended it first.
    pub fn claim(&self) -> bool {
        self.claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(super) fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }

    /// Claims the waiter to serve it, unless someone ended the wait or the client left. The
    /// reply channel tells first: once the connection task is gone its fd may belong to a newer
    /// client, so `peer_closed` alone could serve an element into a dropped channel.
    pub(super) fn claim_to_serve(&self) -> bool {
        if self.reply.is_closed() || crate::socket::peer_closed(self.fd) {
            self.claim();
            return false;
        }
        self.claim()
    }
}

/// What came of offering a key to one waiter.
#[derive(PartialEq, Eq)]
pub(super) enum Offer {
    /// It got its reply (possibly an error, such as BLMOVE's WRONGTYPE destination).
    Served,
    /// Its wait had ended (served elsewhere, timed out, client gone): drop it, try the next.
    Gone,
    /// The key holds nothing for it now.
    Nothing,
}

/// What serves a waiter on one shard.
#[derive(Clone)]
pub enum Serve {
    /// A pop from the key that got data: it must hold `wants`; the key goes at `key_at`.
    Pop {
        wants: &'static str,
        command: Vec<Bytes>,
        key_at: usize,
    },
    /// A stream read of this shard's keys, run as is: it serves the waiter once it returns entries.
    Read {
        def: &'static CommandDef,
        command: Vec<Bytes>,
    },
}

/// A waiter in one key's queue.
#[derive(Clone)]
pub struct Blocked {
    pub(super) waiter: Arc<Waiter>,
    pub(super) serve: Serve,
}

impl Blocked {
    pub fn new(waiter: Arc<Waiter>, serve: Serve) -> Blocked {
        Blocked { waiter, serve }
    }
}

impl Shard {
    /// WATCH: `flag` is set when `key` is written. Returns the key's expiry (0: none) as of now,
    /// so EXEC can tell that it expired meanwhile.
    pub fn watch(&mut self, db: usize, key: Bytes, flag: WatchFlag, now_ms: u64) -> u64 {
        // A key already expired is reclaimed now: its later lazy deletion is not a change (Redis
        // ignores it), while re-creating it is.
        self.dbs[db].contains(&key, now_ms);
        let expire_at = self.dbs[db].peek_expire(&key, now_ms).unwrap_or(0);
        self.dbs[db].add_interest(key.clone());
        self.waiters
            .watchers
            .entry((db, key))
            .or_default()
            .push(flag);
        expire_at
    }

    /// Forgets a connection's WATCH of `key`.
    pub fn unwatch(&mut self, db: usize, key: Bytes, flag: &WatchFlag) {
        let id = (db, key);
        if let Some(flags) = self.waiters.watchers.get_mut(&id) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.waiters.watchers.remove(&id);
            }
        }
        self.drop_interest_if_unwatched(id.0, &id.1);
    }

    pub(crate) fn drop_interest_if_unwatched(&mut self, db: usize, key: &Bytes) {
        if !self.waiters.interested(db, key) {
            self.dbs[db].remove_interest(key);
        }
    }

    /// After commands ran: marks the transactions watching written keys dirty and serves the
    /// clients blocked on them.
    #[inline]
    pub fn after_writes(&mut self) {
        if self.waiters.is_empty() {
            return;
        }
        let mut rounds = 0;
        while self.dbs.iter().any(Db::has_touched) || !self.waiters.ready.is_empty() {
            // Serving pops may write keys others wait on: go on until nothing changes, bounded in
            // case a key stays locked.
            rounds += 1;
            if rounds > 16 {
                return;
            }
            self.note_touched();
            let waiting = self.waiters.ready.len();
            self.serve_ready();
            if self.waiters.ready.len() == waiting && !self.dbs.iter().any(Db::has_touched) {
                return;
            }
        }
    }

    /// Collects the written keys: watchers' transactions become dirty, blocked keys ready.
    fn note_touched(&mut self) {
        for db in 0..self.dbs.len() {
            if !self.dbs[db].has_touched() {
                continue;
            }
            for key in self.dbs[db].take_touched() {
                let id = (db, key);
                if let Some(flags) = self.waiters.watchers.remove(&id) {
                    for flag in flags {
                        flag.store(true, Ordering::Release);
                    }
                }
                if self.waiters.blocked.contains_key(&id) {
                    self.waiters.ready.push(id.clone());
                }
                self.drop_interest_if_unwatched(id.0, &id.1);
            }
        }
    }
}
