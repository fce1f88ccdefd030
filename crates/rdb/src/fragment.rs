//! Single key/value records outside a file: `[EXPIRETIME_MS ms] type key value`, the body of one
//! entry exactly as an RDB file holds it. Replication snapshots and journal records use them.

use crate::encoding::{encode_string, read_array, read_string, read_u8};
use crate::error::{Error, Result};
use crate::reader::Value;
use crate::{opcode, types};

/// Appends one string entry.
pub fn write_string_record(key: &[u8], value: &[u8], expire_ms: Option<u64>, out: &mut Vec<u8>) {
    if let Some(ms) = expire_ms {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&i64::try_from(ms).unwrap_or(i64::MAX).to_le_bytes());
    }
    out.push(types::STRING);
    encode_string(key, false, out);
    encode_string(value, false, out);
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
    if kind != types::STRING {
        return Err(Error::UnsupportedType(kind));
    }
    let key = read_string(input)?;
    let value = read_string(input)?;
    Ok(Some((key, Value::String(value), expire_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut out = Vec::new();
        write_string_record(b"a", b"12345", None, &mut out);
        write_string_record(b"b", &[7u8; 300], Some(1_700_000_000_000), &mut out);
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
}
