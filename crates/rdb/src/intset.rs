//! Intsets: a set of integers as one sorted array of 2, 4 or 8-byte little-endian values
//! behind an encoding (u32 LE, the width) and a length (u32 LE).

use crate::error::{Error, Result};

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("bad intset: {what}"))
}

/// Parses an intset, requiring strictly increasing members as Redis does.
pub(crate) fn parse(b: &[u8]) -> Result<Vec<i64>> {
    if b.len() < 8 {
        return Err(corrupt("too short"));
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(corrupt("bad encoding"));
    }
    let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let body = &b[8..];
    if len.checked_mul(width) != Some(body.len()) {
        return Err(corrupt("length mismatch"));
    }
    let mut out: Vec<i64> = Vec::with_capacity(len);
    for chunk in body.chunks_exact(width) {
        let mut raw = [0u8; 8];
        raw[..width].copy_from_slice(chunk);
        let shift = 64 - 8 * width as u32;
        let v = (i64::from_le_bytes(raw) << shift) >> shift;
        if out.last().is_some_and(|&last| last >= v) {
            return Err(corrupt("members not sorted"));
        }
        out.push(v);
    }
    Ok(out)
}

/// Builds an intset from sorted, distinct members with the narrowest width that fits them all.
pub(crate) fn build(sorted: &[i64]) -> Vec<u8> {
    let width: usize = if sorted.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if sorted.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_round_trip() {
        for set in [
            vec![],
            vec![-5, 1, 3],
            vec![-40000, 2],
            vec![i64::MIN, 0, i64::MAX],
        ] {
            let b = build(&set);
            assert_eq!(parse(&b).unwrap(), set);
        }
        assert_eq!(build(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert!(parse(&build(&[1, 2])[..11]).is_err());
        assert!(parse(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err());
    }
}
