//! Streaming RDB encoder.

use std::io::Write;

use crc::{Digest, Table};

use crate::encoding::{encode_len, encode_string, CRC64};
use crate::error::Result;
use crate::objects::write_value;
use crate::reader::Value;
use crate::{opcode, types, RDB_VERSION, REDIS_VERSION};

/// Writes an RDB version 10 payload to `W`, maintaining the CRC-64 as it goes.
///
/// Typical use:
///
/// ```
/// use damselfly_rdb::{read_rdb, RdbWriter};
///
/// let mut w = RdbWriter::new(Vec::new()).unwrap();
/// w.write_default_aux(1_700_000_000, 1 << 20).unwrap();
/// w.select_db(0).unwrap();
/// w.resize_db(1, 0).unwrap();
/// w.write_string_entry(b"key", b"value", None).unwrap();
/// let bytes = w.finish().unwrap();
///
/// let file = read_rdb(&bytes[..]).unwrap();
/// assert_eq!(file.entries[0].key, b"key");
/// ```
///
/// Every method writes immediately to `W`; wrap unbuffered sinks in a
/// [`std::io::BufWriter`]. After an error the payload is unusable.
pub struct RdbWriter<W: Write> {
    inner: W,
    digest: Digest<'static, u64, Table<16>>,
    compress: bool,
    buf: Vec<u8>,
}

impl<W: Write> RdbWriter<W> {
    /// Creates a writer and emits the `REDIS0010` header. LZF compression of
    /// strings is on (Redis' default `rdbcompression yes`).
    pub fn new(inner: W) -> Result<Self> {
        let mut w = RdbWriter {
            inner,
            digest: CRC64.digest(),
            compress: true,
            buf: Vec::with_capacity(256),
        };
        w.write_raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        Ok(w)
    }

    /// Enables or disables LZF compression of strings longer than 20 bytes.
    pub fn set_compression(&mut self, on: bool) {
        self.compress = on;
    }

    /// Writes raw bytes (included in the checksum).
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.digest.update(bytes);
        self.inner.write_all(bytes)?;
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let res = self.write_raw(&buf);
        self.buf = buf;
        self.buf.clear();
        res
    }

    /// Writes a length field.
    pub fn write_len(&mut self, len: u64) -> Result<()> {
        self.buf.clear();
        encode_len(len, &mut self.buf);
        self.flush_buf()
    }

    /// Writes a string, choosing raw / integer / LZF encoding like Redis.
    pub fn write_string(&mut self, s: &[u8]) -> Result<()> {
        self.buf.clear();
        encode_string(s, self.compress, &mut self.buf);
        self.flush_buf()
    }

    /// Writes one `AUX` field.
    pub fn write_aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write_raw(&[opcode::AUX])?;
        self.write_string(key)?;
        self.write_string(value)
    }

    /// Writes the AUX fields Redis 7.0 writes for a plain `SAVE`:
    /// `redis-ver`, `redis-bits`, `ctime` (unix seconds), `used-mem` (bytes)
    /// and `aof-base` 0.
    pub fn write_default_aux(&mut self, ctime_secs: u64, used_mem: u64) -> Result<()> {
        self.write_aux(b"redis-ver", REDIS_VERSION.as_bytes())?;
        self.write_aux(b"redis-bits", b"64")?;
        self.write_aux(b"ctime", ctime_secs.to_string().as_bytes())?;
        self.write_aux(b"used-mem", used_mem.to_string().as_bytes())?;
        self.write_aux(b"aof-base", b"0")
    }

    /// Writes a `FUNCTION2` record carrying one function library's code.
    pub fn write_function(&mut self, code: &[u8]) -> Result<()> {
        self.write_raw(&[opcode::FUNCTION2])?;
        self.write_string(code)
    }

    /// Writes `SELECTDB db`.
    pub fn select_db(&mut self, db: u64) -> Result<()> {
        self.write_raw(&[opcode::SELECTDB])?;
        self.write_len(db)
    }

    /// Writes `RESIZEDB db_size expires_size` (sizing hints for the loader).
    pub fn resize_db(&mut self, db_size: u64, expires_size: u64) -> Result<()> {
        self.write_raw(&[opcode::RESIZEDB])?;
        self.write_len(db_size)?;
        self.write_len(expires_size)
    }

    /// Writes the optional `EXPIRETIME_MS`, the type byte and the key. The
    /// caller then writes the value in the encoding of `rdb_type`.
    pub fn write_type_and_key(
        &mut self,
        rdb_type: u8,
        key: &[u8],
        expire_ms: Option<u64>,
    ) -> Result<()> {
        if let Some(ms) = expire_ms {
            let mut rec = [0u8; 9];
            rec[0] = opcode::EXPIRETIME_MS;
            // Redis stores a signed 64-bit value; saturate out-of-range times.
            let ms = i64::try_from(ms).unwrap_or(i64::MAX);
            rec[1..].copy_from_slice(&ms.to_le_bytes());
            self.write_raw(&rec)?;
        }
        self.write_raw(&[rdb_type])?;
        self.write_string(key)
    }

    /// Writes a complete string key/value entry.
    pub fn write_string_entry(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_ms: Option<u64>,
    ) -> Result<()> {
        self.write_type_and_key(types::STRING, key, expire_ms)?;
        self.write_string(value)
    }

    /// Writes a complete entry of any type, in the encoding Redis 7.0 would save it with.
    pub fn write_entry(&mut self, key: &[u8], value: &Value, expire_ms: Option<u64>) -> Result<()> {
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        let rdb_type = write_value(value, self.compress, &mut body);
        let res = self
            .write_type_and_key(rdb_type, key, expire_ms)
            .and_then(|()| self.write_raw(&body));
        body.clear();
        self.buf = body;
        res
    }

    /// Writes `EOF` and the CRC-64, flushes, and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.write_raw(&[opcode::EOF])?;
        let crc = self.digest.clone().finalize();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl RdbWriter<Vec<u8>> {
    /// Takes the bytes written so far, so a payload produced piece by piece can be sent while it
    /// grows (the checksum still covers everything).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.inner)
    }
}
