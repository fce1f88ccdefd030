//! Turns the bytes a replica received on one flow into items for its applier, with no I/O so
//! that the whole path from the primary's bytes to the applier can be fuzzed (see `fuzz.rs`).

use super::applier::Applier;
use crate::journal::wire::{self, Item};
use bytes::BytesMut;
use damselfly_protocol::{ParseError, Parser};

/// The parsing state of one flow between reads.
#[derive(Default)]
pub struct FlowInput {
    parser: Parser,
    /// Bytes consumed since the last complete item: the parser keeps a partly read record's
    /// header to itself, so a record's length in the stream is everything consumed since the
    /// previous record.
    record_bytes: u64,
}

impl FlowInput {
    /// Hands every complete item in `input` to `applier`, removing its bytes. Returns whether
    /// the primary asked for an acknowledgement; an error ends the link.
    pub fn drain(
        &mut self,
        input: &mut BytesMut,
        applier: &mut Applier,
        flow: usize,
    ) -> Result<bool, String> {
        let mut ack_now = false;
        loop {
            let before = input.len();
            let parsed = self.parser.next_command(input);
            self.record_bytes += (before - input.len()) as u64;
            match parsed {
                Ok(Some(args)) => {
                    let length = std::mem::take(&mut self.record_bytes);
                    let item = wire::decode(args)?;
                    ack_now |= item == Item::GetAck;
                    applier.accept(flow, item, length)?;
                }
                Ok(None) => return Ok(ack_now),
                Err(ParseError::Protocol(message)) => {
                    return Err(format!("bad replication stream: {message}"))
                }
            }
        }
    }
}
