//! Round trips of every value type through `encode_value` / `decode_value`, `write_record` /
//! `read_record` and `RdbWriter::write_entry`, and truncated payloads. Mutated payloads are
//! fuzzed in `fuzz.rs`.

use damselfly_rdb::{
    decode_value, encode_value, read_rdb, read_record, write_record, RdbWriter, Stream,
    StreamGroup, Value,
};
use proptest::prelude::*;

mod common;
use common::value;

/// The value as the decoder returns it: sets and zsets in the order Redis keeps them.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Set(m) => {
            let mut m = m.clone();
            m.sort();
            Value::Set(m)
        }
        Value::ZSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            Value::ZSet(p)
        }
        Value::Stream(s) => {
            let mut s = s.clone();
            for g in &mut s.groups {
                g.pending.sort_by_key(|p| p.0);
            }
            Value::Stream(s)
        }
        v => v.clone(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (canonical(a), canonical(b)) {
        // Scores must come back bit for bit (-0.0 included).
        (Value::ZSet(x), Value::ZSet(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
        }
        (x, y) => x == y,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn prop_values_round_trip(v in value()) {
        let mut out = Vec::new();
        encode_value(&v, &mut out);
        let mut input = &out[..];
        let back = decode_value(&mut input).unwrap();
        prop_assert!(input.is_empty());
        prop_assert!(same(&back, &v), "{:?} != {:?}", back, v);

        let mut rec = Vec::new();
        write_record(b"key", &v, Some(77), &mut rec);
        let (key, back, exp) = read_record(&mut &rec[..]).unwrap().unwrap();
        prop_assert_eq!((key, exp), (b"key".to_vec(), Some(77)));
        prop_assert!(same(&back, &v));

        let mut w = RdbWriter::new(Vec::new()).unwrap();
        w.write_entry(b"k", &v, None).unwrap();
        let file = read_rdb(&w.finish().unwrap()[..]).unwrap();
        prop_assert!(same(&file.entries[0].value, &v));
    }
}

#[test]
fn every_truncation_of_every_type_is_an_error() {
    let values = [
        Value::List((0..700).map(|i| format!("e{i}").into_bytes()).collect()),
        Value::Set(vec![b"1".to_vec(), b"-7".to_vec()]),
        Value::Hash(vec![(b"f".to_vec(), b"v".to_vec())]),
        Value::ZSet(vec![(b"m".to_vec(), 1.5)]),
        Value::Stream(Box::new(Stream {
            entries: vec![
                ((1, 0), vec![(b"f".to_vec(), b"v".to_vec())]),
                ((2, 0), vec![]),
            ],
            last_id: (2, 0),
            first_id: (1, 0),
            entries_added: 2,
            groups: vec![StreamGroup {
                name: b"g".to_vec(),
                last_id: (1, 0),
                entries_read: 1,
                pending: vec![((1, 0), 5, 1, b"c".to_vec())],
                consumers: vec![(b"c".to_vec(), 6)],
            }],
            ..Stream::default()
        })),
    ];
    for v in &values {
        let mut out = Vec::new();
        encode_value(v, &mut out);
        assert!(same(&decode_value(&mut &out[..]).unwrap(), v));
        for cut in 0..out.len() {
            assert!(decode_value(&mut &out[..cut]).is_err(), "{v:?} cut {cut}");
        }
    }
    assert!(decode_value(&mut &[99u8][..]).is_err());
}
