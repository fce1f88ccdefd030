//! List commands (t_list.c): pushes and pops at both ends, ranges, searches, and moves between
//! lists.

use super::{opt_is, parse_i64, Call, SYNTAX, WRONGTYPE};
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec};
use crate::types::list::Elem;
use crate::types::List;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::{string2ll, Frame};

/// Name, Redis arity, handler.
/// Names of list commands that blocking ones run as.
pub const LMOVE: &str = "lmove";
pub const LMPOP: &str = "lmpop";

/// LMOVE's and BLMOVE's ends of the source and of the destination (COMMAND DOCS).
pub(super) const WHEREFROM: Arg = Arg::oneof(
    "wherefrom",
    &[
        Arg::pure_token("left", "LEFT"),
        Arg::pure_token("right", "RIGHT"),
    ],
);
pub(super) const WHERETO: Arg = Arg::oneof(
    "whereto",
    &[
        Arg::pure_token("left", "LEFT"),
        Arg::pure_token("right", "RIGHT"),
    ],
);

/// The list commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("lpush", -3, lpush)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("list", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepend one or multiple elements to a list")
        .history(&[("2.4.0", "Accepts multiple `element` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("element").multiple()]),
    CommandDef::shard("rpush", -3, rpush)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("list", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Append one or multiple elements to a list")
        .history(&[("2.4.0", "Accepts multiple `element` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("element").multiple()]),
    CommandDef::shard("lpushx", -3, lpushx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("list", "2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Prepend an element to a list, only if the list exists")
        .history(&[("4.0.0", "Accepts multiple `element` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("element").multiple()]),
    CommandDef::shard("rpushx", -3, rpushx)
        .flags(WRITE | DENYOOM | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("list", "2.2.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Append an element to a list, only if the list exists")
        .history(&[("4.0.0", "Accepts multiple `element` arguments.")])
        .args(&[Arg::key("key", 0), Arg::string("element").multiple()]),
    CommandDef::shard("lpop", -2, lpop)
        .flags(WRITE | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("list", "1.0.0", "O(N) where N is the number of elements returned", "Remove and get the first elements in a list")
        .history(&[("6.2.0", "Added the `count` argument.")])
        .args(&[Arg::key("key", 0), Arg::integer("count").since("6.2.0").optional()]),
    CommandDef::shard("rpop", -2, rpop)
        .flags(WRITE | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("list", "1.0.0", "O(N) where N is the number of elements returned", "Remove and get the last elements in a list")
        .history(&[("6.2.0", "Added the `count` argument.")])
        .args(&[Arg::key("key", 0), Arg::integer("count").since("6.2.0").optional()]),
    CommandDef::shard("lrange", 4, lrange)
        .flags(READONLY)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("list", "1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "Get a range of elements from a list")
        .args(&[Arg::key("key", 0), Arg::integer("start"), Arg::integer("stop")]),
    CommandDef::shard("llen", 2, llen)
        .flags(READONLY | FAST)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RO)])
        .doc("list", "1.0.0", "O(1)", "Get the length of a list")
        .args(&[Arg::key("key", 0)]),
    CommandDef::shard("lindex", 3, lindex)
        .flags(READONLY)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("list", "1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", "Get an element from a list by its index")
        .args(&[Arg::key("key", 0), Arg::integer("index")]),
    CommandDef::shard("lset", 4, lset)
        .flags(WRITE | DENYOOM)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | UPDATE)])
        .doc("list", "1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "Set the value of an element in a list by its index")
        .args(&[Arg::key("key", 0), Arg::integer("index"), Arg::string("element")]),
    CommandDef::shard("lrem", 4, lrem)
        .flags(WRITE)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("list", "1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", "Remove elements from a list")
        .args(&[Arg::key("key", 0), Arg::integer("count"), Arg::string("element")]),
    CommandDef::shard("ltrim", 4, ltrim)
        .flags(WRITE)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | DELETE)])
        .doc("list", "1.0.0", "O(N) where N is the number of elements to be removed by the operation.", "Trim a list to the specified range")
        .args(&[Arg::key("key", 0), Arg::integer("start"), Arg::integer("stop")]),
    CommandDef::shard("linsert", 5, linsert)
        .flags(WRITE | DENYOOM)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | INSERT)])
        .doc("list", "2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", "Insert an element before or after another element in a list")
        .args(&[
            Arg::key("key", 0),
            Arg::oneof("where", &[
                Arg::pure_token("before", "BEFORE"),
                Arg::pure_token("after", "AFTER"),
            ]),
            Arg::string("pivot"),
            Arg::string("element"),
        ]),
    CommandDef::shard("lpos", -3, lpos)
        .flags(READONLY)
        .acl(acl::LIST)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("list", "6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", "Return the index of matching elements on a list")
        .args(&[
            Arg::key("key", 0),
            Arg::string("element"),
            Arg::integer("rank").token("RANK").optional(),
            Arg::integer("num-matches").token("COUNT").optional(),
            Arg::integer("len").token("MAXLEN").optional(),
        ]),
    CommandDef::shard("rpoplpush", 3, rpoplpush)
        .journal(Journal::FromReply(super::effects::rpoplpush_effects))
        .flags(WRITE | DENYOOM)
        .acl(acl::LIST)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("list", "1.2.0", "O(1)", "Remove the last element in a list, prepend it to another list and return it")
        .deprecated("6.2.0", "`LMOVE` with the `RIGHT` and `LEFT` arguments")
        .args(&[Arg::key("source", 0), Arg::key("destination", 1)]),
    CommandDef::shard(LMOVE, 5, lmove)
        .journal(Journal::FromReply(super::effects::lmove_effects))
        .flags(WRITE | DENYOOM)
        .acl(acl::LIST)
        .keys(1, 2, 1, &[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("list", "6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it")
        .args(&[
            Arg::key("source", 0),
            Arg::key("destination", 1),
            WHEREFROM,
            WHERETO,
        ]),
    CommandDef::shard(LMPOP, -4, lmpop)
        .journal(Journal::FromReply(super::effects::lmpop_effects))
        .flags(WRITE | MOVABLEKEYS)
        .acl(acl::LIST)
        .keys(0, 0, 0, &[KeySpec::keynum(1, 0, 1, 1, RW | ACCESS | DELETE)])
        .doc("list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "Pop elements from a list")
        .args(&[
            Arg::integer("numkeys"),
            Arg::key("key", 0).multiple(),
            Arg::oneof("where", &[
                Arg::pure_token("left", "LEFT"),
                Arg::pure_token("right", "RIGHT"),
            ]),
            Arg::integer("count").token("COUNT").optional(),
        ]),
];

#[derive(Clone, Copy, PartialEq)]
enum End {
    Head,
    Tail,
}

fn push_at(list: &mut List, end: End, value: &[u8]) {
    match end {
        End::Head => list.push_front(value),
        End::Tail => list.push_back(value),
    }
}

fn pop_at(list: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

/// Pops up to `count` elements as bulk replies.
fn pop_many(list: &mut List, end: End, count: u64) -> Vec<Frame> {
    (0..count)
        .map_while(|_| pop_at(list, end))
        .map(|v| Frame::Bulk(Bytes::from(v)))
        .collect()
}

/// Redis's getListPositionFromObjectOrReply: LEFT or RIGHT.
fn parse_end(arg: &[u8]) -> Result<End, Frame> {
    if opt_is(arg, "left") {
        Ok(End::Head)
    } else if opt_is(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(Frame::error(SYNTAX))
    }
}

/// An integer within `min..`, or `error` (Redis's getRangeLongFromObjectOrReply with a message,
/// which also answers a non-number with that message).
fn parse_at_least(arg: &[u8], min: i64, error: &'static str) -> Result<i64, Frame> {
    match string2ll(arg) {
        Some(v) if v >= min => Ok(v),
        _ => Err(Frame::error(error)),
    }
}

fn is_list(c: &mut Call, id: u32) -> bool {
    matches!(c.db().slot(id).value, Value::List(_))
}

/// lookupKeyWrite and checkType: the key's slot if it holds a list, None if it is missing.
fn write_list(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    match c.lookup_write(key) {
        Some(id) if !is_list(c, id) => Err(Frame::error(WRONGTYPE)),
        found => Ok(found),
    }
}

/// lookupKeyRead and checkType.
fn read_list(c: &mut Call, key: &[u8]) -> Result<Option<u32>, Frame> {
    match c.lookup_read(key) {
        Some(id) if !is_list(c, id) => Err(Frame::error(WRONGTYPE)),
        found => Ok(found),
    }
}

/// The list held at a slot found by `write_list` or `read_list`.
fn list_at<'c>(c: &'c mut Call, id: u32) -> Option<&'c List> {
    match &c.db().slot(id).value {
        Value::List(list) => Some(list),
        _ => None,
    }
}

/// Changes the list held at `id`, deleting the key if that empties it as Redis does.
fn edit_list<R: Default>(c: &mut Call, id: u32, f: impl FnOnce(&mut List) -> R) -> R {
    let db = c.db();
    let (result, emptied) = db.with_value_mut(id, |value| match value {
        Value::List(list) => {
            let result = f(list);
            (result, list.is_empty())
        }
        _ => (R::default(), false),
    });
    if emptied {
        db.remove(id);
    }
    result
}

/// Stores a new list at `key` (known to be missing) made of `values` pushed at `end`.
fn create_list<'v>(c: &mut Call, key: &[u8], end: End, values: impl Iterator<Item = &'v [u8]>) {
    let mut list = List::default();
    for value in values {
        push_at(&mut list, end, value);
    }
    let now = c.now();
    c.db().insert(key, Value::List(Box::new(list)), 0, now);
}

fn lpush(c: &mut Call) -> Frame {
    push(c, End::Head, true)
}

fn rpush(c: &mut Call) -> Frame {
    push(c, End::Tail, true)
}

fn lpushx(c: &mut Call) -> Frame {
    push(c, End::Head, false)
}

fn rpushx(c: &mut Call) -> Frame {
    push(c, End::Tail, false)
}

/// LPUSH, RPUSH and (without `create`) their X forms: the list's new length.
fn push(c: &mut Call, end: End, create: bool) -> Frame {
    let key = c.arg(1);
    let args: &[Bytes] = c.args;
    let values = &args[2..];
    match write_list(c, key) {
        Err(e) => e,
        Ok(Some(id)) => {
            let len = edit_list(c, id, |list| {
                for value in values {
                    push_at(list, end, value);
                }
                list.len()
            });
            Frame::Integer(len as i64)
        }
        Ok(None) if !create => Frame::Integer(0),
        Ok(None) => {
            create_list(c, key, end, values.iter().map(|v| &v[..]));
            Frame::Integer(values.len() as i64)
        }
    }
}

fn lpop(c: &mut Call) -> Frame {
    pop(c, End::Head)
}

fn rpop(c: &mut Call) -> Frame {
    pop(c, End::Tail)
}

/// LPOP and RPOP: one element as a bulk string, or with a count an array of up to that many.
fn pop(c: &mut Call, end: End) -> Frame {
    if c.args.len() > 3 {
        return c.wrong_args();
    }
    let count = match c.args.get(2) {
        None => None,
        Some(arg) => {
            match parse_at_least(arg, 0, damselfly_protocol::errors::OUT_OF_RANGE_POSITIVE) {
                Ok(n) => Some(n as u64),
                Err(e) => return e,
            }
        }
    };
    let id = match write_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) if count.is_some() => return Frame::NullArray,
        Ok(None) => return Frame::Null,
        Ok(Some(id)) => id,
    };
    match count {
        None => edit_list(c, id, |list| pop_at(list, end))
            .map_or(Frame::Null, |v| Frame::Bulk(Bytes::from(v))),
        Some(0) => Frame::Array(Vec::new()),
        Some(n) => Frame::Array(edit_list(c, id, |list| pop_many(list, end, n))),
    }
}

/// Redis's range normalisation (LRANGE, LTRIM): negative indices count from the tail; the
/// inclusive bounds clamped to the list, None when nothing is in range.
fn clamp_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// An index that may count from the tail, if it falls inside the list.
fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

fn parse_bounds(c: &Call) -> Result<(i64, i64), Frame> {
    Ok((parse_i64(c.arg(2))?, parse_i64(c.arg(3))?))
}

fn lrange(c: &mut Call) -> Frame {
    let (start, end) = match parse_bounds(c) {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let id = match read_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Array(Vec::new()),
        Ok(Some(id)) => id,
    };
    let Some(list) = list_at(c, id) else {
        return Frame::error(WRONGTYPE);
    };
    let Some((from, to)) = clamp_range(list.len(), start, end) else {
        return Frame::Array(Vec::new());
    };
    Frame::Array(
        list.iter_from(from)
            .take(to - from + 1)
            .map(|e| Frame::Bulk(e.to_bytes()))
            .collect(),
    )
}

fn ltrim(c: &mut Call) -> Frame {
    let (start, end) = match parse_bounds(c) {
        Ok(bounds) => bounds,
        Err(e) => return e,
    };
    let id = match write_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::OK,
        Ok(Some(id)) => id,
    };
    let len = list_at(c, id).map_or(0, List::len);
    let (front, back) = match clamp_range(len, start, end) {
        None => (len, 0),
        Some((from, to)) => (from, len - to - 1),
    };
    if front + back > 0 {
        edit_list(c, id, |list| list.trim(front, back));
    }
    Frame::OK
}

fn llen(c: &mut Call) -> Frame {
    match read_list(c, c.arg(1)) {
        Err(e) => e,
        Ok(None) => Frame::Integer(0),
        Ok(Some(id)) => Frame::Integer(list_at(c, id).map_or(0, List::len) as i64),
    }
}

fn lindex(c: &mut Call) -> Frame {
    let id = match read_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Null,
        Ok(Some(id)) => id,
    };
    let index = match parse_i64(c.arg(2)) {
        Ok(index) => index,
        Err(e) => return e,
    };
    let Some(list) = list_at(c, id) else {
        return Frame::error(WRONGTYPE);
    };
    resolve_index(list.len(), index)
        .and_then(|i| list.get(i))
        .map_or(Frame::Null, |e| Frame::Bulk(e.to_bytes()))
}

