//! The socket loop of one client connection: read what is available, parse every complete command,
//! run them (local ones inline, remote ones batched per shard), and write all replies with one
//! syscall.

use crate::client_limits::MAX_CLIENTS_REACHED;
use crate::client_output::ClientOutput;
use crate::clients::{ClientInfo, ClientKind};
use crate::connection::{Connection, Handoff};
use crate::context::ExecutorCtx;
use crate::pipeline;
use crate::shared::RuntimeConfig;
use bytes::BytesMut;
use damselfly_protocol::{encode, Frame, ParseError, Parser};
use futures::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use std::cell::RefCell;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Instant;

const READ_CHUNK: usize = 64 * 1024;

const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/// Redis's protected mode: with no password and no explicit bind address, only loopback clients may connect.
fn protected_mode_denies(runtime: &RuntimeConfig, bind_given: bool, peer: IpAddr) -> bool {
    let loopback = match peer {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        IpAddr::V4(v4) => v4.is_loopback(),
    };
    runtime.protected_mode && !bind_given && runtime.requirepass.is_none() && !loopback
}

pub async fn serve(ctx: Rc<ExecutorCtx>, mut stream: TcpStream) {
    let limits = &ctx.shared.client_limits;
    let Some(_slot) = limits.admit() else {
        let _ = stream.write_all(MAX_CLIENTS_REACHED).await;
        return;
    };
    let _ = stream.set_nodelay(true);
    if let Err(err) = limits.apply_keepalive(stream.as_raw_fd()) {
        tracing::debug!("cannot set TCP keepalive on a client socket: {err}");
    }
    let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let runtime = ctx.shared.runtime();
    if protected_mode_denies(&runtime, ctx.shared.config.bind_given, addr.ip()) {
        let mut out = Vec::new();
        encode(&Frame::error(DENIED), false, &mut out);
        let _ = stream.write_all(&out).await;
        return;
    }
    let id = ctx.shared.next_client_id();
    let now = Instant::now();
    let output = Rc::new(ClientOutput::new(stream.as_raw_fd()));
    let info = Rc::new(RefCell::new(ClientInfo {
        id,
        fd: stream.as_raw_fd(),
        addr,
        laddr,
        name: String::new(),
        db: 0,
        resp: 2,
        created: now,
        last_interaction: now,
        last_command: "",
        shard: ctx.id,
        killed: false,
        kind: ClientKind::Normal,
        blocked: false,
        sub: 0,
        psub: 0,
        qbuf: 0,
        qbuf_free: 0,
        output: output.clone(),
    }));
    crate::clients::describe_output(&info);
    ctx.shard.borrow_mut().clients.add(info.clone());
    let mut connection = Connection {
        ctx: ctx.clone(),
        info,
        id,
        db: 0,
        resp3: false,
        authenticated: runtime.requirepass.is_none(),
        close_after_reply: false,
        handoff: None,
        replica_hello: None,
        write_offsets: Vec::new(),
        multi: None,
        watch: None,
        subscriptions: None,
        output,
    };
    if let Err(err) = connection.run(&mut stream).await {
        tracing::debug!("client {id} closed: {err}");
    }
    connection.output.retire();
    ctx.shard.borrow_mut().clients.remove(id);
    crate::commands::multi::unwatch_all(&mut connection).await;
    crate::commands::pubsub::unsubscribe_all(&mut connection);
    match connection.handoff.take() {
        Some(Handoff::Flow { session, shard }) => {
            crate::replication::primary::hand_off(&ctx, stream, session, shard).await;
        }
        Some(Handoff::RedisReplica(request)) => {
            crate::replication::redis_feed::hand_off(&ctx, stream, request).await;
        }
        None => {}
    }
}

