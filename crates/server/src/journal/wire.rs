//! What travels on a flow connection from a primary shard to a replica, each item one RESP array of
//! bulk strings (so the ordinary request parser reads it):
//!
//! - `J txid parts (db argc arg...)...`: a journal record, the effects of one command or of one
//!   shard's share of a multi-shard transaction (`txid` 0 and `parts` 1 when it stands alone).
//!   Only these records count towards the shard's replication offset (their exact byte length).
//! - `S db records`: snapshot entries of one db during a full sync, RDB-encoded.
//! - `E`: the snapshot of this shard is complete.
//! - `K`: keepalive, sent when the flow has been idle for a second.
//! - `G`: the primary asks for an acknowledgement now (a client is blocked in WAIT).
//! - `P offset db|- shard-offset...`: the primary's Redis-format stream (for redis-server replicas)
//!   at `offset` holds exactly the journal records before these shard offsets, and its commands
//!   run in `db` (`-`: the next one selects its db). Sent on flow 0 of damselfly replicas, so that
//!   after a failover they know where they stand in that stream (PSYNC2 with redis-server).
//! - `C offset`: a consistent cut of every shard was taken here, at this journal offset (only on
//!   the feed of redis-server replicas, which starts a full sync's stream at it).
//!
//! The replica answers on the same connection with `REPLCONF ACK <offset>`.

use bytes::Bytes;

/// The effect of one command: the db it ran in and a command a replica can replay.
pub type Effect = (usize, Vec<Bytes>);

#[derive(Debug, PartialEq)]
pub enum Item {
    Journal {
        txid: u64,
        parts: u32,
        effects: Vec<Effect>,
    },
    Snapshot {
        db: usize,
        records: Bytes,
    },
    SnapshotEnd,
    KeepAlive,
    GetAck,
    Cut {
        offset: u64,
    },
    StreamPosition(StreamPoint),
}

/// A position in a primary's Redis-format stream and the shard journal offsets it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPoint {
    pub offset: u64,
    pub db: Option<usize>,
    pub shards: Vec<u64>,
}

pub const SNAPSHOT_END: &[u8] = b"*1\r\n$1\r\nE\r\n";
pub const KEEPALIVE: &[u8] = b"*1\r\n$1\r\nK\r\n";
pub const GETACK: &[u8] = b"*1\r\n$1\r\nG\r\n";

/// The decimal digits of `n`, written at the end of `buf`.
fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// `prefix`, the digits of `n`, CRLF: a RESP header, written with one copy (this runs for every
/// argument of every journaled command).
fn put_line(out: &mut Vec<u8>, prefix: u8, n: u64) {
    let mut buf = [0u8; 20];
    let digits = digits(n, &mut buf);
    let mut line = [0u8; 23];
    line[0] = prefix;
    line[1..=digits.len()].copy_from_slice(digits);
    line[digits.len() + 1..digits.len() + 3].copy_from_slice(b"\r\n");
    out.extend_from_slice(&line[..digits.len() + 3]);
}

/// The number written in decimal in `bytes` (digits only, at least one).
fn decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |number, &digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

pub fn put_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    put_line(out, b'$', bytes.len() as u64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn put_bulk_number(out: &mut Vec<u8>, n: u64) {
    if n < 10 {
        out.extend_from_slice(&[b'$', b'1', b'\r', b'\n', b'0' + n as u8, b'\r', b'\n']);
        return;
    }
    let mut buf = [0u8; 20];
    put_bulk(out, digits(n, &mut buf));
}

pub fn put_header(out: &mut Vec<u8>, count: usize) {
    put_line(out, b'*', count as u64);
}

/// Reads items in place from a buffer of whole items, without copying their arguments: the
/// Redis-format feed turns a journal record's commands into Redis's stream by copying their bulk
/// strings as they are.
pub struct Scan<'a> {
    buf: &'a [u8],
    at: usize,
}

/// One effect of a journal record read in place: its db, and its command's `argc` bulk strings,
/// encoded as a RESP array's elements are, at `args` in the buffer.
pub struct EffectAt {
    pub db: usize,
    pub argc: usize,
    pub args: std::ops::Range<usize>,
}

/// An item read in place.
pub enum ItemAt {
    Journal {
        txid: u64,
        parts: u32,
        effects: Vec<EffectAt>,
    },
    /// Any other item, with the ranges of its bulk strings (the kind first).
    Other(Vec<std::ops::Range<usize>>),
}

