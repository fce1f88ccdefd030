//! Ranges by rank, score and lex: ZRANGE and its older forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBY*. A score or lex range becomes a span of ranks, found in O(log n) on a skiplist.

use super::super::{opt_is, parse_i64, Call, SYNTAX};
use super::parse::{lex_range, score_range, LexRange, ScoreRange};
use super::{delete_if_empty, modify, read_zset, scored_reply, write_zset, zset_at};
use crate::types::ZSet;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// A parsed range of any kind.
enum Range<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// The half-open span of ascending ranks whose elements lie in a score range.
fn score_span(z: &ZSet, r: &ScoreRange) -> (usize, usize) {
    let start = z.count_while(|_, s| !r.above_min(s));
    let end = z.count_while(|_, s| r.below_max(s));
    (start, end.max(start))
}

/// The same for a lex range (meaningful when all scores are equal, as Redis documents).
fn lex_span(z: &ZSet, r: &LexRange) -> (usize, usize) {
    let start = z.count_while(|m, _| !r.above_min(m));
    let end = z.count_while(|m, _| r.below_max(m));
    (start, end.max(start))
}

/// Redis's rank normalisation: negative counts from the end; None when the range is empty.
fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// The elements a range selects, in reply order.
fn select(z: &ZSet, range: &Range, rev: bool, offset: i64, limit: i64) -> Vec<(Bytes, f64)> {
    let mut out = Vec::new();
    let push = |m: &[u8], s: f64| out.push((Bytes::copy_from_slice(m), s));
    let (start, end) = match range {
        Range::Rank(start, end) => {
            let Some((start, end)) = rank_span(z.len(), *start, *end) else {
                return out;
            };
            if rev {
                let last = z.len() - 1;
                z.for_ranks(last - end, last - start, true, push);
            } else {
                z.for_ranks(start, end, false, push);
            }
            return out;
        }
        Range::Score(r) => score_span(z, r),
        Range::Lex(r) => lex_span(z, r),
    };
    // A negative offset walks past every element in Redis: nothing is returned.
    let Ok(offset) = usize::try_from(offset) else {
        return out;
    };
    let available = (end - start).saturating_sub(offset);
    let take = usize::try_from(limit).map_or(available, |l| l.min(available));
    if take == 0 {
        return out;
    }
    if rev {
        let last = end - 1 - offset;
        z.for_ranks(last + 1 - take, last, true, push);
    } else {
        z.for_ranks(start + offset, start + offset + take - 1, false, push);
    }
    out
}

