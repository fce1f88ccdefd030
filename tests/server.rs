//! Connection and server commands: PING ECHO QUIT HELLO AUTH CLIENT COMMAND
//! CONFIG INFO DBSIZE FLUSHDB FLUSHALL TIME DEBUG SHUTDOWN.
mod common;

use common::*;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn ping_echo_quit() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("PING", status("PONG"));
        r.check("ping", status("PONG"));
        r.check("PING hello", bulk("hello"));
        r.check_cmd(&["PING", ""], bulk(""));
        r.check("ECHO hi", bulk("hi"));
        r.check_cmd(&["ECHO", "a b\r\nc"], bulk("a b\r\nc"));
        r.check("PING a b", arity_err("ping"));
        r.check("ECHO", arity_err("echo"));
        r.check("ECHO a b", arity_err("echo"));
        // QUIT replies OK and closes, even with more commands pipelined.
        r.send(b"QUIT\r\nPING\r\n").unwrap();
        assert_eq!(r.read_reply(), ok());
        r.expect_closed();
        // redis-rs sees the same.
        let mut c = s.client();
        let pong: String = redis::cmd("PING").query(&mut c).unwrap();
        assert_eq!(pong, "PONG");
    });
}

#[test]
fn select_range() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        for db in 0..16 {
            r.check_cmd(&["SELECT", &db.to_string()], ok());
        }
        r.check("SELECT 16", err("ERR DB index is out of range"));
        r.check("SELECT -1", err("ERR DB index is out of range"));
        r.check(
            "SELECT 99999999999",
            err("ERR value is out of range, value must between -2147483648 and 2147483647"),
        );
        r.check("SELECT 1.5", err(NOT_INT));
        r.check("SELECT x", err(NOT_INT));
        // A failed SELECT keeps the previous db (15).
        r.check("SET k v", ok());
        r.check("SELECT 15", ok());
        r.check("GET k", bulk("v"));
        r.check("SELECT 0", ok());
        r.check("GET k", nil());
    });
}

/// Checks the common shape of a HELLO reply given as key/value pairs.
fn check_hello_fields(pairs: &[(Reply, Reply)], proto: i64, id: i64) {
    let keys: Vec<String> = pairs.iter().map(|(k, _)| k.as_string()).collect();
    assert_eq!(
        keys,
        ["server", "version", "proto", "id", "mode", "role", "modules"]
    );
    let get = |name: &str| &pairs.iter().find(|(k, _)| k.as_string() == name).unwrap().1;
    assert!(!get("server").as_string().is_empty());
    let version = get("version").as_string();
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
        "version {version:?}"
    );
    assert_eq!(get("proto"), &int(proto));
    assert_eq!(get("id"), &int(id));
    assert_eq!(get("mode"), &bulk("standalone"));
    assert_eq!(get("role"), &bulk("master"));
    assert_eq!(get("modules"), &arr(vec![]));
}