impl<'a> Scan<'a> {
    pub fn new(buf: &'a [u8], at: usize) -> Scan<'a> {
        Scan { buf, at }
    }

    pub fn position(&self) -> usize {
        self.at
    }

    /// The line after a `*` or `$` prefix, as a number.
    fn header(&mut self, prefix: u8) -> Option<usize> {
        if *self.buf.get(self.at)? != prefix {
            return None;
        }
        let line = self.at + 1;
        let end = line + self.buf.get(line..)?.iter().position(|&b| b == b'\r')?;
        if *self.buf.get(end + 1)? != b'\n' {
            return None;
        }
        let number = usize::try_from(decimal(&self.buf[line..end])?).ok()?;
        self.at = end + 2;
        Some(number)
    }

    /// The next bulk string's range.
    pub fn bulk(&mut self) -> Option<std::ops::Range<usize>> {
        let len = self.header(b'$')?;
        let start = self.at;
        let end = start.checked_add(len)?;
        if self.buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        self.at = end + 2;
        Some(start..end)
    }

    fn number(&mut self) -> Option<u64> {
        let range = self.bulk()?;
        decimal(&self.buf[range])
    }

    /// The next whole item (None at the end of the buffer, or if it is malformed or cut).
    pub fn item(&mut self) -> Option<ItemAt> {
        let count = self.header(b'*')?;
        let kind = self.bulk()?;
        if &self.buf[kind.clone()] != b"J" {
            let mut bulks = vec![kind];
            for _ in 1..count {
                bulks.push(self.bulk()?);
            }
            return Some(ItemAt::Other(bulks));
        }
        let txid = self.number()?;
        let parts = u32::try_from(self.number()?).ok()?;
        let mut remaining = count.checked_sub(3)?;
        let mut effects = Vec::with_capacity(1);
        while remaining > 0 {
            let db = usize::try_from(self.number()?).ok()?;
            let argc = usize::try_from(self.number()?).ok()?;
            let start = self.at;
            for _ in 0..argc {
                self.bulk()?;
            }
            effects.push(EffectAt {
                db,
                argc,
                args: start..self.at,
            });
            remaining = remaining.checked_sub(2 + argc)?;
        }
        Some(ItemAt::Journal {
            txid,
            parts,
            effects,
        })
    }
}

/// Appends a journal record to `out`: the effects of one command or one transaction's share.
pub fn write_record(out: &mut Vec<u8>, txid: u64, parts: u32, effects: &[(usize, &[Bytes])]) {
    let count = 3 + effects
        .iter()
        .map(|(_, args)| 2 + args.len())
        .sum::<usize>();
    // Each bulk string adds at most its length and 25 bytes of header and CRLF.
    out.reserve(
        32 + effects
            .iter()
            .flat_map(|(_, args)| args.iter())
            .map(|arg| arg.len() + 25)
            .sum::<usize>()
            + 25 * count,
    );
    put_header(out, count);
    put_bulk(out, b"J");
    put_bulk_number(out, txid);
    put_bulk_number(out, u64::from(parts));
    for (db, args) in effects {
        put_bulk_number(out, *db as u64);
        put_bulk_number(out, args.len() as u64);
        for arg in *args {
            put_bulk(out, arg);
        }
    }
}

/// Appends the cut marker of a full sync for the Redis-format feed.
pub fn write_cut(out: &mut Vec<u8>, offset: u64) {
    put_header(out, 2);
    put_bulk(out, b"C");
    put_bulk_number(out, offset);
}

/// Encodes a stream position note for damselfly replicas.
pub fn stream_position(point: &StreamPoint) -> Bytes {
    let mut out = Vec::new();
    put_header(&mut out, 3 + point.shards.len());
    put_bulk(&mut out, b"P");
    put_bulk_number(&mut out, point.offset);
    match point.db {
        Some(db) => put_bulk_number(&mut out, db as u64),
        None => put_bulk(&mut out, b"-"),
    }
    for &offset in &point.shards {
        put_bulk_number(&mut out, offset);
    }
    Bytes::from(out)
}

/// Encodes a journal record on its own.
#[cfg(test)]
pub fn journal_record(txid: u64, parts: u32, effects: &[Effect]) -> Bytes {
    let refs: Vec<(usize, &[Bytes])> = effects.iter().map(|(db, a)| (*db, &a[..])).collect();
    let mut out = Vec::new();
    write_record(&mut out, txid, parts, &refs);
    Bytes::from(out)
}

/// Encodes a chunk of snapshot entries of one db.
pub fn snapshot_chunk(db: usize, records: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(records.len() + 32);
    put_header(&mut out, 3);
    put_bulk(&mut out, b"S");
    put_bulk_number(&mut out, db as u64);
    put_bulk(&mut out, records);
    Bytes::from(out)
}

fn number<T: std::str::FromStr>(arg: Option<&Bytes>) -> Result<T, String> {
    arg.and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| "malformed number in replication stream".to_string())
}

