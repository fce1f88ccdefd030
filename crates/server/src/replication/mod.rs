//! Replication links: the flows a primary serves its replicas, and on a replica the link to its
//! primary and the appliers. The journals they carry are `crate::journal`, the state INFO and WAIT
//! read is `crate::replication_state`. The wire protocol is described in docs/replication.md.

pub mod acks;
pub mod applied;
pub mod applier;
pub mod flow_input;
#[cfg(test)]
mod fuzz;
pub mod handoff;
pub mod handover;
pub mod handshake;
pub mod lend;
pub mod primary;
pub mod primary_conn;
mod rdb_feed;
pub mod rdb_load;
pub mod redis_feed;
pub mod redis_link;
pub mod redis_stream;
pub mod replica;
pub mod stream_positions;
mod temp_file;