fn lset(c: &mut Call) -> Frame {
    let id = match write_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::error(damselfly_protocol::errors::NO_SUCH_KEY),
        Ok(Some(id)) => id,
    };
    let index = match parse_i64(c.arg(2)) {
        Ok(index) => index,
        Err(e) => return e,
    };
    let len = list_at(c, id).map_or(0, List::len);
    let Some(index) = resolve_index(len, index) else {
        return Frame::error("ERR index out of range");
    };
    let value = c.arg(3);
    edit_list(c, id, |list| list.set(index, value));
    Frame::OK
}

fn lrem(c: &mut Call) -> Frame {
    let count = match parse_i64(c.arg(2)) {
        Ok(count) => count,
        Err(e) => return e,
    };
    let id = match write_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Integer(0),
        Ok(Some(id)) => id,
    };
    let value = c.arg(3);
    let target = Elem::of(value);
    // Leave the key untouched (no write to replicate) when nothing matches.
    if !list_at(c, id).is_some_and(|list| list.iter().any(|e| e == target)) {
        return Frame::Integer(0);
    }
    let max = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let removed = edit_list(c, id, |list| list.remove(value, max, count < 0));
    Frame::Integer(removed as i64)
}

fn linsert(c: &mut Call) -> Frame {
    let after = if opt_is(c.arg(2), "after") {
        true
    } else if opt_is(c.arg(2), "before") {
        false
    } else {
        return Frame::error(SYNTAX);
    };
    let id = match write_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Integer(0),
        Ok(Some(id)) => id,
    };
    let (pivot, value) = (c.arg(3), c.arg(4));
    let target = Elem::of(pivot);
    if !list_at(c, id).is_some_and(|list| list.iter().any(|e| e == target)) {
        return Frame::Integer(-1);
    }
    let len = edit_list(c, id, |list| {
        list.insert(pivot, value, after);
        list.len()
    });
    Frame::Integer(len as i64)
}

