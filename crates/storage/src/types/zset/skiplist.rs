//! The big encoding: a skiplist with spans (rank and range in O(log n)) plus a member -> node hash
//! index (score lookups in O(1)). Nodes live in one arena addressed by `u32` ids, and the links of
//! a node's upper levels in a second pooled arena, so an element costs no heap allocation of its
//! own unless its member is longer than `SmallBytes` keeps inline. A node keeps its id while its
//! member is in the set, which makes ids usable as ZSCAN cursors.

use super::listpack::cmp_entry;
use crate::compact::SmallBytes;
use hashbrown::HashTable;
use std::cmp::Ordering;

const NIL: u32 = u32::MAX;
/// Node 0 is the header: it holds no element and has every level.
const HEAD: u32 = 0;
const MAX_LEVEL: usize = 32;

/// Fixed seeds: the index does not need per-set randomness, and a shared state costs nothing.
static HASHER: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

fn hash(member: &[u8]) -> u64 {
    HASHER.hash_one(member)
}

/// A forward link above level 0 and the number of level-0 steps it skips.
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    next: u32,
    span: u32,
}

#[derive(Clone, Debug)]
struct Node {
    member: SmallBytes,
    score: f64,
    /// Previous node at level 0 (NIL for the first).
    backward: u32,
    /// Next node at level 0; its span is always 1, so it is not stored.
    next: u32,
    /// Start of this node's `level - 1` upper links in `SkipList::links`.
    upper: u32,
    level: u8,
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    links: Vec<Link>,
    free_nodes: Vec<u32>,
    /// Released upper-link blocks, by block length.
    free_links: Vec<Vec<u32>>,
    free_links_bytes: usize,
    index: HashTable<u32>,
    tail: u32,
    level: usize,
    len: usize,
    member_heap: usize,
    rng: u64,
}

impl Default for SkipList {
    fn default() -> SkipList {
        let mut list = SkipList {
            nodes: Vec::new(),
            links: vec![Link { next: NIL, span: 0 }; MAX_LEVEL - 1],
            free_nodes: Vec::new(),
            free_links: vec![Vec::new(); MAX_LEVEL],
            free_links_bytes: 0,
            index: HashTable::new(),
            tail: NIL,
            level: 1,
            len: 0,
            member_heap: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
        };
        list.nodes.push(Node {
            member: SmallBytes::new(b""),
            score: 0.0,
            backward: NIL,
            next: NIL,
            upper: 0,
            level: MAX_LEVEL as u8,
        });
        list
    }
}

