//! Streams (types 15 and 19): a radix tree of listpacks keyed by each node's master id, then the
//! stream's metadata and its consumer groups.
//!
//! A node's listpack starts with a master entry (count, deleted, field count, fields, 0); each
//! entry follows as flags, ms and seq deltas from the master id, either its own fields and values
//! or (SAMEFIELDS) only values, and finally its element count for backward iteration.

use std::collections::BTreeMap;
use std::io::Read;

use crate::encoding::{encode_len, encode_string, read_array, read_plain_len, read_string};
use crate::error::{Error, Result};
use crate::listpack::{self, Item};
use crate::objects::with_capacity;
use crate::reader::{Stream, StreamEntry, StreamGroup, StreamId};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// Redis 7.0 defaults `stream-node-max-entries` and `stream-node-max-bytes`.
const NODE_MAX_ENTRIES: usize = 100;
const NODE_MAX_BYTES: usize = 4096;

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("bad stream: {what}"))
}

fn read_id<R: Read + ?Sized>(r: &mut R) -> Result<StreamId> {
    Ok((read_plain_len(r)?, read_plain_len(r)?))
}

fn raw_id(b: [u8; 16]) -> StreamId {
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&b[..8]);
    seq.copy_from_slice(&b[8..]);
    (u64::from_be_bytes(ms), u64::from_be_bytes(seq))
}

fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.0.to_be_bytes());
    b[8..].copy_from_slice(&id.1.to_be_bytes());
    b
}

/// Decodes a stream body; `v2` is type 19 (with first id, max deleted id, entries added and
/// per-group entries read).
pub(crate) fn read<R: Read + ?Sized>(r: &mut R, v2: bool) -> Result<Stream> {
    let mut s = Stream::default();
    let nodes = read_plain_len(r)?;
    for _ in 0..nodes {
        let key = read_string(r)?;
        let master: [u8; 16] = key
            .try_into()
            .map_err(|_| corrupt("node key is not an id"))?;
        let lp = read_string(r)?;
        read_node(raw_id(master), &listpack::parse(&lp)?, &mut s.entries)?;
    }
    let length = read_plain_len(r)?;
    if length != s.entries.len() as u64 {
        return Err(corrupt("length does not match the entries"));
    }
    s.last_id = read_id(r)?;
    if v2 {
        s.first_id = read_id(r)?;
        s.max_deleted_id = read_id(r)?;
        s.entries_added = read_plain_len(r)?;
    } else {
        s.first_id = s.entries.first().map_or((0, 0), |e| e.0);
        s.entries_added = length;
    }
    let groups = read_plain_len(r)?;
    for _ in 0..groups {
        let group = read_group(r, v2, &s)?;
        s.groups.push(group);
    }
    Ok(s)
}

fn read_group<R: Read + ?Sized>(r: &mut R, v2: bool, s: &Stream) -> Result<StreamGroup> {
    let name = read_string(r)?;
    let last_id = read_id(r)?;
    let entries_read = if v2 {
        let n = read_plain_len(r)?;
        // Redis stores -1 ("unknown") as an unsigned length.
        n as i64
    } else {
        estimate_entries_read(s, last_id)
    };
    let pel_len = read_plain_len(r)?;
    let mut pel: BTreeMap<StreamId, (u64, u64, Option<Vec<u8>>)> = BTreeMap::new();
    for _ in 0..pel_len {
        let id = raw_id(read_array(r)?);
        let delivery_time = u64::from_le_bytes(read_array(r)?);
        let count = read_plain_len(r)?;
        if pel.insert(id, (delivery_time, count, None)).is_some() {
            return Err(corrupt("duplicate pending entry"));
        }
    }
    let consumer_count = read_plain_len(r)?;
    let mut consumers = with_capacity(consumer_count);
    for _ in 0..consumer_count {
        let cname = read_string(r)?;
        let seen = u64::from_le_bytes(read_array(r)?);
        let owned = read_plain_len(r)?;
        for _ in 0..owned {
            let id = raw_id(read_array(r)?);
            let slot = pel
                .get_mut(&id)
                .ok_or_else(|| corrupt("consumer pending entry not in the group"))?;
            if slot.2.replace(cname.clone()).is_some() {
                return Err(corrupt("pending entry owned twice"));
            }
        }
        consumers.push((cname, seen));
    }
    let pending = pel
        .into_iter()
        .map(|(id, (time, count, owner))| {
            let owner = owner.ok_or_else(|| corrupt("pending entry without a consumer"))?;
            Ok((id, time, count, owner))
        })
        .collect::<Result<_>>()?;
    Ok(StreamGroup {
        name,
        last_id,
        entries_read,
        pending,
        consumers,
    })
}

