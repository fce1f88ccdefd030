//! Taking elements out: ZPOPMIN, ZPOPMAX, ZMPOP (the blocking forms are built on these), and
//! ZRANDMEMBER, which only reads.

use super::super::{opt_is, parse_i64, Call, SYNTAX};
use super::{delete_if_empty, modify, read_zset, scored_reply, write_zset, zset_at};
use bytes::Bytes;
use damselfly_protocol::Frame;
use std::collections::HashSet;

#[derive(Clone, Copy, PartialEq)]
enum End {
    Min,
    Max,
}

pub(in crate::commands) fn zpopmin(c: &mut Call) -> Frame {
    zpop_command(c, End::Min)
}

pub(in crate::commands) fn zpopmax(c: &mut Call) -> Frame {
    zpop_command(c, End::Max)
}

fn zpop_command(c: &mut Call, end: End) -> Frame {
    if c.args.len() > 3 {
        return Frame::error(SYNTAX);
    }
    let count = match c.args.get(2) {
        None => 1,
        Some(arg) => match parse_i64(arg) {
            Ok(n) if n >= 0 => n,
            _ => return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_POSITIVE),
        },
    };
    let args = c.args;
    match pop_first(c, &args[1..2], end, count) {
        Err(e) => e,
        Ok(None) => Frame::Array(Vec::new()),
        // Without a count the member and score stay flat even in RESP3, as in Redis.
        Ok(Some((_, items))) if c.args.len() == 2 => Frame::Array(
            items
                .into_iter()
                .flat_map(|(member, score)| [Frame::Bulk(member), Frame::Double(score)])
                .collect(),
        ),
        Ok(Some((_, items))) => scored_reply(items, true),
    }
}

/// The key popped from and its elements with their scores.
type Popped = (Bytes, Vec<(Bytes, f64)>);

/// Redis's genericZpopCommand: pops up to `count` elements from the first of `keys` that
/// exists. Ok(None) when none exists; the key popped from otherwise.
fn pop_first(c: &mut Call, keys: &[Bytes], end: End, count: i64) -> Result<Option<Popped>, Frame> {
    let mut found = None;
    for key in keys {
        if let Some(id) = write_zset(c, key)? {
            found = Some((key.clone(), id));
            break;
        }
    }
    let Some((key, id)) = found else {
        return Ok(None);
    };
    if count == 0 {
        return Ok(Some((key, Vec::new())));
    }
    let z = zset_at(c.db(), id);
    let take = usize::try_from(count).unwrap_or(usize::MAX).min(z.len());
    let mut items = Vec::with_capacity(take);
    let (start, last) = match end {
        End::Min => (0, take - 1),
        End::Max => (z.len() - take, z.len() - 1),
    };
    z.for_ranks(start, last, end == End::Max, |m, s| {
        items.push((Bytes::copy_from_slice(m), s))
    });
    modify(c, id, |z| z.remove_ranks(start, last));
    delete_if_empty(c, id);
    Ok(Some((key, items)))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]. Replicated as ZPOPMIN/ZPOPMAX of the key
