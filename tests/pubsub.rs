//! Pub/Sub end to end: (P)SUBSCRIBE, (P)UNSUBSCRIBE, PUBLISH, PUBSUB.
//! Expected replies are those of Redis 7.0. Several connections are opened so
//! that, with --threads 2, subscribers live on different threads.
mod common;

use common::*;
use std::collections::HashSet;
use std::time::Duration;

const SUBSCRIBED_ERR: &str = "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// Sends one command and reads `n` replies (SUBSCRIBE a b c answers three times).
fn cmd_n(r: &mut Raw, line: &str, n: usize) -> Vec<Reply> {
    r.send(&encode_cmd(&args(line))).expect("write command");
    r.read_replies(n)
}

/// A RESP2 pub/sub frame: an array of bulks and integers.
fn frame(kind: &str, name: &str, count: i64) -> Reply {
    arr(vec![bulk(kind), bulk(name), int(count)])
}

fn message(channel: &str, payload: &str) -> Reply {
    arr(vec![bulk("message"), bulk(channel), bulk(payload)])
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> Reply {
    arr(vec![
        bulk("pmessage"),
        bulk(pattern),
        bulk(channel),
        bulk(payload),
    ])
}

/// A new connection subscribed to `channels` (confirmations checked).
fn subscriber(s: &Server, channels: &[&str]) -> Raw {
    let mut r = s.raw();
    let line = format!("SUBSCRIBE {}", channels.join(" "));
    let replies = cmd_n(&mut r, &line, channels.len());
    for (i, (reply, channel)) in replies.iter().zip(channels).enumerate() {
        assert_eq!(*reply, frame("subscribe", channel, i as i64 + 1));
    }
    r
}

fn numsub(r: &mut Raw, channel: &str) -> i64 {
    let reply = r.cmd(&["PUBSUB", "NUMSUB", channel]);
    let items = reply.as_array();
    assert_eq!(items.len(), 2, "{reply:?}");
    assert_eq!(items[0], bulk(channel));
    items[1].as_int()
}

#[test]
fn subscribe_confirmations() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        assert_eq!(
            cmd_n(&mut r, "SUBSCRIBE a b c", 3),
            vec![
                frame("subscribe", "a", 1),
                frame("subscribe", "b", 2),
                frame("subscribe", "c", 3),
            ]
        );
        // Subscribing again to a channel keeps the count; a new one adds.
        assert_eq!(
            cmd_n(&mut r, "SUBSCRIBE b d", 2),
            vec![frame("subscribe", "b", 3), frame("subscribe", "d", 4)]
        );
        // Patterns count in the same total.
        assert_eq!(
            cmd_n(&mut r, "PSUBSCRIBE x* y?", 2),
            vec![frame("psubscribe", "x*", 5), frame("psubscribe", "y?", 6)]
        );
        assert_eq!(
            cmd_n(&mut r, "UNSUBSCRIBE a nosuch", 2),
            vec![
                frame("unsubscribe", "a", 5),
                frame("unsubscribe", "nosuch", 5)
            ]
        );
        assert_eq!(
            cmd_n(&mut r, "PUNSUBSCRIBE y?", 1),
            vec![frame("punsubscribe", "y?", 4)]
        );
        // The remaining subscriptions still receive.
        let mut publisher = s.raw();
        publisher.check("PUBLISH a gone", int(0));
        publisher.check("PUBLISH b hello", int(1));
        publisher.check("PUBLISH xylophone tune", int(1));
        publisher.check("PUBLISH yz nothing", int(0));
        assert_eq!(r.read_reply(), message("b", "hello"));
        assert_eq!(r.read_reply(), pmessage("x*", "xylophone", "tune"));
    });
}

#[test]
fn messages_arrive_in_publish_order() {
    const N: usize = 1000;
    with_servers(&[], |s| {
        let mut sub = subscriber(s, &["ordered"]);
        let mut other = subscriber(s, &["ordered"]);
        let mut publisher = s.raw();
        // Half published one at a time, half pipelined in one write.
        for i in 0..N / 2 {
            publisher.check_cmd(&["PUBLISH", "ordered", &i.to_string()], int(2));
        }
        let mut batch = Vec::new();
        for i in N / 2..N {
            batch.extend(encode_cmd(&["PUBLISH", "ordered", &i.to_string()]));
        }
        publisher.send(&batch).unwrap();
        for reply in publisher.read_replies(N - N / 2) {
            assert_eq!(reply, int(2));
        }
        for r in [&mut sub, &mut other] {
            for i in 0..N {
                assert_eq!(r.read_reply(), message("ordered", &i.to_string()));
            }
        }
        // Nothing extra was delivered: the next frame is the PING reply.
        sub.check("PING", arr(vec![bulk("pong"), bulk("")]));
    });
}

