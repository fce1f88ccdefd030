//! Bitmap commands on string values (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP.
//!
//! The pure parts (`bitop`, `bitcount`, `bitpos`) are also used by the server's cross-shard BITOP,
//! which reads the sources on their shards and stores the result with `store_bitop`.

use super::{opt_is, parse_i64, string_state, Call, SYNTAX, WRONGTYPE};
use crate::keyspace::Db;
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, Journal, KeySpec, Spread};
use crate::value::{reserve_greedy, Value};
use bytes::Bytes;
use damselfly_protocol::string2ll;
use damselfly_protocol::Frame;

/// The bitmap commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::shard("setbit", 4, setbit)
        .flags(WRITE | DENYOOM)
        .acl(acl::BITMAP)
        .keys(1, 1, 1, &[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "bitmap",
            "2.2.0",
            "O(1)",
            "Sets or clears the bit at offset in the string value stored at key",
        )
        .args(&[
            Arg::key("key", 0),
            Arg::integer("offset"),
            Arg::integer("value"),
        ]),
    CommandDef::shard("getbit", 3, getbit)
        .flags(READONLY | FAST)
        .acl(acl::BITMAP)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc(
            "bitmap",
            "2.2.0",
            "O(1)",
            "Returns the bit value at offset in the string value stored at key",
        )
        .args(&[Arg::key("key", 0), Arg::integer("offset")]),
    CommandDef::shard("bitcount", -2, bitcount_cmd)
        .flags(READONLY)
        .acl(acl::BITMAP)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc("bitmap", "2.6.0", "O(N)", "Count set bits in a string")
        .history(&[("7.0.0", "Added the `BYTE|BIT` option.")])
        .args(&[
            Arg::key("key", 0),
            Arg::block(
                "index",
                &[
                    Arg::integer("start"),
                    Arg::integer("end"),
                    Arg::oneof(
                        "index_unit",
                        &[
                            Arg::pure_token("byte", "BYTE"),
                            Arg::pure_token("bit", "BIT"),
                        ],
                    )
                    .since("7.0.0")
                    .optional(),
                ],
            )
            .optional(),
        ]),
    CommandDef::shard("bitpos", -3, bitpos_cmd)
        .flags(READONLY)
        .acl(acl::BITMAP)
        .keys(1, 1, 1, &[KeySpec::at(1, RO | ACCESS)])
        .doc(
            "bitmap",
            "2.8.7",
            "O(N)",
            "Find first bit set or clear in a string",
        )
        .history(&[("7.0.0", "Added the `BYTE|BIT` option.")])
        .args(&[
            Arg::key("key", 0),
            Arg::integer("bit"),
            Arg::block(
                "index",
                &[
                    Arg::integer("start"),
                    Arg::block(
                        "end_index",
                        &[
                            Arg::integer("end"),
                            Arg::oneof(
                                "index_unit",
                                &[
                                    Arg::pure_token("byte", "BYTE"),
                                    Arg::pure_token("bit", "BIT"),
                                ],
                            )
                            .since("7.0.0")
                            .optional(),
                        ],
                    )
                    .optional(),
                ],
            )
            .optional(),
        ]),
    CommandDef::shard("bitop", -4, bitop_cmd)
        .journal(Journal::Destination(2))
        .spread(Spread::Bitop)
        .flags(WRITE | DENYOOM)
        .acl(acl::BITMAP)
        .keys(
            2,
            -1,
            1,
            &[
                KeySpec::at(2, OW | UPDATE),
                KeySpec::range(3, -1, 1, 0, RO | ACCESS),
            ],
        )
        .doc(
            "bitmap",
            "2.6.0",
            "O(N)",
            "Perform bitwise operations between strings",
        )
        .args(&[
            Arg::string("operation"),
            Arg::key("destkey", 0),
            Arg::key("key", 1).multiple(),
        ]),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";

/// A BITOP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Validates a BITOP command (`BITOP op destkey srckey...`) as Redis does before looking at any
/// key: the operation name, then NOT's single source. Returns the operation or the error reply.
pub fn parse_bitop(args: &[Bytes]) -> Result<BitOp, Frame> {
    let Some(name) = args.get(1) else {
        return Err(Frame::error(SYNTAX));
    };
    let op = if opt_is(name, "and") {
        BitOp::And
    } else if opt_is(name, "or") {
        BitOp::Or
    } else if opt_is(name, "xor") {
        BitOp::Xor
    } else if opt_is(name, "not") {
        BitOp::Not
    } else {
        return Err(Frame::error(SYNTAX));
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(Frame::error(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(op)
}

/// The result of a BITOP over `sources` (None: a missing key, an empty string). Shorter strings
/// are zero-padded to the longest; the result is empty when every source is.
pub fn bitop(op: BitOp, sources: &[Option<&[u8]>]) -> Vec<u8> {
    let maxlen = sources
        .iter()
        .map(|s| s.map_or(0, <[u8]>::len))
        .max()
        .unwrap_or(0);
    let byte_at = |i: usize, j: usize| -> u8 {
        sources
            .get(i)
            .copied()
            .flatten()
            .and_then(|s| s.get(j).copied())
            .unwrap_or(0)
    };
    let mut out = Vec::with_capacity(maxlen);
    for j in 0..maxlen {
        let mut output = byte_at(0, j);
        if op == BitOp::Not {
            output = !output;
        }
        for i in 1..sources.len() {
            let byte = byte_at(i, j);
            match op {
                BitOp::And => output &= byte,
                BitOp::Or => output |= byte,
                BitOp::Xor => output ^= byte,
                BitOp::Not => {}
            }
        }
        out.push(output);
    }
    out
}

/// Stores a BITOP result as Redis does: a raw string without TTL, or the destination deleted when
/// the result is empty. Returns the command that replays the change (`SET dest value` or
/// `DEL dest`), or None when nothing changed.
pub fn store_bitop(db: &mut Db, dest: &[u8], result: Vec<u8>, now_ms: u64) -> Option<Vec<Bytes>> {
    if result.is_empty() {
        return db.delete(dest).then(|| string_state(db, dest));
    }
    // setKey: lookupKeyWrite (expiring the old key) then add or overwrite.
    if let Some(id) = db.lookup(dest, now_ms) {
        db.touch(id, now_ms);
    }
    db.set_key(dest, Value::Raw(Box::new(result)), false, now_ms);
    Some(string_state(db, dest))
}

/// Redis's redisPopcount.
fn popcount(bytes: &[u8]) -> i64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut count: u64 = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        count += u64::from(u64::from_ne_bytes(word).count_ones());
    }
    count += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    count as i64
}

/// Redis's redisBitpos: the first bit equal to `bit` counting from the most significant bit of
/// the first byte. The string counts as zero-padded on the right, so looking for 0 in all ones
/// gives `len * 8`; looking for 1 in all zeros gives -1.
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(index) => {
            let byte = bytes[index];
            let within = if bit {
                byte.leading_zeros()
            } else {
                byte.leading_ones()
            };
            (index as i64) * 8 + i64::from(within)
        }
        None if bit => -1,
        None => (bytes.len() as i64) * 8,
    }
}

