//! Encoding frames as RESP2 or RESP3 bytes.

use crate::frame::Frame;

/// Appends `frame` to `out`, as RESP3 when `resp3` is set and RESP2 otherwise.
pub fn encode(frame: &Frame, resp3: bool, out: &mut Vec<u8>) {
    match frame {
        Frame::Simple(text) => line(out, b'+', text.as_bytes()),
        Frame::Error(text) => line(out, b'-', text.as_bytes()),
        Frame::Integer(n) => integer_line(out, b':', *n),
        Frame::Bulk(data) => bulk(out, data),
        Frame::Null if resp3 => out.extend_from_slice(b"_\r\n"),
        Frame::Null => out.extend_from_slice(b"$-1\r\n"),
        Frame::NullArray if resp3 => out.extend_from_slice(b"_\r\n"),
        Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
        Frame::Array(items) => aggregate(out, b'*', items, resp3),
        Frame::Set(items) => aggregate(out, if resp3 { b'~' } else { b'*' }, items, resp3),
        Frame::Push(items) => aggregate(out, if resp3 { b'>' } else { b'*' }, items, resp3),
        Frame::Many(frames) => frames.iter().for_each(|frame| encode(frame, resp3, out)),
        Frame::KeyedPairs(pairs) if resp3 => {
            integer_line(out, b'%', pairs.len() as i64);
            for (key, value) in pairs {
                encode(key, resp3, out);
                encode(value, resp3, out);
            }
        }
        Frame::KeyedPairs(pairs) => {
            integer_line(out, b'*', pairs.len() as i64);
            for (key, value) in pairs {
                out.extend_from_slice(b"*2\r\n");
                encode(key, resp3, out);
                encode(value, resp3, out);
            }
        }
        Frame::Pairs(pairs) => {
            if resp3 {
                integer_line(out, b'*', pairs.len() as i64);
                for (first, second) in pairs {
                    out.extend_from_slice(b"*2\r\n");
                    encode(first, resp3, out);
                    encode(second, resp3, out);
                }
            } else {
                integer_line(out, b'*', 2 * pairs.len() as i64);
                for (first, second) in pairs {
                    encode(first, resp3, out);
                    encode(second, resp3, out);
                }
            }
        }
        Frame::Map(pairs) => {
            if resp3 {
                integer_line(out, b'%', pairs.len() as i64);
            } else {
                integer_line(out, b'*', 2 * pairs.len() as i64);
            }
            for (key, value) in pairs {
                encode(key, resp3, out);
                encode(value, resp3, out);
            }
        }
        Frame::Double(value) => {
            let text = format_double(*value);
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Frame::Boolean(value) if resp3 => {
            out.extend_from_slice(if *value { b"#t\r\n" } else { b"#f\r\n" })
        }
        Frame::Boolean(value) => integer_line(out, b':', i64::from(*value)),
        Frame::Verbatim(data) if resp3 => {
            integer_line(out, b'=', data.len() as i64 + 4);
            out.extend_from_slice(b"txt:");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        Frame::Verbatim(data) => bulk(out, data),
    }
}

/// Formats a double exactly as C's `printf("%.17g")` does, which is how Redis 7.0 replies with
/// one: 17 significant digits, trailing zeros dropped, exponent form (`1e+20`, `1e-05`) when the
/// exponent is below -4 or above 16. Infinities are `inf` and `-inf`; NaN is `nan`, or `-nan`
/// when its sign bit is set, as glibc prints it.
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    const PRECISION: i32 = 17;
    // Rust's `{:.16e}` rounds exactly (ties to even, like glibc) to 17 significant digits and
    // gives the exponent after rounding, which is the one `%g` bases its choice on.
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    let mut out = String::with_capacity(24);
    out.push_str(sign);
    let digits = String::from_utf8(digits).unwrap_or_default();
    if !(-4..PRECISION).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
    } else if exponent >= 0 {
        let integer_digits = exponent as usize + 1;
        if digits.len() <= integer_digits {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', integer_digits - digits.len()));
        } else {
            out.push_str(&digits[..integer_digits]);
            out.push('.');
            out.push_str(&digits[integer_digits..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
        out.push_str(&digits);
    }
    out
}

fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn integer_line(out: &mut Vec<u8>, prefix: u8, value: i64) {
    out.push(prefix);
    let mut buffer = itoa_buffer();
    out.extend_from_slice(format_i64(value, &mut buffer));
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    integer_line(out, b'$', data.len() as i64);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn aggregate(out: &mut Vec<u8>, prefix: u8, items: &[Frame], resp3: bool) {
    integer_line(out, prefix, items.len() as i64);
    for item in items {
        encode(item, resp3, out);
    }
}

fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

/// Writes the decimal digits of `value` into the end of `buffer` without allocating.
pub fn format_i64(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buffer[start] = b'-';
    }
    &buffer[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_double_matches_printf_17g() {
        let cases: &[(f64, &str)] = &[
            (1.1, "1.1000000000000001"),
            (3.0, "3"),
            (1e20, "1e+20"),
            (0.1, "0.10000000000000001"),
            (0.3, "0.29999999999999999"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.5, "0.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (123456789.0, "123456789"),
            (1.0 / 3.0, "0.33333333333333331"),
            (2.71, "2.71"),
            (123.456, "123.456"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (12345678901234567.0, "12345678901234568"),
            (9007199254740993.0, "9007199254740992"),
            (1e-4, "0.0001"),
            (1.5e-4, "0.00014999999999999999"),
            (1e-5, "1.0000000000000001e-05"),
            (-1e300, "-1.0000000000000001e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for &(value, expected) in cases {
            assert_eq!(format_double(value), expected, "{value:e}");
        }
    }

    fn both(frame: &Frame) -> (String, String) {
        let (mut resp2, mut resp3) = (Vec::new(), Vec::new());
        encode(frame, false, &mut resp2);
        encode(frame, true, &mut resp3);
        (
            String::from_utf8(resp2).unwrap(),
            String::from_utf8(resp3).unwrap(),
        )
    }

    #[test]
    fn resp3_types_and_their_resp2_fallbacks() {
        let map = Frame::Map(vec![(Frame::bulk("k"), Frame::Integer(1))]);
        assert_eq!(
            both(&map),
            (
                "*2\r\n$1\r\nk\r\n:1\r\n".into(),
                "%1\r\n$1\r\nk\r\n:1\r\n".into()
            )
        );
        let set = Frame::Set(vec![Frame::simple("a")]);
        assert_eq!(both(&set), ("*1\r\n+a\r\n".into(), "~1\r\n+a\r\n".into()));
        let push = Frame::Push(vec![Frame::bulk("message")]);
        assert_eq!(
            both(&push),
            (
                "*1\r\n$7\r\nmessage\r\n".into(),
                ">1\r\n$7\r\nmessage\r\n".into()
            )
        );
        assert_eq!(both(&Frame::Null), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(&Frame::NullArray), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(
            both(&Frame::Boolean(true)),
            (":1\r\n".into(), "#t\r\n".into())
        );
        assert_eq!(
            both(&Frame::Double(2.5)),
            ("$3\r\n2.5\r\n".into(), ",2.5\r\n".into())
        );
        assert_eq!(
            both(&Frame::Verbatim(bytes::Bytes::from_static(b"hi"))),
            ("$2\r\nhi\r\n".into(), "=6\r\ntxt:hi\r\n".into())
        );
    }

    #[test]
    fn double_frames_use_17g() {
        let mut out = Vec::new();
        encode(&Frame::Double(1.1), false, &mut out);
        encode(&Frame::Double(3.0), true, &mut out);
        assert_eq!(out, b"$18\r\n1.1000000000000001\r\n,3\r\n");
    }

    /// Compares with the C library's own `%.17g` on random bit patterns.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    mod against_libc {
        use super::super::format_double;
        use proptest::prelude::*;
        use std::ffi::{c_char, c_int, CStr};

        extern "C" {
            fn snprintf(buffer: *mut c_char, size: usize, format: *const c_char, ...) -> c_int;
        }

        fn printf_17g(value: f64) -> String {
            let mut buffer = [0 as c_char; 64];
            // SAFETY: the buffer is large enough for any `%.17g` output and snprintf is told
            // its size; the format takes exactly one double.
            unsafe {
                snprintf(buffer.as_mut_ptr(), buffer.len(), c"%.17g".as_ptr(), value);
                CStr::from_ptr(buffer.as_ptr())
                    .to_string_lossy()
                    .into_owned()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20_000))]

            #[test]
            fn random_bits(bits in any::<u64>()) {
                let value = f64::from_bits(bits);
                prop_assert_eq!(format_double(value), printf_17g(value));
            }

            #[test]
            fn ordinary_values(value in -1e25f64..1e25, scale in -30i32..30) {
                let value = value * 10f64.powi(scale);
                prop_assert_eq!(format_double(value), printf_17g(value));
            }

            #[test]
            fn short_decimals(mantissa in -100_000i64..100_000, scale in -25i32..25) {
                let value = mantissa as f64 * 10f64.powi(scale);
                prop_assert_eq!(format_double(value), printf_17g(value));
            }
        }
    }
}
