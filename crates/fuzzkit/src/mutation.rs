//! Byte-level mutations of valid inputs, shared by the fuzz targets: a target builds a valid
//! document (RESP requests, an RDB file, a replication stream...), applies a few of these, and
//! feeds the result to its parser.

use proptest::prelude::*;

/// One change to a byte string. Positions are taken modulo the length at the time of the change.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    /// Inserts the given hostile fragment.
    Splice(usize, usize),
    /// Writes the given hostile fragment over existing bytes (lengths and offsets stay put).
    Overwrite(usize, usize),
    Truncate(usize),
}

/// A strategy over mutations; fragments of `hostile` (lengths near limits, bad type bytes...)
/// are spliced in or written over existing bytes.
pub fn mutation(hostile: &'static [&'static [u8]]) -> BoxedStrategy<Mutation> {
    let plain = prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ];
    if hostile.is_empty() {
        return plain.boxed();
    }
    prop_oneof![
        4 => plain,
        1 => (any::<usize>(), 0..hostile.len()).prop_map(|(at, which)| Mutation::Splice(at, which)),
        1 => (any::<usize>(), 0..hostile.len())
            .prop_map(|(at, which)| Mutation::Overwrite(at, which)),
    ]
    .boxed()
}

/// Applies `mutation` to `bytes`; `hostile` must be the list its strategy was built with.
pub fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation, hostile: &[&[u8]]) {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip(at, mask) if len > 0 => bytes[at % len] ^= mask,
        Mutation::Insert(at, byte) => bytes.insert(at % (len + 1), byte),
        Mutation::Delete(at) if len > 0 => {
            bytes.remove(at % len);
        }
        Mutation::Splice(at, which) => {
            let at = at % (len + 1);
            bytes.splice(at..at, hostile[which].iter().copied());
        }
        Mutation::Overwrite(at, which) if len > 0 => {
            let at = at % len;
            let fragment = hostile[which];
            let end = (at + fragment.len()).min(len);
            bytes[at..end].copy_from_slice(&fragment[..end - at]);
        }
        Mutation::Truncate(at) => bytes.truncate(at % (len + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mutation_changes_bytes_as_named() {
        const HOSTILE: &[&[u8]] = &[b"XY"];
        let apply = |mutation: Mutation| {
            let mut bytes = b"abcd".to_vec();
            mutate(&mut bytes, &mutation, HOSTILE);
            bytes
        };
        assert_eq!(apply(Mutation::Flip(5, 0x20)), b"aBcd");
        assert_eq!(apply(Mutation::Insert(0, b'z')), b"zabcd");
        assert_eq!(apply(Mutation::Delete(3)), b"abc");
        assert_eq!(apply(Mutation::Splice(2, 0)), b"abXYcd");
        assert_eq!(apply(Mutation::Overwrite(3, 0)), b"abcX");
        assert_eq!(apply(Mutation::Truncate(2)), b"ab");
    }
}
