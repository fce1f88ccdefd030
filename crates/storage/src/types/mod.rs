//! The collection types a key can hold besides strings. Each keeps a compact encoding while small
//! and converts to a full structure past the thresholds in `crate::config`.

pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::Stream;
pub use zset::ZSet;
