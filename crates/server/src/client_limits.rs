//! The limits every executor applies to clients: maxclients (admission), timeout (idle seconds),
//! tcp-keepalive and client-query-buffer-limit, with the count of refused connections. Relaxed
//! atomics: CONFIG SET changes apply to the next check.

use crate::config::{ClientLimit, Config};
use socket2::{SockRef, TcpKeepalive};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct ClientLimits {
    maxclients: AtomicU64,
    /// Connections admitted and not yet closed, on every executor.
    connected: AtomicU64,
    /// Connections refused for maxclients (INFO rejected_connections).
    rejected: AtomicU64,
    timeout: AtomicU64,
    tcp_keepalive: AtomicU64,
    query_buffer_limit: AtomicU64,
}

/// One admitted connection's place under maxclients, given back when dropped.
pub struct ClientSlot<'a> {
    limits: &'a ClientLimits,
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        self.limits.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The reply, as Redis writes it, to a connection beyond maxclients.
pub const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";

impl ClientLimits {
    /// The limits as configured; `maxclients` is what the open files limit allows.
    pub fn new(config: &Config, maxclients: u64) -> ClientLimits {
        ClientLimits {
            maxclients: AtomicU64::new(maxclients),
            connected: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            timeout: AtomicU64::new(config.timeout),
            tcp_keepalive: AtomicU64::new(config.tcp_keepalive),
            query_buffer_limit: AtomicU64::new(config.client_query_buffer_limit),
        }
    }

    /// A place for a new connection, or None (counted as rejected) when maxclients are connected.
    pub fn admit(&self) -> Option<ClientSlot<'_>> {
        let before = self.connected.fetch_add(1, Ordering::Relaxed);
        if before >= self.maxclients() {
            self.connected.fetch_sub(1, Ordering::Relaxed);
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(ClientSlot { limits: self })
    }

    pub fn maxclients(&self) -> u64 {
        self.maxclients.load(Ordering::Relaxed)
    }

    /// Applies a CONFIG SET of one limit.
    pub fn set(&self, limit: ClientLimit, value: u64) {
        let cell = match limit {
            ClientLimit::MaxClients => &self.maxclients,
            ClientLimit::Timeout => &self.timeout,
            ClientLimit::TcpKeepalive => &self.tcp_keepalive,
            ClientLimit::QueryBufferLimit => &self.query_buffer_limit,
        };
        cell.store(value, Ordering::Relaxed);
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Seconds a normal client may stay idle; 0: forever.
    pub fn timeout(&self) -> u64 {
        self.timeout.load(Ordering::Relaxed)
    }

    pub fn tcp_keepalive(&self) -> u64 {
        self.tcp_keepalive.load(Ordering::Relaxed)
    }

    /// Most unparsed input bytes a client may have before it is closed.
    pub fn query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Ordering::Relaxed)
    }

    /// Turns on TCP keepalive for a new client socket as Redis does: probes after `tcp-keepalive`
    /// seconds of silence, then every third of that, and the peer is dropped after 3 unanswered.
    pub fn apply_keepalive(&self, fd: RawFd) -> std::io::Result<()> {
        let seconds = self.tcp_keepalive();
        if seconds == 0 {
            return Ok(());
        }
        // SAFETY: `fd` is the open socket of the connection being set up; it outlives this call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&borrowed);
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_secs(seconds))
            .with_interval(Duration::from_secs((seconds / 3).max(1)))
            .with_retries(3);
        socket.set_tcp_keepalive(&keepalive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_stops_at_maxclients_and_reopens_when_a_slot_is_dropped() {
        let limits = ClientLimits::new(&Config::default(), 2);
        let first = limits.admit();
        let second = limits.admit();
        assert!(first.is_some() && second.is_some());
        assert!(limits.admit().is_none());
        assert_eq!(limits.rejected(), 1);
        drop(first);
        assert!(limits.admit().is_some());
        assert_eq!(limits.rejected(), 1);
    }
}
