//! Blocking pops: served at once when data is there, woken by a push from any connection on any
//! shard, in the order clients blocked, with timeouts, inside MULTI (never blocking) and replicated.
mod common;

use common::*;
use std::time::{Duration, Instant};

/// Blocks `client` with `line` (its reply is read later) and waits until the server counts one
/// more blocked client than `blocked_before` (INFO clients, as in Redis).
fn block(server: &Server, client: &mut Raw, line: &str, blocked_before: usize) {
    let args: Vec<&str> = line.split_whitespace().collect();
    client
        .send(&encode_cmd(&args))
        .expect("send blocking command");
    wait_for("the client to block", Duration::from_secs(10), || {
        (blocked(server) > blocked_before).then_some(())
    });
}

fn blocked(server: &Server) -> usize {
    server
        .info_field("clients", "blocked_clients")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn pops_at_once_when_data_is_there() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("RPUSH {k}a x y", Reply::int(2));
        r.check("BLPOP {k}none {k}a 0", Reply::bulks(&["{k}a", "x"]));
        r.check("BRPOP {k}a 0", Reply::bulks(&["{k}a", "y"]));
        r.check("EXISTS {k}a", Reply::int(0));
        r.check("SET str v", Reply::ok());
        r.check(
            "BLPOP str 0",
            Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value"),
        );
        r.check("BLPOP k -1", Reply::err("ERR timeout is negative"));
        r.check(
            "BLPOP k abc",
            Reply::err("ERR timeout is not a float or out of range"),
        );
    });
}

#[test]
fn push_from_another_connection_wakes_a_client_blocked_on_keys_of_several_shards() {
    with_servers(&[], |s| {
        let mut blocked = s.raw();
        block(s, &mut blocked, "BLPOP k1 k2 k3 k4 0", 0);
        let mut pusher = s.raw();
        pusher.check("RPUSH k3 hello", Reply::int(1));
        assert_eq!(blocked.read_reply(), Reply::bulks(&["k3", "hello"]));
        // Served once: the other keys' registrations are gone.
        pusher.check("RPUSH k1 again", Reply::int(1));
        pusher.check("LLEN k1", Reply::int(1));
        blocked.check("PING", Reply::status("PONG"));
    });
}

#[test]
fn clients_are_served_in_the_order_they_blocked() {
    with_servers(&[], |s| {
        let mut clients: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
        for (i, client) in clients.iter_mut().enumerate() {
            block(s, client, "BLPOP queue 0", i);
        }
        s.raw().check("RPUSH queue a b c", Reply::int(3));
        let got: Vec<Reply> = clients.iter_mut().map(|c| c.read_reply()).collect();
        assert_eq!(
            got,
            vec![
                Reply::bulks(&["queue", "a"]),
                Reply::bulks(&["queue", "b"]),
                Reply::bulks(&["queue", "c"]),
            ]
        );
    });
}

#[test]
fn timeouts_answer_null() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        let started = Instant::now();
        r.check("BLPOP empty 0.2", Reply::NilArray);
        assert!(started.elapsed() >= Duration::from_millis(190));
        // Redis 7.0: a null array for the moves too (inside MULTI they answer a null bulk).
        r.check("BLMOVE empty dst LEFT RIGHT 0.05", Reply::NilArray);
        r.check("BRPOPLPUSH empty dst 0.05", Reply::NilArray);
        r.check("BZPOPMIN empty 0.05", Reply::NilArray);
        r.check("BLMPOP 0.05 2 empty other LEFT", Reply::NilArray);
        r.run("HELLO 3");
        r.check("BLPOP empty 0.05", Reply::Null);
    });
}

#[test]
fn blmove_moves_across_shards_when_woken() {
    with_servers(&[], |s| {
        let mut blocked = s.raw();
        block(s, &mut blocked, "BLMOVE src1 dst2 LEFT RIGHT 0", 0);
        let mut r = s.raw();
        r.check("RPUSH dst2 first", Reply::int(1));
        r.check("RPUSH src1 moved", Reply::int(1));
        assert_eq!(blocked.read_reply(), Reply::bulk("moved"));
        r.check("LRANGE dst2 0 -1", Reply::bulks(&["first", "moved"]));
        r.check("EXISTS src1", Reply::int(0));
        // BRPOPLPUSH: the right end of the source to the left of the destination.
        block(s, &mut blocked, "BRPOPLPUSH src3 dst2 0", 0);
        r.check("RPUSH src3 a b", Reply::int(2));
        assert_eq!(blocked.read_reply(), Reply::bulk("b"));
        r.check("LRANGE dst2 0 -1", Reply::bulks(&["b", "first", "moved"]));
    });
}

#[test]
fn sorted_set_and_multi_pops() {
    with_servers(&[], |s| {
        let mut blocked = s.raw();
        block(s, &mut blocked, "BZPOPMIN z1 z2 0", 0);
        let mut r = s.raw();
        r.check("ZADD z2 2 two 1 one", Reply::int(2));
        assert_eq!(blocked.read_reply(), Reply::bulks(&["z2", "one", "1"]));
        block(s, &mut blocked, "BLMPOP 0 2 l1 l2 RIGHT COUNT 2", 0);
        r.check("RPUSH l2 a b c", Reply::int(3));
        assert_eq!(
            blocked.read_reply(),
            Reply::arr(vec![Reply::bulk("l2"), Reply::bulks(&["c", "b"])])
        );
        r.check("BZPOPMAX z2 0", Reply::bulks(&["z2", "two", "2"]));
        r.check("ZADD z9 5 five", Reply::int(1));
        assert_eq!(
            r.run("BZMPOP 0 1 z9 MIN"),
            Reply::arr(vec![
                Reply::bulk("z9"),
                Reply::arr(vec![Reply::bulks(&["five", "5"])])
            ])
        );
    });
}

