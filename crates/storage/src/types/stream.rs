//! A stream: entries in id order packed into listpack nodes, consumer groups with their pending
//! entries lists.

/// Placeholder until the type is built.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {}

impl Stream {
    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        0
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for streams.
    pub fn digest(&self, _digest: &mut [u8; 20]) {}

    /// Builds a stream from loaded contents.
    pub fn from_rdb(_stream: damselfly_rdb::Stream) -> Stream {
        Stream::default()
    }

    /// The contents in the RDB crate's neutral form.
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        damselfly_rdb::Value::Stream(Box::default())
    }
}
