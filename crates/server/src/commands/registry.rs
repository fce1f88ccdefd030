//! The commands the connection runs: their handler type, their families (one registration line
//! each, installed into `crate::spec` at start-up), and how they are run.

use crate::connection::Connection;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{CommandDef, Run};
use futures::future::LocalBoxFuture;

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

/// Makes the connection commands known to `crate::spec` (at start-up, and in tests that use them).
pub fn install() {
    crate::spec::install(CONNECTION_FAMILIES);
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
        None => crate::spec::unknown_command(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{all, lookup, resolve, words};

    use damselfly_storage::spec::MAX_KEY_SPECS;

    #[test]
    fn lookup_is_case_insensitive() {
        install();
        assert_eq!(lookup(b"GeT").map(|def| def.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
    }

    #[test]
    fn every_definition_is_well_formed() {
        install();
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
        install();
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