#[test]
fn publish_counts_receivers_across_connections() {
    const SUBSCRIBERS: usize = 6;
    with_servers(&[], |s| {
        let mut publisher = s.raw();
        publisher.check("PUBLISH news nobody", int(0));
        let mut subs: Vec<Raw> = (0..SUBSCRIBERS)
            .map(|_| subscriber(s, &["news", "sport"]))
            .collect();
        // A pattern subscriber matching the channel counts too, and a
        // connection subscribed both ways receives (and counts) twice.
        let mut psub = s.raw();
        assert_eq!(
            cmd_n(&mut psub, "PSUBSCRIBE n*", 1),
            vec![frame("psubscribe", "n*", 1)]
        );
        let mut both = subscriber(s, &["news"]);
        assert_eq!(
            cmd_n(&mut both, "PSUBSCRIBE *s", 1),
            vec![frame("psubscribe", "*s", 2)]
        );
        let expected = SUBSCRIBERS as i64 + 3;
        publisher.check("PUBLISH news flash", int(expected));
        for r in subs.iter_mut() {
            assert_eq!(r.read_reply(), message("news", "flash"));
        }
        assert_eq!(psub.read_reply(), pmessage("n*", "news", "flash"));
        let got: HashSet<Reply> = both.read_replies(2).into_iter().collect();
        assert_eq!(
            got,
            HashSet::from([message("news", "flash"), pmessage("*s", "news", "flash")])
        );
        // Another connection publishing (maybe from another thread) counts the same.
        let mut publisher2 = s.raw();
        publisher2.check("PUBLISH sport goal", int(SUBSCRIBERS as i64));
        for r in subs.iter_mut() {
            assert_eq!(r.read_reply(), message("sport", "goal"));
        }
        // Publishing is for everyone: the subscribers' own db does not matter.
        publisher2.check("SELECT 5", ok());
        publisher2.check("PUBLISH news again", int(expected));
        for r in subs.iter_mut() {
            assert_eq!(r.read_reply(), message("news", "again"));
        }
        // Unsubscribing one connection lowers the count.
        assert_eq!(
            cmd_n(&mut subs[0], "UNSUBSCRIBE news", 1),
            vec![frame("unsubscribe", "news", 1)]
        );
        publisher.check("PUBLISH news later", int(expected - 1));
    });
}

#[test]
fn psubscribe_patterns_receive_pmessage() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        assert_eq!(
            cmd_n(&mut r, "PSUBSCRIBE news.* h?llo [ab]x", 3),
            vec![
                frame("psubscribe", "news.*", 1),
                frame("psubscribe", "h?llo", 2),
                frame("psubscribe", "[ab]x", 3),
            ]
        );
        let mut publisher = s.raw();
        publisher.check("PUBLISH news nope", int(0));
        publisher.check("PUBLISH other nope", int(0));
        publisher.check("PUBLISH news.tech one", int(1));
        publisher.check("PUBLISH hallo two", int(1));
        publisher.check("PUBLISH cx nope", int(0));
        publisher.check("PUBLISH bx three", int(1));
        publisher.check("PUBLISH news. four", int(1));
        assert_eq!(r.read_reply(), pmessage("news.*", "news.tech", "one"));
        assert_eq!(r.read_reply(), pmessage("h?llo", "hallo", "two"));
        assert_eq!(r.read_reply(), pmessage("[ab]x", "bx", "three"));
        assert_eq!(r.read_reply(), pmessage("news.*", "news.", "four"));
        // Two patterns matching the same channel: one pmessage each.
        assert_eq!(
            cmd_n(&mut r, "PSUBSCRIBE *", 1),
            vec![frame("psubscribe", "*", 4)]
        );
        publisher.check("PUBLISH hello five", int(2));
        let got: HashSet<Reply> = r.read_replies(2).into_iter().collect();
        assert_eq!(
            got,
            HashSet::from([
                pmessage("h?llo", "hello", "five"),
                pmessage("*", "hello", "five")
            ])
        );
        // PUNSUBSCRIBE with no arguments drops every pattern.
        let replies = cmd_n(&mut r, "PUNSUBSCRIBE", 4);
        let names: HashSet<String> = replies
            .iter()
            .map(|reply| {
                let items = reply.as_array();
                assert_eq!(items[0], bulk("punsubscribe"));
                items[1].as_string()
            })
            .collect();
        let counts: Vec<i64> = replies.iter().map(|r| r.as_array()[2].as_int()).collect();
        assert_eq!(counts, vec![3, 2, 1, 0]);
        assert_eq!(
            names,
            HashSet::from(["news.*", "h?llo", "[ab]x", "*"].map(String::from))
        );
        publisher.check("PUBLISH hello six", int(0));
        // No longer subscribed: ordinary commands work again.
        r.check("GET x", nil());
    });
}

