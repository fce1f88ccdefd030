//! Set intersection, union and difference over sets already looked up (a missing key is None,
//! an empty set), producing results the way Redis 7.0's t_set.c does, including the encoding
//! of a stored result.

use crate::types::Set;

/// Whether two references are the same stored set (the same key given twice).
fn same(a: &Set, b: &Set) -> bool {
    std::ptr::eq(a, b)
}

/// Calls `f` with each member of the intersection of `sets` (all present) until it returns
/// false. Iterates the smallest set, as Redis does.
pub(crate) fn for_each_common(sets: &[&Set], mut f: impl FnMut(&[u8]) -> bool) {
    let mut order: Vec<&Set> = sets.to_vec();
    order.sort_by_key(|s| s.len());
    let Some((&first, rest)) = order.split_first() else {
        return;
    };
    let mut going = true;
    first.for_each(|member| {
        if going && rest.iter().all(|s| same(s, first) || s.contains(member)) {
            going = f(member);
        }
    });
}

/// The intersection as a set built member by member, as SINTERSTORE stores it.
pub(crate) fn intersection(sets: &[&Set]) -> Set {
    let mut result = Set::default();
    for_each_common(sets, |member| {
        result.add(member);
        true
    });
    result
}

/// The intersection's size, stopping at `limit` (0: no limit), for SINTERCARD.
pub(crate) fn intersection_size(sets: &[&Set], limit: u64) -> u64 {
    let mut count = 0u64;
    for_each_common(sets, |_| {
        count += 1;
        limit == 0 || count < limit
    });
    count
}

pub(crate) fn union(sets: &[Option<&Set>]) -> Set {
    let mut result = Set::default();
    for set in sets.iter().flatten() {
        set.for_each(|member| {
            result.add(member);
        });
    }
    result
}

/// The members of the first set in none of the others. Redis picks one of two algorithms by
/// the expected work; the second copies the whole first set before removing, which decides
/// the result's encoding, so both are reproduced.
pub(crate) fn difference(sets: &[Option<&Set>]) -> Set {
    let Some((Some(first), rest)) = sets.split_first() else {
        return Set::default();
    };
    let present = || sets.iter().flatten();
    let copy_work = present().map(|s| s.len()).sum::<usize>();
    let probe_work = present().count() * first.len() / 2;
    let mut result = Set::default();
    if probe_work <= copy_work {
        first.for_each(|member| {
            let elsewhere = rest
                .iter()
                .flatten()
                .any(|s| same(s, first) || s.contains(member));
            if !elsewhere {
                result.add(member);
            }
        });
    } else {
        first.for_each(|member| {
            result.add(member);
        });
        for set in rest.iter().flatten() {
            if result.is_empty() {
                break;
            }
            set.for_each(|member| {
                result.remove(member);
            });
        }
    }
    result
}
