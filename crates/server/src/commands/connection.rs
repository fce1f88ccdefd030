//! PING, SELECT, HELLO, AUTH, RESET, TIME, SHUTDOWN.

use super::handler::{Later, Now};
use super::{bulk_str, not_an_integer, parse_i64, wrong_arity};
use crate::connection::Connection;
use bytes::Bytes;
use damselfly_protocol::errors;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{acl, flag::*, Arg, CommandDef};
use std::time::{SystemTime, UNIX_EPOCH};

/// The connection commands.
pub(crate) static COMMANDS: &[CommandDef] = &[
    CommandDef::connection("ping", -1, &Now(|conn, args| ping(conn, args)))
        .flags(FAST | SUBSCRIBED_CONTEXT)
        .acl(acl::CONNECTION)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("connection", "1.0.0", "O(1)", "Ping the server")
        .args(&[Arg::string("message").optional()]),
    CommandDef::connection("echo", 2, &Now(|_, args| Frame::Bulk(args[1].clone())))
        .flags(LOADING | STALE | FAST)
        .acl(acl::CONNECTION)
        .doc("connection", "1.0.0", "O(1)", "Echo the given string")
        .args(&[Arg::string("message")]),
    CommandDef::connection("quit", -1, &Now(quit))
        .flags(
            NOSCRIPT
                | LOADING
                | STALE
                | FAST
                | NO_AUTH
                | ALLOW_BUSY
                | SUBSCRIBED_CONTEXT
                | NOT_QUEUED,
        )
        .acl(acl::CONNECTION)
        .doc("connection", "1.0.0", "O(1)", "Close the connection"),
    CommandDef::connection("select", 2, &Now(select))
        .flags(LOADING | STALE | FAST)
        .acl(acl::CONNECTION)
        .doc(
            "connection",
            "1.0.0",
            "O(1)",
            "Change the selected database for the current connection",
        )
        .args(&[Arg::integer("index")]),
    CommandDef::connection("hello", -1, &Now(hello))
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(acl::CONNECTION)
        .doc("connection", "6.0.0", "O(1)", "Handshake with Redis")
        .history(&[
            ("6.2.0", "`protover` made optional; when called without arguments the command reports the current connection's context."),
        ])
        .args(&[
            Arg::block("arguments", &[
                Arg::integer("protover"),
                Arg::block("username_password", &[
                    Arg::string("username"),
                    Arg::string("password"),
                ]).token("AUTH").optional(),
                Arg::string("clientname").token("SETNAME").optional(),
            ]).optional(),
        ]),
    CommandDef::connection("auth", -2, &Now(auth))
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(acl::CONNECTION)
        .doc(
            "connection",
            "1.0.0",
            "O(N) where N is the number of passwords defined for the user",
            "Authenticate to the server",
        )
        .history(&[("6.0.0", "Added ACL style (username and password).")])
        .args(&[Arg::string("username").since("6.0.0").optional(), Arg::string("password")]),
    CommandDef::connection("reset", 1, &Later(|conn, _| Box::pin(reset(conn))))
        .flags(
            NOSCRIPT
                | LOADING
                | STALE
                | FAST
                | NO_AUTH
                | ALLOW_BUSY
                | SUBSCRIBED_CONTEXT
                | NOT_QUEUED,
        )
        .acl(acl::CONNECTION)
        .doc("connection", "6.2.0", "O(1)", "Reset the connection"),
    CommandDef::connection("time", 1, &Now(|_, _| time()))
        .flags(LOADING | STALE | FAST)
        .tips(&["nondeterministic_output"])
        .doc("server", "2.6.0", "O(1)", "Return the current server time"),
];

pub fn ping(conn: &Connection, args: &[Bytes]) -> Frame {
    if conn.subscribed() && !conn.resp3 {
        // A subscribed RESP2 client gets its PONG in the shape of a message.
        let payload = args.get(1).cloned().unwrap_or_default();
        return match args.len() {
            1 | 2 => Frame::Array(vec![Frame::bulk("pong"), Frame::Bulk(payload)]),
            _ => wrong_arity("ping"),
        };
    }
    match args.len() {
        1 => Frame::simple("PONG"),
        2 => Frame::Bulk(args[1].clone()),
        _ => wrong_arity("ping"),
    }
}

pub fn select(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let Some(index) = parse_i64(&args[1]) else {
        return not_an_integer();
    };
    if i32::try_from(index).is_err() {
        return Frame::error(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        );
    }
    if index < 0 || index as usize >= conn.ctx.shared.config.databases {
        return Frame::error(damselfly_protocol::errors::DB_OUT_OF_RANGE);
    }
    conn.db = index as usize;
    conn.info.borrow_mut().db = conn.db;
    Frame::OK
}

