//! [`Records`]: a replay table's entries by id, each slot keeping its
//! hash.
//!
//! A replay table churns: every request adds an id and an old one expires.
//! A hash table that churns fills with tombstones and rehashes in place
//! every so often, hashing every key again; with `Arc<str>` keys that read
//! every id (a cache miss each), about a fifth of the store's cost per
//! record. Here each slot keeps its hash, so a rehash reads only the
//! slots; and an id that expires is found by its `Arc` (the one the
//! expiry order holds), compared by address before its text is read.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::service::keyed_hash::KeyedState;

/// One record: its id, the id's hash, its value.
#[derive(Debug)]
struct Slot<V> {
    hash: u64,
    id: Arc<str>,
    value: V,
}

/// Values by id (an interned `Arc<str>`), hashed with the keyed hasher.
#[derive(Debug)]
pub(crate) struct Records<V> {
    table: HashTable<Slot<V>>,
    state: KeyedState,
}

impl<V> Default for Records<V> {
    fn default() -> Self {
        Records {
            table: HashTable::new(),
            state: KeyedState::default(),
        }
    }
}

/// Whether `slot` is the record of `id`: the same `Arc` (no read of
/// the text), or else the same text.
fn is(slot_id: &Arc<str>, id: &Arc<str>) -> bool {
    Arc::ptr_eq(slot_id, id) || **slot_id == **id
}

impl<V> Records<V> {
    fn hash(&self, id: &str) -> u64 {
        self.state.hash_one(id)
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The value of `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        self.table
            .find(self.hash(id), |s| &*s.id == id)
            .map(|s| &s.value)
    }

    /// The interned id of a known `id`.
    pub(crate) fn key_of(&self, id: &str) -> Option<Arc<str>> {
        self.table
            .find(self.hash(id), |s| &*s.id == id)
            .map(|s| Arc::clone(&s.id))
    }

    /// The value of `id`, found by the table's own `Arc` (or its text).
    pub(crate) fn get_mut(&mut self, id: &Arc<str>) -> Option<&mut V> {
        let hash = self.hash(id);
        self.table
            .find_mut(hash, |s| is(&s.id, id))
            .map(|s| &mut s.value)
    }

    /// Adds the record of a new `id` (the caller checked it is unknown).
    pub(crate) fn insert_new(&mut self, id: Arc<str>, value: V) {
        let hash = self.hash(&id);
        self.table
            .insert_unique(hash, Slot { hash, id, value }, |s| s.hash);
    }

    /// Removes the record of `id` if `done` says so of its value (which
    /// it may update when it says no), in one look-up; returns the
    /// removed record's interned id and value.
    pub(crate) fn remove_if(
        &mut self,
        id: &Arc<str>,
        done: impl FnOnce(&mut V) -> bool,
    ) -> Option<(Arc<str>, V)> {
        let hash = self.hash(id);
        let mut entry = self.table.find_entry(hash, |s| is(&s.id, id)).ok()?;
        if !done(&mut entry.get_mut().value) {
            return None;
        }
        let (slot, _) = entry.remove();
        Some((slot.id, slot.value))
    }

    /// Removes the record of `id`; returns its interned id and value.
    pub(crate) fn remove(&mut self, id: &Arc<str>) -> Option<(Arc<str>, V)> {
        let hash = self.hash(id);
        let entry = self.table.find_entry(hash, |s| is(&s.id, id)).ok()?;
        let (slot, _) = entry.remove();
        Some((slot.id, slot.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_text_and_by_their_arc() {
        let mut r: Records<u32> = Records::default();
        let ids: Vec<Arc<str>> = (0..1000).map(|i| Arc::from(format!("id{i}"))).collect();
        for (i, id) in ids.iter().enumerate() {
            r.insert_new(Arc::clone(id), i as u32);
        }
        assert_eq!(r.len(), 1000);
        assert_eq!(r.get("id7"), Some(&7));
        assert!(Arc::ptr_eq(&r.key_of("id7").unwrap(), &ids[7]));
        // Another Arc of the same text finds it too.
        *r.get_mut(&Arc::from("id8")).unwrap() += 100;
        assert_eq!(r.get("id8"), Some(&108));
        // Churn: remove and add many, as a replay table does.
        for (i, id) in ids.iter().enumerate().take(900) {
            assert_eq!(
                r.remove(id).map(|(_, v)| v),
                Some(i as u32 + if i == 8 { 100 } else { 0 })
            );
            r.insert_new(Arc::from(format!("new{i}")), i as u32);
        }
        assert_eq!(r.len(), 1000);
        assert_eq!(r.get("id5"), None);
        assert_eq!(r.get("id950"), Some(&950));
        assert_eq!(r.get("new899"), Some(&899));
        assert!(r.remove(&Arc::from("id5")).is_none());
        // Removed only when the value says so; updated when not.
        let kept = r.key_of("id950").unwrap();
        assert!(r
            .remove_if(&kept, |v| {
                *v += 1;
                false
            })
            .is_none());
        assert_eq!(r.get("id950"), Some(&951));
        assert_eq!(r.remove_if(&kept, |v| *v == 951).map(|(_, v)| v), Some(951));
        assert_eq!(r.get("id950"), None);
    }
}
