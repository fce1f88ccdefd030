//! Error replies that many commands share, named once with Redis 7.0's exact text. The protocol
//! crate is the layer every other one uses, so storage and server take them from here.

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