/// LPOS's options as given.
struct LposOptions {
    rank: i64,
    /// None when COUNT was not given (single reply instead of an array); 0 means all matches.
    count: Option<i64>,
    /// 0 means no limit.
    maxlen: i64,
}

fn parse_lpos_options(c: &Call) -> Result<LposOptions, Frame> {
    let mut options = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut j = 3;
    while j < c.args.len() {
        let (opt, more) = (c.arg(j), j + 1 < c.args.len());
        if opt_is(opt, "rank") && more {
            j += 1;
            options.rank = parse_i64(c.arg(j))?;
            if options.rank == 0 {
                return Err(Frame::error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if opt_is(opt, "count") && more {
            j += 1;
            options.count = Some(parse_at_least(c.arg(j), 0, "ERR COUNT can't be negative")?);
        } else if opt_is(opt, "maxlen") && more {
            j += 1;
            options.maxlen = parse_at_least(c.arg(j), 0, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(Frame::error(SYNTAX));
        }
        j += 1;
    }
    Ok(options)
}

fn lpos(c: &mut Call) -> Frame {
    let options = match parse_lpos_options(c) {
        Ok(options) => options,
        Err(e) => return e,
    };
    let none = || match options.count {
        Some(_) => Frame::Array(Vec::new()),
        None => Frame::Null,
    };
    let id = match read_list(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return none(),
        Ok(Some(id)) => id,
    };
    let target = Elem::of(c.arg(2));
    let Some(list) = list_at(c, id) else {
        return Frame::error(WRONGTYPE);
    };
    let len = list.len();
    // A negative rank scans from the tail. Like Redis, the rank is negated in C long
    // arithmetic, so LONG_MIN stays negative and then matches from the first hit on.
    let from_tail = options.rank < 0;
    let rank = if from_tail {
        options.rank.wrapping_neg()
    } else {
        options.rank
    };
    let scan: Box<dyn Iterator<Item = Elem>> = if from_tail {
        Box::new(list.iter_rev())
    } else {
        Box::new(list.iter())
    };
    let limit = if options.maxlen == 0 {
        usize::MAX
    } else {
        options.maxlen as usize
    };
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (index, elem) in scan.take(limit).enumerate() {
        if elem != target {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        let position = if from_tail { len - index - 1 } else { index };
        found.push(Frame::Integer(position as i64));
        match options.count {
            None => break,
            Some(count) if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count => {
                break
            }
            Some(_) => {}
        }
    }
    match options.count {
        Some(_) => Frame::Array(found),
        None => found.pop().unwrap_or(Frame::Null),
    }
}

fn rpoplpush(c: &mut Call) -> Frame {
    move_element(c, End::Tail, End::Head)
}

fn lmove(c: &mut Call) -> Frame {
    let from = match parse_end(c.arg(3)) {
        Ok(end) => end,
        Err(e) => return e,
    };
    match parse_end(c.arg(4)) {
        Ok(to) => move_element(c, from, to),
        Err(e) => e,
    }
}

/// LMOVE and RPOPLPUSH: pops from the source's `from` end and pushes onto the destination's
/// `to` end; the same key rotates the list.
fn move_element(c: &mut Call, from: End, to: End) -> Frame {
    let (source, destination) = (c.arg(1), c.arg(2));
    let source_id = match write_list(c, source) {
        Err(e) => return e,
        Ok(None) => return Frame::Null,
        Ok(Some(id)) => id,
    };
    let destination_id = match write_list(c, destination) {
        Err(e) => return e,
        Ok(id) => id,
    };
    if source == destination {
        let moved = edit_list(c, source_id, |list| {
            let value = pop_at(list, from)?;
            push_at(list, to, &value);
            Some(value)
        });
        return moved.map_or(Frame::Null, |v| Frame::Bulk(Bytes::from(v)));
    }
    let Some(value) = edit_list(c, source_id, |list| pop_at(list, from)) else {
        return Frame::Null;
    };
    match destination_id {
        Some(id) => edit_list(c, id, |list| push_at(list, to, &value)),
        None => create_list(c, destination, to, std::iter::once(&value[..])),
    }
    Frame::Bulk(Bytes::from(value))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty list,
/// replying with its name and the elements; replicated as the LPOP/RPOP it amounted to.
fn lmpop(c: &mut Call) -> Frame {
    let numkeys = match parse_at_least(
        c.arg(1),
        1,
        damselfly_protocol::errors::NUMKEYS_NOT_POSITIVE,
    ) {
        Ok(n) => n as u64,
        Err(e) => return e,
    };
    let argc = c.args.len();
    let where_index = numkeys + 2;
    if where_index >= argc as u64 {
        return Frame::error(SYNTAX);
    }
    let where_index = where_index as usize;
    let end = match parse_end(c.arg(where_index)) {
        Ok(end) => end,
        Err(e) => return e,
    };
    let mut count = None;
    let mut j = where_index + 1;
    while j < argc {
        if count.is_none() && opt_is(c.arg(j), "count") && j + 1 < argc {
            j += 1;
            match parse_at_least(c.arg(j), 1, damselfly_protocol::errors::COUNT_NOT_POSITIVE) {
                Ok(n) => count = Some(n as u64),
                Err(e) => return e,
            }
        } else {
            return Frame::error(SYNTAX);
        }
        j += 1;
    }
    let count = count.unwrap_or(1);
    for k in 2..where_index {
        let key = c.arg(k);
        let id = match write_list(c, key) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(id)) => id,
        };
        let len = list_at(c, id).map_or(0, List::len) as u64;
        let popped = edit_list(c, id, |list| pop_many(list, end, count));
        let pop_name: &'static [u8] = match end {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        };
        c.journal_as(vec![
            Bytes::from_static(pop_name),
            Bytes::copy_from_slice(key),
            Bytes::from(count.min(len).to_string()),
        ]);
        return Frame::Array(vec![
            Frame::Bulk(Bytes::copy_from_slice(key)),
            Frame::Array(popped),
        ]);
    }
    Frame::NullArray
}

#[cfg(test)]
mod tests;