fn flat_pairs(items: &[Reply]) -> Vec<(Reply, Reply)> {
    assert_eq!(items.len() % 2, 0);
    items
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

#[test]
fn hello() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let id = r.run("CLIENT ID").as_int();
        // HELLO with no version: RESP2 flat array.
        let reply = r.run("HELLO");
        match &reply {
            Reply::Array(items) => {
                assert_eq!(items.len(), 14);
                check_hello_fields(&flat_pairs(items), 2, id);
            }
            other => panic!("HELLO replied {other:?}"),
        }
        let reply = r.run("HELLO 2");
        check_hello_fields(&flat_pairs(reply.as_array()), 2, id);
        r.check("GET nokey", nil());
        // HELLO 3: a RESP3 map, and RESP3 nulls from then on.
        match r.run("HELLO 3") {
            Reply::Map(pairs) => check_hello_fields(&pairs, 3, id),
            other => panic!("HELLO 3 replied {other:?}"),
        }
        r.check("GET nokey", Reply::Null);
        r.check("MGET nokey nokey", arr(vec![Reply::Null, Reply::Null]));
        r.check("SET k v", ok());
        r.check("GET k", bulk("v"));
        r.check("INCR n", int(1));
        let port = s.port.to_string();
        r.check(
            "CONFIG GET port",
            Reply::Map(vec![(bulk("port"), bulk(&port))]),
        );
        // Back to RESP2.
        let reply = r.run("HELLO 2");
        check_hello_fields(&flat_pairs(reply.as_array()), 2, id);
        r.check("GET nokey", nil());
        r.check("CONFIG GET port", Reply::bulks(&["port", &port]));
        // Errors.
        r.check("HELLO 4", err("NOPROTO unsupported protocol version"));
        r.check("HELLO 1", err("NOPROTO unsupported protocol version"));
        r.check(
            "HELLO abc",
            err("ERR Protocol version is not an integer or out of range"),
        );
        r.check("HELLO 3 FOO", err("ERR Syntax error in HELLO option 'FOO'"));
        r.check(
            "HELLO 2 SETNAME",
            err("ERR Syntax error in HELLO option 'SETNAME'"),
        );
        // The failed HELLOs left the connection in RESP2.
        r.check("GET nokey", nil());
        // SETNAME option.
        let reply = r.run("HELLO 3 SETNAME myname");
        assert!(matches!(reply, Reply::Map(_)), "{reply:?}");
        r.check("CLIENT GETNAME", bulk("myname"));
    });
}

#[test]
fn auth_without_password_configured() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check(
            "AUTH x",
            err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
        );
        r.check("AUTH", arity_err("auth"));
        r.check("PING", status("PONG"));
    });
}

#[test]
fn auth_with_requirepass() {
    with_servers(&["--requirepass", "sekret"], |s| {
        let noauth = err("NOAUTH Authentication required.");
        let wrongpass = err("WRONGPASS invalid username-password pair or user is disabled.");
        let mut r = s.raw();
        r.check("PING", noauth.clone());
        r.check("GET a", noauth.clone());
        r.check("SET a 1", noauth.clone());
        r.check("CLIENT ID", noauth.clone());
        r.check("ECHO a", noauth.clone());
        r.check(
            "HELLO 3",
            err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"),
        );
        r.check("AUTH wrong", wrongpass.clone());
        r.check("AUTH default wrong", wrongpass.clone());
        r.check("AUTH nobody sekret", wrongpass.clone());
        r.check("GET a", noauth.clone());
        r.check("AUTH", arity_err("auth"));
        r.check("AUTH sekret", ok());
        r.check("PING", status("PONG"));
        r.check("SET a 1", ok());
        // Username form.
        let mut r2 = s.raw();
        r2.check("AUTH default sekret", ok());
        r2.check("GET a", bulk("1"));
        // HELLO AUTH authenticates and switches protocol at once.
        let mut r3 = s.raw();
        let reply = r3.run("HELLO 3 AUTH default sekret");
        assert!(matches!(reply, Reply::Map(_)), "{reply:?}");
        r3.check("GET nokey", Reply::Null);
        let mut r4 = s.raw();
        r4.check("HELLO 2 AUTH default wrong", wrongpass.clone());
        r4.check("GET a", noauth.clone());
        // QUIT works before authenticating.
        r4.send(b"QUIT\r\n").unwrap();
        assert_eq!(r4.read_reply(), ok());
        r4.expect_closed();
        // A wrong AUTH after a good one does not log the connection out.
        r.check("AUTH bad", wrongpass);
        r.check("GET a", bulk("1"));
        // redis-rs with the password in the URL.
        let mut c = s.client();
        let v: String = redis::cmd("GET").arg("a").query(&mut c).unwrap();
        assert_eq!(v, "1");
    });
}

