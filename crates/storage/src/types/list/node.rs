//! One quicklist node: a run of consecutive elements encoded back to back in one byte buffer.

use super::entry::{self, Elem};

#[derive(Clone, Debug, Default)]
pub struct Node {
    buf: Vec<u8>,
    count: u32,
}

impl Node {
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded bytes in use.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back spare capacity: called once a node stops growing at an end of the list.
    pub fn shrink(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Makes room for `extra` bytes, doubling but never past `cap_hint` unless needed, so a node
    /// that fills to its size limit holds no slack.
    fn reserve(&mut self, extra: usize, cap_hint: usize) {
        let needed = self.buf.len() + extra;
        let cap = self.buf.capacity();
        if needed > cap {
            let target = needed.max((cap * 2).min(cap_hint));
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    pub fn push_back(&mut self, elem: &Elem, cap_hint: usize) {
        self.reserve(entry::encoded_len(elem), cap_hint);
        entry::encode(elem, &mut self.buf);
        self.count += 1;
    }

    pub fn push_front(&mut self, elem: &Elem, cap_hint: usize) {
        self.insert_at(0, elem, cap_hint);
    }

    /// Inserts `elem` at byte position `pos` (an entry boundary).
    pub fn insert_at(&mut self, pos: usize, elem: &Elem, cap_hint: usize) {
        // Encode at the end and rotate it into place: no temporary buffer per insert.
        let size = entry::encoded_len(elem);
        self.reserve(size, cap_hint);
        entry::encode(elem, &mut self.buf);
        self.buf[pos..].rotate_right(size);
        self.count += 1;
    }

    /// Replaces the entry at byte position `pos` with `elem`.
    pub fn replace_at(&mut self, pos: usize, elem: &Elem) {
        let end = self.next(pos);
        let mut encoded = Vec::with_capacity(entry::encoded_len(elem));
        entry::encode(elem, &mut encoded);
        self.buf.splice(pos..end, encoded);
    }

    /// The entry at byte position `pos`.
    pub fn at(&self, pos: usize) -> Elem<'_> {
        entry::decode(&self.buf, pos).0
    }

    /// Byte position of the entry after the one at `pos`.
    pub fn next(&self, pos: usize) -> usize {
        entry::decode(&self.buf, pos).1
    }

    /// Byte position of the entry before the one at `pos` (`pos` > 0).
    pub fn prev(&self, pos: usize) -> usize {
        entry::start_before(&self.buf, pos)
    }

    /// Byte position of entry `n` (< len), walking from the nearer end.
    pub fn position(&self, n: usize) -> usize {
        let count = self.len();
        if n <= count / 2 {
            (0..n).fold(0, |pos, _| self.next(pos))
        } else {
            (n..count).fold(self.buf.len(), |pos, _| self.prev(pos))
        }
    }

    /// Removes and returns the first element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let (elem, end) = entry::decode(&self.buf, 0);
        let value = elem.to_vec();
        self.buf.drain(..end);
        self.count -= 1;
        Some(value)
    }

    /// Removes and returns the last element.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let start = self.prev(self.buf.len());
        let value = self.at(start).to_vec();
        self.buf.truncate(start);
        self.count -= 1;
        Some(value)
    }

    /// Drops the first `n` (<= len) elements.
    pub fn remove_front(&mut self, n: usize) {
        let end = self.position(n);
        self.buf.drain(..end);
        self.count -= n as u32;
    }

    /// Drops the last `n` (<= len) elements.
    pub fn remove_back(&mut self, n: usize) {
        let start = self.position(self.len() - n);
        self.buf.truncate(start);
        self.count -= n as u32;
    }

    /// Removes up to `max` entries equal to `target`, the first ones from the front or (with
    /// `from_back`) the last ones; returns how many were removed.
    pub fn remove_matching(&mut self, target: &Elem, max: usize, from_back: bool) -> usize {
        let mut doomed: Vec<(usize, usize)> = Vec::new();
        if from_back {
            let mut end = self.buf.len();
            while end > 0 && doomed.len() < max {
                let start = self.prev(end);
                if self.at(start) == *target {
                    doomed.push((start, end));
                }
                end = start;
            }
            doomed.reverse();
        } else {
            let mut pos = 0;
            while pos < self.buf.len() && doomed.len() < max {
                let (elem, end) = entry::decode(&self.buf, pos);
                if elem == *target {
                    doomed.push((pos, end));
                }
                pos = end;
            }
        }
        if doomed.is_empty() {
            return 0;
        }
        let removed_bytes: usize = doomed.iter().map(|(s, e)| e - s).sum();
        let mut kept = Vec::with_capacity(self.buf.len() - removed_bytes);
        let mut from = 0;
        for &(start, end) in &doomed {
            kept.extend_from_slice(&self.buf[from..start]);
            from = end;
        }
        kept.extend_from_slice(&self.buf[from..]);
        self.buf = kept;
        self.count -= doomed.len() as u32;
        doomed.len()
    }

    /// Moves all of `other`'s elements to the end of this node.
    pub fn append(&mut self, other: Node) {
        self.buf.reserve_exact(other.buf.len());
        self.buf.extend_from_slice(&other.buf);
        self.count += other.count;
    }

    /// The elements front to back.
    pub fn iter(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        self.iter_from(0)
    }

    /// The elements back to front.
    pub fn iter_rev(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        let mut end = self.buf.len();
        std::iter::from_fn(move || {
            (end > 0).then(|| {
                end = self.prev(end);
                self.at(end)
            })
        })
    }

    /// The elements from entry `n` on, front to back.
    pub fn iter_from(&self, n: usize) -> impl Iterator<Item = Elem<'_>> + '_ {
        let mut pos = self.position(n);
        std::iter::from_fn(move || {
            (pos < self.buf.len()).then(|| {
                let (elem, next) = entry::decode(&self.buf, pos);
                pos = next;
                elem
            })
        })
    }
}
