//! What the server asks of a stream while clients wait on it (XREAD and XREADGROUP with BLOCK),
//! answered from the stream itself: no reply to compose and parse, and no keyspace hit or miss
//! counted for a client that did not send a command.

use crate::keyspace::Db;
use crate::types::stream::{Stream, StreamId};
use crate::value::Value;
use bytes::Bytes;

fn stream<'d>(db: &'d mut Db, key: &[u8], now_ms: u64) -> Option<&'d Stream> {
    let id = db.lookup(key, now_ms)?;
    match &db.slot(id).value {
        Value::Stream(stream) => Some(stream),
        _ => None,
    }
}

/// XREAD's `$` as a client blocks: the stream's last generated id (None: no stream at `key`).
pub fn stream_last_id(db: &mut Db, key: &[u8], now_ms: u64) -> Option<Bytes> {
    stream(db, key, now_ms).map(|stream| stream.last_id.to_bytes())
}

/// Whether `XREADGROUP GROUP group ... >` would deliver an entry of `key` now: the stream has a
/// live entry after the group's last delivered id.
pub fn group_has_unread(db: &mut Db, key: &[u8], group: &[u8], now_ms: u64) -> bool {
    let Some(stream) = stream(db, key, now_ms) else {
        return false;
    };
    let Some(after) = stream
        .groups
        .get(group)
        .and_then(|group| group.last_id.next())
    else {
        return false;
    };
    let mut found = false;
    stream.scan(after, StreamId::MAX, false, |_| {
        found = true;
        false
    });
    found
}
