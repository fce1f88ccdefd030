//! COMMAND introspection compared with a real redis-server 7.0.15.
//!
//! For every name in damselfly's `COMMAND LIST` that redis-server also knows, `COMMAND INFO`
//! is compared field by field (name, arity, flags as a set, first/last key, step, ACL
//! categories as a set, tips, key specs as the full nested structure, subcommands compared
//! recursively with the same fields). `COMMAND DOCS` is compared exactly for every name both
//! list, subcommands (`config|get`) included, in RESP2 and in RESP3: every field, in Redis's
//! order and with Redis's reply types (bulk or simple strings, integers, arrays, sets, maps),
//! arguments and history recursively, and a container's subcommands by name (Redis's order
//! of them is its dict's, arbitrary). On top of that `COMMAND COUNT` must equal the number of
//! top-level names in `COMMAND LIST` (Redis lists subcommands such as `config|get` in
//! `COMMAND LIST` but does not count them), `COMMAND DOCS` without names must document exactly
//! the top-level commands, and `COMMAND GETKEYS` must give the same keys as Redis for a
//! representative set of commands.
//!
//! Every difference is collected and the test fails once with the whole list, one line per
//! difference (`command field: damselfly=<..> redis=<..>`), so a developer sees everything at
//! once. COMMAND INFO is compared in RESP2, so sets and maps arrive as arrays (maps as flat
//! key/value arrays); the parser accepts the RESP3 forms too.
//!
//! Skipped with a note when redis-server is not installed. With
//! `DAMSELFLY_TEST_AGAINST_REDIS=1` both sides are redis-server, which checks the test itself
//! (it must find no difference).
mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

/// Commands whose `COMMAND GETKEYS` must match Redis (skipped when damselfly lacks them).
const GETKEYS_CASES: &[&str] = &[
    "SET key value",
    "MSET k1 v1 k2 v2",
    "ZUNIONSTORE d 2 a b",
    "XREAD COUNT 1 STREAMS s1 s2 0 0",
    "LMPOP 2 a b LEFT",
    "BLMPOP 0 2 a b LEFT",
    "RENAME a b",
    "COPY a b",
    "BITOP AND d a b",
    "EVAL script 2 a b arg",
];

/// Commands whose `COMMAND GETKEYSANDFLAGS` must match Redis (keys and their key spec flags).
/// SET's flags depend on its arguments (variable_flags): with GET and without.
const GETKEYSANDFLAGS_CASES: &[&str] = &[
    "SET k v",
    "SET k v NX GET",
    "LMOVE a b LEFT RIGHT",
    "SINTERSTORE d a b",
    "RENAME a b",
    "DEL a b c",
    "XREADGROUP GROUP g c STREAMS s1 s2 > >",
];

// ---------------------------------------------------------------------------
// Generic values
// ---------------------------------------------------------------------------

/// A reply normalized for comparison: sets sorted, maps keyed by name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    Nil,
    Int(i64),
    Str(String),
    List(Vec<V>),
    Set(BTreeSet<String>),
    Map(BTreeMap<String, V>),
    Err(String),
}

/// Strings are shown bare when they are simple words, quoted otherwise.
fn show_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@|_-.:".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

impl fmt::Display for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V::Nil => write!(f, "nil"),
            V::Int(i) => write!(f, "{i}"),
            V::Str(s) => write!(f, "{}", show_str(s)),
            V::Err(e) => write!(f, "(error {e:?})"),
            V::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            V::Set(items) => {
                write!(f, "[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{}", show_str(s))?;
                }
                write!(f, "]")
            }
            V::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{}:{v}", show_str(k))?;
                }
                write!(f, "}}")
            }
        }
    }
}

