#!/usr/bin/env python3
"""Report dependency cycles between the modules of the server crate (crates/server/src).

Every .rs file is mapped to its module (`lib.rs` is the crate root, `a.rs` and `a/mod.rs` are
`crate::a`, `a/b.rs` is `crate::a::b`). Its dependencies are read from the code with comments
and string literals blanked out:

  * `use` declarations, including grouped ones spread over several lines
    (`use crate::{a, b::{c, d}};`), resolved from `crate::`, `super::`, `self::` or a child
    module name of the current module;
  * inline paths anywhere in the code: `crate::x::y`, `super::x`, `self::x`, and `c::x` where
    `c` is a child module of the current module (`table::lookup` inside commands/mod.rs).

A path counts for the longest known module it starts with. These graphs are checked:

  * top-level modules: `crate::X`, X being the first segment (children count for their
    top-level parent; the crate root lib.rs is left out);
  * for every top-level module that is a directory (`commands`, `shard`, ...), its children
    (`commands::a -> commands::b`; code in the parent's own file, commands/mod.rs, is not a
    child and is left out).

Every strongly connected component of more than one module is a cycle; each is printed with
the modules that depend on each other both ways (pairs) and every edge inside it with one
example `file:line` and its number of references. Edges seen only in test code (items under
`#[cfg(test)]`, including `#[cfg(test)] mod x;` files) are marked `[test only]`; `--no-tests`
leaves them out entirely.

Exit status: 1 if any cycle was found, 0 otherwise.

usage: scripts/check_layers.py [--graph] [--no-tests] [--src crates/server/src]
"""

import argparse
import os
import re
import sys
from collections import defaultdict


IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
KEYWORDS_BEFORE_PATH = {"crate", "super", "self"}


# ---------------------------------------------------------------------------
# Source cleaning
# ---------------------------------------------------------------------------


def blank(text):
    """Replaces everything but newlines with spaces (keeps offsets and line numbers)."""
    return "".join("\n" if c == "\n" else " " for c in text)


