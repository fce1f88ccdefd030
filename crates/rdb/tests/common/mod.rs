//! Value strategies shared by the round-trip tests (`values.rs`) and the fuzz targets
//! (`fuzz.rs`): every value type, with elements that hit every encoding (integers, short and
//! long strings, repeated bytes that LZF compresses).

use std::collections::BTreeSet;

use damselfly_rdb::{Stream, StreamGroup, Value};
use proptest::prelude::*;

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (-5000i64..5000).prop_map(|v| v.to_string().into_bytes()),
        (any::<u8>(), 0usize..200).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
        (-1000i32..1000).prop_map(f64::from),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

fn stream() -> impl Strategy<Value = Stream> {
    let fields = proptest::collection::vec((element(), element()), 0..4);
    (
        proptest::collection::vec((1u64..1000, 0u64..3, fields), 0..150),
        proptest::collection::vec((element(), any::<u8>(), element()), 0..3),
    )
        .prop_map(|(raw, groups)| {
            let mut ms = 1_700_000_000_000u64;
            let entries: Vec<_> = raw
                .into_iter()
                .map(|(step, seq, fields)| {
                    ms += step;
                    ((ms, seq), fields)
                })
                .collect();
            let last_id = entries.last().map_or((0, 0), |e| e.0);
            let names: BTreeSet<Vec<u8>> = groups.iter().map(|g| g.0.clone()).collect();
            let groups = names
                .into_iter()
                .zip(&groups)
                .map(|(name, (_, pick, consumer))| {
                    let pending = entries
                        .iter()
                        .step_by(usize::from(*pick % 7) + 1)
                        .take(5)
                        .map(|e| (e.0, 1_700_000_000_500, 2, consumer.clone()))
                        .collect();
                    StreamGroup {
                        name,
                        last_id,
                        entries_read: i64::from(*pick) - 1,
                        pending,
                        consumers: vec![(consumer.clone(), 1_700_000_000_900)],
                    }
                })
                .collect();
            Stream {
                first_id: entries.first().map_or((0, 0), |e| e.0),
                entries_added: entries.len() as u64,
                last_id,
                max_deleted_id: (0, 0),
                entries,
                groups,
            }
        })
}

pub fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        element().prop_map(Value::String),
        proptest::collection::vec(element(), 0..300).prop_map(Value::List),
        proptest::collection::btree_set(element(), 0..600)
            .prop_map(|s| Value::Set(s.into_iter().collect())),
        proptest::collection::btree_set(any::<i64>(), 0..600)
            .prop_map(|s| Value::Set(s.into_iter().map(|v| v.to_string().into_bytes()).collect())),
        proptest::collection::btree_map(element(), element(), 0..200)
            .prop_map(|m| Value::Hash(m.into_iter().collect())),
        proptest::collection::btree_map(element(), score(), 0..200)
            .prop_map(|m| Value::ZSet(m.into_iter().collect())),
        stream().prop_map(|s| Value::Stream(Box::new(s))),
    ]
}
