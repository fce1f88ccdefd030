//! SSCAN's arguments, parsed as Redis's parseScanCursorOrReply and scanGenericCommand do.

use crate::commands::{cstr, opt_is, parse_i64, SYNTAX};
use damselfly_protocol::Frame;

const INVALID_CURSOR: &str = damselfly_protocol::errors::INVALID_CURSOR;

/// A cursor as C's strtoul reads it: optional sign (a negative one wraps), decimal digits,
/// nothing after; no leading space; an empty string is cursor 0.
pub(super) fn parse_cursor(arg: &[u8]) -> Result<u64, Frame> {
    let text = cstr(arg);
    let invalid = || Frame::error(INVALID_CURSOR);
    if text.first().is_some_and(u8::is_ascii_whitespace) {
        return Err(invalid());
    }
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        // strtoul consumed nothing: only a fully empty argument ends at the terminator.
        return if text.is_empty() {
            Ok(0)
        } else {
            Err(invalid())
        };
    }
    let mut value = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(invalid());
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

pub(super) struct ScanOptions<'a> {
    pub count: usize,
    /// None when absent or `*`.
    pub pattern: Option<&'a [u8]>,
}

/// COUNT and MATCH (TYPE is only for SCAN over the keyspace).
pub(super) fn parse_options<'a>(args: &[&'a [u8]]) -> Result<ScanOptions<'a>, Frame> {
    let mut options = ScanOptions {
        count: 10,
        pattern: None,
    };
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if opt_is(args[i], "count") && has_value {
            let count = parse_i64(args[i + 1])?;
            if count < 1 {
                return Err(Frame::error(SYNTAX));
            }
            options.count = usize::try_from(count).unwrap_or(usize::MAX);
        } else if opt_is(args[i], "match") && has_value {
            let pattern = args[i + 1];
            options.pattern = (pattern != b"*").then_some(pattern);
        } else {
            return Err(Frame::error(SYNTAX));
        }
        i += 2;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_as_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+7").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"12\0x").ok(), Some(12));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"+",
            b"-",
            b"1.0",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
