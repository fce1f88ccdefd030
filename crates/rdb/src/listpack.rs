//! Listpacks (Redis 7.0's compact sequence of strings and integers): a strict parser and a
//! builder that picks the encodings Redis picks.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown), elements, `0xFF`.
//! Each element is an encoding byte (+ payload) followed by its own size as a "backlen".

use crate::error::{Error, Result};
use crate::numbers::parse_canonical_i64;

/// One element of a listpack or ziplist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Item<'_> {
    /// The element as Redis returns it to a client: integers in decimal.
    pub(crate) fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Str(s) => s.to_vec(),
            Item::Int(v) => v.to_string().into_bytes(),
        }
    }

    /// The element as an integer, if it is one (stream metadata fields are).
    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            Item::Int(v) => Some(v),
            Item::Str(s) => parse_canonical_i64(s),
        }
    }
}

const HEADER: usize = 6;
const EOF: u8 = 0xff;
const UNKNOWN_COUNT: u16 = u16::MAX;

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("bad listpack: {what}"))
}

/// Parses a whole listpack, checking every size field against the bytes present.
pub(crate) fn parse(lp: &[u8]) -> Result<Vec<Item<'_>>> {
    if lp.len() < HEADER + 1 {
        return Err(corrupt("too short"));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(corrupt("size header mismatch"));
    }
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    let mut items = Vec::new();
    let mut pos = HEADER;
    loop {
        let &first = lp.get(pos).ok_or_else(|| corrupt("missing terminator"))?;
        if first == EOF {
            break;
        }
        let (item, size) = parse_element(&lp[pos..])?;
        let backlen_size = backlen_len(size);
        let end = pos + size + backlen_size;
        let backlen = lp
            .get(pos + size..end)
            .ok_or_else(|| corrupt("element overrun"))?;
        if decode_backlen(backlen) != Some(size) {
            return Err(corrupt("backlen mismatch"));
        }
        items.push(item);
        pos = end;
    }
    if pos + 1 != lp.len() {
        return Err(corrupt("bytes after terminator"));
    }
    if count != UNKNOWN_COUNT && usize::from(count) != items.len() {
        return Err(corrupt("element count mismatch"));
    }
    Ok(items)
}

/// Decodes the element at the start of `b`: the item and its size without the backlen.
fn parse_element(b: &[u8]) -> Result<(Item<'_>, usize)> {
    let e = b[0];
    let int = |n: usize| -> Result<i64> {
        let p = b.get(1..1 + n).ok_or_else(|| corrupt("integer overrun"))?;
        let mut raw = [0u8; 8];
        raw[..n].copy_from_slice(p);
        // Sign-extend from n bytes.
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(raw) << shift) >> shift)
    };
    let string = |header: usize, len: usize| -> Result<(Item<'_>, usize)> {
        let s = b
            .get(header..header.saturating_add(len))
            .ok_or_else(|| corrupt("string overrun"))?;
        Ok((Item::Str(s), header + len))
    };
    match e {
        0x00..=0x7f => Ok((Item::Int(i64::from(e)), 1)),
        0x80..=0xbf => string(1, usize::from(e & 0x3f)),
        0xc0..=0xdf => {
            let lo = *b.get(1).ok_or_else(|| corrupt("integer overrun"))?;
            let v = (u16::from(e & 0x1f) << 8) | u16::from(lo);
            // 13-bit two's complement.
            let v = (i64::from(v) << 51) >> 51;
            Ok((Item::Int(v), 2))
        }
        0xe0..=0xef => {
            let lo = *b.get(1).ok_or_else(|| corrupt("string overrun"))?;
            string(2, (usize::from(e & 0x0f) << 8) | usize::from(lo))
        }
        0xf0 => {
            let p = b.get(1..5).ok_or_else(|| corrupt("string overrun"))?;
            string(5, u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize)
        }
        0xf1 => Ok((Item::Int(int(2)?), 3)),
        0xf2 => Ok((Item::Int(int(3)?), 4)),
        0xf3 => Ok((Item::Int(int(4)?), 5)),
        0xf4 => Ok((Item::Int(int(8)?), 9)),
        _ => Err(corrupt("unknown encoding")),
    }
}

