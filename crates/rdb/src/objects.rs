//! Value bodies: decoding every type Redis 7.0 loads, encoding the way Redis 7.0 saves.

use std::io::Read;

use crate::encoding::{
    encode_len, encode_string, read_array, read_bytes, read_plain_len, read_string, read_u8,
};
use crate::error::{Error, Result};
use crate::listpack::{self, Item};
use crate::numbers::{format_score, parse_canonical_i64, parse_score};
use crate::reader::Value;
use crate::{intset, stream, types, ziplist};

/// Redis 7.0's built-in thresholds for the compact encodings it saves (the hash entry limit is
/// 512 in the server's defaults, 128 only in the sample redis.conf).
const SET_MAX_INTSET_ENTRIES: usize = 512;
const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
const HASH_MAX_LISTPACK_VALUE: usize = 64;
const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
const ZSET_MAX_LISTPACK_VALUE: usize = 64;
/// `list-max-listpack-size -2`: quicklist nodes of at most 8 KiB.
const LIST_NODE_MAX_BYTES: usize = 8 * 1024;
/// Elements this large are stored alone in a plain node (`packed_threshold`).
const LIST_PLAIN_NODE_MIN: usize = 1 << 30;

/// Quicklist node containers.
const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;

/// Collections grow one element at a time: never reserve more than this many bytes from an
/// untrusted count (a count is read before any element: 4 billion claimed entries must not
/// reserve anything close to that).
const MAX_PREALLOC_BYTES: usize = 4096;

/// A vector for `n` claimed elements, reserving at most [`MAX_PREALLOC_BYTES`].
pub(crate) fn with_capacity<T>(n: u64) -> Vec<T> {
    let most = MAX_PREALLOC_BYTES / std::mem::size_of::<T>().max(1);
    Vec::with_capacity(usize::try_from(n).map_or(most, |n| n.min(most)))
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_string())
}

/// Whether `rdb_type` is a value type this codec decodes (everything Redis 7.0 loads but
/// modules).
pub(crate) fn is_value_type(rdb_type: u8) -> bool {
    matches!(rdb_type, 0..=5 | 9..=19)
}

/// Decodes the body of a value of `rdb_type`.
pub(crate) fn read_value<R: Read + ?Sized>(r: &mut R, rdb_type: u8) -> Result<Value> {
    Ok(match rdb_type {
        types::STRING => Value::String(read_string(r)?),
        types::LIST => Value::List(read_strings(r)?),
        types::SET => Value::Set(read_strings(r)?),
        types::ZSET | types::ZSET_2 => Value::ZSet(read_zset(r, rdb_type == types::ZSET_2)?),
        types::HASH => {
            let n = read_plain_len(r)?;
            let mut pairs = with_capacity(n);
            for _ in 0..n {
                pairs.push((read_string(r)?, read_string(r)?));
            }
            Value::Hash(pairs)
        }
        types::HASH_ZIPMAP => Value::Hash(ziplist::parse_zipmap(&read_string(r)?)?),
        types::LIST_ZIPLIST => Value::List(owned(ziplist::parse(&read_string(r)?)?)),
        types::SET_INTSET => {
            let members = intset::parse(&read_string(r)?)?;
            Value::Set(members.iter().map(|v| v.to_string().into_bytes()).collect())
        }
        types::ZSET_ZIPLIST => Value::ZSet(score_pairs(&ziplist::parse(&read_string(r)?)?)?),
        types::HASH_ZIPLIST => Value::Hash(pairs(&ziplist::parse(&read_string(r)?)?)?),
        types::LIST_QUICKLIST => {
            let nodes = read_plain_len(r)?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                items.extend(owned(ziplist::parse(&read_string(r)?)?));
            }
            Value::List(items)
        }
        types::HASH_LISTPACK => Value::Hash(pairs(&listpack::parse(&read_string(r)?)?)?),
        types::ZSET_LISTPACK => Value::ZSet(score_pairs(&listpack::parse(&read_string(r)?)?)?),
        types::LIST_QUICKLIST_2 => Value::List(read_quicklist2(r)?),
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 => Value::Stream(Box::new(
            stream::read(r, rdb_type == types::STREAM_LISTPACKS_2)?,
        )),
        t => return Err(Error::UnsupportedType(t)),
    })
}

