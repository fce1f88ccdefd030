//! Stress: a write that arrives right after clients block never leaves one of them blocked while
//! a key it waits on could serve it, and no element is lost or served twice (issue 9, item 3).
//!
//! Every blocking command runs many rounds against one server per shard count (2 and 4; once
//! against redis-server). A round opens new connections, sends each waiter's blocking command and
//! then, with no pause, the pushes from a third connection. The round then waits for events (the
//! waiters' replies, INFO `blocked_clients` and the keys' contents), never a fixed sleep, until it
//! has *settled*: the server counts at least as many blocked clients as there are waiters without
//! a reply (at least: clients that left in an earlier round may still be counted until the
//! server notices), and none of the keys such a waiter waits on holds anything it could take. A waiter still unanswered at the deadline
//! while one of its keys holds data is *stranded*. The waiters left blocked legitimately are then
//! fed one element each until all have replied, which races the same way, and the round checks
//! that every pushed element was received by exactly one client or is still in its key.
//!
//! The rounds of a command cycle through its variants: two waiters on one tagged key; waiters on
//! several keys without a common tag (so on several shards, and for the moves a destination on
//! another shard than the source); and for BLMOVE/BRPOPLPUSH a first waiter whose destination
//! holds a string, so serving it fails with WRONGTYPE, the element stays and the next waiter
//! gets it (same shard and across shards); and `Leave`: the same key every round, whose
//! leftover waiters disconnect instead of being fed, so the next round's waiters queue behind
//! clients the server has not yet noticed leaving (the report's situation). There an element
//! may be lost to a client that left, as in Redis; the check allows one per such client.
//!
//! Short form (CI): `cargo test --release --test blocking_race`.
//! Long form: `DAMSELFLY_RACE_ROUNDS=10000 cargo test --release --test blocking_race -- --nocapture`
//! (rounds per command per shard count). `DAMSELFLY_RACE_VARIANTS=Leave,Fail` keeps only those
//! variants; `DAMSELFLY_TEST_AGAINST_REDIS=1` runs it against redis-server.
mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Rounds per command and shard count when `DAMSELFLY_RACE_ROUNDS` is not set.
const DEFAULT_ROUNDS: usize = 300;
/// How long a round may take to settle before a waiter counts as stranded.
const SETTLE_DEADLINE: Duration = Duration::from_secs(3);
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn rounds() -> usize {
    std::env::var("DAMSELFLY_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

fn shard_counts() -> Vec<usize> {
    if against_redis() {
        vec![1]
    } else {
        vec![2, 4]
    }
}

/// What the waited-on keys hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    List,
    Zset,
    /// XREAD from id 0-0: any entry serves every reader.
    Stream,
    /// XREADGROUP `>`: each entry is delivered to one consumer.
    Group,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// Two waiters on one tagged key.
    Same,
    /// Three waiters on three untagged keys (moves: one source, untagged destinations).
    Spread,
    /// Moves: the first waiter's destination holds a string; tagged keys.
    Fail,
    /// Moves: as `Fail`, with untagged keys (the destinations likely on other shards).
    SpreadFail,
    /// As `Fail` for the moves and `Same` for the others, but every round uses the same source
    /// key, and the waiters left blocked just disconnect: the next round's waiters queue behind
    /// them until the server notices they left.
    Leave,
}

#[derive(Clone, Copy)]
struct Command {
    name: &'static str,
    kind: Kind,
}

impl Command {
    fn moves(&self) -> bool {
        matches!(self.name, "BLMOVE" | "BRPOPLPUSH")
    }

    /// The variants its rounds cycle through (`DAMSELFLY_RACE_VARIANTS=Leave,Fail` keeps only
    /// those, for a closer look at one of them).
    fn variants(&self) -> Vec<Variant> {
        let only = std::env::var("DAMSELFLY_RACE_VARIANTS").unwrap_or_default();
        let all: &[Variant] = if self.moves() {
            &[
                Variant::Same,
                Variant::Fail,
                Variant::Spread,
                Variant::SpreadFail,
                Variant::Leave,
            ]
        } else {
            &[Variant::Same, Variant::Spread, Variant::Leave]
        };
        let chosen: Vec<Variant> = all
            .iter()
            .copied()
            .filter(|v| only.split(',').any(|name| name == format!("{v:?}")))
            .collect();
        if chosen.is_empty() {
            all.to_vec()
        } else {
            chosen
        }
    }
}

/// A connection whose replies are read without blocking the round.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(server: &Server) -> Client {
        Client {
            stream: server.raw().stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, args: &[String]) {
        self.stream
            .write_all(&encode_cmd(args))
            .expect("send a command");
    }

    /// A reply if one arrives within `wait` (zero: only what is already there).
    fn try_reply(&mut self, wait: Duration) -> Option<Reply> {
        let mut chunk = [0u8; 16 * 1024];
        let mut waited = false;
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Some(reply);
                }
                Ok(None) => {}
                Err(e) => panic!("malformed reply: {e}"),
            }
            if waited {
                return None;
            }
            let read = if wait.is_zero() {
                self.stream.set_nonblocking(true).expect("nonblocking");
                let read = self.stream.read(&mut chunk);
                self.stream.set_nonblocking(false).expect("blocking");
                read
            } else {
                self.stream
                    .set_read_timeout(Some(wait))
                    .expect("read timeout");
                let read = self.stream.read(&mut chunk);
                self.stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .expect("read timeout");
                read
            };
            match read {
                Ok(0) => panic!("the server closed a waiter's connection"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    waited = true
                }
                Err(e) => panic!("reading a waiter's reply: {e}"),
            }
        }
    }

    fn reply(&mut self) -> Reply {
        self.try_reply(IO_TIMEOUT)
            .expect("a reply within the I/O timeout")
    }

    /// Sends commands as one pipeline and reads their replies.
    fn pipeline(&mut self, commands: &[Vec<String>]) -> Vec<Reply> {
        let mut bytes = Vec::new();
        for command in commands {
            bytes.extend(encode_cmd(command));
        }
        self.stream.write_all(&bytes).expect("send a pipeline");
        commands.iter().map(|_| self.reply()).collect()
    }
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// One blocked client of a round.
struct Waiter {
    client: Client,
    command: Vec<String>,
    keys: Vec<String>,
    /// Its move's destination (moves only).
    destination: Option<String>,
    /// Serving it fails with WRONGTYPE.
    fails: bool,
    reply: Option<Reply>,
}

