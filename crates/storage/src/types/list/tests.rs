use super::*;
use std::sync::Mutex;

/// Serialises the tests that change list-max-listpack-size (a process-wide setting).
static FILL_LOCK: Mutex<()> = Mutex::new(());

fn with_fill(fill: i64, f: impl FnOnce()) {
    let _guard = FILL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert!(LIST_MAX_LISTPACK_SIZE.set(fill));
    f();
    LIST_MAX_LISTPACK_SIZE.set(-2);
}

fn items(list: &List) -> Vec<Vec<u8>> {
    list.iter().map(|e| e.to_vec()).collect()
}

/// The bookkeeping matches the nodes, and (`limits`) every node respects the current fill.
fn check(list: &List, limits: bool) {
    assert_eq!(list.nodes.iter().map(Node::len).sum::<usize>(), list.len);
    assert_eq!(
        list.nodes.iter().map(Node::capacity).sum::<usize>(),
        list.node_bytes
    );
    assert!(list.nodes.iter().all(|n| !n.is_empty()));
    let mut rev: Vec<Vec<u8>> = list.iter_rev().map(|e| e.to_vec()).collect();
    rev.reverse();
    assert_eq!(rev, items(list));
    if limits {
        let fill = Fill::current();
        for node in &list.nodes {
            assert!(!fill.overflows(node), "node of {} bytes", node.bytes());
        }
    }
}

/// A list and a plain model, driven by the same operations.
struct Pair {
    list: List,
    model: VecDeque<Vec<u8>>,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            list: List::default(),
            model: VecDeque::new(),
        }
    }

    fn verify(&self, limits: bool) {
        check(&self.list, limits);
        assert_eq!(items(&self.list), Vec::from(self.model.clone()));
        for (i, v) in self.model.iter().enumerate().step_by(7) {
            assert_eq!(self.list.get(i).map(|e| e.to_vec()).as_ref(), Some(v));
            let from: Vec<Vec<u8>> = self.list.iter_from(i).map(|e| e.to_vec()).collect();
            assert_eq!(from, Vec::from(self.model.clone()).split_off(i));
        }
        assert_eq!(self.list.get(self.model.len()), None);
    }
}

fn value(seed: u64) -> Vec<u8> {
    match seed % 6 {
        0 => (seed % 300).to_string().into_bytes(),
        1 => format!("-{}", seed % 100_000).into_bytes(),
        2 => vec![b'a' + (seed % 26) as u8; (seed % 90) as usize],
        3 => vec![b'x'; 3],
        4 => vec![b'L'; 5000 + (seed % 3) as usize * 30_000],
        _ => format!("0{}", seed % 10).into_bytes(),
    }
}

fn exercise(steps: u64, limits: bool) {
    let mut p = Pair::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for step in 0..steps {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let v = value(seed >> 8);
        match seed % 10 {
            0..=2 => {
                p.list.push_back(&v);
                p.model.push_back(v);
            }
            3 | 4 => {
                p.list.push_front(&v);
                p.model.push_front(v);
            }
            5 => assert_eq!(p.list.pop_front(), p.model.pop_front()),
            6 => assert_eq!(p.list.pop_back(), p.model.pop_back()),
            7 if !p.model.is_empty() => {
                let i = (seed >> 20) as usize % p.model.len();
                assert!(p.list.set(i, &v));
                p.model[i] = v;
            }
            8 if !p.model.is_empty() => {
                let pivot = p.model[(seed >> 20) as usize % p.model.len()].clone();
                let after = seed & 1 << 40 != 0;
                assert!(p.list.insert(&pivot, &v, after));
                let at = p.model.iter().position(|x| *x == pivot).unwrap_or(0);
                p.model.insert(at + usize::from(after), v);
            }
            9 if !p.model.is_empty() => {
                let target = p.model[(seed >> 20) as usize % p.model.len()].clone();
                let max = (seed >> 30) as usize % 3;
                let max = if max == 0 { usize::MAX } else { max };
                let from_tail = seed & 1 << 41 != 0;
                let removed = p.list.remove(&target, max, from_tail);
                let mut positions: Vec<usize> = (0..p.model.len())
                    .filter(|&i| p.model[i] == target)
                    .collect();
                if from_tail {
                    positions.reverse();
                }
                positions.truncate(max);
                positions.sort_unstable();
                for &i in positions.iter().rev() {
                    p.model.remove(i);
                }
                assert_eq!(removed, positions.len());
            }
            _ => {
                let len = p.model.len();
                let front = (seed >> 20) as usize % (len / 8 + 1);
                let back = (seed >> 30) as usize % ((len - front) / 8 + 1);
                p.list.trim(front, back);
                p.model.drain(..front);
                p.model.truncate(p.model.len() - back);
            }
        }
        if step % 50 == 0 {
            p.verify(limits);
        }
    }
    p.verify(limits);
}

