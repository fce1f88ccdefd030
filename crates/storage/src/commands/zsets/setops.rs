//! ZUNION, ZINTER, ZDIFF and their STORE forms (zunionInterDiffGenericCommand). Plain sets are
//! accepted as inputs with every score 1, as in Redis.

use super::super::{opt_is, parse_i64, Call, SYNTAX, WRONGTYPE};
use super::parse::score_or;
use super::range::store_result;
use super::scored_reply;
use crate::types::ZSet;
use crate::value::Value;
use bytes::Bytes;
use damselfly_protocol::Frame;
use hashbrown::HashMap;
use std::borrow::Cow;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// zunionInterAggregate: a sum of opposite infinities counts as 0.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// One input: a sorted set, a plain set turned into one, or nothing (missing key).
struct Source<'a> {
    set: Option<Cow<'a, ZSet>>,
    weight: f64,
}

impl Source<'_> {
    fn len(&self) -> usize {
        self.set.as_ref().map_or(0, |s| s.len())
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        self.set.as_ref().and_then(|s| s.score(member))
    }
}

/// A plain set's members with score 1. The set type exposes its members through its neutral
/// RDB form.
fn set_as_zset(value: &Value) -> Option<ZSet> {
    let Value::Set(set) = value else {
        return None;
    };
    match set.to_rdb() {
        damselfly_rdb::Value::Set(members) => Some(ZSet::from_pairs(
            members.into_iter().map(|m| (m, 1.0)).collect(),
        )),
        _ => Some(ZSet::new()),
    }
}

pub(in crate::commands) fn zunionstore(c: &mut Call) -> Frame {
    generic(c, Op::Union, true)
}

pub(in crate::commands) fn zinterstore(c: &mut Call) -> Frame {
    generic(c, Op::Inter, true)
}

pub(in crate::commands) fn zdiffstore(c: &mut Call) -> Frame {
    generic(c, Op::Diff, true)
}

pub(in crate::commands) fn zunion(c: &mut Call) -> Frame {
    generic(c, Op::Union, false)
}

pub(in crate::commands) fn zinter(c: &mut Call) -> Frame {
    generic(c, Op::Inter, false)
}

pub(in crate::commands) fn zdiff(c: &mut Call) -> Frame {
    generic(c, Op::Diff, false)
}

fn generic(c: &mut Call, op: Op, store: bool) -> Frame {
    let numkeys_at = if store { 2 } else { 1 };
    let numkeys = match parse_i64(c.arg(numkeys_at)) {
        Err(e) => return e,
        Ok(n) if n < 1 => {
            return Frame::error_owned(format!(
                "ERR at least 1 input key is needed for '{}' command",
                c.name
            ))
        }
        Ok(n) => n as u64,
    };
    let first_key = numkeys_at + 1;
    if numkeys > (c.args.len() - first_key) as u64 {
        return Frame::error(SYNTAX);
    }
    let numkeys = numkeys as usize;
    let mut ids = Vec::with_capacity(numkeys);
    for j in first_key..first_key + numkeys {
        let id = c.lookup_read(c.arg(j));
        if let Some(id) = id {
            if !matches!(c.db().slot(id).value, Value::ZSet(_) | Value::Set(_)) {
                return Frame::error(WRONGTYPE);
            }
        }
        ids.push(id);
    }
    let mut weights = vec![1.0; numkeys];
    let mut aggregate = Aggregate::Sum;
    let mut with_scores = false;
    let mut j = first_key + numkeys;
    while j < c.args.len() {
        let remaining = c.args.len() - j;
        let opt = c.arg(j);
        if op != Op::Diff && remaining > numkeys && opt_is(opt, "weights") {
            for (i, weight) in weights.iter_mut().enumerate() {
                match score_or(c.arg(j + 1 + i), "ERR weight value is not a float") {
                    Ok(w) => *weight = w,
                    Err(e) => return e,
                }
            }
            j += 1 + numkeys;
        } else if op != Op::Diff && remaining >= 2 && opt_is(opt, "aggregate") {
            let name = c.arg(j + 1);
            aggregate = if opt_is(name, "sum") {
                Aggregate::Sum
            } else if opt_is(name, "min") {
                Aggregate::Min
            } else if opt_is(name, "max") {
                Aggregate::Max
            } else {
                return Frame::error(SYNTAX);
            };
            j += 2;
        } else if !store && opt_is(opt, "withscores") {
            with_scores = true;
            j += 1;
        } else {
            return Frame::error(SYNTAX);
        }
    }
    let db = &c.dbs[c.db];
    let mut sources: Vec<Source> = ids
        .iter()
        .zip(&weights)
        .map(|(id, &weight)| {
            let set = id.map(|id| match &db.slot(id).value {
                Value::ZSet(z) => Cow::Borrowed(&**z),
                other => Cow::Owned(set_as_zset(other).unwrap_or_default()),
            });
            Source { set, weight }
        })
        .collect();
    if op != Op::Diff {
        // Smallest first, as Redis orders them: it decides the order of float additions.
        sources.sort_by_key(Source::len);
    }
    let items = match op {
        Op::Union => union(&sources, aggregate),
        Op::Inter => inter(&sources, aggregate),
        Op::Diff => diff(&sources),
    };
    if store {
        let pairs = items.into_iter().map(|(m, s)| (m.to_vec(), s)).collect();
        store_result(c, c.arg(1), ZSet::from_pairs(pairs))
    } else {
        scored_reply(items, with_scores)
    }
}

/// Sorts by (score, member), the order of a sorted set.
fn sorted(mut items: Vec<(Bytes, f64)>) -> Vec<(Bytes, f64)> {
    items.sort_by(|a, b| crate::types::zset::cmp_entry(a.1, &a.0, b.1, &b.0));
    items
}

/// A weighted score, where 0 * inf counts as 0.
fn weighted(weight: f64, score: f64) -> f64 {
    let value = weight * score;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

fn union(sources: &[Source], aggregate: Aggregate) -> Vec<(Bytes, f64)> {
    let mut acc: HashMap<Bytes, f64> = HashMap::new();
    for source in sources {
        let Some(set) = &source.set else { continue };
        set.for_each(|member, score| {
            let value = weighted(source.weight, score);
            match acc.get_mut(member) {
                Some(target) => aggregate.apply(target, value),
                None => {
                    acc.insert(Bytes::copy_from_slice(member), value);
                }
            }
        });
    }
    sorted(acc.into_iter().collect())
}

fn inter(sources: &[Source], aggregate: Aggregate) -> Vec<(Bytes, f64)> {
    let mut out = Vec::new();
    let Some((first, others)) = sources.split_first() else {
        return out;
    };
    let Some(set) = &first.set else {
        return out;
    };
    set.for_each(|member, score| {
        let mut total = weighted(first.weight, score);
        for other in others {
            match other.score(member) {
                // Unlike the first input's, these products are not cleaned of NaN.
                Some(s) => aggregate.apply(&mut total, s * other.weight),
                None => return,
            }
        }
        out.push((Bytes::copy_from_slice(member), total));
    });
    sorted(out)
}

fn diff(sources: &[Source]) -> Vec<(Bytes, f64)> {
    let mut out = Vec::new();
    let Some((first, others)) = sources.split_first() else {
        return out;
    };
    if let Some(set) = &first.set {
        set.for_each(|member, score| {
            if others.iter().all(|o| o.score(member).is_none()) {
                out.push((Bytes::copy_from_slice(member), score));
            }
        });
    }
    out
}
