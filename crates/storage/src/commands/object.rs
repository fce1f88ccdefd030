//! OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP (object.c).

use super::{error_text, wrong_args, Call};
use crate::keyspace::lru_clock;
use crate::spec::{acl, flag::*, key::*, Arg, CommandDef, KeySpec, Run};
use damselfly_protocol::Frame;

/// OBJECT and its subcommands.
const OBJECT_HANDLER: Run = Run::Shard(object);

/// OBJECT.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::new("object", -2, OBJECT_HANDLER)
    .doc(
        "generic",
        "2.2.3",
        "Depends on subcommand.",
        "A container for object introspection commands",
    )
    .subcommands(&[
        CommandDef::subcommand("object|encoding", 3, OBJECT_HANDLER)
            .flags(READONLY)
            .acl(acl::KEYSPACE)
            .keys(2, 2, 1, &[KeySpec::at(2, RO)])
            .tips(&["nondeterministic_output"])
            .doc(
                "generic",
                "2.2.3",
                "O(1)",
                "Inspect the internal encoding of a Redis object",
            )
            .args(&[Arg::key("key", 0)]),
        CommandDef::subcommand("object|freq", 3, OBJECT_HANDLER)
            .flags(READONLY)
            .acl(acl::KEYSPACE)
            .keys(2, 2, 1, &[KeySpec::at(2, RO)])
            .tips(&["nondeterministic_output"])
            .doc(
                "generic",
                "4.0.0",
                "O(1)",
                "Get the logarithmic access frequency counter of a Redis object",
            )
            .args(&[Arg::key("key", 0)]),
        CommandDef::subcommand("object|help", 2, OBJECT_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::KEYSPACE)
            .doc(
                "generic",
                "6.2.0",
                "O(1)",
                "Show helpful text about the different subcommands",
            ),
        CommandDef::subcommand("object|idletime", 3, OBJECT_HANDLER)
            .flags(READONLY)
            .acl(acl::KEYSPACE)
            .keys(2, 2, 1, &[KeySpec::at(2, RO)])
            .tips(&["nondeterministic_output"])
            .doc(
                "generic",
                "2.2.3",
                "O(1)",
                "Get the time since a Redis object was last accessed",
            )
            .args(&[Arg::key("key", 0)]),
        CommandDef::subcommand("object|refcount", 3, OBJECT_HANDLER)
            .flags(READONLY)
            .acl(acl::KEYSPACE)
            .keys(2, 2, 1, &[KeySpec::at(2, RO)])
            .tips(&["nondeterministic_output"])
            .doc(
                "generic",
                "2.2.3",
                "O(1)",
                "Get the number of references to the value of the key",
            )
            .args(&[Arg::key("key", 0)]),
    ])];

const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

const FREQ_ERROR: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

#[derive(Clone, Copy)]
enum Sub {
    Encoding,
    Refcount,
    Idletime,
    Freq,
}

pub fn object(c: &mut Call) -> Frame {
    let sub_arg = c.arg(1);
    let lower = sub_arg.to_ascii_lowercase();
    let (sub, full) = match lower.as_slice() {
        b"help" => {
            if c.args.len() != 2 {
                return wrong_args("object|help");
            }
            return Frame::Array(HELP.iter().map(|l| Frame::simple(l)).collect());
        }
        b"encoding" => (Sub::Encoding, "object|encoding"),
        b"refcount" => (Sub::Refcount, "object|refcount"),
        b"idletime" => (Sub::Idletime, "object|idletime"),
        b"freq" => (Sub::Freq, "object|freq"),
        _ => {
            let shown: String = error_text(sub_arg).chars().take(128).collect();
            return Frame::error_owned(format!(
                "ERR unknown subcommand '{shown}'. Try OBJECT HELP."
            ));
        }
    };
    if c.args.len() != 3 {
        return wrong_args(full);
    }
    let Some(id) = c.lookup_read_notouch(c.arg(2)) else {
        return Frame::Null;
    };
    let now = c.now();
    let slot = c.db().slot(id);
    match sub {
        Sub::Encoding => Frame::bulk(slot.value.encoding()),
        Sub::Refcount => Frame::Integer(slot.value.refcount()),
        Sub::Idletime => Frame::Integer(i64::from(lru_clock(now).wrapping_sub(slot.lru))),
        Sub::Freq => Frame::error(FREQ_ERROR),
    }
}
