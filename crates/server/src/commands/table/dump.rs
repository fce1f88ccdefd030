//! DUMP and RESTORE specs.

use super::{CommandSpec, Kind};

#[rustfmt::skip]
pub(super) static SPECS: &[CommandSpec] = &[
    spec!("dump", 2, ["readonly"], 1, 1, 1, "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.", Keyed),
    spec!("restore", -4, ["write", "denyoom"], 1, 1, 1, "generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.", Keyed),
];
