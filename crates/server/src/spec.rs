//! Every command's definition, found by name: the shard families from the storage crate and the
//! connection families that `commands::install` hands over at start-up. The pipeline
//! resolves each call here once; every later step carries the definition.

use ahash::AHashMap;
use bytes::Bytes;
use damselfly_protocol::Frame;
use damselfly_storage::spec::{lowercase_name, CommandDef, MAX_NAME};
use std::sync::OnceLock;

static CONNECTION_FAMILIES: OnceLock<&'static [&'static [CommandDef]]> = OnceLock::new();
static INDEX: OnceLock<AHashMap<&'static [u8], &'static CommandDef>> = OnceLock::new();

/// Adds the families of commands the connection runs and indexes every command by name (once;
/// later calls change nothing).
pub fn install(families: &'static [&'static [CommandDef]]) {
    let _ = CONNECTION_FAMILIES.set(families);
    INDEX.get_or_init(|| all().map(|def| (def.name.as_bytes(), def)).collect());
}

/// Every command, in COMMAND's order.
pub fn all() -> impl Iterator<Item = &'static CommandDef> {
    let connection: &'static [&'static [CommandDef]] =
        CONNECTION_FAMILIES.get().copied().unwrap_or_default();
    damselfly_storage::definitions().chain(connection.iter().flat_map(|family| family.iter()))
}

/// Looks a command up by name, case-insensitively, without allocating. Before `install` (unit
/// tests of the shard layer) only the shard commands are known.
pub fn lookup(name: &[u8]) -> Option<&'static CommandDef> {
    let Some(index) = INDEX.get() else {
        return damselfly_storage::lookup(name);
    };
    let mut buffer = [0; MAX_NAME];
    index.get(lowercase_name(name, &mut buffer)?).copied()
}

/// The definition a call runs under: the command, or for a container (CONFIG, OBJECT...) the
/// subcommand its second word names, as Redis 7 looks commands up. The error is Redis's reply to
/// an unknown command or subcommand.
pub fn resolve(args: &[Bytes]) -> Result<&'static CommandDef, Frame> {
    let Some(def) = lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    if def.subcommands.is_empty() || args.len() < 2 {
        return Ok(def);
    }
    def.subcommand_named(&args[1])
        .ok_or_else(|| unknown_subcommand(args))
}

/// A command or subcommand by its full name (`config|get`), as COMMAND INFO and DOCS take it.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandDef> {
    match name.iter().position(|&byte| byte == b'|') {
        Some(bar) => lookup(&name[..bar])?.subcommand_named(&name[bar + 1..]),
        None => lookup(name),
    }
}

/// Redis's reply to an unknown command, quoting up to 128 bytes of its arguments.
pub fn unknown_command(args: &[Bytes]) -> Frame {
    let name: String = String::from_utf8_lossy(&args[0])
        .chars()
        .take(128)
        .collect();
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let text = String::from_utf8_lossy(&arg[..arg.len().min(room)]).into_owned();
        quoted.push_str(&format!("'{text}' "));
    }
    let text = format!("ERR unknown command '{name}', with args beginning with: {quoted}");
    Frame::error_owned(text)
}

/// `ERR unknown subcommand ...` as Redis words it.
pub fn unknown_subcommand(args: &[Bytes]) -> Frame {
    Frame::error_owned(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1])
            .chars()
            .take(128)
            .collect::<String>(),
        String::from_utf8_lossy(&args[0]).to_uppercase()
    ))
}

/// A command line split into arguments at spaces (for tests).
#[cfg(test)]
pub fn words(line: &str) -> Vec<Bytes> {
    line.split(' ')
        .map(|word| Bytes::copy_from_slice(word.as_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_quotes_arguments_like_redis() {
        let args = vec![
            Bytes::from_static(b"foo"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ];
        assert_eq!(
            unknown_command(&args),
            Frame::error_owned(
                "ERR unknown command 'foo', with args beginning with: 'a' 'b' ".to_string()
            )
        );
    }
}