/// Parses one CLIENT LIST / CLIENT INFO line into field -> value.
fn client_fields(line: &str) -> std::collections::HashMap<String, String> {
    line.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn client_id_name_list_info() {
    with_servers(&[], |s| {
        // Each connection is established (and has its id) before the next
        // one connects, so ids must grow in this order.
        let mut conns: Vec<Raw> = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        for _ in 0..6 {
            let mut c = s.raw();
            ids.push(c.run("CLIENT ID").as_int());
            conns.push(c);
        }
        assert!(ids.iter().all(|&i| i > 0));
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "{ids:?}"
        );
        // Ids grow with connection order.
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let r = &mut conns[0];
        r.check("CLIENT ID", int(ids[0]));
        r.check("CLIENT GETNAME", nil());
        r.check("CLIENT SETNAME conn-zero", ok());
        r.check("CLIENT GETNAME", bulk("conn-zero"));
        let bad = err("ERR Client names cannot contain spaces, newlines or special characters.");
        r.check_cmd(&["CLIENT", "SETNAME", "a b"], bad.clone());
        r.check_cmd(&["CLIENT", "SETNAME", "a\nb"], bad);
        r.check("CLIENT GETNAME", bulk("conn-zero"));
        r.check_cmd(&["CLIENT", "SETNAME", ""], ok());
        r.check("CLIENT GETNAME", nil());
        r.check("CLIENT SETNAME conn-zero", ok());
        conns[3].check("CLIENT SETNAME conn-three", ok());

        // CLIENT INFO describes the calling connection.
        let info = conns[2].run("CLIENT INFO").as_string();
        assert!(info.ends_with('\n'), "{info:?}");
        assert_eq!(info.matches('\n').count(), 1);
        let f = client_fields(info.trim_end());
        assert_eq!(f["id"], ids[2].to_string());
        assert!(f["addr"].starts_with("127.0.0.1:"), "{info}");
        assert_eq!(f["name"], "");
        assert_eq!(f["db"], "0");
        conns[2].check("SELECT 5", ok());
        let f = client_fields(conns[2].run("CLIENT INFO").as_string().trim_end());
        assert_eq!(f["db"], "5");

        // CLIENT LIST shows every connection, whichever thread serves it.
        let list = conns[1].run("CLIENT LIST").as_string();
        assert!(list.ends_with('\n'));
        let lines: Vec<_> = list.lines().map(client_fields).collect();
        for (i, id) in ids.iter().enumerate() {
            let line = lines
                .iter()
                .find(|f| f["id"] == id.to_string())
                .unwrap_or_else(|| {
                    panic!("client {i} (id {id}) missing from CLIENT LIST:\n{list}")
                });
            let expect_name = match i {
                0 => "conn-zero",
                3 => "conn-three",
                _ => "",
            };
            assert_eq!(line["name"], expect_name);
            assert!(line["addr"].starts_with("127.0.0.1:"));
        }
        // The addr in CLIENT LIST is the client's side of the socket.
        let local = conns[4].stream.local_addr().unwrap().to_string();
        assert!(
            lines.iter().any(|f| f["addr"] == local),
            "{local} in\n{list}"
        );
        // CLIENT LIST ID filter.
        let only = conns[1]
            .cmd(&["CLIENT", "LIST", "ID", &ids[3].to_string()])
            .as_string();
        assert_eq!(only.lines().count(), 1, "{only}");
        assert_eq!(client_fields(only.trim_end())["name"], "conn-three");
        // Errors.
        conns[1].check(
            "CLIENT FOO",
            err("ERR unknown subcommand 'FOO'. Try CLIENT HELP."),
        );
        conns[1].check("CLIENT", arity_err("client"));
        conns[1].check(
            "CLIENT GETNAME x",
            err("ERR wrong number of arguments for 'client|getname' command"),
        );
    });
}

