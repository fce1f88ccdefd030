//! Generic key commands (db.c): DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, MOVE.

use super::{opt_is, parse_i32, Call, SYNTAX};
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec, Merge, Move, Spread};
use bytes::Bytes;
use damselfly_protocol::Frame;

/// The generic key commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("del", -2, del)
        .spread(Spread::PerKey(Merge::Sum))
        .flags(WRITE)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RM | DELETE)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("generic", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "Delete a key")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("unlink", -2, del)
        .spread(Spread::PerKey(Merge::Sum))
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RM | DELETE)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("generic", "4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("exists", -2, exists)
        .spread(Spread::PerKey(Merge::Sum))
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("generic", "1.0.0", "O(N) where N is the number of keys to check.", "Determine if a key exists")
        .history(&[("3.0.3", "Accepts multiple `key` arguments.")])
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("touch", -2, touch)
        .spread(Spread::PerKey(Merge::Sum))
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, -1, 1, &[KeySpec::range(1, -1, 1, 0, RO)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("generic", "3.2.1", "O(N) where N is the number of keys that will be touched.", "Alters the last access time of a key(s). Returns the number of existing keys specified.")
        .args(&[Arg::key("key", 0).multiple()]),
    CommandDef::shard("type", 2, type_)
        .flags(READONLY | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("generic", "1.0.0", "O(1)", "Determine the type stored at key")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("rename", 3, rename)
        .journal(Journal::Moved(Move::Rename))
        .spread(Spread::MoveValue(Move::Rename))
        .flags(WRITE)
        .acl(acl::KEYSPACE)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | UPDATE)])
        .doc("generic", "1.0.0", "O(1)", "Rename a key")
        .args(&[Arg::key("key", 0), Arg::key("newkey", 1)]),
    CommandDef::shard("renamenx", 3, renamenx)
        .journal(Journal::Moved(Move::RenameNx))
        .spread(Spread::MoveValue(Move::RenameNx))
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | INSERT)])
        .doc("generic", "1.0.0", "O(1)", "Rename a key, only if the new key does not exist")
        .history(&[
            ("3.2.0", "The command no longer returns an error when source and destination names are the same."),
        ])
        .args(&[Arg::key("key", 0), Arg::key("newkey", 1)]),
    CommandDef::shard("copy", -3, copy)
        .journal(Journal::Moved(Move::Copy))
        .writes_other_db(copy_writes)
        .spread(Spread::MoveValue(Move::Copy))
        .flags(WRITE | DENYOOM)
        .acl(acl::KEYSPACE)
        .keys(1, 2, 1, &[KeySpec::at(1, RO | ACCESS), KeySpec::at(2, OW | UPDATE)])
        .doc("generic", "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "Copy a key")
        .args(&[
            Arg::key("source", 0),
            Arg::key("destination", 1),
            Arg::integer("destination-db").token("DB").optional(),
            Arg::pure_token("replace", "REPLACE").optional(),
        ]),
    CommandDef::shard("move", 3, move_)
        .journal(Journal::Moved(Move::ToDb))
        .writes_other_db(move_writes)
        .flags(WRITE | FAST)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("generic", "1.0.0", "O(1)", "Move a key to another database")
        .args(&[Arg::key("key", 0), Arg::integer("db")]),
];

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_OUT_OF_RANGE: &str = damselfly_protocol::errors::DB_OUT_OF_RANGE;

/// DEL and UNLINK.
pub fn del(c: &mut Call) -> Frame {
    let now = c.now();
    let mut deleted = 0;
    for i in 1..c.args.len() {
        let key = c.arg(i);
        let db = c.db();
        db.expire_if_needed(key, now);
        if db.delete(key) {
            deleted += 1;
        }
    }
    Frame::Integer(deleted)
}

pub fn exists(c: &mut Call) -> Frame {
    let mut count = 0;
    for i in 1..c.args.len() {
        if c.lookup_read_notouch(c.arg(i)).is_some() {
            count += 1;
        }
    }
    Frame::Integer(count)
}

pub fn touch(c: &mut Call) -> Frame {
    let mut count = 0;
    for i in 1..c.args.len() {
        if c.lookup_read(c.arg(i)).is_some() {
            count += 1;
        }
    }
    Frame::Integer(count)
}

