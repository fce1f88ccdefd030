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
}

pub const SNAPSHOT_END: &[u8] = b"*1\r\n$1\r\nE\r\n";
pub const KEEPALIVE: &[u8] = b"*1\r\n$1\r\nK\r\n";
pub const GETACK: &[u8] = b"*1\r\n$1\r\nG\r\n";

fn put_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn put_header(out: &mut Vec<u8>, count: usize) {
    out.push(b'*');
    out.extend_from_slice(count.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Encodes a journal record.
pub fn journal_record(txid: u64, parts: u32, effects: &[Effect]) -> Bytes {
    let count = 3 + effects
        .iter()
        .map(|(_, args)| 2 + args.len())
        .sum::<usize>();
    let size = 64
        + effects
            .iter()
            .flat_map(|(_, args)| args.iter().map(|a| a.len() + 16))
            .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    put_header(&mut out, count);
    put_bulk(&mut out, b"J");
    put_bulk(&mut out, txid.to_string().as_bytes());
    put_bulk(&mut out, parts.to_string().as_bytes());
    for (db, args) in effects {
        put_bulk(&mut out, db.to_string().as_bytes());
        put_bulk(&mut out, args.len().to_string().as_bytes());
        for arg in args {
            put_bulk(&mut out, arg);
        }
    }
    Bytes::from(out)
}

/// Encodes a chunk of snapshot entries of one db.
pub fn snapshot_chunk(db: usize, records: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(records.len() + 32);
    put_header(&mut out, 3);
    put_bulk(&mut out, b"S");
    put_bulk(&mut out, db.to_string().as_bytes());
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
        assert_eq!(decode(parse(KEEPALIVE)).unwrap(), Item::KeepAlive);
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
