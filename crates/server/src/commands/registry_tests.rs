//! The registry as a whole: every definition (shard and connection commands) is well formed, found by
//! name, and finds its keys with its key specs.

use super::handler::connection_handler;
use super::install;
use crate::spec::{all, lookup, resolve, words};
use damselfly_storage::spec::Run;

use damselfly_storage::spec::MAX_KEY_SPECS;

#[test]
fn lookup_is_case_insensitive() {
    install();
    assert_eq!(lookup(b"GeT").map(|def| def.name), Some("get"));
    assert!(lookup(b"nosuchcommand").is_none());
}

#[test]
fn every_definition_is_well_formed() {
    install();
    let mut names = std::collections::HashSet::new();
    for def in all() {
        assert!(names.insert(def.name), "{} defined twice", def.name);
        assert_eq!(def.name, def.name.to_ascii_lowercase());
        assert!(def.key_specs.len() <= MAX_KEY_SPECS, "{}", def.name);
        assert!(
            !def.summary.is_empty() && !def.group.is_empty(),
            "{}",
            def.name
        );
        if let Run::Connection(_) = def.run {
            assert!(connection_handler(def).is_some(), "{}", def.name);
        }
    }
}

#[test]
fn keys_follow_the_key_specs() {
    install();
    let keys = |line: &str| -> Vec<usize> {
        let args = words(line);
        let def = lookup(&args[0]).unwrap();
        def.key_positions(&args).collect()
    };
    assert_eq!(keys("mset a 1 b 2"), vec![1, 3]);
    assert_eq!(keys("del a b c"), vec![1, 2, 3]);
    assert_eq!(keys("rename a b"), vec![1, 2]);
    assert_eq!(keys("copy a b db 1"), vec![1, 2]);
    assert_eq!(keys("zunionstore d 2 a b weights 1 2"), vec![1, 3, 4]);
    assert_eq!(keys("xread count 1 streams a b 0 0"), vec![4, 5]);
    assert_eq!(keys("blmpop 0 2 a b left"), vec![3, 4]);
    assert_eq!(keys("bitop and d a b"), vec![2, 3, 4]);
    assert!(keys("ping").is_empty());
    assert_eq!(keys("object encoding k"), Vec::<usize>::new());
    let args = words("object encoding k");
    assert_eq!(resolve(&args).unwrap().name, "object|encoding");
    assert_eq!(
        resolve(&args)
            .unwrap()
            .key_positions(&args)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

#[test]
fn written_keys_follow_the_key_specs() {
    let written = |line: &str| -> Vec<usize> {
        let args = words(line);
        let def = lookup(&args[0]).unwrap();
        def.written_key_positions(&args).collect()
    };
    assert_eq!(written("sinterstore d a b"), vec![1]);
    assert_eq!(written("bitop or d a b"), vec![2]);
    assert_eq!(written("rename a b"), vec![1, 2]);
    assert!(written("mget a b").is_empty());
    // Its key spec says RO, yet it moves the group's cursor: every key counts as written.
    assert_eq!(written("xreadgroup group g c streams a b > >"), vec![5, 6]);
}

#[test]
fn arity_rules() {
    let get = lookup(b"get").unwrap();
    assert!(get.arity_ok(2) && !get.arity_ok(3));
    let set = lookup(b"set").unwrap();
    assert!(set.arity_ok(3) && set.arity_ok(7) && !set.arity_ok(2));
}
