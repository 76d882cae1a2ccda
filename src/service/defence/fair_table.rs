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

use std::collections::{BTreeSet, BinaryHeap};

use crate::service::keyed_hash::KeyedMap;
pub(crate) use crate::service::store::{HolderKey, IdKey};

/// The most watermarks kept per table before they are folded into one
/// table-wide watermark (the coarser key: then every unknown id expiring
/// before it counts as used).
const MAX_WATERMARKS: usize = 4096;

/// How many stale entries the size heap may hold beyond two a holder
/// before it is rebuilt.
const STALE_SLACK: usize = 1024;

/// One holder's entries, (expires_at, id), first to expire first. Most
/// holders (a client network, a business) hold one entry at a time, so
/// that one is kept inline: no tree is allocated for it.
#[derive(Debug)]
enum Held {
    One((u64, IdKey)),
    Many(BTreeSet<(u64, IdKey)>),
}

impl Held {
    fn len(&self) -> usize {
        match self {
            Held::One(_) => 1,
            Held::Many(set) => set.len(),
        }
    }

    fn first(&self) -> Option<&(u64, IdKey)> {
        match self {
            Held::One(one) => Some(one),
            Held::Many(set) => set.first(),
        }
    }

    fn insert(&mut self, item: (u64, IdKey)) {
        match self {
            Held::One(one) if *one == item => {}
            Held::One(one) => {
                *self = Held::Many(BTreeSet::from([*one, item]));
            }
            Held::Many(set) => {
                set.insert(item);
            }
        }
    }

    /// Removes `item`; returns whether none is left. (A `Many` is not
    /// turned back into a `One`: it stays until its holder holds nothing.)
    fn remove(&mut self, item: &(u64, IdKey)) -> bool {
        match self {
            Held::One(one) => one == item,
            Held::Many(set) => {
                set.remove(item);
                set.is_empty()
            }
        }
    }
}

/// The entries of one table, by holder, with the watermarks of holders
/// that lost entries.
#[derive(Debug, Default)]
pub(crate) struct FairShare {
    /// Holder -> its entries, (expires_at, id), first to expire first.
    holders: KeyedMap<HolderKey, Held>,
    /// (entry count, holder), to find the heaviest holder: a lazy
    /// max-heap. A holder is pushed each time it grows to two entries or
    /// more; nothing is done when it shrinks, so its entries may be stale
    /// (too large, or of a holder gone), and [`FairShare::victim`] drops
    /// those it meets on top. So every holder of `n >= 2` entries has an
    /// entry of at least `n`, and a top entry that is not stale is a
    /// heaviest. Holders of one entry (most: a client network holds one
    /// session, one ticket) are not in it: when the heap is empty any of
    /// them is a heaviest. Requests then pay a push for a growing holder
    /// instead of keeping an ordered set of every holder exact.
    by_size: BinaryHeap<(usize, HolderKey)>,
    /// Holder -> the latest expiry among its dropped entries.
    watermarks: KeyedMap<HolderKey, u64>,
    /// The table-wide watermark, once per-holder ones overflowed.
    overflow: u64,
}

impl FairShare {
    /// Notes that `holder` grew to `size` entries (a holder of one is not
    /// ordered). The stale entries are dropped all at once when they
    /// outnumber the holders, so the heap stays within a few entries a
    /// holder.
    fn grew(&mut self, holder: HolderKey, size: usize) {
        if size < 2 {
            return;
        }
        self.by_size.push((size, holder));
        if self.by_size.len() > 2 * self.holders.len() + STALE_SLACK {
            self.by_size = self
                .holders
                .iter()
                .filter(|(_, held)| held.len() > 1)
                .map(|(name, held)| (held.len(), *name))
                .collect();
        }
    }

    /// Notes a new entry `id` of `holder`, expiring at `expires_at`.
    pub(crate) fn add(&mut self, holder: HolderKey, id: IdKey, expires_at: u64) {
        let item = (expires_at, id);
        let n = match self.holders.get_mut(&holder) {
            Some(held) => {
                held.insert(item);
                held.len()
            }
            None => {
                self.holders.insert(holder, Held::One(item));
                1
            }
        };
        self.grew(holder, n);
    }

    /// Forgets every holder's entries (their table stops following them),
    /// keeping the watermarks: ids already dropped stay used.
    pub(crate) fn forget_holders(&mut self) {
        self.holders = KeyedMap::default();
        self.by_size = BinaryHeap::new();
    }

    /// Notes that entry `id` of `holder` is gone.
    pub(crate) fn remove(&mut self, holder: HolderKey, id: IdKey, expires_at: u64) {
        let Some(held) = self.holders.get_mut(&holder) else {
            return;
        };
        if held.remove(&(expires_at, id)) {
            self.holders.remove(&holder);
        }
    }

    /// Notes that entry `id` of `holder` now expires at `new`.
    pub(crate) fn reschedule(&mut self, holder: HolderKey, id: IdKey, old: u64, new: u64) {
        if let Some(held) = self.holders.get_mut(&holder) {
            match held {
                Held::One(one) if one.1 == id => one.0 = new,
                Held::One(_) => {}
                Held::Many(set) => {
                    set.remove(&(old, id));
                    set.insert((new, id));
                }
            }
        }
    }

    /// The entry to drop when the table is full: (holder, id, expiry) of
    /// the heaviest holder's entry that expires first. The caller removes
    /// it from its table, then calls [`FairShare::dropped`].
    pub(crate) fn victim(&mut self) -> Option<(HolderKey, IdKey, u64)> {
        while let Some(&(size, top)) = self.by_size.peek() {
            let now = self.holders.get(&top).map_or(0, Held::len);
            if now == size {
                return self.first_of(top);
            }
            // Stale: the holder shrank (or is gone) since it was pushed.
            self.by_size.pop();
            if now > 1 {
                self.by_size.push((now, top));
            }
        }
        // Nobody holds more than one: any holder is a heaviest.
        let name = *self.holders.keys().next()?;
        self.first_of(name)
    }