#[test]
fn client_kill() {
    with_servers(&[], |s| {
        let mut killer = s.raw();
        let mut victims: Vec<Raw> = (0..4).map(|_| s.raw()).collect();
        let ids: Vec<i64> = victims
            .iter_mut()
            .map(|c| c.run("CLIENT ID").as_int())
            .collect();
        // New style: by ID, returns the number killed.
        killer.check_cmd(&["CLIENT", "KILL", "ID", &ids[0].to_string()], int(1));
        victims[0].send(b"PING\r\n").ok();
        assert_eq!(victims[0].read_reply_or_close(), ReadEnd::Closed);
        killer.check_cmd(&["CLIENT", "KILL", "ID", &ids[0].to_string()], int(0));
        killer.check("CLIENT KILL ID 999999", int(0));
        killer.check(
            "CLIENT KILL ID abc",
            err("ERR client-id should be greater than 0"),
        );
        // Old style: by address, replies OK.
        let addr = victims[1].stream.local_addr().unwrap().to_string();
        killer.check_cmd(&["CLIENT", "KILL", &addr], ok());
        victims[1].send(b"PING\r\n").ok();
        assert_eq!(victims[1].read_reply_or_close(), ReadEnd::Closed);
        killer.check("CLIENT KILL 127.0.0.1:1", err("ERR No such client"));
        // New style by ADDR.
        let addr = victims[2].stream.local_addr().unwrap().to_string();
        killer.check_cmd(&["CLIENT", "KILL", "ADDR", &addr], int(1));
        victims[2].send(b"PING\r\n").ok();
        assert_eq!(victims[2].read_reply_or_close(), ReadEnd::Closed);
        // The others are untouched and gone from CLIENT LIST.
        victims[3].check("PING", status("PONG"));
        let list = killer.run("CLIENT LIST").as_string();
        let listed: HashSet<String> = list
            .lines()
            .map(|l| client_fields(l)["id"].clone())
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(listed.contains(&id.to_string()), i == 3, "{list}");
        }
        killer.check(
            "CLIENT KILL",
            err("ERR wrong number of arguments for 'client|kill' command"),
        );
    });
}

#[test]
fn command_introspection() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let count = r.run("COMMAND COUNT").as_int();
        assert!(count > 20, "COMMAND COUNT {count}");
        let list = r.run("COMMAND LIST").as_string_set();
        // COMMAND LIST also names subcommands (config|get ...).
        assert!(list.len() as i64 >= count);
        for c in [
            "get", "set", "mget", "mset", "del", "exists", "expire", "ttl", "scan", "keys", "ping",
            "info", "config", "client", "command", "hello", "select", "incr",
        ] {
            assert!(list.contains(c), "COMMAND LIST lacks {c}");
        }
        let all = r.run("COMMAND");
        assert_eq!(all.as_array().len() as i64, count);

        let info = r.run("COMMAND INFO get");
        let entry = info.as_array()[0].as_array();
        assert_eq!(entry[0], bulk("get"));
        assert_eq!(entry[1], int(2)); // arity
        assert_eq!(&entry[3..6], &[int(1), int(1), int(1)]); // first, last, step
        let flags: Vec<String> = entry[2].as_array().iter().map(|f| f.as_string()).collect();
        assert!(flags.contains(&"readonly".to_string()), "{flags:?}");
        let info = r.run("COMMAND INFO set mset nosuchcommand");
        let entries = info.as_array();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].as_array()[1], int(-3)); // SET arity
        assert_eq!(entries[1].as_array()[0], bulk("mset"));
        assert_eq!(entries[1].as_array()[1], int(-3));
        assert_eq!(&entries[1].as_array()[3..6], &[int(1), int(-1), int(2)]);
        assert_eq!(entries[2], nil());
        // COMMAND INFO is case-insensitive.
        let upper = r.run("COMMAND INFO GET");
        assert_eq!(upper.as_array()[0].as_array()[0], bulk("get"));

        // COMMAND DOCS: name followed by its doc map.
        let docs = r.run("COMMAND DOCS get");
        let items = docs.as_array();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], bulk("get"));
        let doc = items[1].as_array();
        assert!(!doc.is_empty());
        assert!(doc.contains(&bulk("summary")), "{docs:?}");
        r.check("COMMAND DOCS nosuchcommand", arr(vec![]));
        r.check(
            "COMMAND FOO",
            err("ERR unknown subcommand 'FOO'. Try COMMAND HELP."),
        );
    });
}

