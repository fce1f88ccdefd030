//! Redis Sentinel (the real `redis-server --sentinel`, 7.0) monitoring and failing over damselfly.
//!
//! The failover tests start a primary (`--threads 2`), one replica and one Sentinel with quorum 1
//! and a 1 s down-after period, then drive a failover: the primary killed (Sentinel promotes the
//! replica with `MULTI / SLAVEOF NO ONE / CONFIG REWRITE / CLIENT KILL ... / EXEC`), or
//! `SENTINEL FAILOVER` with the old primary alive (Sentinel then turns it into a replica of the
//! new one with `SLAVEOF host port`). The others check the replica settings and INFO fields
//! Sentinel reads (replica-priority, replica-announced, replica-announce-ip/port,
//! master_link_down_since_seconds). Everything waits for events with deadlines, never a fixed
//! sleep. With `DAMSELFLY_TEST_AGAINST_REDIS=1` the primary and replica are redis-server, which
//! validates the expectations. The tests that need redis-server (Sentinel, or a Redis primary) are
//! skipped when it is not installed.
mod common;

use common::*;
use std::fs;
use std::time::Duration;

/// Failure detection, election, promotion and reconfiguration; generous for 2 shared cores.
const DEADLINE: Duration = Duration::from_secs(60);
/// Between polls of a condition that takes Sentinel seconds to change (its INFO period is 10 s,
/// 1 s during a failover): polling faster only adds load.
const POLL: Duration = Duration::from_millis(50);
const MASTER: &str = "mymaster";

/// The primary, its replica and the Sentinel watching them.
struct Setup {
    primary: Option<Server>,
    replica: Server,
    sentinel: Server,
    /// Holds the Sentinel's template config until the test ends.
    _conf_dir: ScratchDir,
}

fn start_data_server(extra: &[&str]) -> Server {
    let mut args = extra.to_vec();
    if against_redis() {
        // Redis 7.0 otherwise waits 5 s before each full sync (also after the roles swap).
        args.extend(["--repl-diskless-sync-delay", "0"]);
    }
    Server::start(2, &args)
}

/// A primary with one synced replica, and a Sentinel that knows both.
fn setup() -> Option<Setup> {
    if !have_binary("redis-server") {
        eprintln!("skipped: redis-server (Sentinel) is not installed");
        return None;
    }
    Some(setup_with(start_data_server(&[])))
}

/// A Sentinel watching the primary on `port` (quorum 1, down after 1 s); its config lives in the
/// returned directory, which must outlive it (Sentinel rewrites the file).
fn start_sentinel(port: &str) -> (Server, ScratchDir) {
    let conf_dir = scratch_dir("sentinel-conf");
    let conf = conf_dir.join("sentinel.conf");
    fs::write(
        &conf,
        format!(
            "sentinel monitor {MASTER} 127.0.0.1 {port} 1\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n"
        ),
    )
    .expect("write sentinel.conf");
    (Server::sentinel(&conf), conf_dir)
}

/// `setup` around a given primary.
fn setup_with(primary: Server) -> Setup {
    let port = primary.port.to_string();
    let replica = start_data_server(&["--replicaof", "127.0.0.1", &port]);
    wait_for("the replica's link to come up", DEADLINE, || {
        let status = replica.info_field("replication", "master_link_status");
        (status.as_deref() == Some("up")).then_some(())
    });

    let (sentinel, conf_dir) = start_sentinel(&port);
    let setup = Setup {
        primary: Some(primary),
        replica,
        sentinel,
        _conf_dir: conf_dir,
    };
    assert_eq!(
        setup.master_addr(),
        ("127.0.0.1".to_string(), setup.primary().port),
        "get-master-addr-by-name before any failover"
    );
    // Sentinel learns of the replica from the primary's INFO (its slaveN: lines), then asks the
    // replica itself for INFO; only then does it know the replica's link and priority.
    let fields = setup.wait_for_replica("Sentinel to see the replica as a healthy slave", |r| {
        r.get("flags").map(String::as_str) == Some("slave")
            && r.get("master-link-status").map(String::as_str) == Some("ok")
    });
    assert_eq!(fields["ip"], "127.0.0.1", "{fields:?}");
    assert_eq!(fields["port"], setup.replica.port.to_string(), "{fields:?}");
    assert_eq!(fields["master-port"], setup.primary().port.to_string());
    assert_eq!(fields["slave-priority"], "100", "{fields:?}");
    assert_eq!(fields["replica-announced"], "1", "{fields:?}");
    setup
}

