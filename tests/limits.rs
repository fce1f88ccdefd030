//! Client limits end to end: maxclients (and its fit to the open files limit), timeout,
//! tcp-keepalive, proto-max-bulk-len and client-query-buffer-limit. Expectations are Redis
//! 7.0.15's (`DAMSELFLY_TEST_AGAINST_REDIS=1` runs them against redis-server).
mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// CONFIG GET of one parameter, as its value.
fn config_get(r: &mut Raw, name: &str) -> String {
    let reply = r.cmd(&["CONFIG", "GET", name]);
    let pair = reply.as_strings();
    assert_eq!(pair.len(), 2, "CONFIG GET {name}: {reply:?}");
    pair[1].clone()
}

fn config_set_error(name: &str, reason: &str) -> Reply {
    err(&format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    ))
}

/// A connection that answered PING, so the server has admitted it.
fn admitted(server: &Server) -> Raw {
    let mut r = Raw::connect(&server.addr());
    r.check("PING", status("PONG"));
    r
}

/// What a new connection gets: the refusal line and a close, or a PONG.
fn try_connect(server: &Server) -> Result<Raw, String> {
    let mut r = Raw::connect(&server.addr());
    if r.send(b"PING\r\n").is_err() {
        return Err("refused before PING".to_string());
    }
    match r.read_reply_or_close() {
        ReadEnd::Reply(reply) if reply == status("PONG") => Ok(r),
        ReadEnd::Reply(reply) => {
            let refusal = format!("{reply:?}");
            assert_eq!(reply, err("ERR max number of clients reached"));
            r.expect_closed();
            Err(refusal)
        }
        ReadEnd::Closed => Err("closed without a reply".to_string()),
    }
}

#[test]
fn maxclients_refuses_connections_past_the_limit_and_counts_them() {
    with_servers(&["--maxclients", "3"], |server| {
        let mut first = admitted(server);
        // The harness's readiness probe may still hold a place until the server sees it close.
        wait_for(
            "only this client connected",
            Duration::from_secs(10),
            || {
                (info_field_of(&mut first, "clients", "connected_clients").as_deref() == Some("1"))
                    .then_some(())
            },
        );
        let _second = admitted(server);
        let third = admitted(server);
        assert!(try_connect(server).is_err(), "a 4th client was admitted");
        assert_eq!(
            info_field_of(&mut first, "stats", "rejected_connections").as_deref(),
            Some("1")
        );
        assert_eq!(
            info_field_of(&mut first, "clients", "maxclients").as_deref(),
            Some("3")
        );
        assert_eq!(config_get(&mut first, "maxclients"), "3");

        // A closed client gives its place back.
        drop(third);
        let _replacement = wait_for("a place to free up", Duration::from_secs(10), || {
            try_connect(server).ok()
        });
        assert!(try_connect(server).is_err());

        // Raising the limit admits more at once; a lower one refuses new clients only.
        first.check("CONFIG SET maxclients 4", ok());
        let _fourth = try_connect(server).expect("a 4th client under maxclients 4");
        first.check("CONFIG SET maxclients 1", ok());
        assert!(try_connect(server).is_err());
        first.check("PING", status("PONG"));
    });
}

