//! What commands and jobs carry to a shard and back: a command resolved to its definition, and a
//! job's output.

use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::CommandDef;
use damselfly_storage::Entry;

/// A result that a job hands back to the connection that sent it.
#[derive(Debug)]
pub enum Output {
    Frame(Frame),
    Entry(Option<Entry>),
    /// Keys with their entries (None: absent), lent between shards.
    Entries(Vec<(Bytes, Option<Entry>)>),
    /// A command's reply, and the final entries of the lent keys it may have written.
    Gathered(Frame, Vec<(Bytes, Option<Entry>)>),
    Integer(i64),
    Keys(Vec<Bytes>),
    /// One count per item asked about (PUBSUB NUMSUB).
    Counts(Vec<i64>),
    Scan {
        next: u64,
        keys: Vec<Bytes>,
    },
    Digests(Vec<Option<[u8; 20]>>),
    Text(String),

    /// A payload of the job's own type (INFO's shard figures, SAVE's entries...), so this message
    /// type does not list every feature's data: `Output::take` gives it back.
    Value(Payload),
    Unit,
}

/// A command resolved to its definition once, as it travels to the shard that runs it.
#[derive(Debug)]
pub struct Command {
    pub def: &'static CommandDef,
    pub args: Vec<Bytes>,
}

/// A job's own result, whatever its type.
pub struct Payload(Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Payload")
    }
}

impl Output {
    pub fn value<T: Send + 'static>(value: T) -> Output {
        Output::Value(Payload(Box::new(value)))
    }

    /// The payload of a `value` job, when it is a `T`.
    pub fn take<T: 'static>(self) -> Option<T> {
        match self {
            Output::Value(Payload(value)) => value.downcast::<T>().ok().map(|value| *value),
            _ => None,
        }
    }
}

/// Adds up the integer replies of a fan-out (DEL counts, DBSIZE, CLIENT KILL ...).
pub fn sum_integers(outputs: Vec<Output>) -> i64 {
    outputs
        .into_iter()
        .map(|output| match output {
            Output::Integer(n) | Output::Frame(Frame::Integer(n)) => n,
            _ => 0,
        })
        .sum()
}