impl Setup {
    fn primary(&self) -> &Server {
        self.primary.as_ref().expect("the primary is still running")
    }

    fn sentinel_cmd(&self, args: &[&str]) -> Reply {
        let mut words = vec!["SENTINEL"];
        words.extend_from_slice(args);
        self.sentinel.raw().cmd(&words)
    }

    /// `SENTINEL get-master-addr-by-name mymaster` as (ip, port).
    fn master_addr(&self) -> (String, u16) {
        let reply = self.sentinel_cmd(&["get-master-addr-by-name", MASTER]);
        match reply.as_strings().as_slice() {
            [ip, port] => (ip.clone(), port.parse().expect("a port number")),
            _ => panic!("get-master-addr-by-name replied {reply:?}"),
        }
    }

    /// `SENTINEL replicas mymaster`: one field map per replica.
    fn replicas(&self) -> Vec<std::collections::HashMap<String, String>> {
        let reply = self.sentinel_cmd(&["replicas", MASTER]);
        reply
            .as_array()
            .iter()
            .map(|replica| {
                replica
                    .as_strings()
                    .chunks(2)
                    .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                    .collect()
            })
            .collect()
    }

    /// Waits until Sentinel lists exactly one replica and `ok` holds for its fields.
    fn wait_for_replica(
        &self,
        what: &str,
        ok: impl Fn(&std::collections::HashMap<String, String>) -> bool,
    ) -> std::collections::HashMap<String, String> {
        wait_for(what, DEADLINE, || {
            let replicas = self.replicas();
            let found = match replicas.as_slice() {
                [only] if ok(only) => Some(only.clone()),
                _ => None,
            };
            if found.is_none() {
                std::thread::sleep(POLL);
            }
            found
        })
    }

    fn wait_for_master_port(&self, port: u16, what: &str) {
        wait_for(what, DEADLINE, || {
            let switched = self.master_addr() == ("127.0.0.1".to_string(), port);
            if !switched {
                std::thread::sleep(POLL);
            }
            switched.then_some(())
        });
    }
}

/// Writes spread over both shards (single keys, a multi-key MSET, a list, a hash) and waits for
/// the replica to acknowledge them; returns what every key must hold.
fn write_acknowledged(primary: &Server, tag: &str) -> Vec<(String, String)> {
    let mut r = primary.raw();
    let mut expected = Vec::new();
    for i in 0..50 {
        let (key, value) = (format!("{tag}:k{i}"), format!("v{i}"));
        assert_eq!(r.cmd(&["SET", &key, &value]), ok());
        expected.push((key, value));
    }
    let (a, b) = (format!("{tag}:m1"), format!("{tag}:m2"));
    assert_eq!(r.cmd(&["MSET", &a, "x", &b, "y"]), ok());
    expected.push((a, "x".into()));
    expected.push((b, "y".into()));
    assert_eq!(r.cmd(&["RPUSH", &format!("{tag}:list"), "a", "b"]), int(2));
    assert_eq!(r.cmd(&["HSET", &format!("{tag}:hash"), "f", "v"]), int(1));
    assert_eq!(r.run("WAIT 1 5000"), int(1), "WAIT for the replica");
    expected
}

/// Every key written by `write_acknowledged` is on `server`.
fn assert_has(server: &Server, tag: &str, expected: &[(String, String)]) {
    let mut r = server.raw();
    for (key, value) in expected {
        assert_eq!(
            r.cmd(&["GET", key]),
            bulk(value),
            "{key} on port {}",
            server.port
        );
    }
    assert_eq!(
        r.cmd(&["LRANGE", &format!("{tag}:list"), "0", "-1"]),
        Reply::bulks(&["a", "b"])
    );
    assert_eq!(r.cmd(&["HGET", &format!("{tag}:hash"), "f"]), bulk("v"));
}

fn role(server: &Server) -> Vec<Reply> {
    server.raw().run("ROLE").as_array().to_vec()
}

/// The primary is killed (SIGKILL): Sentinel notices within its down-after period, promotes the
/// replica, and get-master-addr-by-name switches to it. The promoted replica is a primary that
/// accepts writes and has every write the old primary's WAIT reported acknowledged.
#[test]
fn sentinel_promotes_the_replica_when_the_primary_dies() {
    let Some(setup) = setup() else { return };
    promote_after_primary_death(setup);
}

