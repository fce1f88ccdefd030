//! The RDB a full sync sends a redis-server replica, built while the shards' snapshots arrive:
//! Redis 7.0's header and aux fields, the snapshot records of every shard with a `SELECTDB`
//! whenever the db changes (Redis's loader accepts any number of them, in any order), then `EOF`
//! and the CRC-64 of it all.

use damselfly_rdb::RdbWriter;

pub struct RdbBuilder {
    writer: RdbWriter<Vec<u8>>,
    db: Option<usize>,
}

impl RdbBuilder {
    /// Starts the payload of a sync at `offset` of the stream `replid`.
    pub fn new(replid: &str, offset: u64, used_memory: u64) -> Result<RdbBuilder, String> {
        let text = |err: damselfly_rdb::Error| err.to_string();
        let mut writer = RdbWriter::new(Vec::new()).map_err(text)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        writer.write_default_aux(now, used_memory).map_err(text)?;
        writer.write_aux(b"repl-stream-db", b"0").map_err(text)?;
        writer
            .write_aux(b"repl-id", replid.as_bytes())
            .map_err(text)?;
        writer
            .write_aux(b"repl-offset", offset.to_string().as_bytes())
            .map_err(text)?;
        Ok(RdbBuilder { writer, db: None })
    }

    /// Adds snapshot records of `db` (whole RDB entries); returns the bytes ready to send.
    pub fn add(&mut self, db: usize, records: &[u8]) -> Result<Vec<u8>, String> {
        let text = |err: damselfly_rdb::Error| err.to_string();
        if self.db != Some(db) {
            self.db = Some(db);
            self.writer.select_db(db as u64).map_err(text)?;
        }
        self.writer.write_raw(records).map_err(text)?;
        Ok(self.writer.take_output())
    }

    /// The bytes before any record (header and aux fields).
    pub fn take_header(&mut self) -> Vec<u8> {
        self.writer.take_output()
    }

    /// Ends the payload: the last bytes to send.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        self.writer.finish().map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_built_in_pieces_is_one_valid_rdb() {
        let mut builder = RdbBuilder::new(&"a".repeat(40), 77, 1 << 20).unwrap();
        let mut payload = builder.take_header();
        let mut records = Vec::new();
        damselfly_rdb::write_string_record(b"k1", b"v1", None, &mut records);
        payload.extend(builder.add(0, &records).unwrap());
        let mut records = Vec::new();
        damselfly_rdb::write_string_record(b"k9", b"v9", Some(4_000_000_000_000), &mut records);
        payload.extend(builder.add(9, &records).unwrap());
        let mut records = Vec::new();
        damselfly_rdb::write_string_record(b"k2", b"v2", None, &mut records);
        payload.extend(builder.add(0, &records).unwrap());
        payload.extend(builder.finish().unwrap());

        let file = damselfly_rdb::read_rdb(&payload[..]).unwrap();
        assert_eq!(file.aux(b"repl-offset"), Some(&b"77"[..]));
        let keys: Vec<(u64, Vec<u8>)> =
            file.entries.iter().map(|e| (e.db, e.key.clone())).collect();
        assert_eq!(
            keys,
            [
                (0, b"k1".to_vec()),
                (9, b"k9".to_vec()),
                (0, b"k2".to_vec())
            ]
        );
    }
}
