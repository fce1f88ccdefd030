//! Stored values and entries: strings inline, collections boxed so that `Value` stays 24 bytes.

use crate::compact::SmallBytes;
use crate::types::{Hash, List, Set, Stream, ZSet};
use bytes::Bytes;
use damselfly_protocol::format_i64;
use damselfly_protocol::string2ll;

/// Longest string Redis stores with the "embstr" encoding.
pub const EMBSTR_LIMIT: usize = 44;
/// Longest string Redis tries to turn into an "int" encoding.
const INT_ENCODE_LIMIT: usize = 20;
/// Redis shares integer objects 0..10000 (OBJECT REFCOUNT reports them as INT_MAX).
const SHARED_INTEGERS: i64 = 10000;

/// Redis's object type numbers, used by DEBUG DIGEST.
pub const OBJ_STRING: u32 = 0;
pub const OBJ_LIST: u32 = 1;
pub const OBJ_SET: u32 = 2;
pub const OBJ_ZSET: u32 = 3;
pub const OBJ_HASH: u32 = 4;
pub const OBJ_STREAM: u32 = 6;

/// One value. 24 bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string Redis would hold with the "int" encoding.
    Int(i64),
    /// A string Redis would hold as "embstr" (up to 44 bytes) or "raw" (longer).
    Str(SmallBytes),
    /// A string modified in place (APPEND, SETRANGE): always "raw", keeps spare capacity so that
    /// repeated appends are amortised.
    Raw(Box<Vec<u8>>),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    /// A string value as Redis stores a client argument after `tryObjectEncoding`: canonical
    /// integers of up to 20 characters become "int", the rest stay strings.
    pub fn from_arg(data: &[u8]) -> Value {
        if data.len() <= INT_ENCODE_LIMIT {
            if let Some(v) = string2ll(data) {
                return Value::Int(v);
            }
        }
        Value::Str(SmallBytes::new(data))
    }

    /// A string value stored as given, never int-encoded (DEBUG POPULATE, INCRBYFLOAT).
    pub fn plain(data: &[u8]) -> Value {
        Value::Str(SmallBytes::new(data))
    }

    pub fn plain_vec(data: Vec<u8>) -> Value {
        Value::Str(SmallBytes::from_vec(data))
    }

    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Redis's numeric type (OBJ_STRING, OBJ_LIST...).
    pub fn type_id(&self) -> u32 {
        match self {
            Value::Int(_) | Value::Str(_) | Value::Raw(_) => OBJ_STRING,
            Value::List(_) => OBJ_LIST,
            Value::Hash(_) => OBJ_HASH,
            Value::Set(_) => OBJ_SET,
            Value::ZSet(_) => OBJ_ZSET,
            Value::Stream(_) => OBJ_STREAM,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::Raw(_))
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_LIMIT => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// OBJECT REFCOUNT as Redis reports it (shared small integers have INT_MAX).
    pub fn refcount(&self) -> i64 {
        match self {
            Value::Int(v) if (0..SHARED_INTEGERS).contains(v) => i32::MAX as i64,
            _ => 1,
        }
    }

    /// Calls `f` with the string contents, or returns None when this is not a string.
    pub fn with_str<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match self {
            Value::Int(v) => {
                let mut buf = [0u8; 20];
                Some(f(format_i64(*v, &mut buf)))
            }
            Value::Str(s) => Some(f(s.as_slice())),
            Value::Raw(v) => Some(f(v)),
            _ => None,
        }
    }

    /// The string contents as a reply payload, or None when this is not a string.
    pub fn to_bytes(&self) -> Option<Bytes> {
        self.with_str(Bytes::copy_from_slice)
    }

    /// Length of the string contents (STRLEN), or None when this is not a string.
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Int(v) => {
                let mut buf = [0u8; 20];
                Some(format_i64(*v, &mut buf).len())
            }
            Value::Str(s) => Some(s.len()),
            Value::Raw(v) => Some(v.len()),
            _ => None,
        }
    }

    /// Turns a string value into a growable raw buffer (Redis's dbUnshareStringValue) and returns
    /// it; None when this is not a string.
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        if !matches!(self, Value::Raw(_)) {
            let data = self.with_str(|s| s.to_vec())?;
            *self = Value::Raw(Box::new(data));
        }
        match self {
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// The value in the RDB crate's neutral form.
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        match self {
            Value::List(l) => l.to_rdb(),
            Value::Hash(h) => h.to_rdb(),
            Value::Set(s) => s.to_rdb(),
            Value::ZSet(z) => z.to_rdb(),
            Value::Stream(s) => s.to_rdb(),
            _ => damselfly_rdb::Value::String(self.with_str(<[u8]>::to_vec).unwrap_or_default()),
        }
    }

    /// A value loaded from an RDB payload, in the encoding Redis would choose for it.
    pub fn from_rdb(value: damselfly_rdb::Value) -> Option<Value> {
        Some(match value {
            damselfly_rdb::Value::String(bytes) => Value::from_arg(&bytes),
            damselfly_rdb::Value::List(items) => Value::List(Box::new(List::from_items(items))),
            damselfly_rdb::Value::Set(members) => Value::Set(Box::new(Set::from_members(members))),
            damselfly_rdb::Value::Hash(pairs) => Value::Hash(Box::new(Hash::from_pairs(pairs))),
            damselfly_rdb::Value::ZSet(pairs) => Value::ZSet(Box::new(ZSet::from_pairs(pairs))),
            damselfly_rdb::Value::Stream(stream) => {
                Value::Stream(Box::new(Stream::from_rdb(*stream)))
            }
            _ => return None,
        })
    }

    /// Rough heap bytes held by this value.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.heap_bytes(),
            Value::Raw(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
            Value::List(l) => l.heap_bytes() + std::mem::size_of::<List>(),
            Value::Hash(h) => h.heap_bytes() + std::mem::size_of::<Hash>(),
            Value::Set(s) => s.heap_bytes() + std::mem::size_of::<Set>(),
            Value::ZSet(z) => z.heap_bytes() + std::mem::size_of::<ZSet>(),
            Value::Stream(s) => s.heap_bytes() + std::mem::size_of::<Stream>(),
        }
    }
}

