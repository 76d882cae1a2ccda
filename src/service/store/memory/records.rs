//! [`Records`]: a replay table's entries by id key.
//!
//! A replay table churns: every request adds an id and an old one expires.
//! Its ids are kept as [`IdKey`]s (a keyed 128-bit fingerprint of the
//! text, see `fingerprint.rs`), so a slot is a few words, the key is its
//! own hash, and neither a rehash nor an expiry reads any text.

use hashbrown::HashTable;

use super::fingerprint::IdKey;

/// One record: its id's key, its value.
#[derive(Debug)]
struct Slot<V> {
    key: IdKey,
    value: V,
}

/// The table hash of a key: its low 64 bits (the key is already a keyed
/// pseudo-random value).
fn hash(key: IdKey) -> u64 {
    key as u64
}

/// Values by id key.
#[derive(Debug)]
pub(crate) struct Records<V> {
    table: HashTable<Slot<V>>,
}

impl<V> Default for Records<V> {
    fn default() -> Self {
        Records {
            table: HashTable::new(),
        }
    }
}

impl<V> Records<V> {
    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: IdKey) -> Option<&V> {
        self.table
            .find(hash(key), |s| s.key == key)
            .map(|s| &s.value)
    }

    /// The value of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: IdKey) -> Option<&mut V> {
        self.table
            .find_mut(hash(key), |s| s.key == key)
            .map(|s| &mut s.value)
    }

    /// Adds the record of a new `key` (the caller checked it is unknown).
    pub(crate) fn insert_new(&mut self, key: IdKey, value: V) {
        self.table
            .insert_unique(hash(key), Slot { key, value }, |s| hash(s.key));
    }

    /// Removes the record of `key` if `done` says so of its value (which
    /// it may update when it says no), in one look-up; returns the removed
    /// value.
    pub(crate) fn remove_if(&mut self, key: IdKey, done: impl FnOnce(&mut V) -> bool) -> Option<V> {
        let mut entry = self.table.find_entry(hash(key), |s| s.key == key).ok()?;
        if !done(&mut entry.get_mut().value) {
            return None;
        }
        Some(entry.remove().0.value)
    }

    /// Every record, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IdKey, &V)> {
        self.table.iter().map(|s| (s.key, &s.value))
    }

    /// Removes the record of `key`; returns its value.
    pub(crate) fn remove(&mut self, key: IdKey) -> Option<V> {
        let entry = self.table.find_entry(hash(key), |s| s.key == key).ok()?;
        Some(entry.remove().0.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_churn_and_are_found_by_key() {
        let mut r: Records<u32> = Records::default();
        // Keys whose low halves collide still are different records.
        let key = |i: u128| (i << 64) | (i % 7);
        for i in 0..1000 {
            r.insert_new(key(i), i as u32);
        }
        assert_eq!(r.len(), 1000);
        assert_eq!(r.get(key(7)), Some(&7));
        *r.get_mut(key(8)).unwrap() += 100;
        assert_eq!(r.get(key(8)), Some(&108));
        // Churn: remove and add many, as a replay table does.
        for i in 0..900 {
            assert_eq!(
                r.remove(key(i)),
                Some(i as u32 + if i == 8 { 100 } else { 0 })
            );
            r.insert_new(key(5_000 + i), i as u32);
        }
        assert_eq!(r.len(), 1000);
        assert_eq!(r.get(key(5)), None);
        assert_eq!(r.get(key(950)), Some(&950));
        assert_eq!(r.get(key(5_899)), Some(&899));
        assert!(r.remove(key(5)).is_none());
        // Removed only when the value says so; updated when not.
        assert!(r
            .remove_if(key(950), |v| {
                *v += 1;
                false
            })
            .is_none());
        assert_eq!(r.get(key(950)), Some(&951));
        assert_eq!(r.remove_if(key(950), |v| *v == 951), Some(951));
        assert_eq!(r.get(key(950)), None);
    }
}