/// Redis's zrangeGenericCommand. `key_at` is the source key's position; `kind` and `rev` are
/// fixed by the legacy commands and None (chosen by options) for ZRANGE and ZRANGESTORE.
fn zrange_generic(
    c: &mut Call,
    key_at: usize,
    store: Option<&[u8]>,
    kind: Option<Kind>,
    rev: Option<bool>,
) -> Frame {
    let (mut kind, mut rev) = (kind, rev);
    let mut with_scores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut has_limit = false;
    let mut j = key_at + 3;
    while j < c.args.len() {
        let opt = c.arg(j);
        let left = c.args.len() - j - 1;
        if store.is_none() && opt_is(opt, "withscores") {
            with_scores = true;
        } else if opt_is(opt, "limit") && left >= 2 {
            match (parse_i64(c.arg(j + 1)), parse_i64(c.arg(j + 2))) {
                (Ok(o), Ok(l)) => (offset, limit) = (o, l),
                (Err(e), _) | (_, Err(e)) => return e,
            }
            has_limit = limit != -1;
            j += 2;
        } else if rev.is_none() && opt_is(opt, "rev") {
            rev = Some(true);
        } else if kind.is_none() && opt_is(opt, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && opt_is(opt, "byscore") {
            kind = Some(Kind::Score);
        } else {
            return Frame::error(SYNTAX);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let kind = kind.unwrap_or(Kind::Rank);
    if has_limit && kind == Kind::Rank {
        return Frame::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if with_scores && kind == Kind::Lex {
        return Frame::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        );
    }
    let (mut min, mut max) = (c.arg(key_at + 1), c.arg(key_at + 2));
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let range = match parse_range(kind, min, max) {
        Ok(range) => range,
        Err(e) => return e,
    };
    let items = match read_zset(c, c.arg(key_at)) {
        Err(e) => return e,
        Ok(None) => Vec::new(),
        Ok(Some(id)) => select(zset_at(c.db(), id), &range, rev, offset, limit),
    };
    match store {
        Some(dest) => {
            // Redis adds the elements one by one, in reply order, to a new set: a skiplist when
            // a rank range is known to be too long, a listpack otherwise (converted as it
            // grows). Which scores went through the listpack follows from that.
            let mut result = if kind == Kind::Rank {
                ZSet::for_expected(items.len())
            } else {
                ZSet::new()
            };
            for (member, score) in items {
                result.insert(&member, score);
            }
            store_result(c, dest, result)
        }
        None => scored_reply(items, with_scores),
    }
}

fn parse_range<'a>(kind: Kind, min: &'a [u8], max: &'a [u8]) -> Result<Range<'a>, Frame> {
    Ok(match kind {
        Kind::Rank => Range::Rank(parse_i64(min)?, parse_i64(max)?),
        Kind::Score => Range::Score(score_range(min, max)?),
        Kind::Lex => Range::Lex(lex_range(min, max)?),
    })
}

/// Stores a computed result at `dest` (deleting it when empty) and replies with its size.
pub(super) fn store_result(c: &mut Call, dest: &[u8], result: ZSet) -> Frame {
    let len = result.len();
    if len == 0 {
        c.db().delete(dest);
    } else {
        let now = c.now();
        c.db()
            .set_key(dest, Value::ZSet(Box::new(result)), false, now);
    }
    Frame::Integer(len as i64)
}

pub(super) fn zrange(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, None, None)
}

pub(super) fn zrangestore(c: &mut Call) -> Frame {
    let dest = c.arg(1);
    zrange_generic(c, 2, Some(dest), None, None)
}

pub(super) fn zrevrange(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, Some(Kind::Rank), Some(true))
}

pub(super) fn zrangebyscore(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, Some(Kind::Score), Some(false))
}

pub(super) fn zrevrangebyscore(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, Some(Kind::Score), Some(true))
}

pub(super) fn zrangebylex(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, Some(Kind::Lex), Some(false))
}

pub(super) fn zrevrangebylex(c: &mut Call) -> Frame {
    zrange_generic(c, 1, None, Some(Kind::Lex), Some(true))
}

pub(super) fn zcount(c: &mut Call) -> Frame {
    count_generic(c, Kind::Score)
}

pub(super) fn zlexcount(c: &mut Call) -> Frame {
    count_generic(c, Kind::Lex)
}

fn count_generic(c: &mut Call, kind: Kind) -> Frame {
    let range = match parse_range(kind, c.arg(2), c.arg(3)) {
        Ok(range) => range,
        Err(e) => return e,
    };
    let id = match read_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Integer(0),
        Ok(Some(id)) => id,
    };
    let z = zset_at(c.db(), id);
    let (start, end) = match &range {
        Range::Score(r) => score_span(z, r),
        Range::Lex(r) => lex_span(z, r),
        Range::Rank(..) => (0, 0),
    };
    Frame::Integer((end - start) as i64)
}

pub(super) fn zremrangebyrank(c: &mut Call) -> Frame {
    remrange_generic(c, Kind::Rank)
}

pub(super) fn zremrangebyscore(c: &mut Call) -> Frame {
    remrange_generic(c, Kind::Score)
}

pub(super) fn zremrangebylex(c: &mut Call) -> Frame {
    remrange_generic(c, Kind::Lex)
}

fn remrange_generic(c: &mut Call, kind: Kind) -> Frame {
    let range = match parse_range(kind, c.arg(2), c.arg(3)) {
        Ok(range) => range,
        Err(e) => return e,
    };
    let id = match write_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Integer(0),
        Ok(Some(id)) => id,
    };
    let z = zset_at(c.db(), id);
    let (start, end) = match &range {
        Range::Rank(start, end) => match rank_span(z.len(), *start, *end) {
            Some((start, end)) => (start, end + 1),
            None => (0, 0),
        },
        Range::Score(r) => score_span(z, r),
        Range::Lex(r) => lex_span(z, r),
    };
    if start == end {
        return Frame::Integer(0);
    }
    let removed = modify(c, id, |z| z.remove_ranks(start, end - 1));
    delete_if_empty(c, id);
    Frame::Integer(removed as i64)
}
