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
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;

use crate::service::keyed_hash::KeyedMap;

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

/// How many stale entries the size heap may hold beyond two a holder
/// before it is rebuilt.
const STALE_SLACK: usize = 1024;

/// One holder's entries, (expires_at, id), first to expire first. Most
/// holders (a client network, a business) hold one entry at a time, so
/// that one is kept inline: no tree is allocated for it.
#[derive(Debug)]
enum Held {
    One((u64, ByAddr)),
    Many(BTreeSet<(u64, ByAddr)>),
}

impl Held {
    fn len(&self) -> usize {
        match self {
            Held::One(_) => 1,
            Held::Many(set) => set.len(),
        }
    }

    fn first(&self) -> Option<&(u64, ByAddr)> {
        match self {
            Held::One(one) => Some(one),
            Held::Many(set) => set.first(),
        }
    }

    fn insert(&mut self, item: (u64, ByAddr)) {
        match self {
            Held::One(one) if *one == item => {}
            Held::One(one) => {
                let first = one.clone();
                *self = Held::Many(BTreeSet::from([first, item]));
            }
            Held::Many(set) => {
                set.insert(item);
            }
        }
    }

    /// Removes `item`; returns whether none is left. (A `Many` is not
    /// turned back into a `One`: it stays until its holder holds nothing.)
    fn remove(&mut self, item: &(u64, ByAddr)) -> bool {
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
    /// Holder -> its interned name (the map's key, handed out by
    /// [`FairShare::add`] without a second look-up) and its entries,
    /// (expires_at, id), first to expire first.
    holders: KeyedMap<Arc<str>, (Arc<str>, Held)>,
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
    by_size: BinaryHeap<(usize, ByAddr)>,
    /// Holder -> the latest expiry among its dropped entries.
    watermarks: KeyedMap<Arc<str>, u64>,
    /// The table-wide watermark, once per-holder ones overflowed.
    overflow: u64,
}

impl FairShare {
    /// Notes that `holder` grew to `size` entries (a holder of one is not
    /// ordered). The stale entries are dropped all at once when they
    /// outnumber the holders, so the heap stays within a few entries a
    /// holder.
    fn grew(&mut self, holder: &Arc<str>, size: usize) {
        if size < 2 {
            return;
        }
        self.by_size.push((size, ByAddr(Arc::clone(holder))));
        if self.by_size.len() > 2 * self.holders.len() + STALE_SLACK {
            self.by_size = self
                .holders
                .values()
                .filter(|(_, held)| held.len() > 1)
                .map(|(name, held)| (held.len(), ByAddr(Arc::clone(name))))
                .collect();
        }
    }

    /// Notes a new entry `id` of `holder`, expiring at `expires_at`; `id`
    /// is the `Arc` the table keeps. Returns the interned name of
    /// `holder` (the same `Arc` for every entry, as long as it holds any).
    pub(crate) fn add(&mut self, holder: &str, id: &Arc<str>, expires_at: u64) -> Arc<str> {
        let item = (expires_at, ByAddr(Arc::clone(id)));
        let (name, n) = match self.holders.get_mut(holder) {
            Some((name, held)) => {
                held.insert(item);
                (Arc::clone(name), held.len())
            }
            None => {
                let name: Arc<str> = Arc::from(holder);
                let entry = (Arc::clone(&name), Held::One(item));
                self.holders.insert(Arc::clone(&name), entry);
                (name, 1)
            }
        };
        self.grew(&name, n);
        name
    }

    /// Notes that entry `id` (the `Arc` given to [`FairShare::add`]) of
    /// `holder` is gone.
    pub(crate) fn remove(&mut self, holder: &Arc<str>, id: &Arc<str>, expires_at: u64) {
        let Some((_, held)) = self.holders.get_mut(holder) else {
            return;
        };
        let item = (expires_at, ByAddr(Arc::clone(id)));
        if held.remove(&item) {
            self.holders.remove(holder);
        }
    }

    /// Notes that entry `id` of `holder` now expires at `new`.
    pub(crate) fn reschedule(&mut self, holder: &Arc<str>, id: &Arc<str>, old: u64, new: u64) {
        if let Some((_, held)) = self.holders.get_mut(holder) {
            match held {
                Held::One(one) if Arc::ptr_eq(&one.1 .0, id) => one.0 = new,
                Held::One(_) => {}
                Held::Many(set) => {
                    set.remove(&(old, ByAddr(Arc::clone(id))));
                    set.insert((new, ByAddr(Arc::clone(id))));
                }
            }
        }
    }

