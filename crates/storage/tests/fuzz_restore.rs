//! Fuzz target for RESTORE: DUMP payloads (a serialized value, the RDB version and a CRC-64)
//! built by damselfly's own encoder for every value type, then mutated either before the
//! footer is computed (so corrupt bodies reach the decoder) or after (so the footer check must
//! catch them).
//!
//! Properties, for every payload:
//! * RESTORE answers OK or one of Redis's two errors for bad payloads, never panics, and no
//!   case runs longer than the watchdog allows;
//! * the bytes held at once stay within `max(64 KiB, FACTOR * payload length)`;
//! * a restored value dumps to a payload that restores.
//!
//! Case counts come from `DAMSELFLY_FUZZ_CASES` (see docs/fuzzing.md).

use bytes::Bytes;
use damselfly_fuzzkit::mutation::{mutate, mutation};
use damselfly_fuzzkit::{bounded, CountingAlloc};
use damselfly_protocol::Frame;
use damselfly_storage::{execute, Db, ExecContext, Stats};
use proptest::prelude::*;

// The value strategies of the RDB crate's tests, shared rather than copied.
#[path = "../../rdb/tests/common/mod.rs"]
mod common;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// As for the RDB reader (crates/rdb/tests/fuzz.rs), plus the keyspace's own structures for the
/// value restored.
const FACTOR: usize = 64;

const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
const BAD_FORMAT: &str = "ERR Bad data format";

/// `body` followed by the RDB version and the CRC-64 of both, as DUMP writes them.
fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&version.to_le_bytes());
    let crc = damselfly_rdb::crc64(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

fn run(dbs: &mut [Db], args: &[&[u8]]) -> Frame {
    let args: Vec<Bytes> = args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect();
    let mut stats = Stats::default();
    let mut ctx = ExecContext {
        now_ms: 1_700_000_000_000,
        stats: &mut stats,
        effects: None,
    };
    execute(dbs, 0, &args, &mut ctx)
}

/// RESTOREs `payload` into a fresh db under the meter and the watchdog; checks the reply.
fn restore(payload: &[u8]) -> (Vec<Db>, Frame) {
    let mut dbs = vec![Db::new()];
    let reply = bounded(payload, FACTOR, || {
        run(&mut dbs, &[b"RESTORE", b"key", b"0", payload, b"REPLACE"])
    });
    let known = [
        Frame::OK,
        Frame::error(BAD_PAYLOAD),
        Frame::error(BAD_FORMAT),
    ];
    assert!(known.contains(&reply), "RESTORE answered {reply:?}");
    (dbs, reply)
}

/// After a successful RESTORE, the key dumps to a payload that restores. (Not byte for byte the
/// same payload: hash-table orders may differ, as in Redis.)
fn check_dump_round_trip(dbs: &mut [Db]) {
    let Frame::Bulk(dumped) = run(dbs, &[b"DUMP", b"key"]) else {
        panic!("a restored key has no DUMP");
    };
    assert_eq!(restore(&dumped).1, Frame::OK);
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    common::value().prop_map(|value| {
        let mut body = Vec::new();
        damselfly_rdb::encode_value(&value, &mut body);
        body
    })
}

proptest! {
    #![proptest_config(damselfly_fuzzkit::config())]

    #[test]
    fn fuzz_restore_valid_payloads(body in body()) {
        let (mut dbs, reply) = restore(&with_footer(&body, 10));
        // Empty collections are refused as Redis refuses them; everything else loads.
        if reply == Frame::OK {
            check_dump_round_trip(&mut dbs);
        }
    }

    #[test]
    fn fuzz_restore_corrupt_bodies(
        body in body(),
        mutations in prop::collection::vec(mutation(&[]), 1..6),
        version in prop_oneof![Just(10u16), 0u16..12],
    ) {
        let mut body = body;
        for mutation in &mutations {
            mutate(&mut body, mutation, &[]);
        }
        let (mut dbs, reply) = restore(&with_footer(&body, version));
        if version > 10 {
            prop_assert_eq!(reply, Frame::error(BAD_PAYLOAD));
        } else if reply == Frame::OK {
            check_dump_round_trip(&mut dbs);
        }
    }

    #[test]
    fn fuzz_restore_corrupt_payloads(
        body in body(),
        mutations in prop::collection::vec(mutation(&[]), 1..4),
    ) {
        let mut payload = with_footer(&body, 10);
        for mutation in &mutations {
            mutate(&mut payload, mutation, &[]);
        }
        restore(&payload);
    }
}

/// Short payloads (below the 10-byte footer) are refused like Redis refuses them.
#[test]
fn payloads_shorter_than_the_footer_are_refused() {
    for len in 0..10 {
        let (_, reply) = restore(&vec![0u8; len]);
        assert_eq!(reply, Frame::error(BAD_PAYLOAD));
    }
}
