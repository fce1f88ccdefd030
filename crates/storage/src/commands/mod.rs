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
pub use streams::{group_has_unread, stream_last_id};
/// Names of commands the server composes from others.
pub mod composed {
    pub use super::lists::{LMOVE, LMPOP};
    pub use super::strings::GET;
    pub use super::zsets::ZMPOP;
}
pub(crate) use effects::string_state;
pub use effects::{restore_commands, set_effect};

pub(crate) use crate::call::{wrong_args, Call};
use crate::keyspace::Db;
use crate::spec::{lowercase_name, CommandDef, Run, MAX_NAME};
use crate::ExecContext;
use bytes::Bytes;
use damselfly_protocol::string2ll;
use damselfly_protocol::Frame;
use std::collections::HashMap;
use std::sync::OnceLock;

pub(crate) use damselfly_protocol::errors::{NOT_INTEGER, SYNTAX, WRONGTYPE};

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

/// Every family's definitions: one line per family.
pub(crate) static FAMILIES: &[&[CommandDef]] = &[
    strings::COMMANDS,
    bits::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    object::COMMANDS,
    lists::COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    blocking::COMMANDS,
    dump::COMMANDS,
];

/// Every definition of a command that runs on a shard.
pub fn definitions() -> impl Iterator<Item = &'static CommandDef> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// A shard command's definition by name, in any case (for tests and commands that run others).
pub fn lookup(name: &[u8]) -> Option<&'static CommandDef> {
    static INDEX: OnceLock<HashMap<&'static [u8], &'static CommandDef>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        definitions()
            .map(|def| (def.name.as_bytes(), def))
            .collect()
    });
    let mut buffer = [0; MAX_NAME];
    index.get(lowercase_name(name, &mut buffer)?).copied()
}

/// Runs one command by name (tests and fuzzing; the server looks its commands up once and
/// calls `run`).
pub fn execute(dbs: &mut [Db], db: usize, args: &[Bytes], ctx: &mut ExecContext) -> Frame {
    let Some(first) = args.first() else {
        return Frame::error("ERR empty command");
    };
    let Some(def) = lookup(first) else {
        return Frame::error_owned(format!(
            "ERR unknown command '{}'",
            String::from_utf8_lossy(first)
        ));
    };
    if !def.arity_ok(args.len()) {
        return wrong_args(def.name);
    }
    run(def, dbs, db, args, ctx)
}

/// Runs one command whose keys all live in this shard, its arity already checked. `dbs` is all
/// of this shard's databases and `db` the selected one.
pub fn run(
    def: &'static CommandDef,
    dbs: &mut [Db],
    db: usize,
    args: &[Bytes],
    ctx: &mut ExecContext,
) -> Frame {
    let Run::Shard(handler) = def.run else {
        return Frame::error("ERR command does not run on a shard");
    };
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
        def,
        name: def.name,
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
