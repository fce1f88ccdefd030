//! DEBUG DIGEST and DEBUG DIGEST-VALUE, computed exactly as Redis 7.0 does (debug.c).

use crate::keyspace::{Db, Slot};
use crate::value::Value;
use sha1::{Digest, Sha1};

/// digest ^= SHA1(data).
pub fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = Sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// digest = SHA1(digest ^ SHA1(data)): order-sensitive mixing.
pub fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    let hash = Sha1::digest(&digest[..]);
    digest.copy_from_slice(&hash);
}

/// Mixes a value and its TTL flag into `digest` (Redis's xorObjectDigest).
fn object_digest(digest: &mut [u8; 20], value: &Value, has_expire: bool) {
    mix_digest(digest, &value.type_id().to_be_bytes());
    match value {
        Value::Int(_) | Value::Str(_) | Value::Raw(_) => {
            value.with_str(|s| mix_digest(digest, s));
        }
        Value::List(l) => l.digest(digest),
        Value::Hash(h) => h.digest(digest),
        Value::Set(s) => s.digest(digest),
        Value::ZSet(z) => z.digest(digest),
        Value::Stream(s) => s.digest(digest),
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

fn key_digest(slot: &Slot) -> [u8; 20] {
    let mut digest = [0u8; 20];
    mix_digest(&mut digest, slot.key.as_slice());
    object_digest(&mut digest, &slot.value, slot.expire_at != 0);
    digest
}

impl Db {
    /// This db's share of DEBUG DIGEST: the XOR over its keys of SHA1(key digest) (Redis's
    /// `xorDigest(final, keydigest, 20)`), None when the db is empty. Like Redis, this covers
    /// every key still stored, including expired keys not yet reclaimed.
    ///
    /// To combine dbs as Redis does, for each non-empty db `j` in order:
    /// `mix_digest(&mut final, &(j as u32).to_be_bytes())` (Redis uses `htonl(j)`: big-endian),
    /// then XOR every shard's returned bytes for `j` into `final` byte by byte (plain XOR, not
    /// `xor_digest`, which would hash them again).
    pub fn digest(&mut self, _now_ms: u64) -> Option<[u8; 20]> {
        if self.is_empty() {
            return None;
        }
        let mut acc = [0u8; 20];
        for chunk in &self.chunks {
            for slot in chunk.iter().flatten() {
                let d = Sha1::digest(key_digest(slot));
                for (a, b) in acc.iter_mut().zip(d.iter()) {
                    *a ^= b;
                }
            }
        }
        Some(acc)
    }
}

/// DEBUG DIGEST-VALUE for one key: 20 zero bytes if it does not exist.
pub fn digest_value(db: &mut Db, key: &[u8], now_ms: u64) -> [u8; 20] {
    let mut digest = [0u8; 20];
    if let Some(id) = db.lookup(key, now_ms) {
        let slot = db.slot(id);
        object_digest(&mut digest, &slot.value, slot.expire_at != 0);
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Digest of a whole dataset as the server combines it.
    pub(crate) fn dataset_digest(dbs: &mut [Db]) -> [u8; 20] {
        let mut fin = [0u8; 20];
        for (j, db) in dbs.iter_mut().enumerate() {
            if let Some(d) = db.digest(0) {
                mix_digest(&mut fin, &(j as u32).to_be_bytes());
                for (a, b) in fin.iter_mut().zip(d.iter()) {
                    *a ^= b;
                }
            }
        }
        fin
    }

    // Expected values observed from redis-server 7.0.15.
    #[test]
    fn matches_redis_db1() {
        // SELECT 1; SET a 1; DEBUG DIGEST
        let mut dbs: Vec<Db> = (0..2).map(|_| Db::new()).collect();
        dbs[1].insert(b"a", Value::from_arg(b"1"), 0, 0);
        assert_eq!(
            hex(&dataset_digest(&mut dbs)),
            "8c8a6be2ca87c2882fea78af15ce43b8c3792dad"
        );
        assert_eq!(
            hex(&digest_value(&mut dbs[1], b"a", 0)),
            "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da"
        );
        // SET b x; PEXPIRE b 100000; DEBUG DIGEST-VALUE b
        dbs[1].insert(b"b", Value::from_arg(b"x"), 1_000_000, 0);
        assert_eq!(
            hex(&digest_value(&mut dbs[1], b"b", 0)),
            "0745672cb1bf060476eedeb8a28f5ffe1ff5a2be"
        );
        assert_eq!(digest_value(&mut dbs[1], b"missing", 0), [0u8; 20]);
        assert_eq!(dbs[0].digest(0), None);
    }
}
