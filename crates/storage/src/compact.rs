//! `SmallBytes`: an immutable byte string of 24 bytes that keeps short contents inline (no heap
//! allocation) and longer ones in an exactly sized boxed slice. Used for keys and string values.

use std::fmt;

/// Bytes stored inline; with the length byte and the enum tag this fills 24 bytes.
pub const INLINE_CAP: usize = 22;

#[derive(Clone, PartialEq, Eq)]
pub enum SmallBytes {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub fn new(data: &[u8]) -> SmallBytes {
        if data.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..data.len()].copy_from_slice(data);
            SmallBytes::Inline {
                len: data.len() as u8,
                buf,
            }
        } else {
            SmallBytes::Heap(data.into())
        }
    }

    /// Takes ownership of a vector, keeping short contents inline.
    pub fn from_vec(data: Vec<u8>) -> SmallBytes {
        if data.len() <= INLINE_CAP {
            SmallBytes::new(&data)
        } else {
            SmallBytes::Heap(data.into_boxed_slice())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            SmallBytes::Inline { len, .. } => *len as usize,
            SmallBytes::Heap(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 24 inline bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => b.len(),
        }
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_24() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
    }

    #[test]
    fn roundtrip() {
        for n in [0usize, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            assert_eq!(SmallBytes::new(&v).as_slice(), &v[..]);
            assert_eq!(SmallBytes::from_vec(v.clone()).as_slice(), &v[..]);
            assert_eq!(SmallBytes::new(&v).len(), n);
        }
        assert!(matches!(
            SmallBytes::new(&[1; 22]),
            SmallBytes::Inline { .. }
        ));
        assert!(matches!(SmallBytes::new(&[1; 23]), SmallBytes::Heap(_)));
    }
}
