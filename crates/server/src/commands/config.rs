//! CONFIG GET / SET / RESETSTAT / REWRITE.

use super::handler::Now;
use super::{bulk_str, unknown_subcommand, wrong_arity};
use crate::config::{parse_yes_no, ClientLimit};
use crate::connection::Connection;
use crate::replication_state::Role;
use crate::units::parse_memory;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::glob_match;
use damselfly_storage::spec::{flag::*, Arg, CommandDef, Run};
use std::sync::atomic::Ordering;

/// CONFIG and its subcommands.
const CONFIG_HANDLER: Run = Run::Connection(&Now(run));

/// The config commands.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::new("config", -2, CONFIG_HANDLER)
    .doc(
        "server",
        "2.0.0",
        "Depends on subcommand.",
        "A container for server configuration commands",
    )
    .subcommands(&[
        CommandDef::subcommand("config|get", -3, CONFIG_HANDLER)
            .flags(ADMIN | NOSCRIPT | LOADING | STALE)
            .doc(
                "server",
                "2.0.0",
                "O(N) when N is the number of configuration parameters provided",
                "Get the values of configuration parameters",
            )
            .history(&[(
                "7.0.0",
                "Added the ability to pass multiple pattern parameters in one call",
            )])
            .args(&[Arg::block("parameter", &[Arg::string("parameter")]).multiple()]),
        CommandDef::subcommand("config|help", 2, CONFIG_HANDLER)
            .flags(LOADING | STALE)
            .doc(
                "server",
                "5.0.0",
                "O(1)",
                "Show helpful text about the different subcommands",
            ),
        CommandDef::subcommand("config|resetstat", 2, CONFIG_HANDLER)
            .flags(ADMIN | NOSCRIPT | LOADING | STALE)
            .doc(
                "server",
                "2.0.0",
                "O(1)",
                "Reset the stats returned by INFO",
            ),
        CommandDef::subcommand("config|rewrite", 2, CONFIG_HANDLER)
            .flags(ADMIN | NOSCRIPT | LOADING | STALE)
            .doc(
                "server",
                "2.8.0",
                "O(1)",
                "Rewrite the configuration file with the in memory configuration",
            ),
        CommandDef::subcommand("config|set", -4, CONFIG_HANDLER)
            .flags(ADMIN | NOSCRIPT | LOADING | STALE)
            .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
            .doc(
                "server",
                "2.0.0",
                "O(N) when N is the number of configuration parameters provided",
                "Set configuration parameters to the given values",
            )
            .history(&[(
                "7.0.0",
                "Added the ability to set multiple parameters in one call.",
            )])
            .args(&[Arg::block(
                "parameter_value",
                &[Arg::string("parameter"), Arg::string("value")],
            )
            .multiple()]),
    ])];

pub fn run(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if args.len() >= 3 => get(conn, &args[2..]),
        b"set" if args.len() >= 4 && args.len().is_multiple_of(2) => set(conn, &args[2..]),
        b"resetstat" if args.len() == 2 => Frame::OK,
        b"rewrite" if args.len() == 2 => {
            Frame::error("ERR The server is running without a config file")
        }
        b"get" | b"set" | b"resetstat" | b"rewrite" => {
            wrong_arity(&format!("config|{}", String::from_utf8_lossy(&sub)))
        }
        b"help" => Frame::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "SET <directive> <value>",
                "RESETSTAT",
                "REWRITE",
                "HELP",
            ]
            .iter()
            .map(|line| Frame::simple(line))
            .collect(),
        ),
        _ => unknown_subcommand(args),
    }
}

/// Every parameter CONFIG GET knows, with its current value.
fn parameters(conn: &Connection) -> Vec<(&'static str, String)> {
    let mut parameters = fixed_parameters(conn);
    for threshold in damselfly_storage::config::ALL {
        let value = threshold.get().to_string();
        parameters.extend(threshold.alias.map(|alias| (alias, value.clone())));
        parameters.push((threshold.name, value));
    }
    parameters
}

