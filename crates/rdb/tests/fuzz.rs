//! Fuzz targets for the RDB reader: whole files (`read_rdb`) and single serialized values
//! (`decode_value`, the body of a DUMP payload), built by damselfly's own writer for every value
//! type and encoding, plus the legacy encodings only Redis before 7.0 wrote (ziplist, zipmap,
//! quicklist of ziplists), then mutated.
//!
//! Properties, for every input:
//! * no panic, and no case runs longer than the watchdog allows (no hang);
//! * the bytes held at once stay within `max(64 KiB, FACTOR * input length)`, whatever counts
//!   and lengths the input claims;
//! * an unmodified input decodes; a truncated file is an error, never a shorter success.
//!
//! Case counts come from `DAMSELFLY_FUZZ_CASES` (see docs/fuzzing.md).

use damselfly_fuzzkit::mutation::{mutate, mutation, Mutation};
use damselfly_fuzzkit::{bounded, CountingAlloc};
use damselfly_rdb::{decode_value, encode_len, encode_value, read_rdb, RdbWriter, Value};
use proptest::prelude::*;

mod common;
use common::value;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A decoded element costs a `Vec` (24 bytes) plus its heap block for as little as one byte of
/// input (a listpack's 1-byte small integer), and the collections double as they grow.
const FACTOR: usize = 64;

/// Legacy type bytes (Redis < 7.0), which the writer never produces.
const HASH_ZIPMAP: u8 = 9;
const LIST_ZIPLIST: u8 = 10;
const ZSET_ZIPLIST: u8 = 12;
const HASH_ZIPLIST: u8 = 13;
const LIST_QUICKLIST: u8 = 14;

/// A ziplist of short strings (1-byte previous-length fields, 6-bit string encodings).
fn ziplist(items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for item in items {
        tail = 10 + body.len();
        let entry_len = 1 + 1 + item.len();
        body.push(prev as u8);
        body.push(item.len() as u8);
        body.extend_from_slice(item);
        prev = entry_len;
    }
    let mut zl = Vec::new();
    zl.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xff);
    zl
}

/// A zipmap of short pairs, each value with a byte of free space.
fn zipmap(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut zm = vec![pairs.len() as u8];
    for (key, value) in pairs {
        zm.push(key.len() as u8);
        zm.extend_from_slice(key);
        zm.push(value.len() as u8);
        zm.push(1);
        zm.extend_from_slice(value);
        zm.push(0);
    }
    zm.push(0xff);
    zm
}

/// `len` followed by the bytes, as an RDB string.
fn rdb_string(bytes: &[u8], out: &mut Vec<u8>) {
    encode_len(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn short() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..20),
        (0u32..100_000).prop_map(|n| n.to_string().into_bytes()),
    ]
}

fn items() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(short(), 0..20)
}

fn pairs() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    prop::collection::vec((short(), short()), 0..10)
}

fn flat(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    pairs.into_iter().flat_map(|(a, b)| [a, b]).collect()
}

/// `kind` followed by `blob` as an RDB string.
fn blob_value(kind: u8, blob: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    rdb_string(blob, &mut out);
    out
}

/// A serialized value (type byte and body) in a legacy encoding.
fn legacy_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        items().prop_map(|items| blob_value(LIST_ZIPLIST, &ziplist(&items))),
        pairs().prop_map(|pairs| blob_value(HASH_ZIPLIST, &ziplist(&flat(pairs)))),
        prop::collection::vec((short(), (-9.0f64..9.0).prop_map(|f| f.to_string())), 0..10)
            .prop_map(|pairs| {
                let scored = pairs
                    .into_iter()
                    .map(|(m, s)| (m, s.into_bytes()))
                    .collect();
                blob_value(ZSET_ZIPLIST, &ziplist(&flat(scored)))
            }),
        pairs().prop_map(|pairs| blob_value(HASH_ZIPMAP, &zipmap(&pairs))),
        prop::collection::vec(items(), 0..4).prop_map(|nodes| {
            let mut out = vec![LIST_QUICKLIST];
            encode_len(nodes.len() as u64, &mut out);
            for node in &nodes {
                rdb_string(&ziplist(node), &mut out);
            }
            out
        }),
    ]
}

/// A serialized value in any encoding Redis 7.0 loads.
fn serialized_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => value().prop_map(|v| {
            let mut out = Vec::new();
            encode_value(&v, &mut out);
            out
        }),
        1 => legacy_value(),
    ]
}