#[test]
fn matches_a_model_at_every_fill() {
    for fill in [-1, -2, -3, -4, -5, -6, 0, 1, 2, 3, 128, 40_000] {
        with_fill(fill, || exercise(1500, true));
    }
}

#[test]
fn node_sizes_follow_the_fill() {
    for (fill, max_bytes) in [
        (-1, 4096),
        (-2, 8192),
        (-3, 16384),
        (-4, 32768),
        (-5, 65536),
    ] {
        with_fill(fill, || {
            let list = List::from_items(vec![b"xxxxxxxxx".to_vec(); 20_000]);
            check(&list, true);
            assert!(list.nodes.iter().all(|n| n.bytes() <= max_bytes));
            // Nodes are full: each holds as many 11-byte entries as fit.
            assert_eq!(list.nodes[0].len(), max_bytes / 11);
        });
    }
    with_fill(5, || {
        let list = List::from_items((0..23).map(|i| i.to_string().into_bytes()).collect());
        let sizes: Vec<usize> = list.nodes.iter().map(Node::len).collect();
        assert_eq!(sizes, [5, 5, 5, 5, 3]);
    });
    with_fill(0, || {
        let list = List::from_items(vec![b"a".to_vec(); 3]);
        assert_eq!(list.nodes.len(), 3);
    });
    // A positive fill still caps nodes at 8 KiB.
    with_fill(1000, || {
        let list = List::from_items(vec![vec![b'y'; 100]; 1000]);
        check(&list, true);
        assert!(list.nodes.iter().all(|n| n.bytes() <= 8192));
    });
}

#[test]
fn an_oversized_element_gets_its_own_node() {
    with_fill(-1, || {
        let mut list = List::from_items(vec![b"a".to_vec(), vec![b'b'; 10_000], b"c".to_vec()]);
        check(&list, true);
        assert_eq!(list.nodes.len(), 3);
        list.set(0, &[b'z'; 9000]);
        check(&list, true);
        assert_eq!(list.len(), 3);
    });
}

#[test]
fn memory_per_small_element_is_compact() {
    // At the default fill (other tests change it), redis-server 7.0.15 reports MEMORY USAGE
    // 5035040 for this list.
    with_fill(-2, || {
        let mut list = List::default();
        for i in 0..1_000_000u32 {
            if i % 2 == 0 {
                list.push_back(b"xxx");
            } else {
                list.push_front(b"xxx");
            }
        }
        // 5 bytes per entry ("xxx" plus header and back-length), little slack.
        assert!(list.heap_bytes() < 5_100_000, "{}", list.heap_bytes());
        for _ in 0..999_990 {
            list.pop_back();
        }
        assert_eq!(list.len(), 10);
        assert!(list.heap_bytes() < 50_000, "{}", list.heap_bytes());
    });
}

#[test]
fn clone_and_eq_ignore_the_node_layout() {
    let a = List::from_items((0..5000).map(|i| i.to_string().into_bytes()).collect());
    let b = a.clone();
    check(&b, false);
    assert_eq!(a, b);
    let mut c = List::default();
    for i in (0..5000).rev() {
        c.push_front(i.to_string().as_bytes());
    }
    assert_eq!(a, c);
    c.set(10, b"x");
    assert_ne!(a, c);
}

#[test]
fn rdb_form_and_digest() {
    let list = List::from_items(vec![
        b"1".to_vec(),
        b"2".to_vec(),
        b"3".to_vec(),
        b"x".to_vec(),
    ]);
    assert_eq!(
        list.to_rdb(),
        damselfly_rdb::Value::List(vec![
            b"1".to_vec(),
            b"2".to_vec(),
            b"3".to_vec(),
            b"x".to_vec()
        ])
    );
    // DEBUG DIGEST-VALUE after RPUSH a 1 2 3 x on redis-server 7.0.15.
    let mut db = crate::Db::new();
    db.insert(b"a", crate::Value::List(Box::new(list.clone())), 0, 0);
    let digest = crate::digest_value(&mut db, b"a", 0);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "a7e0d1f4e14edac355ae5f87ac1038a4263fe314");
    assert_eq!(list.encoding(), "quicklist");
}

#[test]
fn a_one_element_list_is_small() {
    let mut list = List::default();
    list.push_front(b"xxx");
    assert_eq!(list.nodes.capacity(), 1);
    assert_eq!(list.heap_bytes(), 5 + std::mem::size_of::<Node>());
    list.push_back(b"yyy");
    assert_eq!(list.nodes.capacity(), 1);
}
