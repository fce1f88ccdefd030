//! Fuzz targets for what a replica reads from its primary: the flow stream (journal records,
//! snapshot chunks with RDB-encoded entries, control items) as `FlowInput` hands it to the
//! applier, and the handshake replies.
//!
//! Properties, for every input and every way of splitting it:
//! * no panic (malformed records are errors), and no case runs longer than the watchdog allows;
//! * the bytes allocated while reading stay within `max(64 KiB, FACTOR * input length)`. This
//!   crate's binaries use jemalloc, so the meter is jemalloc's per-thread count of bytes
//!   allocated, which also counts what was freed meanwhile (a stricter bound than a peak);
//! * a valid stream is accepted whole.
//!
//! Case counts come from `DAMSELFLY_FUZZ_CASES` (see docs/fuzzing.md).

use super::applier::Applier;
use super::flow_input::FlowInput;
use super::handshake::{parse_flow_hello, parse_sync_reply, take_line, MAX_FLOWS};
use crate::journal::wire;
use bytes::{Bytes, BytesMut};
use damselfly_fuzzkit::mutation::{mutate, mutation};
use damselfly_rdb::Value;
use proptest::prelude::*;

/// Each argument of a record costs a `Bytes` handle and each decoded entry its value and a
/// table slot, for a few bytes of input; cumulative allocation counts every growth step too.
const FACTOR: usize = 64;

/// Bytes this thread has allocated so far, as jemalloc counts them.
fn allocated() -> u64 {
    tikv_jemalloc_ctl::thread::allocatedp::mib()
        .and_then(|mib| mib.read())
        .map_or(0, |counter| counter.get())
}

/// Runs `read` under the watchdog and checks the bytes it allocated against the input size.
fn bounded<T>(input: &[u8], read: impl FnOnce() -> T) -> T {
    let before = allocated();
    let result = damselfly_fuzzkit::bounded(input, FACTOR, read);
    let used = allocated().saturating_sub(before);
    let limit = damselfly_fuzzkit::ALLOCATION_FLOOR.max(FACTOR * input.len()) as u64;
    assert!(
        used <= limit,
        "reading {} bytes allocated {used} bytes (limit {limit})",
        input.len()
    );
    result
}

/// Feeds `stream` to a fresh applier in pieces ending at `cuts`; the first error, if any.
fn feed(stream: &[u8], cuts: &[usize]) -> Result<(), String> {
    let mut applier = Applier::new(2, 3);
    let mut flow_input = FlowInput::default();
    let mut input = BytesMut::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(start, stream.len());
        input.extend_from_slice(&stream[start..cut]);
        start = cut;
        flow_input.drain(&mut input, &mut applier, 1)?;
    }
    Ok(())
}

fn word() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..12),
        prop::sample::select(vec![
            b"SET".to_vec(),
            b"DEL".to_vec(),
            b"MSET".to_vec(),
            b"FLUSHALL".to_vec(),
            b"FLUSHDB".to_vec(),
            b"UNLINK".to_vec(),
        ]),
    ]
}

fn rdb_value() -> impl Strategy<Value = Value> {
    let items = prop::collection::vec(word(), 1..6);
    prop_oneof![
        word().prop_map(Value::String),
        items.clone().prop_map(Value::List),
        items
            .clone()
            .prop_map(|mut s| {
                s.sort();
                s.dedup();
                s
            })
            .prop_map(Value::Set),
        prop::collection::btree_map(word(), word(), 1..5)
            .prop_map(|m| Value::Hash(m.into_iter().collect())),
        prop::collection::btree_map(word(), -10.0f64..10.0, 1..5)
            .prop_map(|m| Value::ZSet(m.into_iter().collect())),
    ]
}

