//! CLIENT ID / SETNAME / GETNAME / LIST / INFO / KILL / NO-EVICT / REPLY-free subset.

use super::handler::Later;
use super::{bulk_str, unknown_subcommand, wrong_arity};
use crate::clients::{ClientInfo, ClientKind};
use crate::connection::Connection;
use crate::shard::Shard;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef, Run};
use std::net::SocketAddr;
use std::sync::Arc;

/// CLIENT and its subcommands.
const CLIENT_HANDLER: Run = Run::Connection(&Later(|conn, args| {
    Box::pin(async move { run(conn, &args).await })
}));

/// The client commands.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::new("client", -2, CLIENT_HANDLER)
.doc(
    "connection",
    "2.4.0",
    "Depends on subcommand.",
    "A container for client connection commands",
)
        .subcommands(&[
            CommandDef::subcommand("client|caching", 3, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "6.0.0", "O(1)", "Instruct the server about tracking or not keys in the next request")
                .args(&[
                    Arg::oneof("mode", &[
                        Arg::pure_token("yes", "YES"),
                        Arg::pure_token("no", "NO"),
                    ]),
                ]),
            CommandDef::subcommand("client|getname", 2, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "2.6.9", "O(1)", "Get the current connection name"),
            CommandDef::subcommand("client|getredir", 2, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "6.0.0", "O(1)", "Get tracking notifications redirection client ID if any"),
            CommandDef::subcommand("client|help", 2, CLIENT_HANDLER)
                .flags(LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "5.0.0", "O(1)", "Show helpful text about the different subcommands"),
            CommandDef::subcommand("client|id", 2, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "5.0.0", "O(1)", "Returns the client ID for the current connection"),
            CommandDef::subcommand("client|info", 2, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .tips(&["nondeterministic_output"])
                .doc("connection", "6.2.0", "O(1)", "Returns information about the current client connection."),
            CommandDef::subcommand("client|kill", -3, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "2.4.0", "O(N) where N is the number of client connections", "Kill the connection of a client")
                .history(&[
                    ("2.8.12", "Added new filter format."),
                    ("2.8.12", "`ID` option."),
                    ("3.2.0", "Added `master` type in for `TYPE` option."),
                    ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."),
                    ("6.2.0", "`LADDR` option."),
                ])
                .args(&[
                    Arg::oneof("filter", &[
                        Arg::string("ip:port").deprecated_since("2.8.12"),
                        Arg::oneof("new-format", &[
                            Arg::integer("client-id").token("ID").since("2.8.12").optional(),
                            Arg::oneof("normal_master_slave_pubsub", &[
                                Arg::pure_token("normal", "NORMAL"),
                                Arg::pure_token("master", "MASTER").since("3.2.0"),
                                Arg::pure_token("slave", "SLAVE"),
                                Arg::pure_token("replica", "REPLICA").since("5.0.0"),
                                Arg::pure_token("pubsub", "PUBSUB"),
                            ]).token("TYPE").since("2.8.12").optional(),
                            Arg::string("username").token("USER").optional(),
                            Arg::string("ip:port").token("ADDR").optional(),
                            Arg::string("ip:port").token("LADDR").since("6.2.0").optional(),
                            Arg::string("yes/no").token("SKIPME").optional(),
                        ]).multiple(),
                    ]),
                ]),
            CommandDef::subcommand("client|list", -2, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .tips(&["nondeterministic_output"])
                .doc("connection", "2.4.0", "O(N) where N is the number of client connections", "Get the list of client connections")
                .history(&[
                    ("2.8.12", "Added unique client `id` field."),
                    ("5.0.0", "Added optional `TYPE` filter."),
                    ("6.0.0", "Added `user` field."),
                    ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."),
                    ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
                    ("7.0.3", "Added `ssub` field."),
                ])
                .args(&[
                    Arg::oneof("normal_master_replica_pubsub", &[
                        Arg::pure_token("normal", "NORMAL"),
                        Arg::pure_token("master", "MASTER"),
                        Arg::pure_token("replica", "REPLICA"),
                        Arg::pure_token("pubsub", "PUBSUB"),
                    ]).token("TYPE").since("5.0.0").optional(),
                    Arg::block("id", &[
                        Arg::integer("client-id").multiple(),
                    ]).token("ID").since("6.2.0").optional(),
                ]),
            CommandDef::subcommand("client|no-evict", 3, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "7.0.0", "O(1)", "Set client eviction mode for the current connection")
                .args(&[
                    Arg::oneof("enabled", &[
                        Arg::pure_token("on", "ON"),
                        Arg::pure_token("off", "OFF"),
                    ]),
                ]),
            CommandDef::subcommand("client|pause", -3, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "2.9.50", "O(1)", "Stop processing commands from clients for some time")
                .history(&[
                    ("6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option."),
                ])
                .args(&[
                    Arg::integer("timeout"),
                    Arg::oneof("mode", &[
                        Arg::pure_token("write", "WRITE"),
                        Arg::pure_token("all", "ALL"),
                    ]).since("6.2.0").optional(),
                ]),
            CommandDef::subcommand("client|reply", 3, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "3.2.0", "O(1)", "Instruct the server whether to reply to commands")
                .args(&[
                    Arg::oneof("on_off_skip", &[
                        Arg::pure_token("on", "ON"),
                        Arg::pure_token("off", "OFF"),
                        Arg::pure_token("skip", "SKIP"),
                    ]),
                ]),
            CommandDef::subcommand("client|setname", 3, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "2.6.9", "O(1)", "Set the current connection name")
                .args(&[Arg::string("connection-name")]),
            CommandDef::subcommand("client|tracking", -3, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "6.0.0", "O(1). Some options may introduce additional complexity.", "Enable or disable server assisted client side caching support")
                .args(&[
                    Arg::oneof("status", &[
                        Arg::pure_token("on", "ON"),
                        Arg::pure_token("off", "OFF"),
                    ]),
                    Arg::integer("client-id").token("REDIRECT").optional(),
                    Arg::string("prefix").token("PREFIX").optional().multiple().multiple_token(),
                    Arg::pure_token("bcast", "BCAST").optional(),
                    Arg::pure_token("optin", "OPTIN").optional(),
                    Arg::pure_token("optout", "OPTOUT").optional(),
                    Arg::pure_token("noloop", "NOLOOP").optional(),
                ]),
            CommandDef::subcommand("client|trackinginfo", 2, CLIENT_HANDLER)
                .flags(NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "6.2.0", "O(1)", "Return information about server assisted client side caching for the current connection"),
            CommandDef::subcommand("client|unblock", -3, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "5.0.0", "O(log N) where N is the number of client connections", "Unblock a client blocked in a blocking command from a different connection")
                .args(&[
                    Arg::integer("client-id"),
                    Arg::oneof("timeout_error", &[
                        Arg::pure_token("timeout", "TIMEOUT"),
                        Arg::pure_token("error", "ERROR"),
                    ]).optional(),
                ]),
            CommandDef::subcommand("client|unpause", 2, CLIENT_HANDLER)
                .flags(ADMIN | NOSCRIPT | LOADING | STALE)
                .acl(acl::CONNECTION)
                .doc("connection", "6.2.0", "O(N) Where N is the number of paused clients", "Resume processing of clients that were paused"),
        ])];

pub async fn run(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"id", 2) => Frame::Integer(conn.id as i64),
        (b"getname", 2) => {
            let name = conn.info.borrow().name.clone();
            if name.is_empty() {
                Frame::Null
            } else {
                bulk_str(&name)
            }
        }
        (b"setname", 3) => match set_name(conn, &args[2]) {
            Ok(()) => Frame::OK,
            Err(error) => error,
        },
        (b"info", 2) => {
            Frame::Verbatim(Bytes::from(format!("{}\n", conn.info.borrow().describe())))
        }
        (b"list", _) => list(conn, &args[2..]).await,
        (b"kill", n) if n >= 3 => kill(conn, &args[2..]).await,
        (b"no-evict" | b"no-touch", 3) => Frame::OK,
        (b"help", 2) => Frame::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "INFO",
                "LIST [TYPE normal] [ID id ...]",
                "KILL <ip:port> | KILL <filter> <value> ...",
                "HELP",
            ]
            .iter()
            .map(|line| Frame::simple(line))
            .collect(),
        ),
        (b"id" | b"getname" | b"setname" | b"info" | b"help" | b"kill", _) => {
            wrong_arity(&format!("client|{}", String::from_utf8_lossy(&sub)))
        }
        _ => unknown_subcommand(args),
    }
}

