//! Single values and key/value records outside a file.
//!
//! A record is `[EXPIRETIME_MS ms] type key value`, the body of one entry exactly as an RDB file
//! holds it; replication snapshots and journal records use them. A serialized value is
//! `type value`, the part of a DUMP payload before the version and checksum.

use crate::encoding::{encode_string, read_array, read_string, read_u8};
use crate::error::{Error, Result};
use crate::objects::{is_value_type, read_value, write_value};
use crate::opcode;
use crate::reader::Value;

/// Appends one string entry.
pub fn write_string_record(key: &[u8], value: &[u8], expire_ms: Option<u64>, out: &mut Vec<u8>) {
    write_expiry(expire_ms, out);
    out.push(crate::types::STRING);
    encode_string(key, false, out);
    encode_string(value, false, out);
}

/// Appends one entry of any type (uncompressed: records stay in memory or on a local link).
pub fn write_record(key: &[u8], value: &Value, expire_ms: Option<u64>, out: &mut Vec<u8>) {
    write_expiry(expire_ms, out);
    let mut body = Vec::new();
    let rdb_type = write_value(value, false, &mut body);
    out.push(rdb_type);
    encode_string(key, false, out);
    out.extend_from_slice(&body);
}

fn write_expiry(expire_ms: Option<u64>, out: &mut Vec<u8>) {
    if let Some(ms) = expire_ms {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&i64::try_from(ms).unwrap_or(i64::MAX).to_le_bytes());
    }
}

/// One decoded record: key, value, absolute expiry in unix ms.
pub type Record = (Vec<u8>, Value, Option<u64>);

/// Reads the next record from `input`, advancing it; `None` at the end of the input.
pub fn read_record(input: &mut &[u8]) -> Result<Option<Record>> {
    if input.is_empty() {
        return Ok(None);
    }
    let mut expire_ms = None;
    let mut kind = read_u8(input)?;
    if kind == opcode::EXPIRETIME_MS {
        let ms = i64::from_le_bytes(read_array(input)?);
        expire_ms = Some(u64::try_from(ms).unwrap_or(0));
        kind = read_u8(input)?;
    }
    if !is_value_type(kind) {
        return Err(Error::UnsupportedType(kind));
    }
    let key = read_string(input)?;
    let value = read_value(input, kind)?;
    Ok(Some((key, value, expire_ms)))
}

/// Appends `value` as its type byte and body, in the encodings Redis 7.0 saves (strings longer
/// than 20 bytes LZF-compressed when that pays, as with `rdbcompression yes`).
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    let mut body = Vec::new();
    let rdb_type = write_value(value, true, &mut body);
    out.push(rdb_type);
    out.extend_from_slice(&body);
}

/// Decodes a type byte and body from `input`, advancing it past them.
pub fn decode_value(input: &mut &[u8]) -> Result<Value> {
    let kind = read_u8(input)?;
    if !is_value_type(kind) {
        return Err(Error::UnsupportedType(kind));
    }
    read_value(input, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{Stream, StreamGroup};

    #[test]
    fn records_round_trip() {
        let mut out = Vec::new();
        write_string_record(b"a", b"12345", None, &mut out);
        write_string_record(b"b", &[7u8; 300], Some(1_700_000_000_000), &mut out);
        let list = Value::List(vec![b"x".to_vec(), b"-12".to_vec()]);
        write_record(b"l", &list, Some(9), &mut out);
        let mut input = &out[..];
        assert_eq!(
            read_record(&mut input).unwrap(),
            Some((b"a".to_vec(), Value::String(b"12345".to_vec()), None))
        );
        assert_eq!(
            read_record(&mut input).unwrap(),
            Some((
                b"b".to_vec(),
                Value::String(vec![7u8; 300]),
                Some(1_700_000_000_000)
            ))
        );
        assert_eq!(
            read_record(&mut input).unwrap(),
            Some((b"l".to_vec(), list, Some(9)))
        );
        assert_eq!(read_record(&mut input).unwrap(), None);
    }

    #[test]
    fn truncated_record_is_an_error() {
        let mut out = Vec::new();
        write_string_record(b"key", b"value", Some(5), &mut out);
        for cut in 1..out.len() {
            let mut input = &out[..cut];
            assert!(read_record(&mut input).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn values_round_trip() {
        let stream = Stream {
            entries: vec![((1, 1), vec![(b"f".to_vec(), b"v".to_vec())])],
            last_id: (1, 1),
            first_id: (1, 1),
            entries_added: 1,
            groups: vec![StreamGroup {
                name: b"g".to_vec(),
                entries_read: -1,
                ..StreamGroup::default()
            }],
            ..Stream::default()
        };
        for v in [
            Value::String(vec![b'a'; 100]),
            Value::Set(vec![b"1".to_vec(), b"2".to_vec()]),
            Value::Hash(vec![(b"f".to_vec(), b"v".to_vec())]),
            Value::ZSet(vec![(b"m".to_vec(), 0.5)]),
            Value::Stream(Box::new(stream)),
        ] {
            let mut out = Vec::new();
            encode_value(&v, &mut out);
            let mut input = &out[..];
            assert_eq!(decode_value(&mut input).unwrap(), v);
            assert!(input.is_empty());
        }
        // Redis's DUMP of SET k hello, without version and checksum.
        let mut out = Vec::new();
        encode_value(&Value::String(b"hello".to_vec()), &mut out);
        assert_eq!(out, b"\x00\x05hello");
    }
}
