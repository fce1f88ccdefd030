//! Request parsing (RESP multibulk and inline). Placeholder until the parser lands.
use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Protocol(String),
}

#[derive(Debug, Default)]
pub struct Parser {}

impl Parser {
    pub fn new() -> Parser {
        Parser {}
    }

    pub fn next_command(&mut self, _buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ParseError> {
        Ok(None)
    }
}