fn text_of(r: &Reply) -> Option<String> {
    match r {
        Reply::Status(s) | Reply::Double(s) | Reply::BigNumber(s) => Some(s.clone()),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// Any reply, schema-free: arrays stay lists, RESP3 maps become maps.
fn generic(r: &Reply) -> V {
    match r {
        Reply::Int(i) => V::Int(*i),
        Reply::Bool(b) => V::Int(*b as i64),
        Reply::NilBulk | Reply::NilArray | Reply::Null => V::Nil,
        Reply::Error(e) => V::Err(e.clone()),
        Reply::Array(a) | Reply::Set(a) | Reply::Push(a) => {
            V::List(a.iter().map(generic).collect())
        }
        Reply::Map(m) => V::Map(
            m.iter()
                .map(|(k, v)| (text_of(k).unwrap_or_else(|| format!("{k:?}")), generic(v)))
                .collect(),
        ),
        other => V::Str(text_of(other).unwrap_or_default()),
    }
}

/// A map: a RESP3 map or a RESP2 flat array of key/value pairs with string keys.
fn pairs(r: &Reply) -> Result<Vec<(String, &Reply)>, String> {
    match r {
        Reply::Map(m) => m
            .iter()
            .map(|(k, v)| {
                text_of(k)
                    .map(|k| (k, v))
                    .ok_or_else(|| format!("map key {k:?}"))
            })
            .collect(),
        Reply::Array(a) if a.len() % 2 == 0 => a
            .chunks(2)
            .map(|kv| {
                text_of(&kv[0])
                    .map(|k| (k, &kv[1]))
                    .ok_or_else(|| format!("map key {:?}", kv[0]))
            })
            .collect(),
        other => Err(format!("expected a map, got {other:?}")),
    }
}

/// An array (or RESP3 set) of strings as a sorted set.
fn string_set(r: &Reply) -> Result<BTreeSet<String>, String> {
    strings(r).map(|v| v.into_iter().collect())
}

fn strings(r: &Reply) -> Result<Vec<String>, String> {
    match r {
        Reply::Array(a) | Reply::Set(a) => a
            .iter()
            .map(|x| text_of(x).ok_or_else(|| format!("expected a string, got {x:?}")))
            .collect(),
        other => Err(format!("expected an array of strings, got {other:?}")),
    }
}

/// `{type, spec:{...}}` of a key spec's begin_search / find_keys.
fn search_spec(r: &Reply) -> Result<V, String> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs(r)? {
        let v = match k.as_str() {
            "spec" => V::Map(
                pairs(v)?
                    .into_iter()
                    .map(|(k, v)| (k, generic(v)))
                    .collect(),
            ),
            _ => generic(v),
        };
        m.insert(k, v);
    }
    Ok(V::Map(m))
}

/// One key spec: flags as a set, begin_search and find_keys as nested maps, notes as text.
fn key_spec(r: &Reply) -> Result<BTreeMap<String, V>, String> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs(r)? {
        let v = match k.as_str() {
            "flags" => V::Set(string_set(v)?),
            "begin_search" | "find_keys" => search_spec(v)?,
            _ => generic(v),
        };
        m.insert(k, v);
    }
    Ok(m)
}

// ---------------------------------------------------------------------------
// COMMAND INFO entries
// ---------------------------------------------------------------------------

/// One `COMMAND INFO` entry (or subcommand entry).
#[derive(Clone)]
struct Info {
    name: String,
    arity: i64,
    flags: BTreeSet<String>,
    first_key: i64,
    last_key: i64,
    step: i64,
    acl_categories: BTreeSet<String>,
    tips: Vec<String>,
    key_specs: Vec<BTreeMap<String, V>>,
    subcommands: Vec<Info>,
}

impl Info {
    /// Parses an entry; a Redis 7.0 entry has 10 elements, missing trailing ones are
    /// reported as malformed.
    fn parse(r: &Reply) -> Result<Info, String> {
        let Reply::Array(a) = r else {
            return Err(format!("expected an array, got {r:?}"));
        };
        let at = |i: usize, what: &str| {
            a.get(i)
                .ok_or_else(|| format!("{} elements, no {what} (element {})", a.len(), i + 1))
        };
        let int = |i: usize, what: &str| match at(i, what)? {
            Reply::Int(n) => Ok(*n),
            other => Err(format!("{what}: expected an integer, got {other:?}")),
        };
        let name = text_of(at(0, "name")?).ok_or("name is not a string")?;
        let subcommands = match at(9, "subcommands")? {
            Reply::Array(s) | Reply::Set(s) => s
                .iter()
                .map(Info::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("subcommand: {e}"))?,
            other => return Err(format!("subcommands: expected an array, got {other:?}")),
        };
        let key_specs = match at(8, "key specs")? {
            Reply::Array(s) | Reply::Set(s) => s
                .iter()
                .map(key_spec)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("key spec: {e}"))?,
            other => return Err(format!("key specs: expected an array, got {other:?}")),
        };
        Ok(Info {
            name,
            arity: int(1, "arity")?,
            flags: string_set(at(2, "flags")?).map_err(|e| format!("flags: {e}"))?,
            first_key: int(3, "first key")?,
            last_key: int(4, "last key")?,
            step: int(5, "step")?,
            acl_categories: string_set(at(6, "ACL categories")?)
                .map_err(|e| format!("ACL categories: {e}"))?,
            tips: strings(at(7, "tips")?).map_err(|e| format!("tips: {e}"))?,
            key_specs,
            subcommands,
        })
    }
}

