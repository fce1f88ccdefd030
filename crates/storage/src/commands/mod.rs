//! Command dispatch and the helpers every command shares: argument access, key lookups that
//! count keyspace hits and misses as Redis does, and Redis's error replies.

mod bits;
mod blocking;
mod dump;
mod effects;
mod expire;
mod hashes;
mod keys;
mod lists;
mod object;
mod sets;
mod streams;
mod strings;
mod zsets;

#[cfg(test)]
mod difftest;
#[cfg(test)]
pub(crate) mod tests;

pub use bits::{bitcount, bitop, bitpos, parse_bitop, store_bitop, BitOp, BitposRange};
pub use blocking::parse_block_timeout;
pub(crate) use effects::string_state;
pub use effects::{restore_commands, set_effect};

use crate::keyspace::Db;
use crate::ExecContext;
use bytes::Bytes;
use damselfly_protocol::string2ll;
use damselfly_protocol::Frame;
use std::collections::HashMap;
use std::sync::OnceLock;

pub(crate) use damselfly_protocol::errors::{NOT_INTEGER, SYNTAX, WRONGTYPE};

type Handler = fn(&mut Call) -> Frame;

/// One command invocation.
pub(crate) struct Call<'x, 'a> {
    pub dbs: &'x mut [Db],
    pub db: usize,
    pub args: &'x [Bytes],
    pub ctx: &'x mut ExecContext<'a>,
    /// The command's name as Redis spells it in error messages.
    pub name: &'static str,
    /// Another db this command touched (COPY ... DB, MOVE), for expiry accounting.
    pub other_db: Option<usize>,
    /// Commands that replay what this command did, set by commands whose effect is not their
    /// arguments (SPOP's random members, a pop's count...); None replays the command as sent.
    pub journal: Option<Vec<Vec<Bytes>>>,
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
    Frame::error_owned(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// An argument as C code sees it: cut at the first NUL.
pub(crate) fn cstr(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |end| &arg[..end])
}

/// Case-insensitive option match with C string semantics (strcasecmp).
pub(crate) fn opt_is(arg: &[u8], name: &str) -> bool {
    cstr(arg).eq_ignore_ascii_case(name.as_bytes())
}

/// Text for an error message built from client bytes, with newlines blanked as Redis does.
pub(crate) fn error_text(arg: &[u8]) -> String {
    String::from_utf8_lossy(cstr(arg)).into_owned()
}

/// getLongLongFromObjectOrReply.
pub(crate) fn parse_i64(arg: &[u8]) -> Result<i64, Frame> {
    string2ll(arg).ok_or_else(|| Frame::error(NOT_INTEGER))
}

/// getIntFromObjectOrReply.
pub(crate) fn parse_i32(arg: &[u8]) -> Result<i32, Frame> {
    let v = parse_i64(arg)?;
    i32::try_from(v).map_err(|_| {
        Frame::error("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
}

/// The command table: canonical name, Redis arity (negative: at least), handler.
fn lookup_command(name: &[u8]) -> Option<(&'static str, i32, Handler)> {
    use bits::*;
    use expire::*;
    use keys::*;
    use strings::*;
    let entry: (&'static str, i32, Handler) = match name {
        b"get" => ("get", 2, get),
        b"set" => ("set", -3, set),
        b"setnx" => ("setnx", 3, setnx),
        b"setex" => ("setex", 4, setex),
        b"psetex" => ("psetex", 4, psetex),
        b"getset" => ("getset", 3, getset),
        b"getdel" => ("getdel", 2, getdel),
        b"getex" => ("getex", -2, getex),
        b"mget" => ("mget", -2, mget),
        b"mset" => ("mset", -3, mset),
        b"msetnx" => ("msetnx", -3, msetnx),
        b"incr" => ("incr", 2, incr),
        b"decr" => ("decr", 2, decr),
        b"incrby" => ("incrby", 3, incrby),
        b"decrby" => ("decrby", 3, decrby),
        b"incrbyfloat" => ("incrbyfloat", 3, incrbyfloat),
        b"append" => ("append", 3, append),
        b"strlen" => ("strlen", 2, strlen),
        b"getrange" => ("getrange", 4, getrange),
        b"substr" => ("substr", 4, getrange),
        b"setrange" => ("setrange", 4, setrange),
        b"del" => ("del", -2, del),
        b"unlink" => ("unlink", -2, del),
        b"exists" => ("exists", -2, exists),
        b"touch" => ("touch", -2, touch),
        b"type" => ("type", 2, type_),
        b"rename" => ("rename", 3, rename),
        b"renamenx" => ("renamenx", 3, renamenx),
        b"copy" => ("copy", -3, copy),
        b"move" => ("move", 3, move_),
        b"expire" => ("expire", -3, expire),
        b"pexpire" => ("pexpire", -3, pexpire),
        b"expireat" => ("expireat", -3, expireat),
        b"pexpireat" => ("pexpireat", -3, pexpireat),
        b"ttl" => ("ttl", 2, ttl),
        b"pttl" => ("pttl", 2, pttl),
        b"expiretime" => ("expiretime", 2, expiretime),
        b"pexpiretime" => ("pexpiretime", 2, pexpiretime),
        b"persist" => ("persist", 2, persist),
        b"object" => ("object", -2, object::object),
        b"setbit" => ("setbit", 4, setbit),
        b"getbit" => ("getbit", 3, getbit),
        b"bitcount" => ("bitcount", -2, bitcount_cmd),
        b"bitpos" => ("bitpos", -3, bitpos_cmd),
        b"bitop" => ("bitop", -4, bitop_cmd),
        _ => return collection_command(name),
    };
    Some(entry)
}

/// The commands of the collection types, from their modules' tables.
type Entry = (&'static str, i32, Handler);

fn collection_command(name: &[u8]) -> Option<Entry> {
    static INDEX: OnceLock<HashMap<&'static [u8], Entry>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        [
            lists::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            zsets::COMMANDS,
            streams::COMMANDS,
            blocking::COMMANDS,
            dump::COMMANDS,
        ]
        .into_iter()
        .flatten()
        .map(|&(name, arity, handler)| (name.as_bytes(), (name, arity, handler)))
        .collect()
    });
    index.get(name).copied()
}

/// Longest command name handled here.
const MAX_NAME: usize = 16;

fn lowercase_name(name: &[u8], buf: &mut [u8; MAX_NAME]) -> Option<usize> {
    if name.len() > MAX_NAME {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(name.len())
}

/// Runs one command whose keys all live in this shard. `args[0]` is the command name in any
/// case; `dbs` is all of this shard's databases and `db` the selected one.
pub fn execute(dbs: &mut [Db], db: usize, args: &[Bytes], ctx: &mut ExecContext) -> Frame {
    let Some(first) = args.first() else {
        return Frame::error("ERR empty command");
    };
    let mut buf = [0u8; MAX_NAME];
    let found = lowercase_name(first, &mut buf).and_then(|n| lookup_command(&buf[..n]));
    let Some((name, arity, handler)) = found else {
        return Frame::error_owned(format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(first)
        ));
    };
    let argc = args.len() as i64;
    if (arity > 0 && argc != i64::from(arity)) || argc < i64::from(arity.abs()) {
        return wrong_args(name);
    }
    if db >= dbs.len() {
        return Frame::error("ERR DB index is out of range");
    }
    let journaling = ctx.effects.is_some();
    let before = if journaling { total_mutations(dbs) } else { 0 };
    let mut call = Call {
        dbs,
        db,
        args,
        ctx,
        name,
        other_db: None,
        journal: None,
    };
    let reply = handler(&mut call);
    let expired = call.dbs[db].take_expired_count()
        + call
            .other_db
            .and_then(|o| call.dbs.get_mut(o))
            .map_or(0, |d| d.take_expired_count());
    call.ctx.stats.expired_keys += expired;
    if journaling {
        effects::record(&mut call, before, &reply);
    }
    reply
}

fn total_mutations(dbs: &[Db]) -> u64 {
    dbs.iter().map(Db::mutations).sum()
}
