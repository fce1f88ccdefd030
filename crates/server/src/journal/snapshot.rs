//! Snapshot entries of a full sync: keys with their values in RDB encoding, chunked per db.

use super::wire;
use bytes::Bytes;
use damselfly_storage::{Entry, PreImage, Value};

/// Encodes saved keys of one db as a snapshot chunk for a flow.
pub fn encode_chunk(db: usize, images: &[PreImage]) -> Bytes {
    let mut records = Vec::with_capacity(images.len() * 32);
    for image in images {
        let expire = (image.expire_at != 0).then_some(image.expire_at);
        damselfly_rdb::write_record(&image.key, &image.value.to_rdb(), expire, &mut records);
    }
    wire::snapshot_chunk(db, &records)
}

/// Decodes the entries of a snapshot chunk.
pub fn decode_chunk(records: &[u8]) -> Result<Vec<(Bytes, Entry)>, String> {
    let mut input = records;
    let mut entries = Vec::new();
    while let Some((key, value, expire)) =
        damselfly_rdb::read_record(&mut input).map_err(|err| err.to_string())?
    {
        let value = Value::from_rdb(value).ok_or("unsupported value type in snapshot")?;
        entries.push((Bytes::from(key), Entry::new(value, expire)));
    }
    Ok(entries)
}
