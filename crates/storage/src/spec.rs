//! What the server knows about one command, declared once next to its handler in its family file:
//! name, arity, flags, ACL categories, key specs, documentation and how it runs. Every layer
//! above (routing, locks, shards, journal, replica apply, COMMAND) reads the definition it was
//! handed once at lookup; none of them matches on the command's name.

pub mod acl;
mod docs;
pub mod flag;
mod keys;

pub use docs::{arg_flag, doc_flag, Arg, ArgType};
pub use keys::flag as key;
pub use keys::{Begin, Find, KeyPositions, KeySpec, MAX_KEY_SPECS};

use crate::call::Call;
use bytes::Bytes;
use damselfly_protocol::Frame;
use std::any::Any;

/// A command that runs on the shard owning its keys, against that shard's data.
pub type ShardHandler = fn(&mut Call) -> Frame;

/// For a command that also writes a key in another db (MOVE, COPY ... DB): that db and the
/// position of the key, from its arguments.
pub type OtherDb = fn(&[Bytes]) -> Option<(usize, usize)>;

/// For a command whose key spec has `variable_flags`: the key flags its arguments give.
pub type KeyFlagsOf = fn(&[Bytes]) -> u16;

/// How a command runs.
#[derive(Clone, Copy)]
pub enum Run {
    Shard(ShardHandler),
    /// Run by the connection layer (server, connection and keyspace-wide commands). The handler
    /// belongs to the server, which this crate cannot name: the server downcasts it.
    Connection(&'static (dyn Any + Send + Sync)),
}

/// How a command whose keys live on several shards runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Its keys are lent to one shard, which runs it whole (the default).
    Gathered,
    /// Each shard runs it over its own keys (each key with the words after it, up to the next);
    /// the replies merge as `Merge` says.
    PerKey(Merge),
    /// It writes every shard's whole keyspace (FLUSHALL) or one db of it (FLUSHDB).
    EveryShard { all_dbs: bool },
    /// MSETNX: all keys are set, or none when any exists.
    AllOrNothing,
    /// RENAME, RENAMENX, COPY: a value moves (or is copied) from one key to another.
    MoveValue(Move),
    /// BITOP: a destination computed from source strings.
    Bitop,
}

/// How a value goes from one key to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// RENAME: replaces the destination.
    Rename,
    /// RENAMENX: only to a destination that does not exist.
    RenameNx,
    /// COPY: the source stays; REPLACE and DB options.
    Copy,
    /// MOVE: the same key, to another db.
    ToDb,
}

/// How a blocking command waits and how a waiting client is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// BLPOP, BRPOP, BZPOPMIN, BZPOPMAX (`key... timeout`): `pop` on the first key holding
    /// `wants`; the reply leads with the key.
    PopFirst {
        pop: &'static str,
        wants: &'static str,
    },
    /// BLMOVE (`source destination wherefrom whereto timeout`: `sides_at` Some(3)) and BRPOPLPUSH
    /// (`source destination timeout`: from the right to the left): waits on the source; served
    /// by `via` (LMOVE) with the sides.
    Move {
        sides_at: Option<usize>,
        via: &'static str,
    },
    /// BLMPOP, BZMPOP (`timeout numkeys key... where [COUNT n]`): served by `via` (LMPOP, ZMPOP)
    /// on one key holding `wants`.
    PopMany {
        via: &'static str,
        wants: &'static str,
    },
    /// XREAD, XREADGROUP (`group`) with a BLOCK option.
    StreamRead { group: bool },
}

/// What the replication journal records for a command that changed data: a form that replays
/// the same way on any replica, whatever its shard count.
#[derive(Clone, Copy)]
pub enum Journal {
    /// The command as sent: deterministic given the data.
    AsSent,
    /// As sent, unless `depends_on_the_moment(args)` (relative times, KEEPTTL): then as
    /// `StringState`.
    AsSentUnless(fn(&[Bytes]) -> bool),
    /// The string key's resulting value with its absolute expiry (a SET), or a DEL.
    StringState,
    /// The key's resulting absolute expiry (PEXPIREAT, PERSIST), or a DEL.
    TtlState,
    /// The resulting state of the destination key at this argument (BITOP, SINTERSTORE...), so a
    /// replica never needs the sources on the same shard.
    Destination(usize),
    /// A value that moved or was copied: the source's deletion (unless copied) and the target's
    /// state, so a replica never moves a value between its shards.
    Moved(Move),
    /// MSETNX that succeeded, as an MSET.
    AsMset,
    /// Single-key commands built from the reply (moves between keys, pops from one of several).
    FromReply(fn(&[Bytes], &Frame) -> Vec<Vec<Bytes>>),
}

