//! Blocking pops' specs (their waiting is `crate::blocking`).

use super::{CommandSpec, Kind};

pub(super) static SPECS: &[CommandSpec] = &[
    spec!("blpop", -3, ["write", "noscript", "blocking"], 1, -2, 1, "list", "2.0.0", "Remove and get the first element in a list, or block until one is available", Keyed),
    spec!("brpop", -3, ["write", "noscript", "blocking"], 1, -2, 1, "list", "2.0.0", "Remove and get the last element in a list, or block until one is available", Keyed),
    spec!("blmove", 6, ["write", "denyoom", "noscript", "blocking"], 1, 2, 1, "list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", Keyed),
    spec!("brpoplpush", 4, ["write", "denyoom", "noscript", "blocking"], 1, 2, 1, "list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", Keyed),
    spec!("blmpop", -5, ["write", "blocking"], 0, 0, 0, "list", "7.0.0", "Pop elements from a list, or block until one is available", Keyed),
    spec!("bzpopmin", -3, ["write", "noscript", "blocking", "fast"], 1, -2, 1, "sorted_set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", Keyed),
    spec!("bzpopmax", -3, ["write", "noscript", "blocking", "fast"], 1, -2, 1, "sorted_set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", Keyed),
    spec!("bzmpop", -5, ["write", "blocking"], 0, 0, 0, "sorted_set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", Keyed),
];
