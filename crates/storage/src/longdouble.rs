//! Emulation of the x87 80-bit `long double` that Redis uses for INCRBYFLOAT: parsing as
//! Redis's string2ld (glibc strtold, correctly rounded), addition with round-to-nearest-even,
//! and `%.17Lf` formatting with trailing zeros removed (util.c ld2string, LD_STR_HUMAN).
//!
//! Values are kept exact as `mant * 2^exp` with a 64-bit mantissa; arithmetic on the exact values
//! uses big integers, then rounds once, which is what the hardware does.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};
use std::cmp::Ordering;

/// Exponent of the lowest mantissa bit of the smallest (subnormal) values.
const MIN_EXP: i64 = -16445;
/// Largest exponent: values stay below 2^16384.
const MAX_EXP: i64 = 16320;
/// Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are rejected.
const MAX_CHARS: usize = 5 * 1024;
/// Digits after the point in `%.17Lf`.
const FRAC_DIGITS: u32 = 17;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum F80 {
    /// `(-1)^neg * mant * 2^exp`; a zero mantissa is a (signed) zero.
    Finite {
        neg: bool,
        mant: u64,
        exp: i64,
    },
    Inf {
        neg: bool,
    },
    Nan,
}

impl F80 {
    pub fn from_i64(v: i64) -> F80 {
        F80::Finite {
            neg: v < 0,
            mant: v.unsigned_abs(),
            exp: 0,
        }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, F80::Finite { .. })
    }
}

