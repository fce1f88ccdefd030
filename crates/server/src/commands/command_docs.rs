//! COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS, generated from the definitions.

use super::handler::Now;
use super::{bulk_str, unknown_subcommand, wrong_arity};
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{
    acl, arg_flag, doc_flag, flag, flag::*, key, Arg, ArgType, Begin, CommandDef, Find, KeySpec,
    Run,
};

/// COMMAND and its subcommands.
const COMMAND_HANDLER: Run = Run::Connection(&Now(|_, args| run(args)));

/// The command docs commands.
pub(crate) static COMMANDS: &[CommandDef] = &[CommandDef::new("command", -1, COMMAND_HANDLER)
    .flags(LOADING | STALE)
    .acl(acl::CONNECTION)
    .tips(&["nondeterministic_output_order"])
    .doc(
        "server",
        "2.8.13",
        "O(N) where N is the total number of Redis commands",
        "Get array of Redis command details",
    )
    .subcommands(&[
        CommandDef::subcommand("command|count", 2, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .doc(
                "server",
                "2.8.13",
                "O(1)",
                "Get total number of Redis commands",
            ),
        CommandDef::subcommand("command|docs", -2, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .tips(&["nondeterministic_output_order"])
            .doc(
                "server",
                "7.0.0",
                "O(N) where N is the number of commands to look up",
                "Get array of specific Redis command documentation",
            )
            .args(&[Arg::string("command-name").optional().multiple()]),
        CommandDef::subcommand("command|getkeys", -4, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .doc(
                "server",
                "2.8.13",
                "O(N) where N is the number of arguments to the command",
                "Extract keys given a full Redis command",
            ),
        CommandDef::subcommand("command|getkeysandflags", -4, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .doc(
                "server",
                "7.0.0",
                "O(N) where N is the number of arguments to the command",
                "Extract keys and access flags given a full Redis command",
            ),
        CommandDef::subcommand("command|help", 2, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .doc(
                "server",
                "5.0.0",
                "O(1)",
                "Show helpful text about the different subcommands",
            ),
        CommandDef::subcommand("command|info", -2, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .tips(&["nondeterministic_output_order"])
            .doc(
                "server",
                "2.8.13",
                "O(N) where N is the number of commands to look up",
                "Get array of specific Redis command details, or all when no argument is given.",
            )
            .history(&[(
                "7.0.0",
                "Allowed to be called with no argument to get info on all commands.",
            )])
            .args(&[Arg::string("command-name").optional().multiple()]),
        CommandDef::subcommand("command|list", -2, COMMAND_HANDLER)
            .flags(LOADING | STALE)
            .acl(acl::CONNECTION)
            .tips(&["nondeterministic_output_order"])
            .doc(
                "server",
                "7.0.0",
                "O(N) where N is the total number of Redis commands",
                "Get an array of Redis command names",
            )
            .args(&[Arg::oneof(
                "filterby",
                &[
                    Arg::string("module-name").token("MODULE"),
                    Arg::string("category").token("ACLCAT"),
                    Arg::pattern("pattern").token("PATTERN"),
                ],
            )
            .token("FILTERBY")
            .optional()]),
    ])];

pub fn run(args: &[Bytes]) -> Frame {
    if args.len() == 1 {
        return Frame::Array(crate::spec::all().map(info).collect());
    }
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if args.len() == 2 => Frame::Integer(crate::spec::all().count() as i64),
        b"list" => Frame::Array(
            crate::spec::all()
                .flat_map(|def| std::iter::once(def).chain(def.subcommands))
                .map(|def| bulk_str(def.name))
                .collect(),
        ),
        b"info" => {
            if args.len() == 2 {
                return Frame::Array(crate::spec::all().map(info).collect());
            }
            Frame::Array(
                args[2..]
                    .iter()
                    .map(|name| crate::spec::lookup_full(name).map_or(Frame::Null, info))
                    .collect(),
            )
        }
        b"docs" => {
            let specs: Vec<&'static CommandDef> = if args.len() == 2 {
                crate::spec::all().collect()
            } else {
                args[2..]
                    .iter()
                    .filter_map(|name| crate::spec::lookup_full(name))
                    .collect()
            };
            Frame::Map(
                specs
                    .into_iter()
                    .map(|spec| (text(spec.name), docs(spec)))
                    .collect(),
            )
        }
        b"getkeys" if args.len() >= 3 => getkeys(&args[2..], false),
        b"getkeysandflags" if args.len() >= 3 => getkeys(&args[2..], true),
        b"count" | b"getkeys" | b"getkeysandflags" => {
            wrong_arity(&format!("command|{}", String::from_utf8_lossy(&sub)))
        }
        b"help" => Frame::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|line| Frame::simple(line))
            .collect(),
        ),
        _ => unknown_subcommand(args),
    }
}

/// One COMMAND INFO entry in Redis 7.0's shape.
fn info(def: &'static CommandDef) -> Frame {
    Frame::Array(vec![
        bulk_str(def.name),
        Frame::Integer(def.arity.into()),
        Frame::Set(flag::names(def.flags).map(Frame::simple).collect()),
        Frame::Integer(def.first_key.into()),
        Frame::Integer(def.last_key.into()),
        Frame::Integer(def.step.into()),
        Frame::Set(
            acl::names(def.acl_categories())
                .map(|name| Frame::Simple(format!("@{name}").into()))
                .collect(),
        ),
        Frame::Set(def.tips.iter().map(|tip| bulk_str(tip)).collect()),
        Frame::Array(def.key_specs.iter().map(key_spec).collect()),
        Frame::Array(def.subcommands.iter().map(info).collect()),
    ])
}

/// Key spec flags as a set of their names.
fn key_flags(flags: u16) -> Frame {
    Frame::Set(
        key::NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|&(_, name)| Frame::simple(name))
            .collect(),
    )
}

fn key_spec(spec: &KeySpec) -> Frame {
    let flags = key_flags(spec.flags);
    let int = |value: i32| Frame::Integer(value.into());
    let (begin_type, begin) = match spec.begin {
        Begin::Index(index) => ("index", vec![(bulk_str("index"), int(index))]),
        Begin::Keyword {
            keyword,
            start_from,
        } => (
            "keyword",
            vec![
                (bulk_str("keyword"), bulk_str(keyword)),
                (bulk_str("startfrom"), int(start_from)),
            ],
        ),
    };
    let (find_type, find) = match spec.find {
        Find::Range { last, step, limit } => (
            "range",
            vec![
                (bulk_str("lastkey"), int(last)),
                (bulk_str("keystep"), int(step)),
                (bulk_str("limit"), int(limit)),
            ],
        ),
        Find::Keynum {
            keynum_index,
            first_key,
            step,
        } => (
            "keynum",
            vec![
                (bulk_str("keynumidx"), int(keynum_index)),
                (bulk_str("firstkey"), int(first_key)),
                (bulk_str("keystep"), int(step)),
            ],
        ),
    };
    let search = |kind: &str, spec: Vec<(Frame, Frame)>| {
        Frame::Map(vec![
            (bulk_str("type"), bulk_str(kind)),
            (bulk_str("spec"), Frame::Map(spec)),
        ])
    };
    let mut fields = Vec::with_capacity(4);
    if !spec.notes.is_empty() {
        fields.push((bulk_str("notes"), bulk_str(spec.notes)));
    }
    fields.extend([
        (bulk_str("flags"), flags),
        (bulk_str("begin_search"), search(begin_type, begin)),
        (bulk_str("find_keys"), search(find_type, find)),
    ]);
    Frame::Map(fields)
}

/// A static string as a bulk reply, without copying it.
fn text(text: &'static str) -> Frame {
    Frame::Bulk(Bytes::from_static(text.as_bytes()))
}

/// The names of the `flags` bits set, as a set of simple strings (doc flags, argument flags).
fn flag_set(flags: u8, names: &'static [(u8, &'static str)]) -> Frame {
    Frame::Set(
        names
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|&(_, name)| Frame::simple(name))
            .collect(),
    )
}

