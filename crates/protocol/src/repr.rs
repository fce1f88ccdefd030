//! Bytes quoted for a log line the way Redis's sdscatrepr does, so logs read like Redis's.

/// `bytes` in double quotes with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` escaped and every other
/// unprintable byte as `\xHH`.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::repr;

    #[test]
    fn escapes_like_sdscatrepr() {
        assert_eq!(repr(b"*1\r\n$4\r\nPING"), "\"*1\\r\\n$4\\r\\nPING\"");
        assert_eq!(repr(b"a\"b\\\x00\xff"), "\"a\\\"b\\\\\\x00\\xff\"");
    }
}
