//! Which shard a key lives on, computed the way the server does (docs/architecture.md, Routing):
//! CRC16/XMODEM of the key (or its `{tag}`) mod 16384 (Redis Cluster's hash slot), then mod N.

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), Redis Cluster's key hash.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

pub fn shard_of(key: &str, shards: usize) -> usize {
    (crc16(hash_tag(key.as_bytes())) % 16384) as usize % shards
}

/// The first key `prefix0`, `prefix1`, ... that lives on `shard`.
pub fn key_on_shard(prefix: &str, shard: usize, shards: usize) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| shard_of(k, shards) == shard)
        .expect("some key hashes to every shard")
}

#[test]
fn slots_match_redis_cluster() {
    // CLUSTER KEYSLOT values from Redis.
    assert_eq!(crc16(b"foo") % 16384, 12182);
    assert_eq!(crc16(b"bar") % 16384, 5061);
    assert_eq!(crc16(b"123456789"), 0x31C3);
}
