//! Key specs as Redis 7 declares them, and finding a command's keys with them
//! (Redis's getKeysUsingKeySpecs), so no command needs its own key-finding code.

use damselfly_protocol::string2ll;

/// Key spec flags, in Redis's order.
pub mod flag {
    pub const RO: u16 = 1;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;
    /// The keys a command may write.
    pub const WRITTEN: u16 = RW | OW | RM;

    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for keys begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After `keyword`, searched from `start_from` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
}

/// Which arguments from the beginning are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// Up to `last` (relative to the beginning; negative: from the end), every `step`; with
    /// `limit`, only the first 1/limit of the remaining arguments.
    Range { last: i32, step: i32, limit: i32 },
    /// A count at `keynum_index` (relative to the beginning), then that many keys from
    /// `first_key` (relative to the beginning), every `step`.
    Keynum {
        keynum_index: i32,
        first_key: i32,
        step: i32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Why the flags are what they are, where Redis explains it.
    pub notes: &'static str,
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

impl KeySpec {
    /// One key at `index`.
    pub const fn at(index: i32, flags: u16) -> KeySpec {
        KeySpec::range(index, 0, 1, 0, flags)
    }

    pub const fn range(index: i32, last: i32, step: i32, limit: i32, flags: u16) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin: Begin::Index(index),
            find: Find::Range { last, step, limit },
        }
    }

    pub const fn noted(mut self, notes: &'static str) -> KeySpec {
        self.notes = notes;
        self
    }

    pub const fn keynum(
        index: i32,
        keynum_index: i32,
        first_key: i32,
        step: i32,
        flags: u16,
    ) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin: Begin::Index(index),
            find: Find::Keynum {
                keynum_index,
                first_key,
                step,
            },
        }
    }

    pub const fn keyword(
        keyword: &'static str,
        start_from: i32,
        find: Find,
        flags: u16,
    ) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin: Begin::Keyword {
                keyword,
                start_from,
            },
            find,
        }
    }

    /// How many arguments apart its keys are.
    pub fn step(&self) -> usize {
        let step = match self.find {
            Find::Range { step, .. } | Find::Keynum { step, .. } => step,
        };
        step.max(1) as usize
    }

    /// The first key's position, or None when the keyword is absent.
    fn begin<T: AsRef<[u8]>>(&self, args: &[T]) -> Option<usize> {
        let argc = args.len() as i64;
        match self.begin {
            Begin::Index(index) => Some(index as usize),
            Begin::Keyword {
                keyword,
                start_from,
            } => {
                // Redis searches up to, not including, the last argument (forwards) or the
                // first one after the name (backwards).
                let backwards = start_from <= 0;
                let (mut i, end) = if backwards {
                    (argc + i64::from(start_from), 1)
                } else {
                    (i64::from(start_from), argc - 1)
                };
                while i != end && i >= 1 && i < argc {
                    if args[i as usize]
                        .as_ref()
                        .eq_ignore_ascii_case(keyword.as_bytes())
                    {
                        return Some(i as usize + 1);
                    }
                    i += if backwards { -1 } else { 1 };
                }
                None
            }
        }
    }

    /// The keys' range `(first, last, step)`: Ok(None) when the spec finds no key (absent
    /// keyword), Err when the arguments contradict it (a bad count, out of bounds).
    fn range_in<T: AsRef<[u8]>>(&self, args: &[T]) -> Result<Option<KeyRange>, ()> {
        let Some(first) = self.begin(args) else {
            return Ok(None);
        };
        let argc = args.len() as i64;
        let mut first = first as i64;
        let (last, step) = match self.find {
            Find::Range { last, step, limit } => {
                let last = if last >= 0 {
                    first + i64::from(last)
                } else if limit == 0 {
                    argc + i64::from(last)
                } else {
                    first + ((argc - first) / i64::from(limit) + i64::from(last))
                };
                (last, step)
            }
            Find::Keynum {
                keynum_index,
                first_key,
                step,
            } => {
                let at = first + i64::from(keynum_index);
                let count = usize::try_from(at)
                    .ok()
                    .and_then(|at| args.get(at))
                    .and_then(|count| string2ll(count.as_ref()))
                    .filter(|&count| count >= 0)
                    .ok_or(())?;
                first += i64::from(first_key);
                (first + count - 1, step)
            }
        };
        if last >= argc || last < first || first >= argc {
            return Err(());
        }
        Ok(Some(KeyRange {
            next: first as usize,
            last: last as usize,
            step: step.max(1) as usize,
            flags: self.flags,
        }))
    }
}

