use super::*;

fn pairs(n: usize, value_len: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("f{i}").into_bytes(), vec![b'v'; value_len]))
        .collect()
}

#[test]
fn converts_past_entry_limit_and_long_items() {
    let mut h = Hash::default();
    for i in 0..512 {
        assert!(h.set(format!("f{i}").as_bytes(), b"v"));
    }
    assert_eq!(h.encoding(), "listpack");
    h.set(b"f0", b"w");
    assert_eq!(h.encoding(), "listpack");
    h.set(b"f512", b"v");
    assert_eq!(h.encoding(), "hashtable");
    assert_eq!(h.len(), 513);
    assert_eq!(h.get(b"f0"), Some(&b"w"[..]));

    let mut h = Hash::default();
    h.set(b"a", &[b'x'; 64]);
    assert_eq!(h.encoding(), "listpack");
    h.set(&[b'x'; 65], b"1");
    assert_eq!(h.encoding(), "hashtable");

    let mut h = Hash::default();
    h.prepare_for(&[b"a", &[b'x'; 65]]);
    assert_eq!(h.encoding(), "hashtable");
}

#[test]
fn from_pairs_chooses_by_thresholds() {
    assert_eq!(Hash::from_pairs(pairs(512, 64)).encoding(), "listpack");
    assert_eq!(Hash::from_pairs(pairs(513, 1)).encoding(), "hashtable");
    assert_eq!(Hash::from_pairs(pairs(3, 65)).encoding(), "hashtable");
    let h = Hash::from_pairs(pairs(600, 3));
    assert_eq!(h.len(), 600);
    let damselfly_rdb::Value::Hash(back) = h.to_rdb() else {
        panic!("not a hash")
    };
    assert_eq!(Hash::from_pairs(back), h);
}

#[test]
fn heap_bytes_follow_writes() {
    let mut h = Hash::default();
    assert_eq!(h.heap_bytes(), 0);
    h.set(b"a", b"1");
    assert_eq!(h.heap_bytes(), 4);
    h.remove(b"a");
    assert_eq!(h.heap_bytes(), 0);
    let big = Hash::from_pairs(pairs(1000, 3));
    assert!(big.heap_bytes() >= 1000 * 24);
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn digest_is_order_independent_and_encoding_independent() {
    let small = Hash::from_pairs(vec![
        (b"a".to_vec(), b"1".to_vec()),
        (b"b".to_vec(), b"2".to_vec()),
    ]);
    let mut reversed = Hash::default();
    reversed.set(b"b", b"2");
    reversed.set(b"a", b"1");
    let mut table = Hash::from_pairs(pairs(600, 1));
    for i in 0..600 {
        table.remove(format!("f{i}").as_bytes());
    }
    table.set(b"a", b"1");
    table.set(b"b", b"2");
    let digest = |h: &Hash| {
        let mut d = [0u8; 20];
        h.digest(&mut d);
        hex(&d)
    };
    assert_eq!(digest(&small), digest(&reversed));
    assert_eq!(digest(&small), digest(&table));
}

/// Resident set size of this process, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory of the two reference workloads, to compare with redis-server's used_memory for the
/// same data (run alone: `cargo test -p damselfly-storage --lib memory_footprint -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn memory_footprint() {
    let before = rss();
    let mut big = Hash::default();
    for i in 0..1_000_000 {
        big.set(format!("field:{i}").as_bytes(), i.to_string().as_bytes());
    }
    let grown = rss();
    println!(
        "one hash of 1M fields: encoding {}, heap_bytes {}, rss delta {}",
        big.encoding(),
        big.heap_bytes(),
        grown - before
    );
    drop(big);

    let before = rss();
    let mut db = crate::keyspace::Db::new();
    for k in 0..100_000 {
        let mut h = Hash::default();
        for j in 0..10 {
            h.set(
                format!("field:{j}").as_bytes(),
                format!("value:{j}").as_bytes(),
            );
        }
        db.insert(
            format!("key:{k}").as_bytes(),
            crate::value::Value::Hash(Box::new(h)),
            0,
            0,
        );
    }
    println!(
        "100k hashes of 10 fields: used_value_bytes {}, rss delta {}",
        db.used_value_bytes(),
        rss() - before
    );
}
