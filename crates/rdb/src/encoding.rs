//! Encoding primitives: lengths, strings (raw, integer, LZF) and CRC-64.

use std::io::Read;

use crc::{Crc, Table, CRC_64_REDIS};

use crate::error::{Error, Result};

pub(crate) static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC-64 (Jones polynomial, Redis variant) of `bytes`.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Appends the RDB length encoding of `len` to `out`: 6-bit, 14-bit,
/// `0x80` + big-endian u32 or `0x81` + big-endian u64.
pub fn encode_len(len: u64, out: &mut Vec<u8>) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A decoded length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// A plain length.
    Len(u64),
    /// A special string encoding (top bits `11`): 0=INT8, 1=INT16, 2=INT32, 3=LZF.
    Encoded(u8),
}

pub(crate) fn read_u8<R: Read + ?Sized>(r: &mut R) -> Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

pub(crate) fn read_array<const N: usize, R: Read + ?Sized>(r: &mut R) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

/// Most bytes [`read_bytes`] reserves before they have arrived; beyond it the buffer doubles as
/// data comes in.
const READ_PREALLOC: u64 = 8 * 1024;

/// Reads exactly `n` bytes without trusting `n` for the allocation size.
pub(crate) fn read_bytes<R: Read + ?Sized>(r: &mut R, n: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n.min(READ_PREALLOC) as usize);
    let got = r.take(n).read_to_end(&mut buf)?;
    if (got as u64) < n {
        return Err(Error::UnexpectedEof);
    }
    Ok(buf)
}

/// Decodes one length field from `r`.
pub fn decode_len<R: Read + ?Sized>(r: &mut R) -> Result<Len> {
    let b = read_u8(r)?;
    match b >> 6 {
        0 => Ok(Len::Len(u64::from(b & 0x3f))),
        1 => {
            let lo = read_u8(r)?;
            Ok(Len::Len((u64::from(b & 0x3f) << 8) | u64::from(lo)))
        }
        2 => match b {
            0x80 => Ok(Len::Len(u64::from(u32::from_be_bytes(read_array(r)?)))),
            0x81 => Ok(Len::Len(u64::from_be_bytes(read_array(r)?))),
            _ => Err(Error::Corrupt(format!("unknown length encoding {b:#04x}"))),
        },
        _ => Ok(Len::Encoded(b & 0x3f)),
    }
}

/// Decodes a length field that must be a plain length.
pub(crate) fn read_plain_len<R: Read + ?Sized>(r: &mut R) -> Result<u64> {
    match decode_len(r)? {
        Len::Len(n) => Ok(n),
        Len::Encoded(e) => Err(Error::Corrupt(format!(
            "expected a length, found string encoding {e}"
        ))),
    }
}

/// Decodes one string (raw, integer-encoded or LZF-compressed) from `r`.
pub(crate) fn read_string<R: Read + ?Sized>(r: &mut R) -> Result<Vec<u8>> {
    match decode_len(r)? {
        Len::Len(n) => read_bytes(r, n),
        Len::Encoded(ENC_INT8) => {
            let v = i8::from_le_bytes(read_array(r)?);
            Ok(v.to_string().into_bytes())
        }
        Len::Encoded(ENC_INT16) => {
            let v = i16::from_le_bytes(read_array(r)?);
            Ok(v.to_string().into_bytes())
        }
        Len::Encoded(ENC_INT32) => {
            let v = i32::from_le_bytes(read_array(r)?);
            Ok(v.to_string().into_bytes())
        }
        Len::Encoded(ENC_LZF) => {
            let clen = read_plain_len(r)?;
            let len = read_plain_len(r)?;
            let compressed = read_bytes(r, clen)?;
            lzf_decompress(&compressed, len)
        }
        Len::Encoded(e) => Err(Error::Corrupt(format!("unknown string encoding {e}"))),
    }
}

/// Returns the integer value if Redis 7.0 would store `s` with an INT8,
/// INT16 or INT32 encoding (`rdbTryIntegerEncoding` on strings of at most 11
/// bytes): `s` must be the canonical decimal form of an `i64` (no sign other
/// than a leading `-`, no leading zeros, no `-0`), and fit in `i32`.
pub fn try_int_encoding(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        // At most 11 bytes, so this cannot overflow i64.
        v = v * 10 + i64::from(c - b'0');
    }
    if negative {
        v = -v;
    }
    i32::try_from(v).ok()
}