/// Rounds the exact value `(-1)^neg * (n + sticky_fraction) * 2^e` to the nearest F80, ties to
/// even.
fn round(neg: bool, n: &BigUint, e: i64, sticky: bool) -> F80 {
    if n.is_zero() {
        return F80::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let bits = n.bits() as i64;
    let q = (e + bits - 64).max(MIN_EXP);
    let shift = q - e;
    let (mant, up) = if shift <= 0 {
        ((n << (-shift) as u64).to_u128().unwrap_or(0), false)
    } else {
        let shift = shift as u64;
        let m = n >> shift;
        let rem = n - (&m << shift);
        let half = BigUint::one() << (shift - 1);
        let up = match rem.cmp(&half) {
            Ordering::Greater => true,
            Ordering::Equal => sticky || m.bit(0),
            Ordering::Less => false,
        };
        (m.to_u128().unwrap_or(0), up)
    };
    let mut mant = mant + u128::from(up);
    let mut q = q;
    if mant >> 64 != 0 {
        mant >>= 1;
        q += 1;
    }
    if q > MAX_EXP {
        return F80::Inf { neg };
    }
    F80::Finite {
        neg,
        mant: mant as u64,
        exp: q,
    }
}

fn pow10(n: u32) -> BigUint {
    BigUint::from(10u32).pow(n)
}

/// The sum as x87 computes it.
pub fn add(a: F80, b: F80) -> F80 {
    match (a, b) {
        (F80::Nan, _) | (_, F80::Nan) => F80::Nan,
        (F80::Inf { neg: x }, F80::Inf { neg: y }) => {
            if x == y {
                a
            } else {
                F80::Nan
            }
        }
        (F80::Inf { .. }, _) => a,
        (_, F80::Inf { .. }) => b,
        (
            F80::Finite {
                neg: na,
                mant: ma,
                exp: ea,
            },
            F80::Finite {
                neg: nb,
                mant: mb,
                exp: eb,
            },
        ) => {
            if ma == 0 && mb == 0 {
                return F80::Finite {
                    neg: na && nb,
                    mant: 0,
                    exp: 0,
                };
            }
            let e = ea.min(eb);
            let x = BigUint::from(ma) << (ea - e) as u64;
            let y = BigUint::from(mb) << (eb - e) as u64;
            if na == nb {
                round(na, &(x + y), e, false)
            } else {
                match x.cmp(&y) {
                    Ordering::Equal => F80::Finite {
                        neg: false,
                        mant: 0,
                        exp: 0,
                    },
                    Ordering::Greater => round(na, &(x - y), e, false),
                    Ordering::Less => round(nb, &(y - x), e, false),
                }
            }
        }
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Digits `[0-9a-f]*` starting at `i` in the given radix; returns the end.
fn scan_digits(s: &[u8], mut i: usize, radix: u32) -> usize {
    while i < s.len() && (s[i] as char).is_digit(radix) {
        i += 1;
    }
    i
}

/// Parses an optional-signed exponent at `i` (after 'e' or 'p'); None when no digit follows, in
/// which case strtold leaves the marker unconsumed.
fn parse_exponent(s: &[u8], i: usize) -> Option<(i64, usize)> {
    let mut j = i;
    let neg = match s.get(j) {
        Some(b'-') => {
            j += 1;
            true
        }
        Some(b'+') => {
            j += 1;
            false
        }
        _ => false,
    };
    let end = scan_digits(s, j, 10);
    if end == j {
        return None;
    }
    let mut v: i64 = 0;
    for &c in &s[j..end] {
        v = (v * 10 + i64::from(c - b'0')).min(1_000_000_000);
    }
    Some((if neg { -v } else { v }, end))
}

/// Redis's string2ld: the whole input must be one number as strtold reads it, no leading space,
/// no overflow, no underflow to zero, not NaN. Infinity is accepted.
pub fn parse(s: &[u8]) -> Option<F80> {
    if s.is_empty() || s.len() >= MAX_CHARS || is_c_space(s[0]) {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(F80::Inf { neg });
    }
    if body.len() >= 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        return parse_hex(neg, &body[2..]);
    }
    parse_decimal(neg, body)
}

fn parse_decimal(neg: bool, s: &[u8]) -> Option<F80> {
    let int_end = scan_digits(s, 0, 10);
    let mut digits: Vec<u8> = s[..int_end].to_vec();
    let mut i = int_end;
    let mut frac_len = 0i64;
    if s.get(i) == Some(&b'.') {
        let frac_end = scan_digits(s, i + 1, 10);
        frac_len = (frac_end - i - 1) as i64;
        digits.extend_from_slice(&s[i + 1..frac_end]);
        i = frac_end;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exp10 = -frac_len;
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let (e, end) = parse_exponent(s, i + 1)?;
        exp10 += e;
        i = end;
    }
    if i != s.len() {
        return None;
    }
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        return Some(F80::Finite {
            neg,
            mant: 0,
            exp: 0,
        });
    };
    let digits = &digits[first..];
    let magnitude = digits.len() as i64 + exp10; // value < 10^magnitude
    if magnitude > 4934 {
        return None; // overflow
    }
    if magnitude < -4952 {
        return None; // underflow to zero
    }
    let d = BigUint::parse_bytes(digits, 10)?;
    let r = if exp10 >= 0 {
        round(neg, &(d * pow10(exp10 as u32)), 0, false)
    } else {
        let den = pow10((-exp10) as u32);
        let scale = (den.bits() as i64 - d.bits() as i64 + 66).max(0);
        let (q, rem) = (d << scale as u64).div_rem(&den);
        round(neg, &q, -scale, !rem.is_zero())
    };
    accept(r)
}

fn parse_hex(neg: bool, s: &[u8]) -> Option<F80> {
    let int_end = scan_digits(s, 0, 16);
    let mut digits: Vec<u8> = s[..int_end].to_vec();
    let mut i = int_end;
    let mut frac_len = 0i64;
    if s.get(i) == Some(&b'.') {
        let frac_end = scan_digits(s, i + 1, 16);
        frac_len = (frac_end - i - 1) as i64;
        digits.extend_from_slice(&s[i + 1..frac_end]);
        i = frac_end;
    }
    if digits.is_empty() {
        // "0x" without digits: strtold reads just the "0" and stops at the 'x'.
        return None;
    }
    let mut exp2 = -4 * frac_len;
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let (e, end) = parse_exponent(s, i + 1)?;
        exp2 += e;
        i = end;
    }
    if i != s.len() {
        return None;
    }
    let h = BigUint::parse_bytes(&digits, 16)?;
    if h.is_zero() {
        return Some(F80::Finite {
            neg,
            mant: 0,
            exp: 0,
        });
    }
    let top = h.bits() as i64 + exp2;
    if top > 16385 {
        return None;
    }
    if top < MIN_EXP - 2 {
        return None;
    }
    accept(round(neg, &h, exp2, false))
}

/// strtold's range errors: overflow to infinity and underflow to zero are rejected.
fn accept(r: F80) -> Option<F80> {
    match r {
        F80::Finite { mant: 0, .. } | F80::Inf { .. } | F80::Nan => None,
        _ => Some(r),
    }
}

