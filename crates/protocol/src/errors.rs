//! Error replies that many commands share, named once with Redis 7.0's exact text. The protocol
//! crate is the layer every other one uses, so storage and server take them from here.

use crate::Frame;

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const SHARD_DID_NOT_ANSWER: &str = "ERR shard did not answer";
pub const OUT_OF_RANGE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const NOT_A_FLOAT: &str = "ERR value is not a valid float";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const OUT_OF_RANGE_I64: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
pub const INVALID_START_ID: &str = "ERR invalid start ID for the interval";
pub const INVALID_END_ID: &str = "ERR invalid end ID for the interval";
pub const INCREMENT_OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
pub const XGROUP_NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
pub const SAVE_IN_PROGRESS: &str = "ERR Background save already in progress";

/// A command (or `container|subcommand`) given the wrong number of arguments.
pub fn wrong_arity(name: &str) -> Frame {
    Frame::error_owned(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}
