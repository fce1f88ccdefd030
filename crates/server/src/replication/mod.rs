//! Replication: per-shard journals and flows on the primary, the link and the appliers on a
//! replica, and the WAIT coordinator. The wire protocol is described in docs/replication.md.

pub mod applier;
pub mod coordinator;
pub mod flow_input;
#[cfg(test)]
mod fuzz;
pub mod handshake;
pub mod journal;
pub mod primary;
pub mod replica;
pub mod signal;
pub mod snapshot;
pub mod state;
pub mod wire;
