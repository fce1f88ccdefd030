//! Inputs that once could hurt the server: hostile arguments, error text that quotes the client,
//! and the rules for clients that still have to authenticate. Each case checks the server survives.
mod common;

use common::*;

/// DEBUG arguments that would panic or abort without bounds checks (damselfly enables DEBUG by default).
#[test]
fn hostile_debug_arguments_are_rejected() {
    if against_redis() {
        return; // redis-server would really sleep forever or allocate the value.
    }
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("DEBUG SLEEP inf", err("ERR value is not a valid float"));
        r.check("DEBUG SLEEP 1e300", err("ERR value is not a valid float"));
        r.check("DEBUG SLEEP nope", err("ERR value is not a valid float"));
        r.check(
            "DEBUG POPULATE 1 key 9223372036854775807",
            err("ERR value is out of range, must be positive"),
        );
        r.check("DEBUG SLEEP 0", ok());
        r.check("PING", status("PONG"));
    });
}

/// Error replies that quote client bytes turn CR and LF into spaces, so they cannot forge replies.
#[test]
fn error_text_cannot_break_the_reply_stream() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let reply = r.cmd(&["CLIENT", "x\r\n+OK"]);
        assert_eq!(
            reply,
            err("ERR unknown subcommand 'x  +OK'. Try CLIENT HELP.")
        );
        let reply = r.cmd(&["NOSUCH\r\n", "a\nb"]);
        assert_eq!(
            reply,
            err("ERR unknown command 'NOSUCH  ', with args beginning with: 'a b' ")
        );
        r.check("PING", status("PONG"));
    });
}

/// Redis checks arity before authentication, and applies its unauthenticated limits per command, so AUTH
/// followed by a long command in the same packet works.
#[test]
fn authentication_order_and_limits() {
    with_servers(&["--requirepass", "sekret"], |s| {
        let mut r = s.raw();
        r.check(
            "GET",
            err("ERR wrong number of arguments for 'get' command"),
        );
        r.check("GET k", err("NOAUTH Authentication required."));
        let mut mset = vec!["MSET".to_string()];
        for i in 0..20 {
            mset.push(format!("k{i}"));
            mset.push(format!("v{i}"));
        }
        let mut packet = encode_cmd(&["AUTH", "sekret"]);
        packet.extend(encode_cmd(&mset));
        packet.extend(encode_cmd(&["GET", "k19"]));
        r.send(&packet).unwrap();
        assert_eq!(r.read_replies(3), vec![ok(), ok(), bulk("v19")]);
    });
}