/// Redis's edge masks for a BIT range: the bits of the first byte before `start` and of the last
/// byte after `end` (bit indexes within the string).
fn edge_masks(start: i64, end: i64) -> (u8, u8) {
    let first = !((1u32 << (8 - (start & 7))) - 1) as u8;
    let last = ((1u32 << (7 - (end & 7))) - 1) as u8;
    (first, last)
}

/// BITCOUNT over `s` with an optional `(start, end, is_bit)` range, as bitcountCommand computes it.
pub fn bitcount(s: &[u8], range: Option<(i64, i64, bool)>) -> i64 {
    let strlen = s.len() as i64;
    let (mut start, mut end) = (0, strlen - 1);
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if let Some((from, to, is_bit)) = range {
        start = from;
        end = to;
        let totlen = if is_bit { strlen << 3 } else { strlen };
        if start < 0 && end < 0 && start > end {
            return 0;
        }
        (start, end, first_mask, last_mask) = clamp_range(start, end, totlen, is_bit);
    }
    if start > end {
        return 0;
    }
    let (from, to) = (start as usize, end as usize);
    let mut count = popcount(&s[from..=to]);
    if first_mask != 0 || last_mask != 0 {
        let mut edges = [0u8; 2];
        if first_mask != 0 {
            edges[0] = s[from] & first_mask;
        }
        if last_mask != 0 {
            edges[1] = s[to] & last_mask;
        }
        count -= popcount(&edges);
    }
    count
}

