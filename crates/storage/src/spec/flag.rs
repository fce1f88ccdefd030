//! Command flags, in the order redis-server 7.0 lists them in COMMAND INFO.

pub const WRITE: u32 = 1;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const PUBSUB: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const BLOCKING: u32 = 1 << 6;
pub const LOADING: u32 = 1 << 7;
pub const STALE: u32 = 1 << 8;
pub const SKIP_MONITOR: u32 = 1 << 9;
pub const SKIP_SLOWLOG: u32 = 1 << 10;
pub const ASKING: u32 = 1 << 11;
pub const FAST: u32 = 1 << 12;
pub const NO_AUTH: u32 = 1 << 13;
pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
pub const NO_ASYNC_LOADING: u32 = 1 << 15;
pub const NO_MULTI: u32 = 1 << 16;
pub const MOVABLEKEYS: u32 = 1 << 17;
pub const ALLOW_BUSY: u32 = 1 << 18;
/// Not shown by COMMAND INFO (as in Redis).
pub const MAY_REPLICATE: u32 = 1 << 19;
/// Not shown by COMMAND INFO (as in Redis).
pub const SENTINEL: u32 = 1 << 20;
/// damselfly's own, not shown: allowed on a RESP2 connection in subscribed mode.
pub const SUBSCRIBED_CONTEXT: u32 = 1 << 21;
/// damselfly's own, not shown: runs at once inside MULTI instead of being queued.
pub const NOT_QUEUED: u32 = 1 << 22;
/// damselfly's own, not shown: runs the queued transaction (EXEC), so it may write.
pub const RUNS_TRANSACTION: u32 = 1 << 23;

/// The flags COMMAND INFO shows, with their names, in Redis's order.
pub const SHOWN: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLEKEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// The names of the shown flags set in `flags`.
pub fn names(flags: u32) -> impl Iterator<Item = &'static str> {
    SHOWN
        .iter()
        .filter(move |(bit, _)| flags & bit != 0)
        .map(|&(_, name)| name)
}
