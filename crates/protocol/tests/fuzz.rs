//! Fuzz targets for the request parser (`Parser::next_command`), fed the way a connection feeds
//! it: pieces of a stream appended to one buffer, every complete command taken after each piece,
//! and the buffer's capacity reserved as `Parser::reserve_for_bulk` asks.
//!
//! Properties, for every input and every way of splitting it, with and without
//! `set_auth_required`:
//! * no panic, and no case runs longer than the watchdog allows (no hang);
//! * the bytes held at once (buffer, parser state and the commands returned) stay within
//!   `max(64 KiB, FACTOR * input length)`, whatever lengths the input claims;
//! * the commands and the error do not depend on how the stream was split;
//! * a valid stream parses to the commands it was built from.
//!
//! Case counts come from `DAMSELFLY_FUZZ_CASES` (see docs/fuzzing.md).

use bytes::{Bytes, BytesMut};
use damselfly_fuzzkit::mutation::{mutate, mutation};
use damselfly_fuzzkit::{bounded, CountingAlloc};
use damselfly_protocol::{encode, Frame, ParseError, Parser};
use proptest::prelude::*;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Every argument costs a `Bytes` handle (32 bytes) in the returned command, and the shortest
/// argument is two bytes of input (`a ` inline); with the argument vector's doubling this bounds
/// the honest cost at about 32 times the input. Redis's own cost per argument (an `robj` and an
/// sds string) is of the same order.
const FACTOR: usize = 32;

type Command = Vec<Vec<u8>>;

#[derive(Debug, PartialEq)]
struct Outcome {
    commands: Vec<Command>,
    error: Option<ParseError>,
}

/// Feeds `input` in pieces ending at `cuts` (sorted), like `Connection::run` does.
fn feed(input: &[u8], cuts: &[usize], auth_required: bool) -> Outcome {
    let mut parser = Parser::new();
    parser.set_auth_required(auth_required);
    let mut buf = BytesMut::new();
    let mut parsed: Vec<Vec<Bytes>> = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        buf.extend_from_slice(&input[start..cut]);
        start = cut;
        loop {
            match parser.next_command(&mut buf) {
                Ok(Some(command)) => parsed.push(command),
                Ok(None) => break,
                Err(error) => return outcome(parsed, Some(error)),
            }
        }
        parser.reserve_for_bulk(&mut buf);
    }
    outcome(parsed, None)
}

fn outcome(parsed: Vec<Vec<Bytes>>, error: Option<ParseError>) -> Outcome {
    let commands = parsed
        .iter()
        .map(|command| command.iter().map(|arg| arg.to_vec()).collect())
        .collect();
    Outcome { commands, error }
}

/// Feeds `input` whole and in the pieces `cuts` describes, under the allocation meter and the
/// watchdog; returns both outcomes.
fn whole_and_pieces(input: &[u8], cuts: &[usize], auth_required: bool) -> (Outcome, Outcome) {
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let whole = bounded(input, FACTOR, || feed(input, &[], auth_required));
    let pieces = bounded(input, FACTOR, || feed(input, &cuts, auth_required));
    (whole, pieces)
}

/// [`whole_and_pieces`], checking that both give the same outcome. That holds as long as no
/// line (inline request or header) grows beyond 64 KB without its terminator: then, as in
/// Redis, whether it is "too big" depends on how much had arrived when it was looked at.
fn check_any_split(input: &[u8], cuts: &[usize], auth_required: bool) -> Outcome {
    let (whole, pieces) = whole_and_pieces(input, cuts, auth_required);
    assert!(
        whole == pieces,
        "split at {cuts:?}: {whole:.200?} != {pieces:.200?}"
    );
    whole
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(prop::sample::select(b"\r\n\0*$\"' \\x-19".to_vec()), 0..12),
        (any::<u8>(), 0usize..3000).prop_map(|(byte, n)| vec![byte; n]),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop::collection::vec(arg(), 1..8)
}

/// A multibulk request, encoded by the crate's own encoder (a RESP array of bulk strings).
fn multibulk(command: &[Vec<u8>], out: &mut Vec<u8>) {
    let frame = Frame::Array(
        command
            .iter()
            .map(|arg| Frame::Bulk(Bytes::copy_from_slice(arg)))
            .collect(),
    );
    encode(&frame, false, out);
}

/// An inline request whose every argument is double-quoted with `\xHH` escapes.
fn inline(command: &[Vec<u8>], out: &mut Vec<u8>) {
    for (i, arg) in command.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.push(b'"');
        for byte in arg {
            out.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
        }
        out.push(b'"');
    }
    out.extend_from_slice(b"\r\n");
}

/// A valid stream of requests and the commands it holds.
fn valid_stream() -> impl Strategy<Value = (Vec<u8>, Vec<Command>)> {
    prop::collection::vec((command(), 0u8..3), 1..8).prop_map(|requests| {
        let mut bytes = Vec::new();
        let mut commands = Vec::new();
        for (command, form) in requests {
            // Escaped, an inline line takes four bytes per byte: keep it below 64 KB.
            let inline_size: usize = command.iter().map(|arg| 4 * arg.len() + 3).sum();
            match form {
                1 if inline_size < 60_000 => inline(&command, &mut bytes),
                0 | 1 => multibulk(&command, &mut bytes),
                // Skipped silently, as Redis skips them.
                _ => {
                    bytes.extend_from_slice(b"*0\r\n*-1\r\n\r\n");
                    continue;
                }
            }
            commands.push(command);
        }
        (bytes, commands)
    })
}

