//! [`MemoryStore`]: the in-process replay store, for one process.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::{check_id, ReplayStore, StoreError, UseRecord};

/// Default capacity of [`MemoryStore::default`]: one million entries (a
/// few hundred bytes each, so at most a few hundred MiB in the worst case).
pub const DEFAULT_MEMORY_CAPACITY: usize = 1_000_000;

#[derive(Debug)]
struct Entry {
    uses: u64,
    expires_at: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// (expires_at, id) of every entry, to drop expired ones in order.
    by_expiry: BTreeSet<(u64, String)>,
}

impl Inner {
    fn purge_expired(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, id)) = self.by_expiry.pop_first() {
                self.entries.remove(&id);
            }
        }
    }
}

/// A thread-safe, bounded, in-process [`ReplayStore`].
///
/// Behaviour:
/// - It holds at most `capacity` entries. An entry lives until its
///   `expires_at` has passed (`expires_at <= now`), then it is removed the
///   next time the store is used (in expiry order, so each call does only
///   the work of the entries that have expired).
/// - It never forgets a live entry: when all `capacity` entries are live, a
///   use of a *new* id fails with [`StoreError::Full`] (the service then
///   refuses the request), while uses of ids it already holds still count.
/// - It is shared by the threads of one process only. Several processes or
///   machines behind a load balancer need one shared store (such as
///   `RedisStore`, cargo feature `redis`), or else an id could be used once
///   per process.
///
/// ```
/// use qcaptcha::{MemoryStore, ReplayStore};
/// let store = MemoryStore::new(2);
/// assert!(store.record_use("a", 100, 1, 0)?.allowed);
/// assert!(!store.record_use("a", 100, 1, 0)?.allowed); // second use
/// store.record_use("b", 50, 1, 0)?;
/// assert!(store.record_use("c", 100, 1, 0).is_err()); // full of live ids
/// assert!(store.record_use("c", 100, 1, 50)?.allowed); // "b" expired at 50
/// # Ok::<(), qcaptcha::store::StoreError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// A store that holds at most `capacity` live entries (at least 1).
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The most entries this store holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of entries held now, expired ones not yet removed
    /// included.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_MEMORY_CAPACITY)
    }
}

impl ReplayStore for MemoryStore {
    fn record_use(
        &self,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        check_id(id)?;
        // A poisoned lock means a thread panicked while holding it; the data
        // may be inconsistent, so fail closed.
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))?;
        inner.purge_expired(now);
        let inner = &mut *inner;
        let uses = match inner.entries.get_mut(id) {
            Some(entry) => {
                entry.uses = entry.uses.saturating_add(1);
                if expires_at > entry.expires_at {
                    inner.by_expiry.remove(&(entry.expires_at, id.to_owned()));
                    inner.by_expiry.insert((expires_at, id.to_owned()));
                    entry.expires_at = expires_at;
                }
                entry.uses
            }
            None => {
                if expires_at <= now {
                    // Already expired: nothing to remember; the caller has
                    // checked expiry itself. Count it as a first use.
                    1
                } else {
                    if inner.entries.len() >= self.capacity {
                        return Err(StoreError::Full {
                            capacity: self.capacity,
                        });
                    }
                    inner.entries.insert(
                        id.to_owned(),
                        Entry {
                            uses: 1,
                            expires_at,
                        },
                    );
                    inner.by_expiry.insert((expires_at, id.to_owned()));
                    1
                }
            }
        };
        Ok(UseRecord {
            uses,
            allowed: uses <= max_uses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::MAX_ID_LEN;
    use std::sync::Arc;

    #[test]
    fn counts_uses_until_expiry() {
        let s = MemoryStore::new(10);
        let r = s.record_use("x", 100, 2, 10).unwrap();
        assert_eq!((r.uses, r.allowed), (1, true));
        let r = s.record_use("x", 100, 2, 20).unwrap();
        assert_eq!((r.uses, r.allowed), (2, true));
        let r = s.record_use("x", 100, 2, 99).unwrap();
        assert_eq!((r.uses, r.allowed), (3, false));
        assert_eq!(s.len(), 1);
        // At expiry the entry goes away.
        let r = s.record_use("y", 200, 1, 100).unwrap();
        assert!(r.allowed);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn full_store_refuses_new_ids_but_keeps_counting_known_ones() {
        let s = MemoryStore::new(3);
        for id in ["a", "b", "c"] {
            assert!(s.record_use(id, 1000, 1, 0).unwrap().allowed);
        }
        assert_eq!(
            s.record_use("d", 1000, 1, 0),
            Err(StoreError::Full { capacity: 3 })
        );
        // A live entry is never evicted: "a" is still known as used.
        assert!(!s.record_use("a", 1000, 1, 999).unwrap().allowed);
        assert_eq!(s.len(), 3);
        // Once they expire there is room again.
        assert!(s.record_use("d", 2000, 1, 1000).unwrap().allowed);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn later_expiry_is_kept() {
        let s = MemoryStore::new(4);
        s.record_use("a", 10, 1, 0).unwrap();
        s.record_use("a", 50, 1, 0).unwrap();
        // Still live at 20 because the later expiry won.
        assert_eq!(s.record_use("a", 10, 1, 20).unwrap().uses, 3);
        assert_eq!(s.record_use("a", 10, 1, 50).unwrap().uses, 1);
    }

    #[test]
    fn rejects_bad_ids() {
        let s = MemoryStore::new(4);
        assert!(matches!(
            s.record_use("", 10, 1, 0),
            Err(StoreError::InvalidId { len: 0 })
        ));
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(s.record_use(&long, 10, 1, 0).is_err());
    }

    #[test]
    fn concurrent_uses_are_counted_once_each() {
        let s = Arc::new(MemoryStore::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || s.record_use("t", 100, 1, 0).unwrap().uses)
            })
            .collect();
        let mut seen: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=16).collect::<Vec<_>>());
    }
}
