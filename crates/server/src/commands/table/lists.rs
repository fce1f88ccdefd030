//! List commands' specs.

use super::{CommandSpec, Kind};

#[rustfmt::skip]
pub(super) static SPECS: &[CommandSpec] = &[
    spec!("lpush", -3, ["write", "denyoom", "fast"], 1, 1, 1, "list", "1.0.0", "Prepend one or multiple elements to a list", Keyed),
    spec!("rpush", -3, ["write", "denyoom", "fast"], 1, 1, 1, "list", "1.0.0", "Append one or multiple elements to a list", Keyed),
    spec!("lpushx", -3, ["write", "denyoom", "fast"], 1, 1, 1, "list", "2.2.0", "Prepend an element to a list, only if the list exists", Keyed),
    spec!("rpushx", -3, ["write", "denyoom", "fast"], 1, 1, 1, "list", "2.2.0", "Append an element to a list, only if the list exists", Keyed),
    spec!("lpop", -2, ["write", "fast"], 1, 1, 1, "list", "1.0.0", "Remove and get the first elements in a list", Keyed),
    spec!("rpop", -2, ["write", "fast"], 1, 1, 1, "list", "1.0.0", "Remove and get the last elements in a list", Keyed),
    spec!("lrange", 4, ["readonly"], 1, 1, 1, "list", "1.0.0", "Get a range of elements from a list", Keyed),
    spec!("llen", 2, ["readonly", "fast"], 1, 1, 1, "list", "1.0.0", "Get the length of a list", Keyed),
    spec!("lindex", 3, ["readonly"], 1, 1, 1, "list", "1.0.0", "Get an element from a list by its index", Keyed),
    spec!("lset", 4, ["write", "denyoom"], 1, 1, 1, "list", "1.0.0", "Set the value of an element in a list by its index", Keyed),
    spec!("lrem", 4, ["write"], 1, 1, 1, "list", "1.0.0", "Remove elements from a list", Keyed),
    spec!("ltrim", 4, ["write"], 1, 1, 1, "list", "1.0.0", "Trim a list to the specified range", Keyed),
    spec!("linsert", 5, ["write", "denyoom"], 1, 1, 1, "list", "2.2.0", "Insert an element before or after another element in a list", Keyed),
    spec!("lpos", -3, ["readonly"], 1, 1, 1, "list", "6.0.6", "Return the index of matching elements on a list", Keyed),
    spec!("rpoplpush", 3, ["write", "denyoom"], 1, 2, 1, "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", Keyed),
    spec!("lmove", 5, ["write", "denyoom"], 1, 2, 1, "list", "6.2.0", "Pop an element from a list, push it to another list and return it", Keyed),
    spec!("lmpop", -4, ["write", "movablekeys"], 0, 0, 0, "list", "7.0.0", "Pop elements from a list", Keyed),
];
