//! Set commands' specs (flags and key positions as redis-server 7.0's COMMAND INFO reports them).

use super::{CommandSpec, Kind};

// One command per line, like the main table.
#[rustfmt::skip]
pub(super) static SPECS: &[CommandSpec] = &[
    spec!("sadd", -3, ["write", "denyoom", "fast"], 1, 1, 1, "set", "1.0.0", "Add one or more members to a set", Keyed),
    spec!("srem", -3, ["write", "fast"], 1, 1, 1, "set", "1.0.0", "Remove one or more members from a set", Keyed),
    spec!("smembers", 2, ["readonly"], 1, 1, 1, "set", "1.0.0", "Get all the members in a set", Keyed),
    spec!("sismember", 3, ["readonly", "fast"], 1, 1, 1, "set", "1.0.0", "Determine if a given value is a member of a set", Keyed),
    spec!("smismember", -3, ["readonly", "fast"], 1, 1, 1, "set", "6.2.0", "Returns the membership associated with the given elements for a set", Keyed),
    spec!("scard", 2, ["readonly", "fast"], 1, 1, 1, "set", "1.0.0", "Get the number of members in a set", Keyed),
    spec!("spop", -2, ["write", "fast"], 1, 1, 1, "set", "1.0.0", "Remove and return one or multiple random members from a set", Keyed),
    spec!("srandmember", -2, ["readonly"], 1, 1, 1, "set", "1.0.0", "Get one or multiple random members from a set", Keyed),
    spec!("smove", 4, ["write", "fast"], 1, 2, 1, "set", "1.0.0", "Move a member from one set to another", Keyed),
    spec!("sinter", -2, ["readonly"], 1, -1, 1, "set", "1.0.0", "Intersect multiple sets", Keyed),
    spec!("sunion", -2, ["readonly"], 1, -1, 1, "set", "1.0.0", "Add multiple sets", Keyed),
    spec!("sdiff", -2, ["readonly"], 1, -1, 1, "set", "1.0.0", "Subtract multiple sets", Keyed),
    spec!("sinterstore", -3, ["write", "denyoom"], 1, -1, 1, "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", Keyed),
    spec!("sunionstore", -3, ["write", "denyoom"], 1, -1, 1, "set", "1.0.0", "Add multiple sets and store the resulting set in a key", Keyed),
    spec!("sdiffstore", -3, ["write", "denyoom"], 1, -1, 1, "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", Keyed),
    spec!("sintercard", -3, ["readonly", "movablekeys"], 0, 0, 0, "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", Keyed),
    spec!("sscan", -3, ["readonly"], 1, 1, 1, "set", "2.8.0", "Incrementally iterate Set elements", Keyed),
];