/// it popped from, as Redis does.
pub(in crate::commands) fn zmpop(c: &mut Call) -> Frame {
    const NUMKEYS: &str = damselfly_protocol::errors::NUMKEYS_NOT_POSITIVE;
    let numkeys = match parse_i64(c.arg(1)) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Frame::error(NUMKEYS),
    };
    let where_at = match usize::try_from(numkeys + 2) {
        Ok(at) if at < c.args.len() => at,
        _ => return Frame::error(SYNTAX),
    };
    let end = if opt_is(c.arg(where_at), "min") {
        End::Min
    } else if opt_is(c.arg(where_at), "max") {
        End::Max
    } else {
        return Frame::error(SYNTAX);
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < c.args.len() {
        if count.is_none() && opt_is(c.arg(j), "count") && j + 1 < c.args.len() {
            match parse_i64(c.arg(j + 1)) {
                Ok(n) if n >= 1 => count = Some(n),
                _ => return Frame::error(damselfly_protocol::errors::COUNT_NOT_POSITIVE),
            }
            j += 2;
        } else {
            return Frame::error(SYNTAX);
        }
    }
    let count = count.unwrap_or(1);
    let args = c.args;
    match pop_first(c, &args[2..where_at], end, count) {
        Err(e) => e,
        Ok(None) => Frame::NullArray,
        Ok(Some((key, items))) => {
            let name = if end == End::Min {
                "ZPOPMIN"
            } else {
                "ZPOPMAX"
            };
            c.journal_as(vec![
                Bytes::from_static(name.as_bytes()),
                key.clone(),
                Bytes::from(count.to_string()),
            ]);
            let pairs = items
                .into_iter()
                .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
                .collect();
            Frame::Array(vec![Frame::Bulk(key), Frame::Array(pairs)])
        }
    }
}

pub(in crate::commands) fn zrandmember(c: &mut Call) -> Frame {
    if c.args.len() < 3 {
        return match read_zset(c, c.arg(1)) {
            Err(e) => e,
            Ok(None) => Frame::Null,
            Ok(Some(id)) => {
                let len = zset_at(c.db(), id).len();
                let rank = c.db().random_below(len);
                let mut member = Frame::Null;
                zset_at(c.db(), id).for_ranks(rank, rank, false, |m, _| {
                    member = Frame::Bulk(Bytes::copy_from_slice(m))
                });
                member
            }
        };
    }
    let count = match parse_i64(c.arg(2)) {
        Err(e) => return e,
        Ok(i64::MIN) => return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE_I64),
        Ok(n) => n,
    };
    let with_scores = match c.args.len() {
        3 => false,
        4 if opt_is(c.arg(3), "withscores") => true,
        _ => return Frame::error(SYNTAX),
    };
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Frame::error(damselfly_protocol::errors::OUT_OF_RANGE);
    }
    let id = match read_zset(c, c.arg(1)) {
        Err(e) => return e,
        Ok(None) => return Frame::Array(Vec::new()),
        Ok(Some(id)) => id,
    };
    let len = zset_at(c.db(), id).len();
    let ranks = random_ranks(c, len, count);
    let z = zset_at(c.db(), id);
    let mut items = Vec::with_capacity(ranks.len());
    if ranks.len() == len && count >= 0 {
        z.for_each(|m, s| items.push((Bytes::copy_from_slice(m), s)));
    } else {
        for rank in ranks {
            z.for_ranks(rank, rank, false, |m, s| {
                items.push((Bytes::copy_from_slice(m), s))
            });
        }
    }
    scored_reply(items, with_scores)
}

/// The ranks ZRANDMEMBER returns: `count` random ranks with repeats when negative, distinct
/// ones (at most `len`) when positive.
fn random_ranks(c: &mut Call, len: usize, count: i64) -> Vec<usize> {
    let wanted = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    if count < 0 {
        // Grown as it goes: a client-given count must not size an allocation up front.
        let mut ranks = Vec::new();
        for _ in 0..wanted {
            ranks.push(c.db().random_below(len));
        }
        return ranks;
    }
    if wanted >= len {
        return (0..len).collect();
    }
    if wanted * 3 > len {
        // Shuffle the first `wanted` places of all ranks.
        let mut ranks: Vec<usize> = (0..len).collect();
        for i in 0..wanted {
            let j = i + c.db().random_below(len - i);
            ranks.swap(i, j);
        }
        ranks.truncate(wanted);
        return ranks;
    }
    let mut seen = HashSet::with_capacity(wanted);
    let mut ranks = Vec::with_capacity(wanted);
    while ranks.len() < wanted {
        let rank = c.db().random_below(len);
        if seen.insert(rank) {
            ranks.push(rank);
        }
    }
    ranks
}
