//! One connection from a replica to its primary: connecting, sending commands, reading reply
//! lines, and a buffer of what was read past the last reply (the start of whatever follows).

use super::handshake::take_line;
use bytes::BytesMut;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use glommio::net::TcpStream;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the primary with a buffer of what was read past the last reply.
pub struct PrimaryConn {
    pub stream: TcpStream,
    pub input: BytesMut,
    /// Where `read_more` reads into (kept, not allocated per read).
    scratch: Vec<u8>,
}

impl PrimaryConn {
    pub async fn open(host: &str, port: u16) -> Result<PrimaryConn, String> {
        let address = format!("{host}:{port}");
        let address = std::net::ToSocketAddrs::to_socket_addrs(&address)
            .map_err(|err| format!("cannot resolve {address}: {err}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {address}"))?;
        let stream = TcpStream::connect_timeout(address, CONNECT_TIMEOUT)
            .await
            .map_err(|err| format!("cannot connect to {address}: {err}"))?;
        let _ = stream.set_nodelay(true);
        Ok(PrimaryConn {
            stream,
            input: BytesMut::new(),
            scratch: vec![0; 64 << 10],
        })
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.stream
            .write_all(&out)
            .await
            .map_err(|err| format!("write to primary failed: {err}"))
    }

    /// Reads one single-line reply (`+...`, `-...`, `:...`).
    pub async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(line) = take_line(&mut self.input)? {
                return Ok(line);
            }
            self.read_more(CONNECT_TIMEOUT).await?;
        }
    }

    /// Appends what the primary sends next to `input`; an error when it closes, fails or says
    /// nothing for `timeout`.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<(), String> {
        let read = futures::select! {
            read = self.stream.read(&mut self.scratch).fuse() => read,
            _ = glommio::timer::sleep(timeout).fuse() => {
                return Err(format!("primary sent nothing for {timeout:?}"))
            }
        };
        match read {
            Ok(0) => Err("primary closed the connection".to_string()),
            Ok(read) => {
                self.input.extend_from_slice(&self.scratch[..read]);
                Ok(())
            }
            Err(err) => Err(format!("read from primary failed: {err}")),
        }
    }

    pub async fn command(&mut self, args: &[&[u8]]) -> Result<String, String> {
        self.send(args).await?;
        self.line().await
    }
}