pub fn set_name(conn: &mut Connection, name: &[u8]) -> Result<(), Frame> {
    if name.iter().any(|&b| b <= b' ' || b > b'~') {
        return Err(Frame::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    conn.info.borrow_mut().name = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

async fn list(conn: &Connection, options: &[Bytes]) -> Frame {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind_filter: Option<ClientKind> = None;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        if option.eq_ignore_ascii_case(b"type") {
            match options.next() {
                Some(kind) if ClientKind::parse(&String::from_utf8_lossy(kind)).is_some() => {
                    kind_filter = ClientKind::parse(&String::from_utf8_lossy(kind));
                }
                Some(kind) => {
                    return Frame::error_owned(format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(kind)
                    ))
                }
                None => return Frame::error(errors::SYNTAX),
            }
        } else if option.eq_ignore_ascii_case(b"id") {
            let mut wanted = Vec::new();
            for id in options.by_ref() {
                match super::parse_i64(id) {
                    Some(id) if id > 0 => wanted.push(id as u64),
                    _ => return Frame::error("ERR Invalid client ID"),
                }
            }
            if wanted.is_empty() {
                return Frame::error(errors::SYNTAX);
            }
            ids = Some(wanted);
        } else {
            return Frame::error(errors::SYNTAX);
        }
    }
    let ids = Arc::new(ids);
    let outputs = conn
        .ctx
        .run_everywhere(|_| {
            let ids = ids.clone();
            move |shard: &mut Shard| -> Vec<String> {
                shard
                    .clients
                    .iter()
                    .map(|info| info.borrow())
                    .filter(|info| {
                        ids.as_ref()
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&info.id))
                            && kind_filter.is_none_or(|kind| kind == info.kind)
                    })
                    .map(|info| info.describe())
                    .collect()
            }
        })
        .await;
    let mut lines: Vec<String> = outputs.into_iter().flatten().flatten().collect();
    lines.sort_by_key(|line| {
        line.strip_prefix("id=")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let mut text = lines.join("\n");
    text.push('\n');
    Frame::Verbatim(Bytes::from(text))
}

/// The filters of CLIENT KILL, all of which must match.
#[derive(Default, Clone)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    skip: Option<u64>,
    kind: Option<ClientKind>,
}