    /// The entry to drop when the table is full: the one of the heaviest
    /// holder that expires first. The caller removes it from its table,
    /// then calls [`FairShare::dropped`].
    pub(crate) fn victim(&mut self) -> Option<(Arc<str>, Arc<str>, u64)> {
        while let Some((size, top)) = self.by_size.peek().map(|(n, h)| (*n, Arc::clone(&h.0))) {
            let now = self.holders.get(&top).map_or(0, |(_, held)| held.len());
            if now == size {
                return self.first_of(&top);
            }
            // Stale: the holder shrank (or is gone) since it was pushed.
            self.by_size.pop();
            if now > 1 {
                self.by_size.push((now, ByAddr(top)));
            }
        }
        // Nobody holds more than one: any holder is a heaviest.
        let name = self
            .holders
            .values()
            .next()
            .map(|(name, _)| Arc::clone(name))?;
        self.first_of(&name)
    }

    /// `holder`'s interned name and its entry that expires first.
    fn first_of(&self, holder: &str) -> Option<(Arc<str>, Arc<str>, u64)> {
        let (name, held) = self.holders.get(holder)?;
        let (expires_at, id) = held.first()?;
        Some((Arc::clone(name), Arc::clone(&id.0), *expires_at))
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
        self.holders.get(holder).map_or(0, |(_, held)| held.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The holder's interned name, as the table passes it.
    fn interned(f: &FairShare, holder: &str) -> Arc<str> {
        f.holders.get(holder).map(|(n, _)| Arc::clone(n)).unwrap()
    }

    fn add(f: &mut FairShare, holder: &str, id: &str, exp: u64) -> Arc<str> {
        let id = Arc::from(id);
        f.add(holder, &id, exp);
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
        // The interned name, as the table passes it.
        let a = interned(&f, "a");
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
    fn when_nobody_holds_two_any_single_holder_gives_way() {
        let mut f = FairShare::default();
        for i in 0..3 {
            add(&mut f, &format!("p{i}"), &format!("id{i}"), 10 + i);
        }
        assert!(f.by_size.is_empty());
        let (holder, id, exp) = f.victim().unwrap();
        assert_eq!(id.replace("id", "p"), &*holder);
        assert_eq!(exp, 10 + holder[1..].parse::<u64>().unwrap());
        // A holder that gains a second entry is the heaviest at once.
        add(&mut f, "p1", "second", 50);
        assert_eq!(f.victim().map(|v| v.0.to_string()), Some("p1".into()));
        f.remove(&interned(&f, "p1"), &Arc::from("x"), 1);
        assert_eq!(f.count("p1"), 2);
    }

    #[test]
    fn a_holder_that_shrank_is_not_taken_for_the_heaviest() {
        let mut f = FairShare::default();
        let ids: Vec<_> = (0..3)
            .map(|i| add(&mut f, "was-big", &format!("w{i}"), 10 + i))
            .collect();
        add(&mut f, "two", "t0", 5);
        add(&mut f, "two", "t1", 6);
        let big = interned(&f, "was-big");
        f.remove(&big, &ids[0], 10);
        f.remove(&big, &ids[1], 11);
        // "was-big" holds one now, "two" two: "two" gives way.
        assert_eq!(
            f.victim().map(|v| (v.0.to_string(), v.2)),
            Some(("two".into(), 5))
        );
        // Back at two entries each: either is a heaviest, and both stay ordered.
        add(&mut f, "was-big", "w3", 20);
        assert!(f.victim().is_some_and(|v| [5, 12].contains(&v.2)));
    }

    #[test]
    fn stale_sizes_do_not_pile_up() {
        let mut f = FairShare::default();
        for round in 0..5_000u64 {
            let a = add(&mut f, "churn", &format!("a{round}"), round);
            let b = add(&mut f, "churn", &format!("b{round}"), round);
            let name = interned(&f, "churn");
            f.remove(&name, &a, round);
            f.remove(&name, &b, round);
        }
        assert!(
            f.by_size.len() <= 2 + STALE_SLACK + 1,
            "{}",
            f.by_size.len()
        );
    }

    #[test]
    fn too_many_watermarks_fold_into_one() {
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            let h: Arc<str> = Arc::from(format!("h{i}"));
            f.dropped(&h, 1_000 + i, 10);
        }
        // Folded: every holder's ids up to the highest mark count as used.
        assert!(f.maybe_dropped("someone-else", 1_000));
        assert!(!f.maybe_dropped("someone-else", 2_000 + MAX_WATERMARKS as u64));
        // Passed marks are forgotten instead when they can be.
        let mut f = FairShare::default();
        for i in 0..=MAX_WATERMARKS as u64 {
            let h: Arc<str> = Arc::from(format!("h{i}"));
            f.dropped(&h, 5, 10);
        }
        assert!(!f.maybe_dropped("h1", 5));
    }
}
