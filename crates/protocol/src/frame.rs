//! Reply values, independent of the protocol version the client speaks.

use bytes::Bytes;
use std::borrow::Cow;

/// One reply. Commands build frames; the connection encodes them as RESP2 or RESP3.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text`.
    Simple(Cow<'static, str>),
    /// `-text`: the text carries its own prefix word (`ERR ...`, `WRONGTYPE ...`).
    Error(Cow<'static, str>),
    Integer(i64),
    Bulk(Bytes),
    /// A missing bulk string: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    Array(Vec<Frame>),
    /// RESP3 map; RESP2 flattens it into an array of key, value, key, value...
    Map(Vec<(Frame, Frame)>),
    /// RESP3 set; an array in RESP2.
    Set(Vec<Frame>),
    /// RESP3 double; a bulk string in RESP2.
    Double(f64),
    /// RESP3 boolean; the integer 1 or 0 in RESP2.
    Boolean(bool),
    /// RESP3 verbatim string (`=len\r\ntxt:...`); a bulk string in RESP2.
    Verbatim(Bytes),
    /// RESP3 out-of-band push; an array in RESP2.
    Push(Vec<Frame>),
    /// Pairs (ZRANGE WITHSCORES, HRANDFIELD WITHVALUES): a flat array in RESP2, an array of
    /// two-element arrays in RESP3.
    Pairs(Vec<(Frame, Frame)>),
    /// A map in RESP3, an array of `[key, value]` arrays in RESP2 (XREAD's streams).
    KeyedPairs(Vec<(Frame, Frame)>),
    /// Several replies to one command, written one after the other (SUBSCRIBE a b answers once
    /// per channel).
    Many(Vec<Frame>),
}

impl Frame {
    pub const OK: Frame = Frame::Simple(Cow::Borrowed("OK"));

    pub fn ok() -> Frame {
        Frame::OK
    }

    /// An error reply from a static text such as `crate::errors::SYNTAX`.
    pub fn error(text: &'static str) -> Frame {
        Frame::Error(Cow::Borrowed(text))
    }

    /// An error reply built at run time; CR and LF become spaces (as Redis does) so text quoted from a client
    /// can never break the reply stream.
    pub fn error_owned(text: String) -> Frame {
        if text.contains(['\r', '\n']) {
            Frame::Error(Cow::Owned(text.replace(['\r', '\n'], " ")))
        } else {
            Frame::Error(Cow::Owned(text))
        }
    }

    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    pub fn simple(text: &'static str) -> Frame {
        Frame::Simple(Cow::Borrowed(text))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}