/// One command's COMMAND DOCS entry: Redis 7.0's fields, in its order, each only when the
/// command has it (group always).
fn docs(def: &'static CommandDef) -> Frame {
    let mut fields = Vec::with_capacity(10);
    if !def.summary.is_empty() {
        fields.push((text("summary"), text(def.summary)));
    }
    if !def.since.is_empty() {
        fields.push((text("since"), text(def.since)));
    }
    fields.push((text("group"), text(def.group)));
    if !def.complexity.is_empty() {
        fields.push((text("complexity"), text(def.complexity)));
    }
    if def.doc_flags != 0 {
        fields.push((text("doc_flags"), flag_set(def.doc_flags, doc_flag::NAMES)));
    }
    if let Some(version) = def.deprecated_since {
        fields.push((text("deprecated_since"), text(version)));
    }
    if let Some(replacement) = def.replaced_by {
        fields.push((text("replaced_by"), text(replacement)));
    }
    if !def.history.is_empty() {
        let history = def
            .history
            .iter()
            .map(|&(version, change)| Frame::Array(vec![text(version), text(change)]))
            .collect();
        fields.push((text("history"), Frame::Set(history)));
    }
    if !def.args.is_empty() {
        fields.push((text("arguments"), arg_docs(def.args)));
    }
    if !def.subcommands.is_empty() {
        let subcommands = def
            .subcommands
            .iter()
            .map(|sub| (text(sub.name), docs(sub)))
            .collect();
        fields.push((text("subcommands"), Frame::Map(subcommands)));
    }
    Frame::Map(fields)
}

