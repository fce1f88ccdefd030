//! The documentation COMMAND DOCS gives beyond a command's summary: its argument tree, its
//! history and its documentation flags, as const data on the definition (built with the const
//! constructors below, so nothing is parsed or allocated at start-up).

/// What an argument is, as COMMAND DOCS names it in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    /// A word that is the whole argument (NX, KEEPTTL).
    PureToken,
    /// Exactly one of its arguments.
    Oneof,
    /// All of its arguments, in order.
    Block,
}

impl ArgType {
    pub const fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::Oneof => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// An argument's flags (`Arg::flags`).
pub mod arg_flag {
    pub const OPTIONAL: u8 = 1 << 0;
    pub const MULTIPLE: u8 = 1 << 1;
    /// Each repetition repeats the token too (`GET pattern [GET pattern ...]`).
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;

    /// The flags in the order COMMAND DOCS lists them.
    pub const NAMES: &[(u8, &str)] = &[
        (OPTIONAL, "optional"),
        (MULTIPLE, "multiple"),
        (MULTIPLE_TOKEN, "multiple_token"),
    ];
}

/// A command's documentation flags (`CommandDef::doc_flags`).
pub mod doc_flag {
    pub const DEPRECATED: u8 = 1 << 0;
    /// Not meant for clients (replication, debugging).
    pub const SYSCMD: u8 = 1 << 1;

    /// The flags in the order COMMAND DOCS lists them.
    pub const NAMES: &[(u8, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
}

/// One argument of a command, with its nested arguments for a oneof or a block. The optional
/// fields are None where COMMAND DOCS leaves them out.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// Which of the command's key specs finds this argument (a key; SORT's patterns too).
    pub key_spec_index: Option<u8>,
    pub token: Option<&'static str>,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    /// `arg_flag::*` bits.
    pub flags: u8,
    /// A oneof's or a block's arguments.
    pub args: &'static [Arg],
}

impl Arg {
    const fn new(name: &'static str, kind: ArgType) -> Arg {
        Arg {
            name,
            kind,
            key_spec_index: None,
            token: None,
            summary: None,
            since: None,
            deprecated_since: None,
            flags: 0,
            args: &[],
        }
    }

    /// A key, found by the key spec at `key_spec_index`.
    pub const fn key(name: &'static str, key_spec_index: u8) -> Arg {
        Arg::new(name, ArgType::Key).key_spec_index(key_spec_index)
    }

    pub const fn string(name: &'static str) -> Arg {
        Arg::new(name, ArgType::String)
    }

    pub const fn integer(name: &'static str) -> Arg {
        Arg::new(name, ArgType::Integer)
    }

    pub const fn double(name: &'static str) -> Arg {
        Arg::new(name, ArgType::Double)
    }

    pub const fn pattern(name: &'static str) -> Arg {
        Arg::new(name, ArgType::Pattern)
    }

    pub const fn unix_time(name: &'static str) -> Arg {
        Arg::new(name, ArgType::UnixTime)
    }

    /// A word standing alone (`Arg::pure_token("nx", "NX")`).
    pub const fn pure_token(name: &'static str, token: &'static str) -> Arg {
        Arg::new(name, ArgType::PureToken).token(token)
    }

    /// Exactly one of `args`.
    pub const fn oneof(name: &'static str, args: &'static [Arg]) -> Arg {
        let mut arg = Arg::new(name, ArgType::Oneof);
        arg.args = args;
        arg
    }

    /// All of `args`, in order.
    pub const fn block(name: &'static str, args: &'static [Arg]) -> Arg {
        let mut arg = Arg::new(name, ArgType::Block);
        arg.args = args;
        arg
    }

    pub const fn key_spec_index(mut self, index: u8) -> Arg {
        self.key_spec_index = Some(index);
        self
    }

    /// The word that introduces the argument (`EX seconds`).
    pub const fn token(mut self, token: &'static str) -> Arg {
        self.token = Some(token);
        self
    }

    pub const fn summary(mut self, summary: &'static str) -> Arg {
        self.summary = Some(summary);
        self
    }

    /// The version that added the argument.
    pub const fn since(mut self, version: &'static str) -> Arg {
        self.since = Some(version);
        self
    }

    pub const fn deprecated_since(mut self, version: &'static str) -> Arg {
        self.deprecated_since = Some(version);
        self
    }

    pub const fn optional(mut self) -> Arg {
        self.flags |= arg_flag::OPTIONAL;
        self
    }

    pub const fn multiple(mut self) -> Arg {
        self.flags |= arg_flag::MULTIPLE;
        self
    }

    pub const fn multiple_token(mut self) -> Arg {
        self.flags |= arg_flag::MULTIPLE_TOKEN;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_what_commands_docs_gives() {
        const CONDITION: Arg = Arg::oneof(
            "condition",
            &[Arg::pure_token("nx", "NX"), Arg::pure_token("xx", "XX")],
        )
        .since("2.6.12")
        .optional();
        assert_eq!(CONDITION.kind.name(), "oneof");
        assert_eq!(CONDITION.since, Some("2.6.12"));
        assert_eq!(CONDITION.flags, arg_flag::OPTIONAL);
        assert_eq!(CONDITION.args[1].token, Some("XX"));
        assert_eq!(CONDITION.args[1].kind, ArgType::PureToken);

        const KEY: Arg = Arg::key("key", 1).multiple();
        assert_eq!((KEY.key_spec_index, KEY.token), (Some(1), None));
        assert_eq!(KEY.kind.name(), "key");
        let seconds = Arg::unix_time("unix-time-seconds").token("EXAT");
        assert_eq!(
            (seconds.kind.name(), seconds.token),
            ("unix-time", Some("EXAT"))
        );
    }
}
