//! ACL categories, in the order redis-server 7.0 lists them.

pub const KEYSPACE: u32 = 1;
pub const READ: u32 = 1 << 1;
pub const WRITE: u32 = 1 << 2;
pub const SET: u32 = 1 << 3;
pub const SORTEDSET: u32 = 1 << 4;
pub const LIST: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const STRING: u32 = 1 << 7;
pub const BITMAP: u32 = 1 << 8;
pub const HYPERLOGLOG: u32 = 1 << 9;
pub const GEO: u32 = 1 << 10;
pub const STREAM: u32 = 1 << 11;
pub const PUBSUB: u32 = 1 << 12;
pub const ADMIN: u32 = 1 << 13;
pub const FAST: u32 = 1 << 14;
pub const SLOW: u32 = 1 << 15;
pub const BLOCKING: u32 = 1 << 16;
pub const DANGEROUS: u32 = 1 << 17;
pub const CONNECTION: u32 = 1 << 18;
pub const TRANSACTION: u32 = 1 << 19;
pub const SCRIPTING: u32 = 1 << 20;

pub const NAMES: &[(u32, &str)] = &[
    (KEYSPACE, "keyspace"),
    (READ, "read"),
    (WRITE, "write"),
    (SET, "set"),
    (SORTEDSET, "sortedset"),
    (LIST, "list"),
    (HASH, "hash"),
    (STRING, "string"),
    (BITMAP, "bitmap"),
    (HYPERLOGLOG, "hyperloglog"),
    (GEO, "geo"),
    (STREAM, "stream"),
    (PUBSUB, "pubsub"),
    (ADMIN, "admin"),
    (FAST, "fast"),
    (SLOW, "slow"),
    (BLOCKING, "blocking"),
    (DANGEROUS, "dangerous"),
    (CONNECTION, "connection"),
    (TRANSACTION, "transaction"),
    (SCRIPTING, "scripting"),
];

/// Redis's setImplicitACLCategories: the categories a command's flags imply, added to the
/// declared ones (`@slow` for every command that is not `@fast`).
pub fn with_implied(declared: u32, flags: u32) -> u32 {
    use super::flag;
    let mut categories = declared;
    if flags & flag::WRITE != 0 {
        categories |= WRITE;
    }
    if flags & flag::READONLY != 0 && categories & SCRIPTING == 0 {
        categories |= READ;
    }
    if flags & flag::ADMIN != 0 {
        categories |= ADMIN | DANGEROUS;
    }
    if flags & flag::PUBSUB != 0 {
        categories |= PUBSUB;
    }
    if flags & flag::FAST != 0 {
        categories |= FAST;
    }
    if flags & flag::BLOCKING != 0 {
        categories |= BLOCKING;
    }
    if categories & FAST == 0 {
        categories |= SLOW;
    }
    categories
}

/// The names of the categories in `categories`.
pub fn names(categories: u32) -> impl Iterator<Item = &'static str> {
    NAMES
        .iter()
        .filter(move |(bit, _)| categories & bit != 0)
        .map(|&(_, name)| name)
}
