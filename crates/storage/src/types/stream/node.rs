//! One node of a stream: a run of consecutive entries packed into one byte buffer, like Redis's
//! listpack nodes. The node's first id (its "master" id) is its key in the stream's map; entries
//! store their id relative to it and, when they have the master entry's fields, only their values.
//! Deleted entries stay in the buffer flagged, as in Redis, until the whole node goes.

use super::id::StreamId;
use damselfly_protocol::string2ll;

const FLAG_DELETED: u8 = 1;
const FLAG_SAME_FIELDS: u8 = 2;

/// One entry as stored: its id and where its body starts.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    node: &'a Node,
    flags: u8,
    /// Offset of the entry's flags byte.
    pub offset: usize,
    /// Offset of the field data (after the id).
    body: usize,
}

impl<'a> EntryRef<'a> {
    pub fn is_deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    /// The field/value pairs in order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let node = self.node;
        let same = self.flags & FLAG_SAME_FIELDS != 0;
        let mut at = self.body;
        let count = if same {
            node.master_count
        } else {
            read_varint(&node.buf, &mut at) as usize
        };
        let mut master_at = node.master_at;
        (0..count).map(move |_| {
            let field = if same {
                read_bytes(&node.buf, &mut master_at)
            } else {
                read_bytes(&node.buf, &mut at)
            };
            let value = read_bytes(&node.buf, &mut at);
            (field, value)
        })
    }

    pub fn field_count(&self) -> usize {
        if self.flags & FLAG_SAME_FIELDS != 0 {
            self.node.master_count
        } else {
            let mut at = self.body;
            read_varint(&self.node.buf, &mut at) as usize
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The master fields, then the entries.
    buf: Vec<u8>,
    master_id: StreamId,
    master_count: usize,
    /// Offset of the master fields (after their count).
    master_at: usize,
    /// Live entries.
    pub live: u64,
    /// Entries flagged deleted.
    pub deleted: u64,
    /// The size Redis's listpack for this node would have: decides when a new node starts, so that
    /// nodes split (and approximate trimming stops) where Redis's do.
    pub redis_bytes: usize,
}

impl Node {
    /// A node holding the one entry `id` (which becomes the master entry).
    pub fn new(id: StreamId, fields: &[(&[u8], &[u8])]) -> Node {
        let mut buf = Vec::new();
        write_varint(&mut buf, fields.len() as u64);
        let master_at = buf.len();
        for (field, _) in fields {
            write_bytes(&mut buf, field);
        }
        let mut redis_bytes = LISTPACK_OVERHEAD
            + lp_int_size(1)
            + lp_int_size(0)
            + lp_int_size(fields.len() as i64)
            + lp_int_size(0);
        for (field, _) in fields {
            redis_bytes += lp_str_size(field);
        }
        let mut node = Node {
            buf,
            master_id: id,
            master_count: fields.len(),
            master_at,
            live: 0,
            deleted: 0,
            redis_bytes,
        };
        node.live = 1;
        node.push_entry(id, fields);
        node
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    fn entries_at(&self) -> usize {
        let mut at = self.master_at;
        for _ in 0..self.master_count {
            let len = read_varint(&self.buf, &mut at) as usize;
            at += len;
        }
        at
    }

    fn has_master_fields(&self, fields: &[(&[u8], &[u8])]) -> bool {
        if fields.len() != self.master_count {
            return false;
        }
        let mut at = self.master_at;
        fields
            .iter()
            .all(|(field, _)| read_bytes(&self.buf, &mut at) == *field)
    }

    /// Appends an entry with an id above every id in the node.
    pub fn append(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) {
        self.set_live(self.live + 1);
        self.push_entry(id, fields);
    }

    fn push_entry(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) {
        let same = self.has_master_fields(fields);
        self.buf.push(if same { FLAG_SAME_FIELDS } else { 0 });
        write_varint(&mut self.buf, id.ms - self.master_id.ms);
        write_varint(&mut self.buf, id.seq);
        let mut size = lp_int_size(0)
            + lp_int_size((id.ms - self.master_id.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(self.master_id.seq) as i64);
        if !same {
            write_varint(&mut self.buf, fields.len() as u64);
            size += lp_int_size(fields.len() as i64);
        }
        for (field, value) in fields {
            if !same {
                write_bytes(&mut self.buf, field);
                size += lp_str_size(field);
            }
            write_bytes(&mut self.buf, value);
            size += lp_str_size(value);
        }
        let pieces = fields.len() as i64 + 3 + if same { 0 } else { fields.len() as i64 + 1 };
        self.redis_bytes += size + lp_int_size(pieces);
    }

    /// Whether Redis would start a new node rather than append an entry whose fields and values
    /// total `payload` bytes.
    pub fn is_full(&self, payload: usize, max_bytes: i64, max_entries: i64) -> bool {
        let max_bytes = if max_bytes <= 0 || max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE as usize
        } else {
            max_bytes as usize
        };
        if self.redis_bytes + payload >= max_bytes {
            return true;
        }
        max_entries > 0 && (self.live + self.deleted) as i64 >= max_entries
    }

    fn set_live(&mut self, live: u64) {
        self.redis_bytes =
            self.redis_bytes + lp_int_size(live as i64) - lp_int_size(self.live as i64);
        self.live = live;
    }

    fn set_deleted(&mut self, deleted: u64) {
        self.redis_bytes =
            self.redis_bytes + lp_int_size(deleted as i64) - lp_int_size(self.deleted as i64);
        self.deleted = deleted;
    }

    /// Flags the entry at `offset` deleted (it must be live).
    pub fn delete_at(&mut self, offset: usize) {
        self.buf[offset] |= FLAG_DELETED;
        self.set_live(self.live - 1);
        self.set_deleted(self.deleted + 1);
    }

    /// All entries, deleted ones included, in id order.
    pub fn entries(&self) -> NodeEntries<'_> {
        NodeEntries {
            node: self,
            at: self.entries_at(),
        }
    }

    /// Live entries in id order.
    pub fn live_entries(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.entries().filter(|e| !e.is_deleted())
    }

    /// The entry with this id, deleted or not.
    pub fn find(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.entries()
            .take_while(|e| e.id <= id)
            .find(|e| e.id == id)
    }
}

pub struct NodeEntries<'a> {
    node: &'a Node,
    at: usize,
}

