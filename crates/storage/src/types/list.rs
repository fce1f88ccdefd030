//! A list, Redis 7.0 style: always a quicklist, i.e. a deque of nodes each holding a run of
//! elements encoded back to back in one buffer, so that a long list costs a few bytes per
//! element and both ends are cheap. Node size follows list-max-listpack-size.

mod entry;
mod node;

pub use entry::Elem;

use crate::config::LIST_MAX_LISTPACK_SIZE;
use crate::digest::mix_digest;
use node::Node;
use std::collections::VecDeque;

/// Redis's SIZE_SAFETY_LIMIT: the byte cap of a node when the fill is a count of entries.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's FILL_MAX: the largest entry count per node.
const FILL_MAX: i64 = (1 << 15) - 1;

/// How full one node may get.
#[derive(Clone, Copy)]
struct Fill {
    max_bytes: usize,
    max_count: usize,
}

impl Fill {
    /// From list-max-listpack-size as Redis's quicklist reads it: -1..-5 cap the node at
    /// 4..64 KiB (smaller values count as -5), a positive value caps the entries (and the node
    /// at 8 KiB).
    fn current() -> Fill {
        let fill = LIST_MAX_LISTPACK_SIZE.get();
        if fill < 0 {
            let level = fill.unsigned_abs().min(5) as u32;
            Fill {
                max_bytes: 4096 << (level - 1),
                max_count: usize::MAX,
            }
        } else {
            Fill {
                max_bytes: SIZE_SAFETY_LIMIT,
                max_count: fill.min(FILL_MAX) as usize,
            }
        }
    }

    /// Whether `node` may take one more entry of `size` bytes (an empty node takes anything).
    fn accepts(&self, node: &Node, size: usize) -> bool {
        node.is_empty() || (node.bytes() + size <= self.max_bytes && node.len() < self.max_count)
    }

    /// Whether `node` grew past the limits in the middle (LSET, LINSERT) and must be split.
    fn overflows(&self, node: &Node) -> bool {
        node.len() > 1 && (node.bytes() > self.max_bytes || node.len() > self.max_count)
    }

    /// Whether two neighbours fit in one node.
    fn merges(&self, a: &Node, b: &Node) -> bool {
        a.bytes() + b.bytes() <= self.max_bytes && a.len() + b.len() <= self.max_count
    }
}

#[derive(Debug, Default)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Sum of the nodes' buffer capacities, kept as they change.
    node_bytes: usize,
}

impl Clone for List {
    fn clone(&self) -> List {
        let nodes = self.nodes.clone();
        let node_bytes = nodes.iter().map(Node::capacity).sum();
        List {
            nodes,
            len: self.len,
            node_bytes,
        }
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl List {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The OBJECT ENCODING name: Redis 7.0 stores every list as a quicklist.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        self.node_bytes + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for this type.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        for elem in self.iter() {
            elem.with_bytes(|bytes| mix_digest(digest, bytes));
        }
    }

    /// Builds a value from loaded contents (SAVE files, snapshots, RESTORE), choosing the encoding by
    /// the thresholds as Redis does on load.
    pub fn from_items(items: Vec<Vec<u8>>) -> List {
        let mut list = List::default();
        for item in &items {
            list.push_back(item);
        }
        list
    }

    /// The contents in the RDB crate's neutral form (SAVE, replication snapshots, DUMP).
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        damselfly_rdb::Value::List(self.iter().map(|e| e.to_vec()).collect())
    }

    /// The elements head to tail.
    pub fn iter(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        self.nodes.iter().flat_map(Node::iter)
    }

    /// The elements tail to head.
    pub fn iter_rev(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        self.nodes.iter().rev().flat_map(Node::iter_rev)
    }

    /// The elements from `index` on, head to tail.
    pub fn iter_from(&self, index: usize) -> impl Iterator<Item = Elem<'_>> + '_ {
        let (first, skip) = self.locate(index).unwrap_or((self.nodes.len(), 0));
        self.nodes
            .range(first..)
            .enumerate()
            .flat_map(move |(i, node)| node.iter_from(if i == 0 { skip } else { 0 }))
    }

