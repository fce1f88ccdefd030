//! The byte layout of one list element inside a node, listpack-like so that a node can be walked
//! from either end and small integers take one or two bytes.
//!
//! An entry is a header, a payload and a back-length. Headers:
//! - `0xxxxxxx`: the integer 0..=127, no payload;
//! - `10llllll`: a string of 0..=63 bytes;
//! - `1100nnnn`: an integer in n (1..=8) little-endian bytes;
//! - `1110llll llllllll`: a string of up to 4095 bytes;
//! - `11110000` + 4-byte little-endian length: a longer string.
//!
//! The back-length is the size of header and payload in 7-bit groups, lowest group last, each
//! group but the first (in memory) flagged with the high bit: read backwards from an entry's end
//! it gives where the entry starts.

use bytes::Bytes;
use damselfly_protocol::{format_i64, string2ll};

/// An element as stored: integers are kept as numbers, everything else as bytes. Each byte
/// string has exactly one form, so two elements are equal exactly when their bytes are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// How `bytes` is stored: as an integer only when it prints back identically.
    pub fn of(bytes: &'a [u8]) -> Elem<'a> {
        if bytes.len() <= 20 {
            if let Some(v) = string2ll(bytes) {
                let mut buf = [0u8; 20];
                if format_i64(v, &mut buf) == bytes {
                    return Elem::Int(v);
                }
            }
        }
        Elem::Str(bytes)
    }

    /// Calls `f` with the element's bytes (integers in decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Elem::Str(s) => f(s),
            Elem::Int(v) => f(format_i64(v, &mut [0u8; 20])),
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        self.with_bytes(Bytes::copy_from_slice)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

/// Bytes an encoded `elem` takes, back-length included.
pub fn encoded_len(elem: &Elem) -> usize {
    let body = header_len(elem) + payload_len(elem);
    body + backlen_len(body)
}

fn int_width(v: i64) -> usize {
    (1..8)
        .find(|&n| {
            let bits = 8 * n as u32;
            let min = -(1i64 << (bits - 1));
            let max = (1i64 << (bits - 1)) - 1;
            (min..=max).contains(&v)
        })
        .unwrap_or(8)
}

fn header_len(elem: &Elem) -> usize {
    match *elem {
        Elem::Int(_) => 1,
        Elem::Str(s) if s.len() <= 63 => 1,
        Elem::Str(s) if s.len() <= 4095 => 2,
        Elem::Str(_) => 5,
    }
}

fn payload_len(elem: &Elem) -> usize {
    match *elem {
        Elem::Int(v) if (0..=127).contains(&v) => 0,
        Elem::Int(v) => int_width(v),
        Elem::Str(s) => s.len(),
    }
}

fn backlen_len(body: usize) -> usize {
    match body {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    }
}

/// Appends the encoding of `elem` to `out`.
pub fn encode(elem: &Elem, out: &mut Vec<u8>) {
    let start = out.len();
    match *elem {
        Elem::Int(v) if (0..=127).contains(&v) => out.push(v as u8),
        Elem::Int(v) => {
            let n = int_width(v);
            out.push(0xC0 | n as u8);
            out.extend_from_slice(&v.to_le_bytes()[..n]);
        }
        Elem::Str(s) => {
            let len = s.len();
            if len <= 63 {
                out.push(0x80 | len as u8);
            } else if len <= 4095 {
                out.push(0xE0 | (len >> 8) as u8);
                out.push(len as u8);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(s);
        }
    }
    let body = out.len() - start;
    let groups = backlen_len(body);
    for i in (0..groups).rev() {
        let group = ((body >> (7 * i)) & 0x7F) as u8;
        out.push(if i + 1 == groups { group } else { group | 0x80 });
    }
}

/// The entry starting at `pos` of `buf` and the position just past it.
pub fn decode(buf: &[u8], pos: usize) -> (Elem<'_>, usize) {
    let h = buf[pos];
    let (elem, body) = if h & 0x80 == 0 {
        (Elem::Int(i64::from(h)), 1)
    } else if h & 0xC0 == 0x80 {
        let len = usize::from(h & 0x3F);
        (Elem::Str(&buf[pos + 1..pos + 1 + len]), 1 + len)
    } else if h & 0xF0 == 0xC0 {
        let n = usize::from(h & 0x0F);
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(&buf[pos + 1..pos + 1 + n]);
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        let v = (i64::from_le_bytes(bytes) << shift) >> shift;
        (Elem::Int(v), 1 + n)
    } else if h & 0xF0 == 0xE0 {
        let len = (usize::from(h & 0x0F) << 8) | usize::from(buf[pos + 1]);
        (Elem::Str(&buf[pos + 2..pos + 2 + len]), 2 + len)
    } else {
        let mut len = [0u8; 4];
        len.copy_from_slice(&buf[pos + 1..pos + 5]);
        let len = u32::from_le_bytes(len) as usize;
        (Elem::Str(&buf[pos + 5..pos + 5 + len]), 5 + len)
    };
    (elem, pos + body + backlen_len(body))
}

/// Where the entry that ends at `end` (exclusive) starts.
pub fn start_before(buf: &[u8], end: usize) -> usize {
    let mut body = 0usize;
    let mut pos = end;
    let mut shift = 0;
    loop {
        pos -= 1;
        let b = buf[pos];
        body |= usize::from(b & 0x7F) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    pos - body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_both_directions() {
        let long = vec![b'x'; 70_000];
        let mid = vec![b'y'; 200];
        let samples: Vec<Vec<u8>> = [
            "",
            "0",
            "127",
            "128",
            "-1",
            "-128",
            "-129",
            "32767",
            "32768",
            "-9223372036854775808",
            "9223372036854775807",
            "01",
            "-0",
            "+1",
            "abc",
            "1 ",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            long,
            mid,
            vec![b'z'; 63],
            vec![b'z'; 64],
            vec![b'w'; 4095],
            vec![b'w'; 4096],
        ])
        .collect();
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for s in &samples {
            let before = buf.len();
            encode(&Elem::of(s), &mut buf);
            assert_eq!(buf.len() - before, encoded_len(&Elem::of(s)));
            ends.push(buf.len());
        }
        let mut pos = 0;
        for s in &samples {
            let (e, next) = decode(&buf, pos);
            assert_eq!(e.to_vec(), *s);
            pos = next;
        }
        assert_eq!(pos, buf.len());
        let mut end = buf.len();
        for s in samples.iter().rev() {
            let start = start_before(&buf, end);
            assert_eq!(decode(&buf, start).0.to_vec(), *s);
            end = start;
        }
        assert_eq!(end, 0);
    }

    #[test]
    fn integers_only_when_canonical() {
        assert_eq!(Elem::of(b"12"), Elem::Int(12));
        assert_eq!(Elem::of(b"-12"), Elem::Int(-12));
        assert_eq!(Elem::of(b"012"), Elem::Str(b"012"));
        assert_eq!(Elem::of(b"-0"), Elem::Str(b"-0"));
        assert_eq!(encoded_len(&Elem::of(b"5")), 2);
        assert_eq!(encoded_len(&Elem::of(b"xxx")), 5);
    }
}
