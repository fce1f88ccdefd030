//! The Redis-format replication stream of this primary: the merged units as RESP commands (with
//! `SELECT` when the db changes and `MULTI`/`EXEC` around a transaction), `PING`s and `REPLCONF
//! GETACK`s, its offset in bytes (what redis-server replicas count), the bytes kept for replicas
//! that have not written them yet and for partial resyncs (the backlog), and checkpoints that map a
//! stream offset back to the shard journal offsets it covers (for WAIT).

use super::merge::Unit;
use crate::journal::wire;
use bytes::Bytes;
use std::collections::VecDeque;

pub const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
pub const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

pub struct Stream {
    /// Sealed bytes, oldest first; the first starts at `start`.
    chunks: VecDeque<Bytes>,
    start: u64,
    /// Bytes appended since the last seal.
    pending: Vec<u8>,
    /// Offset just past the last byte appended.
    offset: u64,
    /// The db the stream's commands run in now (None: the next command selects its db).
    db: Option<usize>,
    /// (stream offset, per shard the journal offset every record before which is in the stream
    /// before that offset), oldest first.
    checkpoints: VecDeque<(u64, Vec<u64>)>,
}

impl Stream {
    /// A stream that starts at `offset`, covering the shards' journals up to `shard_offsets`.
    pub fn new(offset: u64, shard_offsets: Vec<u64>) -> Stream {
        Stream {
            chunks: VecDeque::new(),
            start: offset,
            pending: Vec::new(),
            offset,
            db: None,
            checkpoints: VecDeque::from([(offset, shard_offsets)]),
        }
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The db the stream's commands run in now (None: the next command selects its db).
    pub fn db(&self) -> Option<usize> {
        self.db
    }

    /// The first offset still held.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The next command selects its db again (a full sync starts here: its replica's db is unknown).
    pub fn forget_db(&mut self) {
        self.db = None;
    }

    /// Appends a unit: one command, or `MULTI`, its commands, `EXEC`.
    pub fn append_unit(&mut self, unit: &Unit) {
        let before = self.pending.len();
        let transaction = unit.effects.len() > 1;
        if transaction {
            self.select(unit.effects[0].0);
            put_command(&mut self.pending, &[b"MULTI"]);
        }
        for (db, args) in &unit.effects {
            self.select(*db);
            put_command(&mut self.pending, args);
        }
        if transaction {
            put_command(&mut self.pending, &[b"EXEC"]);
        }
        self.offset += (self.pending.len() - before) as u64;
    }

    /// Appends one command whose `argc` arguments are already encoded as RESP bulk strings (read
    /// in place from a journal record).
    pub fn append_encoded(&mut self, db: usize, argc: usize, args: &[u8]) {
        let before = self.pending.len();
        self.select(db);
        wire::put_header(&mut self.pending, argc);
        self.pending.extend_from_slice(args);
        self.offset += (self.pending.len() - before) as u64;
    }

    /// Appends one command that runs in any db (PUBLISH).
    pub fn append_command(&mut self, args: &[Bytes]) {
        let before = self.pending.len();
        put_command(&mut self.pending, args);
        self.offset += (self.pending.len() - before) as u64;
    }

    /// Appends bytes that are whole commands by themselves (`PING`, `REPLCONF GETACK *`).
    pub fn append_raw(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        self.offset += bytes.len() as u64;
    }

    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            self.db = Some(db);
            put_command(&mut self.pending, &[b"SELECT", db.to_string().as_bytes()]);
        }
    }

    /// Makes what was appended readable; records that the stream up to here covers
    /// `shard_offsets`. True when there was something new to read.
    pub fn seal(&mut self, shard_offsets: Vec<u64>) -> bool {
        let new = !self.pending.is_empty();
        if new {
            self.chunks
                .push_back(Bytes::from(std::mem::take(&mut self.pending)));
        }
        match self.checkpoints.back_mut() {
            Some((_, shards)) if *shards == shard_offsets => {}
            // Records with nothing to send (or a cut) cover more at the same stream offset.
            Some((at, shards)) if *at == self.offset => *shards = shard_offsets,
            _ => self.checkpoints.push_back((self.offset, shard_offsets)),
        }
        new
    }

    /// Up to about `max` sealed bytes from `from` on (None when there is nothing past it, or `from`
    /// is no longer held). A replica that keeps up reads the newest chunk alone, without a copy.
    pub fn read(&self, from: u64, max: usize) -> Option<Bytes> {
        if from < self.start || from >= self.sealed_end() {
            return None;
        }
        // Chunks are searched from the newest: a replica that keeps up wants the last one.
        let mut end = self.sealed_end();
        let mut first = self.chunks.len();
        for chunk in self.chunks.iter().rev() {
            first -= 1;
            end -= chunk.len() as u64;
            if end <= from {
                break;
            }
        }
        let skip = (from - end) as usize;
        let head = self.chunks[first].slice(skip..);
        if first + 1 == self.chunks.len() || head.len() >= max {
            return Some(head);
        }
        let mut out = head.to_vec();
        for chunk in self.chunks.iter().skip(first + 1) {
            if out.len() >= max {
                break;
            }
            out.extend_from_slice(chunk);
        }
        Some(Bytes::from(out))
    }

    /// The offset up to which bytes are sealed (readable).
    pub fn sealed_end(&self) -> u64 {
        self.offset - self.pending.len() as u64
    }

    /// Whether a replica that has the stream up to `offset` can continue from here.
    pub fn can_continue_from(&self, offset: u64) -> bool {
        offset >= self.start && offset <= self.sealed_end()
    }

    /// Per shard, the journal offsets a replica holding the stream up to `offset` has.
    pub fn shard_offsets_at(&self, offset: u64) -> Option<&[u64]> {
        self.checkpoints
            .iter()
            .rev()
            .find(|(at, _)| *at <= offset)
            .map(|(_, shards)| &shards[..])
    }

    /// Drops what no one needs any more: everything before `keep_from`, except whole chunks the
    /// backlog (the newest `backlog` bytes) still holds. Checkpoints before `acked_from` go too,
    /// but the last one at or before it stays.
    pub fn trim(&mut self, keep_from: u64, backlog: u64, acked_from: u64) {
        let keep_from = keep_from.min(self.offset.saturating_sub(backlog));
        while let Some(front) = self.chunks.front() {
            let end = self.start + front.len() as u64;
            if end > keep_from || self.chunks.len() == 1 {
                break;
            }
            self.start = end;
            self.chunks.pop_front();
        }
        while self.checkpoints.len() > 1 && self.checkpoints[1].0 <= acked_from {
            self.checkpoints.pop_front();
        }
    }
}