fn read_strings<R: Read + ?Sized>(r: &mut R) -> Result<Vec<Vec<u8>>> {
    let n = read_plain_len(r)?;
    let mut items = with_capacity(n);
    for _ in 0..n {
        items.push(read_string(r)?);
    }
    Ok(items)
}

fn read_zset<R: Read + ?Sized>(r: &mut R, binary_scores: bool) -> Result<Vec<(Vec<u8>, f64)>> {
    let n = read_plain_len(r)?;
    let mut pairs = with_capacity(n);
    for _ in 0..n {
        let member = read_string(r)?;
        let score = if binary_scores {
            f64::from_le_bytes(read_array(r)?)
        } else {
            read_text_score(r)?
        };
        if score.is_nan() {
            return Err(corrupt("zset score is NaN"));
        }
        pairs.push((member, score));
    }
    Ok(pairs)
}

/// Legacy score: a length byte (253 NaN, 254 +inf, 255 -inf) then that many bytes of text.
fn read_text_score<R: Read + ?Sized>(r: &mut R) -> Result<f64> {
    match read_u8(r)? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => parse_score(&read_bytes(r, u64::from(n))?).ok_or_else(|| corrupt("bad zset score")),
    }
}

fn read_quicklist2<R: Read + ?Sized>(r: &mut R) -> Result<Vec<Vec<u8>>> {
    let nodes = read_plain_len(r)?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = read_plain_len(r)?;
        let data = read_string(r)?;
        match container {
            QUICKLIST_PLAIN => items.push(data),
            QUICKLIST_PACKED => {
                let node = listpack::parse(&data)?;
                if node.is_empty() {
                    return Err(corrupt("empty quicklist node"));
                }
                items.extend(owned(node));
            }
            _ => return Err(corrupt("unknown quicklist container")),
        }
    }
    Ok(items)
}

fn owned(items: Vec<Item<'_>>) -> Vec<Vec<u8>> {
    items.into_iter().map(Item::to_vec).collect()
}

fn pairs(items: &[Item<'_>]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !items.len().is_multiple_of(2) {
        return Err(corrupt("odd number of hash elements"));
    }
    Ok(items
        .chunks_exact(2)
        .map(|p| (p[0].to_vec(), p[1].to_vec()))
        .collect())
}

fn score_pairs(items: &[Item<'_>]) -> Result<Vec<(Vec<u8>, f64)>> {
    if !items.len().is_multiple_of(2) {
        return Err(corrupt("odd number of zset elements"));
    }
    items
        .chunks_exact(2)
        .map(|p| {
            let score = match p[1] {
                Item::Int(v) => v as f64,
                Item::Str(s) => parse_score(s).ok_or_else(|| corrupt("bad zset score"))?,
            };
            if score.is_nan() {
                return Err(corrupt("zset score is NaN"));
            }
            Ok((p[0].to_vec(), score))
        })
        .collect()
}

/// Appends the body of `value` in the encoding Redis 7.0 would save it with, and returns that
/// encoding's type byte.
pub(crate) fn write_value(value: &Value, compress: bool, out: &mut Vec<u8>) -> u8 {
    match value {
        Value::String(s) => {
            encode_string(s, compress, out);
            types::STRING
        }
        Value::List(items) => {
            write_quicklist2(items, compress, out);
            types::LIST_QUICKLIST_2
        }
        Value::Set(members) => write_set(members, compress, out),
        Value::Hash(pairs) => write_hash(pairs, compress, out),
        Value::ZSet(pairs) => write_zset(pairs, compress, out),
        Value::Stream(s) => {
            stream::write(s, compress, out);
            types::STREAM_LISTPACKS_2
        }
    }
}

fn write_strings<'a>(
    n: usize,
    items: impl Iterator<Item = &'a [u8]>,
    compress: bool,
    out: &mut Vec<u8>,
) {
    encode_len(n as u64, out);
    for s in items {
        encode_string(s, compress, out);
    }
}