pub fn type_(c: &mut Call) -> Frame {
    match c.lookup_read_notouch(c.arg(1)) {
        Some(id) => Frame::simple(c.db().slot(id).value.type_name()),
        None => Frame::simple("none"),
    }
}

fn rename_generic(c: &mut Call, nx: bool) -> Frame {
    let (src, dst) = (c.arg(1), c.arg(2));
    if c.lookup_write(src).is_none() {
        return Frame::error(damselfly_protocol::errors::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { Frame::Integer(0) } else { Frame::OK };
    }
    if c.lookup_write(dst).is_some() {
        if nx {
            return Frame::Integer(0);
        }
        c.db().delete(dst);
    }
    let now = c.now();
    let db = c.db();
    let Some(id) = db.find(src) else {
        return Frame::error(damselfly_protocol::errors::NO_SUCH_KEY);
    };
    let slot = db.remove(id);
    db.insert(dst, slot.value, slot.expire_at, now);
    if nx {
        Frame::Integer(1)
    } else {
        Frame::OK
    }
}

pub fn rename(c: &mut Call) -> Frame {
    rename_generic(c, false)
}

pub fn renamenx(c: &mut Call) -> Frame {
    rename_generic(c, true)
}

/// Parses a target db number as selectDb would accept it.
fn target_db(c: &Call, arg: &[u8]) -> Result<usize, Frame> {
    let id = parse_i32(arg)?;
    usize::try_from(id)
        .ok()
        .filter(|&i| i < c.dbs.len())
        .ok_or_else(|| Frame::error(DB_OUT_OF_RANGE))
}

pub fn copy(c: &mut Call) -> Frame {
    let mut dst_db = c.db;
    let mut replace = false;
    let mut j = 3;
    while j < c.args.len() {
        let opt = c.arg(j);
        if opt_is(opt, "replace") {
            replace = true;
        } else if opt_is(opt, "db") && j + 1 < c.args.len() {
            match target_db(c, c.arg(j + 1)) {
                Ok(d) => dst_db = d,
                Err(e) => return e,
            }
            j += 1;
        } else {
            return Frame::error(SYNTAX);
        }
        j += 1;
    }
    let (src, dst) = (c.arg(1), c.arg(2));
    if dst_db == c.db && src == dst {
        return Frame::error(SAME_OBJECT);
    }
    let Some(id) = c.lookup_read(src) else {
        return Frame::Integer(0);
    };
    let slot = c.db().slot(id);
    let (value, expire_at) = (slot.value.clone(), slot.expire_at);
    c.other_db = Some(dst_db);
    let now = c.now();
    let target = &mut c.dbs[dst_db];
    if let Some(existing) = target.lookup(dst, now) {
        if !replace {
            return Frame::Integer(0);
        }
        target.remove(existing);
    }
    target.insert(dst, value, expire_at, now);
    Frame::Integer(1)
}

pub fn move_(c: &mut Call) -> Frame {
    let dst_db = match target_db(c, c.arg(2)) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if dst_db == c.db {
        return Frame::error(SAME_OBJECT);
    }
    let key = c.arg(1);
    let Some(id) = c.lookup_write(key) else {
        return Frame::Integer(0);
    };
    c.other_db = Some(dst_db);
    let now = c.now();
    if c.dbs[dst_db].lookup(key, now).is_some() {
        return Frame::Integer(0);
    }
    let slot = c.db().remove(id);
    c.dbs[dst_db].insert(key, slot.value, slot.expire_at, now);
    Frame::Integer(1)
}

/// MOVE writes its key in the db it names.
fn move_writes(args: &[Bytes]) -> Option<(usize, usize)> {
    Some((db_index(args.get(2)?)?, 1))
}

/// COPY ... DB n writes its destination in db n.
fn copy_writes(args: &[Bytes]) -> Option<(usize, usize)> {
    let at = args
        .iter()
        .skip(3)
        .position(|arg| arg.eq_ignore_ascii_case(b"db"))?;
    Some((db_index(args.get(3 + at + 1)?)?, 2))
}

fn db_index(arg: &[u8]) -> Option<usize> {
    usize::try_from(damselfly_protocol::string2ll(arg)?).ok()
}
