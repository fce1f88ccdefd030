use super::*;
use proptest::prelude::*;

type Command = Vec<Vec<u8>>;

/// Parses everything in `input` at once: the commands, then the error if one stopped parsing.
fn parse_whole(input: &[u8]) -> (Vec<Command>, Option<ParseError>) {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(input);
    drain(&mut parser, &mut buf)
}

/// Calls `next_command` until it needs more bytes or fails.
fn drain(parser: &mut Parser, buf: &mut BytesMut) -> (Vec<Command>, Option<ParseError>) {
    let mut commands = Vec::new();
    loop {
        match parser.next_command(buf) {
            Ok(Some(args)) => commands.push(args.iter().map(|arg| arg.to_vec()).collect()),
            Ok(None) => return (commands, None),
            Err(error) => return (commands, Some(error)),
        }
    }
}

/// Feeds `input` in pieces ending at `cuts`, draining after each piece.
fn parse_pieces(input: &[u8], cuts: &[usize]) -> (Vec<Command>, Option<ParseError>) {
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        buf.extend_from_slice(&input[start..cut]);
        start = cut;
        let (mut more, error) = drain(&mut parser, &mut buf);
        commands.append(&mut more);
        if error.is_some() {
            return (commands, error);
        }
    }
    (commands, None)
}

fn parse_byte_by_byte(input: &[u8]) -> (Vec<Command>, Option<ParseError>) {
    let cuts: Vec<usize> = (1..input.len()).collect();
    parse_pieces(input, &cuts)
}