    /// The element at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<Elem<'_>> {
        let (node, n) = self.locate(index)?;
        let node = &self.nodes[node];
        Some(node.at(node.position(n)))
    }

    /// The node holding element `index` and its rank there, walking from the nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut rest = index;
            for (i, node) in self.nodes.iter().enumerate() {
                if rest < node.len() {
                    return Some((i, rest));
                }
                rest -= node.len();
            }
        } else {
            let mut rest = self.len - index;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                if rest <= node.len() {
                    return Some((i, node.len() - rest));
                }
                rest -= node.len();
            }
        }
        None
    }

    /// Runs `f` on node `i`, keeping the byte count right.
    fn edit<R>(&mut self, i: usize, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = self.nodes.get_mut(i)?;
        let before = node.capacity();
        let r = f(node);
        self.node_bytes = self.node_bytes + node.capacity() - before;
        Some(r)
    }

    fn remove_node(&mut self, i: usize) {
        if let Some(node) = self.nodes.remove(i) {
            self.node_bytes -= node.capacity();
        }
    }

    /// Makes room for one more node; a list's first node gets room for exactly one, since
    /// most small lists never need a second (the deque would otherwise start at four).
    fn reserve_node(&mut self) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
    }

    pub fn push_back(&mut self, value: &[u8]) {
        let elem = Elem::of(value);
        let fill = Fill::current();
        let size = entry::encoded_len(&elem);
        if !self.nodes.back().is_some_and(|n| fill.accepts(n, size)) {
            // The old tail is done growing: give back its slack.
            if let Some(last) = self.nodes.len().checked_sub(1) {
                self.edit(last, Node::shrink);
            }
            self.reserve_node();
            self.nodes.push_back(Node::default());
        }
        self.edit(self.nodes.len() - 1, |n| n.push_back(&elem, fill.max_bytes));
        self.len += 1;
    }

    pub fn push_front(&mut self, value: &[u8]) {
        let elem = Elem::of(value);
        let fill = Fill::current();
        let size = entry::encoded_len(&elem);
        if !self.nodes.front().is_some_and(|n| fill.accepts(n, size)) {
            self.edit(0, Node::shrink);
            self.reserve_node();
            self.nodes.push_front(Node::default());
        }
        self.edit(0, |n| n.push_front(&elem, fill.max_bytes));
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let value = self.edit(0, Node::pop_front)??;
        self.len -= 1;
        if self.nodes.front().is_some_and(Node::is_empty) {
            self.remove_node(0);
        }
        Some(value)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let last = self.nodes.len().checked_sub(1)?;
        let value = self.edit(last, Node::pop_back)??;
        self.len -= 1;
        if self.nodes[last].is_empty() {
            self.remove_node(last);
        }
        Some(value)
    }

    /// Replaces the element at `index`; false when out of range.
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        let Some((i, n)) = self.locate(index) else {
            return false;
        };
        let elem = Elem::of(value);
        self.edit(i, |node| node.replace_at(node.position(n), &elem));
        self.split_if_overflowing(i);
        true
    }

    /// Inserts `value` before (or `after`) the first element equal to `pivot`; false when there
    /// is none.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool) -> bool {
        let pivot = Elem::of(pivot);
        let found = self.nodes.iter().enumerate().find_map(|(i, node)| {
            let mut pos = 0;
            while pos < node.bytes() {
                let next = node.next(pos);
                if node.at(pos) == pivot {
                    return Some((i, if after { next } else { pos }));
                }
                pos = next;
            }
            None
        });
        let Some((i, pos)) = found else {
            return false;
        };
        let elem = Elem::of(value);
        let fill = Fill::current();
        self.edit(i, |node| node.insert_at(pos, &elem, fill.max_bytes));
        self.len += 1;
        self.split_if_overflowing(i);
        true
    }

    /// Removes up to `max` elements equal to `value`, scanning from the head or (`from_tail`)
    /// from the tail; returns how many went.
    pub fn remove(&mut self, value: &[u8], max: usize, from_tail: bool) -> usize {
        let target = Elem::of(value);
        let mut removed = 0;
        let count = self.nodes.len();
        for k in 0..count {
            if removed == max {
                break;
            }
            let i = if from_tail { count - 1 - k } else { k };
            removed += self
                .edit(i, |node| {
                    node.remove_matching(&target, max - removed, from_tail)
                })
                .unwrap_or(0);
        }
        if removed > 0 {
            self.len -= removed;
            self.compact();
        }
        removed
    }

    /// Drops `front` elements from the head and `back` from the tail (their sum at most len).
    pub fn trim(&mut self, mut front: usize, mut back: usize) {
        self.len -= front + back;
        while front > 0 {
            let Some(first) = self.nodes.front().map(Node::len) else {
                break;
            };
            if first <= front {
                self.remove_node(0);
                front -= first;
            } else {
                self.edit(0, |n| n.remove_front(front));
                front = 0;
            }
        }
        while back > 0 {
            let Some(last) = self.nodes.len().checked_sub(1) else {
                break;
            };
            let count = self.nodes[last].len();
            if count <= back {
                self.remove_node(last);
                back -= count;
            } else {
                self.edit(last, |n| n.remove_back(back));
                back = 0;
            }
        }
    }

    /// Splits node `i` into nodes within the fill limits if an edit in the middle overfilled it.
    fn split_if_overflowing(&mut self, i: usize) {
        let fill = Fill::current();
        if !self.nodes.get(i).is_some_and(|n| fill.overflows(n)) {
            return;
        }
        let Some(node) = self.nodes.remove(i) else {
            return;
        };
        self.node_bytes -= node.capacity();
        let mut pieces = vec![Node::default()];
        for elem in node.iter() {
            let size = entry::encoded_len(&elem);
            if pieces.last().is_some_and(|p| !fill.accepts(p, size)) {
                pieces.push(Node::default());
            }
            if let Some(piece) = pieces.last_mut() {
                piece.push_back(&elem, fill.max_bytes);
            }
        }
        for (k, mut piece) in pieces.into_iter().enumerate() {
            piece.shrink();
            self.node_bytes += piece.capacity();
            self.nodes.insert(i + k, piece);
        }
    }

    /// Drops emptied nodes and merges neighbours that fit together (after LREM).
    fn compact(&mut self) {
        let fill = Fill::current();
        let mut kept: VecDeque<Node> = VecDeque::with_capacity(self.nodes.len());
        for node in self.nodes.drain(..) {
            if node.is_empty() {
                continue;
            }
            match kept.back_mut() {
                Some(prev) if fill.merges(prev, &node) => prev.append(node),
                _ => kept.push_back(node),
            }
        }
        self.node_bytes = kept.iter().map(Node::capacity).sum();
        self.nodes = kept;
    }
}

#[cfg(test)]
mod tests;