fn fixed_parameters(conn: &Connection) -> Vec<(&'static str, String)> {
    let shared = &conn.ctx.shared;
    let config = &shared.config;
    let runtime = shared.runtime();
    let yes_no = |value: bool| if value { "yes" } else { "no" }.to_string();
    let replicaof = match &shared.repl.state().role {
        Role::Replica { host, port } => format!("{host} {port}"),
        Role::Primary => String::new(),
    };
    let read_only = shared.repl.read_only.load(Ordering::Relaxed);
    let limits = &shared.client_limits;
    let min_replicas = &shared.repl.min_replicas;
    let to_write = min_replicas.to_write.load(Ordering::Relaxed).to_string();
    let max_lag = min_replicas.max_lag.load(Ordering::Relaxed).to_string();
    let ping_period = shared.repl.ping_period_secs().to_string();
    let priority = shared.repl.priority.load(Ordering::Relaxed).to_string();
    let announced = yes_no(shared.repl.announced.load(Ordering::Relaxed));
    vec![
        ("port", config.port.to_string()),
        ("bind", config.bind.join(" ")),
        (
            "requirepass",
            runtime.requirepass.clone().unwrap_or_default(),
        ),
        ("databases", config.databases.to_string()),
        ("maxmemory", runtime.maxmemory.to_string()),
        ("maxmemory-policy", "noeviction".to_string()),
        ("save", runtime.save.clone()),
        ("appendonly", "no".to_string()),
        ("dir", config.dir.clone()),
        ("dbfilename", config.dbfilename.clone()),
        ("loglevel", runtime.loglevel.clone()),
        ("logfile", config.logfile.clone().unwrap_or_default()),
        ("protected-mode", yes_no(runtime.protected_mode)),
        ("timeout", limits.timeout().to_string()),
        ("tcp-keepalive", limits.tcp_keepalive().to_string()),
        ("hz", "10".to_string()),
        ("maxclients", limits.maxclients().to_string()),
        ("threads", shared.shards.to_string()),
        ("io-threads", "1".to_string()),
        (
            "client-query-buffer-limit",
            limits.query_buffer_limit().to_string(),
        ),
        ("client-output-buffer-limit", shared.output_limits.render()),
        ("replicaof", replicaof),
        ("masterauth", config.masterauth.clone().unwrap_or_default()),
        ("replica-read-only", yes_no(read_only)),
        ("slave-read-only", yes_no(read_only)),
        ("repl-timeout", config.repl_timeout_secs.to_string()),
        ("repl-ping-replica-period", ping_period.clone()),
        ("repl-ping-slave-period", ping_period),
        ("repl-backlog-size", config.repl_backlog_size.to_string()),
        ("repl-backlog-ttl", config.repl_backlog_ttl_secs.to_string()),
        ("min-replicas-to-write", to_write.clone()),
        ("min-slaves-to-write", to_write),
        ("min-replicas-max-lag", max_lag.clone()),
        ("min-slaves-max-lag", max_lag),
        ("replica-priority", priority.clone()),
        ("slave-priority", priority),
        ("replica-announced", announced),
        (
            "replica-announce-ip",
            runtime.replica_announce_ip.clone().unwrap_or_default(),
        ),
        (
            "slave-announce-ip",
            runtime.replica_announce_ip.clone().unwrap_or_default(),
        ),
        (
            "replica-announce-port",
            runtime.replica_announce_port.to_string(),
        ),
        (
            "slave-announce-port",
            runtime.replica_announce_port.to_string(),
        ),
    ]
}

fn get(conn: &Connection, patterns: &[Bytes]) -> Frame {
    let mut pairs = Vec::new();
    for (name, value) in parameters(conn) {
        // A pattern without glob characters is echoed as the client spelled it, as Redis does.
        let matched = patterns
            .iter()
            .find(|pattern| glob_match(pattern, name.as_bytes(), true));
        if let Some(pattern) = matched {
            let shown = if pattern.iter().any(|b| b"*?[".contains(b)) {
                bulk_str(name)
            } else {
                Frame::Bulk(Bytes::clone(pattern))
            };
            pairs.push((shown, bulk_str(&value)));
        }
    }
    Frame::Map(pairs)
}

/// One validated CONFIG SET assignment, applied only once every pair has been validated.
type Change = Box<dyn FnOnce(&mut crate::shared::RuntimeConfig)>;

/// A validated change of maxclients, timeout, tcp-keepalive or client-query-buffer-limit. Raising
/// maxclients first raises the open files limit, as Redis does, and fails if it cannot.
fn client_limit_change(
    conn: &Connection,
    limit: ClientLimit,
    value: &str,
) -> Result<Change, String> {
    let value = limit.parse(value)?;
    let shared = conn.ctx.shared.clone();
    if limit == ClientLimit::MaxClients && value > shared.client_limits.maxclients() {
        let allowed = crate::open_files::fit_maxclients(value)?;
        if allowed != value {
            return Err(format!("The operating system is not able to handle the specified number of clients, try with {allowed}"));
        }
    }
    Ok(Box::new(move |_| shared.client_limits.set(limit, value)))
}

