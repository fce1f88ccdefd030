//! COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS, from the command table.

use super::table::{self, CommandSpec};
use super::{bulk_str, unknown_subcommand, wrong_arity};
use bytes::Bytes;
use damselfly_protocol::Frame;

pub fn run(args: &[Bytes]) -> Frame {
    if args.len() == 1 {
        return Frame::Array(table::all().map(info).collect());
    }
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if args.len() == 2 => Frame::Integer(table::all().count() as i64),
        b"list" => Frame::Array(table::all().map(|spec| bulk_str(spec.name)).collect()),
        b"info" => {
            if args.len() == 2 {
                return Frame::Array(table::all().map(info).collect());
            }
            Frame::Array(
                args[2..]
                    .iter()
                    .map(|name| table::lookup(name).map_or(Frame::Null, info))
                    .collect(),
            )
        }
        b"docs" => {
            let specs: Vec<&CommandSpec> = if args.len() == 2 {
                table::all().collect()
            } else {
                args[2..]
                    .iter()
                    .filter_map(|name| table::lookup(name))
                    .collect()
            };
            Frame::Map(
                specs
                    .into_iter()
                    .map(|spec| (bulk_str(spec.name), docs(spec)))
                    .collect(),
            )
        }
        b"getkeys" if args.len() >= 3 => getkeys(&args[2..]),
        b"count" | b"getkeys" => wrong_arity(&format!("command|{}", String::from_utf8_lossy(&sub))),
        b"help" => Frame::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "COUNT",
                "DOCS [<command-name> ...]",
                "GETKEYS <full-command>",
                "INFO [<command-name> ...]",
                "LIST",
                "HELP",
            ]
            .iter()
            .map(|line| Frame::simple(line))
            .collect(),
        ),
        _ => unknown_subcommand(args),
    }
}

/// One COMMAND INFO entry in Redis 7.0's shape.
fn info(spec: &CommandSpec) -> Frame {
    Frame::Array(vec![
        bulk_str(spec.name),
        Frame::Integer(spec.arity.into()),
        Frame::Set(spec.flags.iter().map(|flag| Frame::simple(flag)).collect()),
        Frame::Integer(spec.first_key.into()),
        Frame::Integer(spec.last_key.into()),
        Frame::Integer(spec.step.into()),
        Frame::Set(vec![Frame::Simple(format!("@{}", spec.group).into())]),
        Frame::Set(Vec::new()),
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
    ])
}

fn docs(spec: &CommandSpec) -> Frame {
    Frame::Map(vec![
        (bulk_str("summary"), bulk_str(spec.summary)),
        (bulk_str("since"), bulk_str(spec.since)),
        (bulk_str("group"), bulk_str(spec.group)),
    ])
}

fn getkeys(command: &[Bytes]) -> Frame {
    let Some(spec) = table::lookup(&command[0]) else {
        return Frame::error("ERR Invalid command specified");
    };
    if !spec.arity_ok(command.len()) {
        return Frame::error("ERR Invalid number of arguments specified for command");
    }
    let keys: Vec<Frame> = spec
        .keys_of(command)
        .into_iter()
        .map(|i| Frame::Bulk(command[i].clone()))
        .collect();
    if keys.is_empty() {
        return Frame::error("ERR The command has no key arguments");
    }
    Frame::Array(keys)
}