/// A quicklist of listpack nodes, split where Redis splits them while pushing: a node takes
/// another element while its bytes + the element's length + 8 stay within 8 KiB; elements of
/// 1 GiB or more get a plain node of their own.
fn write_quicklist2(items: &[Vec<u8>], compress: bool, out: &mut Vec<u8>) {
    let mut nodes: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut node = listpack::Builder::new();
    for item in items {
        let large = item.len() >= LIST_PLAIN_NODE_MIN;
        if node.len() > 0 && (large || node.bytes() + item.len() + 8 > LIST_NODE_MAX_BYTES) {
            let full = std::mem::replace(&mut node, listpack::Builder::new());
            nodes.push((QUICKLIST_PACKED, full.finish()));
        }
        if large {
            nodes.push((QUICKLIST_PLAIN, item.clone()));
        } else {
            node.push_str(item);
        }
    }
    if node.len() > 0 {
        nodes.push((QUICKLIST_PACKED, node.finish()));
    }
    encode_len(nodes.len() as u64, out);
    for (container, data) in nodes {
        encode_len(container, out);
        encode_string(&data, compress, out);
    }
}

fn write_set(members: &[Vec<u8>], compress: bool, out: &mut Vec<u8>) -> u8 {
    if members.len() <= SET_MAX_INTSET_ENTRIES {
        let ints: Option<Vec<i64>> = members.iter().map(|m| parse_canonical_i64(m)).collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            ints.dedup();
            encode_string(&intset::build(&ints), compress, out);
            return types::SET_INTSET;
        }
    }
    write_strings(
        members.len(),
        members.iter().map(Vec::as_slice),
        compress,
        out,
    );
    types::SET
}

fn write_hash(pairs: &[(Vec<u8>, Vec<u8>)], compress: bool, out: &mut Vec<u8>) -> u8 {
    let small = pairs.len() <= HASH_MAX_LISTPACK_ENTRIES
        && pairs
            .iter()
            .all(|(f, v)| f.len() <= HASH_MAX_LISTPACK_VALUE && v.len() <= HASH_MAX_LISTPACK_VALUE);
    if small {
        let mut lp = listpack::Builder::new();
        for (f, v) in pairs {
            lp.push_str(f);
            lp.push_str(v);
        }
        encode_string(&lp.finish(), compress, out);
        return types::HASH_LISTPACK;
    }
    encode_len(pairs.len() as u64, out);
    for (f, v) in pairs {
        encode_string(f, compress, out);
        encode_string(v, compress, out);
    }
    types::HASH
}