/// What Redis 7.0 derives for a group loaded from a type 15 stream
/// (`streamEstimateDistanceFromFirstEverEntry` with no deletions recorded).
fn estimate_entries_read(s: &Stream, id: StreamId) -> i64 {
    let added = s.entries_added as i64;
    let length = s.entries.len() as i64;
    if added == 0 || id == s.last_id || (length == 0 && id < s.last_id) {
        return added;
    }
    if id > s.last_id {
        return -1;
    }
    match id.cmp(&s.first_id) {
        std::cmp::Ordering::Less => added - length,
        std::cmp::Ordering::Equal => added - length + 1,
        std::cmp::Ordering::Greater => -1,
    }
}

fn int<'a>(it: &mut impl Iterator<Item = Item<'a>>) -> Result<i64> {
    it.next()
        .and_then(Item::as_int)
        .ok_or_else(|| corrupt("expected an integer"))
}

fn read_node(master: StreamId, items: &[Item<'_>], entries: &mut Vec<StreamEntry>) -> Result<()> {
    let mut it = items.iter().copied();
    let count = int(&mut it)?;
    let deleted = int(&mut it)?;
    let master_fields_len = usize::try_from(int(&mut it)?).map_err(|_| corrupt("field count"))?;
    let mut master_fields = Vec::with_capacity(master_fields_len.min(items.len()));
    for _ in 0..master_fields_len {
        master_fields.push(it.next().ok_or_else(|| corrupt("master fields"))?);
    }
    if int(&mut it)? != 0 {
        return Err(corrupt("master entry terminator"));
    }
    if count <= 0 && deleted <= 0 {
        return Err(corrupt("empty node"));
    }
    let (mut live, mut dead) = (0i64, 0i64);
    while let Some(first) = it.next() {
        let flags = first.as_int().ok_or_else(|| corrupt("entry flags"))?;
        let ms = master.0.wrapping_add(int(&mut it)? as u64);
        let seq = master.1.wrapping_add(int(&mut it)? as u64);
        let mut fields = Vec::new();
        let mut elements = 3i64;
        if flags & FLAG_SAMEFIELDS != 0 {
            for f in &master_fields {
                let v = it.next().ok_or_else(|| corrupt("entry values"))?;
                fields.push((f.to_vec(), v.to_vec()));
            }
            elements += master_fields.len() as i64;
        } else {
            let n = usize::try_from(int(&mut it)?).map_err(|_| corrupt("field count"))?;
            if n > items.len() {
                return Err(corrupt("field count"));
            }
            for _ in 0..n {
                let f = it.next().ok_or_else(|| corrupt("entry fields"))?;
                let v = it.next().ok_or_else(|| corrupt("entry values"))?;
                fields.push((f.to_vec(), v.to_vec()));
            }
            elements += 1 + 2 * n as i64;
        }
        if int(&mut it)? != elements {
            return Err(corrupt("entry element count"));
        }
        if flags & FLAG_DELETED != 0 {
            dead += 1;
            continue;
        }
        live += 1;
        let id = (ms, seq);
        if entries.last().is_some_and(|last| last.0 >= id) {
            return Err(corrupt("entries out of order"));
        }
        entries.push((id, fields));
    }
    if live != count || dead != deleted {
        return Err(corrupt("node entry counts"));
    }
    Ok(())
}

/// Appends a type 19 body. Entries go into nodes as XADD fills them (at most 100 entries, a new
/// node once the node's bytes plus the entry's field and value lengths reach 4 KiB); pending
/// entries and consumers in id and name order.
pub(crate) fn write(s: &Stream, compress: bool, out: &mut Vec<u8>) {
    let mut nodes: Vec<([u8; 16], Vec<u8>)> = Vec::new();
    let mut rest = &s.entries[..];
    while let Some(((master, master_fields), _)) = rest.split_first() {
        let master_entry = |count: usize| {
            let mut lp = listpack::Builder::new();
            lp.push_int(count as i64);
            lp.push_int(0);
            lp.push_int(master_fields.len() as i64);
            for (f, _) in master_fields {
                lp.push_str(f);
            }
            lp.push_int(0);
            lp
        };
        // Bytes of the node so far minus those of an empty body, as XADD measures it.
        let master_bytes = master_entry(1).bytes() - listpack::Builder::new().bytes();
        let mut body = listpack::Builder::new();
        let mut n = 0;
        for (id, fields) in rest {
            let fields_len: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
            let full =
                master_bytes + body.bytes() + fields_len >= NODE_MAX_BYTES || n >= NODE_MAX_ENTRIES;
            if n > 0 && full {
                break;
            }
            let same = fields.len() == master_fields.len()
                && fields.iter().zip(master_fields).all(|(a, b)| a.0 == b.0);
            body.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
            body.push_int(id.0.wrapping_sub(master.0) as i64);
            body.push_int(id.1.wrapping_sub(master.1) as i64);
            if !same {
                body.push_int(fields.len() as i64);
            }
            for (f, v) in fields {
                if !same {
                    body.push_str(f);
                }
                body.push_str(v);
            }
            let elements = 3 + fields.len() + if same { 0 } else { 1 + fields.len() };
            body.push_int(elements as i64);
            n += 1;
        }
        nodes.push((id_bytes(*master), master_entry(n).append(body)));
        rest = &rest[n..];
    }
    encode_len(nodes.len() as u64, out);
    for (key, lp) in &nodes {
        encode_string(key, compress, out);
        encode_string(lp, compress, out);
    }
    encode_len(s.entries.len() as u64, out);
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        encode_len(id.0, out);
        encode_len(id.1, out);
    }
    encode_len(s.entries_added, out);
    encode_len(s.groups.len() as u64, out);
    for g in &s.groups {
        write_group(g, compress, out);
    }
}

