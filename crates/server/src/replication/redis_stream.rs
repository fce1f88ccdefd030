//! A Redis primary's command stream (what follows its RDB or `+CONTINUE`) turned into applier
//! records, with no I/O so it can be unit-tested. Each command is one record; a `MULTI` ... `EXEC`
//! block is ONE record with all its effects, so the applier applies it atomically across our
//! shards. `SELECT` is tracked; `PUBLISH` is handed back for delivery to this server's subscribers;
//! `PING`, `REPLCONF GETACK` and commands damselfly cannot apply only advance the offset, which
//! counts every byte of the stream as Redis counts it.

use super::applied::Applied;
use super::applier::Applier;
use bytes::{Bytes, BytesMut};
use damselfly_protocol::{ParseError, Parser};
use std::time::{Duration, Instant};

/// Most commands one MULTI block may hold before the link is dropped (nothing grows unbounded).
const MAX_MULTI: usize = 1 << 20;
/// Warnings about commands that cannot be applied: at most one line per this period.
const WARN_EVERY: Duration = Duration::from_secs(1);

/// The parsing state of the stream between reads; `db` survives a partial resync, as Redis's
/// cached master client keeps its db.
pub struct RedisStream {
    parser: Parser,
    /// Bytes consumed since the last command ended (the parser keeps a partial command's header).
    partial: u64,
    pub db: usize,
    databases: usize,
    /// Inside MULTI: its effects and bytes so far (counted only at EXEC, as Redis advances its
    /// offset only outside transactions).
    multi: Option<(Vec<Applied>, u64)>,
    last_warning: Option<Instant>,
    unwarned: u64,
    /// PUBLISH (channel, message) pairs read but not yet delivered, in stream order.
    published: Vec<(Bytes, Bytes)>,
    /// Those read inside the open MULTI: delivered at its EXEC, after the block's effects, as a
    /// Redis replica runs them in order within the transaction.
    multi_published: Vec<(Bytes, Bytes)>,
}

impl RedisStream {
    pub fn new(db: usize, databases: usize) -> RedisStream {
        RedisStream {
            parser: Parser::new(),
            partial: 0,
            db,
            databases,
            multi: None,
            last_warning: None,
            unwarned: 0,
            published: Vec::new(),
            multi_published: Vec::new(),
        }
    }

    /// Hands every complete command in `input` to `applier` (flow 0). Returns whether the
    /// primary asked for an acknowledgement; an error ends the link.
    pub fn drain(&mut self, input: &mut BytesMut, applier: &mut Applier) -> Result<bool, String> {
        let mut ack_now = false;
        loop {
            let before = input.len();
            let parsed = self.parser.next_command(input);
            self.partial += (before - input.len()) as u64;
            let args = match parsed {
                Ok(Some(args)) => args,
                Ok(None) => return Ok(ack_now),
                Err(ParseError::Protocol(message)) => {
                    return Err(format!("bad replication stream: {message}"))
                }
            };
            let length = std::mem::take(&mut self.partial);
            // A cheap copy of the name (shared bytes), for the warning once `args` has moved on.
            let name = args[0].clone();
            let is = |word: &[u8]| name.eq_ignore_ascii_case(word);
            match () {
                _ if is(b"multi") => {
                    if self.multi.is_some() {
                        return Err("MULTI inside MULTI in the replication stream".to_string());
                    }
                    self.multi = Some((Vec::new(), length));
                }
                _ if is(b"exec") => {
                    let Some((effects, bytes)) = self.multi.take() else {
                        return Err("EXEC without MULTI in the replication stream".to_string());
                    };
                    applier.accept_resolved(0, effects, bytes + length);
                    self.published.append(&mut self.multi_published);
                }
                _ if is(b"select") => {
                    let db = args
                        .get(1)
                        .and_then(|db| std::str::from_utf8(db).ok())
                        .and_then(|db| db.parse::<usize>().ok())
                        .filter(|&db| db < self.databases)
                        .ok_or_else(|| {
                            format!(
                                "the primary selected a db damselfly does not have (--databases {})",
                                self.databases
                            )
                        })?;
                    self.db = db;
                    self.count(applier, length);
                }
                _ if is(b"replconf") => {
                    ack_now |= args
                        .get(1)
                        .is_some_and(|sub| sub.eq_ignore_ascii_case(b"getack"));
                    self.count(applier, length);
                }
                _ if is(b"ping") => self.count(applier, length),
                // Redis propagates PUBLISH so a replica's subscribers hear what the primary's do
                // (Sentinel's hello messages every 2 s among them). It changes no data: only the
                // offset moves, and the caller delivers the message after the data before it.
                _ if is(b"publish") && args.len() == 3 => {
                    if self.published.len() + self.multi_published.len() >= MAX_MULTI {
                        return Err("too many PUBLISH in the replication stream".into());
                    }
                    let mut args = args.into_iter().skip(1);
                    if let (Some(channel), Some(message)) = (args.next(), args.next()) {
                        match self.multi {
                            Some(_) => self.multi_published.push((channel, message)),
                            None => self.published.push((channel, message)),
                        }
                    }
                    self.count(applier, length);
                }
                _ => match Applied::resolve((self.db, args)) {
                    Some(effect) => match &mut self.multi {
                        Some((effects, bytes)) => {
                            if effects.len() >= MAX_MULTI {
                                return Err("MULTI block too long in the replication stream".into());
                            }
                            effects.push(effect);
                            *bytes += length;
                        }
                        None => applier.accept_resolved(0, vec![effect], length),
                    },
                    None => {
                        self.warn_skipped(&name);
                        self.count(applier, length);
                    }
                },
            }
        }
    }