/// The mixed setup that works today: a redis-server primary with a damselfly replica (which
/// replicates Redis's own protocol). Sentinel reads both, promotes the damselfly replica when the
/// primary dies, and the replica's subscribers hear the hello messages Sentinel publishes on the
/// primary, which Redis propagates to its replicas as PUBLISH.
#[test]
fn sentinel_promotes_a_damselfly_replica_of_a_redis_primary() {
    if !have_binary("redis-server") {
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let setup = setup_with(Server::redis_with(&["--repl-diskless-sync-delay", "0"]));
    let mut subscriber = setup.replica.raw();
    let hello = "__sentinel__:hello";
    assert_eq!(
        subscriber.cmd(&["SUBSCRIBE", hello]),
        Reply::arr(vec![bulk("subscribe"), bulk(hello), int(1)])
    );
    // Sentinel publishes a hello on the primary and on the replica every 2 s; the one sent to
    // the replica directly proves nothing, so publish on the primary with a marker of our own.
    let mut primary = setup.primary().raw();
    let received = wait_for(
        "a PUBLISH on the primary to reach the replica",
        DEADLINE,
        || {
            // The count is the primary's own subscribers (Sentinel's link), whatever it is now.
            let count = primary.cmd(&["PUBLISH", hello, "from-the-primary"]);
            assert!(matches!(count, Reply::Int(_)), "PUBLISH replied {count:?}");
            // Sentinel's own hellos may arrive first: read until ours or a few others.
            (0..4)
                .map(|_| subscriber.read_reply())
                .find(|message| message.as_array().get(2) == Some(&bulk("from-the-primary")))
        },
    );
    assert_eq!(received.as_array()[1], bulk(hello));
    drop(subscriber);
    promote_after_primary_death(setup);
}

fn promote_after_primary_death(mut setup: Setup) {
    let expected = write_acknowledged(setup.primary(), "dead");

    drop(setup.primary.take());
    let new_port = setup.replica.port;
    setup.wait_for_master_port(new_port, "Sentinel to switch to the replica");

    // Sentinel's promotion transaction killed every normal client, so each check connects anew.
    let promoted = &setup.replica;
    wait_for(
        "the promoted replica to answer ROLE master",
        DEADLINE,
        || {
            let is_master = role(promoted).first() == Some(&bulk("master"));
            if !is_master {
                std::thread::sleep(POLL);
            }
            is_master.then_some(())
        },
    );
    assert_has(promoted, "dead", &expected);
    let mut r = promoted.raw();
    assert_eq!(
        r.run("SET after-failover yes"),
        ok(),
        "the new primary accepts writes"
    );
    assert_eq!(r.run("GET after-failover"), bulk("yes"));
    // get-master-addr-by-name already names the promoted replica while Sentinel reconfigures
    // the other replicas; the failover ends when Sentinel's own record of the master moves.
    wait_for(
        "Sentinel to end the failover (+switch-master)",
        DEADLINE,
        || {
            let reply = setup.sentinel_cmd(&["master", MASTER]);
            let fields = reply.as_strings();
            let port = fields
                .chunks(2)
                .find(|pair| pair[0] == "port")
                .and_then(|pair| pair.get(1).cloned());
            let switched = port == Some(new_port.to_string());
            if !switched {
                std::thread::sleep(POLL);
            }
            switched.then_some(())
        },
    );
}

/// `SENTINEL FAILOVER` with the old primary alive: a replica with replica-priority 0 is never
/// chosen (-NOGOODSLAVE), one hidden with replica-announced no leaves SENTINEL REPLICAS; with both
/// back to their defaults Sentinel promotes the replica, then reconfigures the old primary with
/// SLAVEOF into a replica of the new one, which syncs the data and replicates new writes.
#[test]
fn sentinel_failover_turns_the_old_primary_into_a_replica() {
    let Some(setup) = setup() else { return };
    let expected = write_acknowledged(setup.primary(), "graceful");

    // replica-priority 0: Sentinel reads slave_priority from the replica's INFO and refuses it.
    let mut rr = setup.replica.raw();
    assert_eq!(rr.run("CONFIG SET replica-priority 0"), ok());
    setup.wait_for_replica("Sentinel to read slave_priority 0", |r| {
        r.get("slave-priority").map(String::as_str) == Some("0")
    });
    assert_eq!(
        setup.sentinel_cmd(&["failover", MASTER]),
        err("NOGOODSLAVE No suitable replica to promote")
    );
    assert_eq!(rr.run("CONFIG SET replica-priority 100"), ok());
    // replica-announced no: the replica is left out of SENTINEL REPLICAS (still monitored).
    assert_eq!(rr.run("CONFIG SET replica-announced no"), ok());
    wait_for("Sentinel to hide the unannounced replica", DEADLINE, || {
        let hidden = setup.replicas().is_empty();
        if !hidden {
            std::thread::sleep(POLL);
        }
        hidden.then_some(())
    });
    assert_eq!(rr.run("CONFIG SET replica-announced yes"), ok());
    drop(rr);
    setup.wait_for_replica("Sentinel to list the replica with priority 100", |r| {
        r.get("slave-priority").map(String::as_str) == Some("100")
            && r.get("flags").map(String::as_str) == Some("slave")
    });

    assert_eq!(setup.sentinel_cmd(&["failover", MASTER]), ok());
    let (old, new) = (setup.primary(), &setup.replica);
    setup.wait_for_master_port(new.port, "SENTINEL FAILOVER to switch to the replica");

    // Sentinel turns the old primary (still reporting master) into a replica of the new one.
    let new_port = new.port.to_string();
    wait_for("the old primary to replicate the new one", DEADLINE, || {
        let role = role(old);
        let following = role.len() == 5
            && role[0] == bulk("slave")
            && role[2] == int(new.port as i64)
            && role[3] == bulk("connected");
        if !following {
            std::thread::sleep(POLL);
        }
        following.then_some(())
    });
    assert_eq!(
        old.info_field("replication", "master_port").as_deref(),
        Some(new_port.as_str())
    );
    assert_eq!(role(new).first(), Some(&bulk("master")));
    assert_has(new, "graceful", &expected);
    assert_has(old, "graceful", &expected);

    // The swapped pair replicates: a write on the new primary, acknowledged, is on the old one.
    let mut w = new.raw();
    assert_eq!(w.run("SET swapped yes"), ok());
    assert_eq!(w.run("WAIT 1 5000"), int(1), "WAIT for the old primary");
    assert_eq!(old.raw().run("GET swapped"), bulk("yes"));
    setup.wait_for_replica("Sentinel to list the old primary as the replica", |r| {
        r.get("port") == Some(&old.port.to_string())
            && r.get("flags").map(String::as_str) == Some("slave")
            && r.get("master-link-status").map(String::as_str) == Some("ok")
    });
}

/// CONFIG GET/SET of the settings Sentinel reads from a replica's INFO, with Redis's replies.
#[test]
fn replica_priority_and_replica_announced_config() {
    let server = Server::start(1, &[]);
    let mut r = server.raw();
    r.check(
        "CONFIG GET replica-priority",
        Reply::bulks(&["replica-priority", "100"]),
    );
    for (line, reply) in [
        ("CONFIG SET slave-priority 7", ok()),
        (
            "CONFIG SET replica-priority -1",
            err("ERR CONFIG SET failed (possibly related to argument 'replica-priority') - argument must be between 0 and 2147483647 inclusive"),
        ),
        (
            "CONFIG SET replica-priority 2147483648",
            err("ERR CONFIG SET failed (possibly related to argument 'replica-priority') - argument must be between 0 and 2147483647 inclusive"),
        ),
        (
            "CONFIG SET replica-priority abc",
            err("ERR CONFIG SET failed (possibly related to argument 'replica-priority') - argument couldn't be parsed into an integer"),
        ),
        (
            "CONFIG SET replica-announced maybe",
            err("ERR CONFIG SET failed (possibly related to argument 'replica-announced') - argument must be 'yes' or 'no'"),
        ),
        ("CONFIG SET replica-announced no", ok()),
    ] {
        assert_eq!(r.run(line), reply, "{line}");
    }
    r.check(
        "CONFIG GET replica-priority",
        Reply::bulks(&["replica-priority", "7"]),
    );
    r.check(
        "CONFIG GET replica-announced",
        Reply::bulks(&["replica-announced", "no"]),
    );

    // A replica reports both in INFO replication, where Sentinel reads them.
    let port = server.port.to_string();
    let replica = Server::start(
        1,
        &["--replicaof", "127.0.0.1", &port, "--replica-priority", "5"],
    );
    assert_eq!(
        replica
            .info_field("replication", "slave_priority")
            .as_deref(),
        Some("5")
    );
    assert_eq!(
        replica
            .info_field("replication", "replica_announced")
            .as_deref(),
        Some("1")
    );
    let mut rr = replica.raw();
    assert_eq!(rr.run("CONFIG SET replica-announced no"), ok());
    assert_eq!(
        replica
            .info_field("replication", "replica_announced")
            .as_deref(),
        Some("0")
    );
}

/// INFO `master_link_down_since_seconds`, which Sentinel reads to skip replicas cut off too long:
/// -1 while the link was never up, then the seconds since a connected link was lost.
#[test]
fn master_link_down_since_seconds_as_redis() {
    let nobody = free_port().to_string();
    let orphan = Server::start(1, &["--replicaof", "127.0.0.1", &nobody]);
    assert_eq!(
        orphan
            .info_field("replication", "master_link_down_since_seconds")
            .as_deref(),
        Some("-1")
    );

    let primary = start_data_server(&[]);
    let port = primary.port.to_string();
    let replica = Server::start(1, &["--replicaof", "127.0.0.1", &port]);
    wait_for("the replica's link to come up", DEADLINE, || {
        let status = replica.info_field("replication", "master_link_status");
        (status.as_deref() == Some("up")).then_some(())
    });
    assert_eq!(
        replica.info_field("replication", "master_link_down_since_seconds"),
        None,
        "shown only while the link is down"
    );
    drop(primary);
    let since = wait_for("the replica to see its primary gone", DEADLINE, || {
        replica.info_field("replication", "master_link_down_since_seconds")
    });
    let seconds: i64 = since.parse().expect("an integer");
    assert!((0..60).contains(&seconds), "down since {seconds} s");
}

/// replica-announce-ip/port: the address a primary lists a replica under (INFO slaveN, which
/// Sentinel reads to find replicas). A redis-server primary takes both; a damselfly primary takes
/// the port (it lists the address the replica connected from).
#[test]
fn replica_announce_ip_and_port_reach_the_primarys_info() {
    if !have_binary("redis-server") {
        eprintln!("skipped: redis-server is not installed");
        return;
    }
    let announced_port = free_port().to_string();
    let redis_primary = Server::redis_with(&["--repl-diskless-sync-delay", "0"]);
    let port = redis_primary.port.to_string();
    let replica = start_data_server(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--replica-announce-ip",
        "10.1.2.3",
        "--replica-announce-port",
        &announced_port,
    ]);
    let line = wait_for("the replica in the primary's INFO", DEADLINE, || {
        redis_primary.info_field("replication", "slave0")
    });
    assert!(
        line.starts_with(&format!("ip=10.1.2.3,port={announced_port},")),
        "{line}"
    );
    let mut r = replica.raw();
    r.check(
        "CONFIG GET replica-announce-ip",
        Reply::bulks(&["replica-announce-ip", "10.1.2.3"]),
    );
    r.check(
        "CONFIG GET slave-announce-port",
        Reply::bulks(&["slave-announce-port", &announced_port]),
    );
    assert_eq!(
        r.run("CONFIG SET replica-announce-port 65536"),
        err("ERR CONFIG SET failed (possibly related to argument 'replica-announce-port') - argument must be between 0 and 65535 inclusive")
    );
    assert_eq!(r.cmd(&["CONFIG", "SET", "replica-announce-ip", ""]), ok());
    r.check(
        "CONFIG GET replica-announce-ip",
        Reply::bulks(&["replica-announce-ip", ""]),
    );

    let primary = start_data_server(&[]);
    let port = primary.port.to_string();
    let _replica = start_data_server(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--replica-announce-port",
        &announced_port,
    ]);
    let line = wait_for("the replica in the primary's INFO", DEADLINE, || {
        primary.info_field("replication", "slave0")
    });
    assert!(
        line.starts_with(&format!("ip=127.0.0.1,port={announced_port},")),
        "{line}"
    );
}

