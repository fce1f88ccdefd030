//! Key to shard: Redis Cluster's hash slot (CRC16 of the key or of its `{tag}`), then slot modulo shards.
//! The mapping is the same on every run and host, and `{tag}` keys land together.

use crc::{Crc, CRC_16_XMODEM};

const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_XMODEM);
pub const HASH_SLOTS: u16 = 16384;

/// The part of the key that is hashed: the first non-empty `{...}` section if there is one.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

pub fn hash_slot(key: &[u8]) -> u16 {
    CRC16.checksum(hash_tag(key)) % HASH_SLOTS
}

pub fn shard_of(key: &[u8], shards: usize) -> usize {
    if shards == 1 {
        0
    } else {
        hash_slot(key) as usize % shards
    }
}

/// A key that `shard` of `shards` owns (for tests that need keys on given shards).
#[cfg(test)]
pub fn key_on(shard: usize, shards: usize) -> String {
    (0..)
        .map(|i| format!("k{i}"))
        .find(|key| shard_of(key.as_bytes(), shards) == shard)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from CLUSTER KEYSLOT on Redis.
        assert_eq!(hash_slot(b"foo"), 12182);
        assert_eq!(hash_slot(b"bar"), 5061);
        assert_eq!(
            hash_slot(b"{user1000}.following"),
            hash_slot(b"{user1000}.followers")
        );
        assert_eq!(hash_slot(b"foo{}{bar}"), hash_slot(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
    }

    #[test]
    fn single_shard_is_always_zero() {
        assert_eq!(shard_of(b"anything", 1), 0);
        assert!(shard_of(b"anything", 4) < 4);
    }
}