/// One item of a flow, encoded as the primary sends it.
fn item() -> impl Strategy<Value = Vec<u8>> {
    let effect = (0usize..20, prop::collection::vec(word(), 1..5));
    prop_oneof![
        4 => (any::<u64>(), 0u32..4, prop::collection::vec(effect, 1..4)).prop_map(
            |(txid, parts, effects)| {
                let effects: Vec<(usize, Vec<Bytes>)> = effects
                    .into_iter()
                    .map(|(db, args)| (db, args.into_iter().map(Bytes::from).collect()))
                    .collect();
                let refs: Vec<(usize, &[Bytes])> =
                    effects.iter().map(|(db, args)| (*db, &args[..])).collect();
                let mut out = Vec::new();
                wire::write_record(&mut out, txid, parts, &refs);
                out
            }
        ),
        2 => (0usize..20, prop::collection::vec((word(), rdb_value(), any::<bool>()), 0..4))
            .prop_map(|(db, entries)| {
                let mut records = Vec::new();
                for (key, value, expires) in &entries {
                    let expiry = expires.then_some(1_700_000_000_000);
                    damselfly_rdb::write_record(key, value, expiry, &mut records);
                }
                wire::snapshot_chunk(db, &records).to_vec()
            }),
        1 => prop::sample::select(vec![
            wire::SNAPSHOT_END.to_vec(),
            wire::KEEPALIVE.to_vec(),
            wire::GETACK.to_vec(),
        ]),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(item(), 1..8).prop_map(|items| items.concat())
}

/// Values that, written over a number or a length, make it huge, negative or not a number.
const HOSTILE: &[&[u8]] = &[
    b"18446744073709551616",
    b"99999999999",
    b"-1",
    b"4294967295",
    b"x",
    b"$2147483648\r\n",
    b"*1048576\r\n",
    b"\x80\xff\xff\xff\xff",
    b"\x81\xff\xff\xff\xff\xff\xff\xff\xff",
];

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..4000, 0..8).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts
    })
}

/// A reply line as a primary (or something else listening on its port) might send it.
fn reply() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "+FULLRESYNC",
                "+CONTINUE",
                "+FULL",
                "+PARTIAL",
                "-ERR"
            ]),
            prop::collection::vec(
                prop_oneof![
                    "[0-9a-f]{0,40}",
                    any::<u64>().prop_map(|n| n.to_string()),
                    any::<i64>().prop_map(|n| n.to_string()),
                    Just("18446744073709551616".to_string()),
                ],
                0..5
            )
        )
            .prop_map(|(kind, words)| format!("{kind} {}", words.join(" "))),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(damselfly_fuzzkit::config())]

    #[test]
    fn fuzz_valid_flow_streams(stream in stream(), cuts in cuts()) {
        prop_assert_eq!(bounded(&stream, || feed(&stream, &cuts)), Ok(()));
    }

    #[test]
    fn fuzz_mutated_flow_streams(
        stream in stream(),
        mutations in prop::collection::vec(mutation(HOSTILE), 1..6),
        cuts in cuts(),
    ) {
        let mut stream = stream;
        for mutation in &mutations {
            mutate(&mut stream, mutation, HOSTILE);
        }
        let _ = bounded(&stream, || feed(&stream, &cuts));
    }

    #[test]
    fn fuzz_handshake_replies(
        lines in prop::collection::vec(reply(), 1..4),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        cut in any::<usize>(),
    ) {
        let mut bytes = Vec::new();
        for line in &lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(&noise);
        let cut = cut % (bytes.len() + 1);
        bounded(&bytes, || {
            let mut input = BytesMut::from(&bytes[..cut]);
            let mut taken = Vec::new();
            while let Ok(Some(line)) = take_line(&mut input) {
                taken.push(line);
            }
            input.extend_from_slice(&bytes[cut..]);
            while let Ok(Some(line)) = take_line(&mut input) {
                taken.push(line);
            }
            for line in &taken {
                if let Ok(sync) = parse_sync_reply(line) {
                    assert!((1..=MAX_FLOWS).contains(&sync.flows));
                }
                let _ = parse_flow_hello(0, line);
            }
        });
    }
}

#[test]
fn overlong_handshake_line_is_an_error() {
    let mut input = BytesMut::from(&vec![b'+'; super::handshake::MAX_REPLY_LINE + 1][..]);
    assert!(take_line(&mut input).is_err());
    let mut input = BytesMut::from(&b"+FULLRESYNC id 7 4\r\n+FULL"[..]);
    let line = take_line(&mut input).ok().flatten().unwrap_or_default();
    let sync = parse_sync_reply(&line);
    assert_eq!(sync.map(|s| (s.full, s.flows)), Ok((true, 4)));
    assert_eq!(take_line(&mut input), Ok(None));
    assert_eq!(parse_flow_hello(0, "+PARTIAL 123"), Ok(123));
    assert!(parse_sync_reply("+CONTINUE id 7 1025").is_err());
}

/// The meter the properties rely on does count: a vacuous 0 would let every case pass.
#[test]
fn jemalloc_meter_counts_allocations() {
    let before = allocated();
    let block = std::hint::black_box(vec![1u8; 1 << 20]);
    assert!(allocated() - before >= block.len() as u64);
}
