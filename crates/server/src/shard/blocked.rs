//! Serving blocked clients on this shard: a client blocks on its keys here (or is served at once
//! when one has data), and after a write gives a key data the oldest waiter that wants it is
//! claimed and served by running its pop or read as an ordinary journaled command.

use super::waiters::{Blocked, Offer, Serve};
use super::Shard;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::Blocking;
use damselfly_storage::{group_has_unread, stream_last_id};

impl Shard {
    /// Blocks a waiter on `keys` of this shard, or serves it at once if one has data already (a
    /// write may have landed since its attempt). Runs as one job on the keys' shard, so it is
    /// ordered with every write there: a write before it is seen by the re-check, a write after
    /// it finds the waiter queued.
    pub fn block(&mut self, keys: Vec<Bytes>, mut blocked: Blocked) {
        let db = blocked.waiter.db;
        if let Serve::Read { command, .. } = &mut blocked.serve {
            self.resolve_last_ids(db, command);
        }
        let mut locked = Vec::new();
        for key in &keys {
            // A transaction holding the key may have lent its entries to another shard (a
            // cross-shard attempt of another blocking command, say): popping here too would
            // serve one element twice. The key is retried once the lock is released.
            if self.key_locked(db, key) {
                locked.push((db, key.clone()));
                continue;
            }
            if self.try_serve(db, key, &blocked) != Offer::Nothing {
                return;
            }
        }
        for key in keys {
            self.dbs[db].add_interest(key.clone());
            let queue = self.waiters.blocked.entry((db, key)).or_default();
            queue.retain(|b| !b.waiter.is_claimed());
            queue.push_back(blocked.clone());
        }
        self.waiters.ready.extend(locked);
    }

    /// Forgets the waiters that left (timed out, disconnected, or were served by another shard)
    /// from the queues of keys nobody wrote since: without it, clients blocking on keys that are
    /// never written again would leave their entries here for good.
    pub fn drop_departed_waiters(&mut self) {
        let mut emptied = Vec::new();
        for (id, queue) in self.waiters.blocked.iter_mut() {
            queue.retain(|b| !b.waiter.is_claimed());
            if queue.is_empty() {
                emptied.push(id.clone());
            }
        }
        for (db, key) in emptied {
            self.waiters.blocked.remove(&(db, key.clone()));
            self.drop_interest_if_unwatched(db, &key);
        }
    }

    /// XREAD's `$` means "after the stream's last id now": resolved when the client blocks.
    fn resolve_last_ids(&mut self, db: usize, command: &mut [Bytes]) {
        let Some(streams) = command
            .iter()
            .position(|word| word.eq_ignore_ascii_case(b"streams"))
        else {
            return;
        };
        let count = (command.len() - streams - 1) / 2;
        for i in 0..count {
            let (key_at, id_at) = (streams + 1 + i, streams + 1 + count + i);
            if command[id_at].as_ref() != b"$" {
                continue;
            }
            let now = self.clock();
            command[id_at] = stream_last_id(&mut self.dbs[db], &command[key_at], now)
                .unwrap_or_else(|| Bytes::from_static(b"0-0"));
        }
    }

    /// Whether `XREADGROUP GROUP g c ... STREAMS keys... >...` would deliver an entry now, found
    /// without delivering any: one of the streams has an entry after the group's last delivered id.
    fn group_read_ready(&mut self, db: usize, command: &[Bytes]) -> bool {
        let group = command
            .iter()
            .position(|w| w.eq_ignore_ascii_case(b"group"))
            .and_then(|at| command.get(at + 1));
        let streams = command
            .iter()
            .position(|w| w.eq_ignore_ascii_case(b"streams"));
        let (Some(group), Some(streams)) = (group, streams) else {
            return false;
        };
        let count = (command.len() - streams - 1) / 2;
        let now = self.clock();
        command[streams + 1..streams + 1 + count]
            .iter()
            .any(|key| group_has_unread(&mut self.dbs[db], key, group, now))
    }

    /// Serves a waiter from `key` if the key has what it waits for and nobody ended the wait yet.
    fn try_serve(&mut self, db: usize, key: &Bytes, blocked: &Blocked) -> Offer {
        let waiter = &blocked.waiter;
        if waiter.is_claimed() {
            return Offer::Gone;
        }
        let reply = match &blocked.serve {
            Serve::Pop {
                wants,
                command,
                key_at,
            } => {
                if self.dbs[db].peek_type(key, self.clock()) != Some(*wants) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                let mut command = command.clone();
                command[*key_at] = key.clone();
                self.run_internal(db, &command)
            }
            Serve::Read { def, command }
                if def.blocking == Some(Blocking::StreamRead { group: true }) =>
            {
                // A group read delivers what it returns: claim first, or entries delivered to a
                // waiter that another shard served meanwhile would stay pending, received by
                // nobody.
                if !self.group_read_ready(db, command) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                self.run_command(db, def, command)
            }
            Serve::Read { def, command } => {
                let reply = self.run_command(db, def, command);
                if matches!(reply, Frame::Null | Frame::NullArray) {
                    return Offer::Nothing;
                }
                if !waiter.claim_to_serve() {
                    return Offer::Gone;
                }
                reply
            }
        };
        let _ = waiter.reply.unbounded_send((key.clone(), reply));
        Offer::Served
    }

    /// Serves the clients blocked on keys that were written, oldest first, while the keys have
    /// data. Keys a transaction holds wait until it ends.
    pub(crate) fn serve_ready(&mut self) {
        let mut ready = std::mem::take(&mut self.waiters.ready);
        ready.dedup();
        for (db, key) in ready {
            if self.key_locked(db, &key) {
                self.waiters.ready.push((db, key));
                continue;
            }
            let id = (db, key);
            let mut index = 0;
            while let Some(blocked) = self
                .waiters
                .blocked
                .get(&id)
                .and_then(|queue| queue.get(index).cloned())
            {
                // A waiter whose wait ended, or whose serve failed (WRONGTYPE destination: the
                // element stays), leaves the queue and the next one is offered the key: stopping
                // there would leave the rest blocked while the key holds data.
                if self.try_serve(db, &id.1, &blocked) != Offer::Nothing {
                    if let Some(queue) = self.waiters.blocked.get_mut(&id) {
                        queue.remove(index);
                    }
                } else if self.dbs[db].peek_type(&id.1, self.clock()).is_none() {
                    break;
                } else {
                    // A reader that found nothing new, or a pop waiting for another type, keeps
                    // its place; later ones may want other ids or this type (Redis skips them too).
                    index += 1;
                }
            }
            if self
                .waiters
                .blocked
                .get(&id)
                .is_some_and(|queue| queue.is_empty())
            {
                self.waiters.blocked.remove(&id);
                self.drop_interest_if_unwatched(db, &id.1);
            }
        }
    }
}