impl Connection {
    async fn run(&mut self, stream: &mut TcpStream) -> std::io::Result<()> {
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut input = BytesMut::with_capacity(READ_CHUNK);
        let mut output = Vec::with_capacity(READ_CHUNK);
        let mut parser = Parser::new();
        // Set when unparsed input is left after a command that had to run alone (see below).
        let mut more_buffered = false;
        loop {
            if !more_buffered {
                let read = match self.subscriptions {
                    None => stream.read(&mut chunk).await?,
                    Some(_) => self.read_or_deliver(stream, &mut chunk).await?,
                };
                if read == 0 || self.info.borrow().killed {
                    return Ok(());
                }
                input.extend_from_slice(&chunk[..read]);
                {
                    let mut info = self.info.borrow_mut();
                    info.last_interaction = Instant::now();
                    info.qbuf = input.len();
                    info.qbuf_free = input.capacity() - input.len();
                }
                if input.len() as u64 > self.ctx.shared.client_limits.query_buffer_limit() {
                    self.log_query_buffer_overrun(&input);
                    return Ok(());
                }
            }
            // An unauthenticated client gets Redis's stricter limits, decided per command: after one
            // command the rest is parsed only once it has run (it may have been AUTH).
            let one_at_a_time = !self.authenticated;
            parser.set_auth_required(one_at_a_time);
            parser.set_max_bulk_len(
                usize::try_from(damselfly_storage::config::PROTO_MAX_BULK_LEN.get())
                    .unwrap_or(usize::MAX),
            );
            let mut commands = Vec::new();
            let mut protocol_error = None;
            loop {
                match parser.next_command(&mut input) {
                    Ok(Some(command)) => {
                        commands.push(command);
                        if one_at_a_time {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(ParseError::Protocol(message)) => {
                        protocol_error = Some(message);
                        break;
                    }
                }
            }
            more_buffered = one_at_a_time && !commands.is_empty() && !input.is_empty();
            parser.reserve_for_bulk(&mut input);
            let replies = pipeline::execute(self, commands).await;
            if self.handoff.is_some() {
                // The flow's first reply comes from the shard that takes the socket over.
                return Ok(());
            }
            for reply in &replies {
                encode(reply, self.resp3, &mut output);
            }
            if let Some(message) = protocol_error {
                encode(
                    &Frame::error_owned(format!("ERR {message}")),
                    self.resp3,
                    &mut output,
                );
                self.close_after_reply = true;
            }
            if !output.is_empty() && (!more_buffered || self.close_after_reply) {
                self.write(stream, &output).await?;
                output.clear();
            }
            if self.close_after_reply {
                return Ok(());
            }
            if output.is_empty() && output.capacity() > 4 * READ_CHUNK {
                output = Vec::with_capacity(READ_CHUNK);
            }
        }
    }
}

impl Connection {
    /// Redis's warning when it closes a client for client-query-buffer-limit.
    fn log_query_buffer_overrun(&self, input: &[u8]) {
        let initial = &input[..input.len().min(64)];
        tracing::warn!(
            "Closing client that reached max query buffer length: {} (qbuf initial bytes: {})",
            self.info.borrow().describe(),
            damselfly_protocol::repr(initial)
        );
    }

    /// Writes `bytes` to the client. While the client does not read them they count as its unsent
    /// output, so a write past its class's output limit closes it instead of waiting forever.
    async fn write(&self, stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
        let limits = &self.ctx.shared.output_limits;
        if !self.output.begin_write(bytes.len(), limits) {
            return Err(output_limit_reached());
        }
        let written = stream.write_all(bytes).await;
        self.output.end_write();
        if self.output.is_closing() {
            return Err(output_limit_reached());
        }
        written
    }

    /// Waits for input while writing the messages pushed to a subscribed connection. A read
    /// interrupted by a message is not lost: glommio keeps the pending readiness in the stream.
    async fn read_or_deliver(
        &self,
        stream: &mut TcpStream,
        chunk: &mut [u8],
    ) -> std::io::Result<usize> {
        use futures::FutureExt;
        loop {
            let pushed = futures::select! {
                read = stream.read(chunk).fuse() => return read,
                pushed = self.output.next_pushed().fuse() => pushed,
            };
            if self.output.is_closing() {
                return Err(output_limit_reached());
            }
            self.write(stream, &pushed).await?;
        }
    }
}

fn output_limit_reached() -> std::io::Error {
    std::io::Error::other("closed for overcoming of output buffer limits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(protected_mode: bool, password: Option<&str>) -> RuntimeConfig {
        RuntimeConfig {
            requirepass: password.map(str::to_string),
            maxmemory: 0,
            protected_mode,
            loglevel: "notice".to_string(),
            save: String::new(),
            replica_announce_ip: None,
            replica_announce_port: 0,
        }
    }

    #[test]
    fn protected_mode_refuses_only_remote_clients_of_an_open_default_server() {
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped_loopback: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(protected_mode_denies(&runtime(true, None), false, remote));
        assert!(!protected_mode_denies(
            &runtime(true, None),
            false,
            "127.0.0.5".parse().unwrap()
        ));
        assert!(!protected_mode_denies(
            &runtime(true, None),
            false,
            "::1".parse().unwrap()
        ));
        assert!(!protected_mode_denies(
            &runtime(true, None),
            false,
            mapped_loopback
        ));
        assert!(!protected_mode_denies(
            &runtime(true, Some("pw")),
            false,
            remote
        ));
        assert!(!protected_mode_denies(&runtime(true, None), true, remote));
        assert!(!protected_mode_denies(&runtime(false, None), false, remote));
    }
}
