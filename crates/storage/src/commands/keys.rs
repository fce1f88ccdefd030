//! Generic key commands (db.c): DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, MOVE.

use super::{opt_is, parse_i32, Call, SYNTAX};
use damselfly_protocol::Frame;

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

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
        return Frame::error("ERR no such key");
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
        return Frame::error("ERR no such key");
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
