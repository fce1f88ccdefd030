//! The small encoding: every entry in one contiguous, exactly sized buffer, sorted by (score,
//! member): `varint(count)` then, per entry, `varint(member length) member score(8 bytes, little
//! endian)`. Operations scan linearly and rebuild the buffer, which is cheap for the few entries
//! this encoding holds; an empty set holds no buffer.

use std::cmp::Ordering;

#[derive(Clone, Debug, Default)]
pub struct Listpack {
    buf: Option<Box<[u8]>>,
}

/// One decoded entry and where it lies in the buffer.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub member: &'a [u8],
    pub score: f64,
    start: usize,
    end: usize,
}

const SCORE_BYTES: usize = 8;

fn write_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// (value, bytes read).
fn read_varint(buf: &[u8]) -> (usize, usize) {
    let mut n = 0usize;
    for (i, &b) in buf.iter().enumerate() {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
    }
    (n, buf.len())
}

/// Redis's listpack keeps a score as text where "-0" reads back as the integer 0: a negative zero
/// is stored as zero.
fn stored_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Total order of the sorted set: by score, then by member bytes.
pub fn cmp_entry(score_a: f64, member_a: &[u8], score_b: f64, member_b: &[u8]) -> Ordering {
    score_a
        .partial_cmp(&score_b)
        .unwrap_or(Ordering::Equal)
        .then_with(|| member_a.cmp(member_b))
}

impl Listpack {
    pub const fn new() -> Listpack {
        Listpack { buf: None }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.as_deref().unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        read_varint(self.bytes()).0
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes().len()
    }

    /// Replaces the contents with `count` entries made of `parts` concatenated.
    fn rebuild(&mut self, count: usize, parts: &[&[u8]]) {
        if count == 0 {
            self.buf = None;
            return;
        }
        let mut buf = Vec::with_capacity(5 + parts.iter().map(|p| p.len()).sum::<usize>());
        write_varint(&mut buf, count);
        for part in parts {
            buf.extend_from_slice(part);
        }
        self.buf = Some(buf.into_boxed_slice());
    }

    /// Builds from entries already sorted by (score, member) with distinct members.
    pub fn from_sorted<'a>(entries: impl Iterator<Item = (&'a [u8], f64)>) -> Listpack {
        let mut body = Vec::new();
        let mut count = 0;
        for (member, score) in entries {
            encode(&mut body, member, score);
            count += 1;
        }
        let mut lp = Listpack::new();
        lp.rebuild(count, &[&body]);
        lp
    }

    fn entry_at(&self, start: usize) -> Entry<'_> {
        let buf = self.bytes();
        let (len, header) = read_varint(&buf[start..]);
        let member_start = start + header;
        let score_start = member_start + len;
        let end = score_start + SCORE_BYTES;
        let mut score = [0u8; SCORE_BYTES];
        score.copy_from_slice(&buf[score_start..end]);
        Entry {
            member: &buf[member_start..score_start],
            score: f64::from_le_bytes(score),
            start,
            end,
        }
    }

    /// Entries in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        let total = self.bytes().len();
        let mut pos = if total == 0 {
            0
        } else {
            read_varint(self.bytes()).1
        };
        std::iter::from_fn(move || {
            (pos < total).then(|| {
                let e = self.entry_at(pos);
                pos = e.end;
                e
            })
        })
    }

    pub fn find(&self, member: &[u8]) -> Option<Entry<'_>> {
        self.iter().find(|e| e.member == member)
    }

    /// Where the entries begin (after the count).
    fn body_start(&self) -> usize {
        read_varint(self.bytes()).1.min(self.bytes().len())
    }

    /// Inserts a member known to be absent at its sorted position.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let body = self.body_start();
        let at = self
            .iter()
            .find(|e| cmp_entry(e.score, e.member, score, member) == Ordering::Greater)
            .map_or(self.bytes().len(), |e| e.start);
        let mut entry = Vec::with_capacity(member.len() + SCORE_BYTES + 5);
        encode(&mut entry, member, score);
        let old = self.buf.take().unwrap_or_default();
        let count = read_varint(&old).0 + 1;
        self.rebuild(count, &[&old[body..at], &entry, &old[at..]]);
    }

    /// Removes the bytes `start..end` holding `removed` entries.
    fn cut(&mut self, start: usize, end: usize, removed: usize) {
        let body = self.body_start();
        let old = self.buf.take().unwrap_or_default();
        let count = read_varint(&old).0 - removed;
        self.rebuild(count, &[&old[body..start], &old[end..]]);
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (start, end, score) = self.find(member).map(|e| (e.start, e.end, e.score))?;
        self.cut(start, end, 1);
        Some(score)
    }

    /// Removes the entries of ranks `start..=end` (valid ranks).
    pub fn remove_ranks(&mut self, start: usize, end: usize) {
        let first = self.iter().nth(start).map(|e| e.start);
        let last = self.iter().nth(end).map(|e| e.end);
        if let (Some(first), Some(last)) = (first, last) {
            self.cut(first, last, end - start + 1);
        }
    }
}

fn encode(out: &mut Vec<u8>, member: &[u8], score: f64) {
    write_varint(out, member.len());
    out.extend_from_slice(member);
    out.extend_from_slice(&stored_score(score).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_insert_and_remove() {
        let mut lp = Listpack::default();
        lp.insert(b"b", 2.0);
        lp.insert(b"a", 2.0);
        lp.insert(&[b'x'; 300], -1.0);
        lp.insert(b"c", 1.0);
        let order: Vec<Vec<u8>> = lp.iter().map(|e| e.member.to_vec()).collect();
        assert_eq!(
            order,
            vec![vec![b'x'; 300], b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(lp.remove(b"a"), Some(2.0));
        assert_eq!(lp.remove(b"a"), None);
        assert_eq!(lp.len(), 3);
        lp.remove_ranks(0, 1);
        assert_eq!(lp.len(), 1);
        assert_eq!(lp.find(b"b").map(|e| e.score), Some(2.0));
    }
}
