#!/usr/bin/env python3
"""Reports command names written as string literals outside their definition.

Issue 10's rule: every command name occurs as a string literal in exactly one non-test source
file, its family's definitions. Names the journal writes as effects may also occur where the
effect is encoded (EFFECT_NAMES); words that are also options or sections (OTHER_WORDS) are
not command names where they occur. Test code (files named tests.rs/difftest.rs, and everything
after a file's first `#[cfg(test)]`) is not counted. Nor are a definition's argument docs (the
`.args(&[...])` builder call, COMMAND DOCS data): there a literal is an argument's name or token
as Redis documents it (RESTORE's `ttl`, SET's `GET`, GETEX's `PERSIST`), never a command name.

Usage: scripts/check_command_names.py [--strict]   (exit 1 on any finding with --strict)
"""
import pathlib
import re
import sys

from rust_text import close_paren

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFINITION = re.compile(
    r'CommandDef::(?:shard|connection|new|subcommand)\(\s*"([a-z|-]+)"'
    r'|pub const [A-Z_]+: &str = "([a-z|-]+)";'
)
LITERAL = re.compile(r'b?"([A-Za-z|-]+)"')
# Commands the journal writes as effects (storage's effect rules build them, streams' group
# effects as Redis propagates them), and commands a replica sends its primary in the handshake.
EFFECT_NAMES = {
    "select", "multi", "exec", "del", "pexpireat", "persist", "set", "mset", "restore",
    "lpop", "rpop", "lpush", "rpush", "srem", "sadd", "zpopmin", "zpopmax",
    "xclaim", "xgroup", "xack",
    "ping", "auth", "replconf", "dfly", "sync",
    # A replica of a redis-server primary sends PSYNC (Redis's handshake) and reads FLUSHALL-free
    # RESP commands back, matching MULTI/EXEC/SELECT/PING/REPLCONF by name (listed above).
    "psync",
    # Redis propagates PUBLISH to replicas: damselfly's Redis-format stream writes it, and a
    # replica of a redis-server primary reads it.
    "publish",
}
# Words that are command names and also arguments, options, INFO sections, client classes,
# log levels or config directives: their literals are those words, not the commands.
OTHER_WORDS = {
    "get", "type", "info", "debug", "save", "role", "time", "incr", "pubsub", "replicaof",
    "slaveof",
}


ARGUMENT_DOCS = ".args(&["


def without_argument_docs(text):
    """`text` without the `.args(&[...])` calls (argument names and tokens, not commands)."""
    out, done = [], 0
    start = text.find(ARGUMENT_DOCS)
    while start >= 0:
        out.append(text[done:start])
        i = close_paren(text, start + len(".args"))
        done = i + 1
        start = text.find(ARGUMENT_DOCS, done)
    out.append(text[done:])
    return "".join(out)


def sources():
    for path in sorted((ROOT / "crates").rglob("*.rs")):
        if (
            path.name in ("tests.rs", "difftest.rs", "fuzz.rs")
            or path.name.endswith("_tests.rs")
            or "/tests/" in str(path)
        ):
            continue
        text = path.read_text()
        yield path, without_argument_docs(text.split("#[cfg(test)]")[0])


def main():
    defined = {}
    texts = list(sources())
    for path, text in texts:
        for match in DEFINITION.findall(text):
            name = match[0] or match[1]
            defined.setdefault(name, set()).add(path)
    names = {name for name in defined if "|" not in name}
    findings = []
    for path, text in texts:
        seen = {lit.lower() for lit in LITERAL.findall(text)}
        for name in sorted(names & seen):
            if path in defined[name] or name in EFFECT_NAMES or name in OTHER_WORDS:
                continue
            findings.append(f"{path.relative_to(ROOT)}: \"{name}\"")
    for line in findings:
        print(line)
    print(f"{len(findings)} literal(s) outside definitions, {len(names)} commands", file=sys.stderr)
    return 1 if findings and "--strict" in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
