//! Where a command's keys live and the locks it needs, from its definition and arguments: the one
//! place keys are planned (routing, the fast path's lock check, MULTI's plan, commands across shards).

use crate::locks::LockRequest;
use crate::router::shard_of;
use bytes::Bytes;
use damselfly_storage::spec::CommandDef;
use std::collections::BTreeMap;

/// Where a command runs, by its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// It names no key.
    NoKeys,
    /// Every key lives on this shard.
    Single(usize),
    /// Its keys live on several shards.
    Multi,
}

pub struct KeyPlan<'a> {
    def: &'static CommandDef,
    args: &'a [Bytes],
    db: usize,
    shards: usize,
}

impl<'a> KeyPlan<'a> {
    pub fn new(def: &'static CommandDef, args: &'a [Bytes], db: usize, shards: usize) -> Self {
        KeyPlan {
            def,
            args,
            db,
            shards,
        }
    }

    /// The route, without allocating (every command takes this path).
    #[inline]
    pub fn route(&self) -> Route {
        let mut positions = self.def.key_positions(self.args);
        let Some(first) = positions.next() else {
            return Route::NoKeys;
        };
        let shard = shard_of(&self.args[first], self.shards);
        if self.shards > 1
            && positions.any(|position| shard_of(&self.args[position], self.shards) != shard)
        {
            return Route::Multi;
        }
        Route::Single(shard)
    }

    /// The shards owning the keys, in the order the keys come.
    pub fn owners(&self) -> Vec<usize> {
        let mut owners = Vec::new();
        for position in self.def.key_positions(self.args) {
            let shard = shard_of(&self.args[position], self.shards);
            if !owners.contains(&shard) {
                owners.push(shard);
            }
        }
        owners
    }

    /// The intent locks with the shard owning each: every key, exclusive when the command may
    /// write it (its key spec says so), shared when it only reads it (SINTERSTORE's sources), and
    /// the key MOVE or COPY ... DB writes in another db.
    pub fn locks(&self) -> impl Iterator<Item = (usize, LockRequest)> + '_ {
        let mut positions = self.def.key_positions(self.args);
        let keys = std::iter::from_fn(move || positions.next_with_flags()).map(
            move |(position, key_flags)| {
                let lock = LockRequest {
                    db: self.db,
                    key: self.args[position].clone(),
                    exclusive: self.def.writes_key(key_flags),
                };
                (shard_of(&lock.key, self.shards), lock)
            },
        );
        let other_db = self
            .other_db_lock()
            .map(|lock| (shard_of(&lock.key, self.shards), lock));
        keys.chain(other_db)
    }

    /// The locks, per owning shard (a transaction's request).
    /// For a command that runs per key on each key's shard (MSET, DEL, EXISTS...): its keys
    /// grouped by owning shard, each with its index among the keys and the words that go with it
    /// (the key, or the key and its value).
    pub fn split(&self) -> BTreeMap<usize, Vec<(usize, &'a [Bytes])>> {
        let step = self.def.key_step();
        let mut parts: BTreeMap<usize, Vec<(usize, &'a [Bytes])>> = BTreeMap::new();
        for (index, position) in self.def.key_positions(self.args).enumerate() {
            let words = &self.args[position..(position + step).min(self.args.len())];
            parts
                .entry(shard_of(&self.args[position], self.shards))
                .or_default()
                .push((index, words));
        }
        parts
    }

    pub fn locks_by_shard(&self) -> BTreeMap<usize, Vec<LockRequest>> {
        let mut by_shard: BTreeMap<usize, Vec<LockRequest>> = BTreeMap::new();
        for (shard, lock) in self.locks() {
            by_shard.entry(shard).or_default().push(lock);
        }
        by_shard
    }

    /// MOVE and COPY ... DB n also write a key in another database, which must be locked there.
    fn other_db_lock(&self) -> Option<LockRequest> {
        let (db, at) = self.def.other_db?(self.args)?;
        Some(LockRequest {
            db,
            key: self.args.get(at)?.clone(),
            exclusive: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{resolve, words};

    fn plan(args: &[Bytes], shards: usize) -> KeyPlan<'_> {
        KeyPlan::new(resolve(args).unwrap(), args, 0, shards)
    }

    /// Two keys that live on different shards of two.
    fn apart() -> (String, String) {
        (crate::router::key_on(0, 2), crate::router::key_on(1, 2))
    }

    #[test]
    fn routes_by_the_keys_owners() {
        let (a, b) = apart();
        assert_eq!(plan(&words("object help"), 2).route(), Route::NoKeys);
        let get = words(&format!("get {a}"));
        assert_eq!(
            plan(&get, 2).route(),
            Route::Single(shard_of(a.as_bytes(), 2))
        );
        let mset = words(&format!("mset {a} 1 {b} 2"));
        assert_eq!(plan(&mset, 2).route(), Route::Multi);
        assert_eq!(plan(&mset, 1).route(), Route::Single(0));
        assert_eq!(plan(&mset, 2).owners().len(), 2);
    }

    #[test]
    fn locks_are_exclusive_for_written_keys_and_cover_the_other_db() {
        let (a, b) = apart();
        let mget = words(&format!("mget {a} {b}"));
        let locks: Vec<_> = plan(&mget, 2).locks().collect();
        assert_eq!(locks.len(), 2);
        assert!(locks.iter().all(|(_, lock)| !lock.exclusive));
        let by_shard = plan(&mget, 2).locks_by_shard();
        assert_eq!(by_shard.len(), 2);
        let copy = words(&format!("copy {a} {b} db 3"));
        let locks: Vec<_> = plan(&copy, 2).locks().collect();
        let exclusive = |key: &str, db: usize| {
            locks
                .iter()
                .find(|(_, lock)| lock.key.as_ref() == key.as_bytes() && lock.db == db)
                .map(|(_, lock)| lock.exclusive)
        };
        assert_eq!(exclusive(&a, 0), Some(false), "COPY only reads its source");
        assert_eq!(exclusive(&b, 0), Some(true));
        assert_eq!(exclusive(&b, 3), Some(true));
        let other = locks.iter().find(|(_, lock)| lock.db == 3).unwrap();
        assert_eq!(other.1.key.as_ref(), b.as_bytes());
        assert_eq!(
            other.0,
            shard_of(b.as_bytes(), 2),
            "locked where the key lives"
        );
        let store = words(&format!("sinterstore {a} {b} {a}"));
        let locks: Vec<_> = plan(&store, 2).locks().collect();
        assert_eq!(
            locks
                .iter()
                .map(|(_, lock)| lock.exclusive)
                .collect::<Vec<_>>(),
            [true, false, false],
            "the destination is written, the sources only read"
        );
        let moved = words(&format!("move {a} 5"));
        assert!(plan(&moved, 2).locks().any(|(_, lock)| lock.db == 5));
    }
}
