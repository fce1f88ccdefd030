//! A stream: entries in id order packed into compact nodes (a map from each node's first id to
//! the node), plus consumer groups with their pending entries lists.

mod group;
mod id;
mod node;

pub use group::{Consumer, Group, Nack, ENTRIES_READ_UNKNOWN};
pub use id::{parse_id, ParsedId, StreamId};
pub use node::EntryRef;

use crate::config::{STREAM_NODE_MAX_BYTES, STREAM_NODE_MAX_ENTRIES};
use crate::digest::mix_digest;
use bytes::Bytes;
use node::Node;
use std::collections::BTreeMap;

/// How XADD/XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this id.
    MinId(StreamId),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// In name order, as Redis's radix tree lists them.
    pub groups: BTreeMap<Bytes, Group>,
    /// Heap bytes of the nodes, kept up to date on every change.
    node_bytes: usize,
    /// Heap bytes of the groups, refreshed by `refresh_group_bytes` after group changes.
    group_bytes: usize,
}

/// Rough heap cost of one node besides its buffer (map slot and fields).
const NODE_COST: usize = 96;

impl Stream {
    pub fn len(&self) -> usize {
        self.length as usize
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        self.node_bytes + self.group_bytes
    }

    /// Recomputes the groups' share of `heap_bytes` (O(groups + consumers)); call after changing groups.
    pub fn refresh_group_bytes(&mut self) {
        self.group_bytes = self
            .groups
            .iter()
            .map(|(name, g)| name.len() + g.heap_bytes())
            .sum();
    }

    /// The id `*` would generate at `now` (streamNextID), None when the stream is exhausted.
    pub fn next_auto_id(&self, now: u64) -> Option<StreamId> {
        if now > self.last_id.ms {
            Some(StreamId::new(now, 0))
        } else {
            self.last_id.next()
        }
    }

    /// The id an explicit XADD id resolves to, None when it is not above the last id.
    pub fn resolve_explicit_id(&self, parsed: ParsedId) -> Option<StreamId> {
        let id = if parsed.seq_given {
            parsed.id
        } else if parsed.id.ms == self.last_id.ms {
            StreamId::new(parsed.id.ms, self.last_id.seq.checked_add(1)?)
        } else {
            StreamId::new(parsed.id.ms, 0)
        };
        (id > self.last_id).then_some(id)
    }

