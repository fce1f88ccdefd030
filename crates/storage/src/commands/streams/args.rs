//! Argument parsing shared by the stream commands: ids, intervals, and XADD/XTRIM's trimming
//! options, with Redis's error replies and checking order.

use super::super::{opt_is, parse_i64, Call, SYNTAX};
use crate::config::STREAM_NODE_MAX_ENTRIES;
use crate::types::stream::{parse_id, ParsedId, StreamId, Trim};
use damselfly_protocol::Frame;

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// streamParseStrictIDOrReply: a plain id (`-` and `+` refused), a missing sequence is 0.
pub fn parse_strict_id(arg: &[u8]) -> Result<StreamId, Frame> {
    parse_id(arg, 0, true, false)
        .map(|p| p.id)
        .ok_or_else(|| Frame::error(INVALID_ID))
}

/// streamParseIDOrReply: like `parse_strict_id` but `-` and `+` allowed.
pub fn parse_loose_id(arg: &[u8]) -> Result<StreamId, Frame> {
    parse_id(arg, 0, false, false)
        .map(|p| p.id)
        .ok_or_else(|| Frame::error(INVALID_ID))
}

/// streamParseIntervalIDOrReply: an interval bound, `(id` for exclusive; returns the id and
/// whether it is exclusive. A missing sequence becomes `missing_seq`.
pub fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Frame> {
    let parsed = match arg {
        [b'(', rest @ ..] if !rest.is_empty() => {
            parse_id(rest, missing_seq, true, false).map(|p| (p.id, true))
        }
        _ => parse_id(arg, missing_seq, false, false).map(|p| (p.id, false)),
    };
    parsed.ok_or_else(|| Frame::error(INVALID_ID))
}

/// XADD's and XTRIM's options.
pub struct AddTrim {
    pub trim: Option<Trim>,
    pub approx: bool,
    /// Most entries trimming may remove by whole nodes (0: no limit).
    pub limit: u64,
    pub nomkstream: bool,
    /// XADD's explicit id (None for `*`).
    pub id: Option<ParsedId>,
    /// Where XADD's id argument is.
    pub id_pos: usize,
}

/// Redis's streamParseAddOrTrimArgsOrReply.
pub fn parse_add_trim(c: &Call, xadd: bool) -> Result<AddTrim, Frame> {
    let args = c.args;
    let mut opts = AddTrim {
        trim: None,
        approx: false,
        limit: 0,
        nomkstream: false,
        id: None,
        id_pos: args.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && super::super::cstr(opt) == b"*" {
            break;
        }
        let maxlen = opt_is(opt, "maxlen");
        if (maxlen || opt_is(opt, "minid")) && more > 0 {
            if opts.trim.is_some() {
                return Err(Frame::error(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            opts.approx = false;
            let next = super::super::cstr(&args[i + 1]);
            if more >= 2 && (next == b"~" || next == b"=") {
                opts.approx = next == b"~";
                i += 1;
            }
            let value = &args[i + 1];
            opts.trim = Some(if maxlen {
                let n = parse_i64(value)?;
                if n < 0 {
                    return Err(Frame::error("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_strict_id(value)?)
            });
            i += 2;
        } else if opt_is(opt, "limit") && more > 0 {
            let n = parse_i64(&args[i + 1])?;
            if n < 0 {
                return Err(Frame::error("ERR The LIMIT argument must be >= 0."));
            }
            opts.limit = n as u64;
            limit_given = true;
            i += 2;
        } else if xadd && opt_is(opt, "nomkstream") {
            opts.nomkstream = true;
            i += 1;
        } else if xadd {
            let parsed = parse_id(opt, 0, true, true).ok_or_else(|| Frame::error(INVALID_ID))?;
            opts.id = Some(parsed);
            break;
        } else {
            return Err(Frame::error(SYNTAX));
        }
    }
    opts.id_pos = i;
    if limit_given && opts.trim.is_none() {
        return Err(Frame::error(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && opts.trim.is_none() {
        return Err(Frame::error(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !opts.approx {
            return Err(Frame::error(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if opts.approx {
        let limit = 100 * STREAM_NODE_MAX_ENTRIES.get();
        opts.limit = if limit <= 0 || limit > 10000 {
            10000
        } else {
            limit as u64
        };
    }
    Ok(opts)
}