/// An argument list as COMMAND DOCS gives it, nested arguments included.
fn arg_docs(args: &'static [Arg]) -> Frame {
    Frame::Array(
        args.iter()
            .map(|arg| {
                let mut fields = Vec::with_capacity(9);
                fields.push((text("name"), text(arg.name)));
                fields.push((text("type"), text(arg.kind.name())));
                if let Some(index) = arg.key_spec_index {
                    fields.push((text("key_spec_index"), Frame::Integer(index.into())));
                }
                for (field, value) in [
                    ("token", arg.token),
                    ("summary", arg.summary),
                    ("since", arg.since),
                    ("deprecated_since", arg.deprecated_since),
                ] {
                    if let Some(value) = value {
                        fields.push((text(field), text(value)));
                    }
                }
                if arg.flags != 0 {
                    fields.push((text("flags"), flag_set(arg.flags, arg_flag::NAMES)));
                }
                // Redis gives a oneof's or a block's arguments even when there are none.
                if matches!(arg.kind, ArgType::Oneof | ArgType::Block) {
                    fields.push((text("arguments"), arg_docs(arg.args)));
                }
                Frame::Map(fields)
            })
            .collect(),
    )
}

/// COMMAND GETKEYS (and GETKEYSANDFLAGS: each key with its key spec's flags) with Redis 7.0's
/// checks and errors, in its order.
fn getkeys(command: &[Bytes], with_flags: bool) -> Frame {
    let Ok(def) = crate::spec::resolve(command) else {
        return Frame::error("ERR Invalid command specified");
    };
    if def.key_specs.is_empty() {
        return Frame::error("ERR The command has no key arguments");
    }
    if !def.arity_ok(command.len()) {
        return Frame::error("ERR Invalid number of arguments specified for command");
    }
    let mut positions = def.key_positions(command);
    let mut keys = Vec::new();
    while let Some((position, flags)) = positions.next_with_flags() {
        let key = Frame::Bulk(command[position].clone());
        let flags = def.variable_key_flags.map_or(flags, |of| of(command));
        keys.push(if with_flags {
            Frame::Array(vec![key, key_flags(flags)])
        } else {
            key
        });
    }
    if keys.is_empty() && !def.has(NO_MANDATORY_KEYS) {
        return Frame::error("ERR Invalid arguments specified for command");
    }
    Frame::Array(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::install;

    /// Every argument tree is one COMMAND DOCS can give and a client can follow.
    fn check_args(def: &CommandDef, args: &[Arg]) {
        for arg in args {
            let what = format!("{} argument {}", def.name, arg.name);
            assert!(!arg.name.is_empty(), "{what}");
            match arg.kind {
                ArgType::Oneof | ArgType::Block => assert!(!arg.args.is_empty(), "{what}"),
                _ => assert!(arg.args.is_empty(), "{what}"),
            }
            if arg.kind == ArgType::Key {
                assert!(arg.key_spec_index.is_some(), "{what}");
            }
            if let Some(index) = arg.key_spec_index {
                assert!(usize::from(index) < def.key_specs.len(), "{what}");
            }
            if arg.kind == ArgType::PureToken {
                assert!(arg.token.is_some(), "{what}");
            }
            check_args(def, arg.args);
        }
    }

    #[test]
    fn every_argument_tree_is_well_formed() {
        install();
        for def in crate::spec::all() {
            for def in std::iter::once(def).chain(def.subcommands) {
                check_args(def, def.args);
                let deprecated = def.doc_flags & doc_flag::DEPRECATED != 0;
                assert_eq!(deprecated, def.deprecated_since.is_some(), "{}", def.name);
                assert_eq!(deprecated, def.replaced_by.is_some(), "{}", def.name);
            }
        }
    }

    fn field_names(entry: &Frame) -> Vec<String> {
        let Frame::Map(fields) = entry else {
            panic!("not a map: {entry:?}");
        };
        fields
            .iter()
            .map(|(name, _)| match name {
                Frame::Bulk(name) => String::from_utf8_lossy(name).into_owned(),
                other => panic!("field name {other:?}"),
            })
            .collect()
    }

    fn field<'a>(entry: &'a Frame, name: &str) -> &'a Frame {
        let Frame::Map(fields) = entry else {
            panic!("not a map: {entry:?}");
        };
        fields
            .iter()
            .find(|(key, _)| *key == text_owned(name))
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn text_owned(text: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn docs_give_redis_fields_in_redis_order() {
        install();
        let set = docs(crate::spec::lookup(b"set").unwrap());
        assert_eq!(
            field_names(&set),
            [
                "summary",
                "since",
                "group",
                "complexity",
                "history",
                "arguments"
            ]
        );
        let Frame::Array(args) = field(&set, "arguments") else {
            panic!("arguments");
        };
        // `condition`: NX or XX, added in 2.6.12.
        assert_eq!(
            field_names(&args[2]),
            ["name", "type", "since", "flags", "arguments"]
        );
        assert_eq!(
            *field(&args[2], "flags"),
            Frame::Set(vec![Frame::simple("optional")])
        );
        let Frame::Set(history) = field(&set, "history") else {
            panic!("history");
        };
        assert_eq!(history.len(), 4);

        let zrangebyscore = docs(crate::spec::lookup(b"zrangebyscore").unwrap());
        assert_eq!(
            field_names(&zrangebyscore)[4..],
            [
                "doc_flags",
                "deprecated_since",
                "replaced_by",
                "history",
                "arguments"
            ]
        );
    }

    /// DFLY is damselfly's own: documented as Redis documents its replication commands.
    #[test]
    fn dfly_has_docs_of_its_own() {
        install();
        let dfly = docs(crate::spec::lookup(b"dfly").unwrap());
        assert_eq!(
            field_names(&dfly),
            [
                "summary",
                "since",
                "group",
                "complexity",
                "doc_flags",
                "arguments"
            ]
        );
        assert_eq!(
            *field(&dfly, "doc_flags"),
            Frame::Set(vec![Frame::simple("syscmd")])
        );
    }
}