/// Redis's range normalisation for BITCOUNT and BITPOS: negative indexes count from the end of
/// `totlen` (bits or bytes), both ends are clamped, and a bit range becomes a byte range plus the
/// masks of the bits outside it in the first and last byte. Returns (start, end, first, last).
fn clamp_range(mut start: i64, mut end: i64, totlen: i64, is_bit: bool) -> (i64, i64, u8, u8) {
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if is_bit && start <= end {
        (first_mask, last_mask) = edge_masks(start, end);
        start >>= 3;
        end >>= 3;
    }
    (start, end, first_mask, last_mask)
}

/// How BITPOS was given its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitposRange {
    pub start: i64,
    /// None when no end was given (the string then counts as zero-padded when looking for 0).
    pub end: Option<i64>,
    pub is_bit: bool,
}

/// BITPOS over `s` (an existing string) looking for `bit`, as bitposCommand computes it.
pub fn bitpos(s: &[u8], bit: bool, range: Option<BitposRange>) -> i64 {
    let strlen = s.len() as i64;
    let (mut start, mut end) = (0i64, strlen - 1);
    let mut end_given = false;
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if let Some(r) = range {
        let mut totlen = strlen;
        start = r.start;
        end = match r.end {
            Some(e) => {
                end_given = true;
                e
            }
            None if r.is_bit => (totlen << 3) + 7,
            None => totlen - 1,
        };
        if r.is_bit {
            totlen <<= 3;
        }
        (start, end, first_mask, last_mask) = clamp_range(start, end, totlen, r.is_bit);
    }
    // An empty range holds neither a 0 nor a 1.
    if start > end {
        return -1;
    }
    let mut bytes = end - start + 1;
    let pos = 'found: {
        if first_mask != 0 {
            let mut byte = s[start as usize];
            byte = if bit {
                byte & !first_mask
            } else {
                byte | first_mask
            };
            if last_mask != 0 && bytes == 1 {
                byte = if bit {
                    byte & !last_mask
                } else {
                    byte | last_mask
                };
            }
            let pos = first_bit(&[byte], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        // The last byte is handled separately when some of its bits are outside the range.
        let whole = bytes - i64::from(last_mask != 0);
        if whole > 0 {
            let from = start as usize;
            let pos = first_bit(&s[from..from + whole as usize], bit);
            if bytes == whole || (pos != -1 && pos != whole << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        let last = s[end as usize];
        let byte = if bit {
            last & !last_mask
        } else {
            last | last_mask
        };
        first_bit(&[byte], bit)
    };
    // With an explicit end, a 0 found only past the range means there is none in it.
    if end_given && !bit && pos == bytes << 3 {
        return -1;
    }
    if pos == -1 {
        pos
    } else {
        pos + (start << 3)
    }
}

/// Redis's getBitOffsetFromArgument (without the `#` form): the byte it reaches lies within
/// proto-max-bulk-len.
fn parse_bit_offset(arg: &[u8]) -> Result<u64, Frame> {
    let max_bytes = crate::config::PROTO_MAX_BULK_LEN.get() as u64;
    match string2ll(arg) {
        Some(offset) if offset >= 0 && ((offset as u64) >> 3) < max_bytes => Ok(offset as u64),
        _ => Err(Frame::error(BIT_OFFSET_ERR)),
    }
}

/// BYTE or BIT (strcasecmp), else a syntax error.
fn parse_unit(arg: &[u8]) -> Result<bool, Frame> {
    if opt_is(arg, "bit") {
        Ok(true)
    } else if opt_is(arg, "byte") {
        Ok(false)
    } else {
        Err(Frame::error(SYNTAX))
    }
}

pub fn setbit(c: &mut Call) -> Frame {
    let offset = match parse_bit_offset(c.arg(2)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match string2ll(c.arg(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Frame::error(BIT_VALUE_ERR),
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let key = c.arg(1);
    let now = c.now();
    // lookupStringForBitCommand: create a zeroed string, or grow the existing one with zeros.
    let Some(id) = c.lookup_write(key) else {
        let mut buf = vec![0u8; byte + 1];
        buf[byte] = u8::from(on) << shift;
        c.db().insert(key, Value::Raw(Box::new(buf)), 0, now);
        return Frame::Integer(0);
    };
    if !c.db().slot(id).value.is_string() {
        return Frame::error(WRONGTYPE);
    }
    let old = c.db().with_value_mut(id, |v| {
        v.make_raw().map_or(0, |buf| {
            if buf.len() <= byte {
                reserve_greedy(buf, byte + 1);
                buf.resize(byte + 1, 0);
            }
            let old = (buf[byte] >> shift) & 1;
            buf[byte] = (buf[byte] & !(1 << shift)) | (u8::from(on) << shift);
            old
        })
    });
    Frame::Integer(i64::from(old))
}

pub fn getbit(c: &mut Call) -> Frame {
    let offset = match parse_bit_offset(c.arg(2)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let key = c.arg(1);
    let Some(id) = c.lookup_read(key) else {
        return Frame::Integer(0);
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    match c
        .db()
        .slot(id)
        .value
        .with_str(|s| s.get(byte).map_or(0, |b| (b >> shift) & 1))
    {
        Some(bit) => Frame::Integer(i64::from(bit)),
        None => Frame::error(WRONGTYPE),
    }
}

pub fn bitcount_cmd(c: &mut Call) -> Frame {
    let key = c.arg(1);
    // The key comes first: a missing key counts 0 whatever the other arguments.
    let Some(id) = c.lookup_read(key) else {
        return Frame::Integer(0);
    };
    if !c.db().slot(id).value.is_string() {
        return Frame::error(WRONGTYPE);
    }
    let range = match c.args.len() {
        2 => None,
        4 | 5 => {
            let start = match parse_i64(c.arg(2)) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let end = match parse_i64(c.arg(3)) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let is_bit = if c.args.len() == 5 {
                match parse_unit(c.arg(4)) {
                    Ok(b) => b,
                    Err(e) => return e,
                }
            } else {
                false
            };
            Some((start, end, is_bit))
        }
        _ => return Frame::error(SYNTAX),
    };
    let count = c
        .db()
        .slot(id)
        .value
        .with_str(|s| bitcount(s, range))
        .unwrap_or(0);
    Frame::Integer(count)
}

pub fn bitpos_cmd(c: &mut Call) -> Frame {
    let bit = match parse_i64(c.arg(2)) {
        Ok(b @ (0 | 1)) => b == 1,
        Ok(_) => return Frame::error("ERR The bit argument must be 1 or 0."),
        Err(e) => return e,
    };
    let key = c.arg(1);
    // A missing key is an endless run of zeros.
    let Some(id) = c.lookup_read(key) else {
        return Frame::Integer(if bit { -1 } else { 0 });
    };
    if !c.db().slot(id).value.is_string() {
        return Frame::error(WRONGTYPE);
    }
    let argc = c.args.len();
    let range = match argc {
        3 => None,
        4..=6 => {
            let start = match parse_i64(c.arg(3)) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let is_bit = if argc == 6 {
                match parse_unit(c.arg(5)) {
                    Ok(b) => b,
                    Err(e) => return e,
                }
            } else {
                false
            };
            let end = if argc >= 5 {
                match parse_i64(c.arg(4)) {
                    Ok(v) => Some(v),
                    Err(e) => return e,
                }
            } else {
                None
            };
            Some(BitposRange { start, end, is_bit })
        }
        _ => return Frame::error(SYNTAX),
    };
    let pos = c
        .db()
        .slot(id)
        .value
        .with_str(|s| bitpos(s, bit, range))
        .unwrap_or(-1);
    Frame::Integer(pos)
}

/// BITOP when the destination and every source live in this shard.
pub fn bitop_cmd(c: &mut Call) -> Frame {
    let op = match parse_bitop(c.args) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let mut values: Vec<Option<Bytes>> = Vec::with_capacity(c.args.len() - 3);
    for j in 3..c.args.len() {
        let key = c.arg(j);
        let value = match c.lookup_read(key) {
            None => None,
            Some(id) => match c.db().slot(id).value.to_bytes() {
                Some(bytes) => Some(bytes),
                None => return Frame::error(WRONGTYPE),
            },
        };
        values.push(value);
    }
    let sources: Vec<Option<&[u8]>> = values.iter().map(|v| v.as_deref()).collect();
    let result = bitop(op, &sources);
    let len = result.len() as i64;
    let now = c.now();
    let dest = c.arg(2);
    store_bitop(c.db(), dest, result, now);
    Frame::Integer(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straightforward bit-by-bit model of BITCOUNT and BITPOS ranges, for cross-checking.
    fn bit_at(s: &[u8], i: i64) -> bool {
        (s[(i >> 3) as usize] >> (7 - (i & 7))) & 1 == 1
    }

    /// Resolves a range the way Redis does (for BYTE ranges, in bytes); None when empty.
    fn resolve(start: i64, end: i64, total: i64) -> Option<(i64, i64)> {
        let start = if start < 0 { start + total } else { start }.max(0);
        let end = if end < 0 { end + total } else { end }.max(0);
        let end = end.min(total - 1);
        (start <= end).then_some((start, end))
    }

    fn model_bitcount(s: &[u8], start: i64, end: i64, is_bit: bool) -> i64 {
        if start < 0 && end < 0 && start > end {
            return 0;
        }
        let unit = if is_bit { 1 } else { 8 };
        let total = s.len() as i64 * 8 / unit;
        match resolve(start, end, total) {
            None => 0,
            Some((a, b)) => (a * unit..(b + 1) * unit).filter(|&i| bit_at(s, i)).count() as i64,
        }
    }

    #[test]
    fn popcount_and_first_bit() {
        assert_eq!(popcount(b""), 0);
        assert_eq!(popcount(b"foobar"), 26);
        assert_eq!(popcount(&[0xff; 17]), 136);
        assert_eq!(first_bit(&[0, 0, 0x10], true), 19);
        assert_eq!(first_bit(&[0, 0], true), -1);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[], false), 0);
    }

    #[test]
    fn bitcount_examples() {
        // From the Redis documentation.
        assert_eq!(bitcount(b"foobar", None), 26);
        assert_eq!(bitcount(b"foobar", Some((0, 0, false))), 4);
        assert_eq!(bitcount(b"foobar", Some((1, 1, false))), 6);
        assert_eq!(bitcount(b"foobar", Some((1, 1, true))), 1);
        assert_eq!(bitcount(b"foobar", Some((5, 30, true))), 17);
        assert_eq!(bitcount(b"foobar", Some((-2, -1, false))), 7);
        assert_eq!(bitcount(b"foobar", Some((-1, -2, false))), 0);
        assert_eq!(bitcount(b"", None), 0);
        assert_eq!(bitcount(b"", Some((0, -1, true))), 0);
    }

    #[test]
    fn bitcount_matches_a_bitwise_model() {
        let s = b"\xa5\x0f\xf0\x81\x7e";
        for is_bit in [false, true] {
            for start in -50..50 {
                for end in -50..50 {
                    assert_eq!(
                        bitcount(s, Some((start, end, is_bit))),
                        model_bitcount(s, start, end, is_bit),
                        "{start} {end} {is_bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn bitpos_examples() {
        // From the Redis documentation.
        let s = b"\xff\xf0\x00";
        assert_eq!(bitpos(s, false, None), 12);
        let s = b"\x00\xff\xf0";
        let r = |start, end: Option<i64>, is_bit| Some(BitposRange { start, end, is_bit });
        assert_eq!(bitpos(s, true, r(0, None, false)), 8);
        assert_eq!(bitpos(s, true, r(2, None, false)), 16);
        assert_eq!(bitpos(s, true, r(2, Some(-1), false)), 16);
        assert_eq!(bitpos(s, true, r(7, Some(15), true)), 8);
        assert_eq!(bitpos(s, true, r(7, Some(-3), true)), 8);
        assert_eq!(bitpos(b"\x00\x00\x00", true, None), -1);
        // Looking for 0 in all ones: the first bit past the string, unless an end was given.
        assert_eq!(bitpos(b"\xff\xff", false, None), 16);
        assert_eq!(bitpos(b"\xff\xff", false, r(1, None, false)), 16);
        assert_eq!(bitpos(b"\xff\xff", false, r(0, Some(-1), false)), -1);
        assert_eq!(bitpos(b"\xff\xff", false, r(3, Some(12), true)), -1);
        // An empty string or range.
        assert_eq!(bitpos(b"", false, None), -1);
        assert_eq!(bitpos(b"\x00", false, r(2, Some(1), true)), -1);
    }

    #[test]
    fn bitpos_within_explicit_ranges_matches_a_bitwise_model() {
        let s = b"\xff\x0f\xf0\x81\x7e\xff\x00";
        let total_bits = s.len() as i64 * 8;
        for bit in [false, true] {
            for is_bit in [false, true] {
                let unit = if is_bit { 1 } else { 8 };
                for start in -60..60 {
                    for end in -60..60 {
                        let expected = match resolve(start, end, total_bits / unit) {
                            None => -1,
                            Some((a, b)) => (a * unit..(b + 1) * unit)
                                .find(|&i| bit_at(s, i) == bit)
                                .unwrap_or(-1),
                        };
                        let range = BitposRange {
                            start,
                            end: Some(end),
                            is_bit,
                        };
                        assert_eq!(
                            bitpos(s, bit, Some(range)),
                            expected,
                            "bit {bit} {start} {end} {is_bit}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bitop_pads_and_combines() {
        let a: &[u8] = b"\xf0\x0f";
        let b: &[u8] = b"\xff";
        assert_eq!(bitop(BitOp::And, &[Some(a), Some(b)]), b"\xf0\x00");
        assert_eq!(bitop(BitOp::Or, &[Some(a), Some(b)]), b"\xff\x0f");
        assert_eq!(bitop(BitOp::Xor, &[Some(a), Some(b)]), b"\x0f\x0f");
        assert_eq!(bitop(BitOp::Not, &[Some(a)]), b"\x0f\xf0");
        assert_eq!(bitop(BitOp::And, &[Some(a), None]), b"\x00\x00");
        assert_eq!(bitop(BitOp::Or, &[None, None]), b"");
        assert_eq!(bitop(BitOp::Not, &[Some(b"")]), b"");
        assert_eq!(
            bitop(BitOp::Xor, &[Some(a), Some(a), Some(b)]),
            b"\xff\x00".to_vec()
        );
    }

    #[test]
    fn bitop_arguments() {
        let args = |words: &[&str]| -> Vec<Bytes> {
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect()
        };
        assert_eq!(
            parse_bitop(&args(&["bitop", "AnD", "d", "a"])),
            Ok(BitOp::And)
        );
        assert_eq!(
            parse_bitop(&args(&["bitop", "not", "d", "a"])),
            Ok(BitOp::Not)
        );
        assert!(parse_bitop(&args(&["bitop", "not", "d", "a", "b"])).is_err());
        assert!(parse_bitop(&args(&["bitop", "nand", "d", "a"])).is_err());
    }

    #[test]
    fn bit_offsets() {
        assert_eq!(parse_bit_offset(b"0"), Ok(0));
        assert_eq!(parse_bit_offset(b"4294967295"), Ok(4294967295));
        assert!(parse_bit_offset(b"4294967296").is_err());
        assert!(parse_bit_offset(b"-1").is_err());
        assert!(parse_bit_offset(b"1.5").is_err());
    }
}