/// Appends the RDB string encoding of `s` to `out`, choosing the encoding the
/// way Redis 7.0 does: integer encoding first, then LZF (when `compress` is
/// set and `s` is longer than 20 bytes and shrinks by at least 4 bytes), then
/// a raw length-prefixed string.
pub fn encode_string(s: &[u8], compress: bool, out: &mut Vec<u8>) {
    if let Some(v) = try_int_encoding(s) {
        if let Ok(v) = i8::try_from(v) {
            out.push(0xc0 | ENC_INT8);
            out.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i16::try_from(v) {
            out.push(0xc0 | ENC_INT16);
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(0xc0 | ENC_INT32);
            out.extend_from_slice(&v.to_le_bytes());
        }
        return;
    }
    if compress && s.len() > 20 {
        if let Some(c) = crate::lzf::compress(s, s.len() - 4) {
            out.push(0xc0 | ENC_LZF);
            encode_len(c.len() as u64, out);
            encode_len(s.len() as u64, out);
            out.extend_from_slice(&c);
            return;
        }
    }
    encode_len(s.len() as u64, out);
    out.extend_from_slice(s);
}

/// Most output [`lzf_decompress`] reserves per byte of compressed input.
const LZF_PREALLOC_RATIO: usize = 4;

/// Decompresses an LZF block that must expand to exactly `expected_len`
/// bytes. Never panics; the output buffer only grows as data is produced.
pub fn lzf_decompress(input: &[u8], expected_len: u64) -> Result<Vec<u8>> {
    let corrupt = |what: &str| Error::Corrupt(format!("bad LZF data: {what}"));
    if input.is_empty() && expected_len > 0 {
        return Err(corrupt("empty input"));
    }
    // LZF cannot expand more than ~132x; larger claims are corrupt.
    if expected_len > (input.len() as u64).saturating_mul(140) {
        return Err(corrupt("implausible expansion ratio"));
    }
    let expected = usize::try_from(expected_len).map_err(|_| corrupt("length too large"))?;
    // The claimed length is only checked against the ratio above: reserve no more than a few
    // times the compressed size, and let the output grow as data is actually produced.
    let mut out: Vec<u8> =
        Vec::with_capacity(expected.min(input.len().saturating_mul(LZF_PREALLOC_RATIO)));
    let mut i = 0usize;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input
                .get(i..i + n)
                .ok_or_else(|| corrupt("literal overrun"))?;
            if out.len() + n > expected {
                return Err(corrupt("output overrun"));
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += usize::from(*input.get(i).ok_or_else(|| corrupt("truncated"))?);
                i += 1;
            }
            let lo = usize::from(*input.get(i).ok_or_else(|| corrupt("truncated"))?);
            i += 1;
            let off = ((ctrl & 0x1f) << 8) + lo + 1;
            let n = n + 2;
            if off > out.len() {
                return Err(corrupt("back reference before start"));
            }
            if out.len() + n > expected {
                return Err(corrupt("output overrun"));
            }
            let start = out.len() - off;
            for k in 0..n {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != expected {
        return Err(corrupt("length mismatch"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_check_value() {
        // Test vector from Redis src/crc64.c.
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn len_encodings() {
        for (n, want) in [
            (0u64, vec![0x00]),
            (63, vec![0x3f]),
            (64, vec![0x40, 0x40]),
            (16383, vec![0x7f, 0xff]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (u64::from(u32::MAX), vec![0x80, 0xff, 0xff, 0xff, 0xff]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            encode_len(n, &mut out);
            assert_eq!(out, want, "len {n}");
            assert_eq!(decode_len(&mut &out[..]).unwrap(), Len::Len(n));
        }
    }

    #[test]
    fn int_encoding_decisions() {
        for ok in [
            "0",
            "1",
            "-1",
            "127",
            "-128",
            "128",
            "32767",
            "-32768",
            "2147483647",
        ] {
            assert!(try_int_encoding(ok.as_bytes()).is_some(), "{ok}");
        }
        assert_eq!(try_int_encoding(b"-2147483648"), Some(i32::MIN));
        for no in [
            "",
            "-",
            "-0",
            "00",
            "01",
            "+1",
            " 1",
            "1 ",
            "1a",
            "2147483648",
            "-2147483649",
            "12345678901",
            "3.14",
            "1e3",
        ] {
            assert_eq!(try_int_encoding(no.as_bytes()), None, "{no:?}");
        }
        let mut out = Vec::new();
        encode_string(b"-5", true, &mut out);
        assert_eq!(out, [0xc0, 0xfb]);
        out.clear();
        encode_string(b"300", true, &mut out);
        assert_eq!(out, [0xc1, 0x2c, 0x01]);
        out.clear();
        encode_string(b"70000", true, &mut out);
        assert_eq!(out, [0xc2, 0x70, 0x11, 0x01, 0x00]);
    }

    #[test]
    fn lzf_roundtrip_and_threshold() {
        let s = vec![b'a'; 1000];
        let mut out = Vec::new();
        encode_string(&s, true, &mut out);
        assert_eq!(out[0], 0xc3);
        assert!(out.len() < 100);
        assert_eq!(read_string(&mut &out[..]).unwrap(), s);
        // 20 bytes: never compressed.
        out.clear();
        encode_string(&[b'a'; 20], true, &mut out);
        assert_eq!(out[0], 20);
        // Compression off.
        out.clear();
        encode_string(&s, false, &mut out);
        assert_eq!(&out[..3], &[0x43, 0xe8, b'a']);
    }

    #[test]
    fn lzf_decompress_rejects_garbage() {
        assert!(lzf_decompress(&[0xe0, 0xff, 0xff], 100).is_err());
        assert!(lzf_decompress(&[0x05, b'a'], 6).is_err());
        assert!(lzf_decompress(&[0x00, b'a'], 2).is_err());
        assert!(lzf_decompress(&[0x00, b'a', 0x20, 0x00], 4).is_ok());
        assert!(lzf_decompress(&[0x00, b'a'], u64::MAX).is_err());
    }
}