/// Appends one command as a RESP array of bulk strings.
fn put_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    wire::put_header(out, args.len());
    for arg in args {
        wire::put_bulk(out, arg.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::applied::Applied;

    fn unit(effects: &[(usize, &str)]) -> Unit {
        Unit {
            effects: effects
                .iter()
                .map(|(db, words)| {
                    let args: Vec<Bytes> = words
                        .split(' ')
                        .map(|w| Bytes::from(w.to_string()))
                        .collect();
                    (*db, args)
                })
                .collect(),
        }
    }

    #[test]
    fn commands_select_their_db_and_transactions_are_wrapped() {
        let mut stream = Stream::new(100, vec![0]);
        stream.append_unit(&unit(&[(0, "SET a 1")]));
        stream.append_unit(&unit(&[(2, "SET b 1"), (0, "DEL a")]));
        assert!(stream.seal(vec![30]));
        let text = String::from_utf8(stream.read(100, usize::MAX).unwrap().to_vec()).unwrap();
        assert_eq!(
            text,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        assert_eq!(stream.offset(), 100 + text.len() as u64);
        assert_eq!(stream.read(stream.offset(), 10), None);
        let before = stream.offset();
        stream.append_encoded(2, 2, b"$3\r\nDEL\r\n$1\r\nb\r\n");
        stream.seal(vec![40]);
        assert_eq!(
            stream.read(before, usize::MAX).unwrap(),
            &b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n"[..]
        );
        assert_eq!(
            stream.read(100, usize::MAX).unwrap().len() as u64,
            stream.offset() - 100
        );
        assert_eq!(stream.read(100, 5).unwrap().len(), text.len());
        assert_eq!(stream.shard_offsets_at(stream.offset()), Some(&[40][..]));
        assert_eq!(
            stream.shard_offsets_at(stream.offset() - 1),
            Some(&[30][..])
        );
        assert_eq!(stream.shard_offsets_at(before - 1), Some(&[0][..]));
    }

    #[test]
    fn the_backlog_keeps_its_newest_bytes() {
        let mut stream = Stream::new(0, vec![0]);
        for round in 1..=10u64 {
            stream.append_raw(PING);
            stream.seal(vec![round]);
        }
        let ping = PING.len() as u64;
        stream.trim(u64::MAX, 3 * ping, 8 * ping);
        assert_eq!(stream.start(), 7 * ping);
        assert!(stream.can_continue_from(7 * ping));
        assert!(!stream.can_continue_from(6 * ping));
        assert_eq!(stream.read(9 * ping, 1).unwrap(), PING);
        assert_eq!(stream.shard_offsets_at(8 * ping), Some(&[8][..]));
        stream.trim(2 * ping, 0, 0);
        assert_eq!(stream.start(), 7 * ping, "what is gone does not come back");
    }
}
