//! Malformed input on a raw socket: the exact error Redis sends, whether the
//! connection is closed, and that the server (other connections, data) is
//! unaffected afterwards.
mod common;

use common::*;

/// A fresh connection still works and the sentinel key is intact.
#[track_caller]
fn assert_healthy(s: &Server) {
    let mut r = s.raw();
    r.check("PING", status("PONG"));
    r.check("GET sentinel", bulk("alive"));
    let next = r_probe_next(&mut r);
    r.check("INCR probe", int(next));
}

/// INCR probe must keep counting: read the current value first.
fn r_probe_next(r: &mut Raw) -> i64 {
    match r.run("GET probe") {
        Reply::NilBulk => 1,
        v => v.as_string().parse::<i64>().unwrap() + 1,
    }
}

fn server() -> impl Iterator<Item = Server> {
    thread_counts().into_iter().map(|t| {
        let s = Server::start(t, &[]);
        s.raw().check("SET sentinel alive", ok());
        s
    })
}

/// Sends `input` on a new connection and expects exactly `error` followed by
/// the server closing the connection.
#[track_caller]
fn expect_error_and_close(s: &Server, input: &[u8], error: &str) {
    let mut r = s.raw();
    // The server may close before reading everything we send.
    let _ = r.send(input);
    match r.read_reply_or_close() {
        ReadEnd::Reply(reply) => assert_eq!(reply, err(error), "reply to {:?}", preview(input)),
        ReadEnd::Closed => panic!("closed without an error reply for {:?}", preview(input)),
    }
    r.expect_closed();
    assert_healthy(s);
}

fn preview(input: &[u8]) -> String {
    let s = String::from_utf8_lossy(&input[..input.len().min(60)]).into_owned();
    if input.len() > 60 {
        format!("{s}... ({} bytes)", input.len())
    } else {
        s
    }
}

#[test]
fn invalid_multibulk_length() {
    for s in server() {
        let e = "ERR Protocol error: invalid multibulk length";
        expect_error_and_close(&s, b"*abc\r\n", e);
        expect_error_and_close(&s, b"*3000000000\r\n", e);
        expect_error_and_close(&s, b"*1x\r\n", e);
    }
}

#[test]
fn invalid_bulk_length() {
    for s in server() {
        let e = "ERR Protocol error: invalid bulk length";
        expect_error_and_close(&s, b"*1\r\n$999999999999\r\n", e);
        expect_error_and_close(&s, b"*1\r\n$-1\r\n", e);
        expect_error_and_close(&s, b"*2\r\n$3\r\nGET\r\n$a\r\n", e);
        // Just over the 512 MB proto-max-bulk-len.
        expect_error_and_close(&s, b"*1\r\n$536870913\r\n", e);
    }
}

#[test]
fn expected_dollar() {
    for s in server() {
        expect_error_and_close(
            &s,
            b"*1\r\n+PING\r\n",
            "ERR Protocol error: expected '$', got '+'",
        );
        expect_error_and_close(
            &s,
            b"*2\r\n$4\r\nECHO\r\n:5\r\n",
            "ERR Protocol error: expected '$', got ':'",
        );
    }
}

#[test]
fn too_big_requests() {
    for s in server() {
        let line = vec![b'a'; 100 * 1024];
        expect_error_and_close(&s, &line, "ERR Protocol error: too big inline request");
        let mut mbulk = b"*".to_vec();
        mbulk.extend(vec![b'1'; 70_000]);
        expect_error_and_close(&s, &mbulk, "ERR Protocol error: too big mbulk count string");
        let mut bulk_count = b"*1\r\n$".to_vec();
        bulk_count.extend(vec![b'1'; 70_000]);
        expect_error_and_close(
            &s,
            &bulk_count,
            "ERR Protocol error: too big bulk count string",
        );
    }
}

#[test]
fn unbalanced_quotes_inline() {
    for s in server() {
        let e = "ERR Protocol error: unbalanced quotes in request";
        expect_error_and_close(&s, b"PING \"unbalanced\r\n", e);
        expect_error_and_close(&s, b"SET 'a b\r\n", e);
        // A closing quote must be followed by a space.
        expect_error_and_close(&s, b"PING \"a\"b\r\n", e);
    }
}

#[test]
fn earlier_commands_in_the_same_packet_still_run() {
    for s in server() {
        let mut r = s.raw();
        r.send(b"SET before 1\r\nINCR before\r\n*abc\r\nSET after 1\r\n")
            .unwrap();
        assert_eq!(r.read_reply(), ok());
        assert_eq!(r.read_reply(), int(2));
        assert_eq!(
            r.read_reply(),
            err("ERR Protocol error: invalid multibulk length")
        );
        r.expect_closed();
        let mut r = s.raw();
        r.check("GET before", bulk("2"));
        r.check("EXISTS after", int(0));
        assert_healthy(&s);
    }
}

