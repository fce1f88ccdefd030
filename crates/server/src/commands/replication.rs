//! REPLICAOF / SLAVEOF, ROLE, WAIT, REPLCONF and the internal DFLY commands.

use super::handler::{Later, Now};
use super::parse_i64;
use crate::config::parse_primary_address;
use crate::connection::{Connection, Handoff, StreamRequest};
use crate::replication::{primary, replica};
use crate::replication_state::coordinator::Event;
use crate::replication_state::Role;
use crate::wakeup::await_remote;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef};
use futures::FutureExt;
use std::time::{Duration, Instant};

/// The replication commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("replicaof", 3, &Later(|conn, args| Box::pin(async move { replicaof(conn, &args).await })))
        .flags(ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING)
        .doc("server", "5.0.0", "O(1)", "Make the server a replica of another instance, or promote it as master.")
        .args(&[
            Arg::oneof("args", &[
                Arg::block("host-port", &[Arg::string("host"), Arg::integer("port")]),
                Arg::block("no-one", &[Arg::pure_token("no", "NO"), Arg::pure_token("one", "ONE")]),
            ]),
        ]),
    CommandDef::connection("slaveof", 3, &Later(|conn, args| Box::pin(async move { replicaof(conn, &args).await })))
        .flags(ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING)
        .doc("server", "1.0.0", "O(1)", "Make the server a replica of another instance, or promote it as master.")
        .deprecated("5.0.0", "`REPLICAOF`")
        .args(&[
            Arg::oneof("args", &[
                Arg::block("host-port", &[Arg::string("host"), Arg::integer("port")]),
                Arg::block("no-one", &[Arg::pure_token("no", "NO"), Arg::pure_token("one", "ONE")]),
            ]),
        ]),
    CommandDef::connection("role", 1, &Now(|conn, _| role(conn)))
        .flags(NOSCRIPT | LOADING | STALE | FAST)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .doc("server", "2.8.12", "O(1)", "Return the role of the instance in the context of replication"),
    CommandDef::connection("wait", 3, &Later(|conn, args| Box::pin(async move { wait(conn, &args).await })))
        .flags(NOSCRIPT)
        .acl(acl::CONNECTION)
        .tips(&["request_policy:all_shards", "response_policy:agg_min"])
        .doc("generic", "3.0.0", "O(1)", "Wait for the synchronous replication of all the write commands sent in the context of the current connection")
        .args(&[Arg::integer("numreplicas"), Arg::integer("timeout")]),
    CommandDef::connection("replconf", -1, &Now(replconf))
        .flags(ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY)
        .doc("server", "3.0.0", "O(1)", "An internal command for configuring the replication stream")
        .syscmd(),
    CommandDef::connection("psync", -3, &Now(|conn, args| stream_request(conn, args, false)))
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI)
        .doc("server", "2.8.0", "", "Internal command used for replication")
        .args(&[Arg::string("replicationid"), Arg::integer("offset")]),
    CommandDef::connection("sync", 1, &Now(|conn, args| stream_request(conn, args, true)))
        .flags(ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI)
        .doc("server", "1.0.0", "", "Internal command used for replication"),
    CommandDef::connection("dfly", -2, &Later(|conn, args| Box::pin(async move { dfly(conn, &args).await })))
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .doc("server", "0.1.0", "O(1)", "Internal damselfly replication commands (SYNC, FLOW)")
        // damselfly's own, documented as Redis documents its replication commands (REPLCONF).
        .syscmd()
        .args(&[Arg::oneof("subcommand", &[
            Arg::block("sync", &[
                Arg::integer("listening-port"),
                Arg::string("replicationid").summary("The primary's replication id, or `?` for a full sync"),
                Arg::integer("offset").summary("Where to resume, one offset per primary shard").optional().multiple(),
            ]).token("SYNC"),
            Arg::block("flow", &[Arg::string("session"), Arg::integer("shard")]).token("FLOW"),
        ])]),
];

/// PSYNC and SYNC on a replica: it does not pass its primary's stream on (no chained replicas).
const NOT_CHAINED: &str = "NOMASTERLINK Can't SYNC while not connected with my master";

pub async fn replicaof(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let words = [
        String::from_utf8_lossy(&args[1]).into_owned(),
        String::from_utf8_lossy(&args[2]).into_owned(),
    ];
    match parse_primary_address(&words) {
        Err(_) => Frame::error(errors::NOT_INTEGER),
        Ok(None) => {
            replica::promote(&conn.ctx).await;
            Frame::OK
        }
        Ok(Some((host, port))) => {
            let same = conn.ctx.shared.repl.state().role
                == Role::Replica {
                    host: host.clone(),
                    port,
                };
            if same {
                return Frame::Simple("OK Already connected to specified master".into());
            }
            tracing::info!("replicating {host}:{port} (REPLICAOF)");
            replica::follow(&conn.ctx, host, port).await;
            Frame::OK
        }
    }
}