fn write_zset(pairs: &[(Vec<u8>, f64)], compress: bool, out: &mut Vec<u8>) -> u8 {
    // Redis keeps zsets ordered by (score, member); listpacks are saved in that order, skiplists
    // from the tail so that loading appends at the head.
    let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let small = pairs.len() <= ZSET_MAX_LISTPACK_ENTRIES
        && pairs
            .iter()
            .all(|(m, _)| m.len() <= ZSET_MAX_LISTPACK_VALUE);
    if small {
        let mut lp = listpack::Builder::new();
        for (m, score) in sorted {
            lp.push_str(m);
            lp.push_str(format_score(*score).as_bytes());
        }
        encode_string(&lp.finish(), compress, out);
        return types::ZSET_LISTPACK;
    }
    encode_len(pairs.len() as u64, out);
    for (m, score) in sorted.into_iter().rev() {
        encode_string(m, compress, out);
        out.extend_from_slice(&score.to_le_bytes());
    }
    types::ZSET_2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> (u8, Value) {
        let mut out = Vec::new();
        let t = write_value(v, true, &mut out);
        let mut input = &out[..];
        let back = read_value(&mut input, t).unwrap();
        assert!(input.is_empty());
        (t, back)
    }

    fn strings(n: usize, f: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
        (0..n).map(|i| f(i).into_bytes()).collect()
    }

    #[test]
    fn encodings_follow_redis_thresholds() {
        let ints = Value::Set(strings(512, |i| (i as i64 - 100).to_string()));
        let (t, back) = round_trip(&ints);
        assert_eq!(t, types::SET_INTSET);
        let Value::Set(mut m) = back else { panic!() };
        m.sort_by_key(|s| std::str::from_utf8(s).unwrap().parse::<i64>().unwrap());
        assert_eq!(Value::Set(m), ints);
        assert_eq!(
            round_trip(&Value::Set(strings(513, |i| i.to_string()))).0,
            types::SET
        );
        assert_eq!(
            round_trip(&Value::Set(strings(3, |i| format!("m{i}")))).0,
            types::SET
        );

        let small = Value::Hash(vec![
            (b"f".to_vec(), b"1".to_vec()),
            (b"g".to_vec(), vec![b'v'; 64]),
        ]);
        assert_eq!(round_trip(&small), (types::HASH_LISTPACK, small.clone()));
        let big = Value::Hash(vec![(b"f".to_vec(), vec![b'v'; 65])]);
        assert_eq!(round_trip(&big), (types::HASH, big.clone()));

        let z = Value::ZSet(vec![
            (b"a".to_vec(), 1.5),
            (b"b".to_vec(), -3.0),
            (b"c".to_vec(), f64::INFINITY),
        ]);
        let sorted = Value::ZSet(vec![
            (b"b".to_vec(), -3.0),
            (b"a".to_vec(), 1.5),
            (b"c".to_vec(), f64::INFINITY),
        ]);
        assert_eq!(round_trip(&z), (types::ZSET_LISTPACK, sorted));
        let zbig = Value::ZSet(
            (0..200)
                .map(|i| (format!("m{i:03}").into_bytes(), f64::from(i) / 3.0))
                .collect(),
        );
        let (t, Value::ZSet(back)) = round_trip(&zbig) else {
            panic!()
        };
        assert_eq!(t, types::ZSET_2);
        let mut back = back;
        back.reverse();
        assert_eq!(Value::ZSet(back), zbig);

        let list = Value::List(strings(5000, |i| format!("item-{i}")));
        let mut out = Vec::new();
        write_value(&list, false, &mut out);
        assert!(out[0] > 1, "several quicklist nodes");
        assert_eq!(round_trip(&list), (types::LIST_QUICKLIST_2, list.clone()));
        let huge = Value::List(vec![vec![b'x'; 20_000], b"1".to_vec()]);
        assert_eq!(round_trip(&huge).1, huge);
    }

    #[test]
    fn truncated_bodies_are_errors() {
        let values = [
            Value::List(strings(10, |i| i.to_string())),
            Value::Set(strings(10, |i| i.to_string())),
            Value::Set(strings(10, |i| format!("s{i}"))),
            Value::Hash(vec![(b"a".to_vec(), b"b".to_vec())]),
            Value::Hash(vec![(b"a".to_vec(), vec![b'b'; 100])]),
            Value::ZSet(vec![(b"a".to_vec(), 2.5)]),
            Value::ZSet(
                (0..130)
                    .map(|i| (i.to_string().into_bytes(), 1.0))
                    .collect(),
            ),
        ];
        for v in &values {
            let mut out = Vec::new();
            let t = write_value(v, false, &mut out);
            for cut in 0..out.len() {
                assert!(read_value(&mut &out[..cut], t).is_err(), "{t} cut {cut}");
            }
        }
    }
}
