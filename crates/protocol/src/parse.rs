//! Request parsing: RESP multibulk (`*<n>\r\n$<len>\r\n<bytes>\r\n...`) and inline commands.
//!
//! The behaviour follows Redis 7.0's `processMultibulkBuffer` / `processInlineBuffer`
//! (src/networking.c) and `sdssplitargs` (src/sds.c), including its error texts and its quirks:
//!
//! * A request starting with `*` is multibulk, anything else is inline.
//! * Header lines (`*<n>` and `$<len>`) end at the first `\r`; the byte after it is skipped
//!   without being checked, and so are the two bytes after a bulk's data.
//! * A multibulk count `<= 0` and an inline line with no arguments are skipped silently.
//! * Line scanning stops at a NUL byte, as C's `strchr` does: a header or inline line with a NUL
//!   before its terminator is never complete, and waits until the 64 KB limit turns it into a
//!   "too big ..." error.
//!
//! The parser keeps its progress through a multibulk request (arguments already split off, the
//! length of the bulk being read, how far a line was already scanned), so a request that arrives
//! in many reads costs time linear in its size, however it is fragmented.

use bytes::{Buf, Bytes, BytesMut};

/// Longest header or inline line accepted without a terminator (Redis `PROTO_INLINE_MAX_SIZE`).
pub const MAX_INLINE_SIZE: usize = 64 * 1024;

/// Largest bulk argument unless [`Parser::set_max_bulk_len`] says otherwise (Redis
/// `proto-max-bulk-len` default, 512 MB).
pub const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// Largest multibulk argument count. This is the project's limit of 1M arguments (Redis up to
/// 6.x used the same `1024*1024`); Redis 7.0 itself accepts counts up to `INT_MAX`.
pub const MAX_MULTIBULK_LEN: usize = 1024 * 1024;

/// Largest multibulk count accepted from a connection that still has to authenticate.
pub const UNAUTHENTICATED_MAX_MULTIBULK_LEN: usize = 10;

/// Largest bulk length accepted from a connection that still has to authenticate.
pub const UNAUTHENTICATED_MAX_BULK_LEN: usize = 16384;

/// The least [`Parser::bytes_needed_hint`] suggests for a pending bulk: one read's worth in
/// Redis (`PROTO_IOBUF_LEN`).
pub const MIN_BULK_RESERVE: usize = 16 * 1024;

/// Arguments preallocated for a multibulk request before any of them has arrived, so that a
/// huge declared count alone cannot make the server allocate.
const PREALLOCATED_ARGS: usize = 1024;

/// A malformed request. The connection should reply `-ERR <text>` and close, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The error text without the leading `ERR `, e.g. `Protocol error: invalid bulk length`.
    Protocol(String),
}

impl ParseError {
    fn protocol(text: &str) -> ParseError {
        ParseError::Protocol(text.to_string())
    }

