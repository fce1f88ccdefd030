//! Number <-> text conversions with Redis's rules.

/// Parses `s` if it is the canonical decimal form of an `i64`, the way Redis's `string2ll`
/// decides (no `+`, no leading zeros, no `-0`, no spaces). Such strings are stored as integers in
/// listpacks, ziplists and intsets.
pub(crate) fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Formats a score as Redis 7.0 stores it in a listpack (`d2string`): integral values within
/// ±2^52 as integers, infinities as `inf`/`-inf`, everything else as C's `%.17g`.
pub(crate) fn format_score(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    const LIMIT: f64 = (1u64 << 52) as f64;
    if v.fract() == 0.0 && v > -(LIMIT - 1.0) && v < LIMIT {
        return (v as i64).to_string();
    }
    format_g17(v)
}

/// C's `printf("%.17g", v)` for a finite, non-zero `v`.
fn format_g17(v: f64) -> String {
    const PRECISION: i32 = 17;
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exp) {
        let fixed = format!("{:.*}", (PRECISION - 1 - exp) as usize, v);
        return strip_fraction_zeros(&fixed).to_string();
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{}e{sign}{:02}", strip_fraction_zeros(mantissa), exp.abs())
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Parses a score written as text (legacy zset encodings, listpack scores).
pub(crate) fn parse_score(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    match text {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "+1",
            " 1",
            "9223372036854775808",
            "1.0",
        ] {
            assert_eq!(parse_canonical_i64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn scores_read_back_exactly() {
        for v in [
            1.5,
            -2.0,
            1e300,
            0.1,
            -0.0,
            3.0,
            f64::INFINITY,
            1e-300,
            9007199254740993.0,
        ] {
            let s = format_score(v);
            let back = parse_score(s.as_bytes()).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{s}");
        }
        assert_eq!(format_score(3.0), "3");
        assert_eq!(format_score(2.5), "2.5");
        assert_eq!(format_score(0.1), "0.10000000000000001");
        assert_eq!(format_score(1e300), "1.0000000000000001e+300");
        assert_eq!(format_score(1e-5), "1.0000000000000001e-05");
        assert_eq!(format_score(1e17), "1e+17");
        assert_eq!(format_score(4503599627370496.0), "4503599627370496");
        assert_eq!(format_score(-4503599627370495.0), "-4503599627370495");
        assert_eq!(format_score(1.0 / 3.0), "0.33333333333333331");
    }
}
