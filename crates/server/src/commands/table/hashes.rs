//! Hash commands' specs.

use super::{CommandSpec, Kind};

#[rustfmt::skip]
pub(super) static SPECS: &[CommandSpec] = &[
    spec!("hset", -4, ["write", "denyoom", "fast"], 1, 1, 1, "hash", "2.0.0", "Set the string value of a hash field", Keyed),
    spec!("hsetnx", 4, ["write", "denyoom", "fast"], 1, 1, 1, "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", Keyed),
    spec!("hget", 3, ["readonly", "fast"], 1, 1, 1, "hash", "2.0.0", "Get the value of a hash field", Keyed),
    spec!("hmget", -3, ["readonly", "fast"], 1, 1, 1, "hash", "2.0.0", "Get the values of all the given hash fields", Keyed),
    spec!("hmset", -4, ["write", "denyoom", "fast"], 1, 1, 1, "hash", "2.0.0", "Set multiple hash fields to multiple values", Keyed),
    spec!("hdel", -3, ["write", "fast"], 1, 1, 1, "hash", "2.0.0", "Delete one or more hash fields", Keyed),
    spec!("hlen", 2, ["readonly", "fast"], 1, 1, 1, "hash", "2.0.0", "Get the number of fields in a hash", Keyed),
    spec!("hexists", 3, ["readonly", "fast"], 1, 1, 1, "hash", "2.0.0", "Determine if a hash field exists", Keyed),
    spec!("hgetall", 2, ["readonly"], 1, 1, 1, "hash", "2.0.0", "Get all the fields and values in a hash", Keyed),
    spec!("hkeys", 2, ["readonly"], 1, 1, 1, "hash", "2.0.0", "Get all the fields in a hash", Keyed),
    spec!("hvals", 2, ["readonly"], 1, 1, 1, "hash", "2.0.0", "Get all the values in a hash", Keyed),
    spec!("hincrby", 4, ["write", "denyoom", "fast"], 1, 1, 1, "hash", "2.0.0", "Increment the integer value of a hash field by the given number", Keyed),
    spec!("hincrbyfloat", 4, ["write", "denyoom", "fast"], 1, 1, 1, "hash", "2.6.0", "Increment the float value of a hash field by the given amount", Keyed),
    spec!("hstrlen", 3, ["readonly", "fast"], 1, 1, 1, "hash", "3.2.0", "Get the length of the value of a hash field", Keyed),
    spec!("hrandfield", -2, ["readonly"], 1, 1, 1, "hash", "6.2.0", "Get one or multiple random fields from a hash", Keyed),
    spec!("hscan", -3, ["readonly"], 1, 1, 1, "hash", "2.8.0", "Incrementally iterate hash fields and associated values", Keyed),
];
