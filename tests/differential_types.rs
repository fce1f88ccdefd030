//! Differential testing over every data type: seeded random command sequences (lists, hashes,
//! sets, sorted sets, streams, strings, keys, MULTI/EXEC) run against the server under test and a
//! real redis-server; every reply must be identical, unordered replies compared as sets and random
//! picks by their size, and the final DEBUG DIGEST must match.
mod common;

use common::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Keys of several shards, and a `{tag}` pair that always shares one.
const KEYS: &[&str] = &["a", "b", "c", "k1", "k2", "{t}x", "{t}y", "z"];
const MEMBERS: &[&str] = &[
    "1",
    "2",
    "10",
    "-3",
    "m",
    "n",
    "hello",
    "",
    "x y",
    "99999999999",
];
const SCORES: &[&str] = &[
    "0", "1", "-1", "2.5", "1e3", "inf", "-inf", "nan", "abc", "(1",
];
const INDEXES: &[&str] = &["0", "1", "-1", "2", "-2", "5", "-100", "100", "x"];

/// Commands whose replies come in no defined order: compared as sorted lists.
const UNORDERED: &[&str] = &[
    "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "SSCAN", "HSCAN",
];
/// Random picks: only the reply's length (or kind) is compared.
const RANDOM: &[&str] = &["SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER"];

struct Gen(StdRng);

impl Gen {
    fn pick(&mut self, from: &[&str]) -> String {
        from.choose(&mut self.0)
            .map_or_else(String::new, |s| s.to_string())
    }

    fn key(&mut self) -> String {
        self.pick(KEYS)
    }

    fn member(&mut self) -> String {
        self.pick(MEMBERS)
    }

    fn members(&mut self, max: usize) -> Vec<String> {
        let n = self.0.gen_range(1..=max);
        (0..n).map(|_| self.member()).collect()
    }

    fn command(&mut self) -> Vec<String> {
        let k = self.key();
        let words: Vec<String> = match self.0.gen_range(0..60) {
            0..=2 => [vec!["LPUSH".into(), k], self.members(4)].concat(),
            3..=4 => [vec!["RPUSH".into(), k], self.members(4)].concat(),
            5 => vec!["LPOP".into(), k, self.pick(&["1", "2", "0"])],
            6 => vec!["RPOP".into(), k],
            7 => vec!["LRANGE".into(), k, self.pick(INDEXES), self.pick(INDEXES)],
            8 => vec!["LINDEX".into(), k, self.pick(INDEXES)],
            9 => vec!["LSET".into(), k, self.pick(INDEXES), self.member()],
            10 => vec!["LREM".into(), k, self.pick(INDEXES), self.member()],
            11 => vec!["LTRIM".into(), k, self.pick(INDEXES), self.pick(INDEXES)],
            12 => vec![
                "LINSERT".into(),
                k,
                self.pick(&["BEFORE", "AFTER"]),
                self.member(),
                self.member(),
            ],
            13 => vec!["LPOS".into(), k, self.member()],
            14 => vec![
                "LMOVE".into(),
                k,
                self.key(),
                self.pick(&["LEFT", "RIGHT"]),
                self.pick(&["LEFT", "RIGHT"]),
            ],
            15 => vec!["LMPOP".into(), "2".into(), k, self.key(), "LEFT".into()],
            16..=18 => {
                let mut w = vec!["HSET".into(), k];
                for _ in 0..self.0.gen_range(1..3) {
                    w.push(self.member());
                    w.push(self.member());
                }
                w
            }
            19 => vec!["HGET".into(), k, self.member()],
            20 => [vec!["HDEL".into(), k], self.members(3)].concat(),
            21 => vec!["HGETALL".into(), k],
            22 => vec!["HINCRBY".into(), k, self.member(), self.pick(INDEXES)],
            23 => vec!["HINCRBYFLOAT".into(), k, self.member(), self.pick(SCORES)],
            24 => vec![self.pick(&["HKEYS", "HVALS", "HLEN"]), k],
            25 => vec!["HRANDFIELD".into(), k, self.pick(&["2", "-3"])],
            26..=28 => [vec!["SADD".into(), k], self.members(4)].concat(),
            29 => [vec!["SREM".into(), k], self.members(2)].concat(),
            30 => vec![self.pick(&["SMEMBERS", "SCARD"]), k],
            31 => vec!["SISMEMBER".into(), k, self.member()],
            32 => vec![self.pick(&["SINTER", "SUNION", "SDIFF"]), k, self.key()],
            33 => vec![
                self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                k,
                self.key(),
                self.key(),
            ],
            34 => vec!["SMOVE".into(), k, self.key(), self.member()],
            35 => vec!["SRANDMEMBER".into(), k, self.pick(&["2", "-2"])],
            36 => vec!["SINTERCARD".into(), "2".into(), k, self.key()],
            37..=39 => {
                let mut w = vec!["ZADD".into(), k];
                if self.0.gen_bool(0.2) {
                    w.push(self.pick(&["NX", "XX", "GT", "LT", "CH"]));
                }
                for _ in 0..self.0.gen_range(1..3) {
                    w.push(self.pick(SCORES));
                    w.push(self.member());
                }
                w
            }
            40 => vec!["ZINCRBY".into(), k, self.pick(SCORES), self.member()],
            41 => vec![
                "ZRANGE".into(),
                k,
                self.pick(INDEXES),
                self.pick(INDEXES),
                "WITHSCORES".into(),
            ],
            42 => vec![
                "ZRANGEBYSCORE".into(),
                k,
                self.pick(SCORES),
                self.pick(SCORES),
            ],
            43 => vec![
                self.pick(&["ZRANK", "ZREVRANK", "ZSCORE"]),
                k,
                self.member(),
            ],
            44 => vec![self.pick(&["ZPOPMIN", "ZPOPMAX"]), k],
            45 => vec![
                self.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]),
                k,
                "2".into(),
                self.key(),
                self.key(),
            ],
            46 => vec!["ZREM".into(), k, self.member()],
            47 => vec!["ZCOUNT".into(), k, self.pick(SCORES), self.pick(SCORES)],
            48 => vec!["ZRANDMEMBER".into(), k, self.pick(&["2", "-2"])],
            49 => vec![
                "ZREMRANGEBYRANK".into(),
                k,
                self.pick(INDEXES),
                self.pick(INDEXES),
            ],
            50 => vec![
                "XADD".into(),
                k,
                format!("{}-{}", self.0.gen_range(1..5), self.0.gen_range(0..3)),
                self.member(),
                self.member(),
            ],
            51 => vec!["XRANGE".into(), k, "-".into(), "+".into()],
            52 => vec!["XLEN".into(), k],
            53 => vec!["XDEL".into(), k, format!("{}-0", self.0.gen_range(1..5))],
            54 => vec![
                "XTRIM".into(),
                k,
                "MAXLEN".into(),
                self.pick(&["0", "1", "3"]),
            ],
            55 => vec!["SET".into(), k, self.member()],
            56 => vec![self.pick(&["TYPE", "OBJECT ENCODING", "EXISTS", "DEL"]), k],
            57 => vec!["RENAME".into(), k, self.key()],
            58 => vec!["COPY".into(), k, self.key(), "REPLACE".into()],
            _ => vec!["INCR".into(), k],
        };
        words
            .into_iter()
            .flat_map(|w| {
                if w == "OBJECT ENCODING" {
                    vec!["OBJECT".to_string(), "ENCODING".to_string()]
                } else {
                    vec![w]
                }
            })
            .collect()
    }
}

