//! Parsing of scores and ranges with the exact acceptance rules of Redis 7.0: C's `strtod` for
//! numbers, `(`/`[` prefixes for open and closed bounds, `-`/`+` for the lex extremes.

use super::super::cstr;
use damselfly_protocol::Frame;

pub(super) const NOT_FLOAT: &str = damselfly_protocol::errors::NOT_A_FLOAT;
pub(super) const SCORE_RANGE: &str = "ERR min or max is not a float";
pub(super) const LEX_RANGE: &str = "ERR min or max not valid string range item";

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// C's `strtod` on `s`: the value of its longest valid prefix (after leading white space), the
/// number of bytes consumed (0 when there is no number) and whether the value was out of range
/// (ERANGE: overflow to infinity or underflow to zero).
fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = s.iter().take_while(|&&b| is_c_space(b)).count();
    let start = i;
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = &s[i..];
    let sign = if negative { -1.0 } else { 1.0 };
    let starts_with =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    if starts_with(b"infinity") {
        return (sign * f64::INFINITY, i + 8, false);
    }
    if starts_with(b"inf") {
        return (sign * f64::INFINITY, i + 3, false);
    }
    if starts_with(b"nan") {
        return (f64::NAN, i + 3, false);
    }
    if rest.len() > 2 && rest[..2].eq_ignore_ascii_case(b"0x") {
        if let Some((value, used)) = parse_hex(&rest[2..]) {
            return (sign * value, i + 2 + used, false);
        }
    }
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = digits(i);
    let mut end = i + int_digits;
    let mut frac_digits = 0;
    if s.get(end) == Some(&b'.') {
        frac_digits = digits(end + 1);
        if int_digits + frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return (0.0, 0, false);
    }
    let mantissa_end = end;
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp_digits = digits(e);
        if exp_digits > 0 {
            end = e + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[start..end]).unwrap_or("0");
    let value: f64 = text.parse().unwrap_or(0.0);
    let nonzero_mantissa = s[i..mantissa_end].iter().any(|b| (b'1'..=b'9').contains(b));
    let out_of_range = value.is_infinite() || (value == 0.0 && nonzero_mantissa);
    (value, end, out_of_range)
}

/// Hex digits with an optional fraction and binary exponent (after "0x"): (value, bytes used).
fn parse_hex(s: &[u8]) -> Option<(f64, usize)> {
    let mut value = 0.0f64;
    let mut scale = 0i32;
    let mut i = 0;
    let mut any = false;
    let mut in_fraction = false;
    while i < s.len() {
        match (s[i] as char).to_digit(16) {
            Some(d) => {
                value = value * 16.0 + f64::from(d);
                if in_fraction {
                    scale -= 4;
                }
                any = true;
            }
            None if s[i] == b'.' && !in_fraction => in_fraction = true,
            None => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut e = i + 1;
        let negative = s.get(e) == Some(&b'-');
        if matches!(s.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let n = s[e..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let exp: i32 = std::str::from_utf8(&s[e..e + n])
                .ok()?
                .parse()
                .unwrap_or(i32::MAX / 2);
            scale = scale.saturating_add(if negative { -exp } else { exp });
            i = e + n;
        }
    }
    Some((value * 2f64.powi(scale), i))
}

/// Redis's getDoubleFromObject: the whole argument must be a number, with no leading space,
/// not NaN and not out of range.
pub(super) fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let (value, used, out_of_range) = strtod(arg);
    (used == arg.len() && !out_of_range && !value.is_nan()).then_some(value)
}

/// parse_score with a given error reply.
pub(super) fn score_or(arg: &[u8], error: &'static str) -> Result<f64, Frame> {
    parse_score(arg).ok_or_else(|| Frame::error(error))
}

/// One end of a score range.
#[derive(Clone, Copy, Debug)]
pub(super) struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A score interval (zrangespec).
#[derive(Clone, Copy, Debug)]
pub(super) struct ScoreRange {
    pub min: ScoreBound,
    pub max: ScoreBound,
}

impl ScoreRange {
    pub fn above_min(&self, score: f64) -> bool {
        if self.min.exclusive {
            score > self.min.value
        } else {
            score >= self.min.value
        }
    }

    pub fn below_max(&self, score: f64) -> bool {
        if self.max.exclusive {
            score < self.max.value
        } else {
            score <= self.max.value
        }
    }
}

/// zslParseRange's rule for one bound: C-string semantics (a NUL ends the text), leading space
/// allowed, an empty number reads as 0.
fn score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let text = cstr(arg);
    let (exclusive, number) = match text.first() {
        Some(b'(') => (true, &text[1..]),
        _ => (false, text),
    };
    let (value, used, _) = strtod(number);
    (used == number.len() && !value.is_nan()).then_some(ScoreBound { value, exclusive })
}

