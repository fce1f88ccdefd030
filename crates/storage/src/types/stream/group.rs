//! Consumer groups: the last delivered id, the pending entries list (PEL) and the consumers, each
//! with its own view of the PEL.

use super::id::StreamId;
use bytes::Bytes;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

/// Redis's SCG_INVALID_ENTRIES_READ: the group's read counter is unknown.
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

/// A delivered, not yet acknowledged entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// Last delivery, unix ms.
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Consumer {
    /// Last time the consumer was seen (unix ms). Refreshing it is bookkeeping Redis does not
    /// replicate, so it may change through a shared reference without counting as a write.
    pub seen_time: Cell<u64>,
    /// Ids of the group's pending entries owned by this consumer.
    pub pel: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(now: u64) -> Consumer {
        Consumer {
            seen_time: Cell::new(now),
            pel: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries read by the group (Redis's entries_read), ENTRIES_READ_UNKNOWN when not known.
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    /// In name order, as Redis's radix tree lists them.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// Rough heap cost of one PEL entry (group map node plus consumer set node).
const PENDING_COST: usize = 96;
/// Rough heap cost of one consumer besides its name.
const CONSUMER_COST: usize = 80;
/// Rough heap cost of one group besides its name.
pub const GROUP_COST: usize = 96;

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Heap bytes held, O(consumers).
    pub fn heap_bytes(&self) -> usize {
        GROUP_COST
            + self.pel.len() * PENDING_COST
            + self
                .consumers
                .keys()
                .map(|name| name.len() + CONSUMER_COST)
                .sum::<usize>()
    }

    /// The consumer named `name`, its seen time refreshed (streamLookupConsumer).
    pub fn lookup_consumer(&self, name: &[u8], now: u64) -> Option<&Consumer> {
        let consumer = self.consumers.get(name)?;
        consumer.seen_time.set(now);
        Some(consumer)
    }

    /// Creates the consumer if missing; true when created.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers
            .insert(Bytes::copy_from_slice(name), Consumer::new(now));
        true
    }

    /// The consumer, created if missing, its seen time refreshed; returns its shared name.
    pub fn touch_consumer(&mut self, name: &[u8], now: u64) -> Bytes {
        if let Some((key, consumer)) = self.consumers.get_key_value(name) {
            consumer.seen_time.set(now);
            return key.clone();
        }
        let key = Bytes::copy_from_slice(name);
        self.consumers.insert(key.clone(), Consumer::new(now));
        key
    }

    /// Deletes a consumer and its pending entries; the number of entries it had pending.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Removes a pending entry from the group and its consumer.
    pub fn remove_pending(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove(&id)?;
        if let Some(consumer) = self.consumers.get_mut(&nack.consumer) {
            consumer.pel.remove(&id);
        }
        Some(nack)
    }

    /// Makes `owner` (which must exist) the owner of pending entry `id`, creating the entry if
    /// missing (delivered once, as streamCreateNACK makes it), and sets its delivery time;
    /// returns the entry.
    pub fn assign_pending(&mut self, id: StreamId, owner: &Bytes, delivery_time: u64) -> &mut Nack {
        let previous = self.pel.get(&id).map(|n| n.consumer.clone());
        if previous.as_ref() != Some(owner) {
            if let Some(old) = previous.and_then(|p| self.consumers.get_mut(&p)) {
                old.pel.remove(&id);
            }
            if let Some(consumer) = self.consumers.get_mut(owner) {
                consumer.pel.insert(id);
            }
        }
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            delivery_time,
            delivery_count: 1,
            consumer: owner.clone(),
        });
        nack.consumer = owner.clone();
        nack.delivery_time = delivery_time;
        nack
    }
}