#[test]
fn config_get_set() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let port = s.port.to_string();
        r.check("CONFIG GET port", Reply::bulks(&["port", &port]));
        r.check("CONFIG GET save", Reply::bulks(&["save", ""]));
        r.check("CONFIG GET appendonly", Reply::bulks(&["appendonly", "no"]));
        r.check("CONFIG GET maxmemory", Reply::bulks(&["maxmemory", "0"]));
        r.check("CONFIG GET databases", Reply::bulks(&["databases", "16"]));
        r.check("CONFIG GET nosuchparameter", arr(vec![]));
        // Several parameters; the pairs come in no particular order.
        let pairs = r.run("CONFIG GET port databases").as_strings();
        let mut pairs: Vec<(String, String)> = pairs
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("databases".to_string(), "16".to_string()),
                ("port".to_string(), port.clone())
            ]
        );
        // Names match case-insensitively and are echoed as given.
        r.check("CONFIG GET DataBases", Reply::bulks(&["DataBases", "16"]));
        // CONFIG SET takes effect.
        r.check("CONFIG SET maxmemory 100mb", ok());
        r.check(
            "CONFIG GET maxmemory",
            Reply::bulks(&["maxmemory", "104857600"]),
        );
        r.check("CONFIG SET maxmemory 0", ok());
        r.check("CONFIG GET maxmemory", Reply::bulks(&["maxmemory", "0"]));
        let reply = r.run("CONFIG SET nosuchparameter 1");
        match &reply {
            Reply::Error(e) => assert!(
                e.starts_with(
                    "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparameter'"
                ),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
        let reply = r.run("CONFIG SET maxmemory abc");
        assert!(reply.is_error(), "{reply:?}");
        r.check("CONFIG GET maxmemory", Reply::bulks(&["maxmemory", "0"]));
        r.check(
            "CONFIG GET",
            err("ERR wrong number of arguments for 'config|get' command"),
        );
        r.check(
            "CONFIG SET maxmemory",
            err("ERR wrong number of arguments for 'config|set' command"),
        );
        r.check(
            "CONFIG FOO",
            err("ERR unknown subcommand 'FOO'. Try CONFIG HELP."),
        );
        // redis-rs helper.
        let mut c = s.client();
        let v: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("databases")
            .query(&mut c)
            .unwrap();
        assert_eq!(v["databases"], "16");
    });
}

/// Splits an INFO reply into section name -> field map.
fn parse_info(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_string(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            let sec = sections.last_mut().expect("field before any section");
            sec.1.push((k.to_string(), v.to_string()));
        } else {
            assert!(line.is_empty(), "odd INFO line {line:?}");
        }
    }
    sections
}