    /// The error text, without the leading `ERR `.
    pub fn message(&self) -> &str {
        match self {
            ParseError::Protocol(text) => text,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum RequestKind {
    /// Between requests: the next byte decides.
    #[default]
    Unknown,
    Inline,
    Multibulk,
}

/// What one attempt at the current request came to.
enum Step {
    /// The request is complete; its arguments are in `Parser::args` (possibly none).
    Complete,
    /// More bytes are needed.
    Incomplete,
}

/// A stateful request parser for one connection's input buffer.
///
/// The caller appends what it reads to a `BytesMut` and calls [`Parser::next_command`] until it
/// returns `Ok(None)`. The parser assumes that between calls the buffer only grows at its end;
/// if the caller discards the buffer's contents it must call [`Parser::reset`].
#[derive(Debug, Default)]
pub struct Parser {
    kind: RequestKind,
    /// Multibulk arguments still to read; 0 while the count line has not been read.
    remaining_args: usize,
    /// Length of the bulk being read, once its `$<len>` line has been consumed.
    bulk_len: Option<usize>,
    /// Arguments of the current multibulk request read so far.
    args: Vec<Bytes>,
    /// How many bytes at the front of the buffer are known to hold no line terminator.
    scanned: usize,
    /// The buffer's length when `next_command` last returned.
    buffered: usize,
    /// Apply Redis's tighter limits for connections that have not authenticated yet.
    auth_required: bool,
    /// proto-max-bulk-len, when set; [`MAX_BULK_LEN`] otherwise.
    max_bulk_len: Option<usize>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses the next complete command from the front of `buf`, removing its bytes from `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed; what was parsed so far is kept, so the
    /// next call only looks at the new bytes. Empty inline lines and multibulk counts `<= 0` are
    /// skipped. After an error the parser is reset and `buf` is left where the error was found;
    /// the connection should reply with the error and close.
    pub fn next_command(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ParseError> {
        loop {
            if buf.is_empty() {
                self.buffered = 0;
                return Ok(None);
            }
            if self.kind == RequestKind::Unknown {
                self.kind = if buf[0] == b'*' {
                    RequestKind::Multibulk
                } else {
                    RequestKind::Inline
                };
            }
            let step = match self.kind {
                RequestKind::Multibulk => self.multibulk(buf),
                _ => self.inline(buf),
            };
            match step {
                Err(error) => {
                    self.reset();
                    self.buffered = buf.len();
                    return Err(error);
                }
                Ok(Step::Incomplete) => {
                    self.buffered = buf.len();
                    return Ok(None);
                }
                Ok(Step::Complete) => {
                    let args = std::mem::take(&mut self.args);
                    self.reset();
                    if !args.is_empty() {
                        self.buffered = buf.len();
                        return Ok(Some(args));
                    }
                }
            }
        }
    }

    /// How many more bytes, beyond what the buffer held when [`Parser::next_command`] last
    /// returned, to reserve for the bulk argument being read (its data and trailing CRLF).
    /// `None` when no bulk of known length is pending.
    ///
    /// The declared length is not trusted: the hint is at most what the buffer already holds
    /// (and at least [`MIN_BULK_RESERVE`]), so a client that declares a 512 MB bulk and sends
    /// nothing costs nothing, while a real big value is read with the buffer doubling a
    /// logarithmic number of times. (Redis 7.0 reserves the whole declared length at once.)
    pub fn bytes_needed_hint(&self) -> Option<usize> {
        let needed = self
            .bulk_len?
            .saturating_add(2)
            .saturating_sub(self.buffered);
        Some(needed.min(self.buffered.max(MIN_BULK_RESERVE))).filter(|&n| n > 0)
    }

    /// Reserves capacity in `buf` for the bulk argument being read, as
    /// [`Parser::bytes_needed_hint`] suggests. Call it after taking the complete commands.
    pub fn reserve_for_bulk(&self, buf: &mut BytesMut) {
        if let Some(needed) = self.bytes_needed_hint() {
            buf.reserve(needed);
        }
    }

    /// Forgets any partial request, e.g. after the caller cleared its buffer.
    pub fn reset(&mut self) {
        self.kind = RequestKind::Unknown;
        self.remaining_args = 0;
        self.bulk_len = None;
        self.args = Vec::new();
        self.scanned = 0;
    }

    /// Whether part of a request has been read (a multibulk request in progress, or an inline
    /// line without its newline yet).
    pub fn in_request(&self) -> bool {
        self.kind != RequestKind::Unknown
    }

    /// Applies the limits Redis uses for connections that must still authenticate: at most 10
    /// multibulk arguments and bulks of at most 16384 bytes.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// The largest bulk length accepted from now on (proto-max-bulk-len).
    pub fn set_max_bulk_len(&mut self, max: usize) {
        self.max_bulk_len = Some(max);
    }

    /// Finds the first `terminator` in `buf`, scanning only bytes not scanned before. A NUL byte
    /// ends the search as it ends C's `strchr`: the line then never completes.
    fn find_line_end(&mut self, buf: &[u8], terminator: u8) -> Option<usize> {
        let from = self.scanned.min(buf.len());
        match memchr::memchr2(terminator, 0, &buf[from..]) {
            Some(offset) => {
                let at = from + offset;
                self.scanned = at;
                (buf[at] == terminator).then_some(at)
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// Reads a header line (`*<n>` or `$<len>`), returning the position of its `\r` when the
    /// line and the byte after the `\r` have arrived.
    fn header_line(
        &mut self,
        buf: &[u8],
        too_big: &'static str,
    ) -> Result<Option<usize>, ParseError> {
        match self.find_line_end(buf, b'\r') {
            // The `\r` must be followed by one more byte, taken to be the `\n`.
            Some(cr) if cr + 2 <= buf.len() => Ok(Some(cr)),
            Some(_) => Ok(None),
            None if buf.len() > MAX_INLINE_SIZE => Err(ParseError::protocol(too_big)),
            None => Ok(None),
        }
    }

    fn multibulk(&mut self, buf: &mut BytesMut) -> Result<Step, ParseError> {
        if self.remaining_args == 0 {
            let Some(cr) = self.header_line(buf, "Protocol error: too big mbulk count string")?
            else {
                return Ok(Step::Incomplete);
            };
            let count = buf
                .get(1..cr)
                .and_then(string2ll)
                .filter(|&count| count <= MAX_MULTIBULK_LEN as i64)
                .ok_or_else(|| ParseError::protocol("Protocol error: invalid multibulk length"))?;
            if self.auth_required && count > UNAUTHENTICATED_MAX_MULTIBULK_LEN as i64 {
                return Err(ParseError::protocol(
                    "Protocol error: unauthenticated multibulk length",
                ));
            }
            buf.advance(cr + 2);
            self.scanned = 0;
            if count <= 0 {
                return Ok(Step::Complete);
            }
            let count = count as usize;
            self.remaining_args = count;
            self.args = Vec::with_capacity(count.min(PREALLOCATED_ARGS));
        }

        while self.remaining_args > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) =
                        self.header_line(buf, "Protocol error: too big bulk count string")?
                    else {
                        return Ok(Step::Incomplete);
                    };
                    if buf[0] != b'$' {
                        return Err(ParseError::Protocol(format!(
                            "Protocol error: expected '$', got '{}'",
                            printable_byte(buf[0])
                        )));
                    }
                    let len = buf
                        .get(1..cr)
                        .and_then(string2ll)
                        .filter(|&len| {
                            let max = self.max_bulk_len.unwrap_or(MAX_BULK_LEN);
                            len >= 0 && len as u64 <= max as u64
                        })
                        .ok_or_else(|| {
                            ParseError::protocol("Protocol error: invalid bulk length")
                        })? as usize;
                    if self.auth_required && len > UNAUTHENTICATED_MAX_BULK_LEN {
                        return Err(ParseError::protocol(
                            "Protocol error: unauthenticated bulk length",
                        ));
                    }
                    buf.advance(cr + 2);
                    self.scanned = 0;
                    self.bulk_len = Some(len);
                    len
                }
            };
            if buf.len() < len + 2 {
                return Ok(Step::Incomplete);
            }
            self.args.push(buf.split_to(len).freeze());
            // Like Redis, the two bytes after the data are not checked to be "\r\n".
            buf.advance(2);
            self.bulk_len = None;
            self.remaining_args -= 1;
        }
        Ok(Step::Complete)
    }

    fn inline(&mut self, buf: &mut BytesMut) -> Result<Step, ParseError> {
        let Some(newline) = self.find_line_end(buf, b'\n') else {
            if buf.len() > MAX_INLINE_SIZE {
                return Err(ParseError::protocol(
                    "Protocol error: too big inline request",
                ));
            }
            return Ok(Step::Incomplete);
        };
        let end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let tokens = split_args(&buf[..end])
            .ok_or_else(|| ParseError::protocol("Protocol error: unbalanced quotes in request"))?;
        if tokens.is_empty() {
            buf.advance(newline + 1);
            return Ok(Step::Complete);
        }
        let line = buf.split_to(end).freeze();
        buf.advance(newline + 1 - end);
        self.args = tokens
            .into_iter()
            .map(|token| match token {
                Token::Slice(start, stop) => line.slice(start..stop),
                Token::Owned(bytes) => Bytes::from(bytes),
            })
            .collect();
        Ok(Step::Complete)
    }
}

/// `%c` of the offending byte, with CR and LF turned into spaces as Redis does to keep its error
/// reply on one line. Bytes above 0x7f become the Unicode character of the same number, since
/// the error text is a `String` (Redis sends the raw byte).
fn printable_byte(byte: u8) -> char {
    match byte {
        b'\r' | b'\n' => ' ',
        _ => char::from(byte),
    }
}

/// Parses a decimal integer with Redis's `string2ll` rules: optional `-`, no `+`, no leading
/// zeros (and no `-0`), no spaces, at most 20 characters, no overflow.
pub fn string2ll(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// One argument of an inline command.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// An unquoted argument: a range of the line, shared without copying.
    Slice(usize, usize),
    /// An argument that had quotes or escapes.
    Owned(Vec<u8>),
}

/// C's `isspace` in the "C" locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line into arguments with the rules of Redis's `sdssplitargs`:
///
/// * arguments are separated by whitespace; outside quotes only space, tab, CR and LF end an
///   argument, while leading vertical tabs and form feeds are skipped as blanks;
/// * `"..."` understands `\xHH` (two hex digits), `\n`, `\r`, `\t`, `\b`, `\a`, and `\<c>` for
///   any other `c`;
/// * `'...'` understands only `\'`;
/// * quotes can start in the middle of an argument (`ab"cd"` is `abcd`), but a closing quote
///   must be followed by whitespace or the end of the line.
///
/// Returns `None` for unbalanced quotes. The end of `line` plays the part of C's terminating NUL.
fn split_args(line: &[u8]) -> Option<Vec<Token>> {
    let at = |index: usize| line.get(index).copied().unwrap_or(0);
    let mut tokens = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_c_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(tokens);
        }
        let start = p;
        // `None` while the argument is still a plain slice of the line.
        let mut owned: Option<Vec<u8>> = None;
        let mut in_double = false;
        let mut in_single = false;
        let mut done = false;
        while !done {
            let byte = at(p);
            if in_double {
                let out = owned.get_or_insert_with(Vec::new);
                if byte == b'\\' && at(p + 1) == b'x' {
                    if let (Some(high), Some(low)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        out.push(high * 16 + low);
                        p += 3;
                    } else {
                        // `\x` without two hex digits is an ordinary escape: a literal `x`.
                        p += 1;
                        out.push(b'x');
                    }
                } else if byte == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => b'\x08',
                        b'a' => b'\x07',
                        other => other,
                    });
                } else if byte == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if byte == 0 {
                    return None;
                } else {
                    out.push(byte);
                }
            } else if in_single {
                let out = owned.get_or_insert_with(Vec::new);
                if byte == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if byte == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if byte == 0 {
                    return None;
                } else {
                    out.push(byte);
                }
            } else {
                match byte {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        done = true;
                        if owned.is_none() {
                            tokens.push(Token::Slice(start, p));
                        }
                    }
                    b'"' | b'\'' => {
                        if owned.is_none() {
                            owned = Some(line[start..p].to_vec());
                        }
                        in_double = byte == b'"';
                        in_single = byte == b'\'';
                    }
                    _ => {
                        if let Some(out) = owned.as_mut() {
                            out.push(byte);
                        }
                    }
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        if let Some(out) = owned {
            tokens.push(Token::Owned(out));
        }
    }
}

#[cfg(test)]
mod tests;
