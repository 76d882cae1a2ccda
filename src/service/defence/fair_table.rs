//! [`FairShare`]: who holds the entries of a bounded table, so that a full
//! table takes room from its heaviest holder instead of refusing a
//! newcomer, without ever forgetting a used id.
//!
//! A replay table may not simply drop a live entry: the id it remembers
//! would become usable again. So when the heaviest holder loses its entry
//! that expires first, the table raises that holder's *watermark* to the
//! entry's expiry: from then on an id of that holder which the table does
//! not know, and which expires no later than the watermark, counts as
//! used (it may be one that was dropped). Ids that expire later are
//! newer than anything dropped, so they are answered exactly. A holder
//! that pushes others out thus pays with its own oldest ids (its business
//! server must sign with fresh Timestamps, its widgets must be recent),
//! and everybody else keeps their exact answers.
//!
//! The service names holders by business (or SecretId) and client
//! network, so one flooding network loses its own oldest entries first.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// An interned id or holder name, ordered by its address. A table hands
/// one `Arc` of each live name around (its key, or the interned holder),
/// so the address names it as well as the text does, and the ordered
/// sets compare two integers instead of reading two strings (their ids
/// share long prefixes, and many tie on size or expiry).
#[derive(Debug, Clone)]
pub(crate) struct ByAddr(pub(crate) Arc<str>);

impl ByAddr {
    fn addr(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<u8>() as usize
    }
}

impl PartialEq for ByAddr {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ByAddr {}

impl PartialOrd for ByAddr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByAddr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.addr().cmp(&other.addr())
    }
}

/// The most watermarks kept per table before they are folded into one
/// table-wide watermark (the coarser key: then every unknown id expiring
/// before it counts as used).
const MAX_WATERMARKS: usize = 4096;

/// The entries of one table, by holder, with the watermarks of holders
/// that lost entries.
#[derive(Debug, Default)]
pub(crate) struct FairShare {
    /// Holder -> its entries, (expires_at, id), first to expire first.
    holders: HashMap<Arc<str>, BTreeSet<(u64, ByAddr)>>,
    /// (entry count, holder), to find the heaviest holder.
    by_size: BTreeSet<(usize, ByAddr)>,
    /// Holder -> the latest expiry among its dropped entries.
    watermarks: HashMap<Arc<str>, u64>,
    /// The table-wide watermark, once per-holder ones overflowed.
    overflow: u64,
}

impl FairShare {
    /// The interned name of `holder` (the same `Arc` for every entry, as
    /// long as it holds any).
    pub(crate) fn intern(&self, holder: &str) -> Arc<str> {
        self.holders
            .get_key_value(holder)
            .map(|(k, _)| Arc::clone(k))
            .unwrap_or_else(|| Arc::from(holder))
    }

    fn resize(&mut self, holder: &Arc<str>, old: usize, new: usize) {
        if old > 0 {
            self.by_size.remove(&(old, ByAddr(Arc::clone(holder))));
        }
        if new > 0 {
            self.by_size.insert((new, ByAddr(Arc::clone(holder))));
        }
    }

    /// Notes a new entry `id` of `holder` (interned), expiring at
    /// `expires_at`; `id` is the `Arc` the table keeps.
    pub(crate) fn add(&mut self, holder: &Arc<str>, id: &Arc<str>, expires_at: u64) {
        let set = self.holders.entry(Arc::clone(holder)).or_default();
        set.insert((expires_at, ByAddr(Arc::clone(id))));
        let n = set.len();
        self.resize(holder, n - 1, n);
    }

    /// Notes that entry `id` (the `Arc` given to [`FairShare::add`]) of
    /// `holder` is gone.
    pub(crate) fn remove(&mut self, holder: &Arc<str>, id: &Arc<str>, expires_at: u64) {
        let Some(set) = self.holders.get_mut(holder) else {
            return;
        };
        let before = set.len();
        set.remove(&(expires_at, ByAddr(Arc::clone(id))));
        let after = set.len();
        if after == 0 {
            self.holders.remove(holder);
        }
        self.resize(holder, before, after);
    }

    /// Notes that entry `id` of `holder` now expires at `new`.
    pub(crate) fn reschedule(&mut self, holder: &Arc<str>, id: &Arc<str>, old: u64, new: u64) {
        if let Some(set) = self.holders.get_mut(holder) {
            set.remove(&(old, ByAddr(Arc::clone(id))));
            set.insert((new, ByAddr(Arc::clone(id))));
        }
    }

