//! The command table: arity, flags and key positions (as COMMAND INFO reports them and as the router uses them).

use ahash::AHashMap;
use std::sync::OnceLock;

/// How the connection runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Touches keys: routed to the shards that own them.
    Keyed,
    /// Server or connection command handled by the connection (may fan out to every shard).
    Server,
}

#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Redis arity: N means exactly N words, -N means at least N.
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub kind: Kind,
}

impl CommandSpec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    pub fn is_write(&self) -> bool {
        self.flags.contains(&"write")
    }

    /// Whether the keys are not simply first/last/step (see `keys_of`).
    pub fn has_custom_keys(&self) -> bool {
        matches!(
            self.name,
            "zunionstore"
                | "zinterstore"
                | "zdiffstore"
                | "blmpop"
                | "bzmpop"
                | "zunion"
                | "zinter"
                | "zdiff"
                | "sintercard"
                | "lmpop"
                | "zmpop"
                | "xread"
                | "xreadgroup"
        )
    }

    /// Positions of the key arguments of `args`: first/last/step, or for commands whose keys
    /// follow a count or a keyword (ZUNIONSTORE, LMPOP, XREAD...) wherever those say.
    pub fn keys_of(&self, args: &[bytes::Bytes]) -> Vec<usize> {
        if !self.has_custom_keys() {
            return self.key_positions(args.len()).collect();
        }
        match self.name {
            "zunionstore" | "zinterstore" | "zdiffstore" => counted_keys(args, 2, vec![1]),
            "blmpop" | "bzmpop" => counted_keys(args, 2, Vec::new()),
            "zunion" | "zinter" | "zdiff" | "sintercard" | "lmpop" | "zmpop" => {
                counted_keys(args, 1, Vec::new())
            }
            "xread" | "xreadgroup" => stream_keys(args),
            _ => self.key_positions(args.len()).collect(),
        }
    }

    /// Positions of the key arguments in `argc` words, following first/last/step.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let first = self.first_key.max(0) as usize;
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key.min(argc as i32 - 1)
        };
        let step = self.step.max(1) as usize;
        let end = if first == 0 || last < first as i32 {
            first
        } else {
            last as usize + 1
        };
        (first..end).step_by(step)
    }
}

/// `numkeys` at `count_at`, then that many keys (a bad count yields no keys: the command's own
/// checks answer it).
fn counted_keys(args: &[bytes::Bytes], count_at: usize, mut keys: Vec<usize>) -> Vec<usize> {
    let count = args
        .get(count_at)
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    if count == 0 || count_at + count >= args.len() {
        return keys;
    }
    keys.extend(count_at + 1..=count_at + count);
    keys
}

/// XREAD/XREADGROUP: the first half of the words after STREAMS.
fn stream_keys(args: &[bytes::Bytes]) -> Vec<usize> {
    let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"streams")) else {
        return Vec::new();
    };
    let rest = args.len() - at - 1;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Vec::new();
    }
    (at + 1..at + 1 + rest / 2).collect()
}

macro_rules! spec {
    ($name:literal, $arity:literal, [$($flag:literal),*], $first:literal, $last:literal, $step:literal, $group:literal, $since:literal, $summary:literal, $kind:ident) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            since: $since,
            summary: $summary,
            kind: Kind::$kind,
        }
    };
}

mod blocking;
mod dump;
mod hashes;
mod lists;
mod sets;
mod streams;
mod zsets;

/// Every command, in COMMAND's order.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    [
        COMMANDS,
        lists::SPECS,
        hashes::SPECS,
        sets::SPECS,
        zsets::SPECS,
        streams::SPECS,
        blocking::SPECS,
        dump::SPECS,
    ]
    .into_iter()
    .flatten()
}

