//! SPOP and SRANDMEMBER: random picks, with Redis 7.0's strategies where they show (which
//! reply shape, whether a popped set is rebuilt). SPOP journals the members it removed.

use super::{read_set, set_at, with_set, write_set};
use crate::commands::{parse_i64, Call, SYNTAX};
use crate::keyspace::Db;
use crate::types::Set;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;
use std::collections::HashSet;

/// SPOP with a count takes members one by one while the set keeps more than this many times
/// the count; otherwise it picks the members that stay (Redis's SPOP_MOVE_STRATEGY_MUL).
const POP_MOVE_STRATEGY_MUL: u64 = 5;
/// SRANDMEMBER copies the set and drops members when it holds less than this many times the
/// count (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).
const RANDOM_SUB_STRATEGY_MUL: u64 = 3;
/// Most picks SRANDMEMBER with a negative count answers. Redis has no limit and would build
/// a reply of up to 2^63 members until memory runs out; a bound keeps one request from taking
/// the whole process down.
const MAX_REPEATED_PICKS: i64 = 1 << 24;

/// A random source seeded from the db's generator, usable while the set is borrowed.
fn rng(db: &mut Db) -> impl FnMut() -> u64 {
    let mut state = db.next_random() | 1;
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn members_effect(name: &'static str, key: &[u8], members: &[Bytes]) -> Vec<Bytes> {
    let mut command = Vec::with_capacity(members.len() + 2);
    command.push(Bytes::from_static(name.as_bytes()));
    command.push(Bytes::copy_from_slice(key));
    command.extend(members.iter().cloned());
    command
}

fn srem_effect(key: &[u8], members: &[Bytes]) -> Vec<Bytes> {
    members_effect("SREM", key, members)
}

fn sadd_effect(key: &[u8], members: Vec<Bytes>) -> Vec<Bytes> {
    members_effect("SADD", key, &members)
}

fn bulks(members: Vec<Bytes>) -> Vec<Frame> {
    members.into_iter().map(Frame::Bulk).collect()
}

pub(super) fn spop(c: &mut Call) -> Frame {
    match c.args.len() {
        2 => spop_one(c),
        3 => spop_count(c),
        _ => Frame::error(SYNTAX),
    }
}

fn spop_one(c: &mut Call) -> Frame {
    let key = c.arg(1);
    let id = match write_set(c, key) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Null,
        Err(e) => return e,
    };
    let db = c.db();
    let mut random = rng(db);
    let Ok(set) = set_at(db, id) else {
        return Frame::Null;
    };
    let member = set.random(&mut random);
    if with_set(db, id, |set| {
        set.remove(&member);
        set.is_empty()
    }) {
        db.remove(id);
    }
    c.journal_as(srem_effect(key, std::slice::from_ref(&member)));
    Frame::Bulk(member)
}

