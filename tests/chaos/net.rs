//! Chaos connections: std TCP sockets with timeouts on every operation, fallible everywhere (the server
//! may misbehave, and the harness must report that, never hang or panic with an unhelpful message).

use crate::common::{encode_cmd, parse_reply, Reply};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// Read and write timeout of every chaos socket: a well-behaved server answers far sooner.
pub const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// One client connection speaking RESP by hand.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr` (127.0.0.1 only) with a bounded connect and timeouts on reads and writes.
    pub fn connect(addr: SocketAddr) -> Result<Conn, String> {
        Self::connect_with(addr, None)
    }

    /// Like `connect`, with SO_RCVBUF set before connecting (so the window is small from the start).
    pub fn connect_with(addr: SocketAddr, rcvbuf: Option<usize>) -> Result<Conn, String> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| format!("socket: {e}"))?;
        if let Some(size) = rcvbuf {
            socket
                .set_recv_buffer_size(size)
                .map_err(|e| format!("SO_RCVBUF: {e}"))?;
        }
        socket
            .connect_timeout(&addr.into(), OP_TIMEOUT)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(OP_TIMEOUT))
            .and_then(|_| stream.set_write_timeout(Some(OP_TIMEOUT)))
            .and_then(|_| stream.set_nodelay(true))
            .map_err(|e| format!("socket options: {e}"))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write of {} bytes failed: {e}", bytes.len()))
    }

    /// Sends one command (as a multibulk) and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Reply, String> {
        self.send(&encode_cmd(args))?;
        self.read_reply()
    }

    /// Sends many commands in one write (a pipeline); replies are read separately.
    pub fn send_pipeline<A: AsRef<[u8]>>(&mut self, cmds: &[Vec<A>]) -> Result<(), String> {
        let mut out = Vec::new();
        for c in cmds {
            out.extend(encode_cmd(c));
        }
        self.send(&out)
    }

    /// The next complete reply already buffered, if any.
    pub fn try_parse(&mut self) -> Result<Option<Reply>, String> {
        match parse_reply(&self.buf) {
            Ok(Some((r, used))) => {
                self.buf.drain(..used);
                Ok(Some(r))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(format!(
                "malformed reply: {e}; buffered {} bytes starting {:?}",
                self.buf.len(),
                String::from_utf8_lossy(&self.buf[..self.buf.len().min(80)])
            )),
        }
    }

    /// Reads at most `max` bytes into the buffer. `Ok(0)` is EOF.
    pub fn read_some(&mut self, max: usize) -> io::Result<usize> {
        let mut chunk = vec![0u8; max];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads one reply; EOF, reset, timeout and malformed data are errors.
    pub fn read_reply(&mut self) -> Result<Reply, String> {
        loop {
            if let Some(r) = self.try_parse()? {
                return Ok(r);
            }
            match self.read_some(64 * 1024) {
                Ok(0) => {
                    return Err(format!(
                    "connection closed by the server while waiting for a reply ({} bytes buffered)",
                    self.buf.len()
                ))
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(format!(
                        "read failed while waiting for a reply: {e} ({} bytes buffered)",
                        self.buf.len()
                    ))
                }
            }
        }
    }

    /// Reads `n` replies.
    pub fn read_replies(&mut self, n: usize) -> Result<Vec<Reply>, String> {
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// Drops buffered bytes (a reader that only counts what arrives).
    pub fn discard_buffer(&mut self) {
        self.buf.clear();
    }

    /// Half-close: no more requests, replies may still arrive.
    pub fn shutdown_write(&self) -> Result<(), String> {
        self.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("shutdown(Write): {e}"))
    }

    /// Closes with SO_LINGER 0, so the kernel sends RST instead of FIN and drops unsent data.
    pub fn reset(self) {
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        drop(self);
    }

    /// Closes normally (FIN).
    pub fn close(self) {
        drop(self);
    }
}
