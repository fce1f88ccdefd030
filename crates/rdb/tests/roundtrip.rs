//! Write-then-read round trips, checksum verification and malformed input.

use damselfly_rdb::{read_rdb, Entry, Error, RdbEvent, RdbReader, RdbWriter, Value};
use proptest::prelude::*;

type Item = (u64, Vec<u8>, Vec<u8>, Option<u64>);

fn write(items: &[Item], compress: bool) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.set_compression(compress);
    w.write_default_aux(1_700_000_000, 123_456).unwrap();
    let mut dbs: Vec<u64> = items.iter().map(|i| i.0).collect();
    dbs.sort_unstable();
    dbs.dedup();
    for db in dbs {
        let in_db: Vec<&Item> = items.iter().filter(|i| i.0 == db).collect();
        w.select_db(db).unwrap();
        let expires = in_db.iter().filter(|i| i.3.is_some()).count() as u64;
        w.resize_db(in_db.len() as u64, expires).unwrap();
        for (_, k, v, e) in in_db {
            w.write_string_entry(k, v, *e).unwrap();
        }
    }
    w.finish().unwrap()
}

fn entries(bytes: &[u8]) -> Vec<Item> {
    read_rdb(bytes)
        .unwrap()
        .entries
        .into_iter()
        .map(|e: Entry| {
            let Value::String(v) = e.value else {
                panic!("non-string")
            };
            (e.db, e.key, v, e.expire_ms)
        })
        .collect()
}

fn sample() -> Vec<Item> {
    let mut big = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        big.push((x >> 16) as u8);
    }
    vec![
        (0, b"str".to_vec(), b"hello".to_vec(), None),
        (0, b"empty".to_vec(), Vec::new(), None),
        (0, Vec::new(), b"empty key".to_vec(), None),
        (0, b"i8".to_vec(), b"-128".to_vec(), None),
        (0, b"i16".to_vec(), b"32767".to_vec(), None),
        (0, b"i32".to_vec(), b"-2147483648".to_vec(), None),
        (0, b"i64".to_vec(), b"2147483648".to_vec(), None),
        (0, b"lead0".to_vec(), b"007".to_vec(), None),
        (0, b"neg0".to_vec(), b"-0".to_vec(), None),
        (0, b"zero".to_vec(), b"0".to_vec(), None),
        (0, b"float".to_vec(), b"3.14".to_vec(), None),
        (
            0,
            b"compressible".to_vec(),
            b"abcd".repeat(250),
            Some(1_900_000_000_000),
        ),
        (0, b"random-big".to_vec(), big, None),
        (0, b"big-compressible".to_vec(), vec![b'z'; 100_000], None),
        (0, vec![0, 255, 13, 10], vec![0, 1, 2, 255], Some(0)),
        (3, b"in-db3".to_vec(), b"x".to_vec(), Some(i64::MAX as u64)),
        (15, b"in-db15".to_vec(), b"12".to_vec(), None),
    ]
}

#[test]
fn roundtrip_sample_with_and_without_compression() {
    let items = sample();
    for compress in [true, false] {
        let bytes = write(&items, compress);
        assert_eq!(&bytes[..9], b"REDIS0010");
        assert_eq!(entries(&bytes), items, "compress={compress}");
    }
    let compressed = write(&items, true);
    let plain = write(&items, false);
    assert!(compressed.len() + 90_000 < plain.len());
}

#[test]
fn events_aux_and_checksum() {
    let bytes = write(&sample(), true);
    let crc = damselfly_rdb::crc64(&bytes[..bytes.len() - 8]);
    assert_eq!(bytes[bytes.len() - 9], 0xff);
    assert_eq!(&bytes[bytes.len() - 8..], &crc.to_le_bytes());

    let file = read_rdb(&bytes[..]).unwrap();
    assert_eq!(file.version, 10);
    assert_eq!(file.checksum, Some(crc));
    assert_eq!(file.aux(b"redis-ver"), Some(&b"7.0.15"[..]));
    assert_eq!(file.aux(b"redis-bits"), Some(&b"64"[..]));
    assert_eq!(file.aux(b"ctime"), Some(&b"1700000000"[..]));
    assert_eq!(file.aux(b"used-mem"), Some(&b"123456"[..]));
    assert_eq!(file.aux(b"aof-base"), Some(&b"0"[..]));

    let events: Vec<RdbEvent> = RdbReader::new(&bytes[..])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(events.contains(&RdbEvent::SelectDb(3)));
    assert!(events.contains(&RdbEvent::ResizeDb {
        db_size: 1,
        expires_size: 1
    }));
}