pub(super) fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Frame> {
    match (score_bound(min), score_bound(max)) {
        (Some(min), Some(max)) => Ok(ScoreRange { min, max }),
        _ => Err(Frame::error(SCORE_RANGE)),
    }
}

/// One end of a lex range.
#[derive(Clone, Copy, Debug)]
pub(super) enum LexBound<'a> {
    NegInf,
    PosInf,
    Value { member: &'a [u8], exclusive: bool },
}

/// A member interval (zlexrangespec).
#[derive(Clone, Copy, Debug)]
pub(super) struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl LexRange<'_> {
    pub fn above_min(&self, member: &[u8]) -> bool {
        match self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Value {
                member: m,
                exclusive,
            } => {
                if exclusive {
                    member > m
                } else {
                    member >= m
                }
            }
        }
    }

    pub fn below_max(&self, member: &[u8]) -> bool {
        match self.max {
            LexBound::PosInf => true,
            LexBound::NegInf => false,
            LexBound::Value {
                member: m,
                exclusive,
            } => {
                if exclusive {
                    member < m
                } else {
                    member <= m
                }
            }
        }
    }
}

fn lex_bound(arg: &[u8]) -> Option<LexBound<'_>> {
    match arg.first() {
        Some(b'+') if cstr(arg).len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if cstr(arg).len() == 1 => Some(LexBound::NegInf),
        Some(b'(') => Some(LexBound::Value {
            member: &arg[1..],
            exclusive: true,
        }),
        Some(b'[') => Some(LexBound::Value {
            member: &arg[1..],
            exclusive: false,
        }),
        _ => None,
    }
}

pub(super) fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, Frame> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Frame::error(LEX_RANGE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_get_double() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"1e5"), Some(1e5));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        for bad in [
            &b"nan"[..],
            b"",
            b" 1",
            b"1 ",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1e",
            b".",
            b"1\x002",
        ] {
            assert_eq!(parse_score(bad), None, "{bad:?}");
        }
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
    }

    #[test]
    fn ranges_follow_zsl_parse_range() {
        let r = score_range(b"(1", b"+inf").unwrap();
        assert!(r.min.exclusive && !r.max.exclusive);
        assert!(!r.above_min(1.0) && r.above_min(1.5) && r.below_max(f64::INFINITY));
        let r = score_range(b"", b"( 2").unwrap();
        assert_eq!(r.min.value, 0.0);
        assert_eq!(r.max.value, 2.0);
        assert!(score_range(b"1e400", b"1\0x").is_ok());
        assert!(score_range(b"x", b"1").is_err());
        assert!(score_range(b"(nan", b"1").is_err());
        assert!(lex_range(b"-", b"+").is_ok());
        assert!(lex_range(b"a", b"+").is_err());
        assert!(lex_range(b"", b"+").is_err());
        assert!(lex_range(b"++", b"+").is_err());
        let r = lex_range(b"(a", b"[c").unwrap();
        assert!(!r.above_min(b"a") && r.above_min(b"b") && r.below_max(b"c") && !r.below_max(b"d"));
    }
}
