//! Keys that someone outside the db waits on (clients blocked on a list, WATCH): every write to
//! one of them is noted so the shard can wake the waiters after the command.

use crate::keyspace::Db;
use ahash::AHashSet;
use bytes::Bytes;

#[derive(Default, Debug)]
pub(crate) struct Interest {
    keys: AHashSet<Bytes>,
    /// Keys of `keys` written since the last `take_touched`, in order, possibly repeated.
    touched: Vec<Bytes>,
}

impl Interest {
    /// Notes a write to `key` if it is of interest.
    #[inline]
    pub(crate) fn note(&mut self, key: &[u8]) {
        if let Some(key) = self.keys.get(key) {
            self.touched.push(key.clone());
        }
    }
}

impl Db {
    /// Starts noting writes to `key`.
    pub fn add_interest(&mut self, key: Bytes) {
        self.interest
            .get_or_insert_with(Box::default)
            .keys
            .insert(key);
    }

    /// Stops noting writes to `key`.
    pub fn remove_interest(&mut self, key: &[u8]) {
        if let Some(interest) = self.interest.as_mut() {
            interest.keys.remove(key);
            if interest.keys.is_empty() && interest.touched.is_empty() {
                self.interest = None;
            }
        }
    }

    /// Whether a write touched a key of interest since the last `take_touched`.
    #[inline]
    pub fn has_touched(&self) -> bool {
        self.interest
            .as_ref()
            .is_some_and(|interest| !interest.touched.is_empty())
    }

    /// The keys of interest written since the last call.
    pub fn take_touched(&mut self) -> Vec<Bytes> {
        self.interest
            .as_mut()
            .map(|interest| std::mem::take(&mut interest.touched))
            .unwrap_or_default()
    }

    /// Which of `keys` were written since the last `take_touched`, taking their notes (the notes
    /// of other keys stay for their waiters).
    pub fn take_touched_of(&mut self, keys: &[Bytes]) -> Vec<Bytes> {
        let Some(interest) = self.interest.as_mut() else {
            return Vec::new();
        };
        let mut written = Vec::new();
        interest.touched.retain(|key| {
            if !keys.contains(key) {
                return true;
            }
            if !written.contains(key) {
                written.push(key.clone());
            }
            false
        });
        written
    }

    /// The db is being emptied: every key of interest that exists now is touched.
    pub(crate) fn note_flush(&mut self) {
        let Some(interest) = self.interest.as_ref() else {
            return;
        };
        let present: Vec<Bytes> = interest
            .keys
            .iter()
            .filter(|key| self.find(key).is_some())
            .cloned()
            .collect();
        if let Some(interest) = self.interest.as_mut() {
            interest.touched.extend(present);
        }
    }
}