fn password_matches(conn: &Connection, user: Option<&[u8]>, password: &[u8]) -> bool {
    let user_ok = user.is_none_or(|user| user == b"default");
    match conn.ctx.shared.runtime().requirepass {
        Some(expected) => user_ok && expected.as_bytes() == password,
        None => user_ok,
    }
}

pub fn auth(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let (user, password) = match args.len() {
        2 => (None, &args[1]),
        3 => (Some(&args[1][..]), &args[2]),
        _ => return Frame::error(errors::SYNTAX),
    };
    if user.is_none() && conn.ctx.shared.runtime().requirepass.is_none() {
        return Frame::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if password_matches(conn, user, password) {
        conn.authenticated = true;
        Frame::OK
    } else {
        Frame::error("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

pub fn hello(conn: &mut Connection, args: &[Bytes]) -> Frame {
    let mut version = if conn.resp3 { 3 } else { 2 };
    let mut rest = args[1..].iter();
    if let Some(requested) = rest.next() {
        match parse_i64(requested) {
            Some(v @ 2..=3) => version = v,
            Some(_) => return Frame::error("NOPROTO unsupported protocol version"),
            None => return Frame::error("ERR Protocol version is not an integer or out of range"),
        }
    }
    let mut name = None;
    while let Some(option) = rest.next() {
        if option.eq_ignore_ascii_case(b"auth") {
            let (Some(user), Some(password)) = (rest.next(), rest.next()) else {
                return Frame::error_owned(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(option)
                ));
            };
            if !password_matches(conn, Some(user), password) {
                return Frame::error(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                );
            }
            conn.authenticated = true;
        } else if option.eq_ignore_ascii_case(b"setname") {
            let Some(value) = rest.next() else {
                return Frame::error_owned(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(option)
                ));
            };
            name = Some(value.clone());
        } else {
            return Frame::error_owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            ));
        }
    }
    if !conn.authenticated {
        return Frame::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(name) = name {
        if let Err(error) = super::client::set_name(conn, &name) {
            return error;
        }
    }
    conn.resp3 = version == 3;
    conn.output.set_resp3(conn.resp3);
    conn.info.borrow_mut().resp = version as u8;
    Frame::Map(vec![
        (bulk_str("server"), bulk_str("redis")),
        (bulk_str("version"), bulk_str(crate::REDIS_VERSION)),
        (bulk_str("proto"), Frame::Integer(version)),
        (bulk_str("id"), Frame::Integer(conn.id as i64)),
        (bulk_str("mode"), bulk_str("standalone")),
        (bulk_str("role"), bulk_str("master")),
        (bulk_str("modules"), Frame::Array(Vec::new())),
    ])
}

/// RESET: leaves MULTI, Pub/Sub and WATCH, then the connection's state.
async fn reset(conn: &mut Connection) -> Frame {
    conn.multi = None;
    super::pubsub::unsubscribe_all(conn);
    super::multi::unwatch_all(conn).await;
    conn.db = 0;
    conn.resp3 = false;
    conn.output.set_resp3(false);
    conn.authenticated = conn.ctx.shared.runtime().requirepass.is_none();
    let mut info = conn.info.borrow_mut();
    info.db = 0;
    info.resp = 2;
    info.name.clear();
    Frame::simple("RESET")
}

fn quit(conn: &mut Connection, _: &[Bytes]) -> Frame {
    conn.close_after_reply = true;
    Frame::OK
}

pub fn time() -> Frame {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Frame::Array(vec![
        bulk_str(&now.as_secs().to_string()),
        bulk_str(&now.subsec_micros().to_string()),
    ])
}

/// What SHUTDOWN was asked to do.
pub struct ShutdownRequest {
    pub save: bool,
    pub force: bool,
}

/// Parses SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] as Redis 7.0 does: all options first, then their
/// combinations. With no save points configured (the default), plain SHUTDOWN does not save.
pub fn shutdown_request(conn: &Connection, args: &[Bytes]) -> Result<ShutdownRequest, Frame> {
    let (mut save, mut nosave, mut abort, mut force) = (false, false, false, false);
    for option in &args[1..] {
        let option = option.to_ascii_lowercase();
        match option.as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"abort" => abort = true,
            b"force" => force = true,
            b"now" => {}
            _ => return Err(Frame::error(errors::SYNTAX)),
        }
    }
    if (save && nosave) || (abort && args.len() > 2) {
        return Err(Frame::error(errors::SYNTAX));
    }
    if abort {
        return Err(Frame::error("ERR No shutdown in progress."));
    }
    let configured = !conn.ctx.shared.runtime().save.is_empty();
    Ok(ShutdownRequest {
        save: save || (configured && !nosave),
        force,
    })
}