/// How the replies of a command run per shard merge into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Integers added up (DEL, EXISTS).
    Sum,
    /// Arrays put back in the order of the keys (MGET).
    Positional,
    /// OK from every shard (MSET).
    Ok,
}

/// One command's definition.
pub struct CommandDef {
    /// Lower case, as COMMAND reports it.
    pub name: &'static str,
    /// Redis arity: N means exactly N words, -N means at least N.
    pub arity: i32,
    /// `flag::*` bits.
    pub flags: u32,
    /// The categories declared for the command (`acl::*`); `acl_categories` adds those its flags imply.
    pub acl: u32,
    /// The legacy key range COMMAND INFO reports (first key, last key, step).
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub key_specs: &'static [KeySpec],
    pub tips: &'static [&'static str],
    pub group: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub summary: &'static str,
    /// `doc_flag::*` bits.
    pub doc_flags: u8,
    pub deprecated_since: Option<&'static str>,
    /// What to use instead of a deprecated command.
    pub replaced_by: Option<&'static str>,
    /// (version, change) pairs, oldest first.
    pub history: &'static [(&'static str, &'static str)],
    /// The argument tree COMMAND DOCS gives.
    pub args: &'static [Arg],
    /// A container's subcommands (CONFIG GET, OBJECT ENCODING...), looked up with the second word;
    /// each runs with its container's handler.
    pub subcommands: &'static [CommandDef],
    pub spread: Spread,
    pub other_db: Option<OtherDb>,
    pub journal: Journal,
    pub blocking: Option<Blocking>,
    pub variable_key_flags: Option<KeyFlagsOf>,
    pub run: Run,
}

impl CommandDef {
    /// A command run by `run` (shared by a container and its subcommands).
    pub const fn new(name: &'static str, arity: i32, run: Run) -> CommandDef {
        CommandDef {
            name,
            arity,
            flags: 0,
            acl: 0,
            first_key: 0,
            last_key: 0,
            step: 0,
            key_specs: &[],
            tips: &[],
            group: "",
            since: "",
            complexity: "",
            summary: "",
            doc_flags: 0,
            deprecated_since: None,
            replaced_by: None,
            history: &[],
            args: &[],
            subcommands: &[],
            spread: Spread::Gathered,
            other_db: None,
            journal: Journal::AsSent,
            blocking: None,
            variable_key_flags: None,
            run,
        }
    }

    pub const fn shard(name: &'static str, arity: i32, handler: ShardHandler) -> CommandDef {
        CommandDef::new(name, arity, Run::Shard(handler))
    }

    pub const fn connection(
        name: &'static str,
        arity: i32,
        handler: &'static (dyn Any + Send + Sync),
    ) -> CommandDef {
        CommandDef::new(name, arity, Run::Connection(handler))
    }

    /// A subcommand, named `container|subcommand` as Redis names it.
    pub const fn subcommand(name: &'static str, arity: i32, container: Run) -> CommandDef {
        CommandDef::new(name, arity, container)
    }

    pub const fn subcommands(mut self, subcommands: &'static [CommandDef]) -> CommandDef {
        self.subcommands = subcommands;
        self
    }

    pub const fn spread(mut self, spread: Spread) -> CommandDef {
        self.spread = spread;
        self
    }

    /// How the arguments decide the key flags (COMMAND GETKEYSANDFLAGS), for `variable_flags` specs.
    pub const fn variable_key_flags(mut self, of: KeyFlagsOf) -> CommandDef {
        self.variable_key_flags = Some(of);
        self
    }

    pub const fn blocking(mut self, blocking: Blocking) -> CommandDef {
        self.blocking = Some(blocking);
        self
    }

    pub const fn journal(mut self, journal: Journal) -> CommandDef {
        self.journal = journal;
        self
    }

    pub const fn writes_other_db(mut self, other_db: OtherDb) -> CommandDef {
        self.other_db = Some(other_db);
        self
    }

    pub const fn flags(mut self, flags: u32) -> CommandDef {
        self.flags = flags;
        self
    }

    pub const fn acl(mut self, categories: u32) -> CommandDef {
        self.acl = categories;
        self
    }