/// Any reply frame, including every RESP3 type: clients and proxies that get confused send
/// these back as requests.
fn resp3_frame() -> impl Strategy<Value = Frame> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Frame::Integer),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| Frame::Bulk(b.into())),
        Just(Frame::Null),
        Just(Frame::NullArray),
        any::<f64>().prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(|b| Frame::Verbatim(b.into())),
        "[a-z ]{0,12}".prop_map(|s| Frame::Simple(s.into())),
        "[A-Z ]{0,12}".prop_map(|s| Frame::Error(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
        ]
    })
}

/// Headers that claim huge, negative or overflowing sizes, and RESP3 type prefixes.
const HOSTILE: &[&[u8]] = &[
    b"*-5\r\n",
    b"*0\r\n",
    b"*1048576\r\n",
    b"*1048577\r\n",
    b"*2147483648\r\n",
    b"*9223372036854775807\r\n",
    b"*99999999999999999999\r\n",
    b"$536870912\r\n",
    b"$536870913\r\n",
    b"$2147483648\r\n",
    b"$-1\r\n",
    b"$-5\r\n",
    b"$16384\r\n",
    b"$16385\r\n",
    b"*10\r\n",
    b"*11\r\n",
    b"%2\r\n",
    b"~1\r\n",
    b">3\r\n",
    b"|1\r\n",
    b"_\r\n",
    b"#t\r\n",
    b",1.5\r\n",
    b"(12345678901234567890\r\n",
    b"=5\r\ntxt:a\r\n",
    b"\"unbalanced\r\n",
    b"\0",
    b"\r",
    b"\n",
];

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..20_000, 0..12)
}

proptest! {
    #![proptest_config(damselfly_fuzzkit::config())]

    #[test]
    fn fuzz_valid_streams_split_anywhere(
        (bytes, commands) in valid_stream(),
        cuts in cuts(),
    ) {
        let outcome = check_any_split(&bytes, &cuts, false);
        prop_assert_eq!(outcome, Outcome { commands, error: None });
    }

    #[test]
    fn fuzz_valid_streams_before_authentication(
        (bytes, commands) in valid_stream(),
        cuts in cuts(),
    ) {
        let outcome = check_any_split(&bytes, &cuts, true);
        // The tighter limits stop the stream at the first multibulk command beyond them; what
        // comes before is parsed as usual.
        prop_assert!(outcome.commands.len() <= commands.len());
        prop_assert_eq!(&outcome.commands[..], &commands[..outcome.commands.len()]);
    }

    #[test]
    fn fuzz_mutated_streams(
        (bytes, _) in valid_stream(),
        mutations in prop::collection::vec(mutation(HOSTILE), 1..8),
        cuts in cuts(),
        auth_required in any::<bool>(),
    ) {
        let mut bytes = bytes;
        for mutation in &mutations {
            mutate(&mut bytes, mutation, HOSTILE);
        }
        check_any_split(&bytes, &cuts, auth_required);
    }

    #[test]
    fn fuzz_hostile_headers(
        pieces in prop::collection::vec(
            prop_oneof![
                (0..HOSTILE.len()).prop_map(|which| HOSTILE[which].to_vec()),
                prop::collection::vec(any::<u8>(), 0..64),
                (any::<u8>(), 0usize..70_000).prop_map(|(byte, n)| vec![byte; n]),
            ],
            1..8,
        ),
        cuts in prop::collection::vec(0usize..150_000, 0..12),
        auth_required in any::<bool>(),
    ) {
        // Runs of up to 70 000 bytes make lines longer than 64 KB: no comparison (see above).
        whole_and_pieces(&pieces.concat(), &cuts, auth_required);
    }

    #[test]
    fn fuzz_resp3_frames_as_requests(
        frames in prop::collection::vec(resp3_frame(), 1..4),
        cuts in cuts(),
        auth_required in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        for frame in &frames {
            encode(frame, true, &mut bytes);
        }
        check_any_split(&bytes, &cuts, auth_required);
    }

    #[test]
    fn fuzz_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        cuts in cuts(),
        auth_required in any::<bool>(),
    ) {
        check_any_split(&bytes, &cuts, auth_required);
    }
}

/// Finding: after `$536870912\r\n` the connection reserved the whole declared bulk (512 MB) in
/// its input buffer before a byte of it had arrived: 25 bytes from a client made the server
/// allocate 512 MB, and every connection could do the same.
#[test]
fn regression_declared_bulk_length_is_not_preallocated() {
    for header in [&b"$536870912\r\n"[..], b"$16384\r\n"] {
        let mut input = b"*2\r\n$3\r\nSET\r\n".to_vec();
        input.extend_from_slice(header);
        for auth_required in [false, true] {
            check_any_split(&input, &[], auth_required);
        }
    }
    // Nor while the value then arrives slowly.
    let mut input = b"*2\r\n$3\r\nSET\r\n$536870912\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'v', 300_000));
    let cuts: Vec<usize> = (0..input.len()).step_by(4096).collect();
    check_any_split(&input, &cuts, false);
}

/// A big value arriving in many reads still parses, within the bound: the reservation grows
/// with what has been received.
#[test]
fn big_bulk_still_parses_in_pieces() {
    let value = vec![b'v'; 3 << 20];
    let mut input = Vec::new();
    multibulk(&[b"SET".to_vec(), b"k".to_vec(), value.clone()], &mut input);
    let cuts: Vec<usize> = (0..input.len()).step_by(65536).collect();
    let outcome = check_any_split(&input, &cuts, false);
    assert_eq!(
        outcome.commands,
        vec![vec![b"SET".to_vec(), b"k".to_vec(), value]]
    );
}
