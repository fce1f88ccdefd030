//! Streaming RDB decoder.

use std::io::{self, Read};

use crc::{Digest, Table};

use crate::encoding::{read_array, read_plain_len, read_string, read_u8, CRC64};
use crate::error::{Error, Result};
use crate::objects::{is_value_type, read_value};
use crate::{opcode, RDB_VERSION};

/// A decoded value in a neutral form, whatever encoding the file used.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A string value (integer- and LZF-encoded strings are expanded).
    String(Vec<u8>),
    /// List elements, head first.
    List(Vec<Vec<u8>>),
    /// Set members (integers of an intset as decimal strings).
    Set(Vec<Vec<u8>>),
    /// Hash fields and values.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// Sorted-set members and scores.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A stream with its consumer groups.
    Stream(Box<Stream>),
}

/// A stream entry id: milliseconds and sequence number.
pub type StreamId = (u64, u64);

/// A stream entry: its id and field/value pairs.
pub type StreamEntry = (StreamId, Vec<(Vec<u8>, Vec<u8>)>);

/// A stream in neutral form (what RDB type 19, STREAM_LISTPACKS_2, holds).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// Live entries in id order, with their field/value pairs.
    pub entries: Vec<StreamEntry>,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Vec<StreamGroup>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamGroup {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// Redis's entries_read (-1: unknown).
    pub entries_read: i64,
    /// Pending entries: id, last delivery time (unix ms), delivery count, owning consumer.
    pub pending: Vec<(StreamId, u64, u64, Vec<u8>)>,
    /// Consumers: name and seen time (unix ms).
    pub consumers: Vec<(Vec<u8>, u64)>,
}

/// One key with its value and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Database index (from the last `SELECTDB`, 0 before any).
    pub db: u64,
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Value,
    /// Absolute expiry in unix milliseconds (negative stored times read as 0).
    pub expire_ms: Option<u64>,
    /// LRU idle time in seconds, if an `IDLE` record preceded the key.
    pub idle_secs: Option<u64>,
    /// LFU counter, if a `FREQ` record preceded the key.
    pub freq: Option<u8>,
}

/// A top-level record of an RDB payload.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbEvent {
    /// An `AUX` key/value pair.
    Aux {
        /// Field name, e.g. `redis-ver`.
        key: Vec<u8>,
        /// Field value.
        value: Vec<u8>,
    },
    /// `SELECTDB`: subsequent entries belong to this database.
    SelectDb(u64),
    /// `RESIZEDB` sizing hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expiry.
        expires_size: u64,
    },
    /// A `FUNCTION2` record: one function library's code.
    Function(Vec<u8>),
    /// A `MODULE_AUX` record, skipped: its data belongs to a module this reader cannot load.
    ModuleAux {
        /// The module's 64-bit id (its name and encoding version packed as Redis packs them).
        module_id: u64,
    },
    /// A key/value entry.
    Entry(Entry),
}