    /// The legacy range and the key specs.
    pub const fn keys(
        mut self,
        first_key: i32,
        last_key: i32,
        step: i32,
        specs: &'static [KeySpec],
    ) -> CommandDef {
        self.first_key = first_key;
        self.last_key = last_key;
        self.step = step;
        self.key_specs = specs;
        self
    }

    pub const fn tips(mut self, tips: &'static [&'static str]) -> CommandDef {
        self.tips = tips;
        self
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        complexity: &'static str,
        summary: &'static str,
    ) -> CommandDef {
        self.group = group;
        self.since = since;
        self.complexity = complexity;
        self.summary = summary;
        self
    }

    /// The versions that changed the command, and how (oldest first).
    pub const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> CommandDef {
        self.history = history;
        self
    }

    /// The arguments, as COMMAND DOCS documents them.
    pub const fn args(mut self, args: &'static [Arg]) -> CommandDef {
        self.args = args;
        self
    }

    /// Deprecated since `version`, in favour of `replaced_by`.
    pub const fn deprecated(
        mut self,
        version: &'static str,
        replaced_by: &'static str,
    ) -> CommandDef {
        self.doc_flags |= doc_flag::DEPRECATED;
        self.deprecated_since = Some(version);
        self.replaced_by = Some(replaced_by);
        self
    }

    /// A command for servers and tools rather than clients (REPLCONF, DEBUG).
    pub const fn syscmd(mut self) -> CommandDef {
        self.doc_flags |= doc_flag::SYSCMD;
        self
    }

    #[inline]
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    #[inline]
    pub fn is_write(&self) -> bool {
        self.has(flag::WRITE)
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The subcommand named `word` (any case) of this container.
    pub fn subcommand_named(&'static self, word: &[u8]) -> Option<&'static CommandDef> {
        self.subcommands.iter().find(|sub| {
            sub.name
                .split_once('|')
                .is_some_and(|(_, name)| name.as_bytes().eq_ignore_ascii_case(word))
        })
    }

    /// How many arguments apart its first key spec's keys are (MSET: 2).
    pub fn key_step(&self) -> usize {
        self.key_specs.first().map_or(1, KeySpec::step)
    }

    /// Whether the command runs on the shard that owns its keys.
    pub fn runs_on_shard(&self) -> bool {
        matches!(self.run, Run::Shard(_))
    }

    /// Positions of the key arguments of `args`, found with the key specs as Redis 7 does.
    #[inline]
    pub fn key_positions<'a, T: AsRef<[u8]>>(&'static self, args: &'a [T]) -> KeyPositions<'a, T> {
        KeyPositions::new(self.key_specs, args, u16::MAX)
    }

    /// Positions of the keys the command may write (none for a read-only command). The key specs
    /// say which keys a write command writes; a write command whose specs mark none (XREADGROUP
    /// changes its group, which key specs do not count as a write) writes them all.
    pub fn written_key_positions<'a, T: AsRef<[u8]>>(
        &'static self,
        args: &'a [T],
    ) -> KeyPositions<'a, T> {
        KeyPositions::new(self.key_specs, args, self.written_keys_mask())
    }

    /// Whether a key found by a spec with `key_flags` may be written by this command (see
    /// `written_key_positions`).
    pub fn writes_key(&self, key_flags: u16) -> bool {
        key_flags & self.written_keys_mask() != 0
    }

    /// The key spec flags that mark a written key: none for a read-only command, every flag for a
    /// write command whose specs name no written key.
    fn written_keys_mask(&self) -> u16 {
        let names_written = self
            .key_specs
            .iter()
            .any(|spec| spec.flags & key::WRITTEN != 0);
        match (self.is_write(), names_written) {
            (false, _) => 0,
            (true, true) => key::WRITTEN,
            (true, false) => u16::MAX,
        }
    }

    /// The ACL categories COMMAND INFO reports: the declared ones and those the flags imply.
    pub fn acl_categories(&self) -> u32 {
        acl::with_implied(self.acl, self.flags)
    }
}

/// The longest command name looked up (longer names are not commands).
pub const MAX_NAME: usize = 32;

/// `name` lower-cased into `buffer`, without allocating; None when too long to be a command.
pub fn lowercase_name<'b>(name: &[u8], buffer: &'b mut [u8; MAX_NAME]) -> Option<&'b [u8]> {
    let lower = buffer.get_mut(..name.len())?;
    for (slot, byte) in lower.iter_mut().zip(name) {
        *slot = byte.to_ascii_lowercase();
    }
    Some(lower)
}

impl std::fmt::Debug for CommandDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandDef")
            .field("name", &self.name)
            .finish()
    }
}
