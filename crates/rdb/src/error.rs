use std::fmt;
use std::io;

/// Errors from encoding or decoding an RDB payload.
#[derive(Debug)]
pub enum Error {
    /// An I/O error from the underlying reader or writer.
    Io(io::Error),
    /// The input ended before the payload was complete.
    UnexpectedEof,
    /// The first bytes are not `REDIS` followed by four digits.
    BadMagic,
    /// The RDB version is outside the supported range (1..=10).
    UnsupportedVersion(u32),
    /// A value type this codec does not implement (yet).
    UnsupportedType(u8),
    /// An opcode this codec does not implement.
    UnsupportedOpcode(u8),
    /// The stored CRC-64 does not match the computed one.
    ChecksumMismatch {
        /// Checksum stored in the file.
        stored: u64,
        /// Checksum computed over the payload.
        computed: u64,
    },
    /// The payload is malformed.
    Corrupt(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::UnexpectedEof => f.write_str("unexpected end of RDB data"),
            Error::BadMagic => f.write_str("not an RDB file (bad magic)"),
            Error::UnsupportedVersion(v) => write!(f, "Unsupported RDB version {v}"),
            Error::UnsupportedType(t) => write!(f, "Unsupported type {t}"),
            Error::UnsupportedOpcode(o) => write!(f, "Unsupported opcode {o}"),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "RDB checksum mismatch: stored {stored:#018x}, computed {computed:#018x}"
            ),
            Error::Corrupt(msg) => write!(f, "corrupt RDB: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::UnexpectedEof
        } else {
            Error::Io(e)
        }
    }
}
