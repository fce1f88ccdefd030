//! Redis's intset: the members sorted in one vector of the narrowest integer width that holds
//! them all (16, 32 or 64 bits). The width only ever grows, as in Redis.

/// Sorted integers, stored at the width the largest magnitude needs.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum IntSet {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::I16(Vec::new())
    }
}

/// Inserts into a sorted vector growing it by exactly one slot (an intset is small and Redis
/// reallocates it exactly as well). False when already present.
fn insert_sorted<T: Ord + Copy>(items: &mut Vec<T>, value: T) -> bool {
    match items.binary_search(&value) {
        Ok(_) => false,
        Err(at) => {
            items.reserve_exact(1);
            items.insert(at, value);
            true
        }
    }
}

fn remove_sorted<T: Ord + Copy>(items: &mut Vec<T>, value: T) -> bool {
    match items.binary_search(&value) {
        Ok(at) => {
            items.remove(at);
            true
        }
        Err(_) => false,
    }
}

fn widen<T: Copy + Into<i64>>(items: &[T]) -> Vec<i64> {
    let mut wide = Vec::with_capacity(items.len() + 1);
    wide.extend(items.iter().map(|&v| v.into()));
    wide
}

impl IntSet {
    pub fn len(&self) -> usize {
        match self {
            IntSet::I16(v) => v.len(),
            IntSet::I32(v) => v.len(),
            IntSet::I64(v) => v.len(),
        }
    }

    /// Bytes per member.
    fn width(&self) -> usize {
        match self {
            IntSet::I16(_) => 2,
            IntSet::I32(_) => 4,
            IntSet::I64(_) => 8,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        let capacity = match self {
            IntSet::I16(v) => v.capacity(),
            IntSet::I32(v) => v.capacity(),
            IntSet::I64(v) => v.capacity(),
        };
        capacity * self.width()
    }

    /// The member at sorted position `index` (< len).
    pub fn get(&self, index: usize) -> i64 {
        match self {
            IntSet::I16(v) => v[index].into(),
            IntSet::I32(v) => v[index].into(),
            IntSet::I64(v) => v[index],
        }
    }

    pub fn contains(&self, value: i64) -> bool {
        match self {
            IntSet::I16(v) => i16::try_from(value).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::I32(v) => i32::try_from(value).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::I64(v) => v.binary_search(&value).is_ok(),
        }
    }

    /// Adds `value`, widening every member first when it does not fit. False when present.
    pub fn insert(&mut self, value: i64) -> bool {
        let needed = if i16::try_from(value).is_ok() {
            2
        } else if i32::try_from(value).is_ok() {
            4
        } else {
            8
        };
        if needed > self.width() {
            self.widen_to(needed);
        }
        match self {
            IntSet::I16(v) => i16::try_from(value).is_ok_and(|x| insert_sorted(v, x)),
            IntSet::I32(v) => i32::try_from(value).is_ok_and(|x| insert_sorted(v, x)),
            IntSet::I64(v) => insert_sorted(v, value),
        }
    }

    fn widen_to(&mut self, width: usize) {
        let wide = match self {
            IntSet::I16(v) => widen(v),
            IntSet::I32(v) => widen(v),
            IntSet::I64(v) => std::mem::take(v),
        };
        *self = if width == 4 {
            // Every member fits in 32 bits here: they came from a 16-bit set.
            IntSet::I32(wide.iter().filter_map(|&v| i32::try_from(v).ok()).collect())
        } else {
            IntSet::I64(wide)
        };
    }

    pub fn remove(&mut self, value: i64) -> bool {
        match self {
            IntSet::I16(v) => i16::try_from(value).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::I32(v) => i32::try_from(value).is_ok_and(|x| remove_sorted(v, x)),
            IntSet::I64(v) => remove_sorted(v, value),
        }
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_and_stays_sorted() {
        let mut s = IntSet::default();
        assert!(s.insert(5));
        assert!(s.insert(-3));
        assert!(!s.insert(5));
        assert_eq!(s.width(), 2);
        assert!(s.insert(70_000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 70_000]);
        assert!(s.contains(70_000));
        assert!(!s.contains(4));
        assert!(s.remove(i64::MIN));
        assert!(!s.remove(i64::MIN));
        assert_eq!(s.width(), 8, "never narrows");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn narrow_sets_reject_wide_values() {
        let mut s = IntSet::default();
        s.insert(1);
        assert!(!s.contains(1 << 40));
        assert!(!s.remove(1 << 40));
    }
}