impl<'a> Iterator for NodeEntries<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        let node = self.node;
        let buf = &node.buf;
        if self.at >= buf.len() {
            return None;
        }
        let offset = self.at;
        let flags = buf[offset];
        let mut at = offset + 1;
        let ms = node.master_id.ms + read_varint(buf, &mut at);
        let seq = read_varint(buf, &mut at);
        let body = at;
        let values = if flags & FLAG_SAME_FIELDS != 0 {
            node.master_count
        } else {
            let n = read_varint(buf, &mut at) as usize;
            n * 2
        };
        for _ in 0..values {
            let len = read_varint(buf, &mut at) as usize;
            at += len;
        }
        self.at = at;
        Some(EntryRef {
            id: StreamId::new(ms, seq),
            node,
            flags,
            offset,
            body,
        })
    }
}

fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn read_varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn write_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    write_varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

fn read_bytes<'a>(buf: &'a [u8], at: &mut usize) -> &'a [u8] {
    let len = read_varint(buf, at) as usize;
    let data = &buf[*at..*at + len];
    *at += len;
    data
}

/// A listpack's header and terminator.
const LISTPACK_OVERHEAD: usize = 7;
/// Redis's STREAM_LISTPACK_MAX_SIZE.
const LISTPACK_MAX_SIZE: i64 = 1 << 30;

/// Bytes a listpack element takes: its encoding plus the back-length.
fn lp_element(encoded: usize) -> usize {
    let backlen = match encoded {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    encoded + backlen
}

fn lp_int_size(v: i64) -> usize {
    lp_element(match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    })
}

/// A string element; listpacks store strings that are canonical integers as integers.
fn lp_str_size(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = string2ll(s) {
            return lp_int_size(v);
        }
    }
    lp_element(match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        _ => 5 + s.len(),
    })
}