fn spop_count(c: &mut Call) -> Frame {
    let count = match parse_i64(c.arg(2)) {
        Ok(n) if n >= 0 => n as u64,
        _ => return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_POSITIVE),
    };
    let key = c.arg(1);
    let id = match write_set(c, key) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Set(Vec::new()),
        Err(e) => return e,
    };
    if count == 0 {
        return Frame::Set(Vec::new());
    }
    let size = match set_at(c.db(), id) {
        Ok(set) => set.len() as u64,
        Err(e) => return e,
    };
    if count >= size {
        // Redis answers through SUNION on the key, which looks it up (and counts a hit) again.
        let _ = c.lookup_read(key);
        let db = c.db();
        let members = set_at(db, id).map(Set::members).unwrap_or_default();
        db.remove(id);
        c.journal_as(vec![
            Bytes::from_static(b"DEL"),
            Bytes::copy_from_slice(key),
        ]);
        return Frame::Set(bulks(members));
    }
    let db = c.db();
    let mut random = rng(db);
    let remaining = size - count;
    if remaining * POP_MOVE_STRATEGY_MUL > count {
        let popped = with_set(db, id, |set| {
            (0..count)
                .map(|_| {
                    let member = set.random(&mut random);
                    set.remove(&member);
                    member
                })
                .collect::<Vec<_>>()
        });
        c.journal_as(srem_effect(key, &popped));
        return Frame::Set(bulks(popped));
    }
    // Pick the members that stay into a new set, which then replaces the old one (so its
    // encoding is chosen afresh, as Redis's dbOverwrite of the new set does).
    let (kept, popped) = with_set(db, id, |set| {
        let mut kept = Set::default();
        for _ in 0..remaining {
            let member = set.random(&mut random);
            set.remove(&member);
            kept.add(&member);
        }
        (kept, set.members())
    });
    let expire_at = db.slot(id).expire_at;
    let kept_members = kept.members();
    db.replace_value(id, Value::Set(Box::new(kept)));
    // Replicas rebuild the key the same way, so they end in the same encoding too; the
    // members that stay are the smaller part here.
    c.journal_as(vec![
        Bytes::from_static(b"DEL"),
        Bytes::copy_from_slice(key),
    ]);
    c.journal_as(sadd_effect(key, kept_members));
    if expire_at != 0 {
        c.journal_as(vec![
            Bytes::from_static(b"PEXPIREAT"),
            Bytes::copy_from_slice(key),
            Bytes::from(expire_at.to_string()),
        ]);
    }
    Frame::Set(bulks(popped))
}

pub(super) fn srandmember(c: &mut Call) -> Frame {
    match c.args.len() {
        2 => srandmember_one(c),
        3 => srandmember_count(c),
        _ => Frame::error(SYNTAX),
    }
}

fn srandmember_one(c: &mut Call) -> Frame {
    let id = match read_set(c, c.arg(1)) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Null,
        Err(e) => return e,
    };
    let db = c.db();
    let mut random = rng(db);
    match set_at(db, id) {
        Ok(set) => Frame::Bulk(set.random(&mut random)),
        Err(e) => e,
    }
}

fn srandmember_count(c: &mut Call) -> Frame {
    let requested = match parse_i64(c.arg(2)) {
        Ok(i64::MIN) => {
            return Frame::error(
                damselfly_protocol::errors::OUT_OF_RANGE_I64,
            )
        }
        // Redis would try to build this reply forever; refuse instead of exhausting memory.
        Ok(n) if n < -MAX_REPEATED_PICKS => {
            return Frame::error_owned(format!(
                "ERR value is out of range, value must between -{MAX_REPEATED_PICKS} and 9223372036854775807"
            ))
        }
        Ok(n) => n,
        Err(e) => return e,
    };
    let id = match read_set(c, c.arg(1)) {
        Ok(Some(id)) => id,
        Ok(None) => return Frame::Array(Vec::new()),
        Err(e) => return e,
    };
    let count = requested.unsigned_abs();
    if count == 0 {
        return Frame::Array(Vec::new());
    }
    let db = c.db();
    let mut random = rng(db);
    let set = match set_at(db, id) {
        Ok(set) => set,
        Err(e) => return e,
    };
    let size = set.len() as u64;
    if requested < 0 || count == 1 {
        // Independent picks: the same member may come back several times.
        return Frame::Array(
            (0..count)
                .map(|_| Frame::Bulk(set.random(&mut random)))
                .collect(),
        );
    }
    if count >= size {
        return Frame::Array(bulks(set.members()));
    }
    if count * RANDOM_SUB_STRATEGY_MUL > size {
        let mut members = set.members();
        while members.len() as u64 > count {
            let drop = (random() % members.len() as u64) as usize;
            members.swap_remove(drop);
        }
        return Frame::Array(bulks(members));
    }
    let mut picked: HashSet<Bytes> = HashSet::with_capacity(count as usize);
    while (picked.len() as u64) < count {
        picked.insert(set.random(&mut random));
    }
    Frame::Array(bulks(picked.into_iter().collect()))
}