#[test]
fn negative_and_zero_multibulk_are_ignored() {
    for s in server() {
        let mut r = s.raw();
        // Redis silently ignores "*-5" and "*0": no reply, connection open.
        r.send(b"*-5\r\n").unwrap();
        r.send(b"*0\r\nPING\r\n").unwrap();
        assert_eq!(r.read_reply(), status("PONG"));
        r.send(b"*-1\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(r.read_reply(), status("PONG"));
        // Empty inline lines are ignored too.
        r.send(b"\r\n\r\n\nPING\r\n").unwrap();
        assert_eq!(r.read_reply(), status("PONG"));
        assert!(r.pending().is_empty());
        assert_healthy(&s);
    }
}

#[test]
fn unknown_command() {
    for s in server() {
        let mut r = s.raw();
        r.check(
            "foo a",
            err("ERR unknown command 'foo', with args beginning with: 'a' "),
        );
        r.check(
            "foo",
            err("ERR unknown command 'foo', with args beginning with: "),
        );
        r.check(
            "FOO a b",
            err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' "),
        );
        // Inline form gives the same reply.
        assert_eq!(
            r.inline("foo a"),
            err("ERR unknown command 'foo', with args beginning with: 'a' ")
        );
        // Long names and argument lists are cut at 128 characters.
        let name = "f".repeat(200);
        assert_eq!(
            r.cmd(&[name.as_str()]),
            err(&format!(
                "ERR unknown command '{}', with args beginning with: ",
                "f".repeat(128)
            ))
        );
        let long_arg = "a".repeat(300);
        assert_eq!(
            r.cmd(&["foo", &long_arg, "b"]),
            err(&format!(
                "ERR unknown command 'foo', with args beginning with: '{}' ",
                "a".repeat(128)
            ))
        );
        let many =
            "foo a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh";
        r.check(
            many,
            err("ERR unknown command 'foo', with args beginning with: 'a' 'b' 'c' 'd' 'e' 'f' 'g' 'h' 'i' 'j' 'k' 'l' 'm' 'n' 'o' 'p' 'q' 'r' 's' 't' 'u' 'v' 'w' 'x' 'y' 'z' 'aa' 'bb' 'cc' 'dd' 'ee' "),
        );
        r.check_cmd(
            &[""],
            err("ERR unknown command '', with args beginning with: "),
        );
        // The connection stays usable.
        r.check("PING", status("PONG"));
        assert_healthy(&s);
    }
}

#[test]
fn wrong_arity() {
    for s in server() {
        let mut r = s.raw();
        for (line, cmd) in [
            ("GET", "get"),
            ("GET a b", "get"),
            ("SET a", "set"),
            ("MSET a", "mset"),
            ("ECHO", "echo"),
            ("PING a b", "ping"),
            ("DBSIZE x", "dbsize"),
            ("INCRBY a", "incrby"),
            ("EXPIRE a", "expire"),
            ("SELECT", "select"),
        ] {
            r.check(line, arity_err(cmd));
        }
        // The name in the message is lower-cased.
        r.check("gEt", arity_err("get"));
        r.check("PING", status("PONG"));
        assert_healthy(&s);
    }
}

#[test]
fn inline_commands_with_quotes() {
    for s in server() {
        let mut r = s.raw();
        assert_eq!(r.inline("SET \"q k\" \"v\\x41\\n\\t\""), ok());
        r.check_cmd(&["GET", "q k"], bulk("vA\n\t"));
        assert_eq!(r.inline("SET 'a b' 'c \"d\"'"), ok());
        r.check_cmd(&["GET", "a b"], bulk("c \"d\""));
        assert_eq!(r.inline("GET   'a b'  "), bulk("c \"d\""));
        // Bare \n line terminator works for inline commands.
        r.send(b"PING\n").unwrap();
        assert_eq!(r.read_reply(), status("PONG"));
        assert_eq!(r.inline("ECHO \"\""), bulk(""));
    }
}

#[test]
fn binary_safe_multibulk() {
    for s in server() {
        let mut r = s.raw();
        let key: Vec<u8> = (0u8..=255).collect();
        let val: Vec<u8> = (0u8..=255).rev().cycle().take(10_000).collect();
        r.check_cmd(&[b"SET".to_vec(), key.clone(), val.clone()], ok());
        r.check_cmd(&[b"GET".to_vec(), key.clone()], bulk(&val));
        r.check_cmd(&[b"STRLEN".to_vec(), key], int(10_000));
    }
}

#[test]
fn client_closing_mid_command_does_not_hurt() {
    for s in server() {
        let mut r = s.raw();
        r.send(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nonly-some")
            .unwrap();
        r.shutdown_write();
        r.expect_closed();
        drop(r);
        let mut r = s.raw();
        r.check("EXISTS half", int(0));
        assert_healthy(&s);
    }
}
