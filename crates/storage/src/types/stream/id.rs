//! Stream entry ids (`<ms>-<seq>`) and their parsing with Redis's rules.

use bytes::Bytes;
use damselfly_protocol::string2ll;
use std::fmt;

/// An entry id: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The id right after this one (Redis's streamIncrID), None past the last possible id.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The id right before this one (streamDecrID), None before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// The reply form `ms-seq`.
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A parsed id argument: the id, and whether the sequence was given (false for `ms-*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParsedId {
    pub id: StreamId,
    pub seq_given: bool,
}

/// Longest id argument Redis accepts (its parse buffer is 128 bytes).
const MAX_ID_LEN: usize = 127;

/// Redis's streamGenericParseIDOrReply: `-`, `+` (unless `strict`), `ms`, `ms-seq`, and `ms-*`
/// when `allow_auto_seq`. A missing sequence becomes `missing_seq`.
pub fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Option<ParsedId> {
    if arg.len() > MAX_ID_LEN {
        return None;
    }
    // C string semantics: the argument ends at its first NUL.
    let text = arg
        .iter()
        .position(|&b| b == 0)
        .map_or(arg, |end| &arg[..end]);
    match text {
        b"-" if !strict => {
            return Some(ParsedId {
                id: StreamId::MIN,
                seq_given: true,
            })
        }
        b"+" if !strict => {
            return Some(ParsedId {
                id: StreamId::MAX,
                seq_given: true,
            })
        }
        b"-" | b"+" => return None,
        _ => {}
    }
    let (ms_part, seq_part) = match text.iter().position(|&b| b == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = string_to_u64(ms_part)?;
    let (seq, seq_given) = match seq_part {
        Some(b"*") if allow_auto_seq => (0, false),
        Some(part) => (string_to_u64(part)?, true),
        None => (missing_seq, true),
    };
    Some(ParsedId {
        id: StreamId::new(ms, seq),
        seq_given,
    })
}

/// Redis's string2ull: a strict integer must not be negative; otherwise strtoull's rules
/// (leading blanks, a sign, decimal digits to the end, no overflow).
fn string_to_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = string2ll(s) {
        return u64::try_from(v).ok();
    }
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let mut rest = &s[start..];
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in rest {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Option<StreamId> {
        parse_id(s.as_bytes(), 0, false, false).map(|p| p.id)
    }

    #[test]
    fn parses_like_redis() {
        assert_eq!(id("5"), Some(StreamId::new(5, 0)));
        assert_eq!(id("5-3"), Some(StreamId::new(5, 3)));
        assert_eq!(id("-"), Some(StreamId::MIN));
        assert_eq!(id("+"), Some(StreamId::MAX));
        assert_eq!(parse_id(b"+", 0, true, false), None);
        assert_eq!(id("-5"), None);
        assert_eq!(id("5-"), None);
        assert_eq!(id("5--1"), None);
        assert_eq!(id(" 5-+2"), Some(StreamId::new(5, 2)));
        assert_eq!(id("00-0"), Some(StreamId::MIN));
        assert_eq!(
            id("18446744073709551615-18446744073709551615"),
            Some(StreamId::MAX)
        );
        assert_eq!(id("18446744073709551616"), None);
        assert_eq!(id("5-*"), None);
        let auto = parse_id(b"5-*", 0, true, true).unwrap();
        assert_eq!((auto.id, auto.seq_given), (StreamId::new(5, 0), false));
        assert_eq!(id(&"1".repeat(128)), None);
    }

    #[test]
    fn steps() {
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
    }
}