#[test]
fn config_set_validates_client_limits_like_redis() {
    with_servers(&[], |server| {
        let mut r = admitted(server);
        let cases = [
            (
                "maxclients",
                "0",
                "argument must be between 1 and 4294967295 inclusive",
            ),
            (
                "maxclients",
                "abc",
                "argument couldn't be parsed into an integer",
            ),
            (
                "timeout",
                "-1",
                "argument must be between 0 and 2147483647 inclusive",
            ),
            (
                "timeout",
                "abc",
                "argument couldn't be parsed into an integer",
            ),
            (
                "tcp-keepalive",
                "-1",
                "argument must be between 0 and 2147483647 inclusive",
            ),
            (
                "client-query-buffer-limit",
                "100",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
            (
                "proto-max-bulk-len",
                "100",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ];
        for (name, value, reason) in cases {
            r.check_cmd(
                &["CONFIG", "SET", name, value],
                config_set_error(name, reason),
            );
        }
        let defaults = [
            ("maxclients", "10000"),
            ("timeout", "0"),
            ("tcp-keepalive", "300"),
            ("proto-max-bulk-len", "536870912"),
            ("client-query-buffer-limit", "1073741824"),
        ];
        for (name, value) in defaults {
            assert_eq!(config_get(&mut r, name), value, "{name}");
        }
        for (name, value, shown) in [
            ("timeout", "30", "30"),
            ("tcp-keepalive", "60", "60"),
            ("client-query-buffer-limit", "2mb", "2097152"),
            ("proto-max-bulk-len", "3mb", "3145728"),
        ] {
            r.check_cmd(&["CONFIG", "SET", name, value], ok());
            assert_eq!(config_get(&mut r, name), shown, "{name}");
        }
    });
}

/// The number in "maxclients has been reduced to N" of a server log.
fn reduced_maxclients(log: &str) -> Option<u64> {
    let (_, rest) = log.split_once("maxclients has been reduced to ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_low_open_files_limit_lowers_maxclients_with_redis_warnings() {
    for_each_thread_count(|threads| {
        let server = Server::start_with_open_files_limit(threads, 100, &[]);
        let log = server.log_text();
        for line in [
            "You requested maxclients of 10000 requiring at least 10032 max file descriptors.",
            "Server can't set maximum open files to 10032 because of OS error: ",
            "Current maximum open files is ",
        ] {
            assert!(log.contains(line), "missing {line:?} in the log:\n{log}");
        }
        // Unprivileged, the limit stays 100 (68 clients); with CAP_SYS_RESOURCE it may rise.
        let reduced = reduced_maxclients(&log).expect("the reduced maxclients in the log");
        assert!(reduced < 10_000, "{log}");
        let mut r = admitted(&server);
        assert_eq!(config_get(&mut r, "maxclients"), reduced.to_string());
        assert_eq!(
            info_field_of(&mut r, "clients", "maxclients"),
            Some(reduced.to_string())
        );
        if reduced == 68 {
            r.check(
                "CONFIG SET maxclients 20000",
                config_set_error(
                    "maxclients",
                    "The operating system is not able to handle the specified number of clients, try with 68",
                ),
            );
            assert_eq!(config_get(&mut r, "maxclients"), "68");
        }
        r.check("CONFIG SET maxclients 10", ok());
        assert_eq!(config_get(&mut r, "maxclients"), "10");
    });
}

#[test]
fn an_open_files_limit_too_low_for_one_client_stops_the_start() {
    let binary = if against_redis() {
        "redis-server".to_string()
    } else {
        env!("CARGO_BIN_EXE_damselfly").to_string()
    };
    let port = free_port().to_string();
    let (status, output) = run_to_exit(
        Command::new("prlimit")
            .arg("--nofile=32:32")
            .arg(binary)
            .args(["--port", &port, "--bind", "127.0.0.1"]),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "{output}");
    assert!(
        output.contains("Your current 'ulimit -n' of 32 is not enough for the server to start. Please increase your open file limit to at least 10032. Exiting."),
        "{output}"
    );
}

#[test]
fn timeout_closes_idle_normal_clients_but_not_subscribers_or_blocked_ones() {
    with_servers(&["--timeout", "1"], |server| {
        let mut subscriber = admitted(server);
        subscriber.check_cmd(
            &["SUBSCRIBE", "news"],
            arr(vec![bulk("subscribe"), bulk("news"), int(1)]),
        );
        let mut blocked = admitted(server);
        blocked
            .send(&encode_cmd(&["BLPOP", "queue", "0"]))
            .expect("BLPOP");
        let mut idle = admitted(server);
        let last_command = Instant::now();
        assert_eq!(idle.read_reply_or_close(), ReadEnd::Closed);
        let idle_for = last_command.elapsed();
        assert!(
            idle_for >= Duration::from_secs(1),
            "closed after {idle_for:?}"
        );

        // Both connected before the idle client and sent nothing since: still served.
        subscriber.check_cmd(&["PING"], arr(vec![bulk("pong"), bulk("")]));
        let mut pusher = admitted(server);
        pusher.check("RPUSH queue job", int(1));
        assert_eq!(blocked.read_reply(), arr(vec![bulk("queue"), bulk("job")]));
        assert_eq!(config_get(&mut pusher, "timeout"), "1");
        pusher.check("CONFIG SET timeout 0", ok());
    });
}

/// The keepalive timer of the server's end of each connection to `port`: for every established
/// socket whose local port is `port`, (timer kind, ticks until it fires) from /proc/net/tcp
/// (kind 2 is the keepalive timer).
fn server_socket_timers(port: u16) -> Vec<(u32, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit_once(':')?.1;
            let established = *fields.get(3)? == "01";
            if u16::from_str_radix(local_port, 16).ok()? != port || !established {
                return None;
            }
            let (kind, when) = fields.get(5)?.split_once(':')?;
            Some((kind.parse().ok()?, u64::from_str_radix(when, 16).ok()?))
        })
        .collect()
}

#[test]
fn tcp_keepalive_probes_client_sockets_after_the_configured_seconds() {
    with_servers(&["--tcp-keepalive", "7"], |server| {
        let mut r = admitted(server);
        let timers = server_socket_timers(server.port);
        assert_eq!(timers.len(), 1, "{timers:?}");
        let (kind, ticks) = timers[0];
        assert_eq!(kind, 2, "no keepalive timer: {timers:?}");
        // Clock ticks (USER_HZ, 100 on Linux): the first probe is due within 7 seconds.
        assert!(ticks <= 700, "{ticks} ticks");

        r.check("CONFIG SET tcp-keepalive 0", ok());
        drop(r);
        let _later = admitted(server);
        let timers = wait_for("one server socket", Duration::from_secs(10), || {
            let timers = server_socket_timers(server.port);
            (timers.len() == 1).then_some(timers)
        });
        assert_eq!(timers[0].0, 0, "a keepalive timer with tcp-keepalive 0");
    });
}

#[test]
fn proto_max_bulk_len_bounds_request_bulks_and_built_strings() {
    with_servers(&["--proto-max-bulk-len", "1mb"], |server| {
        let mut r = admitted(server);
        assert_eq!(config_get(&mut r, "proto-max-bulk-len"), "1048576");
        r.check("SETRANGE s 1048575 x", int(1_048_576));
        r.check(
            "SETRANGE s 1048576 x",
            err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"),
        );
        r.check(
            "SETBIT b 8388608 1",
            err("ERR bit offset is not an integer or out of range"),
        );
        r.check("SETBIT b 8388607 1", int(0));

        let mut sender = admitted(server);
        sender
            .send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n")
            .expect("header");
        assert_eq!(
            sender.read_reply(),
            err("ERR Protocol error: invalid bulk length")
        );
        sender.expect_closed();

        r.check("CONFIG SET proto-max-bulk-len 2mb", ok());
        r.check("SETRANGE s 1048576 x", int(1_048_577));
        let value = "v".repeat(1_048_577);
        r.check_cmd(&["SET", "k", value.as_str()], ok());
        r.check("STRLEN k", int(1_048_577));
    });
}

#[test]
fn client_query_buffer_limit_closes_a_client_with_too_much_unparsed_input() {
    with_servers(&["--client-query-buffer-limit", "1mb"], |server| {
        let mut other = admitted(server);
        let under_limit = "u".repeat(900_000);
        other.check_cmd(&["SET", "small", under_limit.as_str()], ok());

        let mut flooder = admitted(server);
        flooder
            .send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
            .expect("header");
        // The server closes the connection once it holds more than 1 MB of the value.
        for _ in 0..40 {
            if flooder.send(&[b'a'; 50_000]).is_err() {
                break;
            }
        }
        assert_eq!(flooder.read_reply_or_close(), ReadEnd::Closed);
        let log = wait_for("the closing to be logged", Duration::from_secs(10), || {
            let log = server.log_text();
            log.contains("Closing client that reached max query buffer length: id=")
                .then_some(log)
        });
        assert!(log.contains("(qbuf initial bytes: \"aaaaaaaa"), "{log}");
        other.check("EXISTS k", int(0));
        other.check("STRLEN small", int(900_000));
        assert_eq!(
            config_get(&mut other, "client-query-buffer-limit"),
            "1048576"
        );
    });
}

#[test]
fn client_limits_come_from_the_config_file() {
    if against_redis() {
        return;
    }
    let dir = scratch_dir("limits-config");
    let path = dir.join("redis.conf");
    std::fs::write(
        &path,
        "maxclients 50\ntimeout 30\ntcp-keepalive 60\nproto-max-bulk-len 2mb\nclient-query-buffer-limit 3mb\n",
    )
    .expect("write config");
    for_each_thread_count(|threads| {
        let server = Server::start_damselfly_with_config(threads, &path, &[]);
        let mut r = admitted(&server);
        for (name, value) in [
            ("maxclients", "50"),
            ("timeout", "30"),
            ("tcp-keepalive", "60"),
            ("proto-max-bulk-len", "2097152"),
            ("client-query-buffer-limit", "3145728"),
        ] {
            assert_eq!(config_get(&mut r, name), value, "{name}");
        }
    });
}