#[test]
fn inside_multi_blocking_commands_do_not_block() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check("MULTI", Reply::ok());
        r.check("BLPOP nothing 0", Reply::status("QUEUED"));
        r.check("RPUSH {m}l x", Reply::status("QUEUED"));
        r.check("BLPOP {m}l 0", Reply::status("QUEUED"));
        assert_eq!(
            r.run("EXEC"),
            Reply::arr(vec![
                Reply::NilArray,
                Reply::int(1),
                Reply::bulks(&["{m}l", "x"])
            ])
        );
    });
}

#[test]
fn a_blocked_client_is_served_after_the_transaction_that_pushed() {
    with_servers(&[], |s| {
        let mut blocked = s.raw();
        block(s, &mut blocked, "BLPOP {q}list 0", 0);
        let mut r = s.raw();
        r.check("MULTI", Reply::ok());
        r.check("RPUSH {q}list a", Reply::status("QUEUED"));
        r.check("LLEN {q}list", Reply::status("QUEUED"));
        // Inside the transaction the element is still there; the waiter gets it afterwards.
        assert_eq!(
            r.run("EXEC"),
            Reply::arr(vec![Reply::int(1), Reply::int(1)])
        );
        assert_eq!(blocked.read_reply(), Reply::bulks(&["{q}list", "a"]));
        r.check("LLEN {q}list", Reply::int(0));
    });
}

#[test]
fn a_client_that_left_is_not_served() {
    with_servers(&[], |s| {
        let mut gone = s.raw();
        block(s, &mut gone, "BLPOP left 0", 0);
        drop(gone);
        let mut r = s.raw();
        wait_for(
            "the server to drop the client",
            Duration::from_secs(10),
            || (blocked(s) == 0).then_some(()),
        );
        r.check("RPUSH left x", Reply::int(1));
        r.check("LLEN left", Reply::int(1));
    });
}

#[test]
fn served_pops_reach_replicas() {
    if against_redis() {
        return;
    }
    for_each_thread_count(|threads| {
        let primary = Server::start(threads, &[]);
        let replica = Server::start_replica_of(3 - threads, &primary, &[]);
        let mut r = primary.raw();
        wait_for("the replica to sync", Duration::from_secs(20), || {
            (replica
                .info_field("replication", "master_link_status")
                .as_deref()
                == Some("up"))
            .then_some(())
        });
        let mut blocked = primary.raw();
        block(&primary, &mut blocked, "BLMOVE a b RIGHT LEFT 0", 0);
        r.check("RPUSH a 1 2 3", Reply::int(3));
        assert_eq!(blocked.read_reply(), Reply::bulk("3"));
        block(&primary, &mut blocked, "BZPOPMAX z 0", 0);
        r.check("ZADD z 1 m1 2 m2", Reply::int(2));
        assert_eq!(blocked.read_reply(), Reply::bulks(&["z", "m2", "2"]));
        r.check("WAIT 1 5000", Reply::int(1));
        let mut rr = replica.raw();
        rr.check("LRANGE a 0 -1", Reply::bulks(&["1", "2"]));
        rr.check("LRANGE b 0 -1", Reply::bulks(&["3"]));
        assert_eq!(primary.digest(), replica.digest());
    });
}

#[test]
fn a_client_that_left_does_not_hold_up_the_next_one() {
    with_servers(&[], |s| {
        let mut gone = s.raw();
        block(s, &mut gone, "BLPOP {left}l 0", 0);
        // The server notices the disconnection only after a while; the waiter queued behind it
        // must be served meanwhile (it used to stay blocked while the list held the element).
        drop(gone);
        let mut next = s.raw();
        next.send(&encode_cmd(&["BLPOP", "{left}l", "0"]))
            .expect("send BLPOP");
        let mut r = s.raw();
        r.check("RPUSH {left}l x", Reply::int(1));
        assert_eq!(next.read_reply(), Reply::bulks(&["{left}l", "x"]));
        r.check("LLEN {left}l", Reply::int(0));
    });
}

#[test]
fn a_move_to_a_destination_of_another_type_leaves_the_element_for_the_next_waiter() {
    // Tagged keys share a shard; the others most likely do not.
    for (src, bad, good) in [
        ("{m}src", "{m}string", "{m}list"),
        ("src", "string", "list"),
    ] {
        with_servers(&[], |s| {
            let mut r = s.raw();
            r.check_cmd(&["SET", bad, "v"], Reply::ok());
            let mut failing = s.raw();
            block(
                s,
                &mut failing,
                &format!("BLMOVE {src} {bad} LEFT RIGHT 0"),
                0,
            );
            let mut served = s.raw();
            block(s, &mut served, &format!("BRPOPLPUSH {src} {good} 0"), 1);
            r.check_cmd(&["RPUSH", src, "x"], Reply::int(1));
            assert_eq!(
                failing.read_reply(),
                Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value")
            );
            assert_eq!(served.read_reply(), Reply::bulk("x"));
            r.check_cmd(&["LRANGE", good, "0", "-1"], Reply::bulks(&["x"]));
            r.check_cmd(&["EXISTS", src], Reply::int(0));
            r.check_cmd(&["GET", bad], Reply::bulk("v"));
        });
    }
}
