//! A set: intset while every member is an integer and few, hashtable otherwise.

/// Placeholder until the type is built.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Set {}

impl Set {
    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Heap bytes held, kept up to date incrementally (called on every write: must be O(1)).
    pub fn heap_bytes(&self) -> usize {
        0
    }

    /// Mixes the contents into `digest` exactly as Redis's xorObjectDigest does for this type.
    pub fn digest(&self, _digest: &mut [u8; 20]) {}

    /// Builds a value from loaded contents (SAVE files, snapshots, RESTORE), choosing the encoding by
    /// the thresholds as Redis does on load.
    pub fn from_members(_members: Vec<Vec<u8>>) -> Set {
        Set::default()
    }

    /// The contents in the RDB crate's neutral form (SAVE, replication snapshots, DUMP).
    pub fn to_rdb(&self) -> damselfly_rdb::Value {
        damselfly_rdb::Value::String(Vec::new())
    }
}
