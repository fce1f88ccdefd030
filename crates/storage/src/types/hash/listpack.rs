//! The small encoding: every field and value in one contiguous, exactly sized buffer, each item
//! as a LEB128 length followed by its bytes, field then value, pair after pair.

use super::varint;

#[derive(Clone, Default)]
pub(super) struct Listpack {
    buf: Vec<u8>,
    pairs: u32,
}

/// Where one pair lives in the buffer: `start..value_at` holds the field, `value_at..end` the value.
struct PairPos {
    start: usize,
    value_at: usize,
    end: usize,
}

impl Listpack {
    pub fn len(&self) -> usize {
        self.pairs as usize
    }

    /// Bytes of the buffer, including what its capacity reserves.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes the contents take.
    pub fn used_bytes(&self) -> usize {
        self.buf.len()
    }

    pub fn iter(&self) -> Pairs<'_> {
        Pairs {
            buf: &self.buf,
            pos: 0,
        }
    }

    fn find(&self, field: &[u8]) -> Option<PairPos> {
        let mut pos = 0;
        while pos < self.buf.len() {
            let (f, value_at) = varint::read_item(&self.buf, pos);
            let (_, end) = varint::read_item(&self.buf, value_at);
            if f == field {
                return Some(PairPos {
                    start: pos,
                    value_at,
                    end,
                });
            }
            pos = end;
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let at = self.find(field)?;
        Some(varint::read_item(&self.buf, at.value_at).0)
    }

    /// Sets a field; true when it was new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                let mut encoded = Vec::with_capacity(value.len() + varint::MAX_LEN);
                varint::write_item(&mut encoded, value);
                self.buf.splice(at.value_at..at.end, encoded);
                self.buf.shrink_to_fit();
                false
            }
            None => {
                let extra = field.len() + value.len() + 2 * varint::MAX_LEN;
                self.buf.reserve_exact(extra);
                varint::write_item(&mut self.buf, field);
                varint::write_item(&mut self.buf, value);
                self.buf.shrink_to_fit();
                self.pairs += 1;
                true
            }
        }
    }

    /// Removes a field; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else {
            return false;
        };
        self.buf.drain(at.start..at.end);
        self.buf.shrink_to_fit();
        self.pairs -= 1;
        true
    }
}

/// The pairs of a listpack in order.
pub(super) struct Pairs<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (field, value_at) = varint::read_item(self.buf, self.pos);
        let (value, end) = varint::read_item(self.buf, value_at);
        self.pos = end;
        Some((field, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_keep_one_exact_buffer() {
        let mut lp = Listpack::default();
        assert!(lp.set(b"a", b"1"));
        assert!(lp.set(b"bb", b""));
        assert!(!lp.set(b"a", b"longer value"));
        assert_eq!(lp.get(b"a"), Some(&b"longer value"[..]));
        assert_eq!(lp.get(b"bb"), Some(&b""[..]));
        assert_eq!(lp.get(b"c"), None);
        assert_eq!(lp.len(), 2);
        assert_eq!(lp.heap_bytes(), lp.used_bytes());
        let pairs: Vec<_> = lp.iter().collect();
        assert_eq!(
            pairs,
            vec![(&b"a"[..], &b"longer value"[..]), (&b"bb"[..], &b""[..])]
        );
        assert!(lp.remove(b"a"));
        assert!(!lp.remove(b"a"));
        assert_eq!(lp.iter().count(), 1);
        let long = vec![7u8; 300];
        lp.set(&long, &long);
        assert_eq!(lp.get(&long), Some(&long[..]));
    }
}