impl KillFilter {
    fn matches(&self, info: &ClientInfo) -> bool {
        self.kind.is_none_or(|kind| kind == info.kind)
            && self.id.is_none_or(|id| info.id == id)
            && self
                .addr
                .as_ref()
                .is_none_or(|a| *a == info.addr.to_string())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == info.laddr.to_string())
            && self.skip != Some(info.id)
    }
}

async fn kill(conn: &Connection, options: &[Bytes]) -> Frame {
    let old_style = options.len() == 1;
    let mut filter = KillFilter {
        skip: Some(conn.id),
        ..KillFilter::default()
    };
    if old_style {
        let addr = String::from_utf8_lossy(&options[0]).into_owned();
        filter.addr = Some(addr);
        filter.skip = None;
    } else {
        if !options.len().is_multiple_of(2) {
            return Frame::error(errors::SYNTAX);
        }
        for pair in options.chunks(2) {
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            match pair[0].to_ascii_lowercase().as_slice() {
                b"id" => match value.parse::<u64>() {
                    Ok(id) if id > 0 => filter.id = Some(id),
                    _ => return Frame::error("ERR client-id should be greater than 0"),
                },
                b"addr" => filter.addr = Some(value),
                b"laddr" => filter.laddr = Some(value),
                b"skipme" => match value.to_ascii_lowercase().as_str() {
                    "yes" => filter.skip = Some(conn.id),
                    "no" => filter.skip = None,
                    _ => return Frame::error(errors::SYNTAX),
                },
                b"type" => match ClientKind::parse(&value) {
                    Some(kind) => filter.kind = Some(kind),
                    None => {
                        return Frame::error_owned(format!("ERR Unknown client type '{value}'"))
                    }
                },
                b"user" => {
                    if value != "default" {
                        filter.id = Some(0);
                    }
                }
                _ => return Frame::error(errors::SYNTAX),
            }
        }
    }
    if let Some(addr) = filter.addr.as_ref().or(filter.laddr.as_ref()) {
        if addr.parse::<SocketAddr>().is_err() && old_style {
            return Frame::error(damselfly_protocol::errors::NO_SUCH_CLIENT);
        }
    }
    let outputs = conn
        .ctx
        .run_everywhere(|_| {
            let filter = filter.clone();
            move |shard: &mut Shard| shard.clients.kill(&|info| filter.matches(info))
        })
        .await;
    let killed: i64 = outputs.into_iter().flatten().sum();
    if old_style {
        if killed == 0 {
            Frame::error(damselfly_protocol::errors::NO_SUCH_CLIENT)
        } else {
            Frame::OK
        }
    } else {
        Frame::Integer(killed)
    }
}