    /// `holder` and its entry that expires first.
    fn first_of(&self, holder: HolderKey) -> Option<(HolderKey, IdKey, u64)> {
        let &(expires_at, id) = self.holders.get(&holder)?.first()?;
        Some((holder, id, expires_at))
    }

    /// Raises `holder`'s watermark after its entry expiring at
    /// `expires_at` was dropped. Watermarks already passed by `now` are
    /// forgotten (their ids have expired anyway); if too many remain, they
    /// fold into the table-wide one.
    pub(crate) fn dropped(&mut self, holder: HolderKey, expires_at: u64, now: u64) {
        let mark = self.watermarks.entry(holder).or_insert(0);
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
    pub(crate) fn maybe_dropped(&self, holder: HolderKey, expires_at: u64) -> bool {
        expires_at <= self.overflow
            || self
                .watermarks
                .get(&holder)
                .is_some_and(|m| expires_at <= *m)
    }

    /// How many entries `holder` has.
    #[cfg(test)]
    pub(crate) fn count(&self, holder: HolderKey) -> usize {
        self.holders.get(&holder).map_or(0, Held::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Holders and ids by number (the store passes keyed fingerprints).
    const BOT: HolderKey = 1;
    const PERSON: HolderKey = 2;

    #[test]
    fn the_heaviest_holder_loses_its_first_to_expire() {
        let mut f = FairShare::default();
        for i in 0..5 {
            f.add(BOT, 100 + u128::from(i), 100 + i);
        }
        f.add(PERSON, 7, 50);
        let (holder, id, exp) = f.victim().unwrap();
        assert_eq!((holder, id, exp), (BOT, 100, 100));
        f.remove(holder, id, exp);
        f.dropped(holder, exp, 10);
        assert_eq!(f.count(BOT), 4);
        // The bot's old ids count as used, its newer ones do not; the
        // person's are untouched.
        assert!(f.maybe_dropped(BOT, 100));
        assert!(f.maybe_dropped(BOT, 99));
        assert!(!f.maybe_dropped(BOT, 101));
        assert!(!f.maybe_dropped(PERSON, 10));
    }

    #[test]
    fn counts_follow_removals_and_reschedules() {
        let (a, b) = (10, 11);
        let mut f = FairShare::default();
        f.add(a, 1, 10);
        f.add(a, 2, 20);
        f.add(b, 3, 5);
        f.reschedule(a, 1, 10, 30);
        assert_eq!(f.victim().map(|v| v.2), Some(20));
        // Another id, or the right id with another expiry: nothing removed.
        f.remove(a, 9, 20);
        f.remove(a, 2, 21);
        assert_eq!(f.count(a), 2);
        f.remove(a, 2, 20);
        f.remove(a, 1, 30);
        assert_eq!(f.count(a), 0);
        assert_eq!(f.victim().map(|v| (v.0, v.2)), Some((b, 5)));
    }

    #[test]
    fn when_nobody_holds_two_any_single_holder_gives_way() {
        let mut f = FairShare::default();
        for i in 0..3u64 {
            f.add(i, 100 + u128::from(i), 10 + i);
        }
        assert!(f.by_size.is_empty());
        let (holder, id, exp) = f.victim().unwrap();
        assert_eq!(id, 100 + u128::from(holder));
        assert_eq!(exp, 10 + holder);
        // A holder that gains a second entry is the heaviest at once.
        f.add(1, 200, 50);
        assert_eq!(f.victim().map(|v| v.0), Some(1));
        f.remove(1, 999, 1);
        assert_eq!(f.count(1), 2);
    }

    #[test]
    fn a_holder_that_shrank_is_not_taken_for_the_heaviest() {
        let (big, two) = (1, 2);
        let mut f = FairShare::default();
        for i in 0..3u64 {
            f.add(big, u128::from(i), 10 + i);
        }
        f.add(two, 50, 5);
        f.add(two, 51, 6);
        f.remove(big, 0, 10);
        f.remove(big, 1, 11);
        // `big` holds one now, `two` two: `two` gives way.
        assert_eq!(f.victim().map(|v| (v.0, v.2)), Some((two, 5)));
        // Back at two entries each: either is a heaviest, and both stay ordered.
        f.add(big, 3, 20);
        assert!(f.victim().is_some_and(|v| [5, 12].contains(&v.2)));
    }

    #[test]
    fn stale_sizes_do_not_pile_up() {
        let churn = 7;
        let mut f = FairShare::default();
        for round in 0..5_000u64 {
            let (a, b) = (u128::from(round) * 2, u128::from(round) * 2 + 1);
            f.add(churn, a, round);
            f.add(churn, b, round);
            f.remove(churn, a, round);
            f.remove(churn, b, round);
        }
        assert!(
            f.by_size.len() <= 2 + STALE_SLACK + 1,
            "{}",
            f.by_size.len()
        );
    }

    #[test]
    fn too_many_watermarks_fold_into_one() {
        let someone_else = u64::MAX;
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            f.dropped(i, 1_000 + i, 10);
        }
        // Folded: every holder's ids up to the highest mark count as used.
        assert!(f.maybe_dropped(someone_else, 1_000));
        assert!(!f.maybe_dropped(someone_else, 2_000 + MAX_WATERMARKS as u64));
        // Passed marks are forgotten instead when they can be.
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            f.dropped(i, 5, 10);
        }
        assert!(!f.maybe_dropped(1, 5));
    }
}