#[test]
fn reader_stops_exactly_after_checksum() {
    let mut bytes = write(&sample(), true);
    let len = bytes.len();
    bytes.extend_from_slice(b"+trailing stream data");
    let mut r = RdbReader::new(&bytes[..]).unwrap();
    while r.next_event().unwrap().is_some() {}
    let rest = r.into_inner();
    assert_eq!(rest, b"+trailing stream data");
    assert_eq!(bytes.len() - rest.len(), len);
}

#[test]
fn zero_checksum_is_accepted() {
    let mut bytes = write(&sample(), true);
    let n = bytes.len();
    bytes[n - 8..].fill(0);
    assert_eq!(read_rdb(&bytes[..]).unwrap().checksum, Some(0));
}

#[test]
fn checksum_mismatch_detected() {
    let mut bytes = write(&sample(), true);
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    assert!(matches!(
        read_rdb(&bytes[..]),
        Err(Error::ChecksumMismatch { .. })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    let items: Vec<Item> = sample().into_iter().filter(|i| i.2.len() < 2000).collect();
    let bytes = write(&items, true);
    for cut in 0..bytes.len() {
        assert!(read_rdb(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn every_single_byte_corruption_is_an_error() {
    let items: Vec<Item> = sample().into_iter().filter(|i| i.2.len() < 2000).collect();
    let bytes = write(&items, true);
    for pos in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[pos] ^= flip;
            assert!(read_rdb(&b[..]).is_err(), "pos {pos} flip {flip:#x}");
        }
    }
}

#[test]
fn header_errors() {
    assert!(matches!(read_rdb(&b"RADIS0010"[..]), Err(Error::BadMagic)));
    assert!(matches!(read_rdb(&b"REDIS00x0"[..]), Err(Error::BadMagic)));
    assert!(matches!(
        read_rdb(&b"REDIS0011\xff"[..]),
        Err(Error::UnsupportedVersion(11))
    ));
    assert!(matches!(read_rdb(&b"REDIS"[..]), Err(Error::UnexpectedEof)));
}

#[test]
fn unsupported_type_and_opcodes() {
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_type_and_key(7, b"module", None).unwrap();
    let bytes = w.finish().unwrap();
    let err = read_rdb(&bytes[..]).unwrap_err();
    assert!(matches!(err, Error::UnsupportedType(7)));
    assert_eq!(err.to_string(), "Unsupported type 7");

    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_raw(&[damselfly_rdb::opcode::FUNCTION_PRE_GA])
        .unwrap();
    let bytes = w.finish().unwrap();
    assert!(matches!(
        read_rdb(&bytes[..]),
        Err(Error::UnsupportedOpcode(246))
    ));
}

#[test]
fn module_aux_is_skipped() {
    // MODULE_AUX: module id, when-opcode UINT + when, then one item of every kind, then EOF;
    // the key after it still loads.
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_raw(&[damselfly_rdb::opcode::MODULE_AUX]).unwrap();
    w.write_len(0x1234_5678).unwrap();
    w.write_len(2).unwrap();
    w.write_len(1).unwrap();
    w.write_len(1).unwrap(); // SINT
    w.write_len(7).unwrap();
    w.write_len(2).unwrap(); // UINT
    w.write_len(300).unwrap();
    w.write_len(3).unwrap(); // FLOAT
    w.write_raw(&[0; 4]).unwrap();
    w.write_len(4).unwrap(); // DOUBLE
    w.write_raw(&[0; 8]).unwrap();
    w.write_len(5).unwrap(); // STRING
    w.write_string(b"module state").unwrap();
    w.write_len(0).unwrap(); // EOF
    w.write_entry(b"k", &Value::String(b"v".to_vec()), None)
        .unwrap();
    let bytes = w.finish().unwrap();
    let events: Vec<RdbEvent> = RdbReader::new(&bytes[..])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        events[0],
        RdbEvent::ModuleAux {
            module_id: 0x1234_5678
        }
    );
    assert!(matches!(&events[1], RdbEvent::Entry(e) if e.key == b"k"));
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_raw(&[damselfly_rdb::opcode::MODULE_AUX]).unwrap();
    w.write_len(1).unwrap();
    w.write_len(2).unwrap();
    w.write_len(1).unwrap();
    w.write_len(9).unwrap(); // not an item opcode
    let bytes = w.finish().unwrap();
    assert!(matches!(read_rdb(&bytes[..]), Err(Error::Corrupt(_))));
}

#[test]
fn legacy_versions_and_opcodes() {
    // Hand-built v3 file (no checksum): SELECTDB 2, EXPIRETIME (seconds), IDLE, FREQ, string.
    let mut b = b"REDIS0003".to_vec();
    b.extend_from_slice(&[0xfe, 2, 0xfd]);
    b.extend_from_slice(&1_000i32.to_le_bytes());
    b.extend_from_slice(&[0xf8, 0x40, 0x80, 0xf9, 7, 0, 1, b'k', 0xc0, 42, 0xff]);
    let file = read_rdb(&b[..]).unwrap();
    assert_eq!(file.checksum, None);
    assert_eq!(
        file.entries,
        vec![Entry {
            db: 2,
            key: b"k".to_vec(),
            value: Value::String(b"42".to_vec()),
            expire_ms: Some(1_000_000),
            idle_secs: Some(128),
            freq: Some(7),
        }]
    );
}

#[test]
fn function_records_roundtrip() {
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_function(b"#!lua name=lib\nreturn 1").unwrap();
    let bytes = w.finish().unwrap();
    let file = read_rdb(&bytes[..]).unwrap();
    assert_eq!(file.functions, vec![b"#!lua name=lib\nreturn 1".to_vec()]);
}

fn arb_items() -> impl Strategy<Value = Vec<Item>> {
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        any::<i32>().prop_map(|v| v.to_string().into_bytes()),
        (any::<u8>(), 0usize..3000).prop_map(|(b, n)| vec![b; n]),
        (proptest::collection::vec(any::<u8>(), 1..8), 0usize..500).prop_map(|(p, n)| p.repeat(n)),
    ];
    proptest::collection::vec(
        (
            0u64..20,
            proptest::collection::vec(any::<u8>(), 0..20),
            value,
            proptest::option::of(any::<u64>().prop_map(|v| v >> 1)),
        ),
        0..20,
    )
}

proptest! {
    #[test]
    fn prop_roundtrip(items in arb_items(), compress in any::<bool>()) {
        let bytes = write(&items, compress);
        let mut want = items.clone();
        want.sort_by_key(|i| i.0); // the writer groups by db (stable)
        prop_assert_eq!(entries(&bytes), want);
    }

    #[test]
    fn prop_random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_rdb(&data[..]);
        let mut with_header = b"REDIS0010".to_vec();
        with_header.extend_from_slice(&data);
        let _ = read_rdb(&with_header[..]);
    }

    #[test]
    fn prop_mutated_files_never_panic(
        items in arb_items(),
        muts in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut bytes = write(&items, true);
        for (pos, val) in muts {
            let n = bytes.len();
            bytes[pos % n] = val;
        }
        let cut = cut % (bytes.len() + 1);
        let _ = read_rdb(&bytes[..cut]);
        let _ = read_rdb(&bytes[..]);
    }

    #[test]
    fn prop_lzf_decompress_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..256),
        len in 0u64..100_000,
    ) {
        let _ = damselfly_rdb::lzf_decompress(&data, len);
    }
}