#[test]
fn unsubscribe_without_arguments_drops_all() {
    with_servers(&[], |s| {
        let mut r = subscriber(s, &["a", "b", "c"]);
        assert_eq!(
            cmd_n(&mut r, "PSUBSCRIBE p*", 1),
            vec![frame("psubscribe", "p*", 4)]
        );
        let replies = cmd_n(&mut r, "UNSUBSCRIBE", 3);
        let mut names = HashSet::new();
        for (i, reply) in replies.iter().enumerate() {
            let items = reply.as_array();
            assert_eq!(items.len(), 3, "{reply:?}");
            assert_eq!(items[0], bulk("unsubscribe"));
            names.insert(items[1].as_string());
            // Counts go down one per channel; the pattern remains.
            assert_eq!(items[2], int(3 - i as i64), "{replies:?}");
        }
        assert_eq!(names, HashSet::from(["a", "b", "c"].map(String::from)));
        let mut publisher = s.raw();
        publisher.check("PUBLISH a x", int(0));
        // Still subscribed to the pattern: GET is refused.
        r.check("GET k", err(SUBSCRIBED_ERR));
        // UNSUBSCRIBE with nothing subscribed (channels): a null name, the count.
        assert_eq!(
            cmd_n(&mut r, "UNSUBSCRIBE", 1),
            vec![arr(vec![bulk("unsubscribe"), nil(), int(1)])]
        );
        assert_eq!(
            cmd_n(&mut r, "PUNSUBSCRIBE", 1),
            vec![frame("punsubscribe", "p*", 0)]
        );
        assert_eq!(
            cmd_n(&mut r, "PUNSUBSCRIBE", 1),
            vec![arr(vec![bulk("punsubscribe"), nil(), int(0)])]
        );
        publisher.check("PUBLISH pp x", int(0));
        // Out of the subscribed state: GET works.
        r.check("SET k v", ok());
        r.check("GET k", bulk("v"));
        r.check("PING", status("PONG"));
        // A connection that never subscribed gets the same null confirmations.
        let mut fresh = s.raw();
        assert_eq!(
            cmd_n(&mut fresh, "UNSUBSCRIBE", 1),
            vec![arr(vec![bulk("unsubscribe"), nil(), int(0)])]
        );
        fresh.check("GET k", bulk("v"));
    });
}

#[test]
fn resp2_subscribed_state_restrictions() {
    with_servers(&[], |s| {
        let mut r = subscriber(s, &["ch"]);
        r.check("GET k", err(SUBSCRIBED_ERR));
        r.check(
            "SET k v",
            err("ERR Can't execute 'set': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"),
        );
        r.check("PING", arr(vec![bulk("pong"), bulk("")]));
        r.check("PING hi", arr(vec![bulk("pong"), bulk("hi")]));
        // The refused commands did not run.
        let mut other = s.raw();
        other.check("EXISTS k", int(0));
        // Messages still flow, in order with replies.
        other.check("PUBLISH ch m1", int(1));
        assert_eq!(r.read_reply(), message("ch", "m1"));
        r.check("PING", arr(vec![bulk("pong"), bulk("")]));
        // RESET leaves the subscribed state.
        r.check("RESET", status("RESET"));
        other.check("PUBLISH ch m2", int(0));
        r.check("GET k", nil());
        r.check("PING", status("PONG"));
        // QUIT is allowed while subscribed.
        let mut q = subscriber(s, &["ch"]);
        q.check("QUIT", ok());
        q.expect_closed();
    });
}