impl SkipList {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.links.capacity() * std::mem::size_of::<Link>()
            + self.free_nodes.capacity() * 4
            + self.free_links_bytes
            // Buckets hold a u32 and a control byte; hashbrown keeps 1/8 of them empty.
            + self.index.capacity() * 5 * 8 / 7
            + self.member_heap
    }

    fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    fn next(&self, x: u32, level: usize) -> u32 {
        let node = self.node(x);
        if level == 0 {
            node.next
        } else {
            self.links[node.upper as usize + level - 1].next
        }
    }

    fn span(&self, x: u32, level: usize) -> u32 {
        if level == 0 {
            1
        } else {
            self.links[self.node(x).upper as usize + level - 1].span
        }
    }

    fn set_link(&mut self, x: u32, level: usize, next: u32, span: u32) {
        if level == 0 {
            self.nodes[x as usize].next = next;
        } else {
            let at = self.node(x).upper as usize + level - 1;
            self.links[at] = Link { next, span };
        }
    }

    fn set_span(&mut self, x: u32, level: usize, span: u32) {
        let next = self.next(x, level);
        self.set_link(x, level, next, span);
    }

    /// Redis's zslRandomLevel: each further level with probability 1/4.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            if level >= MAX_LEVEL || self.rng & 0xffff >= 0x4000 {
                return level;
            }
            level += 1;
        }
    }

    fn alloc_links(&mut self, count: usize) -> u32 {
        if count == 0 {
            return 0;
        }
        if let Some(at) = self.free_links[count].pop() {
            self.free_links_bytes -= 4;
            return at;
        }
        let at = self.links.len() as u32;
        self.links.resize(self.links.len() + count, Link::default());
        at
    }

    fn alloc_node(&mut self, member: &[u8], score: f64) -> u32 {
        let level = self.random_level();
        let upper = self.alloc_links(level - 1);
        let member = SmallBytes::new(member);
        self.member_heap += member.heap_bytes();
        let node = Node {
            member,
            score,
            backward: NIL,
            next: NIL,
            upper,
            level: level as u8,
        };
        match self.free_nodes.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn free_node(&mut self, id: u32) {
        let node = &mut self.nodes[id as usize];
        self.member_heap -= node.member.heap_bytes();
        node.member = SmallBytes::new(b"");
        let (level, upper) = (node.level as usize, node.upper);
        node.level = 0;
        if level > 1 {
            let before = self.free_links[level - 1].capacity();
            self.free_links[level - 1].push(upper);
            self.free_links_bytes += 4 + (self.free_links[level - 1].capacity() - before) * 4;
        }
        self.free_nodes.push(id);
    }

    /// Whether node `n` sorts before (score, member).
    fn before(&self, n: u32, score: f64, member: &[u8]) -> bool {
        let node = self.node(n);
        cmp_entry(node.score, node.member.as_slice(), score, member) == Ordering::Less
    }

    /// For each level, the last node before (score, member), and the rank reached there.
    fn predecessors(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i + 1 == self.level { 0 } else { rank[i + 1] };
            loop {
                let n = self.next(x, i);
                if n == NIL || !self.before(n, score, member) {
                    break;
                }
                rank[i] += self.span(x, i);
                x = n;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Links node `id` (member and score already set) at its sorted position.
    fn link(&mut self, id: u32) {
        let node = self.node(id);
        let (score, level) = (node.score, node.level as usize);
        let member = node.member.clone();
        let (mut update, mut rank) = self.predecessors(score, member.as_slice());
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.set_span(HEAD, i, self.len as u32);
            }
            self.level = level;
        }
        for i in 0..level {
            let (prev, skipped) = (update[i], rank[0] - rank[i]);
            let prev_span = self.span(prev, i);
            self.set_link(id, i, self.next(prev, i), prev_span.wrapping_sub(skipped));
            self.set_link(prev, i, id, skipped + 1);
        }
        for (i, &prev) in update.iter().enumerate().take(self.level).skip(level) {
            self.set_span(prev, i, self.span(prev, i) + 1);
        }
        self.nodes[id as usize].backward = if update[0] == HEAD { NIL } else { update[0] };
        match self.next(id, 0) {
            NIL => self.tail = id,
            next => self.nodes[next as usize].backward = id,
        }
        self.len += 1;
    }

    /// Unlinks node `id` from every level (it stays allocated).
    fn unlink(&mut self, id: u32) {
        let node = self.node(id);
        let (score, member) = (node.score, node.member.clone());
        let (update, _) = self.predecessors(score, member.as_slice());
        for (i, &prev) in update.iter().enumerate().take(self.level) {
            if self.next(prev, i) == id {
                let span = self.span(prev, i) + self.span(id, i) - 1;
                self.set_link(prev, i, self.next(id, i), span);
            } else {
                self.set_span(prev, i, self.span(prev, i).wrapping_sub(1));
            }
        }
        let (backward, next) = (self.node(id).backward, self.next(id, 0));
        match next {
            NIL => self.tail = backward,
            next => self.nodes[next as usize].backward = backward,
        }
        while self.level > 1 && self.next(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(hash(member), |&id| {
                nodes[id as usize].member.as_slice() == member
            })
            .copied()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|id| self.node(id).score)
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let id = self.alloc_node(member, score);
        self.link(id);
        let nodes = &self.nodes;
        self.index.insert_unique(hash(member), id, |&other| {
            hash(nodes[other as usize].member.as_slice())
        });
    }

    /// Changes the score of a present member, keeping its node (and so its scan cursor).
    pub fn update_score(&mut self, member: &[u8], score: f64) {
        let Some(id) = self.find(member) else {
            return;
        };
        let node = self.node(id);
        let stays = (node.backward == NIL || {
            let prev = self.node(node.backward);
            cmp_entry(prev.score, prev.member.as_slice(), score, member) == Ordering::Less
        }) && (node.next == NIL || {
            let next = self.node(node.next);
            cmp_entry(next.score, next.member.as_slice(), score, member) == Ordering::Greater
        });
        if stays {
            self.nodes[id as usize].score = score;
            return;
        }
        self.unlink(id);
        self.nodes[id as usize].score = score;
        self.link(id);
    }

    /// Removes a member; returns whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let nodes = &self.nodes;
        let Ok(entry) = self.index.find_entry(hash(member), |&id| {
            nodes[id as usize].member.as_slice() == member
        }) else {
            return false;
        };
        let (id, _) = entry.remove();
        self.unlink(id);
        self.free_node(id);
        true
    }

    /// How many leading elements satisfy `pred` (which must hold for a prefix of the order).
    pub fn count_while(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let n = self.next(x, i);
                if n == NIL || !pred(self.node(n).member.as_slice(), self.node(n).score) {
                    break;
                }
                rank += self.span(x, i) as usize;
                x = n;
            }
        }
        rank
    }

    /// The 0-based rank of a present member.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let at_or_before = self.count_while(|m, s| cmp_entry(s, m, score, member).is_le());
        Some(at_or_before - 1)
    }

    /// The node at 0-based `rank` (< len).
    fn at_rank(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let n = self.next(x, i);
                let span = self.span(x, i) as usize;
                if n == NIL || traversed + span > target {
                    break;
                }
                traversed += span;
                x = n;
            }
            if traversed == target {
                return x;
            }
        }
        x
    }

    /// Calls `f` for ranks `start..=end` (valid), in ascending order or, with `rev`, from `end`
    /// down to `start`.
    pub fn for_ranks(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let mut x = self.at_rank(if rev { end } else { start });
        for _ in start..=end {
            let node = self.node(x);
            f(node.member.as_slice(), node.score);
            x = if rev { node.backward } else { node.next };
        }
    }

    /// Removes ranks `start..=end` (valid).
    pub fn remove_ranks(&mut self, start: usize, end: usize) {
        let mut doomed = Vec::with_capacity(end - start + 1);
        self.for_ranks(start, end, false, |m, _| doomed.push(SmallBytes::new(m)));
        for member in doomed {
            self.remove(member.as_slice());
        }
    }

    /// One ZSCAN step over node ids from `cursor`: calls `f` for up to `count` elements, returns
    /// the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let mut id = cursor.max(1);
        let mut seen = 0;
        while (id as usize) < self.nodes.len() && seen < count {
            let node = self.node(id as u32);
            if node.level != 0 {
                f(node.member.as_slice(), node.score);
                seen += 1;
            }
            id += 1;
        }
        if id as usize >= self.nodes.len() {
            0
        } else {
            id
        }
    }

    #[cfg(test)]
    pub fn check(&self) {
        let mut x = self.next(HEAD, 0);
        let mut count = 0;
        let mut prev = NIL;
        while x != NIL {
            let node = self.node(x);
            assert_eq!(node.backward, prev);
            if prev != NIL {
                let p = self.node(prev);
                assert!(cmp_entry(
                    p.score,
                    p.member.as_slice(),
                    node.score,
                    node.member.as_slice()
                )
                .is_lt());
            }
            assert_eq!(self.find(node.member.as_slice()), Some(x));
            assert_eq!(self.rank(node.member.as_slice()), Some(count));
            count += 1;
            prev = x;
            x = node.next;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(count, self.len);
        assert_eq!(self.index.len(), self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_survive_random_edits() {
        let mut list = SkipList::default();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut seed = 0x1234_5678u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for step in 0..5000 {
            let member = format!("m{}", rnd(300)).into_bytes();
            let score = rnd(50) as f64;
            let present = model.iter().position(|(_, m)| *m == member);
            match (rnd(3), present) {
                (0, Some(i)) => {
                    assert!(list.remove(&member));
                    model.remove(i);
                }
                (1, Some(i)) => {
                    list.update_score(&member, score);
                    model[i].0 = score;
                }
                (_, None) => {
                    list.insert(&member, score);
                    model.push((score, member));
                }
                _ => assert!(!list.remove(b"absent")),
            }
            model.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
            if step % 97 == 0 {
                list.check();
                if !model.is_empty() {
                    let start = rnd(model.len() as u64) as usize;
                    let mut got = Vec::new();
                    list.for_ranks(start, model.len() - 1, false, |m, s| {
                        got.push((s, m.to_vec()))
                    });
                    assert_eq!(got, model[start..]);
                    let mut rev = Vec::new();
                    list.for_ranks(0, start, true, |m, s| rev.push((s, m.to_vec())));
                    rev.reverse();
                    assert_eq!(rev, model[..=start]);
                }
            }
        }
        let n = list.len();
        if n > 10 {
            list.remove_ranks(3, 8);
            model.drain(3..=8);
        }
        list.check();
        assert_eq!(list.len(), model.len());
        assert_eq!(
            list.count_while(|_, s| s < 10.0),
            model.iter().filter(|e| e.0 < 10.0).count()
        );
        let mut cursor = 0;
        let mut scanned = 0;
        loop {
            cursor = list.scan(cursor, 7, |_, _| scanned += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(scanned, model.len());
    }
}
