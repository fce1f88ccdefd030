//! A command as it travels to the shard that runs it: resolved to its definition once.

use bytes::Bytes;
use damselfly_storage::spec::CommandDef;

/// A command resolved to its definition once, as it travels to the shard that runs it.
#[derive(Debug)]
pub struct Command {
    pub def: &'static CommandDef,
    pub args: Vec<Bytes>,
}