#[test]
fn resp3_subscriber_gets_pushes_and_runs_commands() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        match r.run("HELLO 3") {
            Reply::Map(_) => {}
            other => panic!("HELLO 3 replied {other:?}"),
        }
        r.check(
            "SUBSCRIBE ch",
            Reply::Push(vec![bulk("subscribe"), bulk("ch"), int(1)]),
        );
        assert_eq!(
            cmd_n(&mut r, "PSUBSCRIBE c*", 1),
            vec![Reply::Push(vec![bulk("psubscribe"), bulk("c*"), int(2)])]
        );
        let mut other = s.raw();
        other.check("SET k v", ok());
        // Ordinary commands work while subscribed in RESP3.
        r.check("GET k", bulk("v"));
        r.check("SET k2 v2", ok());
        r.check("PING", status("PONG"));
        other.check("GET k2", bulk("v2"));
        other.check("PUBLISH ch hello", int(2));
        let got: HashSet<Reply> = r.read_replies(2).into_iter().collect();
        assert_eq!(
            got,
            HashSet::from([
                Reply::Push(vec![bulk("message"), bulk("ch"), bulk("hello")]),
                Reply::Push(vec![
                    bulk("pmessage"),
                    bulk("c*"),
                    bulk("ch"),
                    bulk("hello")
                ]),
            ])
        );
        other.check("PUBLISH cat meow", int(1));
        assert_eq!(
            r.read_reply(),
            Reply::Push(vec![
                bulk("pmessage"),
                bulk("c*"),
                bulk("cat"),
                bulk("meow")
            ])
        );
        // A reply after a push is still the command's own.
        r.check("GET k", bulk("v"));
        assert_eq!(
            cmd_n(&mut r, "UNSUBSCRIBE", 1),
            vec![Reply::Push(vec![bulk("unsubscribe"), bulk("ch"), int(1)])]
        );
        // Nothing left to unsubscribe: the name is a RESP3 null.
        assert_eq!(
            cmd_n(&mut r, "UNSUBSCRIBE", 1),
            vec![Reply::Push(vec![bulk("unsubscribe"), Reply::Null, int(1)])]
        );
        assert_eq!(
            cmd_n(&mut r, "PUNSUBSCRIBE", 1),
            vec![Reply::Push(vec![bulk("punsubscribe"), bulk("c*"), int(0)])]
        );
        other.check("PUBLISH ch bye", int(0));
        r.check("GET k", bulk("v"));
    });
}

#[test]
fn pubsub_introspection() {
    with_servers(&[], |s| {
        let mut q = s.raw();
        q.check("PUBSUB CHANNELS", arr(vec![]));
        q.check("PUBSUB NUMPAT", int(0));
        q.check("PUBSUB NUMSUB", arr(vec![]));
        let _a = subscriber(s, &["news.tech", "news.art", "weather"]);
        let _b = subscriber(s, &["news.tech"]);
        let _c = subscriber(s, &["news.tech", "sport"]);
        let mut p1 = s.raw();
        assert_eq!(
            cmd_n(&mut p1, "PSUBSCRIBE news.* w*", 2),
            vec![
                frame("psubscribe", "news.*", 1),
                frame("psubscribe", "w*", 2)
            ]
        );
        let mut p2 = s.raw();
        assert_eq!(
            cmd_n(&mut p2, "PSUBSCRIBE news.*", 1),
            vec![frame("psubscribe", "news.*", 1)]
        );
        assert_eq!(
            q.run("PUBSUB CHANNELS").as_string_set(),
            HashSet::from(["news.tech", "news.art", "weather", "sport"].map(String::from))
        );
        assert_eq!(
            q.run("PUBSUB CHANNELS news.*").as_string_set(),
            HashSet::from(["news.tech", "news.art"].map(String::from))
        );
        q.check("PUBSUB CHANNELS nomatch*", arr(vec![]));
        // NUMSUB counts channel subscribers only, in argument order.
        q.check(
            "PUBSUB NUMSUB news.tech news.art sport nosuch news.tech",
            arr(vec![
                bulk("news.tech"),
                int(3),
                bulk("news.art"),
                int(1),
                bulk("sport"),
                int(1),
                bulk("nosuch"),
                int(0),
                bulk("news.tech"),
                int(3),
            ]),
        );
        // NUMPAT counts distinct patterns.
        q.check("PUBSUB NUMPAT", int(2));
        assert_eq!(
            cmd_n(&mut p1, "PUNSUBSCRIBE news.*", 1),
            vec![frame("punsubscribe", "news.*", 1)]
        );
        q.check("PUBSUB NUMPAT", int(2));
        assert_eq!(
            cmd_n(&mut p2, "PUNSUBSCRIBE news.*", 1),
            vec![frame("punsubscribe", "news.*", 0)]
        );
        q.check("PUBSUB NUMPAT", int(1));
        assert_eq!(numsub(&mut q, "news.tech"), 3);
    });
}

