#!/usr/bin/env python3
"""Writes a command's COMMAND DOCS data (history, deprecation, argument tree) as the Rust builder
calls of its definition, from a running redis-server's own COMMAND DOCS reply.

This is how the argument trees and histories on the definitions were generated (once, from
redis-server 7.0.15); use it again for a command added later, or to check one. It reads only
the server's runtime reply, never Redis's sources.

    scripts/command_docs_from_redis.py set config|get        # print the builder lines
    scripts/command_docs_from_redis.py --apply FILE...       # insert them into definitions

Without --port it starts its own `redis-server` (on PATH) on a free port and stops it after.
--apply inserts, right after each definition's `.doc(...)` call in the given family files, the
lines for that command (`.history(...)`, `.deprecated(...)`, `.syscmd()`, `.args(...)`), and
leaves alone a definition that already has them or that Redis does not know. Files need
`Arg` in their `use ...spec::{...}` (the script does not touch imports); run `cargo fmt` after.
"""
import argparse
import pathlib
import re
import socket
import subprocess
import sys
import time

from rust_text import close_paren

WIDTH = 100
ROOT = pathlib.Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# RESP3, just enough for COMMAND DOCS
# ---------------------------------------------------------------------------------------------

class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for arg in args:
            arg = arg.encode()
            out += b"$%d\r\n%s\r\n" % (len(arg), arg)
        self.sock.sendall(out)
        return self.read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("redis-server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("redis-server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data.decode()

    def read(self):
        """Maps become lists of (key, value) pairs (order kept), sets and arrays lists."""
        line = self._line()
        kind, rest = chr(line[0]), line[1:].decode()
        if kind == "-":
            raise RuntimeError(rest)
        if kind in "+":
            return rest
        if kind == ":":
            return int(rest)
        if kind == "$":
            return self._exact(int(rest))
        if kind in "*~":
            return [self.read() for _ in range(int(rest))]
        if kind == "%":
            return [(self.read(), self.read()) for _ in range(int(rest))]
        raise RuntimeError(f"unexpected reply {line!r}")


def fetch_docs(port):
    """Every command's docs, subcommands included (`config|get`), as name -> [(field, value)]."""
    conn = Resp(port)
    conn.call("HELLO", "3")
    docs = {}

    def add(name, fields):
        docs[name] = fields
        for field, value in fields:
            if field == "subcommands":
                for sub, sub_fields in value:
                    add(sub, sub_fields)

    for name, fields in conn.call("COMMAND", "DOCS"):
        add(name, fields)
    return docs


def start_redis():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


# ---------------------------------------------------------------------------------------------
# Rust builder text
# ---------------------------------------------------------------------------------------------

def rs(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


CONSTRUCTORS = {
    "string": "string", "integer": "integer", "double": "double", "pattern": "pattern",
    "unix-time": "unix_time",
}


def arg_head_and_tail(arg):
    """The constructor call (without nested arguments) and the modifiers, for one argument."""
    fields = dict(arg)
    kind = fields["type"]
    name = rs(fields["name"])
    mods = []
    if kind == "key":
        head = f"Arg::key({name}, {fields['key_spec_index']})"
    elif kind == "pure-token":
        head = f"Arg::pure_token({name}, {rs(fields['token'])})"
    elif kind in ("oneof", "block"):
        head = f"Arg::{kind}({name}, "
    else:
        head = f"Arg::{CONSTRUCTORS[kind]}({name})"
        if "key_spec_index" in fields:
            mods.append(f".key_spec_index({fields['key_spec_index']})")
    if "token" in fields and kind != "pure-token":
        mods.append(f".token({rs(fields['token'])})")
    for field in ("summary", "since", "deprecated_since"):
        if field in fields:
            mods.append(f".{field}({rs(fields[field])})")
    for flag in fields.get("flags", []):
        mods.append(f".{flag}()")
    known = {"name", "type", "key_spec_index", "token", "summary", "since", "deprecated_since",
             "flags", "arguments"}
    unknown = set(fields) - known
    if unknown:
        sys.exit(f"argument {fields['name']}: fields this script does not know: {unknown}")
    return head, "".join(mods)


def arg_one_line(arg):
    head, tail = arg_head_and_tail(arg)
    nested = dict(arg).get("arguments")
    if nested is None:
        return head + tail
    return head + "&[" + ", ".join(arg_one_line(sub) for sub in nested) + "])" + tail


def arg_lines(arg, indent):
    """One line when it fits, else a oneof/block opened on its line with its arguments below."""
    line = arg_one_line(arg)
    nested = dict(arg).get("arguments")
    if nested is None or len(indent) + len(line) + 1 <= WIDTH:
        return [indent + line + ","]
    head, tail = arg_head_and_tail(arg)
    lines = [indent + head + "&["]
    for sub in nested:
        lines += arg_lines(sub, indent + "    ")
    lines.append(indent + "])" + tail + ",")
    return lines


def builder_lines(fields, indent):
    """The builder calls after `.doc(...)` for one command's docs fields."""
    fields = dict(fields)
    lines = []
    history = fields.get("history")
    if history:
        pairs = [f"({rs(version)}, {rs(text)})" for version, text in history]
        one_line = f"{indent}.history(&[{', '.join(pairs)}])"
        if len(one_line) <= WIDTH:
            lines.append(one_line)
        else:
            lines.append(indent + ".history(&[")
            lines += [f"{indent}    {pair}," for pair in pairs]
            lines.append(indent + "])")
    flags = fields.get("doc_flags", [])
    for flag in flags:
        if flag == "deprecated":
            lines.append(f"{indent}.deprecated({rs(fields['deprecated_since'])}, "
                         f"{rs(fields['replaced_by'])})")
        elif flag == "syscmd":
            lines.append(indent + ".syscmd()")
        else:
            sys.exit(f"unknown doc flag {flag}")
    if ("deprecated_since" in fields or "replaced_by" in fields) and "deprecated" not in flags:
        sys.exit("deprecated_since/replaced_by without the deprecated flag")
    args = fields.get("arguments")
    one_line = args and f"{indent}.args(&[{', '.join(arg_one_line(arg) for arg in args)}])"
    if args and len(one_line) <= WIDTH:
        lines.append(one_line)
    elif args:
        lines.append(indent + ".args(&[")
        for arg in args:
            lines += arg_lines(arg, indent + "    ")
        lines.append(indent + "])")
    return lines


# ---------------------------------------------------------------------------------------------
# Inserting into family files
# ---------------------------------------------------------------------------------------------

HEADER = re.compile(
    r'CommandDef::(?:shard|connection|new|subcommand)\(\s*(?:"([a-z|_-]+)"|([A-Z_]+))')
NAME_CONST = re.compile(r'pub const ([A-Z_]+): &str = "([a-z|_-]+)";')
DOCUMENTED = (".history(", ".args(", ".deprecated(", ".syscmd(")


def apply(paths, docs):
    consts = {}
    for path in (ROOT / "crates").rglob("*.rs"):
        consts.update(NAME_CONST.findall(path.read_text()))
    for path in paths:
        text = pathlib.Path(path).read_text()
        out, done, at = [], 0, 0
        inserted = 0
        for header in HEADER.finditer(text):
            name = header.group(1) or consts.get(header.group(2))
            if header.start() < at:
                continue
            doc_at = text.find(".doc(", header.end())
            next_def = HEADER.search(text, header.end())
            if doc_at < 0 or (next_def and next_def.start() < doc_at):
                print(f"{path}: {name}: no .doc(...) in its definition, skipped", file=sys.stderr)
                continue
            end = close_paren(text, doc_at + len(".doc")) + 1
            at = end
            if text[end:].lstrip().startswith(DOCUMENTED):
                continue
            if name not in docs:
                print(f"{path}: {name}: redis-server does not know it, skipped", file=sys.stderr)
                continue
            line_start = text.rfind("\n", 0, doc_at) + 1
            indent = re.match(r"\s*", text[line_start:]).group(0)
            lines = builder_lines(docs[name], indent)
            if not lines:
                continue
            out.append(text[done:end])
            out.append("\n" + "\n".join(lines))
            done = end
            inserted += 1
        out.append(text[done:])
        pathlib.Path(path).write_text("".join(out))
        print(f"{path}: {inserted} definition(s) documented", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="a running redis-server (default: start one)")
    parser.add_argument("--apply", action="store_true", help="insert into the given files")
    parser.add_argument("names", nargs="+", help="command names (config|get), or files to --apply")
    args = parser.parse_args()
    proc = None
    port = args.port
    if port is None:
        proc, port = start_redis()
    try:
        docs = fetch_docs(port)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    if args.apply:
        apply(args.names, docs)
        return 0
    for name in args.names:
        fields = docs.get(name.lower())
        if fields is None:
            print(f"// {name}: unknown to redis-server")
            continue
        print(f"// {name}")
        print("\n".join(builder_lines(fields, "    ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