/// Collects difference lines.
#[derive(Default)]
struct Diffs {
    lines: Vec<String>,
}

impl Diffs {
    fn add(&mut self, cmd: &str, field: &str, ours: impl fmt::Display, theirs: impl fmt::Display) {
        self.lines
            .push(format!("{cmd} {field}: damselfly={ours} redis={theirs}"));
    }

    /// Equal-or-record for plain values.
    fn eq<T: PartialEq + fmt::Display>(&mut self, cmd: &str, field: &str, ours: T, theirs: T) {
        if ours != theirs {
            self.add(cmd, field, ours, theirs);
        }
    }

    /// Equal-or-record for sets, naming what is missing and what is extra.
    fn set(&mut self, cmd: &str, field: &str, ours: &BTreeSet<String>, theirs: &BTreeSet<String>) {
        if ours == theirs {
            return;
        }
        let missing: Vec<&str> = theirs.difference(ours).map(|s| s.as_str()).collect();
        let extra: Vec<&str> = ours.difference(theirs).map(|s| s.as_str()).collect();
        let mut note = String::new();
        if !missing.is_empty() {
            let _ = write!(note, " missing=[{}]", missing.join(","));
        }
        if !extra.is_empty() {
            let _ = write!(note, " extra=[{}]", extra.join(","));
        }
        self.lines.push(format!(
            "{cmd} {field}: damselfly={} redis={}{note}",
            V::Set(ours.clone()),
            V::Set(theirs.clone())
        ));
    }
}

fn key_specs_value(specs: &[BTreeMap<String, V>]) -> V {
    V::List(specs.iter().map(|m| V::Map(m.clone())).collect())
}

fn compare_info(d: &mut Diffs, cmd: &str, ours: &Info, theirs: &Info) {
    d.eq(
        cmd,
        "name",
        V::Str(ours.name.clone()),
        V::Str(theirs.name.clone()),
    );
    d.eq(cmd, "arity", ours.arity, theirs.arity);
    d.set(cmd, "flags", &ours.flags, &theirs.flags);
    d.eq(cmd, "first_key", ours.first_key, theirs.first_key);
    d.eq(cmd, "last_key", ours.last_key, theirs.last_key);
    d.eq(cmd, "step", ours.step, theirs.step);
    d.set(
        cmd,
        "acl_categories",
        &ours.acl_categories,
        &theirs.acl_categories,
    );
    let tips = |t: &[String]| V::List(t.iter().cloned().map(V::Str).collect());
    d.eq(cmd, "tips", tips(&ours.tips), tips(&theirs.tips));

    // Key specs: a count mismatch is one line with both lists; otherwise one line per
    // differing field of each spec.
    if ours.key_specs.len() != theirs.key_specs.len() {
        d.add(
            cmd,
            "key_specs",
            key_specs_value(&ours.key_specs),
            key_specs_value(&theirs.key_specs),
        );
    } else {
        for (i, (o, t)) in ours.key_specs.iter().zip(&theirs.key_specs).enumerate() {
            let fields: BTreeSet<&String> = o.keys().chain(t.keys()).collect();
            for f in fields {
                let absent = V::Str("<absent>".into());
                let (ov, tv) = (o.get(f).unwrap_or(&absent), t.get(f).unwrap_or(&absent));
                d.eq(cmd, &format!("key_specs[{i}].{f}"), ov, tv);
            }
        }
    }

    // Subcommands, by name; common ones compared with the same fields, recursively.
    let by_name = |s: &[Info]| -> BTreeMap<String, Info> {
        s.iter()
            .map(|i| (i.name.to_lowercase(), i.clone()))
            .collect()
    };
    let (os, ts) = (by_name(&ours.subcommands), by_name(&theirs.subcommands));
    let names = |m: &BTreeMap<String, Info>| m.keys().cloned().collect::<BTreeSet<_>>();
    d.set(cmd, "subcommands", &names(&os), &names(&ts));
    for (name, o) in &os {
        if let Some(t) = ts.get(name) {
            compare_info(d, name, o, t);
        }
    }
}

