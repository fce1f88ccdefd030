//! LZF compression producing the same bytes as Redis's bundled liblzf 3.6 (as Redis builds it:
//! 16-bit hash table, "very fast" mode, the output limited to `input.len() - 4`), so that DUMP
//! payloads and RDB files match Redis's byte for byte.

const HASH_BITS: u32 = 16;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;

fn hash_slot(h: u32) -> usize {
    ((h >> (24 - HASH_BITS)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HASH_BITS) - 1)) as usize
}

/// Output buffer with a hard end; every write past it aborts the compression.
struct Out {
    buf: Vec<u8>,
    limit: usize,
}

impl Out {
    fn set(&mut self, at: usize, byte: u8) -> Option<()> {
        if at >= self.limit {
            return None;
        }
        if at >= self.buf.len() {
            self.buf.resize(at + 1, 0);
        }
        self.buf[at] = byte;
        Some(())
    }
}

/// Compresses `input` into at most `limit` bytes; `None` when it does not fit (or is empty).
pub(crate) fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 3 {
        return None;
    }
    let mut table = vec![0usize; 1 << HASH_BITS];
    let mut out = Out {
        buf: Vec::with_capacity(limit.min(n)),
        limit,
    };
    // `op` is the next output position; a literal run's length byte sits at op - lit - 1.
    let mut op = 1usize;
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut h = (u32::from(input[0]) << 8) | u32::from(input[1]);
    while ip < n - 2 {
        h = (h << 8) | u32::from(input[ip + 2]);
        let slot = hash_slot(h);
        let r = table[slot];
        table[slot] = ip;
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if off < MAX_OFF && r > 0 && input[r..r + 3] == input[ip..ip + 3] {
            let maxlen = (n - ip - 2).min(MAX_REF);
            if op + 4 >= limit && op + 4 - usize::from(lit == 0) >= limit {
                return None;
            }
            out.set(op - lit - 1, lit.wrapping_sub(1) as u8)?;
            op -= usize::from(lit == 0);
            let mut len = 2usize;
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            // From here on `len` is the match length minus 2.
            len -= 2;
            ip += 1;
            if len < 7 {
                out.set(op, ((off >> 8) + (len << 5)) as u8)?;
                op += 1;
            } else {
                out.set(op, ((off >> 8) + (7 << 5)) as u8)?;
                out.set(op + 1, (len - 7) as u8)?;
                op += 2;
            }
            out.set(op, off as u8)?;
            op += 2;
            lit = 0;
            ip += len + 1;
            if ip >= n - 2 {
                break;
            }
            ip -= 2;
            h = (u32::from(input[ip]) << 8) | u32::from(input[ip + 1]);
            for _ in 0..2 {
                h = (h << 8) | u32::from(input[ip + 2]);
                table[hash_slot(h)] = ip;
                ip += 1;
            }
        } else {
            if op >= limit {
                return None;
            }
            lit += 1;
            out.set(op, input[ip])?;
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out.set(op - lit - 1, (lit - 1) as u8)?;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > limit {
        return None;
    }
    while ip < n {
        lit += 1;
        out.set(op, input[ip])?;
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out.set(op - lit - 1, (lit - 1) as u8)?;
            lit = 0;
            op += 1;
        }
    }
    out.set(op - lit - 1, lit.wrapping_sub(1) as u8)?;
    op -= usize::from(lit == 0);
    out.buf.truncate(op);
    Some(out.buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::lzf_decompress;

    #[test]
    fn round_trips() {
        let mut x = 1u32;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8 % 4 + b'a'
            })
            .collect();
        for data in [
            vec![b'a'; 1000],
            b"abcabcabcabcabcabcabcabc".to_vec(),
            noise,
        ] {
            let c = compress(&data, data.len() - 4).unwrap();
            assert_eq!(lzf_decompress(&c, data.len() as u64).unwrap(), data);
        }
        let incompressible: Vec<u8> = (0..=255u8).collect();
        assert_eq!(compress(&incompressible, 252), None);
    }
}