pub fn role(conn: &Connection) -> Frame {
    let repl = &conn.ctx.shared.repl;
    let state = repl.state();
    match &state.role {
        Role::Primary => {
            let replicas = state
                .sessions
                .values()
                .filter(|s| s.online())
                .map(|s| {
                    Frame::Array(vec![
                        Frame::Bulk(Bytes::from(s.ip.clone())),
                        Frame::Bulk(Bytes::from(s.port.to_string())),
                        Frame::Bulk(Bytes::from(s.reported_offset().to_string())),
                    ])
                })
                .collect();
            Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"master")),
                Frame::Integer(repl.reported_offset() as i64),
                Frame::Array(replicas),
            ])
        }
        Role::Replica { host, port } => {
            let offset = if state.link.state == "connected" {
                state.link.applied_total() as i64
            } else {
                -1
            };
            Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"slave")),
                Frame::Bulk(Bytes::from(host.clone())),
                Frame::Integer(i64::from(*port)),
                Frame::Bulk(Bytes::from_static(state.link.state.as_bytes())),
                Frame::Integer(offset),
            ])
        }
    }
}

/// WAIT numreplicas timeout: how many replicas acknowledged every write this client made.
pub async fn wait(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let repl = &conn.ctx.shared.repl;
    if repl.is_replica() {
        return Frame::error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(replicas) = parse_i64(&args[1]) else {
        return Frame::error(errors::NOT_INTEGER);
    };
    let Some(timeout) = parse_i64(&args[2]) else {
        return Frame::error(damselfly_protocol::errors::TIMEOUT_NOT_INTEGER);
    };
    if timeout < 0 {
        return Frame::error(damselfly_protocol::errors::TIMEOUT_NEGATIVE);
    }
    let mut offsets = conn.write_offsets.clone();
    offsets.resize(conn.ctx.shards(), 0);
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let (reply, answer) = futures::channel::oneshot::channel();
    repl.coordinator.send(Event::Wait {
        offsets,
        replicas,
        deadline,
        reply,
    });
    primary::request_acks(&conn.ctx);
    let fd = conn.info.borrow().fd;
    let answer = await_remote(answer).fuse();
    futures::pin_mut!(answer);
    loop {
        futures::select! {
            count = answer => return Frame::Integer(count.unwrap_or(0)),
            _ = glommio::timer::sleep(CLIENT_CHECK).fuse() => {
                if crate::socket::peer_closed(fd) {
                    // Dropping the answer cancels the waiter; the coordinator forgets it now.
                    conn.close_after_reply = true;
                    repl.coordinator.send(Event::Sweep);
                    return Frame::Null;
                }
            }
        }
    }
}

/// How often a client blocked in WAIT is checked for having disconnected.
const CLIENT_CHECK: Duration = Duration::from_millis(200);

/// REPLCONF from a replica before PSYNC: `listening-port`, `ip-address` and `capa` are kept for the
/// stream it asks for next; `ACK` on a connection that is not a replica's stream is ignored, as
/// Redis ignores it there. Other options Redis knows are accepted.
pub fn replconf(conn: &mut Connection, args: &[Bytes]) -> Frame {
    if args.len().is_multiple_of(2) {
        return Frame::error(errors::SYNTAX);
    }
    let mut hello = conn.replica_hello.as_deref().cloned().unwrap_or_default();
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        match option.to_ascii_lowercase().as_slice() {
            b"listening-port" => match parse_i64(value).and_then(|p| u16::try_from(p).ok()) {
                Some(port) => hello.listening_port = Some(port),
                None => return Frame::error(errors::NOT_INTEGER),
            },
            b"ip-address" => {
                hello.ip_address = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"capa" => {
                if value.eq_ignore_ascii_case(b"eof") {
                    hello.capa_eof = true;
                } else if value.eq_ignore_ascii_case(b"psync2") {
                    hello.capa_psync2 = true;
                }
            }
            b"ack" | b"getack" => return Frame::Many(Vec::new()),
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                return Frame::error_owned(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(option)
                ))
            }
        }
    }
    conn.replica_hello = Some(Box::new(hello));
    Frame::OK
}

/// PSYNC replid offset / SYNC: the connection becomes a Redis-format replication stream, served
/// from the feed's executor, which also writes the answer.
fn stream_request(conn: &mut Connection, args: &[Bytes], legacy_sync: bool) -> Frame {
    if conn.ctx.shared.repl.is_replica() {
        return Frame::error(NOT_CHAINED);
    }
    // As Redis: a non-numeric offset (and `?`) asks for a full sync. PSYNC names the first byte
    // it lacks counting from 1 (its offset + 1); the stream counts bytes from 0.
    let resume = (!legacy_sync)
        .then(|| {
            let replid = String::from_utf8_lossy(&args[1]).into_owned();
            let next_byte = u64::try_from(parse_i64(&args[2])?).ok()?;
            (replid != "?").then_some((replid, next_byte.checked_sub(1)?))
        })
        .flatten();
    let ip = conn.info.borrow().addr.ip().to_string();
    conn.handoff = Some(Handoff::RedisReplica(Box::new(StreamRequest {
        resume,
        legacy_sync,
        hello: conn.replica_hello.as_deref().cloned().unwrap_or_default(),
        ip,
    })));
    Frame::Null
}

pub async fn dfly(conn: &mut Connection, args: &[Bytes]) -> Frame {
    match args[1].to_ascii_lowercase().as_slice() {
        b"sync" if args.len() >= 4 => primary::sync(conn, args).await,
        b"flow" if args.len() == 4 => primary::flow_request(conn, args),
        _ => super::unknown_subcommand(args),
    }
}
