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

/// Formats a score as Redis 7.0 stores it in a listpack (`d2string`): integral values below
/// 2^53 as integers, infinities as `inf`/`-inf`, otherwise a text that reads back exactly.
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
    const EXACT: f64 = (1u64 << 53) as f64;
    if v.fract() == 0.0 && v.abs() < EXACT {
        return (v as i64).to_string();
    }
    let plain = v.to_string();
    let exp = format!("{v:e}");
    if exp.len() < plain.len() {
        exp
    } else {
        plain
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
        assert_eq!(format_score(1e300), "1e300");
    }
}