/// Bytes needed to store `size` as a backlen.
fn backlen_len(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Appends the backlen of an element of `size` bytes: 7 bits per byte, most significant first,
/// every byte but the first carrying the continuation bit (it is read backwards).
fn encode_backlen(size: usize, out: &mut Vec<u8>) {
    let n = backlen_len(size);
    for i in (0..n).rev() {
        let bits = ((size >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { bits } else { bits | 128 });
    }
}

fn decode_backlen(b: &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for (i, &byte) in b.iter().enumerate() {
        let continued = byte & 128 != 0;
        if continued != (i > 0) {
            return None;
        }
        v = (v << 7) | usize::from(byte & 127);
    }
    Some(v)
}

/// Builds a listpack element by element.
pub(crate) struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        Builder { buf, count: 0 }
    }

    /// Bytes the finished listpack would take.
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Appends a string, stored as an integer when it is a canonical one (as Redis does).
    pub(crate) fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = parse_canonical_i64(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xe0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.end_element(start);
    }

    /// Appends an integer in the smallest encoding that holds it.
    pub(crate) fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let bytes = v.to_le_bytes();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v as u16) & 0x1fff;
                self.buf.push(0xc0 | (u >> 8) as u8);
                self.buf.push(u as u8);
            }
            -32768..=32767 => {
                self.buf.push(0xf1);
                self.buf.extend_from_slice(&bytes[..2]);
            }
            -8_388_608..=8_388_607 => {
                self.buf.push(0xf2);
                self.buf.extend_from_slice(&bytes[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                self.buf.push(0xf3);
                self.buf.extend_from_slice(&bytes[..4]);
            }
            _ => {
                self.buf.push(0xf4);
                self.buf.extend_from_slice(&bytes);
            }
        }
        self.end_element(start);
    }

    fn end_element(&mut self, start: usize) {
        let size = self.buf.len() - start;
        encode_backlen(size, &mut self.buf);
        self.count += 1;
    }

    /// Appends the elements of `other` and finishes.
    pub(crate) fn append(mut self, other: Builder) -> Vec<u8> {
        self.buf.extend_from_slice(&other.buf[HEADER..]);
        self.count += other.count;
        self.finish()
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(UNKNOWN_COUNT);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_in_every_width() {
        let values = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::from(i32::MAX) + 1,
            i64::MAX,
            i64::MIN,
        ];
        let mut b = Builder::new();
        for v in values {
            b.push_int(v);
        }
        let lp = b.finish();
        let got: Vec<i64> = parse(&lp)
            .unwrap()
            .into_iter()
            .map(|i| i.as_int().unwrap())
            .collect();
        assert_eq!(got, values);
    }

    #[test]
    fn strings_round_trip_and_backlens() {
        let strings: Vec<Vec<u8>> = [0usize, 1, 63, 64, 127, 128, 4095, 4096, 20_000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .chain([b"12".to_vec(), b"012".to_vec(), b"-0".to_vec()])
            .collect();
        let mut b = Builder::new();
        for s in &strings {
            b.push_str(s);
        }
        let lp = b.finish();
        let items = parse(&lp).unwrap();
        assert_eq!(items[9], Item::Int(12));
        assert_eq!(items[10], Item::Str(b"012"));
        let got: Vec<Vec<u8>> = items.into_iter().map(Item::to_vec).collect();
        assert_eq!(got, strings);
        for size in [1usize, 127, 128, 16382, 16383, 2097150, 2097151, 268435455] {
            let mut out = Vec::new();
            encode_backlen(size, &mut out);
            assert_eq!(out.len(), backlen_len(size));
            assert_eq!(decode_backlen(&out), Some(size));
        }
    }

    #[test]
    fn known_redis_bytes() {
        // RPUSH l a 1 -> listpack as Redis 7.0 builds it.
        let mut b = Builder::new();
        b.push_str(b"a");
        b.push_str(b"1");
        assert_eq!(b.finish(), [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xff]);
    }

    #[test]
    fn every_truncation_and_flip_is_handled() {
        let mut b = Builder::new();
        for s in [&b"hello"[..], b"300", b"-70000", &[b'z'; 100]] {
            b.push_str(s);
        }
        let lp = b.finish();
        for cut in 0..lp.len() {
            assert!(parse(&lp[..cut]).is_err());
        }
        for pos in 0..lp.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut m = lp.clone();
                m[pos] ^= flip;
                let _ = parse(&m);
            }
        }
    }
}
