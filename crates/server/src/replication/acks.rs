//! Reading what a replica sends back on a replication connection: `REPLCONF ACK <offset>` (Redis
//! adds `FACK <offset>`), every second and when asked. Anything else is ignored.

use bytes::BytesMut;
use damselfly_protocol::Parser;
use futures::io::ReadHalf;
use futures::AsyncReadExt;
use glommio::net::TcpStream;

/// Unparsed input kept at most: a replica only sends short acknowledgements.
const MAX_INPUT: usize = 1 << 20;

/// Calls `on_ack` with the offset of every acknowledgement until the connection ends.
pub async fn read_acks(mut reader: ReadHalf<TcpStream>, mut on_ack: impl FnMut(u64)) {
    let mut parser = Parser::new();
    let mut input = BytesMut::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let read = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        input.extend_from_slice(&chunk[..read]);
        while let Ok(Some(args)) = parser.next_command(&mut input) {
            let is_ack = args.len() >= 3
                && args[0].eq_ignore_ascii_case(b"replconf")
                && args[1].eq_ignore_ascii_case(b"ack");
            let offset = is_ack
                .then(|| std::str::from_utf8(&args[2]).ok()?.parse::<u64>().ok())
                .flatten();
            if let Some(offset) = offset {
                on_ack(offset);
            }
        }
        if input.len() > MAX_INPUT {
            input.clear();
        }
    }
}