// ---------------------------------------------------------------------------
// COMMAND DOCS entries
// ---------------------------------------------------------------------------

/// A reply kept exactly: its RESP type and its order (a COMMAND DOCS entry must equal Redis's
/// byte for byte, apart from the order of a container's subcommands).
#[derive(PartialEq, Eq)]
enum Exact {
    Simple(String),
    Bulk(String),
    Int(i64),
    Nil,
    Array(Vec<Exact>),
    Set(Vec<Exact>),
    Map(Vec<(Exact, Exact)>),
    Other(String),
}

impl Exact {
    fn of(r: &Reply) -> Exact {
        let all = |items: &[Reply]| items.iter().map(Exact::of).collect();
        match r {
            Reply::Status(s) => Exact::Simple(s.clone()),
            Reply::Bulk(b) => Exact::Bulk(String::from_utf8_lossy(b).into_owned()),
            Reply::Int(i) => Exact::Int(*i),
            Reply::NilBulk | Reply::NilArray | Reply::Null => Exact::Nil,
            Reply::Array(a) => Exact::Array(all(a)),
            Reply::Set(a) => Exact::Set(all(a)),
            Reply::Map(m) => Exact::Map(
                m.iter()
                    .map(|(k, v)| (Exact::of(k), Exact::of(v)))
                    .collect(),
            ),
            other => Exact::Other(format!("{other:?}")),
        }
    }
}