    /// The entry to drop when the table is full: the one of the heaviest
    /// holder that expires first. The caller removes it from its table,
    /// then calls [`FairShare::dropped`].
    pub(crate) fn victim(&self) -> Option<(Arc<str>, Arc<str>, u64)> {
        let (_, holder) = self.by_size.last()?;
        let (expires_at, id) = self.holders.get(&holder.0)?.first()?;
        Some((Arc::clone(&holder.0), Arc::clone(&id.0), *expires_at))
    }

    /// Raises `holder`'s watermark after its entry expiring at
    /// `expires_at` was dropped. Watermarks already passed by `now` are
    /// forgotten (their ids have expired anyway); if too many remain, they
    /// fold into the table-wide one.
    pub(crate) fn dropped(&mut self, holder: &Arc<str>, expires_at: u64, now: u64) {
        let mark = self.watermarks.entry(Arc::clone(holder)).or_insert(0);
        *mark = (*mark).max(expires_at);
        if self.watermarks.len() > MAX_WATERMARKS {
            self.watermarks.retain(|_, m| *m > now);
        }
        if self.watermarks.len() > MAX_WATERMARKS {
            let top = self.watermarks.values().copied().max().unwrap_or(0);
            self.overflow = self.overflow.max(top);
            self.watermarks.clear();
        }
    }

    /// Whether an id of `holder` that the table does not know, expiring at
    /// `expires_at`, may be one that was dropped (then it counts as used).
    pub(crate) fn maybe_dropped(&self, holder: &str, expires_at: u64) -> bool {
        expires_at <= self.overflow
            || self
                .watermarks
                .get(holder)
                .is_some_and(|m| expires_at <= *m)
    }

    /// How many entries `holder` has.
    #[cfg(test)]
    pub(crate) fn count(&self, holder: &str) -> usize {
        self.holders.get(holder).map_or(0, BTreeSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(f: &mut FairShare, holder: &str, id: &str, exp: u64) -> Arc<str> {
        let (h, id) = (f.intern(holder), Arc::from(id));
        f.add(&h, &id, exp);
        id
    }

    #[test]
    fn the_heaviest_holder_loses_its_first_to_expire() {
        let mut f = FairShare::default();
        for i in 0..5 {
            add(&mut f, "bot", &format!("b{i}"), 100 + i);
        }
        add(&mut f, "person", "p0", 50);
        let (holder, id, exp) = f.victim().unwrap();
        assert_eq!((&*holder, &*id, exp), ("bot", "b0", 100));
        f.remove(&holder, &id, exp);
        f.dropped(&holder, exp, 10);
        assert_eq!(f.count("bot"), 4);
        // The bot's old ids count as used, its newer ones do not; the
        // person's are untouched.
        assert!(f.maybe_dropped("bot", 100));
        assert!(f.maybe_dropped("bot", 99));
        assert!(!f.maybe_dropped("bot", 101));
        assert!(!f.maybe_dropped("person", 10));
    }

    #[test]
    fn counts_follow_removals_and_reschedules() {
        let mut f = FairShare::default();
        let x = add(&mut f, "a", "x", 10);
        let y = add(&mut f, "a", "y", 20);
        add(&mut f, "b", "z", 5);
        let a = f.intern("a");
        f.reschedule(&a, &x, 10, 30);
        assert_eq!(f.victim().map(|v| v.2), Some(20));
        // Another Arc of the same text is another id: nothing removed.
        f.remove(&a, &Arc::from("y"), 20);
        assert_eq!(f.count("a"), 2);
        f.remove(&a, &y, 20);
        f.remove(&a, &x, 30);
        assert_eq!(f.count("a"), 0);
        assert_eq!(
            f.victim().map(|v| (v.0.to_string(), v.2)),
            Some(("b".into(), 5))
        );
    }

    #[test]
    fn too_many_watermarks_fold_into_one() {
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            let h = f.intern(&format!("h{i}"));
            f.dropped(&h, 1_000 + i, 10);
        }
        // Folded: every holder's ids up to the highest mark count as used.
        assert!(f.maybe_dropped("someone-else", 1_000));
        assert!(!f.maybe_dropped("someone-else", 2_000 + MAX_WATERMARKS as u64));
        // Passed marks are forgotten instead when they can be.
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            let h = f.intern(&format!("h{i}"));
            f.dropped(&h, 5, 10);
        }
        assert!(!f.maybe_dropped("h1", 5));
    }
}