/// One round: its keys, waiters and what was pushed.
struct Round<'a> {
    command: Command,
    control: &'a mut Client,
    /// A new connection too, so it lands on any shard.
    pusher: Client,
    keys: Vec<String>,
    waiters: Vec<Waiter>,
    /// Elements (list values, zset members, stream ids) pushed to the keys, in order.
    pushed: Vec<String>,
    next_element: usize,
    /// Streams whose XADD has not answered yet, in order.
    adding: VecDeque<String>,
    tag: String,
    leave: bool,
    /// Leave: what earlier rounds left in the reused key, and how many of their waiters left
    /// while blocked (each may have been served an element just before it was seen leaving).
    carried: Vec<String>,
    stale: usize,
}

/// Why a round went wrong.
enum Failure {
    Stranded(String),
    Wrong(String),
}

impl<'a> Round<'a> {
    /// `generation`: the reused key of `Leave` rounds changes after a stranded round.
    fn new(
        server: &'a Server,
        control: &'a mut Client,
        command: Command,
        variant: Variant,
        round: usize,
        generation: usize,
    ) -> Round<'a> {
        let tag = format!("{}:{round}", command.name);
        let leave = variant == Variant::Leave;
        let tagged = matches!(variant, Variant::Same | Variant::Fail | Variant::Leave);
        let key = |i: usize| match (leave, tagged) {
            (true, _) => format!("{{{}:leave{generation}}}k{i}", command.name),
            (false, true) => format!("{{{tag}}}k{i}"),
            (false, false) => format!("{tag}:k{i}"),
        };
        let waiter_count = if tagged { 2 } else { 3 };
        let keys: Vec<String> = if tagged || command.moves() {
            vec![key(0)]
        } else {
            (0..3).map(key).collect()
        };
        let mut setup = Vec::new();
        if command.kind == Kind::Stream && leave {
            // Every reader gets every entry from 0-0: without trimming, a reused stream would
            // make each round read all earlier rounds' entries.
            setup.push(words(&format!("XTRIM {} MAXLEN 0", key(0))));
        }
        if command.kind == Kind::Group {
            for key in &keys {
                setup.push(words(&format!("XGROUP CREATE {key} g $ MKSTREAM")));
            }
        }
        let mut plans = Vec::new();
        for i in 0..waiter_count {
            // Each waiter lists the keys in another order.
            let mut mine = keys.clone();
            mine.rotate_left(i % keys.len());
            let fails = i == 0
                && matches!(
                    variant,
                    Variant::Fail | Variant::SpreadFail | Variant::Leave
                );
            // Each round has its own destinations (which must hold just what they received).
            let destination = command.moves().then(|| match (leave, tagged) {
                (true, _) => format!("{{{}:leave{generation}}}{round}:d{i}", command.name),
                (false, true) => format!("{{{tag}}}d{i}"),
                (false, false) => format!("{tag}:d{i}"),
            });
            if let (true, Some(destination)) = (fails, &destination) {
                setup.push(vec!["SET".into(), destination.clone(), "string".into()]);
            }
            let list = mine.join(" ");
            let n = mine.len();
            let line = match command.name {
                "BLPOP" | "BRPOP" | "BZPOPMIN" | "BZPOPMAX" => {
                    format!("{} {list} 0", command.name)
                }
                "BLMPOP" => format!("BLMPOP 0 {n} {list} LEFT"),
                "BZMPOP" => format!("BZMPOP 0 {n} {list} MIN"),
                "BLMOVE" => format!(
                    "BLMOVE {list} {} RIGHT LEFT 0",
                    destination.clone().unwrap_or_default()
                ),
                "BRPOPLPUSH" => format!(
                    "BRPOPLPUSH {list} {} 0",
                    destination.clone().unwrap_or_default()
                ),
                "XREAD" => format!("XREAD BLOCK 0 STREAMS {list}{}", " 0-0".repeat(n)),
                "XREADGROUP" => format!(
                    "XREADGROUP GROUP g c{i} BLOCK 0 STREAMS {list}{}",
                    " >".repeat(n)
                ),
                other => panic!("no plan for {other}"),
            };
            plans.push((words(&line), mine, destination, fails));
        }
        if !setup.is_empty() {
            for reply in control.pipeline(&setup) {
                // A reused stream has its group already.
                let busy = matches!(&reply, Reply::Error(e) if e.starts_with("BUSYGROUP"));
                assert!(!reply.is_error() || busy, "setup failed: {reply:?}");
            }
        }
        let waiters = plans
            .into_iter()
            .map(|(command, keys, destination, fails)| Waiter {
                client: Client::connect(server),
                command,
                keys,
                destination,
                fails,
                reply: None,
            })
            .collect();
        Round {
            command,
            control,
            pusher: Client::connect(server),
            keys,
            waiters,
            pushed: Vec::new(),
            next_element: 0,
            adding: VecDeque::new(),
            tag,
            leave,
            carried: Vec::new(),
            stale: 0,
        }
    }

    /// The command that adds one new element to `key`; its reply is noted by `note_pushed`.
    fn push_command(&mut self, key: &str) -> Vec<String> {
        let element = format!("{}:e{}", self.tag, self.next_element);
        self.next_element += 1;
        let line = match self.command.kind {
            Kind::List => format!("RPUSH {key} {element}"),
            Kind::Zset => format!("ZADD {key} {} {element}", self.next_element),
            Kind::Stream | Kind::Group => format!("XADD {key} * f {element}"),
        };
        match self.command.kind {
            Kind::List | Kind::Zset => self.pushed.push(element),
            // Stream ids are only unique per stream: noted as `key/id` once XADD answers.
            Kind::Stream | Kind::Group => self.adding.push_back(key.to_string()),
        }
        words(&line)
    }

    fn note_pushed(&mut self, reply: Reply) -> Result<(), Failure> {
        match (self.command.kind, reply) {
            (Kind::Stream | Kind::Group, Reply::Bulk(id)) => {
                let key = self.adding.pop_front().unwrap_or_default();
                self.pushed
                    .push(format!("{key}/{}", String::from_utf8_lossy(&id)));
                Ok(())
            }
            (Kind::List | Kind::Zset, Reply::Int(_)) => Ok(()),
            (_, other) => Err(Failure::Wrong(format!("a push replied {other:?}"))),
        }
    }

    /// The race: every waiter's command, then at once the pushes; then settle.
    fn run(&mut self, round: usize) -> Result<(), Failure> {
        // One element or two, alternating every four rounds (so across every variant).
        let two = (round / 4) % 2 == 1;
        let pushes: Vec<Vec<String>> = if self.keys.len() == 1 {
            let key = self.keys[0].clone();
            (0..1 + usize::from(two))
                .map(|_| self.push_command(&key))
                .collect()
        } else {
            let first = self.keys[round % self.keys.len()].clone();
            let second = self.keys[(round + 1) % self.keys.len()].clone();
            let mut pushes = vec![self.push_command(&first)];
            if two {
                pushes.push(self.push_command(&second));
            }
            pushes
        };
        for waiter in &mut self.waiters {
            waiter.client.send(&waiter.command);
        }
        let mut bytes = Vec::new();
        for push in &pushes {
            bytes.extend(encode_cmd(push));
        }
        self.pusher
            .stream
            .write_all(&bytes)
            .expect("send the pushes");
        for push in &pushes {
            let Some(reply) = self.pusher.try_reply(IO_TIMEOUT) else {
                return Err(Failure::Wrong(format!(
                    "{push:?} on a new connection got no reply within {IO_TIMEOUT:?}"
                )));
            };
            self.note_pushed(reply)?;
        }
        self.settle()?;
        if self.leave {
            return self.account();
        }
        // Feed the waiters still blocked (legitimately: nothing was left for them) until all
        // have replied; each feed races with their wake-up the same way.
        for _ in 0..10 {
            let unanswered: Vec<String> = self
                .waiters
                .iter()
                .filter(|w| w.reply.is_none())
                .map(|w| w.keys[0].clone())
                .collect();
            if unanswered.is_empty() {
                return self.account();
            }
            let feeds: Vec<Vec<String>> = unanswered
                .iter()
                .map(|key| self.push_command(key))
                .collect();
            for reply in self.pusher.pipeline(&feeds) {
                self.note_pushed(reply)?;
            }
            self.settle()?;
        }
        Err(Failure::Wrong(
            "waiters still blocked after 10 feeds".to_string(),
        ))
    }

    /// Reads the waiters' replies until no waiter is left blocked while one of its keys holds
    /// something for it, and the server counts exactly the unanswered waiters as blocked.
    fn settle(&mut self) -> Result<(), Failure> {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        loop {
            for waiter in &mut self.waiters {
                if waiter.reply.is_none() {
                    waiter.reply = waiter.client.try_reply(Duration::ZERO);
                }
            }
            let unanswered: Vec<usize> = (0..self.waiters.len())
                .filter(|&i| self.waiters[i].reply.is_none())
                .collect();
            if unanswered.is_empty() {
                return Ok(());
            }
            let (blocked, with_data) = self.observe();
            let stranded: Vec<usize> = unanswered
                .iter()
                .copied()
                .filter(|&i| self.waiters[i].keys.iter().any(|k| with_data.contains(k)))
                .collect();
            // At least: waiters that left in an earlier round may still count as blocked until
            // the server notices.
            if stranded.is_empty() && blocked >= unanswered.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let shown: Vec<String> = stranded
                    .iter()
                    .map(|&i| self.waiters[i].command.join(" "))
                    .collect();
                return Err(if stranded.is_empty() {
                    Failure::Wrong(format!(
                        "{blocked} blocked clients, {} waiters unanswered",
                        unanswered.len()
                    ))
                } else {
                    Failure::Stranded(format!(
                        "still blocked while their keys hold data: {shown:?} (keys with data: {with_data:?}, {blocked} blocked)"
                    ))
                });
            }
            // Wait for the next reply (or a short while, then look at the server again).
            let first = unanswered[0];
            let waiter = &mut self.waiters[first];
            waiter.reply = waiter.client.try_reply(Duration::from_millis(2));
        }
    }

    /// After a stranded round: how long the unanswered waiters still take to get a reply (up to
    /// `limit`), which tells a slow wake-up from one that never comes.
    fn late_replies(&mut self, limit: Duration) -> String {
        let started = Instant::now();
        let mut late = Vec::new();
        for waiter in self.waiters.iter_mut().filter(|w| w.reply.is_none()) {
            let left = limit.saturating_sub(started.elapsed());
            late.push(
                match waiter.client.try_reply(left.max(Duration::from_millis(1))) {
                    Some(reply) => {
                        format!("{reply:?} {:.1} s later", started.elapsed().as_secs_f64())
                    }
                    None => "no reply".to_string(),
                },
            );
        }
        late.join(", ")
    }

    /// INFO blocked_clients and the keys holding something a waiter could take.
    fn observe(&mut self) -> (usize, BTreeSet<String>) {
        let mut queries = vec![words("INFO clients")];
        for key in &self.keys {
            queries.push(match self.command.kind {
                Kind::List => vec!["LLEN".into(), key.clone()],
                Kind::Zset => vec!["ZCARD".into(), key.clone()],
                Kind::Stream => vec!["XLEN".into(), key.clone()],
                Kind::Group => vec!["XINFO".into(), "GROUPS".into(), key.clone()],
            });
        }
        let replies = self.control.pipeline(&queries);
        let blocked = info_number(&replies[0], "blocked_clients");
        let mut with_data = BTreeSet::new();
        for (key, reply) in self.keys.clone().iter().zip(&replies[1..]) {
            let has = match self.command.kind {
                Kind::Group => !self.undelivered(key, reply).is_empty(),
                _ => reply.as_int() > 0,
            };
            if has {
                with_data.insert(key.clone());
            }
        }
        (blocked, with_data)
    }

    /// The ids of `key` not yet delivered to group `g` (`groups`: XINFO GROUPS of the key).
    fn undelivered(&mut self, key: &str, groups: &Reply) -> Vec<String> {
        let last = last_delivered_id(groups);
        let reply = self.control.pipeline(&[vec![
            "XRANGE".into(),
            key.to_string(),
            format!("({last}"),
            "+".into(),
        ]]);
        reply[0]
            .as_array()
            .iter()
            .map(|entry| format!("{key}/{}", entry.as_array()[0].as_string()))
            .collect()
    }

    /// Every pushed element was received by exactly one waiter or is still in its key; replies
    /// have their command's shape; a move's destination holds what it received.
    fn account(&mut self) -> Result<(), Failure> {
        let mut received: Vec<String> = Vec::new();
        let wrong = |what: String| Err(Failure::Wrong(what));
        let waiters = std::mem::take(&mut self.waiters);
        for waiter in &waiters {
            let command = waiter.command.join(" ");
            let Some(reply) = waiter.reply.clone() else {
                if self.leave {
                    continue;
                }
                return wrong(format!("{command} never replied"));
            };
            if let Reply::Error(error) = &reply {
                if waiter.fails && error == WRONGTYPE {
                    continue;
                }
                return wrong(format!("{command} replied {error}"));
            }
            let got = match elements(self.command, &reply) {
                Some(got) if !got.is_empty() => got,
                _ => return wrong(format!("{command} replied {reply:?}")),
            };
            if let Some(destination) = &waiter.destination {
                let reply = self.control.pipeline(&[vec![
                    "LRANGE".into(),
                    destination.clone(),
                    "0".into(),
                    "-1".into(),
                ]]);
                if waiter.fails || reply[0].as_strings() != got {
                    return wrong(format!(
                        "{command} received {got:?}; its destination holds {:?}",
                        reply[0]
                    ));
                }
            }
            received.extend(got);
        }
        self.waiters = waiters;
        let mut pushed_all = std::mem::take(&mut self.carried);
        pushed_all.extend(self.pushed.iter().cloned());
        if self.command.kind == Kind::Stream {
            // Non-consuming reads: each reader gets entries that were pushed (a reused stream is
            // trimmed at the start of each round, so nothing is carried over).
            let pushed: BTreeSet<&String> = pushed_all.iter().collect();
            return match received.iter().find(|id| !pushed.contains(id)) {
                Some(id) => wrong(format!("a reader received {id}, never pushed")),
                None => Ok(()),
            };
        }
        let mut left = Vec::new();
        for key in self.keys.clone() {
            let query = match self.command.kind {
                Kind::List => vec!["LRANGE".into(), key.clone(), "0".into(), "-1".into()],
                Kind::Zset => vec!["ZRANGE".into(), key.clone(), "0".into(), "-1".into()],
                _ => vec!["XINFO".into(), "GROUPS".into(), key.clone()],
            };
            let reply = self.control.pipeline(&[query]).remove(0);
            match self.command.kind {
                Kind::Group => left.extend(self.undelivered(&key, &reply)),
                _ => left.extend(reply.as_strings()),
            }
        }
        let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
        for element in received.iter().chain(&left) {
            *counts.entry(element).or_default() += 1;
        }
        let pushed: BTreeSet<&String> = pushed_all.iter().collect();
        let seen: BTreeSet<&String> = counts.keys().copied().collect();
        // Only a waiter that left may have taken an element nobody received.
        let unanswered = self.waiters.iter().filter(|w| w.reply.is_none()).count();
        let lost = pushed.difference(&seen).count();
        let may_lose = self.stale + unanswered;
        if counts.values().any(|&n| n != 1) || !seen.is_subset(&pushed) || lost > may_lose {
            return wrong(format!(
                "pushed {pushed_all:?}, received {received:?}, left in the keys {left:?}"
            ));
        }
        self.carried = left;
        Ok(())
    }
}