static COMMANDS: &[CommandSpec] = &[
    // strings
    spec!("get", 2, ["readonly", "fast"], 1, 1, 1, "string", "1.0.0", "Get the value of a key", Keyed),
    spec!("set", -3, ["write", "denyoom"], 1, 1, 1, "string", "1.0.0", "Set the string value of a key", Keyed),
    spec!("setnx", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Set the value of a key, only if the key does not exist", Keyed),
    spec!("setex", 4, ["write", "denyoom"], 1, 1, 1, "string", "2.0.0", "Set the value and expiration of a key", Keyed),
    spec!("psetex", 4, ["write", "denyoom"], 1, 1, 1, "string", "2.6.0", "Set the value and expiration in milliseconds of a key", Keyed),
    spec!("getset", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Set the string value of a key and return its old value", Keyed),
    spec!("getdel", 2, ["write", "fast"], 1, 1, 1, "string", "6.2.0", "Get the value of a key and delete the key", Keyed),
    spec!("getex", -2, ["write", "fast"], 1, 1, 1, "string", "6.2.0", "Get the value of a key and optionally set its expiration", Keyed),
    spec!("mget", -2, ["readonly", "fast"], 1, -1, 1, "string", "1.0.0", "Get the values of all the given keys", Keyed),
    spec!("mset", -3, ["write", "denyoom"], 1, -1, 2, "string", "1.0.1", "Set multiple keys to multiple values", Keyed),
    spec!("msetnx", -3, ["write", "denyoom"], 1, -1, 2, "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist", Keyed),
    spec!("incr", 2, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Increment the integer value of a key by one", Keyed),
    spec!("decr", 2, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Decrement the integer value of a key by one", Keyed),
    spec!("incrby", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Increment the integer value of a key by the given amount", Keyed),
    spec!("decrby", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "1.0.0", "Decrement the integer value of a key by the given number", Keyed),
    spec!("incrbyfloat", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "2.6.0", "Increment the float value of a key by the given amount", Keyed),
    spec!("append", 3, ["write", "denyoom", "fast"], 1, 1, 1, "string", "2.0.0", "Append a value to a key", Keyed),
    spec!("strlen", 2, ["readonly", "fast"], 1, 1, 1, "string", "2.2.0", "Get the length of the value stored in a key", Keyed),
    spec!("getrange", 4, ["readonly"], 1, 1, 1, "string", "2.4.0", "Get a substring of the string stored at a key", Keyed),
    spec!("substr", 4, ["readonly"], 1, 1, 1, "string", "1.0.0", "Get a substring of the string stored at a key", Keyed),
    spec!("setrange", 4, ["write", "denyoom"], 1, 1, 1, "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset", Keyed),
    // bitmaps
    spec!("setbit", 4, ["write", "denyoom"], 1, 1, 1, "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key", Keyed),
    spec!("getbit", 3, ["readonly", "fast"], 1, 1, 1, "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key", Keyed),
    spec!("bitcount", -2, ["readonly"], 1, 1, 1, "bitmap", "2.6.0", "Count set bits in a string", Keyed),
    spec!("bitpos", -3, ["readonly"], 1, 1, 1, "bitmap", "2.8.7", "Find first bit set or clear in a string", Keyed),
    spec!("bitop", -4, ["write", "denyoom"], 2, -1, 1, "bitmap", "2.6.0", "Perform bitwise operations between strings", Keyed),
    // keys
    spec!("del", -2, ["write"], 1, -1, 1, "generic", "1.0.0", "Delete a key", Keyed),
    spec!("unlink", -2, ["write", "fast"], 1, -1, 1, "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", Keyed),
    spec!("exists", -2, ["readonly", "fast"], 1, -1, 1, "generic", "1.0.0", "Determine if a key exists", Keyed),
    spec!("touch", -2, ["readonly", "fast"], 1, -1, 1, "generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.", Keyed),
    spec!("type", 2, ["readonly", "fast"], 1, 1, 1, "generic", "1.0.0", "Determine the type stored at key", Keyed),
    spec!("rename", 3, ["write"], 1, 2, 1, "generic", "1.0.0", "Rename a key", Keyed),
    spec!("renamenx", 3, ["write", "fast"], 1, 2, 1, "generic", "1.0.0", "Rename a key, only if the new key does not exist", Keyed),
    spec!("copy", -3, ["write", "denyoom"], 1, 2, 1, "generic", "6.2.0", "Copy a key", Keyed),
    spec!("move", 3, ["write", "fast"], 1, 1, 1, "generic", "1.0.0", "Move a key to another database", Keyed),
    spec!("expire", -3, ["write", "fast"], 1, 1, 1, "generic", "1.0.0", "Set a key's time to live in seconds", Keyed),
    spec!("pexpire", -3, ["write", "fast"], 1, 1, 1, "generic", "2.6.0", "Set a key's time to live in milliseconds", Keyed),
    spec!("expireat", -3, ["write", "fast"], 1, 1, 1, "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp", Keyed),
    spec!("pexpireat", -3, ["write", "fast"], 1, 1, 1, "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", Keyed),
    spec!("ttl", 2, ["readonly", "fast"], 1, 1, 1, "generic", "1.0.0", "Get the time to live for a key in seconds", Keyed),
    spec!("pttl", 2, ["readonly", "fast"], 1, 1, 1, "generic", "2.6.0", "Get the time to live for a key in milliseconds", Keyed),
    spec!("expiretime", 2, ["readonly", "fast"], 1, 1, 1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key", Keyed),
    spec!("pexpiretime", 2, ["readonly", "fast"], 1, 1, 1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds", Keyed),
    spec!("persist", 2, ["write", "fast"], 1, 1, 1, "generic", "2.2.0", "Remove the expiration from a key", Keyed),
    spec!("object", -2, ["readonly"], 2, 2, 1, "generic", "2.2.3", "A container for object introspection commands", Keyed),
    spec!("keys", 2, ["readonly"], 0, 0, 0, "generic", "1.0.0", "Find all keys matching the given pattern", Server),
    spec!("scan", -2, ["readonly"], 0, 0, 0, "generic", "2.8.0", "Incrementally iterate the keys space", Server),
    spec!("randomkey", 1, ["readonly"], 0, 0, 0, "generic", "1.0.0", "Return a random key from the keyspace", Server),
    // connection
    spec!("ping", -1, ["fast"], 0, 0, 0, "connection", "1.0.0", "Ping the server", Server),
    spec!("echo", 2, ["fast"], 0, 0, 0, "connection", "1.0.0", "Echo the given string", Server),
    spec!("quit", -1, ["fast", "no-auth"], 0, 0, 0, "connection", "1.0.0", "Close the connection", Server),
    spec!("select", 2, ["loading", "stale", "fast"], 0, 0, 0, "connection", "1.0.0", "Change the selected database for the current connection", Server),
    spec!("hello", -1, ["noscript", "loading", "stale", "fast", "no-auth"], 0, 0, 0, "connection", "6.0.0", "Handshake with Redis", Server),
    spec!("auth", -2, ["noscript", "loading", "stale", "fast", "no-auth"], 0, 0, 0, "connection", "1.0.0", "Authenticate to the server", Server),
    spec!("client", -2, ["sentinel"], 0, 0, 0, "connection", "2.4.0", "A container for client connection commands", Server),
    spec!("reset", 1, ["noscript", "loading", "stale", "fast", "no-auth"], 0, 0, 0, "connection", "6.2.0", "Reset the connection", Server),
    // transactions
    spec!("multi", 1, ["noscript", "loading", "stale", "fast", "allow-busy"], 0, 0, 0, "transactions", "1.2.0", "Mark the start of a transaction block", Server),
    spec!("exec", 1, ["noscript", "loading", "stale", "skip-slowlog"], 0, 0, 0, "transactions", "1.2.0", "Execute all commands issued after MULTI", Server),
    spec!("discard", 1, ["noscript", "loading", "stale", "fast", "allow-busy"], 0, 0, 0, "transactions", "2.0.0", "Discard all commands issued after MULTI", Server),
    spec!("watch", -2, ["noscript", "loading", "stale", "fast", "allow-busy"], 1, -1, 1, "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block", Server),
    spec!("unwatch", 1, ["noscript", "loading", "stale", "fast", "allow-busy"], 0, 0, 0, "transactions", "2.2.0", "Forget about all watched keys", Server),
    // pub/sub
    spec!("subscribe", -2, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0, "pubsub", "2.0.0", "Listen for messages published to the given channels", Server),
    spec!("unsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0, "pubsub", "2.0.0", "Stop listening for messages posted to the given channels", Server),
    spec!("psubscribe", -2, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0, "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns", Server),
    spec!("punsubscribe", -1, ["pubsub", "noscript", "loading", "stale"], 0, 0, 0, "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns", Server),
    spec!("publish", 3, ["pubsub", "loading", "stale", "fast", "may-replicate"], 0, 0, 0, "pubsub", "2.0.0", "Post a message to a channel", Server),
    spec!("pubsub", -2, ["pubsub", "loading", "stale"], 0, 0, 0, "pubsub", "2.8.0", "A container for Pub/Sub commands", Server),
    // server
    spec!("command", -1, ["loading", "stale"], 0, 0, 0, "server", "2.8.13", "Get array of Redis command details", Server),
    spec!("config", -2, ["admin", "noscript", "loading", "stale"], 0, 0, 0, "server", "2.0.0", "A container for server configuration commands", Server),
    spec!("info", -1, ["loading", "stale"], 0, 0, 0, "server", "1.0.0", "Get information and statistics about the server", Server),
    spec!("dbsize", 1, ["readonly", "fast"], 0, 0, 0, "server", "1.0.0", "Return the number of keys in the selected database", Server),
    spec!("flushdb", -1, ["write"], 0, 0, 0, "server", "1.0.0", "Remove all keys from the current database", Server),
    spec!("flushall", -1, ["write"], 0, 0, 0, "server", "1.0.0", "Remove all keys from all databases", Server),
    // replication
    spec!("replicaof", 3, ["admin", "noscript", "stale", "no-async-loading"], 0, 0, 0, "server", "5.0.0", "Make the server a replica of another instance, or promote it as master", Server),
    spec!("slaveof", 3, ["admin", "noscript", "stale", "no-async-loading"], 0, 0, 0, "server", "1.0.0", "Make the server a replica of another instance, or promote it as master", Server),
    spec!("role", 1, ["noscript", "loading", "stale", "fast"], 0, 0, 0, "server", "2.8.12", "Return the role of the instance in the context of replication", Server),
    spec!("wait", 3, ["noscript"], 0, 0, 0, "generic", "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection", Server),
    spec!("replconf", -1, ["admin", "noscript", "loading", "stale", "allow-busy"], 0, 0, 0, "server", "3.0.0", "An internal command for configuring the replication stream", Server),
    spec!("dfly", -2, ["admin", "noscript", "loading", "stale"], 0, 0, 0, "server", "0.1.0", "Internal damselfly replication commands (SYNC, FLOW)", Server),
    spec!("psync", -3, ["admin", "noscript", "no-async-loading", "no-multi"], 0, 0, 0, "server", "2.8.0", "An internal command used in replication", Server),
    spec!("sync", 1, ["admin", "noscript", "no-async-loading", "no-multi"], 0, 0, 0, "server", "1.0.0", "An internal command used in replication", Server),
    spec!("time", 1, ["loading", "stale", "fast"], 0, 0, 0, "server", "2.6.0", "Return the current server time", Server),
    spec!("shutdown", -1, ["admin", "noscript", "loading", "stale", "no-multi", "sentinel", "allow-busy"], 0, 0, 0, "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server", Server),
    spec!("save", 1, ["admin", "noscript", "no-async-loading", "no-multi"], 0, 0, 0, "server", "1.0.0", "Synchronously save the dataset to disk", Server),
    spec!("bgsave", -1, ["admin", "noscript", "no-async-loading"], 0, 0, 0, "server", "1.0.0", "Asynchronously save the dataset to disk", Server),
    spec!("lastsave", 1, ["loading", "stale", "fast"], 0, 0, 0, "server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk", Server),
    spec!("debug", -2, ["admin", "noscript", "loading", "stale"], 0, 0, 0, "server", "1.0.0", "A container for debugging commands", Server),
];

/// Looks a command up by name, case-insensitively, without allocating for names up to 32 bytes.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static INDEX: OnceLock<AHashMap<&'static [u8], &'static CommandSpec>> = OnceLock::new();
    let index = INDEX.get_or_init(|| all().map(|spec| (spec.name.as_bytes(), spec)).collect());
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (slot, byte) in lower.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    index.get(&lower[..name.len()]).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(lookup(b"GeT").map(|s| s.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let del = lookup(b"del").unwrap();
        assert_eq!(del.key_positions(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        let rename = lookup(b"rename").unwrap();
        assert_eq!(rename.key_positions(3).collect::<Vec<_>>(), vec![1, 2]);
        let copy = lookup(b"copy").unwrap();
        assert_eq!(copy.key_positions(5).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(lookup(b"ping").unwrap().key_positions(1).count(), 0);
    }

    #[test]
    fn arity_rules() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_ok(2) && !get.arity_ok(3));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_ok(3) && set.arity_ok(7) && !set.arity_ok(2));
    }
}
