//! Listening sockets. Each executor gets its own SO_REUSEPORT socket per bind address so the kernel spreads
//! connections; a probe bind without SO_REUSEPORT first makes a second instance on the same port fail loudly
//! instead of silently sharing it.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{IntoRawFd, RawFd};

/// Binds `shards` listening sockets for every address; returns them grouped per shard.
pub fn bind_all(addresses: &[String], port: u16, shards: usize) -> Result<Vec<Vec<RawFd>>, String> {
    let mut per_shard = vec![Vec::new(); shards];
    for address in addresses {
        let address = resolve(address, port)?;
        probe(address)?;
        for fds in per_shard.iter_mut() {
            fds.push(
                listen(address, true)
                    .map_err(|err| bind_error(address, &err))?
                    .into_raw_fd(),
            );
        }
    }
    Ok(per_shard)
}

fn resolve(address: &str, port: u16) -> Result<SocketAddr, String> {
    let host = address.trim_start_matches('-');
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        other => other,
    };
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("Invalid bind address '{address}'"))?;
    Ok(SocketAddr::new(ip, port))
}

fn probe(address: SocketAddr) -> Result<(), String> {
    listen(address, false)
        .map(drop)
        .map_err(|err| bind_error(address, &err))
}

fn bind_error(address: SocketAddr, err: &std::io::Error) -> String {
    let reason = if err.kind() == std::io::ErrorKind::AddrInUse {
        "Address already in use".to_string()
    } else {
        err.to_string()
    };
    format!(
        "Could not create server TCP listening socket {address}: bind: {reason}\nFailed listening on port {} (TCP), aborting.",
        address.port()
    )
}

fn listen(address: SocketAddr, reuse_port: bool) -> std::io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(reuse_port)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::from(address))?;
    socket.listen(511)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_reported() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let error = bind_all(&["127.0.0.1".to_string()], port, 2).unwrap_err();
        assert!(error.contains("Address already in use"), "{error}");
    }

    #[test]
    fn one_socket_per_shard_and_address() {
        let fds = bind_all(&["127.0.0.1".to_string()], 0, 2).unwrap();
        assert_eq!(fds.len(), 2);
        assert_eq!(fds[0].len(), 1);
    }
}