    /// The PUBLISH messages read since the last call, for the caller to deliver.
    pub fn take_published(&mut self) -> Vec<(Bytes, Bytes)> {
        std::mem::take(&mut self.published)
    }

    /// Bytes that change no data still move the offset (inside MULTI, with the block's).
    fn count(&mut self, applier: &mut Applier, length: u64) {
        match &mut self.multi {
            Some((_, bytes)) => *bytes += length,
            None => applier.skip(0, length),
        }
    }

    fn warn_skipped(&mut self, name: &[u8]) {
        if self
            .last_warning
            .is_some_and(|at| at.elapsed() < WARN_EVERY)
        {
            self.unwarned += 1;
            return;
        }
        self.last_warning = Some(Instant::now());
        let others = std::mem::take(&mut self.unwarned);
        tracing::warn!(
            "replication: skipped '{}' from the Redis primary: damselfly cannot apply it ({others} more skipped since the last warning)",
            damselfly_protocol::repr(name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(commands: &[&[&str]]) -> BytesMut {
        let mut out = BytesMut::new();
        for args in commands {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in *args {
                out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        }
        out
    }

    #[test]
    fn offsets_count_every_byte_and_multi_counts_at_exec() {
        let mut applier = Applier::new(1, 2);
        applier.set_start(0, 100);
        let mut stream = RedisStream::new(0, 16);
        let mut input = encode(&[
            &["SELECT", "3"],
            &["PING"],
            &["SET", "a", "1"],
            &["MULTI"],
            &["SET", "b", "2"],
        ]);
        let total = input.len() as u64;
        let multi_part = encode(&[&["MULTI"], &["SET", "b", "2"]]).len() as u64;
        assert!(!stream.drain(&mut input, &mut applier).unwrap());
        assert_eq!(stream.db, 3);
        assert_eq!(applier.consumed(0), 100 + total - multi_part);
        let mut rest = encode(&[&["SET", "c", "3"], &["EXEC"], &["REPLCONF", "GETACK", "*"]]);
        let rest_len = rest.len() as u64;
        // Half a command: nothing counted until it is whole.
        let mut half = rest.split_to(5);
        assert!(!stream.drain(&mut half, &mut applier).unwrap());
        half.extend_from_slice(&rest);
        assert!(stream.drain(&mut half, &mut applier).unwrap());
        assert_eq!(applier.consumed(0), 100 + total + rest_len);
        // A command damselfly does not know is skipped, still counted.
        let mut unknown = encode(&[&["NOSUCHCOMMAND", "x"]]);
        let unknown_len = unknown.len() as u64;
        stream.drain(&mut unknown, &mut applier).unwrap();
        assert_eq!(applier.consumed(0), 100 + total + rest_len + unknown_len);
        let mut bad = encode(&[&["EXEC"]]);
        assert!(stream.drain(&mut bad, &mut applier).is_err());
        let mut bad_db = encode(&[&["SELECT", "99"]]);
        assert!(stream.drain(&mut bad_db, &mut applier).is_err());
    }

    #[test]
    fn publish_is_handed_back_in_order_and_counted() {
        let mut applier = Applier::new(1, 2);
        applier.set_start(0, 0);
        let mut stream = RedisStream::new(0, 16);
        let mut input = encode(&[
            &["PUBLISH", "__sentinel__:hello", "hi"],
            &["SET", "a", "1"],
            &["PUBLISH", "c", "2"],
        ]);
        let total = input.len() as u64;
        stream.drain(&mut input, &mut applier).unwrap();
        assert_eq!(applier.consumed(0), total);
        let published = stream.take_published();
        let expected: Vec<(Bytes, Bytes)> = vec![
            ("__sentinel__:hello".into(), "hi".into()),
            ("c".into(), "2".into()),
        ];
        assert_eq!(published, expected);
        assert!(stream.take_published().is_empty());
        // Inside MULTI: held until EXEC.
        let mut block = encode(&[&["MULTI"], &["PUBLISH", "c", "3"], &["SET", "b", "1"]]);
        stream.drain(&mut block, &mut applier).unwrap();
        assert!(stream.take_published().is_empty());
        let mut exec = encode(&[&["EXEC"]]);
        stream.drain(&mut exec, &mut applier).unwrap();
        let expected: Vec<(Bytes, Bytes)> = vec![("c".into(), "3".into())];
        assert_eq!(stream.take_published(), expected);
    }
}
