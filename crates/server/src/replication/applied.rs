//! An effect from a primary's stream with its command's definition (looked up once on arrival),
//! and the keys records touch: what both the applier and the Redis-format feed use to decide
//! which records may pass which.

use crate::journal::wire::Effect;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_storage::spec::{CommandDef, Run, Spread};

/// Keys touched by records not applied yet (a multiset; `everything` for FLUSHALL/FLUSHDB).
#[derive(Default)]
pub struct KeySet {
    keys: AHashMap<(usize, Bytes), u32>,
    everything: u32,
}

#[derive(Clone)]
pub enum Keys {
    Some(Vec<(usize, Bytes)>),
    Everything,
}

impl KeySet {
    pub fn is_empty(&self) -> bool {
        self.everything == 0 && self.keys.is_empty()
    }

    pub fn conflicts(&self, keys: &Keys) -> bool {
        match keys {
            Keys::Everything => self.everything > 0 || !self.keys.is_empty(),
            Keys::Some(keys) => {
                self.everything > 0 || keys.iter().any(|key| self.keys.contains_key(key))
            }
        }
    }

    pub fn add(&mut self, keys: &Keys) {
        match keys {
            Keys::Everything => self.everything += 1,
            Keys::Some(keys) => {
                for key in keys {
                    *self.keys.entry(key.clone()).or_default() += 1;
                }
            }
        }
    }

    pub fn remove(&mut self, keys: &Keys) {
        match keys {
            Keys::Everything => self.everything = self.everything.saturating_sub(1),
            Keys::Some(keys) => {
                for key in keys {
                    if let Some(count) = self.keys.get_mut(key) {
                        *count -= 1;
                        if *count == 0 {
                            self.keys.remove(key);
                        }
                    }
                }
            }
        }
    }
}

/// An effect from the stream with the definition of its command, looked up once on arrival.
#[derive(Clone)]
pub struct Applied {
    pub db: usize,
    pub def: &'static CommandDef,
    pub args: Vec<Bytes>,
}

impl Applied {
    /// The effect with its definition, when this server can apply it as a replicated effect: a
    /// data command it knows, with a valid arity (FLUSHALL and FLUSHDB included). None otherwise;
    /// the caller says so in the log.
    pub fn resolve((db, args): Effect) -> Option<Applied> {
        let def = crate::spec::resolve(&args).ok()?;
        let applicable = def.arity_ok(args.len())
            && (matches!(def.run, Run::Shard(_))
                || matches!(def.spread, Spread::EveryShard { .. }));
        applicable.then_some(Applied { db, def, args })
    }

    /// `resolve`, logging an effect that cannot be applied (the primary runs a newer version).
    pub fn resolve_or_warn(effect: Effect) -> Option<Applied> {
        let name = effect.1.first().cloned().unwrap_or_default();
        let applied = Applied::resolve(effect);
        if applied.is_none() {
            tracing::warn!(
                "replication: cannot apply '{}' from the primary",
                damselfly_protocol::repr(&name)
            );
        }
        applied
    }
}

/// An effect's keys in the order of its arguments (its key specs say where), or Err for one
/// that writes whole shards (FLUSHALL, FLUSHDB).
pub fn effect_keys(effect: &Applied) -> Result<Vec<&Bytes>, ()> {
    if let Spread::EveryShard { .. } = effect.def.spread {
        return Err(());
    }
    Ok(effect
        .def
        .key_positions(&effect.args)
        .map(|position| &effect.args[position])
        .collect())
}

pub fn record_keys(effects: &[Applied]) -> Keys {
    let mut all = Vec::new();
    for effect in effects {
        match effect_keys(effect) {
            Ok(keys) => all.extend(keys.into_iter().map(|key| (effect.db, key.clone()))),
            Err(()) => return Keys::Everything,
        }
    }
    Keys::Some(all)
}
