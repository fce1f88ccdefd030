//! Legacy compact encodings that Redis before 7.0 wrote and 7.0 still loads: ziplists and
//! zipmaps. Parsing only; every size field is checked against the bytes present.

use crate::error::{Error, Result};
use crate::listpack::Item;

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("bad ziplist: {what}"))
}

const HEADER: usize = 10;
const END: u8 = 0xff;

/// Parses a ziplist: zlbytes (u32 LE), zltail (u32 LE), zllen (u16 LE, 65535 = unknown),
/// entries (previous length, encoding, payload), `0xFF`.
pub(crate) fn parse(zl: &[u8]) -> Result<Vec<Item<'_>>> {
    if zl.len() < HEADER + 1 {
        return Err(corrupt("too short"));
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if total != zl.len() {
        return Err(corrupt("size header mismatch"));
    }
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let count = u16::from_le_bytes([zl[8], zl[9]]);
    let mut items = Vec::new();
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = HEADER;
    loop {
        let &first = zl.get(pos).ok_or_else(|| corrupt("missing terminator"))?;
        if first == END {
            break;
        }
        let (stored_prev, prev_field) = match first {
            0..=253 => (usize::from(first), 1),
            254 => {
                let p = zl
                    .get(pos + 1..pos + 5)
                    .ok_or_else(|| corrupt("prevlen overrun"))?;
                (u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize, 5)
            }
            _ => return Err(corrupt("bad prevlen")),
        };
        if stored_prev != prev_size {
            return Err(corrupt("prevlen mismatch"));
        }
        let (item, body) = parse_body(&zl[pos + prev_field..])?;
        last_start = pos;
        prev_size = prev_field + body;
        pos += prev_size;
        items.push(item);
    }
    if pos + 1 != zl.len() {
        return Err(corrupt("bytes after terminator"));
    }
    if !items.is_empty() && tail != last_start {
        return Err(corrupt("tail offset mismatch"));
    }
    if count != u16::MAX && usize::from(count) != items.len() {
        return Err(corrupt("entry count mismatch"));
    }
    Ok(items)
}

/// Decodes encoding + payload: the item and the bytes they take.
fn parse_body(b: &[u8]) -> Result<(Item<'_>, usize)> {
    let &e = b.first().ok_or_else(|| corrupt("entry overrun"))?;
    let int = |n: usize| -> Result<i64> {
        let p = b.get(1..1 + n).ok_or_else(|| corrupt("integer overrun"))?;
        let mut raw = [0u8; 8];
        raw[..n].copy_from_slice(p);
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(raw) << shift) >> shift)
    };
    let string = |header: usize, len: usize| -> Result<(Item<'_>, usize)> {
        let s = b
            .get(header..header.saturating_add(len))
            .ok_or_else(|| corrupt("string overrun"))?;
        Ok((Item::Str(s), header + len))
    };
    match e >> 6 {
        0 => string(1, usize::from(e & 0x3f)),
        1 => {
            let lo = *b.get(1).ok_or_else(|| corrupt("string overrun"))?;
            string(2, (usize::from(e & 0x3f) << 8) | usize::from(lo))
        }
        2 if e == 0x80 => {
            let p = b.get(1..5).ok_or_else(|| corrupt("string overrun"))?;
            string(5, u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize)
        }
        2 => Err(corrupt("unknown encoding")),
        _ => match e {
            0xc0 => Ok((Item::Int(int(2)?), 3)),
            0xd0 => Ok((Item::Int(int(4)?), 5)),
            0xe0 => Ok((Item::Int(int(8)?), 9)),
            0xf0 => Ok((Item::Int(int(3)?), 4)),
            0xfe => Ok((Item::Int(int(1)?), 2)),
            0xf1..=0xfd => Ok((Item::Int(i64::from(e & 0x0f) - 1), 1)),
            _ => Err(corrupt("unknown encoding")),
        },
    }
}

/// Parses a zipmap (pre-2.6 small hash): zmlen, then (len key, len free value, free bytes)*,
/// `0xFF`. Lengths are one byte below 254, or 254 followed by a u32 LE.
pub(crate) fn parse_zipmap(zm: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = |what: &str| Error::Corrupt(format!("bad zipmap: {what}"));
    let mut pos = 1;
    let len_at = |pos: &mut usize| -> Result<usize> {
        let &b = zm.get(*pos).ok_or_else(|| bad("length overrun"))?;
        match b {
            0..=253 => {
                *pos += 1;
                Ok(usize::from(b))
            }
            254 => {
                let p = zm
                    .get(*pos + 1..*pos + 5)
                    .ok_or_else(|| bad("length overrun"))?;
                *pos += 5;
                Ok(u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize)
            }
            _ => Err(bad("bad length")),
        }
    };
    let take = |pos: &mut usize, n: usize| -> Result<Vec<u8>> {
        let s = zm
            .get(*pos..pos.saturating_add(n))
            .ok_or_else(|| bad("string overrun"))?;
        *pos += n;
        Ok(s.to_vec())
    };
    let mut pairs = Vec::new();
    loop {
        match zm.get(pos) {
            None => return Err(bad("missing terminator")),
            Some(&END) => break,
            Some(_) => {}
        }
        let klen = len_at(&mut pos)?;
        let key = take(&mut pos, klen)?;
        let vlen = len_at(&mut pos)?;
        let &free = zm.get(pos).ok_or_else(|| bad("free overrun"))?;
        pos += 1;
        let value = take(&mut pos, vlen)?;
        take(&mut pos, usize::from(free))?;
        pairs.push((key, value));
    }
    if pos + 1 != zm.len() {
        return Err(bad("bytes after terminator"));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist as Redis 6 builds it for RPUSH l a 1 300 70000 <70 x's>.
    fn sample() -> Vec<u8> {
        let mut body = Vec::new();
        let mut entries: Vec<Vec<u8>> = vec![
            vec![0x01, b'a'],
            vec![0xf2],
            vec![0xc0, 0x2c, 0x01],
            vec![0xf0, 0x70, 0x11, 0x01],
        ];
        let mut long = vec![0x40, 70];
        long.extend_from_slice(&[b'x'; 70]);
        entries.push(long);
        let mut prev = 0;
        let mut tail = 0;
        for e in &entries {
            tail = HEADER + body.len();
            body.push(prev as u8);
            body.extend_from_slice(e);
            prev = e.len() + 1;
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((HEADER + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    #[test]
    fn parses_every_encoding() {
        let zl = sample();
        let items = parse(&zl).unwrap();
        assert_eq!(
            items,
            vec![
                Item::Str(b"a"),
                Item::Int(1),
                Item::Int(300),
                Item::Int(70000),
                Item::Str(&[b'x'; 70]),
            ]
        );
        for cut in 0..zl.len() {
            assert!(parse(&zl[..cut]).is_err());
        }
        for pos in 0..zl.len() {
            let mut m = zl.clone();
            m[pos] ^= 0xff;
            let _ = parse(&m);
        }
    }

    #[test]
    fn zipmap() {
        let zm = [2, 1, b'a', 2, 1, b'x', b'y', 0, 1, b'b', 0, 0, END];
        assert_eq!(
            parse_zipmap(&zm).unwrap(),
            vec![(b"a".to_vec(), b"xy".to_vec()), (b"b".to_vec(), Vec::new())]
        );
        for cut in 0..zm.len() {
            assert!(parse_zipmap(&zm[..cut]).is_err());
        }
    }
}
