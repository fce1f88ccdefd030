//! The blocking pops as they run when they must not block (inside MULTI, or when a key already
//! has data): the timeout is validated, then the first key holding data is popped through the
//! non-blocking command. The server blocks the client when these answer with a null.

use super::{lookup, opt_is, parse_i64, Call, SYNTAX, WRONGTYPE};
use crate::spec::{acl, flag::*, key::*, Arg, Blocking, CommandDef, Journal, KeySpec, Run};
use bytes::Bytes;
use damselfly_protocol::Frame;

/// Guards for a definition whose blocking shape does not match its handler (never a client's
/// doing: the definitions pair them).
const NOT_A_BLOCKING_POP: &str = "ERR not a blocking pop";
const NOT_A_BLOCKING_COMMAND: &str = "ERR unknown command";

/// The blocking pops and moves (run here in their non-blocking form; the server blocks them).
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("blpop", -3, pop_first)
        .blocking(Blocking::PopFirst { pop: "LPOP", wants: "list" })
        .journal(Journal::FromReply(super::effects::blpop_effects))
        .flags(WRITE | NOSCRIPT | BLOCKING)
        .acl(acl::LIST)
        .keys(1, -2, 1, &[KeySpec::range(1, -2, 1, 0, RW | ACCESS | DELETE)])
        .doc("list", "2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the first element in a list, or block until one is available")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
        .args(&[Arg::key("key", 0).multiple(), Arg::double("timeout")]),
    CommandDef::shard("brpop", -3, pop_first)
        .blocking(Blocking::PopFirst { pop: "RPOP", wants: "list" })
        .journal(Journal::FromReply(super::effects::brpop_effects))
        .flags(WRITE | NOSCRIPT | BLOCKING)
        .acl(acl::LIST)
        .keys(1, -2, 1, &[KeySpec::range(1, -2, 1, 0, RW | ACCESS | DELETE)])
        .doc("list", "2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the last element in a list, or block until one is available")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
        .args(&[Arg::key("key", 0).multiple(), Arg::double("timeout")]),
    CommandDef::shard("blmove", 6, blmove)
        .blocking(Blocking::Move { sides_at: Some(3), via: super::lists::LMOVE })
        .journal(Journal::FromReply(super::effects::lmove_effects))
        .flags(WRITE | DENYOOM | NOSCRIPT | BLOCKING)
        .acl(acl::LIST)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("list", "6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available")
        .args(&[
            Arg::key("source", 0),
            Arg::key("destination", 1),
            super::lists::WHEREFROM,
            super::lists::WHERETO,
            Arg::double("timeout"),
        ]),
    CommandDef::shard("brpoplpush", 4, brpoplpush)
        .blocking(Blocking::Move { sides_at: None, via: super::lists::LMOVE })
        .journal(Journal::FromReply(super::effects::rpoplpush_effects))
        .flags(WRITE | DENYOOM | NOSCRIPT | BLOCKING)
        .acl(acl::LIST)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("list", "2.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
        .deprecated("6.2.0", "`BLMOVE` with the `RIGHT` and `LEFT` arguments")
        .args(&[Arg::key("source", 0), Arg::key("destination", 1), Arg::double("timeout")]),
    CommandDef::shard("blmpop", -5, mpop)
        .blocking(Blocking::PopMany { via: super::lists::LMPOP, wants: "list" })
        .journal(Journal::FromReply(super::effects::blmpop_effects))
        .flags(WRITE | BLOCKING | MOVABLEKEYS)
        .acl(acl::LIST)
        .keys(0, 0, 0, &[KeySpec::keynum(2, 0, 1, 1, RW | ACCESS | DELETE)])
        .doc("list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pop elements from a list, or block until one is available")
        .args(&[
            Arg::double("timeout"),
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::oneof("where", &[
                Arg::pure_token("left", "LEFT"),
                Arg::pure_token("right", "RIGHT"),
            ]),
            Arg::integer("count").token("COUNT").optional(),
        ]),
    CommandDef::shard("bzpopmin", -3, pop_first)
        .blocking(Blocking::PopFirst { pop: "ZPOPMIN", wants: "zset" })
        .journal(Journal::FromReply(super::effects::bzpopmin_effects))
        .flags(WRITE | NOSCRIPT | BLOCKING | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, -2, 1, &[KeySpec::range(1, -2, 1, 0, RW | ACCESS | DELETE)])
        .doc("sorted-set", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
        .args(&[Arg::key("key", 0).multiple(), Arg::double("timeout")]),
    CommandDef::shard("bzpopmax", -3, pop_first)
        .blocking(Blocking::PopFirst { pop: "ZPOPMAX", wants: "zset" })
        .journal(Journal::FromReply(super::effects::bzpopmax_effects))
        .flags(WRITE | NOSCRIPT | BLOCKING | FAST)
        .acl(acl::SORTEDSET)
        .keys(1, -2, 1, &[KeySpec::range(1, -2, 1, 0, RW | ACCESS | DELETE)])
        .doc("sorted-set", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available")
        .history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
        .args(&[Arg::key("key", 0).multiple(), Arg::double("timeout")]),
    CommandDef::shard("bzmpop", -5, mpop)
        .blocking(Blocking::PopMany { via: super::zsets::ZMPOP, wants: "zset" })
        .journal(Journal::FromReply(super::effects::bzmpop_effects))
        .flags(WRITE | BLOCKING | MOVABLEKEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0, &[KeySpec::keynum(2, 0, 1, 1, RW | ACCESS | DELETE)])
        .doc("sorted-set", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "Remove and return members with scores in a sorted set or block until one is available")
        .args(&[
            Arg::double("timeout"),
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::oneof("where", &[Arg::pure_token("min", "MIN"), Arg::pure_token("max", "MAX")]),
            Arg::integer("count").token("COUNT").optional(),
        ]),
];

/// Redis's getTimeoutFromObjectOrReply for a timeout in seconds, as milliseconds (0: forever).
/// The server's blocking path uses it too.
pub fn parse_block_timeout(arg: &[u8]) -> Result<u64, Frame> {
    let seconds = std::str::from_utf8(arg)
        .ok()
        .filter(|text| !text.is_empty() && !text.starts_with(char::is_whitespace))
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .ok_or_else(|| Frame::error("ERR timeout is not a float or out of range"))?;
    if seconds < 0.0 {
        return Err(Frame::error(damselfly_protocol::errors::TIMEOUT_NEGATIVE));
    }
    let ms = seconds * 1000.0;
    if ms >= (i64::MAX / 2) as f64 {
        return Err(Frame::error("ERR timeout is out of range"));
    }
    Ok(ms as u64)
}

/// Runs another command of this shard on the same db, keeping what it journals.
fn delegate(c: &mut Call, args: Vec<Bytes>) -> Frame {
    let Some(def) = lookup(&args[0]) else {
        return Frame::error(NOT_A_BLOCKING_COMMAND);
    };
    let Run::Shard(handler) = def.run else {
        return Frame::error(NOT_A_BLOCKING_COMMAND);
    };
    let mut sub = Call {
        dbs: &mut *c.dbs,
        db: c.db,
        args: &args,
        ctx: &mut *c.ctx,
        def,
        name: def.name,
        other_db: None,
        journal: None,
    };
    let reply = handler(&mut sub);
    if let Some(journal) = sub.journal {
        c.journal.get_or_insert_with(Vec::new).extend(journal);
    }
    reply
}

fn word(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

/// BLPOP/BRPOP/BZPOPMIN/BZPOPMAX: the first key (in argument order) of type `wants` pops with
/// `pop`; the reply leads with the key.
fn pop_first(c: &mut Call) -> Frame {
    let Some(Blocking::PopFirst { pop, wants }) = c.def.blocking else {
        return Frame::error(NOT_A_BLOCKING_POP);
    };
    let last = c.args.len() - 1;
    if let Err(error) = parse_block_timeout(c.arg(last)) {
        return error;
    }
    for i in 1..last {
        let key = c.args[i].clone();
        let Some(id) = c.lookup_write(&key) else {
            continue;
        };
        if c.db().slot(id).value.type_name() != wants {
            return Frame::error(WRONGTYPE);
        }
        let popped = delegate(c, vec![word(pop), key.clone()]);
        return match popped {
            Frame::Bulk(element) => Frame::Array(vec![Frame::Bulk(key), Frame::Bulk(element)]),
            Frame::Array(pair) => {
                let mut reply = vec![Frame::Bulk(key)];
                reply.extend(pair);
                Frame::Array(reply)
            }
            other => other,
        };
    }
    Frame::NullArray
}

fn is_side(arg: &[u8]) -> bool {
    opt_is(arg, "left") || opt_is(arg, "right")
}

fn blmove(c: &mut Call) -> Frame {
    if !is_side(c.arg(3)) || !is_side(c.arg(4)) {
        return Frame::error(SYNTAX);
    }
    if let Err(error) = parse_block_timeout(c.arg(5)) {
        return error;
    }
    let via = match move_via(c) {
        Ok(via) => via,
        Err(error) => return error,
    };
    let args = c.args[..5].to_vec();
    let mut command = vec![word(via)];
    command.extend(args[1..].iter().cloned());
    delegate(c, command)
}

/// The command a blocking move runs as (LMOVE).
fn move_via(c: &Call) -> Result<&'static str, Frame> {
    match c.def.blocking {
        Some(Blocking::Move { via, .. }) => Ok(via),
        _ => Err(Frame::error("ERR not a blocking move")),
    }
}

fn brpoplpush(c: &mut Call) -> Frame {
    if let Err(error) = parse_block_timeout(c.arg(3)) {
        return error;
    }
    let via = match move_via(c) {
        Ok(via) => via,
        Err(error) => return error,
    };
    let command = vec![
        word(via),
        c.args[1].clone(),
        c.args[2].clone(),
        word("RIGHT"),
        word("LEFT"),
    ];
    delegate(c, command)
}

/// BLMPOP/BZMPOP: `timeout numkeys key... where [COUNT n]` runs as `LMPOP/ZMPOP numkeys ...`.
fn mpop(c: &mut Call) -> Frame {
    let Some(Blocking::PopMany { via: name, .. }) = c.def.blocking else {
        return Frame::error(NOT_A_BLOCKING_POP);
    };
    if let Err(error) = parse_block_timeout(c.arg(1)) {
        return error;
    }
    if parse_i64(c.arg(2)).is_err() {
        return Frame::error(damselfly_protocol::errors::NUMKEYS_NOT_POSITIVE);
    }
    let mut command = vec![word(name)];
    command.extend(c.args[2..].iter().cloned());
    delegate(c, command)
}