/// Reader wrapper that feeds every consumed byte into the CRC-64.
struct CrcReader<R> {
    inner: R,
    digest: Digest<'static, u64, Table<16>>,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Decodes an RDB payload (versions 1..=10) record by record.
///
/// Use [`RdbReader::next_event`] or iterate (`Iterator<Item = Result<RdbEvent>>`;
/// iteration stops after the first error). The end of the payload is reached
/// when `next_event` returns `Ok(None)`; by then the checksum was verified.
pub struct RdbReader<R: Read> {
    src: CrcReader<R>,
    version: u32,
    db: u64,
    done: bool,
    checksum: Option<u64>,
    expire_ms: Option<u64>,
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

impl<R: Read> RdbReader<R> {
    /// Reads and checks the 9-byte header (`REDIS` + 4-digit version).
    pub fn new(inner: R) -> Result<Self> {
        let mut src = CrcReader {
            inner,
            digest: CRC64.digest(),
        };
        let header: [u8; 9] = read_array(&mut src)?;
        if &header[..5] != b"REDIS" || !header[5..].iter().all(u8::is_ascii_digit) {
            return Err(Error::BadMagic);
        }
        let version = header[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        if version == 0 || version > RDB_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        Ok(RdbReader {
            src,
            version,
            db: 0,
            done: false,
            checksum: None,
            expire_ms: None,
            idle_secs: None,
            freq: None,
        })
    }

    /// The RDB version from the header.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The stored checksum, once the end was reached (`None` before the end
    /// and for versions below 5).
    pub fn checksum(&self) -> Option<u64> {
        self.checksum
    }

    /// Returns the underlying reader (positioned after whatever was read).
    pub fn into_inner(self) -> R {
        self.src.inner
    }

    /// Returns the next record, or `Ok(None)` after `EOF` and a valid checksum.
    pub fn next_event(&mut self) -> Result<Option<RdbEvent>> {
        if self.done {
            return Ok(None);
        }
        let res = self.read_event();
        if !matches!(res, Ok(Some(_))) {
            self.done = true;
        }
        res
    }

    fn read_event(&mut self) -> Result<Option<RdbEvent>> {
        loop {
            let op = read_u8(&mut self.src)?;
            match op {
                opcode::EOF => {
                    self.finish()?;
                    return Ok(None);
                }
                opcode::SELECTDB => {
                    self.db = read_plain_len(&mut self.src)?;
                    return Ok(Some(RdbEvent::SelectDb(self.db)));
                }
                opcode::RESIZEDB => {
                    let db_size = read_plain_len(&mut self.src)?;
                    let expires_size = read_plain_len(&mut self.src)?;
                    return Ok(Some(RdbEvent::ResizeDb {
                        db_size,
                        expires_size,
                    }));
                }
                opcode::AUX => {
                    let key = read_string(&mut self.src)?;
                    let value = read_string(&mut self.src)?;
                    return Ok(Some(RdbEvent::Aux { key, value }));
                }
                opcode::FUNCTION2 => {
                    let code = read_string(&mut self.src)?;
                    return Ok(Some(RdbEvent::Function(code)));
                }
                opcode::EXPIRETIME_MS => {
                    let ms = i64::from_le_bytes(read_array(&mut self.src)?);
                    self.expire_ms = Some(u64::try_from(ms).unwrap_or(0));
                }
                opcode::EXPIRETIME => {
                    let secs = i32::from_le_bytes(read_array(&mut self.src)?);
                    self.expire_ms = Some(u64::try_from(secs).unwrap_or(0) * 1000);
                }
                opcode::IDLE => self.idle_secs = Some(read_plain_len(&mut self.src)?),
                opcode::FREQ => self.freq = Some(read_u8(&mut self.src)?),
                opcode::MODULE_AUX => {
                    let module_id = self.skip_module_aux()?;
                    return Ok(Some(RdbEvent::ModuleAux { module_id }));
                }
                opcode::FUNCTION_PRE_GA => return Err(Error::UnsupportedOpcode(op)),
                rdb_type => {
                    if !is_value_type(rdb_type) {
                        return Err(Error::UnsupportedType(rdb_type));
                    }
                    let key = read_string(&mut self.src)?;
                    let value = read_value(&mut self.src, rdb_type)?;
                    return Ok(Some(RdbEvent::Entry(Entry {
                        db: self.db,
                        key,
                        value,
                        expire_ms: self.expire_ms.take(),
                        idle_secs: self.idle_secs.take(),
                        freq: self.freq.take(),
                    })));
                }
            }
        }
    }

    /// Skips a `MODULE_AUX` body as Redis's `rdbLoadCheckModuleValue` does: the module id, the
    /// `when` opcode and value, then typed items (`SINT`/`UINT` lengths, `FLOAT` 4 bytes, `DOUBLE`
    /// 8 bytes, `STRING` strings) up to the `EOF` item. The items are self-describing, so no module
    /// is needed to step over them.
    fn skip_module_aux(&mut self) -> Result<u64> {
        const EOF: u64 = 0;
        const SINT: u64 = 1;
        const UINT: u64 = 2;
        const FLOAT: u64 = 3;
        const DOUBLE: u64 = 4;
        const STRING: u64 = 5;
        let module_id = read_plain_len(&mut self.src)?;
        let when_opcode = read_plain_len(&mut self.src)?;
        if when_opcode != UINT {
            return Err(Error::Corrupt(format!(
                "MODULE_AUX 'when' has opcode {when_opcode}, not UINT"
            )));
        }
        read_plain_len(&mut self.src)?;
        loop {
            match read_plain_len(&mut self.src)? {
                EOF => return Ok(module_id),
                SINT | UINT => {
                    read_plain_len(&mut self.src)?;
                }
                FLOAT => {
                    read_array::<4, _>(&mut self.src)?;
                }
                DOUBLE => {
                    read_array::<8, _>(&mut self.src)?;
                }
                STRING => {
                    read_string(&mut self.src)?;
                }
                other => {
                    return Err(Error::Corrupt(format!(
                        "unknown module value opcode {other}"
                    )))
                }
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        if self.version < 5 {
            return Ok(());
        }
        let computed = self.src.digest.clone().finalize();
        // The checksum itself is not part of the checksummed data.
        let stored = u64::from_le_bytes(read_array(&mut self.src.inner)?);
        self.checksum = Some(stored);
        if stored != 0 && stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        Ok(())
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<RdbEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// A fully decoded RDB payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RdbFile {
    /// RDB version from the header.
    pub version: u32,
    /// AUX fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function library codes (`FUNCTION2`) in file order.
    pub functions: Vec<Vec<u8>>,
    /// All entries in file order.
    pub entries: Vec<Entry>,
    /// Stored checksum (`None` for versions below 5; 0 means disabled).
    pub checksum: Option<u64>,
}

impl RdbFile {
    /// Looks up an AUX field.
    pub fn aux(&self, key: &[u8]) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// Decodes a whole RDB payload from `r`.
pub fn read_rdb<R: Read>(r: R) -> Result<RdbFile> {
    let mut reader = RdbReader::new(r)?;
    let mut file = RdbFile {
        version: reader.version(),
        ..RdbFile::default()
    };
    while let Some(ev) = reader.next_event()? {
        match ev {
            RdbEvent::Aux { key, value } => file.aux.push((key, value)),
            RdbEvent::Function(code) => file.functions.push(code),
            RdbEvent::Entry(e) => file.entries.push(e),
            RdbEvent::SelectDb(_) | RdbEvent::ResizeDb { .. } | RdbEvent::ModuleAux { .. } => {}
        }
    }
    file.checksum = reader.checksum();
    Ok(file)
}