#[test]
fn info_sections() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let text = r.run("INFO").as_string();
        let sections = parse_info(&text);
        let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "Server",
            "Clients",
            "Memory",
            "Stats",
            "Replication",
            "Keyspace",
        ] {
            assert!(names.contains(&want), "INFO lacks # {want}: {names:?}");
        }
        let field = |sec: &str, name: &str| -> Option<String> {
            sections
                .iter()
                .find(|(n, _)| n == sec)?
                .1
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert!(field("Server", "redis_version").is_some());
        assert_eq!(field("Server", "tcp_port"), Some(s.port.to_string()));
        assert_eq!(field("Replication", "role").as_deref(), Some("master"));
        let used: u64 = field("Memory", "used_memory").unwrap().parse().unwrap();
        assert!(used > 0);
        let clients: u64 = field("Clients", "connected_clients")
            .unwrap()
            .parse()
            .unwrap();
        assert!(clients >= 1);
        // Single sections, case-insensitive.
        assert_eq!(
            s.info_field("replication", "role").as_deref(),
            Some("master")
        );
        assert_eq!(
            s.info_field("REPLICATION", "role").as_deref(),
            Some("master")
        );
        assert!(s
            .info_field("memory", "used_memory")
            .unwrap()
            .parse::<u64>()
            .is_ok());
        let only = r.run("INFO replication").as_string();
        assert!(only.starts_with("# Replication\r\n"), "{only}");
        assert!(!only.contains("# Server"));
        // Several sections at once (7.0).
        let two = parse_info(&r.run("INFO server clients").as_string());
        let two: Vec<&str> = two.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(two, ["Server", "Clients"]);
        r.check("INFO nosuchsection", bulk(""));
        let all = parse_info(&r.run("INFO all").as_string());
        assert!(all.iter().any(|(n, _)| n == "Keyspace"));
        let every = parse_info(&r.run("INFO everything").as_string());
        assert!(every.iter().any(|(n, _)| n == "Keyspace"));

        // Keyspace: one line per non-empty db.
        r.check("INFO keyspace", bulk("# Keyspace\r\n"));
        assert_eq!(s.info_field("keyspace", "db0"), None);
        r.check("MSET a 1 b 2 c 3", ok());
        r.check("SET t v EX 1000", ok());
        r.check("SELECT 3", ok());
        r.check("SET x 1", ok());
        r.check("SELECT 0", ok());
        let db0 = s.info_field("keyspace", "db0").unwrap();
        assert!(db0.starts_with("keys=4,expires=1,avg_ttl="), "{db0}");
        let db3 = s.info_field("keyspace", "db3").unwrap();
        assert!(db3.starts_with("keys=1,expires=0,avg_ttl="), "{db3}");
        assert_eq!(s.info_field("keyspace", "db1"), None);
        let ks = parse_info(&r.run("INFO keyspace").as_string());
        let dbs: Vec<&str> = ks[0].1.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(dbs, ["db0", "db3"]);
        // Stats count commands.
        let before: u64 = s
            .info_field("stats", "total_commands_processed")
            .unwrap()
            .parse()
            .unwrap();
        for _ in 0..10 {
            r.check("PING", status("PONG"));
        }
        let after: u64 = s
            .info_field("stats", "total_commands_processed")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after >= before + 10, "{before} -> {after}");
    });
}

#[test]
fn dbsize_flush_time() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("DBSIZE", int(0));
        let mut mset = vec!["MSET".to_string()];
        for i in 0..300 {
            mset.push(format!("k{i}"));
            mset.push("v".into());
        }
        r.check_cmd(&mset, ok());
        r.check("DBSIZE", int(300));
        r.check("SELECT 1", ok());
        r.check_cmd(&mset, ok());
        r.check("FLUSHDB", ok());
        r.check("DBSIZE", int(0));
        r.check("SELECT 0", ok());
        r.check("DBSIZE", int(300));
        r.check("FLUSHDB ASYNC", ok());
        r.check("DBSIZE", int(0));
        r.check_cmd(&mset, ok());
        r.check("FLUSHDB SYNC", ok());
        r.check("DBSIZE", int(0));
        r.check_cmd(&mset, ok());
        r.check("SELECT 2", ok());
        r.check_cmd(&mset, ok());
        r.check("FLUSHALL", ok());
        r.check("DBSIZE", int(0));
        r.check("SELECT 0", ok());
        r.check("DBSIZE", int(0));
        r.check_cmd(&mset, ok());
        r.check("FLUSHALL ASYNC", ok());
        r.check("DBSIZE", int(0));
        r.check("FLUSHALL SYNC", ok());
        r.check("FLUSHDB x", err(SYNTAX));
        r.check("FLUSHALL x", err(SYNTAX));
        r.check("DBSIZE x", arity_err("dbsize"));

        let t = r.run("TIME");
        let parts = t.as_strings();
        assert_eq!(parts.len(), 2);
        let secs: u64 = parts[0].parse().unwrap();
        let micros: u64 = parts[1].parse().unwrap();
        assert!(micros < 1_000_000);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(secs.abs_diff(now) <= 5, "TIME {secs} vs local {now}");
        // TIME advances.
        let first = secs * 1_000_000 + micros;
        wait_for("TIME to advance", Duration::from_secs(5), || {
            let p = r.run("TIME").as_strings();
            let t: u64 = p[0].parse::<u64>().unwrap() * 1_000_000 + p[1].parse::<u64>().unwrap();
            (t > first).then_some(())
        });
        r.check("TIME x", arity_err("time"));
    });
}