/// Grows `buf` so that it can hold `needed` bytes, the way sds grows greedily: doubling below
/// 1 MiB, then 1 MiB at a time.
pub fn reserve_greedy(buf: &mut Vec<u8>, needed: usize) {
    const MAX_PREALLOC: usize = 1024 * 1024;
    if needed <= buf.capacity() {
        return;
    }
    let target = if needed < MAX_PREALLOC {
        needed.saturating_mul(2)
    } else {
        needed.saturating_add(MAX_PREALLOC)
    };
    buf.reserve_exact(target - buf.len());
}

/// A value together with its absolute expiry time. Moved between shards by RENAME, COPY and MOVE.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub(crate) value: Value,
    /// Absolute expiry in unix milliseconds; 0 means no expiry.
    pub(crate) expire_at: u64,
}

impl Entry {
    /// An entry; `expire_at_ms` is the absolute unix time in milliseconds (0 is treated as 1,
    /// which is already in the past).
    pub fn new(value: Value, expire_at_ms: Option<u64>) -> Entry {
        Entry {
            value,
            expire_at: expire_at_ms.map_or(0, |t| t.max(1)),
        }
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn into_value(self) -> Value {
        self.value
    }

    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Entry>();
        assert_send::<crate::Db>();
    }

    #[test]
    fn value_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::from_arg(b"123").encoding(), "int");
        assert_eq!(Value::from_arg(b"-9223372036854775808").encoding(), "int");
        assert_eq!(Value::from_arg(b"9223372036854775808").encoding(), "embstr");
        assert_eq!(Value::from_arg(b"01").encoding(), "embstr");
        assert_eq!(Value::from_arg(b"+1").encoding(), "embstr");
        assert_eq!(Value::from_arg(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::from_arg(&[b'a'; 45]).encoding(), "raw");
        let mut v = Value::from_arg(b"12");
        v.make_raw().unwrap().push(b'3');
        assert_eq!(v.encoding(), "raw");
        assert_eq!(v.to_bytes().unwrap(), Bytes::from_static(b"123"));
    }

    #[test]
    fn greedy_growth() {
        let mut v = Vec::new();
        reserve_greedy(&mut v, 10);
        assert!(v.capacity() >= 20);
        reserve_greedy(&mut v, 5);
        assert!(v.capacity() >= 20);
    }
}