fn write_group(g: &StreamGroup, compress: bool, out: &mut Vec<u8>) {
    encode_string(&g.name, compress, out);
    encode_len(g.last_id.0, out);
    encode_len(g.last_id.1, out);
    encode_len(g.entries_read as u64, out);
    let mut pending: Vec<_> = g.pending.iter().collect();
    pending.sort_by_key(|p| p.0);
    encode_len(pending.len() as u64, out);
    for (id, time, count, _) in &pending {
        out.extend_from_slice(&id_bytes(*id));
        out.extend_from_slice(&time.to_le_bytes());
        encode_len(*count, out);
    }
    // Consumers owning entries but missing from the list still need a record.
    let mut consumers: BTreeMap<&[u8], u64> =
        g.consumers.iter().map(|(n, t)| (&n[..], *t)).collect();
    for (_, time, _, owner) in &pending {
        consumers.entry(owner).or_insert(*time);
    }
    encode_len(consumers.len() as u64, out);
    for (name, seen) in consumers {
        encode_string(name, compress, out);
        out.extend_from_slice(&seen.to_le_bytes());
        let owned: Vec<_> = pending.iter().filter(|p| p.3 == name).collect();
        encode_len(owned.len() as u64, out);
        for p in owned {
            out.extend_from_slice(&id_bytes(p.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Stream {
        let mut entries = Vec::new();
        for i in 0..250u64 {
            let fields = if i % 7 == 3 {
                vec![(b"other".to_vec(), i.to_string().into_bytes())]
            } else {
                vec![
                    (b"name".to_vec(), format!("n{i}").into_bytes()),
                    (b"n".to_vec(), i.to_string().into_bytes()),
                ]
            };
            entries.push(((1_700_000_000_000 + i / 3, i % 3), fields));
        }
        Stream {
            last_id: entries.last().unwrap().0,
            first_id: entries[0].0,
            max_deleted_id: (5, 0),
            entries_added: 260,
            groups: vec![StreamGroup {
                name: b"g".to_vec(),
                last_id: entries[10].0,
                entries_read: 11,
                pending: vec![
                    (entries[2].0, 1_700_000_000_100, 1, b"alice".to_vec()),
                    (entries[1].0, 1_700_000_000_200, 3, b"bob".to_vec()),
                ],
                consumers: vec![
                    (b"bob".to_vec(), 9),
                    (b"alice".to_vec(), 8),
                    (b"idle".to_vec(), 7),
                ],
            }],
            entries,
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let mut out = Vec::new();
        write(&s, true, &mut out);
        let back = read(&mut &out[..], true).unwrap();
        assert_eq!(back.entries, s.entries);
        assert_eq!(back.groups[0].pending[0].3, b"bob");
        assert_eq!(back.groups[0].consumers.len(), 3);
        assert_eq!(
            (back.last_id, back.first_id, back.max_deleted_id),
            (s.last_id, s.first_id, s.max_deleted_id)
        );
        let empty = Stream::default();
        out.clear();
        write(&empty, true, &mut out);
        assert_eq!(read(&mut &out[..], true).unwrap(), empty);
        for cut in 0..out.len() {
            assert!(read(&mut &out[..cut], true).is_err());
        }
    }
}