/// A reply with order-free or random parts made comparable.
fn normalize(cmd: &[String], reply: Reply) -> Reply {
    let name = cmd[0].to_uppercase();
    match reply {
        Reply::Array(items) if RANDOM.contains(&name.as_str()) => Reply::Int(items.len() as i64),
        Reply::Bulk(_) if RANDOM.contains(&name.as_str()) => Reply::Status("<one>".into()),
        Reply::Array(mut items) if UNORDERED.contains(&name.as_str()) => {
            items.sort();
            Reply::Array(items)
        }
        Reply::Array(items) if name == "HGETALL" => {
            let mut pairs: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
            pairs.sort();
            Reply::Array(pairs.into_iter().flatten().collect())
        }
        other => other,
    }
}

fn run_sequence(seed: u64, n: usize, subject: &Server, reference: &Server) {
    let mut a = subject.raw();
    let mut b = reference.raw();
    for r in [&mut a, &mut b] {
        r.check("FLUSHALL", ok());
        // Small thresholds so encodings convert often.
        r.check("CONFIG SET hash-max-listpack-entries 4", ok());
        r.check("CONFIG SET set-max-intset-entries 4", ok());
        r.check("CONFIG SET zset-max-listpack-entries 4", ok());
    }
    let mut g = Gen(StdRng::seed_from_u64(seed));
    let mut history: Vec<String> = Vec::new();
    for i in 0..n {
        let transaction = g.0.gen_bool(0.03);
        let cmds: Vec<Vec<String>> = if transaction {
            (0..g.0.gen_range(2..5)).map(|_| g.command()).collect()
        } else {
            vec![g.command()]
        };
        if transaction {
            a.check("MULTI", ok());
            b.check("MULTI", ok());
            for cmd in &cmds {
                history.push(format!("(multi) {}", cmd.join(" ")));
                assert_eq!(a.cmd(cmd), b.cmd(cmd), "seed {seed} #{i}: queueing {cmd:?}");
            }
            history.push("EXEC".into());
            let (got, want) = (a.run("EXEC"), b.run("EXEC"));
            let normalized = |reply: Reply| match reply {
                Reply::Array(items) => Reply::Array(
                    cmds.iter()
                        .zip(items)
                        .map(|(cmd, item)| normalize(cmd, item))
                        .collect(),
                ),
                other => other,
            };
            let (got, want) = (normalized(got), normalized(want));
            if got != want {
                let from = history.len().saturating_sub(30);
                panic!(
                    "seed {seed} #{i}: EXEC\n  under test: {got:?}\n  redis:      {want:?}\nrecent:\n  {}",
                    history[from..].join("\n  ")
                );
            }
            continue;
        }
        let cmd = &cmds[0];
        history.push(cmd.join(" "));
        let got = normalize(cmd, a.cmd(cmd));
        let want = normalize(cmd, b.cmd(cmd));
        if got != want {
            let from = history.len().saturating_sub(30);
            panic!(
                "seed {seed} #{i}: {cmd:?}\n  under test: {got:?}\n  redis:      {want:?}\nrecent:\n  {}",
                history[from..].join("\n  ")
            );
        }
    }
    assert_eq!(
        a.run("DEBUG DIGEST"),
        b.run("DEBUG DIGEST"),
        "seed {seed}: DEBUG DIGEST"
    );
}

#[test]
fn random_sequences_over_every_type_match_redis() {
    let reference = Server::redis();
    for_each_thread_count(|threads| {
        let subject = Server::start(threads, &[]);
        for seed in [1, 2, 3, 17, 4242] {
            run_sequence(seed, 2500, &subject, &reference);
        }
    });
}
