//! Stream commands' specs (flags and key positions from redis-server 7.0's COMMAND INFO; the
//! XGROUP and XINFO containers take their subcommands' key at index 2, like OBJECT).

use super::{CommandSpec, Kind};

#[rustfmt::skip]
pub(super) static SPECS: &[CommandSpec] = &[
    spec!("xadd", -5, ["write", "denyoom", "fast"], 1, 1, 1, "stream", "5.0.0", "Appends a new entry to a stream", Keyed),
    spec!("xlen", 2, ["readonly", "fast"], 1, 1, 1, "stream", "5.0.0", "Return the number of entries in a stream", Keyed),
    spec!("xrange", -4, ["readonly"], 1, 1, 1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval", Keyed),
    spec!("xrevrange", -4, ["readonly"], 1, 1, 1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", Keyed),
    spec!("xdel", -3, ["write", "fast"], 1, 1, 1, "stream", "5.0.0", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", Keyed),
    spec!("xtrim", -4, ["write"], 1, 1, 1, "stream", "5.0.0", "Trims the stream to (approximately if '~' is passed) a certain size", Keyed),
    spec!("xread", -4, ["readonly", "blocking", "movablekeys"], 0, 0, 0, "stream", "5.0.0", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", Keyed),
    spec!("xgroup", -2, ["write", "denyoom"], 2, 2, 1, "stream", "5.0.0", "A container for consumer groups commands", Keyed),
    spec!("xreadgroup", -7, ["write", "blocking", "movablekeys"], 0, 0, 0, "stream", "5.0.0", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", Keyed),
    spec!("xack", -4, ["write", "fast"], 1, 1, 1, "stream", "5.0.0", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", Keyed),
    spec!("xpending", -3, ["readonly"], 1, 1, 1, "stream", "5.0.0", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", Keyed),
    spec!("xclaim", -6, ["write", "fast"], 1, 1, 1, "stream", "5.0.0", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", Keyed),
    spec!("xautoclaim", -6, ["write", "fast"], 1, 1, 1, "stream", "6.2.0", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", Keyed),
    spec!("xinfo", -2, ["readonly"], 2, 2, 1, "stream", "5.0.0", "A container for stream introspection commands", Keyed),
];