/// The elements (values, members or stream ids) a blocking command's reply carries.
fn elements(command: Command, reply: &Reply) -> Option<Vec<String>> {
    let Reply::Array(items) = reply else {
        return match reply {
            Reply::Bulk(value) if command.moves() => {
                Some(vec![String::from_utf8_lossy(value).into_owned()])
            }
            _ => None,
        };
    };
    match command.name {
        "BLPOP" | "BRPOP" | "BZPOPMIN" | "BZPOPMAX" => Some(vec![items.get(1)?.as_string()]),
        "BLMPOP" => Some(items.get(1)?.as_strings()),
        "BZMPOP" => Some(
            items
                .get(1)?
                .as_array()
                .iter()
                .map(|pair| pair.as_array()[0].as_string())
                .collect(),
        ),
        "XREAD" | "XREADGROUP" => Some(
            items
                .iter()
                .flat_map(|stream| {
                    let key = stream.as_array()[0].as_string();
                    stream.as_array()[1]
                        .as_array()
                        .iter()
                        .map(move |entry| format!("{key}/{}", entry.as_array()[0].as_string()))
                })
                .collect(),
        ),
        _ => None,
    }
}

fn info_number(info: &Reply, name: &str) -> usize {
    let text = match info {
        Reply::Bulk(bytes) | Reply::Verbatim(_, bytes) => String::from_utf8_lossy(bytes),
        other => panic!("INFO replied {other:?}"),
    };
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("INFO has no {name}"))
}

