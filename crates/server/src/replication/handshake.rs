//! The replica's reading of the primary's handshake replies, as pure functions over the bytes
//! received so that they can be fuzzed without a network (see `fuzz.rs`).

use bytes::BytesMut;

/// Longest single-line reply accepted from a primary during the handshake.
pub const MAX_REPLY_LINE: usize = 64 << 10;

/// Most flows a primary may announce (one per primary shard).
pub const MAX_FLOWS: usize = 1024;

/// Takes one `\r\n`-terminated reply line off the front of `input`, without the terminator;
/// `None` when more bytes are needed, an error when the line grows beyond [`MAX_REPLY_LINE`].
pub fn take_line(input: &mut BytesMut) -> Result<Option<String>, String> {
    if let Some(end) = input.windows(2).position(|pair| pair == b"\r\n") {
        let line = input.split_to(end + 2);
        return Ok(Some(String::from_utf8_lossy(&line[..end]).into_owned()));
    }
    if input.len() > MAX_REPLY_LINE {
        return Err("primary sent an overlong reply".to_string());
    }
    Ok(None)
}

/// Whether a reply is Redis's error for a command it does not know (how a redis-server primary
/// answers `DFLY SYNC`: "-ERR unknown command 'DFLY', with args beginning with: ...").
pub fn is_unknown_command(reply: &str) -> bool {
    reply.starts_with("-ERR unknown command")
}

/// The primary's answer to `DFLY SYNC`.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncReply {
    /// `+FULLRESYNC` rather than `+CONTINUE`.
    pub full: bool,
    pub replid: String,
    pub session: String,
    pub flows: usize,
}

/// Parses `+FULLRESYNC <replid> <session> <flows>` or `+CONTINUE ...`.
pub fn parse_sync_reply(reply: &str) -> Result<SyncReply, String> {
    let words: Vec<&str> = reply.split_whitespace().collect();
    match words[..] {
        [kind @ ("+FULLRESYNC" | "+CONTINUE"), replid, session, flows] => Ok(SyncReply {
            full: kind == "+FULLRESYNC",
            replid: replid.to_string(),
            session: session.to_string(),
            flows: flows
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_FLOWS).contains(n))
                .ok_or("bad flow count")?,
        }),
        _ if reply.contains("unknown command") => Err(format!(
            "the primary is not damselfly (it answered DFLY with: {reply})"
        )),
        _ => Err(format!("sync refused: {reply}")),
    }
}

/// Parses the answer to `DFLY FLOW`: `+FULL <offset>` or `+PARTIAL <offset>`, the flow's
/// offset where the stream starts.
pub fn parse_flow_hello(flow: usize, hello: &str) -> Result<u64, String> {
    match hello.split_whitespace().collect::<Vec<_>>()[..] {
        ["+FULL" | "+PARTIAL", offset] => offset.parse::<u64>().map_err(|e| e.to_string()),
        _ => Err(format!("flow {flow} refused: {hello}")),
    }
}