/// The most key specs a command may declare.
pub const MAX_KEY_SPECS: usize = 4;

#[derive(Debug, Clone, Copy, Default)]
struct KeyRange {
    next: usize,
    last: usize,
    step: usize,
    /// The flags of the spec that found these keys.
    flags: u16,
}

/// The positions of a command's keys, without allocating. Arguments that contradict a key
/// spec yield no keys at all, as in Redis: the command's own checks then answer them.
pub struct KeyPositions<'a, T> {
    ranges: [KeyRange; MAX_KEY_SPECS],
    count: usize,
    current: usize,
    _args: std::marker::PhantomData<&'a [T]>,
}

impl<'a, T: AsRef<[u8]>> KeyPositions<'a, T> {
    /// The keys of the specs whose flags meet `mask` (all arguments are checked against every
    /// spec all the same).
    pub(crate) fn new(specs: &'static [KeySpec], args: &'a [T], mask: u16) -> KeyPositions<'a, T> {
        let mut positions = KeyPositions {
            ranges: [KeyRange::default(); MAX_KEY_SPECS],
            count: 0,
            current: 0,
            _args: std::marker::PhantomData,
        };
        for spec in specs.iter().filter(|spec| spec.flags & flag::NOT_KEY == 0) {
            match spec.range_in(args) {
                Ok(Some(range)) if spec.flags & mask != 0 => {
                    positions.ranges[positions.count] = range;
                    positions.count += 1;
                }
                Ok(_) => {}
                Err(()) => {
                    positions.count = 0;
                    break;
                }
            }
        }
        positions
    }
}

impl<T> KeyPositions<'_, T> {
    /// The next key's position with the flags of the spec that found it (COMMAND GETKEYSANDFLAGS).
    pub fn next_with_flags(&mut self) -> Option<(usize, u16)> {
        while self.current < self.count {
            let range = &mut self.ranges[self.current];
            if range.next <= range.last {
                let position = range.next;
                range.next += range.step;
                return Some((position, range.flags));
            }
            self.current += 1;
        }
        None
    }
}

impl<T> Iterator for KeyPositions<'_, T> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        self.next_with_flags().map(|(position, _)| position)
    }
}

#[cfg(test)]
mod tests {
    use super::flag::*;
    use super::*;

    fn keys(specs: &'static [KeySpec], args: &str) -> Vec<usize> {
        let args: Vec<&[u8]> = args.split(' ').map(str::as_bytes).collect();
        KeyPositions::new(specs, &args, u16::MAX).collect()
    }

    #[test]
    fn one_key_and_ranges() {
        static GET: &[KeySpec] = &[KeySpec::at(1, RO | ACCESS)];
        assert_eq!(keys(GET, "get k"), vec![1]);
        static MSET: &[KeySpec] = &[KeySpec::range(1, -1, 2, 0, OW | UPDATE)];
        assert_eq!(keys(MSET, "mset a 1 b 2"), vec![1, 3]);
        static BLPOP: &[KeySpec] = &[KeySpec::range(1, -2, 1, 0, RW)];
        assert_eq!(keys(BLPOP, "blpop a b 0"), vec![1, 2]);
    }

    #[test]
    fn counted_keys_after_a_destination() {
        static ZUNIONSTORE: &[KeySpec] = &[
            KeySpec::at(1, OW | UPDATE),
            KeySpec::keynum(2, 0, 1, 1, RO | ACCESS),
        ];
        assert_eq!(keys(ZUNIONSTORE, "zunionstore d 2 a b"), vec![1, 3, 4]);
        // A count the arguments cannot hold, or no number: no keys at all, as Redis.
        assert!(keys(ZUNIONSTORE, "zunionstore d 3 a b").is_empty());
        assert!(keys(ZUNIONSTORE, "zunionstore d x a b").is_empty());
        assert!(keys(ZUNIONSTORE, "zunionstore d 0 a").is_empty());
    }

    #[test]
    fn keys_after_a_keyword() {
        static XREAD: &[KeySpec] = &[KeySpec::keyword(
            "STREAMS",
            1,
            Find::Range {
                last: -1,
                step: 1,
                limit: 2,
            },
            RO | ACCESS,
        )];
        assert_eq!(keys(XREAD, "xread count 1 streams a b 0 0"), vec![4, 5]);
        assert_eq!(keys(XREAD, "XREAD STREAMS a 0"), vec![2]);
        assert!(keys(XREAD, "xread count 1").is_empty());
    }
}