def strip_comments_and_strings(src):
    """Blanks out comments (line, block, nested, doc) and string/char literals."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c in "rb" and re.match(r'(?:br|rb|r)#*"', src[i:i + 40]) and not (
            i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_")
        ):
            m = re.match(r'(?:br|rb|r)(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(src[i:j]))
            i = j
        elif c == '"' or (c == "b" and nxt == '"' and not (i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j = min(n, j + 1)
            out.append(blank(src[i:j]))
            i = j
        elif c == "'":
            # Char literal ('x', '\n', '\u{..}') or lifetime ('a).
            m = re.match(r"'(?:\\(?:u\{[0-9A-Fa-f]+\}|x[0-9A-Fa-f]{2}|.)|[^\\'\n])'", src[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(code, open_pos):
    depth = 0
    for j in range(open_pos, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


# ---------------------------------------------------------------------------
# Files and modules
# ---------------------------------------------------------------------------


def module_of(rel):
    """crates/server/src-relative path -> module path tuple (() for the crate root)."""
    parts = rel.replace(os.sep, "/").split("/")
    last = parts[-1][:-3]
    parts = parts[:-1]
    if last in ("lib", "main") and not parts:
        return ()
    if last != "mod":
        parts.append(last)
    return tuple(parts)


class Scope:
    """An inline `mod name { ... }` block: its module path and character span."""

    def __init__(self, module, start, end, test):
        self.module, self.start, self.end, self.test = module, start, end, test


class SourceFile:
    def __init__(self, rel, text):
        self.rel = rel
        self.module = module_of(rel)
        self.code = strip_comments_and_strings(text)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.code)]
        self.test_spans = []  # (start, end) of items under #[cfg(test)]
        self.scopes = []  # inline modules
        self.test_child_modules = set()  # `#[cfg(test)] mod x;`
        self.declared_children = set()  # `mod x;`
        self._scan_items()

    def line_of(self, pos):
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def _scan_items(self):
        code = self.code
        for m in re.finditer(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]", code):
            # The attributed item: skip further attributes, then up to `;` or its block.
            j = m.end()
            while True:
                a = re.match(r"\s*#\s*\[", code[j:])
                if not a:
                    break
                depth, k = 0, j + a.end() - 1
                while k < len(code):
                    depth += {"[": 1, "]": -1}.get(code[k], 0)
                    k += 1
                    if depth == 0:
                        break
                j = k
            rest = code[j:]
            mod_decl = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", rest)
            if mod_decl:
                self.test_child_modules.add(mod_decl.group(1))
                continue
            if re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?use\b", rest):
                end = code.find(";", j)
            else:
                semi, brace = code.find(";", j), code.find("{", j)
                if brace >= 0 and (semi < 0 or brace < semi):
                    end = matching_brace(code, brace)
                else:
                    end = semi
            self.test_spans.append((m.start(), len(code) if end < 0 else end))
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*;", code):
            self.declared_children.add(m.group(1))
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", code):
            start = m.end() - 1
            end = matching_brace(code, start)
            self.scopes.append(Scope(None, start, end, self.in_test(m.start())))
            self.scopes[-1].name = m.group(1)
        # Module path of each inline scope (nested scopes extend their enclosing one).
        for s in sorted(self.scopes, key=lambda s: s.start):
            outer = self.scope_module(s.start)
            s.module = outer + (s.name,)

    def in_test(self, pos):
        return any(a <= pos <= b for a, b in self.test_spans) or any(
            s.test and s.start <= pos <= s.end for s in self.scopes
        )

    def scope_module(self, pos):
        """The module the code at `pos` is in (inline modules included)."""
        best = None
        for s in self.scopes:
            if s.module is not None and s.start < pos <= s.end:
                if best is None or s.start > best.start:
                    best = s
        return best.module if best else self.module


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------


def split_top(s, sep=","):
    """Splits on `sep` outside braces."""
    parts, depth, cur = [], 0, []
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use_tree(tree, prefix=()):
    """`a::{b, c::{d, self}, *}` -> [(a, b), (a, c, d), (a, c), (a,)] (renames already dropped)."""
    tree = re.sub(r"\s+", "", tree)
    if not tree:
        return []
    if tree.startswith("::"):
        tree = tree[2:]
    brace = tree.find("{")
    if brace >= 0 and tree.endswith("}"):
        head = tree[:brace].rstrip(":")
        head_segs = tuple(s for s in head.split("::") if s)
        out = []
        for part in split_top(tree[brace + 1:-1]):
            out.extend(expand_use_tree(part, prefix + head_segs))
        return out
    segs = [s for s in tree.split("::") if s]
    segs = [s for s in segs if s not in ("*",)]
    if segs and segs[-1] == "self":
        segs = segs[:-1]
    return [prefix + tuple(segs)]


def expand_use(body):
    """Expands a `use` body, dropping `as name` renames."""
    body = re.sub(r"\s+as\s+" + IDENT, "", body)
    return expand_use_tree(body)


class Crate:
    def __init__(self, src_dir):
        self.src_dir = src_dir
        self.files = []
        for dirpath, _, names in os.walk(src_dir):
            for name in sorted(names):
                if name.endswith(".rs"):
                    path = os.path.join(dirpath, name)
                    rel = os.path.relpath(path, src_dir)
                    with open(path, encoding="utf-8") as fh:
                        self.files.append(SourceFile(rel, fh.read()))
        self.files.sort(key=lambda f: f.rel)
        self.modules = {()}
        for f in self.files:
            for k in range(len(f.module) + 1):
                self.modules.add(f.module[:k])
            for s in f.scopes:
                self.modules.add(s.module)
        # Files that are test-only (`#[cfg(test)] mod x;` in their parent).
        self.test_modules = set()
        for f in self.files:
            for child in f.test_child_modules:
                self.test_modules.add(f.module + (child,))

    def children(self, module):
        n = len(module)
        return {m[n] for m in self.modules if len(m) == n + 1 and m[:n] == module}

    def resolve(self, current, segs):
        """Absolute module path a path refers to, or None for paths outside the crate."""
        segs = list(segs)
        if not segs:
            return None
        if segs[0] == "crate":
            path = segs[1:]
        elif segs[0] in ("self", "super"):
            base = list(current)
            if segs[0] == "self":
                segs = segs[1:]
            while segs and segs[0] == "super":
                if not base:
                    return None
                base.pop()
                segs = segs[1:]
            path = base + segs
        elif segs[0] in self.children(tuple(current)):
            path = list(current) + segs
        else:
            return None
        # Longest known module prefix.
        for k in range(len(path), -1, -1):
            if tuple(path[:k]) in self.modules:
                return tuple(path[:k])
        return None

    def references(self):
        """Yields (file, line, from_module, to_module, is_test) for every crate-internal path."""
        path_re = re.compile(
            r"(?<![A-Za-z0-9_:])(?:(?:crate|super|self)|" + IDENT + r")(?:\s*::\s*(?:" + IDENT + r"|\{))+"
        )
        use_re = re.compile(r"(?<![A-Za-z0-9_])use\s+([^;]*);")
        for f in self.files:
            code = f.code
            file_test = any(f.module[:k] in self.test_modules for k in range(1, len(f.module) + 1))
            use_spans = []
            for m in use_re.finditer(code):
                use_spans.append((m.start(), m.end()))
                current = f.scope_module(m.start())
                for segs in expand_use(m.group(1)):
                    target = self.resolve(current, segs)
                    if target is not None:
                        yield (f, f.line_of(m.start(1)), current, target,
                               file_test or f.in_test(m.start()))
            for m in path_re.finditer(code):
                if any(a <= m.start() < b for a, b in use_spans):
                    continue
                text = re.sub(r"\s+", "", m.group(0)).rstrip("{").rstrip(":")
                segs = [s for s in text.split("::") if s]
                if len(segs) < 2:
                    continue
                current = f.scope_module(m.start())
                # Plain `name::x` is only a module path when `name` is a child module.
                if segs[0] not in KEYWORDS_BEFORE_PATH and segs[0] not in self.children(current):
                    continue
                target = self.resolve(current, segs)
                if target is not None:
                    yield (f, f.line_of(m.start()), current, target,
                           file_test or f.in_test(m.start()))


# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------


class Graph:
    def __init__(self, title):
        self.title = title
        self.nodes = set()
        # (a, b) -> {"count", "sites": [(rel, line, is_test)], "nontest"}
        self.edges = {}

    def add(self, a, b, rel, line, is_test):
        self.nodes.update((a, b))
        if a == b:
            return
        e = self.edges.setdefault((a, b), {"count": 0, "sites": [], "nontest": 0})
        e["count"] += 1
        e["sites"].append((rel, line, is_test))
        if not is_test:
            e["nontest"] += 1

    def example(self, a, b):
        e = self.edges[(a, b)]
        sites = sorted(e["sites"], key=lambda s: (s[2], s[0], s[1]))  # non-test sites first
        rel, line, _ = sites[0]
        files = len({s[0] for s in e["sites"]})
        note = " [test only]" if e["nontest"] == 0 else ""
        return "%s:%d (%d reference%s in %d file%s)%s" % (
            rel, line, e["count"], "" if e["count"] == 1 else "s",
            files, "" if files == 1 else "s", note)

    def sccs(self):
        """Tarjan's algorithm (iterative); components with more than one node."""
        adj = defaultdict(list)
        for a, b in self.edges:
            adj[a].append(b)
        index, low, on_stack, stack, out = {}, {}, set(), [], []
        counter = [0]
        for root in sorted(self.nodes):
            if root in index:
                continue
            work = [(root, iter(sorted(adj[root])))]
            index[root] = low[root] = counter[0]
            counter[0] += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                v, it = work[-1]
                advanced = False
                for w in it:
                    if w not in index:
                        index[w] = low[w] = counter[0]
                        counter[0] += 1
                        stack.append(w)
                        on_stack.add(w)
                        work.append((w, iter(sorted(adj[w]))))
                        advanced = True
                        break
                    if w in on_stack:
                        low[v] = min(low[v], index[w])
                if advanced:
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
        return sorted(out, key=lambda c: (-len(c), c))


