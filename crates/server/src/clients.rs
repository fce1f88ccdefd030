//! The connections one executor serves, for CLIENT LIST / INFO / KILL and INFO clients.

use crate::client_output::ClientOutput;
use crate::output_limits::OutputClass;
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
    /// Waiting in a blocking command (CLIENT LIST flag b; never closed for idleness).
    pub blocked: bool,
    /// Channels and patterns subscribed to.
    pub sub: usize,
    pub psub: usize,
    /// Unparsed input bytes and the input buffer's spare room (CLIENT LIST's qbuf, qbuf-free).
    pub qbuf: usize,
    pub qbuf_free: usize,
    pub output: Rc<ClientOutput>,
}

impl ClientInfo {
    /// One line in Redis's CLIENT LIST format. Of the unsent output (replies being written, then
    /// messages queued behind them), obl is the first 16 KB and omem the rest, as Redis splits its
    /// reply buffer and reply list; oll counts the queued messages.
    pub fn describe(&self) -> String {
        let now = Instant::now();
        let omem = self.output.bytes();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl={} oll={} omem={omem} tot-mem={} events={} cmd={} user=default redir=-1 resp={} thread={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name,
            now.duration_since(self.created).as_secs(),
            now.duration_since(self.last_interaction).as_secs(),
            self.flags(),
            self.db,
            self.sub,
            self.psub,
            self.qbuf,
            self.qbuf_free,
            self.qbuf + self.qbuf_free,
            self.output.buffered(),
            self.output.queued_messages(),
            self.memory(),
            if self.output.buffered() > 0 { "rw" } else { "r" },
            if self.last_command.is_empty() { "NULL" } else { self.last_command },
            self.resp,
            self.shard,
        )
    }

    /// CLIENT LIST's flags: a blocked normal client shows b, as in Redis.
    fn flags(&self) -> &'static str {
        match self.kind {
            ClientKind::Normal if self.blocked => "b",
            kind => kind.flag(),
        }
    }

    /// What the client's buffers hold (CLIENT LIST's tot-mem).
    pub fn memory(&self) -> usize {
        self.qbuf + self.qbuf_free + self.output.buffered() + self.output.bytes()
    }

    /// Notes the client's subscription counts: a client with any is in the pubsub class.
    pub fn set_subscriptions(&mut self, sub: usize, psub: usize) {
        self.sub = sub;
        self.psub = psub;
        let subscribed = sub + psub > 0;
        match self.kind {
            ClientKind::Normal if subscribed => self.kind = ClientKind::PubSub,
            ClientKind::PubSub if !subscribed => self.kind = ClientKind::Normal,
            _ => {}
        }
        self.output.set_class(if self.kind == ClientKind::PubSub {
            OutputClass::PubSub
        } else {
            OutputClass::Normal
        });
    }
}

pub type SharedClientInfo = Rc<RefCell<ClientInfo>>;

/// Lets the client's output describe the client (its CLIENT LIST line) when it logs a close.
pub fn describe_output(info: &SharedClientInfo) {
    let described = Rc::downgrade(info);
    info.borrow().output.set_describe(Box::new(move || {
        described
            .upgrade()
            .map_or_else(String::new, |info| info.borrow().describe())
    }));
}

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