fn set(conn: &Connection, pairs: &[Bytes]) -> Frame {
    let mut changes: Vec<Change> = Vec::new();
    for pair in pairs.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let failed = |reason: &str| {
            Frame::error_owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
            ))
        };
        if let Some(limit) = ClientLimit::of(&name) {
            match client_limit_change(conn, limit, &value) {
                Ok(change) => changes.push(change),
                Err(reason) => return failed(&reason),
            }
            continue;
        }
        match name.as_str() {
            "requirepass" => changes.push(Box::new(move |c| c.requirepass = (!value.is_empty()).then_some(value))),
            "maxmemory" => match parse_memory(&value) {
                Ok(bytes) => changes.push(Box::new(move |c| c.maxmemory = bytes)),
                Err(_) => return failed("argument couldn't be parsed into an integer"),
            },
            "protected-mode" => match parse_yes_no(&value) {
                Ok(flag) => changes.push(Box::new(move |c| c.protected_mode = flag)),
                Err(_) => return failed("argument must be 'yes' or 'no'"),
            },
            "loglevel" if ["debug", "verbose", "notice", "warning"].contains(&value.as_str()) => {
                changes.push(Box::new(move |c| c.loglevel = value))
            }
            "loglevel" => return failed("argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
            "save" => changes.push(Box::new(move |c| c.save = value)),
            "client-output-buffer-limit" => {
                let words: Vec<&str> = value.split_whitespace().collect();
                match crate::output_limits::parse(&words) {
                    Ok(limits) => {
                        let shared = conn.ctx.shared.clone();
                        changes.push(Box::new(move |_| {
                            for (class, limit) in limits {
                                shared.output_limits.set(class, limit);
                            }
                        }))
                    }
                    Err(reason) => return failed(reason),
                }
            }
            "min-replicas-to-write" | "min-slaves-to-write" | "min-replicas-max-lag"
            | "min-slaves-max-lag" => match value.parse::<i64>() {
                Ok(number) if (0..=i64::from(i32::MAX)).contains(&number) => {
                    let number = number as u64;
                    let shared = conn.ctx.shared.clone();
                    let lag = name.contains("lag");
                    changes.push(Box::new(move |_| {
                        let min_replicas = &shared.repl.min_replicas;
                        let setting = if lag {
                            &min_replicas.max_lag
                        } else {
                            &min_replicas.to_write
                        };
                        setting.store(number, Ordering::Relaxed);
                        shared.repl.refresh_good_replicas();
                    }))
                }
                Ok(_) => return failed("argument must be between 0 and 2147483647 inclusive"),
                Err(_) => return failed("argument couldn't be parsed into an integer"),
            },
            "repl-ping-replica-period" | "repl-ping-slave-period" => match value.parse::<i64>() {
                Ok(seconds) if (1..=i64::from(i32::MAX)).contains(&seconds) => {
                    let shared = conn.ctx.shared.clone();
                    changes.push(Box::new(move |_| {
                        shared.repl.set_ping_period_secs(seconds as u64)
                    }))
                }
                Ok(_) => return failed("argument must be between 1 and 2147483647 inclusive"),
                Err(_) => return failed("argument couldn't be parsed into an integer"),
            },
            "replica-priority" | "slave-priority" => match value.parse::<i64>() {
                Ok(number) if (0..=i64::from(i32::MAX)).contains(&number) => {
                    let shared = conn.ctx.shared.clone();
                    changes.push(Box::new(move |_| {
                        shared.repl.priority.store(number as u64, Ordering::Relaxed)
                    }))
                }
                Ok(_) => return failed("argument must be between 0 and 2147483647 inclusive"),
                Err(_) => return failed("argument couldn't be parsed into an integer"),
            },
            "replica-announce-ip" | "slave-announce-ip" => changes.push(Box::new(move |c| {
                c.replica_announce_ip = (!value.is_empty()).then_some(value)
            })),
            "replica-announce-port" | "slave-announce-port" => match value.parse::<i64>() {
                Ok(port) if (0..=65535).contains(&port) => {
                    changes.push(Box::new(move |c| c.replica_announce_port = port as u16))
                }
                Ok(_) => return failed("argument must be between 0 and 65535 inclusive"),
                Err(_) => return failed("argument couldn't be parsed into an integer"),
            },
            "replica-announced" => match parse_yes_no(&value) {
                Ok(flag) => {
                    let shared = conn.ctx.shared.clone();
                    changes.push(Box::new(move |_| {
                        shared.repl.announced.store(flag, Ordering::Relaxed)
                    }))
                }
                Err(_) => return failed("argument must be 'yes' or 'no'"),
            },
            "replica-read-only" | "slave-read-only" => match parse_yes_no(&value) {
                Ok(flag) => {
                    let shared = conn.ctx.shared.clone();
                    changes.push(Box::new(move |_| {
                        shared.repl.read_only.store(flag, Ordering::Relaxed)
                    }))
                }
                Err(_) => return failed("argument must be 'yes' or 'no'"),
            },
            threshold if damselfly_storage::config::find(threshold).is_some() => {
                match crate::config::parse_threshold(threshold, &value) {
                    Ok((threshold, value)) => changes.push(Box::new(move |_| {
                        threshold.set(value);
                    })),
                    Err(reason) => return failed(&reason),
                }
            }
            "appendonly" if value.eq_ignore_ascii_case("no") => {}
            "appendonly" => return failed("appendonly is not supported"),
            "maxmemory-policy" if value.eq_ignore_ascii_case("noeviction") => {}
            "maxmemory-policy" => return failed("only noeviction is supported"),
            "port" | "bind" | "databases" | "dir" | "dbfilename" | "logfile" | "threads" | "io-threads" => {
                return failed("can't set immutable config")
            }
            _ => {
                return Frame::error_owned(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(&pair[0])
                ))
            }
        }
    }
    conn.ctx.shared.update_runtime(|runtime| {
        for change in changes {
            change(runtime);
        }
    });
    Frame::OK
}
