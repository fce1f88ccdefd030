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

/// Formats a double the way Redis replies with one (`%.17g`, `inf`, `-inf`, `nan`).
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        // The shortest representation that round-trips, as Redis 7 does with its own fpconv.
        let text = format!("{value}");
        if text.contains('e') || text.len() <= 17 + 2 {
            text
        } else {
            format!("{value:e}")
        }
    }
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