    /// Appends an entry whose id is above `last_id`.
    pub fn append(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) {
        let payload: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let max_bytes = STREAM_NODE_MAX_BYTES.get();
        let max_entries = STREAM_NODE_MAX_ENTRIES.get();
        match self.nodes.iter_mut().next_back() {
            Some((_, node)) if !node.is_full(payload, max_bytes, max_entries) => {
                let before = node.heap_bytes();
                node.append(id, fields);
                self.node_bytes = self.node_bytes + node.heap_bytes() - before;
            }
            _ => {
                let node = Node::new(id, fields);
                self.node_bytes += node.heap_bytes() + NODE_COST;
                self.nodes.insert(id, node);
            }
        }
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    fn node_key_for(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// The live entry with this id.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let key = self.node_key_for(id)?;
        self.nodes[&key].find(id).filter(|e| !e.is_deleted())
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// Deletes a live entry (streamDeleteItem); false when there is none with this id.
    fn delete_entry(&mut self, id: StreamId) -> bool {
        let Some(key) = self.node_key_for(id) else {
            return false;
        };
        let Some(node) = self.nodes.get_mut(&key) else {
            return false;
        };
        let Some(offset) = node.find(id).filter(|e| !e.is_deleted()).map(|e| e.offset) else {
            return false;
        };
        if node.live == 1 {
            self.node_bytes -= node.heap_bytes() + NODE_COST;
            self.nodes.remove(&key);
        } else {
            node.delete_at(offset);
        }
        self.length -= 1;
        true
    }

    /// XDEL of several ids: the number deleted, keeping first and max-deleted ids as Redis does.
    pub fn delete(&mut self, ids: &[StreamId]) -> usize {
        let mut deleted = 0;
        let mut first_deleted = false;
        for &id in ids {
            if self.delete_entry(id) {
                first_deleted |= id == self.first_id;
                self.max_deleted_id = self.max_deleted_id.max(id);
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_deleted {
                self.first_id = self.first_live_id().unwrap_or_default();
            }
        }
        deleted
    }

    /// Redis's streamTrim: drops whole nodes from the head while the strategy allows, then (unless
    /// `approx`) flags entries deleted inside the next node. `limit` (0: none) bounds the entries
    /// removed by whole nodes. Returns the number of entries removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some((&key, node)) = self.nodes.iter_mut().next() {
            if let Trim::MaxLen(max) = trim {
                if self.length <= max {
                    break;
                }
            }
            if limit > 0 && removed + node.live > limit {
                break;
            }
            let whole = match trim {
                Trim::MaxLen(max) => self.length - node.live >= max,
                Trim::MinId(min) => node.entries().last().is_some_and(|e| e.id < min),
            };
            if whole {
                self.length -= node.live;
                removed += node.live;
                self.node_bytes -= node.heap_bytes() + NODE_COST;
                self.nodes.remove(&key);
                continue;
            }
            if approx {
                break;
            }
            let doomed: Vec<usize> = node
                .entries()
                .scan(self.length, |length, e| {
                    let stop = match trim {
                        Trim::MaxLen(max) => *length <= max,
                        Trim::MinId(min) => e.id >= min,
                    };
                    if stop {
                        return None;
                    }
                    if !e.is_deleted() {
                        *length -= 1;
                    }
                    Some(e)
                })
                .filter(|e| !e.is_deleted())
                .map(|e| e.offset)
                .collect();
            for &offset in &doomed {
                node.delete_at(offset);
            }
            self.length -= doomed.len() as u64;
            removed += doomed.len() as u64;
            break;
        }
        self.first_id = self.first_live_id().unwrap_or_default();
        removed
    }

    /// Whether `trim` would remove any entry (a dry run of its first step).
    pub fn would_trim(&self, trim: Trim, approx: bool, limit: u64) -> bool {
        for node in self.nodes.values() {
            if let Trim::MaxLen(max) = trim {
                if self.length <= max {
                    return false;
                }
            }
            if limit > 0 && node.live > limit {
                return false;
            }
            let whole = match trim {
                Trim::MaxLen(max) => self.length - node.live >= max,
                Trim::MinId(min) => node.entries().last().is_some_and(|e| e.id < min),
            };
            if whole && node.live > 0 {
                return true;
            }
            if whole {
                continue;
            }
            if approx {
                return false;
            }
            return match trim {
                Trim::MaxLen(_) => true,
                Trim::MinId(min) => node.live_entries().next().is_some_and(|e| e.id < min),
            };
        }
        false
    }

    /// The first live entry's id (streamGetEdgeID), None when empty.
    pub fn first_live_id(&self) -> Option<StreamId> {
        self.nodes
            .values()
            .find_map(|n| n.live_entries().next().map(|e| e.id))
    }

    /// The last live entry's id, None when empty.
    pub fn last_live_id(&self) -> Option<StreamId> {
        self.nodes
            .values()
            .rev()
            .find_map(|n| n.live_entries().last().map(|e| e.id))
    }

    /// Visits live entries with ids in `start..=end`, ascending (or descending when `rev`),
    /// until `visit` returns false.
    pub fn scan(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut visit: impl FnMut(EntryRef<'_>) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            let from = self.node_key_for(start).unwrap_or(start);
            for node in self.nodes.range(from..=end).map(|(_, n)| n) {
                for e in node.live_entries() {
                    if e.id > end {
                        return;
                    }
                    if e.id >= start && !visit(e) {
                        return;
                    }
                }
            }
            return;
        }
        for node in self.nodes.range(..=end).rev().map(|(_, n)| n) {
            let entries: Vec<EntryRef<'_>> = node.live_entries().collect();
            for e in entries.into_iter().rev() {
                if e.id < start {
                    return;
                }
                if e.id <= end && !visit(e) {
                    return;
                }
            }
        }
    }

    /// Whether a deleted entry may lie in `start..=end` (streamRangeHasTombstones).
    pub fn has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// The number of entries added up to `id` (streamEstimateDistanceFromFirstEverEntry), None
    /// when it cannot be known.
    pub fn entries_before(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// A group's lag (streamReplyWithCGLag), None when unknown.
    pub fn group_lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.has_tombstones(group.last_id, StreamId::MAX)
        {
            return Some(self.entries_added.wrapping_sub(group.entries_read as u64));
        }
        self.entries_before(group.last_id)
            .map(|read| self.entries_added - read)
    }

    /// Moves a group's last delivered id forward to `id` as XREADGROUP does, keeping its read
    /// counter.
    pub fn advance_group(&self, group: &mut Group, id: StreamId) {
        if group.entries_read != ENTRIES_READ_UNKNOWN && !self.has_tombstones(id, StreamId::MAX) {
            group.entries_read += 1;
        } else if self.entries_added > 0 {
            group.entries_read = self
                .entries_before(id)
                .map_or(ENTRIES_READ_UNKNOWN, |n| n as i64);
        }
        group.last_id = id;
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for streams:
    /// each entry's id as `ms.seq`, then its fields and values (groups do not count).
    pub fn digest(&self, digest: &mut [u8; 20]) {
        self.scan(StreamId::MIN, StreamId::MAX, false, |e| {
            mix_digest(digest, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
            for (field, value) in e.fields() {
                mix_digest(digest, field);
                mix_digest(digest, value);
            }
            true
        });
    }

    /// Builds a stream from loaded contents.
    pub fn from_rdb(loaded: damselfly_rdb::Stream) -> Stream {
        let mut stream = Stream::default();
        for ((ms, seq), fields) in &loaded.entries {
            let pairs: Vec<(&[u8], &[u8])> = fields
                .iter()
                .map(|(f, v)| (f.as_slice(), v.as_slice()))
                .collect();
            stream.append(StreamId::new(*ms, *seq), &pairs);
        }
        let id = |(ms, seq): (u64, u64)| StreamId::new(ms, seq);
        stream.last_id = id(loaded.last_id);
        stream.first_id = id(loaded.first_id);
        stream.max_deleted_id = id(loaded.max_deleted_id);
        stream.entries_added = loaded.entries_added;
        for g in loaded.groups {
            let mut group = Group::new(id(g.last_id), g.entries_read);
            for (name, seen) in g.consumers {
                group
                    .consumers
                    .insert(Bytes::from(name), Consumer::new(seen));
            }
            for (pending_id, time, count, owner) in g.pending {
                let owner = match group.consumers.get_key_value(owner.as_slice()) {
                    Some((name, _)) => name.clone(),
                    None => {
                        let name = Bytes::from(owner);
                        group.consumers.insert(name.clone(), Consumer::new(time));
                        name
                    }
                };
                group
                    .assign_pending(id(pending_id), &owner, time)
                    .delivery_count = count;
            }
            stream.groups.insert(Bytes::from(g.name), group);
        }
        stream.refresh_group_bytes();
        stream
    }

    /// The contents in the RDB crate's neutral form.
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        let pair = |id: StreamId| (id.ms, id.seq);
        let mut entries = Vec::with_capacity(self.len());
        self.scan(StreamId::MIN, StreamId::MAX, false, |e| {
            let fields = e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            entries.push((pair(e.id), fields));
            true
        });
        let groups = self
            .groups
            .iter()
            .map(|(name, g)| damselfly_rdb::StreamGroup {
                name: name.to_vec(),
                last_id: pair(g.last_id),
                entries_read: g.entries_read,
                pending: g
                    .pel
                    .iter()
                    .map(|(id, n)| {
                        (
                            pair(*id),
                            n.delivery_time,
                            n.delivery_count,
                            n.consumer.to_vec(),
                        )
                    })
                    .collect(),
                consumers: g
                    .consumers
                    .iter()
                    .map(|(name, c)| (name.to_vec(), c.seen_time.get()))
                    .collect(),
            })
            .collect();
        damselfly_rdb::Value::Stream(Box::new(damselfly_rdb::Stream {
            entries,
            last_id: pair(self.last_id),
            first_id: pair(self.first_id),
            max_deleted_id: pair(self.max_deleted_id),
            entries_added: self.entries_added,
            groups,
        }))
    }
}