/// `last-delivered-id` of group `g` in an XINFO GROUPS reply.
fn last_delivered_id(groups: &Reply) -> String {
    for group in groups.as_array() {
        let fields: Vec<(Reply, Reply)> = match group {
            Reply::Map(pairs) => pairs.clone(),
            Reply::Array(flat) => flat
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .collect(),
            _ => continue,
        };
        if let Some((_, id)) = fields
            .iter()
            .find(|(name, _)| name.as_bytes() == b"last-delivered-id")
        {
            return id.as_string();
        }
    }
    panic!("no group in {groups:?}")
}

/// Runs the rounds of one command with every shard count; fails on any stranded client.
fn race(name: &'static str, kind: Kind) {
    let command = Command { name, kind };
    let rounds = rounds();
    let mut report = Vec::new();
    for shards in shard_counts() {
        let server = Server::start(shards, &[]);
        let mut control = Client::connect(&server);
        let started = Instant::now();
        let mut stranded = Vec::new();
        // What the Leave rounds pass on to the next one.
        let (mut generation, mut carried, mut stale) = (0, Vec::new(), 0);
        let variants = command.variants();
        for round in 0..rounds {
            let variant = variants[round % variants.len()];
            let mut race = Round::new(&server, &mut control, command, variant, round, generation);
            if variant == Variant::Leave {
                race.carried = std::mem::take(&mut carried);
                race.stale = stale;
            }
            match race.run(round) {
                Ok(()) if variant == Variant::Leave => {
                    carried = std::mem::take(&mut race.carried);
                    stale = race.waiters.iter().filter(|w| w.reply.is_none()).count();
                }
                Ok(()) => {}
                Err(Failure::Stranded(what)) => {
                    let late = race.late_replies(Duration::from_secs(20));
                    stranded.push(format!("round {round} ({variant:?}): {what}; then: {late}"));
                    (generation, carried, stale) = (generation + 1, Vec::new(), 0);
                    // Its clients leave; wait until the server has let them go.
                    drop(race);
                    wait_for("stranded clients to leave", Duration::from_secs(10), || {
                        let info = control.pipeline(&[words("INFO clients")]);
                        (info_number(&info[0], "blocked_clients") == 0).then_some(())
                    });
                }
                Err(Failure::Wrong(what)) => {
                    panic!("{name}, {shards} shards, round {round} ({variant:?}): {what}")
                }
            }
        }
        let line = format!(
            "{name}: {shards} shard(s), {rounds} rounds, {} stranded, {:.1} s",
            stranded.len(),
            started.elapsed().as_secs_f64()
        );
        eprintln!("{line}");
        for what in stranded.iter().take(5) {
            eprintln!("  {what}");
        }
        report.push((line, stranded.len()));
    }
    let failed: Vec<&String> = report
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(line, _)| line)
        .collect();
    assert!(failed.is_empty(), "stranded clients: {failed:?}");
}

#[test]
fn blpop() {
    race("BLPOP", Kind::List);
}

#[test]
fn brpop() {
    race("BRPOP", Kind::List);
}

#[test]
fn blmove() {
    race("BLMOVE", Kind::List);
}

#[test]
fn brpoplpush() {
    race("BRPOPLPUSH", Kind::List);
}

#[test]
fn blmpop() {
    race("BLMPOP", Kind::List);
}

#[test]
fn bzpopmin() {
    race("BZPOPMIN", Kind::Zset);
}

#[test]
fn bzpopmax() {
    race("BZPOPMAX", Kind::Zset);
}

#[test]
fn bzmpop() {
    race("BZMPOP", Kind::Zset);
}

#[test]
fn xread_block() {
    race("XREAD", Kind::Stream);
}

#[test]
fn xreadgroup_block() {
    race("XREADGROUP", Kind::Group);
}
