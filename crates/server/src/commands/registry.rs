//! Every command's definition, found by name once per call: the shard families from the storage
//! crate and the connection families here, one registration line each.

use crate::connection::Connection;
use ahash::AHashMap;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{CommandDef, Run};
use futures::future::LocalBoxFuture;
use std::sync::OnceLock;

/// How a command that the connection runs is run.
pub enum ConnectionHandler {
    /// Answers at once.
    Now(fn(&mut Connection, &[Bytes]) -> Frame),
    /// Awaits other shards or tasks.
    Later(for<'c> fn(&'c mut Connection, Vec<Bytes>) -> LocalBoxFuture<'c, Frame>),
}

pub use ConnectionHandler::{Later, Now};

/// The families of commands the connection runs.
static CONNECTION_FAMILIES: &[&[CommandDef]] = &[
    super::connection::COMMANDS,
    super::multi::COMMANDS,
    super::pubsub::COMMANDS,
    super::keyspace::COMMANDS,
    super::client::COMMANDS,
    super::command_docs::COMMANDS,
    super::config::COMMANDS,
    super::info::COMMANDS,
    super::save::COMMANDS,
    super::debug::COMMANDS,
    super::replication::COMMANDS,
];

/// Every command, in COMMAND's order.
pub fn all() -> impl Iterator<Item = &'static CommandDef> {
    damselfly_storage::definitions()
        .chain(CONNECTION_FAMILIES.iter().flat_map(|family| family.iter()))
}

/// Looks a command up by name, case-insensitively, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandDef> {
    static INDEX: OnceLock<AHashMap<&'static [u8], &'static CommandDef>> = OnceLock::new();
    let index = INDEX.get_or_init(|| all().map(|def| (def.name.as_bytes(), def)).collect());
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (slot, byte) in lower.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    index.get(&lower[..name.len()]).copied()
}

/// The definition a call runs under: the command, or for a container (CONFIG, OBJECT...) the
/// subcommand its second word names, as Redis 7 looks commands up. The error is Redis's reply to
/// an unknown command or subcommand.
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandDef, Frame> {
    let Some(def) = lookup(&args[0]) else {
        return Err(super::unknown_command(args));
    };
    if def.subcommands.is_empty() || args.len() < 2 {
        return Ok(def);
    }
    def.subcommand_named(&args[1])
        .ok_or_else(|| super::unknown_subcommand(args))
}

/// A command or subcommand by its full name (`config|get`), as COMMAND INFO and DOCS take it.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandDef> {
    match name.iter().position(|&byte| byte == b'|') {
        Some(bar) => lookup(&name[..bar])?.subcommand_named(&name[bar + 1..]),
        None => lookup(name),
    }
}

/// The connection's handler of a command it runs (None for a shard command).
pub fn connection_handler(def: &CommandDef) -> Option<&'static ConnectionHandler> {
    match def.run {
        Run::Connection(handler) => handler.downcast_ref::<ConnectionHandler>(),
        Run::Shard(_) => None,
    }
}

/// Runs a command the connection runs itself.
pub async fn run_connection_command(
    conn: &mut Connection,
    def: &'static CommandDef,
    args: Vec<Bytes>,
) -> Frame {
    match connection_handler(def) {
        Some(Now(handler)) => handler(conn, &args),
        Some(Later(handler)) => handler(conn, args).await,
        None => super::unknown_command(&args),
    }
}

/// A command line split into arguments at spaces (for tests).
#[cfg(test)]
pub fn words(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|word| Bytes::copy_from_slice(word.as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use damselfly_storage::spec::MAX_KEY_SPECS;

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(lookup(b"GeT").map(|def| def.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
    }

    #[test]
    fn every_definition_is_well_formed() {
        let mut names = std::collections::HashSet::new();
        for def in all() {
            assert!(names.insert(def.name), "{} defined twice", def.name);
            assert_eq!(def.name, def.name.to_ascii_lowercase());
            assert!(def.key_specs.len() <= MAX_KEY_SPECS, "{}", def.name);
            assert!(
                !def.summary.is_empty() && !def.group.is_empty(),
                "{}",
                def.name
            );
            if let Run::Connection(_) = def.run {
                assert!(connection_handler(def).is_some(), "{}", def.name);
            }
        }
    }

    #[test]
    fn keys_follow_the_key_specs() {
        let keys = |line: &str| -> Vec<usize> {
            let args = words(line);
            let def = lookup(&args[0]).unwrap();
            def.key_positions(&args).collect()
        };
        assert_eq!(keys("mset a 1 b 2"), vec![1, 3]);
        assert_eq!(keys("del a b c"), vec![1, 2, 3]);
        assert_eq!(keys("rename a b"), vec![1, 2]);
        assert_eq!(keys("copy a b db 1"), vec![1, 2]);
        assert_eq!(keys("zunionstore d 2 a b weights 1 2"), vec![1, 3, 4]);
        assert_eq!(keys("xread count 1 streams a b 0 0"), vec![4, 5]);
        assert_eq!(keys("blmpop 0 2 a b left"), vec![3, 4]);
        assert_eq!(keys("bitop and d a b"), vec![2, 3, 4]);
        assert!(keys("ping").is_empty());
        assert_eq!(keys("object encoding k"), Vec::<usize>::new());
        let args = words("object encoding k");
        assert_eq!(resolve(&args).unwrap().name, "object|encoding");
        assert_eq!(
            resolve(&args)
                .unwrap()
                .key_positions(&args)
                .collect::<Vec<_>>(),
            vec![2]
        );
    }

    #[test]
    fn written_keys_follow_the_key_specs() {
        let written = |line: &str| -> Vec<usize> {
            let args = words(line);
            let def = lookup(&args[0]).unwrap();
            def.written_key_positions(&args).collect()
        };
        assert_eq!(written("sinterstore d a b"), vec![1]);
        assert_eq!(written("bitop or d a b"), vec![2]);
        assert_eq!(written("rename a b"), vec![1, 2]);
        assert!(written("mget a b").is_empty());
        // Its key spec says RO, yet it moves the group's cursor: every key counts as written.
        assert_eq!(written("xreadgroup group g c streams a b > >"), vec![5, 6]);
    }

    #[test]
    fn arity_rules() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_ok(2) && !get.arity_ok(3));
        let set = lookup(b"set").unwrap();
        assert!(set.arity_ok(3) && set.arity_ok(7) && !set.arity_ok(2));
    }
}