#[test]
fn debug_sleep_and_populate() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("DEBUG SLEEP 0", ok());
        r.check("DEBUG POPULATE 1000", ok());
        r.check("DBSIZE", int(1000));
        r.check("GET key:0", bulk("value:0"));
        r.check("GET key:999", bulk("value:999"));
        r.check("GET key:1000", nil());
        // Existing keys are left alone.
        r.check("SET key:5 mine", ok());
        r.check("DEBUG POPULATE 1010", ok());
        r.check("DBSIZE", int(1010));
        r.check("GET key:5", bulk("mine"));
        // Prefix and size.
        r.check("DEBUG POPULATE 3 pfx 4", ok());
        r.check(
            "MGET pfx:0 pfx:1 pfx:2",
            Reply::bulks(&["valu", "valu", "valu"]),
        );
        r.check("DBSIZE", int(1013));
        // The keys are spread over every shard: all reachable.
        let mut get = vec!["EXISTS".to_string()];
        get.extend((0..1010).map(|i| format!("key:{i}")));
        r.check_cmd(&get, int(1010));
    });
}

/// A dataset with keys in two databases, binary values, numbers, and
/// absolute (hence deterministic) expire times.
fn load_digest_dataset(r: &mut Raw) {
    let mut mset = vec!["MSET".to_string()];
    for i in 0..500 {
        mset.push(format!("dg:{i}"));
        mset.push(format!("value-{}", i * 7919 % 1000));
    }
    r.check_cmd(&mset, ok());
    r.check_cmd(&["SET", "bin", "\0\r\n\u{1}"], ok());
    r.check("INCRBY counter 12345", int(12345));
    r.check("SET vol1 v PXAT 4000000000000", ok());
    r.check("SET vol2 v EXAT 4100000000", ok());
    r.check("SELECT 3", ok());
    r.check("MSET a 1 b 2", ok());
    r.check("SET vol3 w PXAT 4000000000123", ok());
    r.check("SELECT 0", ok());
}

#[test]
fn debug_digest_matches_redis() {
    let redis = Server::redis();
    let mut rr = redis.raw();
    let zero = status(&"0".repeat(40));
    rr.check("DEBUG DIGEST", zero.clone());
    load_digest_dataset(&mut rr);
    let want = rr.run("DEBUG DIGEST");
    let want_values = rr.run("DEBUG DIGEST-VALUE dg:1 bin counter vol1 nokey");
    assert_eq!(want_values.as_array()[4], zero);
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("DEBUG DIGEST", zero.clone());
        load_digest_dataset(&mut r);
        assert_eq!(r.run("DEBUG DIGEST"), want);
        assert_eq!(
            r.run("DEBUG DIGEST-VALUE dg:1 bin counter vol1 nokey"),
            want_values
        );
        r.check("DEBUG DIGEST-VALUE", arr(vec![]));
        // Any change changes the digest.
        r.check("SET dg:1 changed", ok());
        assert_ne!(r.run("DEBUG DIGEST"), want);
        r.check("FLUSHALL", ok());
        r.check("DEBUG DIGEST", zero.clone());
    });
    // DEBUG POPULATE produces the same data too.
    rr.check("FLUSHALL", ok());
    rr.check("DEBUG POPULATE 2000", ok());
    let want = rr.run("DEBUG DIGEST");
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("DEBUG POPULATE 2000", ok());
        assert_eq!(r.run("DEBUG DIGEST"), want);
    });
}

#[test]
fn shutdown_nosave_exits_cleanly() {
    for_each_thread_count(|threads| {
        let mut s = Server::start(threads, &[]);
        let mut r = s.raw();
        r.check("SET a 1", ok());
        r.send(b"SHUTDOWN NOSAVE\r\n").unwrap();
        // No reply on success: the connection just closes.
        assert_eq!(r.read_reply_or_close(), ReadEnd::Closed);
        let status = s.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "exit status {status}");
    });
}