/// An RDB file written by `RdbWriter`, with compression on or off.
fn rdb_file() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((0u64..3, value(), prop::option::of(0u64..1 << 45)), 0..4),
        any::<bool>(),
    )
        .prop_map(|(entries, compress)| {
            let write = || -> damselfly_rdb::Result<Vec<u8>> {
                let mut writer = RdbWriter::new(Vec::new())?;
                writer.set_compression(compress);
                writer.write_default_aux(1_700_000_000, 1 << 20)?;
                writer.write_function(b"#!lua name=lib\nreturn 1")?;
                for (i, (db, value, expiry)) in entries.iter().enumerate() {
                    writer.select_db(*db)?;
                    writer.write_entry(format!("key{i}").as_bytes(), value, *expiry)?;
                }
                writer.finish()
            };
            write().unwrap_or_default()
        })
}

/// Byte strings that, written over a length or count field, claim huge or odd sizes.
const HOSTILE: &[&[u8]] = &[
    &[0x80, 0xff, 0xff, 0xff, 0xff],
    &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x81, 0, 0, 0, 1, 0, 0, 0, 0],
    &[0xc3, 0x80, 0xff, 0xff, 0xff, 0xff, 0x01],
    &[0xc3, 0x05, 0x80, 0xff, 0xff, 0xff, 0xff],
    &[0xff, 0xff, 0xff, 0xff],
    &[0xfe, 0xff, 0xff, 0xff, 0xff],
    &[0xf4, 0xff, 0xff, 0xff, 0xff],
    &[0x3f],
    &[0x7f, 0xff],
];

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(HOSTILE), 1..6)
}

/// Decodes a serialized value under the meter and the watchdog.
fn decode(bytes: &[u8]) -> damselfly_rdb::Result<Value> {
    bounded(bytes, FACTOR, || decode_value(&mut &bytes[..]))
}

/// Reads a whole file under the meter and the watchdog; `Ok` tells only whether it loaded.
fn read(bytes: &[u8]) -> bool {
    bounded(bytes, FACTOR, || read_rdb(bytes).is_ok())
}

proptest! {
    #![proptest_config(damselfly_fuzzkit::config())]

    #[test]
    fn fuzz_serialized_values(bytes in serialized_value()) {
        prop_assert!(decode(&bytes).is_ok());
        for cut in [0, bytes.len() / 3, bytes.len() / 2, bytes.len().saturating_sub(1)] {
            if cut < bytes.len() {
                prop_assert!(decode(&bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn fuzz_mutated_serialized_values(bytes in serialized_value(), mutations in mutations()) {
        let mut bytes = bytes;
        for mutation in &mutations {
            mutate(&mut bytes, mutation, HOSTILE);
        }
        let _ = decode(&bytes);
    }

    #[test]
    fn fuzz_rdb_files(bytes in rdb_file(), cut in any::<usize>()) {
        prop_assert!(read(&bytes));
        let cut = cut % bytes.len().max(1);
        prop_assert!(!read(&bytes[..cut]));
    }

    #[test]
    fn fuzz_mutated_rdb_files(bytes in rdb_file(), mutations in mutations()) {
        let mut bytes = bytes;
        for mutation in &mutations {
            mutate(&mut bytes, mutation, HOSTILE);
        }
        read(&bytes);
        // With the checksum disabled (a stored 0), corrupt bodies reach every decoder.
        let len = bytes.len();
        if len >= 8 {
            bytes[len - 8..].fill(0);
        }
        read(&bytes);
    }

    #[test]
    fn fuzz_lzf(
        data in prop::collection::vec(any::<u8>(), 1..2048),
        claimed in prop_oneof![0u64..300_000, Just(u64::from(u32::MAX)), Just(u64::MAX)],
    ) {
        bounded(&data, FACTOR, || damselfly_rdb::lzf_decompress(&data, claimed).is_ok());
    }
}

/// Finding: every length read reserved up to 64 KiB and every collection up to 1024 elements
/// before their bytes had arrived, so a few bytes claiming many long elements held far more
/// than the input (a hash claiming 16 511 pairs, each claiming a 4 GB string: 48 KiB + 64 KiB
/// for 16 bytes). Reservations are now at most 4 KiB per collection and 8 KiB per string.
#[test]
fn regression_claimed_counts_and_lengths_are_not_preallocated() {
    let mut bytes = vec![4, 0x40, 0x7f];
    bytes.extend_from_slice(&[0x80, 0xff, 0xff, 0xff, 0xff, b'k']);
    assert!(decode(&bytes).is_err());
    let mut list = vec![1, 0x81, 0, 0, 0, 1, 0, 0, 0, 0];
    list.extend_from_slice(&[0x80, 0xff, 0xff, 0xff, 0xff]);
    assert!(decode(&list).is_err());
}

/// Finding: an LZF string reserved its whole claimed length (up to 1 MiB, and up to 140 times
/// the compressed size) before decompressing: 731 bytes claiming 100 000 held 100 KB.
#[test]
fn regression_lzf_claimed_length_is_not_preallocated() {
    let data = vec![0u8; 731];
    let decoded = bounded(&data, FACTOR, || {
        damselfly_rdb::lzf_decompress(&data, 100_000)
    });
    assert!(decoded.is_err());
}