#[test]
fn closed_subscriber_no_longer_counts() {
    with_servers(&[], |s| {
        let mut publisher = s.raw();
        let mut stays = subscriber(s, &["ch"]);
        let leaving: Vec<Raw> = (0..3).map(|_| subscriber(s, &["ch"])).collect();
        let mut pleaving = s.raw();
        assert_eq!(
            cmd_n(&mut pleaving, "PSUBSCRIBE c*", 1),
            vec![frame("psubscribe", "c*", 1)]
        );
        publisher.check("PUBLISH ch one", int(5));
        publisher.check("PUBSUB NUMPAT", int(1));
        assert_eq!(numsub(&mut publisher, "ch"), 4);
        drop(leaving);
        drop(pleaving);
        wait_for(
            "closed subscribers to be forgotten",
            Duration::from_secs(10),
            || {
                (numsub(&mut publisher, "ch") == 1 && publisher.run("PUBSUB NUMPAT") == int(0))
                    .then_some(())
            },
        );
        publisher.check("PUBLISH ch two", int(1));
        publisher.check("PUBSUB CHANNELS", Reply::bulks(&["ch"]));
        assert_eq!(stays.read_reply(), message("ch", "one"));
        assert_eq!(stays.read_reply(), message("ch", "two"));
        drop(stays);
        wait_for("the last subscriber to go", Duration::from_secs(10), || {
            (publisher.run("PUBLISH ch three") == int(0)).then_some(())
        });
        publisher.check("PUBSUB CHANNELS", arr(vec![]));
    });
}

#[test]
fn publish_and_subscribe_inside_multi() {
    with_servers(&[], |s| {
        let mut sub = subscriber(s, &["ch"]);
        let mut r = s.raw();
        r.check("MULTI", ok());
        r.check("SET k v", status("QUEUED"));
        r.check("PUBLISH ch m", status("QUEUED"));
        r.check("PUBSUB NUMSUB ch", status("QUEUED"));
        r.check(
            "EXEC",
            arr(vec![ok(), int(1), arr(vec![bulk("ch"), int(1)])]),
        );
        assert_eq!(sub.read_reply(), message("ch", "m"));
        // SUBSCRIBE queued in a transaction takes effect at EXEC.
        r.check("MULTI", ok());
        r.check("SUBSCRIBE x", status("QUEUED"));
        r.check("EXEC", arr(vec![frame("subscribe", "x", 1)]));
        r.check("GET k", err(SUBSCRIBED_ERR));
        let mut publisher = s.raw();
        publisher.check("PUBLISH x hi", int(1));
        assert_eq!(r.read_reply(), message("x", "hi"));
        assert_eq!(
            cmd_n(&mut r, "UNSUBSCRIBE", 1),
            vec![frame("unsubscribe", "x", 0)]
        );
        r.check("GET k", bulk("v"));
    });
}

/// Redis 7.0 words PUBSUB's unknown-subcommand and fixed-arity subcommand
/// errors like every container command; damselfly still uses the Redis 6
/// wording (crates/server/src/commands/pubsub.rs, last arm of `pubsub`).
#[test]
fn pubsub_subcommand_errors() {
    with_servers(&[], |s| {
        let mut r = s.raw();
        r.check(
            "PUBSUB NOPE",
            err("ERR unknown subcommand 'NOPE'. Try PUBSUB HELP."),
        );
        r.check(
            "PUBSUB NUMPAT x",
            err("ERR wrong number of arguments for 'pubsub|numpat' command"),
        );
        r.check(
            "PUBSUB HELP x",
            err("ERR wrong number of arguments for 'pubsub|help' command"),
        );
        // CHANNELS has a variable arity: PUBSUB itself words that one.
        r.check(
            "PUBSUB CHANNELS a b",
            err("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."),
        );
        r.check("PUBSUB", arity_err("pubsub"));
    });
}