fn encode_multibulk(command: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", command.len()).as_bytes());
    for arg in command {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Quotes `arg` for an inline command so that `sdssplitargs` gives it back.
fn quote_inline(arg: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &byte in arg {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(byte),
            _ => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

fn commands(list: &[&[&str]]) -> Vec<Command> {
    list.iter()
        .map(|args| args.iter().map(|arg| arg.as_bytes().to_vec()).collect())
        .collect()
}

fn one(input: &[u8]) -> Command {
    let (mut parsed, error) = parse_whole(input);
    assert_eq!(error, None, "input {:?}", String::from_utf8_lossy(input));
    assert_eq!(
        parsed.len(),
        1,
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    parsed.remove(0)
}

fn error_of(input: &[u8]) -> String {
    match parse_whole(input).1 {
        Some(ParseError::Protocol(text)) => text,
        None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
    }
}

fn pending(input: &[u8]) -> bool {
    let (parsed, error) = parse_whole(input);
    parsed.is_empty() && error.is_none()
}

fn args(list: &[&str]) -> Command {
    list.iter().map(|arg| arg.as_bytes().to_vec()).collect()
}

// ---------------------------------------------------------------- multibulk

#[test]
fn multibulk_basic_and_pipeline() {
    assert_eq!(one(b"*1\r\n$4\r\nPING\r\n"), args(&["PING"]));
    assert_eq!(
        one(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
        args(&["SET", "k", ""])
    );
    let (parsed, error) = parse_whole(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
    assert_eq!(error, None);
    assert_eq!(parsed, commands(&[&["PING"], &["ECHO", "hi"]]));
}

#[test]
fn multibulk_binary_data_is_length_delimited() {
    let cmd = one(b"*2\r\n$3\r\nGET\r\n$5\r\na\r\n\0b\r\n");
    assert_eq!(cmd, vec![b"GET".to_vec(), b"a\r\n\0b".to_vec()]);
}

#[test]
fn multibulk_count_zero_or_negative_is_skipped() {
    assert_eq!(one(b"*-5\r\nPING\r\n"), args(&["PING"]));
    assert_eq!(one(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"), args(&["PING"]));
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*0\r\n"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    assert!(buf.is_empty());
    assert!(!parser.in_request());
}

#[test]
fn multibulk_line_terminator_is_not_checked() {
    // Redis takes the byte after '\r' and the two bytes after a bulk on trust.
    assert_eq!(one(b"*1\rX$4\r?PINGab"), args(&["PING"]));
}

#[test]
fn invalid_multibulk_length() {
    const TEXT: &str = "Protocol error: invalid multibulk length";
    for input in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*-\r\n",
        b"*-0\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*1048577\r\n",
        b"*99999999999999999999\r\n",
        b"*9223372036854775808\r\n",
        b"*100000000000000000000\r\n",
    ] {
        assert_eq!(
            error_of(input),
            TEXT,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // The limit itself is accepted (the arguments are then awaited), as are huge negatives.
    assert!(pending(b"*1048576\r\n"));
    assert_eq!(
        one(b"*-9223372036854775808\r\n*1\r\n$1\r\nx\r\n"),
        args(&["x"])
    );
}

#[test]
fn invalid_bulk_length() {
    const TEXT: &str = "Protocol error: invalid bulk length";
    for input in [
        &b"*1\r\n$abc\r\n"[..],
        b"*1\r\n$\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$01\r\n",
        b"*1\r\n$3x\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$99999999999999999999999\r\n",
    ] {
        assert_eq!(
            error_of(input),
            TEXT,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert!(pending(b"*1\r\n$536870912\r\n"));
}

#[test]
fn expected_dollar() {
    assert_eq!(
        error_of(b"*1\r\nPING\r\n"),
        "Protocol error: expected '$', got 'P'"
    );
    assert_eq!(
        error_of(b"*2\r\n$3\r\nGET\r\n:1\r\n"),
        "Protocol error: expected '$', got ':'"
    );
    // CR and LF are shown as spaces, as Redis's error replies never hold newlines.
    assert_eq!(
        error_of(b"*1\r\n\r\n"),
        "Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        error_of(b"*1\r\n\n\r\n"),
        "Protocol error: expected '$', got ' '"
    );
}

#[test]
fn too_big_mbulk_count_string() {
    let mut input = vec![b'*'];
    input.extend(std::iter::repeat_n(b'1', MAX_INLINE_SIZE - 1));
    assert!(pending(&input)); // exactly 64 KB: still waiting
    input.push(b'1');
    assert_eq!(
        error_of(&input),
        "Protocol error: too big mbulk count string"
    );
    // With the line ended, a long count is just an invalid number.
    input.extend_from_slice(b"\r\n");
    assert_eq!(error_of(&input), "Protocol error: invalid multibulk length");
}

#[test]
fn too_big_bulk_count_string() {
    let mut input = b"*1\r\n$".to_vec();
    input.extend(std::iter::repeat_n(b'1', MAX_INLINE_SIZE - 1));
    assert!(pending(&input));
    input.push(b'1');
    assert_eq!(
        error_of(&input),
        "Protocol error: too big bulk count string"
    );
    input.extend_from_slice(b"\r\n");
    assert_eq!(error_of(&input), "Protocol error: invalid bulk length");
}

#[test]
fn too_big_errors_arrive_incrementally() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    for _ in 0..MAX_INLINE_SIZE / 1024 - 1 {
        buf.extend_from_slice(&[b'7'; 1024]);
        assert_eq!(parser.next_command(&mut buf), Ok(None));
    }
    buf.extend_from_slice(&[b'7'; 1024]);
    assert_eq!(
        parser.next_command(&mut buf),
        Err(ParseError::Protocol(
            "Protocol error: too big bulk count string".into()
        ))
    );
}

#[test]
fn nul_before_line_end_blocks_like_strchr() {
    // C's strchr stops at NUL, so Redis never sees the end of such a line.
    assert!(pending(b"*1\0\r\n$4\r\nPING\r\n"));
    assert!(pending(b"PI\0NG\r\n"));
    let mut input = b"*1\0\r\n".to_vec();
    input.resize(MAX_INLINE_SIZE + 1, b'x');
    assert_eq!(
        error_of(&input),
        "Protocol error: too big mbulk count string"
    );
    let mut input = b"PING\0\n".to_vec();
    input.resize(MAX_INLINE_SIZE + 1, b'x');
    assert_eq!(error_of(&input), "Protocol error: too big inline request");
}

#[test]
fn unauthenticated_limits() {
    let mut parser = Parser::new();
    parser.set_auth_required(true);
    let mut buf = BytesMut::from(&b"*11\r\n"[..]);
    assert_eq!(
        parser.next_command(&mut buf),
        Err(ParseError::Protocol(
            "Protocol error: unauthenticated multibulk length".into()
        ))
    );
    let mut parser = Parser::new();
    parser.set_auth_required(true);
    let mut buf = BytesMut::from(&b"*10\r\n$16385\r\n"[..]);
    assert_eq!(
        parser.next_command(&mut buf),
        Err(ParseError::Protocol(
            "Protocol error: unauthenticated bulk length".into()
        ))
    );
    let mut buf = BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$16384\r\n"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    // Invalid still wins over unauthenticated, as in Redis.
    let mut parser = Parser::new();
    parser.set_auth_required(true);
    let mut buf = BytesMut::from(&b"*2000000\r\n"[..]);
    assert_eq!(
        parser.next_command(&mut buf),
        Err(ParseError::Protocol(
            "Protocol error: invalid multibulk length".into()
        ))
    );
}

#[test]
fn error_leaves_parser_reset() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$x\r\n"[..]);
    assert!(parser.next_command(&mut buf).is_err());
    assert!(!parser.in_request());
    assert_eq!(parser.bytes_needed_hint(), None);
    assert_eq!(&buf[..], b"$x\r\n");
}

#[test]
fn commands_before_an_error_are_returned_first() {
    let (parsed, error) = parse_whole(b"*1\r\n$4\r\nPING\r\nPING\r\n*x\r\n");
    assert_eq!(parsed, commands(&[&["PING"], &["PING"]]));
    assert_eq!(
        error,
        Some(ParseError::Protocol(
            "Protocol error: invalid multibulk length".into()
        ))
    );
}

#[test]
fn partial_progress_and_hint() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    // SET and k were split off already; the value's header is consumed too.
    assert_eq!(&buf[..], b"0123");
    assert!(parser.in_request());
    assert_eq!(parser.bytes_needed_hint(), Some(8));
    buf.extend_from_slice(b"456789\r");
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    assert_eq!(parser.bytes_needed_hint(), Some(1));
    buf.extend_from_slice(b"\n");
    let cmd = parser.next_command(&mut buf).unwrap().unwrap();
    assert_eq!(cmd, vec![&b"SET"[..], b"k", b"0123456789"]);
    assert_eq!(parser.bytes_needed_hint(), None);
    assert!(!parser.in_request());
    assert!(buf.is_empty());
}

#[test]
fn hint_for_big_bulk() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$536870912\r\n"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    // The declared 512 MB are not trusted: the hint grows with what has arrived.
    assert_eq!(parser.bytes_needed_hint(), Some(MIN_BULK_RESERVE));
    buf.extend_from_slice(&[7u8; 1000]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    assert_eq!(parser.bytes_needed_hint(), Some(MIN_BULK_RESERVE));
    buf.extend_from_slice(&vec![7u8; 99_000]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    assert_eq!(parser.bytes_needed_hint(), Some(100_000));
}

#[test]
fn big_value_in_many_reads() {
    let value = vec![b'v'; 8 << 20];
    let mut input = Vec::new();
    encode_multibulk(
        &[b"SET".to_vec(), b"key".to_vec(), value.clone()],
        &mut input,
    );
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut result = None;
    for chunk in input.chunks(1000) {
        parser.reserve_for_bulk(&mut buf);
        buf.extend_from_slice(chunk);
        if let Some(cmd) = parser.next_command(&mut buf).unwrap() {
            result = Some(cmd);
        }
    }
    let cmd = result.unwrap();
    assert_eq!(cmd.len(), 3);
    assert_eq!(cmd[2], value);
}

#[test]
fn million_arguments_in_many_reads() {
    let count = MAX_MULTIBULK_LEN;
    let mut input = format!("*{count}\r\n").into_bytes();
    for i in 0..count {
        let arg = (i % 1000).to_string();
        input.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut result = None;
    for chunk in input.chunks(4096) {
        buf.extend_from_slice(chunk);
        if let Some(cmd) = parser.next_command(&mut buf).unwrap() {
            result = Some(cmd);
        }
    }
    let cmd = result.unwrap();
    assert_eq!(cmd.len(), count);
    assert_eq!(cmd[123_456], "456");
}

#[test]
fn arguments_are_zero_copy() {
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nset plain \"q\"\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let end = base + buf.len();
    let within = |arg: &Bytes| (base..end).contains(&(arg.as_ptr() as usize));
    let mut parser = Parser::new();
    let cmd = parser.next_command(&mut buf).unwrap().unwrap();
    assert!(cmd.iter().all(within));
    let cmd = parser.next_command(&mut buf).unwrap().unwrap();
    assert_eq!(cmd, vec![&b"set"[..], b"plain", b"q"]);
    assert!(within(&cmd[0]) && within(&cmd[1]));
}

#[test]
fn reset_forgets_partial_request() {
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    buf.clear();
    parser.reset();
    buf.extend_from_slice(b"PING\r\n");
    assert_eq!(
        parser.next_command(&mut buf).unwrap().unwrap(),
        vec![&b"PING"[..]]
    );
}

#[test]
fn string2ll_follows_redis() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"-1"), Some(-1));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"+1",
        b" 1",
        b"1a",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551616",
        b"-00000000000000000001",
    ] {
        assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

// ---------------------------------------------------------------- inline

#[test]
fn inline_basic() {
    assert_eq!(one(b"PING\r\n"), args(&["PING"]));
    assert_eq!(one(b"PING\n"), args(&["PING"]));
    assert_eq!(one(b"  SET   k \t v  \r\n"), args(&["SET", "k", "v"]));
    assert_eq!(one(b" PING\t\r\n"), args(&["PING"]));
    // Only one trailing CR is stripped; a CR inside the line separates arguments.
    assert_eq!(one(b"PING\r\r\n"), args(&["PING"]));
    assert_eq!(one(b"a\rb\n"), args(&["a", "b"]));
    assert!(pending(b"PING"));
    assert!(pending(b"PING\r"));
}

#[test]
fn inline_empty_lines_are_skipped() {
    let (parsed, error) = parse_whole(b"\r\n\n   \r\n\t\nPING\r\n\r\n");
    assert_eq!(error, None);
    assert_eq!(parsed, commands(&[&["PING"]]));
    let mut parser = Parser::new();
    let mut buf = BytesMut::from(&b"\r\n\n"[..]);
    assert_eq!(parser.next_command(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn inline_and_multibulk_mixed() {
    let (parsed, error) = parse_whole(b"PING\n*1\r\n$4\r\nPING\r\nECHO x\r\n");
    assert_eq!(error, None);
    assert_eq!(parsed, commands(&[&["PING"], &["PING"], &["ECHO", "x"]]));
}

#[test]
fn inline_double_quotes() {
    assert_eq!(
        one(b"SET \"hello world\" \"\"\r\n"),
        args(&["SET", "hello world", ""])
    );
    assert_eq!(
        one(b"ECHO \"a\\nb\\rc\\td\\be\\af\\\\g\\\"h\\zi\"\n"),
        vec![b"ECHO".to_vec(), b"a\nb\rc\td\x08e\x07f\\g\"hzi".to_vec()]
    );
    assert_eq!(
        one(b"ECHO \"\\x41\\x7a\\x00\\xfF\"\n"),
        vec![b"ECHO".to_vec(), b"Az\0\xff".to_vec()]
    );
    // `\x` without two hex digits is a plain `x`.
    assert_eq!(
        one(b"ECHO \"\\xg1\\x4\"\n"),
        vec![b"ECHO".to_vec(), b"xg1x4".to_vec()]
    );
    // Quotes may start inside an argument.
    assert_eq!(one(b"ECHO ab\"c d\"\n"), args(&["ECHO", "abc d"]));
    // A closing quote may be followed by any whitespace.
    assert_eq!(one(b"ECHO \"a\"\x0b\"b\"\n"), args(&["ECHO", "a", "b"]));
    assert_eq!(one(b"ECHO \"a\"\r\n"), args(&["ECHO", "a"]));
}

#[test]
fn inline_single_quotes() {
    assert_eq!(
        one(b"SET 'hello world' ''\n"),
        args(&["SET", "hello world", ""])
    );
    assert_eq!(one(b"ECHO 'it\\'s'\n"), args(&["ECHO", "it's"]));
    // Only \' is an escape inside single quotes.
    assert_eq!(one(b"ECHO 'a\\nb\\\\x'\n"), args(&["ECHO", "a\\nb\\\\x"]));
    assert_eq!(one(b"ECHO x'\"y'\n"), args(&["ECHO", "x\"y"]));
}

#[test]
fn inline_vertical_tab_and_form_feed() {
    // Skipped as leading blanks, but they do not end an unquoted argument.
    assert_eq!(one(b"\x0bPING\x0c\n"), vec![b"PING\x0c".to_vec()]);
    assert_eq!(one(b"a\x0bb c\n"), vec![b"a\x0bb".to_vec(), b"c".to_vec()]);
}

#[test]
fn inline_unbalanced_quotes() {
    const TEXT: &str = "Protocol error: unbalanced quotes in request";
    for input in [
        &b"SET \"a b\r\n"[..],
        b"SET 'a b\n",
        b"SET \"a\"b\n",
        b"SET 'a'b\n",
        b"SET \"a\\\"\n",
        b"SET \"a\\\n",
        b"\"\n",
        b"'\n",
        b"ECHO 'it\\'\n",
    ] {
        assert_eq!(
            error_of(input),
            TEXT,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn too_big_inline_request() {
    let mut input = vec![b'a'; MAX_INLINE_SIZE];
    assert!(pending(&input));
    input.push(b'a');
    assert_eq!(error_of(&input), "Protocol error: too big inline request");
    // A long line that is complete is accepted, as Redis does when it reads it in one go.
    input.push(b'\n');
    assert_eq!(one(&input).len(), 1);
}

#[test]
fn split_args_slices_plain_tokens() {
    assert_eq!(
        split_args(b" ab \"c\" d"),
        Some(vec![
            Token::Slice(1, 3),
            Token::Owned(b"c".to_vec()),
            Token::Slice(8, 9)
        ])
    );
    assert_eq!(split_args(b""), Some(vec![]));
    assert_eq!(split_args(b"\"x"), None);
}

// ---------------------------------------------------------------- properties

fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(prop::sample::select(b"\r\n\0*$\"' \\x-19".to_vec()), 0..12),
    ]
}

fn command_strategy() -> impl Strategy<Value = Command> {
    prop::collection::vec(arg_strategy(), 1..8)
}

/// One request of a pipeline and the command it stands for (`None` if it is skipped).
#[derive(Debug, Clone)]
enum Request {
    Multibulk(Command),
    /// A quoted inline command, ended by `\r\n` or `\n`.
    Inline(Command, bool),
    /// Something skipped: an empty inline line or a multibulk count <= 0.
    Skipped(Vec<u8>),
}

fn request_strategy() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => command_strategy().prop_map(Request::Multibulk),
        2 => (command_strategy(), any::<bool>()).prop_map(|(cmd, crlf)| Request::Inline(cmd, crlf)),
        1 => prop::sample::select(vec![
            b"\r\n".to_vec(),
            b"\n".to_vec(),
            b"  \t \r\n".to_vec(),
            b"*0\r\n".to_vec(),
            b"*-1\r\n".to_vec(),
            b"*-12345\r\n".to_vec(),
        ])
        .prop_map(Request::Skipped),
    ]
}

fn encode_requests(requests: &[Request]) -> (Vec<u8>, Vec<Command>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for request in requests {
        match request {
            Request::Multibulk(cmd) => {
                encode_multibulk(cmd, &mut bytes);
                expected.push(cmd.clone());
            }
            Request::Inline(cmd, crlf) => {
                for (i, arg) in cmd.iter().enumerate() {
                    if i > 0 {
                        bytes.push(b' ');
                    }
                    quote_inline(arg, &mut bytes);
                }
                bytes.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                expected.push(cmd.clone());
            }
            Request::Skipped(raw) => bytes.extend_from_slice(raw),
        }
    }
    (bytes, expected)
}

/// Bytes biased towards the protocol's own characters, to reach deep parser states.
fn protocol_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(b"*$\r\n0123456789-\"' \\x\ta".to_vec()),
            1 => any::<u8>(),
        ],
        0..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multibulk_round_trip(cmds in prop::collection::vec(command_strategy(), 1..10)) {
        let mut bytes = Vec::new();
        for cmd in &cmds {
            encode_multibulk(cmd, &mut bytes);
        }
        let (parsed, error) = parse_whole(&bytes);
        prop_assert_eq!(error, None);
        prop_assert_eq!(&parsed, &cmds);
        // One at a time, too.
        for cmd in &cmds {
            let mut single = Vec::new();
            encode_multibulk(cmd, &mut single);
            prop_assert_eq!(parse_whole(&single), (vec![cmd.clone()], None));
        }
    }

    #[test]
    fn inline_quoting_round_trip(cmd in command_strategy(), crlf in any::<bool>()) {
        let (bytes, expected) = encode_requests(&[Request::Inline(cmd, crlf)]);
        prop_assert_eq!(parse_whole(&bytes), (expected, None));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..300), protocol_bytes()],
        cuts in prop::collection::vec(0usize..300, 0..6),
    ) {
        let whole = parse_whole(&bytes);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let pieces = parse_pieces(&bytes, &cuts);
        // Fragmentation never changes the outcome.
        prop_assert_eq!(whole, pieces);
    }

    #[test]
    fn arbitrary_bytes_after_valid_prefix_never_panic(
        requests in prop::collection::vec(request_strategy(), 0..4),
        tail in protocol_bytes(),
    ) {
        let (mut bytes, expected) = encode_requests(&requests);
        bytes.extend_from_slice(&tail);
        let (parsed, _) = parse_byte_by_byte(&bytes);
        prop_assert!(parsed.len() >= expected.len());
        prop_assert_eq!(&parsed[..expected.len()], &expected[..]);
    }

    #[test]
    fn any_split_gives_same_commands(requests in prop::collection::vec(request_strategy(), 1..6)) {
        let (bytes, expected) = encode_requests(&requests);
        prop_assert_eq!(parse_whole(&bytes), (expected.clone(), None));
        prop_assert_eq!(parse_byte_by_byte(&bytes), (expected.clone(), None));
        for cut in 0..=bytes.len() {
            prop_assert_eq!(parse_pieces(&bytes, &[cut]), (expected.clone(), None), "cut {}", cut);
        }
    }

    #[test]
    fn random_splits_give_same_commands(
        requests in prop::collection::vec(request_strategy(), 1..12),
        cuts in prop::collection::vec(0usize..2000, 0..20),
    ) {
        let (bytes, expected) = encode_requests(&requests);
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(parse_pieces(&bytes, &cuts), (expected, None));
    }
}

#[test]
fn a_configured_max_bulk_len_bounds_bulks() {
    let mut parser = Parser::new();
    parser.set_max_bulk_len(1024 * 1024);
    let mut at_limit = BytesMut::from(&b"*1\r\n$1048576\r\n"[..]);
    assert_eq!(parser.next_command(&mut at_limit), Ok(None));
    let mut parser = Parser::new();
    parser.set_max_bulk_len(1024 * 1024);
    let mut past_limit = BytesMut::from(&b"*1\r\n$1048577\r\n"[..]);
    assert_eq!(
        parser.next_command(&mut past_limit),
        Err(ParseError::Protocol(
            "Protocol error: invalid bulk length".to_string()
        ))
    );
}
