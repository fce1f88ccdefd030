//! One command invocation on a shard: its data, its arguments, and the keyspace lookups every
//! handler shares (counting hits and misses as Redis does).

use crate::keyspace::Db;
use crate::spec::CommandDef;
use crate::ExecContext;
use bytes::Bytes;
use damselfly_protocol::Frame;

/// One command invocation.
pub struct Call<'x, 'a> {
    pub(crate) dbs: &'x mut [Db],
    pub(crate) db: usize,
    pub(crate) args: &'x [Bytes],
    pub(crate) ctx: &'x mut ExecContext<'a>,
    /// The command's definition (its journal rule, its other db...).
    pub(crate) def: &'static CommandDef,
    /// The command's name as Redis spells it in error messages.
    pub(crate) name: &'static str,
    /// Another db this command touched (COPY ... DB, MOVE), for expiry accounting.
    pub(crate) other_db: Option<usize>,
    /// Commands that replay what this command did, set by commands whose effect is not their
    /// arguments (SPOP's random members, a pop's count...); None replays the command as sent.
    pub(crate) journal: Option<Vec<Vec<Bytes>>>,
}

impl<'x, 'a> Call<'x, 'a> {
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.dbs[self.db]
    }

    #[inline]
    pub fn now(&self) -> u64 {
        self.ctx.now_ms
    }

    /// Argument `i` (arity is checked before any handler runs).
    #[inline]
    pub fn arg(&self, i: usize) -> &'x [u8] {
        let args: &'x [Bytes] = self.args;
        &args[i]
    }

    /// Redis's lookupKeyRead: expires lazily, counts a hit or a miss, updates the access time.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<u32> {
        self.lookup_read_flags(key, true)
    }

    /// lookupKeyRead with LOOKUP_NOTOUCH (EXISTS, TYPE, TTL, OBJECT).
    pub fn lookup_read_notouch(&mut self, key: &[u8]) -> Option<u32> {
        self.lookup_read_flags(key, false)
    }

    fn lookup_read_flags(&mut self, key: &[u8], touch: bool) -> Option<u32> {
        let now = self.now();
        let db = &mut self.dbs[self.db];
        match db.lookup(key, now) {
            Some(id) => {
                if touch {
                    db.touch(id, now);
                }
                self.ctx.stats.keyspace_hits += 1;
                Some(id)
            }
            None => {
                self.ctx.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Redis's lookupKeyWrite: expires lazily and updates the access time, no statistics.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<u32> {
        let now = self.now();
        let db = &mut self.dbs[self.db];
        let id = db.lookup(key, now)?;
        db.touch(id, now);
        Some(id)
    }

    /// Whether a replication journal records this command (so its effect is worth computing).
    #[inline]
    pub fn journaling(&self) -> bool {
        self.ctx.effects.is_some()
    }

    /// Journals `command` (appended to any recorded before) instead of the command as sent.
    pub fn journal_as(&mut self, command: Vec<Bytes>) {
        if self.journaling() {
            self.journal.get_or_insert_with(Vec::new).push(command);
        }
    }

    pub fn wrong_args(&self) -> Frame {
        wrong_args(self.name)
    }
}

pub(crate) fn wrong_args(name: &str) -> Frame {
    damselfly_protocol::errors::wrong_arity(name)
}