/// Decodes one item read from a flow.
pub fn decode(args: Vec<Bytes>) -> Result<Item, String> {
    let kind = args.first().map(|a| &a[..]);
    match kind {
        Some(b"J") => {
            let txid = number(args.get(1))?;
            let parts = number(args.get(2))?;
            let mut effects = Vec::new();
            let mut rest = args.into_iter().skip(3);
            while let Some(db) = rest.next() {
                let db = number(Some(&db))?;
                let argc: usize = number(rest.next().as_ref())?;
                let command: Vec<Bytes> = rest.by_ref().take(argc).collect();
                if command.len() != argc || argc == 0 {
                    return Err("truncated journal record".to_string());
                }
                effects.push((db, command));
            }
            Ok(Item::Journal {
                txid,
                parts,
                effects,
            })
        }
        Some(b"S") if args.len() == 3 => Ok(Item::Snapshot {
            db: number(args.get(1))?,
            records: args[2].clone(),
        }),
        Some(b"E") => Ok(Item::SnapshotEnd),
        Some(b"K") => Ok(Item::KeepAlive),
        Some(b"G") => Ok(Item::GetAck),
        Some(b"P") if args.len() >= 3 => Ok(Item::StreamPosition(StreamPoint {
            offset: number(args.get(1))?,
            db: match args.get(2) {
                Some(db) if &db[..] == b"-" => None,
                db => Some(number(db)?),
            },
            shards: args[3..]
                .iter()
                .map(|a| number(Some(a)))
                .collect::<Result<_, _>>()?,
        })),
        Some(b"C") => Ok(Item::Cut {
            offset: number(args.get(1))?,
        }),
        _ => Err("unknown item in replication stream".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use damselfly_protocol::Parser;

    fn parse(bytes: &[u8]) -> Vec<Bytes> {
        let mut input = BytesMut::from(bytes);
        let args = Parser::new().next_command(&mut input).unwrap().unwrap();
        assert!(input.is_empty());
        args
    }

    #[test]
    fn journal_records_round_trip() {
        let effects = vec![
            (
                0,
                vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v\r\n")],
            ),
            (
                3,
                vec![Bytes::from("DEL"), Bytes::from("a"), Bytes::from("b")],
            ),
        ];
        let record = journal_record(42, 2, &effects);
        assert_eq!(
            decode(parse(&record)).unwrap(),
            Item::Journal {
                txid: 42,
                parts: 2,
                effects
            }
        );
        let chunk = snapshot_chunk(5, b"\x00\x01k\x01v");
        assert_eq!(
            decode(parse(&chunk)).unwrap(),
            Item::Snapshot {
                db: 5,
                records: Bytes::from_static(b"\x00\x01k\x01v")
            }
        );
        assert_eq!(decode(parse(SNAPSHOT_END)).unwrap(), Item::SnapshotEnd);
        assert_eq!(decode(parse(GETACK)).unwrap(), Item::GetAck);
        let point = StreamPoint {
            offset: 99,
            db: Some(3),
            shards: vec![10, 20],
        };
        assert_eq!(
            decode(parse(&stream_position(&point))).unwrap(),
            Item::StreamPosition(point)
        );
        let unknown_db = StreamPoint {
            offset: 5,
            db: None,
            shards: vec![1],
        };
        assert_eq!(
            decode(parse(&stream_position(&unknown_db))).unwrap(),
            Item::StreamPosition(unknown_db)
        );
        let mut cut = Vec::new();
        write_cut(&mut cut, 1234);
        assert_eq!(decode(parse(&cut)).unwrap(), Item::Cut { offset: 1234 });
        assert_eq!(decode(parse(KEEPALIVE)).unwrap(), Item::KeepAlive);
    }

    #[test]
    fn items_read_in_place_match_their_encoding() {
        let effects = vec![
            (
                2,
                vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v\r\n")],
            ),
            (0, vec![Bytes::from("DEL"), Bytes::from("a")]),
        ];
        let mut buf = journal_record(7, 2, &effects).to_vec();
        buf.extend_from_slice(GETACK);
        let mut scan = Scan::new(&buf, 0);
        let Some(ItemAt::Journal {
            txid,
            parts,
            effects: read,
        }) = scan.item()
        else {
            panic!("a journal record");
        };
        assert_eq!((txid, parts, read.len()), (7, 2, 2));
        assert_eq!((read[0].db, read[0].argc), (2, 3));
        assert_eq!(
            &buf[read[0].args.clone()],
            b"$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n"
        );
        assert_eq!(&buf[read[1].args.clone()], b"$3\r\nDEL\r\n$1\r\na\r\n");
        let Some(ItemAt::Other(bulks)) = scan.item() else {
            panic!("the GETACK item");
        };
        assert_eq!(&buf[bulks[0].clone()], b"G");
        assert_eq!(scan.position(), buf.len());
        assert!(scan.item().is_none());
        assert!(Scan::new(&buf[..buf.len() - 3], 0).item().is_some());
        let cut = journal_record(7, 2, &effects);
        assert!(Scan::new(&cut[..cut.len() - 1], 0).item().is_none());
    }

    #[test]
    fn malformed_records_are_errors() {
        assert!(decode(vec![Bytes::from("J"), Bytes::from("x")]).is_err());
        assert!(decode(vec![
            Bytes::from("J"),
            Bytes::from("0"),
            Bytes::from("1"),
            Bytes::from("0"),
            Bytes::from("3"),
            Bytes::from("SET"),
        ])
        .is_err());
        assert!(decode(vec![Bytes::from("Z")]).is_err());
    }
}