def fmt(module):
    return "::".join(module) if module else "crate"


def build_graphs(crate, include_tests, display_root):
    top = Graph("top-level modules")
    # Every top-level module that is a directory has its children checked too.
    parents = sorted(
        name for name in os.listdir(crate.src_dir)
        if os.path.isdir(os.path.join(crate.src_dir, name))
    )
    children = {p: Graph("children of %s" % p) for p in parents}
    for f, line, src, dst, is_test in crate.references():
        if is_test and not include_tests:
            continue
        rel = os.path.relpath(os.path.join(crate.src_dir, f.rel), display_root)
        if src and dst:
            top.add(src[0], dst[0], rel, line, is_test)
        for p, g in children.items():
            if len(src) >= 2 and len(dst) >= 2 and src[0] == p and dst[0] == p:
                g.add("%s::%s" % (p, src[1]), "%s::%s" % (p, dst[1]), rel, line, is_test)
    return [top] + [children[p] for p in parents]


def report_cycles(graph):
    comps = graph.sccs()
    print("== %s: %d modules, %d edges, %d cycle%s" % (
        graph.title, len(graph.nodes), len(graph.edges), len(comps), "" if len(comps) == 1 else "s"))
    for i, comp in enumerate(comps, 1):
        members = set(comp)
        print("\ncycle %d (%d modules): %s" % (i, len(comp), ", ".join(comp)))
        pairs = [(a, b) for (a, b) in sorted(graph.edges)
                 if a < b and a in members and b in members and (b, a) in graph.edges]
        for a, b in pairs:
            print("  %s <-> %s" % (a, b))
            print("      %s -> %s: %s" % (a, b, graph.example(a, b)))
            print("      %s -> %s: %s" % (b, a, graph.example(b, a)))
        paired = {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}
        rest = [(a, b) for (a, b) in sorted(graph.edges)
                if a in members and b in members and (a, b) not in paired]
        if rest:
            print("  other edges inside the cycle (fewest references first):")
            rest.sort(key=lambda e: (graph.edges[e]["count"], e))
            for a, b in rest:
                print("    %s -> %s: %s" % (a, b, graph.example(a, b)))
    print()
    return len(comps)


def print_graph(graph):
    print("== dependency graph: %s" % graph.title)
    adj = defaultdict(list)
    for a, b in graph.edges:
        adj[a].append(b)
    for a in sorted(graph.nodes):
        deps = sorted(adj.get(a, []))
        print("  %s -> %s" % (a, ", ".join(
            "%s(%d)" % (b, graph.edges[(a, b)]["count"]) for b in deps) or "(nothing)"))
    print()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", default=os.path.join(here, "..", "crates", "server", "src"),
                    help="source directory of the crate (default: crates/server/src)")
    ap.add_argument("--graph", action="store_true", help="also print the whole dependency graph")
    ap.add_argument("--no-tests", action="store_true",
                    help="ignore references from #[cfg(test)] code")
    args = ap.parse_args()
    src = os.path.normpath(args.src)
    if not os.path.isdir(src):
        sys.exit("no such directory: %s" % src)
    crate = Crate(src)
    graphs = build_graphs(crate, not args.no_tests, os.path.dirname(here))
    if args.graph:
        for g in graphs:
            print_graph(g)
    total = sum(report_cycles(g) for g in graphs)
    print("%d cycle%s in total" % (total, "" if total == 1 else "s"))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
