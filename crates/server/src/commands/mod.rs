//! Commands the connection runs itself (connection, server and keyspace-wide commands), their
//! registration (one line per family), and the multi-shard key commands.

mod client;
mod command_docs;
mod config;
pub mod connection;
mod debug;
pub mod gather;
pub mod handler;
mod info;
mod keyspace;
pub mod multi;
pub mod multikey;
pub mod pubsub;
mod replication;
mod save;

use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;

pub use crate::spec::unknown_subcommand;

/// The families of commands the connection runs.
static CONNECTION_FAMILIES: &[&[CommandDef]] = &[
    connection::COMMANDS,
    multi::COMMANDS,
    pubsub::COMMANDS,
    keyspace::COMMANDS,
    client::COMMANDS,
    command_docs::COMMANDS,
    config::COMMANDS,
    info::COMMANDS,
    save::COMMANDS,
    debug::COMMANDS,
    replication::COMMANDS,
];

/// Makes the connection commands known to `crate::spec` (at start-up, and in tests that use them).
pub fn install() {
    crate::spec::install(CONNECTION_FAMILIES);
}

pub use damselfly_protocol::errors::wrong_arity;

/// Parses an integer argument with Redis's strict rules (no `+`, no leading zeros, no spaces).
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    damselfly_storage::string2ll(arg)
}

pub fn not_an_integer() -> Frame {
    Frame::error(errors::NOT_INTEGER)
}

pub fn bulk_str(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

#[cfg(test)]
mod registry_tests;

#[cfg(test)]
mod gather_tests;
#[cfg(test)]
mod multikey_tests;

/// Runs a command line whose keys span shards as the pipeline does (`multikey::run`), in `db`,
/// with executor `from` as the coordinator (for the coordination tests).
#[cfg(test)]
pub(crate) async fn run_across(
    shards: &crate::test_shards::TestShards,
    from: usize,
    db: usize,
    line: &str,
) -> Frame {
    let args = crate::spec::words(line);
    let def = crate::spec::resolve(&args).expect("a known command");
    assert_eq!(
        crate::keyplan::KeyPlan::new(def, &args, db, shards.count()).route(),
        crate::keyplan::Route::Multi,
        "`{line}` must span shards"
    );
    multikey::run_in(shards.ctx(from), db, def, args).await
}
