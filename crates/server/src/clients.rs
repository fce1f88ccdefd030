//! The connections one executor serves, for CLIENT LIST / INFO / KILL and INFO clients.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Redis's client types (CLIENT LIST/KILL TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Normal,
    /// A replica's replication flow connected to us.
    Replica,
    /// Our connection to the primary we replicate.
    Master,
    PubSub,
}

impl ClientKind {
    pub fn parse(name: &str) -> Option<ClientKind> {
        match name.to_ascii_lowercase().as_str() {
            "normal" => Some(ClientKind::Normal),
            "replica" | "slave" => Some(ClientKind::Replica),
            "master" => Some(ClientKind::Master),
            "pubsub" => Some(ClientKind::PubSub),
            _ => None,
        }
    }

    fn flag(self) -> &'static str {
        match self {
            ClientKind::Normal => "N",
            ClientKind::Replica => "S",
            ClientKind::Master => "M",
            ClientKind::PubSub => "P",
        }
    }
}

/// What CLIENT LIST shows about one connection; shared between the connection task and the registry.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub fd: i32,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub name: String,
    pub db: usize,
    pub resp: u8,
    pub created: Instant,
    pub last_interaction: Instant,
    pub last_command: &'static str,
    pub shard: usize,
    pub killed: bool,
    pub kind: ClientKind,
}

impl ClientInfo {
    /// One line in Redis's CLIENT LIST format.
    pub fn describe(&self) -> String {
        let now = Instant::now();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} thread={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name,
            now.duration_since(self.created).as_secs(),
            now.duration_since(self.last_interaction).as_secs(),
            self.kind.flag(),
            self.db,
            if self.last_command.is_empty() { "NULL" } else { self.last_command },
            self.resp,
            self.shard,
        )
    }
}

pub type SharedClientInfo = Rc<RefCell<ClientInfo>>;

#[derive(Default)]
pub struct ClientRegistry {
    clients: BTreeMap<u64, SharedClientInfo>,
    pub total_received: u64,
}

impl ClientRegistry {
    pub fn add(&mut self, info: SharedClientInfo) {
        let id = info.borrow().id;
        self.clients.insert(id, info);
        self.total_received += 1;
    }

    pub fn remove(&mut self, id: u64) {
        self.clients.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SharedClientInfo> {
        self.clients.values()
    }

    /// Closes the socket of every client `matches` selects; the connection task then ends. Returns how many.
    pub fn kill(&mut self, matches: &dyn Fn(&ClientInfo) -> bool) -> i64 {
        let mut killed = 0;
        for info in self.clients.values() {
            let mut info = info.borrow_mut();
            if !info.killed && matches(&info) {
                info.killed = true;
                // SAFETY: shutdown only changes the socket's state; the fd stays owned by its connection task.
                unsafe { libc::shutdown(info.fd, libc::SHUT_RDWR) };
                killed += 1;
            }
        }
        killed
    }
}