/// `%.17Lf` with trailing zeros (and a trailing point) removed, "-0" shown as "0".
/// Infinite values print as "inf"/"-inf" as ld2string does.
pub fn format_human(x: F80) -> String {
    let (neg, mant, exp) = match x {
        F80::Finite { neg, mant, exp } => (neg, mant, exp),
        F80::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
        F80::Nan => return "nan".into(),
    };
    let scaled = BigUint::from(mant) * pow10(FRAC_DIGITS);
    let r = if exp >= 0 {
        scaled << exp as u64
    } else {
        let shift = (-exp) as u64;
        let q = &scaled >> shift;
        let rem = &scaled - (&q << shift);
        let half = BigUint::one() << (shift - 1);
        match rem.cmp(&half) {
            Ordering::Greater => q + 1u32,
            Ordering::Equal if q.bit(0) => q + 1u32,
            _ => q,
        }
    };
    let mut digits = r.to_str_radix(10);
    let width = FRAC_DIGITS as usize + 1;
    if digits.len() < width {
        digits = format!("{}{}", "0".repeat(width - digits.len()), digits);
    }
    let point = digits.len() - FRAC_DIGITS as usize;
    let mut out = String::with_capacity(digits.len() + 2);
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..point]);
    let frac = digits[point..].trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if out == "-0" {
        out = "0".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> F80 {
        parse(s.as_bytes()).unwrap_or_else(|| panic!("parse {s}"))
    }

    fn incr(a: &str, b: &str) -> String {
        format_human(add(p(a), p(b)))
    }

    #[test]
    fn formats_like_redis() {
        // Observed on redis-server 7.0.15.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("1", "2"), "3");
        assert_eq!(incr("0", "0.000003814697265625"), "0.00000381469726562");
        assert_eq!(incr("0.00000381469726562", "0x1p3"), "8.00000381469726562");
        assert_eq!(incr("0", "-1e-20"), "0");
        assert_eq!(incr("0", "5.0e3"), "5000");
        assert_eq!(incr("0", "3.0000000000000000001"), "3");
        assert_eq!(incr("0", "1.23456789012345678"), "1.23456789012345678");
        assert_eq!(incr("1.23456789012345678", "-1.23456789012345678"), "0");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("1e1", "1"), "11");
        assert_eq!(incr("0", "1e-4940"), "0");
        assert_eq!(
            incr("0", "1e300"),
            "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"
        );
        assert_eq!(
            format_human(F80::from_i64(i64::MIN)),
            "-9223372036854775808"
        );
        assert_eq!(format_human(p("-0")), "0");
        assert_eq!(format_human(p("-1.5")), "-1.5");
    }

    #[test]
    fn parse_rules() {
        for bad in [
            "", " 1", "1 ", "1e", "1e+", ".", "-", "nan", "NaN", "1e5000", "1e-5000", "1e-4960",
            "0x", "0x.", "0xg", "abc", "1.2.3", "infinit", "--1", "1\0",
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        for good in [
            "+1.5",
            ".5",
            "1.",
            "inf",
            "-Infinity",
            "0x1p3",
            "0x1.8",
            "0X.8P1",
            "1E3",
            "0e-99999",
            "00012",
        ] {
            assert!(parse(good.as_bytes()).is_some(), "{good:?}");
        }
        assert!(parse(&[b'1'; 5120]).is_none());
        assert_eq!(add(p("inf"), p("1")), F80::Inf { neg: false });
        assert_eq!(add(p("inf"), p("-inf")), F80::Nan);
        assert!(!add(p("1e4932"), p("1e4932")).is_finite());
        // Largest finite value parses; above it overflows.
        assert!(parse(b"1.18973149535723176502e+4932").is_some());
        assert!(parse(b"1.18973149535723176509e+4932").is_none());
    }

    #[test]
    fn rounding_is_exact() {
        // 2^64 + 1 is not representable: ties to even gives 2^64.
        let x = add(F80::from_i64(i64::MAX), F80::from_i64(i64::MAX));
        assert_eq!(format_human(add(x, p("3"))), "18446744073709551616");
        assert_eq!(format_human(add(x, p("2"))), "18446744073709551616");
        assert_eq!(format_human(add(x, p("5"))), "18446744073709551620");
    }
}
