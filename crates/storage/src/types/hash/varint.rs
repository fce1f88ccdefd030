//! Length-prefixed items: a LEB128 length, then the bytes. Shared by both encodings.

/// Longest LEB128 encoding of a usize.
pub(super) const MAX_LEN: usize = 10;

/// Appends `item` with its length prefix.
pub(super) fn write_item(out: &mut Vec<u8>, item: &[u8]) {
    let mut n = item.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(item);
}

/// The item starting at `pos` and the position after it. `buf` holds only items written by
/// `write_item`.
pub(super) fn read_item(buf: &[u8], pos: usize) -> (&[u8], usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut at = pos;
    loop {
        let byte = buf[at];
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    (&buf[at..at + len], at + len)
}

/// Bytes `write_item` takes for an item of `len` bytes.
pub(super) fn item_size(len: usize) -> usize {
    let mut prefix = 1;
    let mut n = len;
    while n >= 0x80 {
        prefix += 1;
        n >>= 7;
    }
    prefix + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for len in [0usize, 1, 127, 128, 300, 16384, 70000] {
            let item = vec![3u8; len];
            let mut buf = vec![9u8];
            write_item(&mut buf, &item);
            assert_eq!(buf.len(), 1 + item_size(len));
            let (got, next) = read_item(&buf, 1);
            assert_eq!(got, &item[..]);
            assert_eq!(next, buf.len());
        }
    }
}