/// A damselfly primary with a damselfly replica and a redis-server replica, watched by Sentinel.
/// The primary dies; Sentinel promotes the replica with the lower `replica-priority` and re-points
/// the other at it, which continues the old primary's stream with a partial resync (no full
/// sync), whichever kind was promoted. No write that WAIT reported acknowledged by both is lost.
fn mixed_failover(promote_damselfly: bool) {
    eprintln!("--- mixed replicas, promoting the damselfly one: {promote_damselfly}");
    let primary = start_data_server(&[]);
    let port = primary.port.to_string();
    let (damselfly_priority, redis_priority) = if promote_damselfly {
        ("10", "100")
    } else {
        ("100", "10")
    };
    let damselfly = start_data_server(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--replica-priority",
        damselfly_priority,
    ]);
    let redis = Server::redis_with(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--replica-priority",
        redis_priority,
        "--repl-diskless-sync-delay",
        "0",
    ]);
    for replica in [&damselfly, &redis] {
        wait_for("a replica's link to come up", DEADLINE, || {
            let status = replica.info_field("replication", "master_link_status");
            (status.as_deref() == Some("up")).then_some(())
        });
    }
    let (sentinel, _conf_dir) = start_sentinel(&port);
    let sentinel_cmd = |args: &[&str]| {
        let mut words = vec!["SENTINEL"];
        words.extend_from_slice(args);
        sentinel.raw().cmd(&words)
    };
    wait_for("Sentinel to see both replicas healthy", DEADLINE, || {
        let replicas = sentinel_cmd(&["replicas", MASTER]);
        let healthy = replicas
            .as_array()
            .iter()
            .filter(|r| {
                let fields = r.as_strings();
                fields
                    .windows(2)
                    .any(|w| w[0] == "master-link-status" && w[1] == "ok")
                    && fields
                        .windows(2)
                        .any(|w| w[0] == "flags" && w[1] == "slave")
            })
            .count();
        if healthy < 2 {
            std::thread::sleep(POLL);
        }
        (healthy == 2).then_some(())
    });
    let mut p = primary.raw();
    let mut expected = Vec::new();
    for i in 0..100 {
        let (key, value) = (format!("mixed:{i}"), format!("v{i}"));
        assert_eq!(p.cmd(&["SET", &key, &value]), ok());
        expected.push((key, value));
    }
    assert_eq!(p.cmd(&["MSET", "m:a", "1", "m:b", "2", "m:c", "3"]), ok());
    expected.extend([("m:a", "1"), ("m:b", "2"), ("m:c", "3")].map(|(k, v)| (k.into(), v.into())));
    assert_eq!(p.run("WAIT 2 5000"), int(2), "WAIT for both replicas");
    drop(p);
    drop(primary);

    let (promoted, follower) = if promote_damselfly {
        (&damselfly, &redis)
    } else {
        (&redis, &damselfly)
    };
    wait_for("Sentinel to switch to the chosen replica", DEADLINE, || {
        let addr = sentinel_cmd(&["get-master-addr-by-name", MASTER]).as_strings();
        let switched = addr.get(1) == Some(&promoted.port.to_string());
        if !switched {
            std::thread::sleep(POLL);
        }
        switched.then_some(())
    });
    let promoted_port = promoted.port.to_string();
    wait_for(
        "the other replica to follow the new primary",
        DEADLINE,
        || {
            let following = follower.info_field("replication", "master_port").as_deref()
                == Some(promoted_port.as_str())
                && follower
                    .info_field("replication", "master_link_status")
                    .as_deref()
                    == Some("up");
            if !following {
                std::thread::sleep(POLL);
            }
            following.then_some(())
        },
    );
    let stat = |name: &str| -> i64 {
        promoted
            .info_field("stats", name)
            .and_then(|v| v.parse().ok())
            .expect("an INFO stats counter")
    };
    assert!(
        stat("sync_partial_ok") >= 1,
        "the follower resynced partially"
    );
    assert_eq!(stat("sync_full"), 0, "no full sync after the failover");
    for server in [promoted, follower] {
        let mut r = server.raw();
        for (key, value) in &expected {
            assert_eq!(
                r.cmd(&["GET", key]),
                bulk(value),
                "{key} on {}",
                server.port
            );
        }
    }
    let mut w = promoted.raw();
    assert_eq!(w.run("SET after-failover yes"), ok());
    assert_eq!(w.run("WAIT 1 5000"), int(1));
    assert_eq!(follower.raw().run("GET after-failover"), bulk("yes"));
}

#[test]
fn sentinel_fails_over_mixed_replicas_with_a_partial_resync() {
    if !have_binary("redis-server") {
        eprintln!("skipped: redis-server (Sentinel) is not installed");
        return;
    }
    mixed_failover(true);
    mixed_failover(false);
}
