//! RESP2/RESP3 codec: request parsing and reply encoding, with no I/O so it can be fuzzed and
//! benchmarked alone.

pub mod encode;
pub mod errors;
pub mod frame;
pub mod parse;
pub mod repr;

pub use encode::{encode, format_double, format_i64};
pub use frame::Frame;
pub use parse::{string2ll, ParseError, Parser};
pub use repr::repr;