/// Bulk strings bare (quoted when not a simple word), simple strings with `+`, sets `~[..]`,
/// maps `%{..}`, so a difference in RESP type shows.
impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Exact]| {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, ",")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        };
        match self {
            Exact::Simple(s) => write!(f, "+{}", show_str(s)),
            Exact::Bulk(s) => write!(f, "{}", show_str(s)),
            Exact::Int(i) => write!(f, "{i}"),
            Exact::Nil => write!(f, "nil"),
            Exact::Other(s) => write!(f, "<{s}>"),
            Exact::Array(items) => {
                write!(f, "[")?;
                list(f, items)?;
                write!(f, "]")
            }
            Exact::Set(items) => {
                write!(f, "~[")?;
                list(f, items)?;
                write!(f, "]")
            }
            Exact::Map(pairs) => {
                write!(f, "%{{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Whether a reply is a map in this protocol: a RESP3 map, or in RESP2 a flat array.
fn is_map(r: &Reply, resp3: bool) -> Result<(), String> {
    match r {
        Reply::Map(_) if resp3 => Ok(()),
        Reply::Array(_) if !resp3 => Ok(()),
        other => Err(format!("expected a map, got {other:?}")),
    }
}

/// One COMMAND DOCS entry (or a subcommand's, or an argument's) compared field by field: the
/// field names in order, then each field exactly, arguments and subcommands recursively.
fn compare_doc_map(
    d: &mut Diffs,
    cmd: &str,
    path: &str,
    ours: &Reply,
    theirs: &Reply,
    resp3: bool,
) -> Result<(), String> {
    is_map(theirs, resp3).map_err(|e| format!("redis {path}: {e}"))?;
    let theirs = pairs(theirs).map_err(|e| format!("redis {path}: {e}"))?;
    if let Err(e) = is_map(ours, resp3) {
        d.add(cmd, path, format!("<{e}>"), "<map>");
        return Ok(());
    }
    let ours = match pairs(ours) {
        Ok(ours) => ours,
        Err(e) => {
            d.add(cmd, path, format!("<{e}>"), "<map>");
            return Ok(());
        }
    };
    let names = |fields: &[(String, &Reply)]| {
        V::List(fields.iter().map(|(k, _)| V::Str(k.clone())).collect())
    };
    if names(&ours) != names(&theirs) {
        d.add(cmd, &format!("{path}.fields"), names(&ours), names(&theirs));
    }
    for (field, t) in &theirs {
        let Some((_, o)) = ours.iter().find(|(k, _)| k == field) else {
            continue;
        };
        let at = format!("{path}.{field}");
        match field.as_str() {
            "arguments" => compare_doc_args(d, cmd, &at, o, t, resp3)?,
            "subcommands" => compare_subcommand_docs(d, cmd, &at, o, t, resp3)?,
            _ => {
                let (o, t) = (Exact::of(o), Exact::of(t));
                if o != t {
                    d.add(cmd, &at, o, t);
                }
            }
        }
    }
    Ok(())
}

/// An argument list: the same count, then each argument as a map.
fn compare_doc_args(
    d: &mut Diffs,
    cmd: &str,
    path: &str,
    ours: &Reply,
    theirs: &Reply,
    resp3: bool,
) -> Result<(), String> {
    let Reply::Array(t) = theirs else {
        return Err(format!("redis {path}: expected an array, got {theirs:?}"));
    };
    match ours {
        Reply::Array(o) if o.len() == t.len() => {
            for (i, (o, t)) in o.iter().zip(t).enumerate() {
                let name = pairs(t)
                    .ok()
                    .and_then(|fields| fields.into_iter().find(|(k, _)| k == "name"))
                    .and_then(|(_, name)| text_of(name))
                    .unwrap_or_default();
                compare_doc_map(d, cmd, &format!("{path}[{i}:{name}]"), o, t, resp3)?;
            }
        }
        _ => d.add(cmd, path, Exact::of(ours), Exact::of(theirs)),
    }
    Ok(())
}

/// A container's subcommands: the same names, each compared as an entry of its own.
fn compare_subcommand_docs(
    d: &mut Diffs,
    cmd: &str,
    path: &str,
    ours: &Reply,
    theirs: &Reply,
    resp3: bool,
) -> Result<(), String> {
    is_map(theirs, resp3).map_err(|e| format!("redis {path}: {e}"))?;
    let theirs: BTreeMap<String, &Reply> = pairs(theirs)
        .map_err(|e| format!("redis {path}: {e}"))?
        .into_iter()
        .collect();
    let ours: BTreeMap<String, &Reply> = match is_map(ours, resp3).and_then(|()| pairs(ours)) {
        Ok(ours) => ours.into_iter().collect(),
        Err(e) => {
            d.add(cmd, path, format!("<{e}>"), "<map>");
            return Ok(());
        }
    };
    let names = |m: &BTreeMap<String, &Reply>| m.keys().cloned().collect::<BTreeSet<_>>();
    d.set(cmd, path, &names(&ours), &names(&theirs));
    for (name, t) in &theirs {
        if let Some(o) = ours.get(name) {
            compare_doc_map(d, name, "docs", o, t, resp3)?;
        }
    }
    Ok(())
}

/// `COMMAND DOCS name` on both servers, compared exactly; returns how many entries were
/// compared (the command's and its subcommands', 0 when Redis gave none).
fn compare_docs(
    d: &mut Diffs,
    ours: &mut Raw,
    redis: &mut Raw,
    name: &str,
    resp3: bool,
) -> Result<usize, String> {
    let (o, t) = (
        ours.cmd(&["COMMAND", "DOCS", name]),
        redis.cmd(&["COMMAND", "DOCS", name]),
    );
    is_map(&t, resp3).map_err(|e| format!("redis COMMAND DOCS {name}: {e}"))?;
    let t = pairs(&t).map_err(|e| format!("redis COMMAND DOCS {name}: {e}"))?;
    let [(t_name, t_doc)] = t.as_slice() else {
        return Err(format!("redis COMMAND DOCS {name}: {} entries", t.len()));
    };
    let o = match is_map(&o, resp3).and_then(|()| pairs(&o)) {
        Ok(o) => o,
        Err(e) => {
            d.add(name, "docs", format!("<{e}>"), "<docs>");
            return Ok(0);
        }
    };
    let [(o_name, o_doc)] = o.as_slice() else {
        d.add(name, "docs", format!("<{} entries>", o.len()), "<1 entry>");
        return Ok(0);
    };
    d.eq(name, "docs.name", show_str(o_name), show_str(t_name));
    compare_doc_map(d, name, "docs", o_doc, t_doc, resp3)?;
    let subcommands = pairs(t_doc)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == "subcommands"))
        .and_then(|(_, subs)| pairs(subs).ok())
        .map_or(0, |subs| subs.len());
    Ok(1 + subcommands)
}

// ---------------------------------------------------------------------------
// Talking to the servers
// ---------------------------------------------------------------------------

fn command_list(r: &mut Raw) -> Vec<String> {
    let reply = r.run("COMMAND LIST");
    strings(&reply)
        .unwrap_or_else(|e| panic!("COMMAND LIST: {e}"))
        .into_iter()
        .map(|s| s.to_lowercase())
        .collect()
}

/// `COMMAND INFO name`: Ok(None) when the server does not know the command.
fn command_info(r: &mut Raw, name: &str) -> Result<Option<Info>, String> {
    let reply = r.cmd(&["COMMAND", "INFO", name]);
    let entries = match &reply {
        Reply::Array(a) => a,
        other => return Err(format!("COMMAND INFO replied {other:?}")),
    };
    match entries.as_slice() {
        [Reply::NilArray | Reply::NilBulk | Reply::Null] => Ok(None),
        [entry] => Info::parse(entry).map(Some),
        other => Err(format!("COMMAND INFO gave {} entries", other.len())),
    }
}

/// All differences between the server under test and Redis.
fn differences(server: &Server, redis_server: &Server) -> Vec<String> {
    let mut d = Diffs::default();
    let (ours, redis) = (&mut server.raw_authed(), &mut redis_server.raw());

    let our_list = command_list(ours);
    let redis_list = command_list(redis);
    let redis_top: BTreeSet<&str> = redis_list
        .iter()
        .filter(|n| !n.contains('|'))
        .map(|s| s.as_str())
        .collect();

    // COMMAND COUNT counts top-level commands only (Redis lists subcommands in COMMAND LIST).
    let count = ours.run("COMMAND COUNT");
    let top_level = our_list.iter().filter(|n| !n.contains('|')).count() as i64;
    match count {
        Reply::Int(n) if n == top_level => {}
        other => d.lines.push(format!(
            "(COMMAND COUNT) count: damselfly COUNT={other:?} but COMMAND LIST has {top_level} top-level names"
        )),
    }

    let mut ours_only = Vec::new();
    let mut compared = 0;
    let our_top: Vec<&String> = our_list.iter().filter(|n| !n.contains('|')).collect();
    for name in &our_top {
        if !redis_top.contains(name.as_str()) {
            ours_only.push(name.to_string());
            continue;
        }
        compared += 1;
        let theirs = match command_info(redis, name) {
            Ok(Some(i)) => i,
            Ok(None) => panic!("redis-server lists {name} but COMMAND INFO does not know it"),
            Err(e) => panic!("redis-server COMMAND INFO {name}: {e}"),
        };
        match command_info(ours, name) {
            Ok(Some(o)) => compare_info(&mut d, name, &o, &theirs),
            Ok(None) => d.add(name, "info", "nil", "<entry>"),
            Err(e) => d.add(name, "info", format!("<malformed: {e}>"), "<entry>"),
        }

        // Subcommand names in COMMAND LIST (Redis lists `config|get` and friends).
        let prefix = format!("{name}|");
        let listed = |l: &[String]| -> BTreeSet<String> {
            l.iter()
                .filter(|n| n.starts_with(&prefix))
                .cloned()
                .collect()
        };
        d.set(
            name,
            "command_list_subcommands",
            &listed(&our_list),
            &listed(&redis_list),
        );
    }

    // COMMAND DOCS for every name both list, subcommands too, in both protocols.
    let redis_names: BTreeSet<&String> = redis_list.iter().collect();
    for resp3 in [false, true] {
        let (mut ours, mut redis) = (server.raw_authed(), redis_server.raw());
        if resp3 {
            for r in [&mut ours, &mut redis] {
                assert!(matches!(r.cmd(&["HELLO", "3"]), Reply::Map(_)), "HELLO 3");
            }
        }
        // A RESP3 difference the RESP2 pass found too is listed once, others are tagged.
        let mut pass = Diffs::default();
        let mut entries = 0;
        for name in our_list.iter().filter(|n| redis_names.contains(n)) {
            match compare_docs(&mut pass, &mut ours, &mut redis, name, resp3) {
                Ok(n) => entries += n,
                Err(e) => panic!("{e}"),
            }
        }
        for line in pass.lines {
            if !resp3 {
                d.lines.push(line);
            } else if !d.lines.contains(&line) {
                d.lines.push(format!("[RESP3] {line}"));
            }
        }
        eprintln!(
            "COMMAND DOCS (RESP{}): compared {entries} entries (names and their subcommands)",
            if resp3 { 3 } else { 2 }
        );
    }

    // COMMAND DOCS without names documents every top-level command, once.
    let all = ours.run("COMMAND DOCS");
    match pairs(&all) {
        Ok(entries) => {
            let documented: Vec<String> = entries.into_iter().map(|(n, _)| n).collect();
            let unique: BTreeSet<String> = documented.iter().cloned().collect();
            let top: BTreeSet<String> = our_top.iter().map(|n| n.to_string()).collect();
            d.set("(COMMAND DOCS)", "names", &unique, &top);
            d.eq("(COMMAND DOCS)", "count", documented.len(), top.len());
        }
        Err(e) => d.add("(COMMAND DOCS)", "reply", format!("<{e}>"), "<map>"),
    }
    eprintln!(
        "compared {compared} commands; damselfly-only (not compared): {ours_only:?}; \
         redis-only top-level commands: {}",
        redis_top
            .iter()
            .filter(|n| !our_top.iter().any(|o| o == *n))
            .count()
    );

    // COMMAND GETKEYS for a representative set.
    for case in GETKEYS_CASES {
        let args: Vec<&str> = case.split_whitespace().collect();
        let cmd = args[0].to_lowercase();
        if !our_top.iter().any(|n| **n == cmd) {
            eprintln!("GETKEYS {case}: skipped, damselfly has no {cmd}");
            continue;
        }
        let mut full = vec!["COMMAND", "GETKEYS"];
        full.extend(&args);
        let (o, t) = (generic(&ours.cmd(&full)), generic(&redis.cmd(&full)));
        d.eq(&cmd, &format!("getkeys({case})"), o, t);
    }
    for case in GETKEYSANDFLAGS_CASES {
        let args: Vec<&str> = case.split_whitespace().collect();
        let cmd = args[0].to_lowercase();
        let mut full = vec!["COMMAND", "GETKEYSANDFLAGS"];
        full.extend(&args);
        let (o, t) = (generic(&ours.cmd(&full)), generic(&redis.cmd(&full)));
        d.eq(&cmd, &format!("getkeys({case})"), o, t);
    }
    d.lines
}

/// `key_specs[0].flags` -> `key_specs.flags`.
fn strip_indexes(field: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in field.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn command_introspection_matches_redis() {
    if !have_binary("redis-server") {
        eprintln!("NOTE: redis-server is not installed; command_info comparison skipped");
        return;
    }
    let redis = Server::redis();
    let version = redis
        .info_field("server", "redis_version")
        .unwrap_or_default();
    if !version.starts_with("7.0.") {
        eprintln!("NOTE: reference is redis-server {version}; this test expects 7.0.x");
    }
    let mut runs: Vec<(usize, Vec<String>)> = Vec::new();
    for_each_thread_count(|threads| {
        let server = Server::start(threads, &[]);
        let diffs = differences(&server, &redis);
        runs.push((threads, diffs));
    });

    // Lines found with every thread count are printed once, the rest tagged with theirs.
    let mut lines: Vec<String> = Vec::new();
    let everywhere = |l: &String| runs.iter().all(|(_, ds)| ds.contains(l));
    for (threads, ds) in &runs {
        for l in ds {
            let line = if everywhere(l) {
                l.clone()
            } else {
                format!("[--threads {threads}] {l}")
            };
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    // Stopped before failing so its startup log is not dumped after the list.
    drop(redis);
    if lines.is_empty() {
        return;
    }
    // Tally by field so the kinds of difference are visible at a glance.
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        let head = l.split(": damselfly=").next().unwrap_or("?");
        let field = head.rsplit(' ').next().unwrap_or("?");
        let field = if field.starts_with("getkeys(") {
            "getkeys".to_string()
        } else {
            strip_indexes(field)
        };
        *tally.entry(field).or_default() += 1;
    }
    let tally: Vec<String> = tally.iter().map(|(f, n)| format!("{f}={n}")).collect();
    panic!(
        "{} differences from redis-server {version} (by field: {}):\n{}",
        lines.len(),
        tally.join(", "),
        lines.join("\n")
    );
}
