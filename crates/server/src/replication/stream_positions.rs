//! Where a damselfly replica stands in its primary's Redis-format stream: the primary notes, on
//! flow 0, positions of that stream with the shard journal offsets each covers exactly. When what
//! the replica has applied is exactly one of them, the replica knows its offset in that stream,
//! so after a failover it can continue it with redis-server replicas and primaries (PSYNC2).

use crate::journal::wire::StreamPoint;
use std::collections::VecDeque;

/// Notes kept: plenty for a replica that lags its flows by a few batches.
const KEEP: usize = 1024;

#[derive(Default)]
pub struct StreamPositions {
    /// Oldest first; their shard offsets only grow.
    recent: VecDeque<StreamPoint>,
}

impl StreamPositions {
    pub fn record(&mut self, point: StreamPoint) {
        if self.recent.len() == KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(point);
    }

    /// The noted position whose shard offsets are exactly `applied`, if there is one.
    pub fn exact(&self, applied: &[u64]) -> Option<&StreamPoint> {
        let behind = |point: &&StreamPoint| {
            point.shards.len() == applied.len()
                && point.shards.iter().zip(applied).all(|(p, a)| p <= a)
        };
        // The newest note not ahead of what is applied: older ones are behind it.
        self.recent
            .iter()
            .rev()
            .find(behind)
            .filter(|point| point.shards == applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(offset: u64, shards: &[u64]) -> StreamPoint {
        StreamPoint {
            offset,
            db: Some(0),
            shards: shards.to_vec(),
        }
    }

    #[test]
    fn only_an_exact_match_gives_a_position() {
        let mut positions = StreamPositions::default();
        positions.record(point(100, &[10, 0]));
        positions.record(point(150, &[10, 7]));
        positions.record(point(190, &[20, 7]));
        assert_eq!(positions.exact(&[10, 7]).map(|p| p.offset), Some(150));
        assert_eq!(positions.exact(&[20, 7]).map(|p| p.offset), Some(190));
        assert_eq!(positions.exact(&[15, 7]), None);
        assert_eq!(positions.exact(&[10, 3]), None);
        assert_eq!(positions.exact(&[30, 9]), None);
    }
}
