//! [`MemoryStore`]: the in-process replay store and rate counters, for one
//! process.

use std::collections::BTreeSet;
#[cfg(feature = "test-util")]
use std::sync::Arc;
use std::sync::Mutex;

use super::{check_id, RateCount, RecordKind, ReplayStore, StoreError, UseRecord};
use crate::service::defence::decaying::DecayTable;
use crate::service::defence::fair_table::FairShare;
use crate::service::keyed_hash::KeyedMap;
use crate::service::short_id::ShortId;
use fingerprint::{Fingerprints, HolderKey, IdKey};
use monotonic::Monotonic;
use records::Records;

pub(crate) mod fingerprint;
mod monotonic;
mod records;

/// Default capacity of each table of [`MemoryStore::default`]: 200,000
/// entries per kind (sessions, tickets, Nonces, rate counters): room for
/// the 180,000 sessions that the default business limit lets live at once.
/// Measured (`memory_per_entry`): 172 bytes an entry for sessions,
/// tickets and Nonces alike (ids are kept as 128-bit keys, whatever their
/// length), 159 for rate counters, so full tables take 34 MB each and
/// 32 MB, about 140 MB in all. Tables grow only as they fill.
pub const DEFAULT_MEMORY_CAPACITY: usize = 200_000;

#[derive(Debug)]
struct Entry {
    uses: u32,
    /// The caller's expiry, Unix seconds.
    expires_at: u64,
    /// The same expiry on the monotonic clock, fixed when the entry is
    /// written: the entry is dropped only once both have passed, so a wall
    /// clock that jumps (forward, then back) cannot make a store forget a
    /// used id while its token is still live.
    deadline: u64,
    /// Whether the monotonic deadline has passed and the entry now waits
    /// for the wall clock (it sits in `waiting`, not in `by_deadline`).
    waiting: bool,
    /// Who holds it (the fair-share key; that of "" when the caller named
    /// none).
    holder: HolderKey,
}

/// One kind's records.
#[derive(Debug, Default)]
struct Table {
    entries: Records<Entry>,
    /// (monotonic deadline, id) of every entry not yet waiting.
    by_deadline: BTreeSet<(u64, IdKey)>,
    /// (expires_at, id) of the entries whose monotonic deadline passed
    /// while the wall clock said they were still live.
    waiting: BTreeSet<(u64, IdKey)>,
    /// The watermarks of holders that lost entries, and (while
    /// `sharing`) the entries by holder.
    fair: FairShare,
    /// Whether `fair` follows every entry by holder. Only a full table
    /// asks who holds most, so a table under half full keeps no such
    /// index: each entry would cost two look-ups in a map of holders as
    /// large as the table (most holders hold one entry), cold in the cache
    /// when the entry expires hours later. It is built from the entries
    /// when the table reaches half its capacity, and dropped below a
    /// quarter (see [`Table::share_from`]).
    sharing: bool,
}

/// The size from which a table of `capacity` keeps its entries by holder,
/// and the size below which it stops: apart, so that a table near one of
/// them does not rebuild its index over and over (each build reads every
/// entry, and filling from a quarter to a half takes a quarter of the
/// capacity in new entries).
fn sharing_bounds(capacity: usize) -> (usize, usize) {
    (capacity / 2, capacity / 4)
}

impl Table {
    /// Drops the entries that are expired by both clocks, in order, so each
    /// call does only the work of the entries that have expired.
    fn purge(&mut self, capacity: usize, now: u64, mono: u64) {
        while let Some(first) = self.by_deadline.first() {
            if first.0 > mono {
                break;
            }
            let Some((_, id)) = self.by_deadline.pop_first() else {
                break;
            };
            // Expired by both clocks: removed in the same look-up that
            // reads it; else it waits for the wall clock.
            let mut wait_until = None;
            let removed = self.entries.remove_if(id, |e| {
                if e.expires_at > now {
                    e.waiting = true;
                    wait_until = Some(e.expires_at);
                }
                wait_until.is_none()
            });
            if let Some(at) = wait_until {
                self.waiting.insert((at, id));
            } else if let Some(e) = removed {
                if self.sharing {
                    self.fair.remove(e.holder, id, e.expires_at);
                }
            }
        }
        while let Some(first) = self.waiting.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, id)) = self.waiting.pop_first() {
                self.forget(id);
            }
        }
        if self.sharing && self.entries.len() < sharing_bounds(capacity).1 {
            self.fair.forget_holders();
            self.sharing = false;
        }
    }

    /// Starts following the entries by holder, from every entry held now
    /// (see [`Table::sharing`]).
    fn share_from(&mut self) {
        for (id, e) in self.entries.iter() {
            self.fair.add(e.holder, id, e.expires_at);
        }
        self.sharing = true;
    }

    /// Removes entry `id` (already out of the expiry orders) and its share.
    fn forget(&mut self, id: IdKey) {
        if let Some(e) = self.entries.remove(id) {
            if self.sharing {
                self.fair.remove(e.holder, id, e.expires_at);
            }
        }
    }

    /// Makes room for one entry: the heaviest holder loses its entry that
    /// expires first, and its older ids count as used from now on.
    fn evict(&mut self, now: u64) -> bool {
        if !self.sharing {
            self.share_from();
        }
        let Some((holder, id, expires_at)) = self.fair.victim() else {
            return false;
        };
        if let Some(e) = self.entries.get(id) {
            if e.waiting {
                self.waiting.remove(&(e.expires_at, id));
            } else {
                self.by_deadline.remove(&(e.deadline, id));
            }
        }
        self.forget(id);
        self.fair.dropped(holder, expires_at, now);
        true
    }

    /// Counts one use of `id` by `holder`, keeping it until both
    /// `expires_at` and `deadline` have passed (the later of the old and
    /// new ones for a known id); returns the use count. A new id that is
    /// already expired is counted as a first use and not kept (the caller
    /// has checked expiry itself); a new id that may have been dropped
    /// counts as used up; when the table is full, the heaviest holder
    /// makes room.
    fn bump(
        &mut self,
        capacity: usize,
        holder: HolderKey,
        id: IdKey,
        expires_at: u64,
        deadline: u64,
        now: u64,
    ) -> u64 {
        if let Some((uses, _)) = self.bump_known(id, expires_at, deadline, None) {
            return uses;
        }
        if expires_at <= now {
            return 1;
        }
        if self.fair.maybe_dropped(holder, expires_at) {
            return u64::MAX;
        }
        while self.entries.len() >= capacity {
            if !self.evict(now) {
                break;
            }
        }
        if !self.sharing && self.entries.len() + 1 >= sharing_bounds(capacity).0 {
            self.share_from();
        }
        if self.sharing {
            self.fair.add(holder, id, expires_at);
        }
        self.entries.insert_new(
            id,
            Entry {
                uses: 1,
                expires_at,
                deadline,
                waiting: false,
                holder,
            },
        );
        self.by_deadline.insert((deadline, id));
        1
    }

    /// One more use of `id` if it is known (`None` if not) and, if `from`
    /// is given, its use count is `from`; its life lengthened on both
    /// clocks if asked (moved back into the deadline order if it was
    /// waiting). Returns the use count and whether it was counted, in one
    /// look-up.
    fn bump_known(
        &mut self,
        id: IdKey,
        expires_at: u64,
        deadline: u64,
        from: Option<u64>,
    ) -> Option<(u64, bool)> {
        let entry = self.entries.get_mut(id)?;
        if from.is_some_and(|from| from != u64::from(entry.uses)) {
            return Some((u64::from(entry.uses), false));
        }
        entry.uses = entry.uses.saturating_add(1);
        if expires_at > entry.expires_at || deadline > entry.deadline {
            if entry.waiting {
                self.waiting.remove(&(entry.expires_at, id));
            } else {
                self.by_deadline.remove(&(entry.deadline, id));
            }
            let old = entry.expires_at;
            entry.expires_at = entry.expires_at.max(expires_at);
            entry.deadline = entry.deadline.max(deadline);
            entry.waiting = false;
            self.by_deadline.insert((entry.deadline, id));
            let (holder, new) = (entry.holder, entry.expires_at);
            let uses = u64::from(entry.uses);
            if self.sharing {
                self.fair.reschedule(holder, id, old, new);
            }
            return Some((uses, true));
        }
        Some((u64::from(entry.uses), true))
    }
}

/// `expires_at` on the monotonic clock, in milliseconds since the store
/// was made: as far from `mono` as it is from `now` (capped at about 136
/// years), plus one for the part of a millisecond `mono` was rounded down.
fn monotonic_deadline(mono: u64, expires_at: u64, now: u64) -> u64 {
    let left = expires_at.saturating_sub(now).min(1 << 32) * 1000;
    mono.saturating_add(left).saturating_add(1)
}

/// One rate counter: hits in window `window` (of `len` seconds) and in
/// the one before.
#[derive(Debug, Clone, Copy)]
struct Counter {
    len: u64,
    window: u64,
    current: u64,
    previous: u64,
    /// When it was made, in the table's own count: of equally calm
    /// counters the oldest goes first, so a flood's earlier counters make
    /// room before a newcomer's.
    born: u64,
}

impl Counter {
    /// Moves the counter to `window` (keeping the last window's hits as
    /// `previous` when it is the one just before) and counts a hit.
    fn hit(&mut self, len: u64, window: u64) -> RateCount {
        if self.len != len || window < self.window || window > self.window + 1 {
            *self = Counter {
                len,
                window,
                current: 0,
                previous: 0,
                born: self.born,
            };
        } else if window == self.window + 1 {
            self.previous = self.current;
            self.current = 0;
            self.window = window;
        }
        self.current = self.current.saturating_add(1);
        RateCount::new(self.current, self.previous)
    }
}

/// Rate counters of fixed windows.
#[derive(Debug, Default)]
struct Rates {
    /// id -> its counts.
    counters: KeyedMap<ShortId, Counter>,
    /// The `now` of the last sweep of stale windows.
    swept_at: Option<u64>,
    /// Counters made so far.
    born: u64,
}

/// How many counters a full rate table looks at to pick the calmest.
const RATE_SAMPLE: usize = 32;

/// How often, in seconds of the caller's clock, a rate table that is not
/// full drops its stale counters anyway: the table then holds about two
/// windows of clients instead of growing until it is full (and a new
/// counter is not slowed by the table growing).
const RATE_SWEEP_SECS: u64 = 60;

impl Rates {
    /// Drops the counters that no longer count (older than the window
    /// before their current one).
    fn sweep(&mut self, now: u64) {
        self.counters
            .retain(|_, c| c.window.saturating_add(1) >= now / c.len);
        self.swept_at = Some(now);
    }

    /// Frees room for one counter: first the counters that no longer count
    /// (older than the window before; at most one sweep per second of the
    /// caller's clock, as it walks the whole table), else the calmest of a
    /// sample. Dropping a counter can only help its client, so the calmest
    /// goes: a client at its limit is the last forgotten, and a new client
    /// is always counted (a full table never lets anybody through
    /// uncounted).
    fn make_room(&mut self, capacity: usize, now: u64) {
        if self.swept_at != Some(now) {
            self.sweep(now);
        }
        if self.counters.len() < capacity {
            return;
        }
        let calmest = self
            .counters
            .iter()
            .take(RATE_SAMPLE)
            .min_by_key(|(_, c)| (c.current.saturating_add(c.previous), c.born))
            .map(|(id, _)| id.clone());
        if let Some(id) = calmest {
            self.counters.remove(id.as_str());
        }
    }
}

/// A thread-safe, bounded, in-process [`ReplayStore`].
///
/// Behaviour:
/// - Each [`RecordKind`] has its own table of at most `capacity` entries,
///   and rate counters have one more: a flood of one kind (wrong answers
///   fill session counters) never takes room from another (a valid ticket
///   can always be recorded while the ticket table has room).
/// - An entry lives until its `expires_at` has passed by the caller's clock
///   **and** as long on the monotonic clock as it had left when it was
///   written; then it is removed the next time its table is used (in
///   expiry order, so each call does only the work of the entries that
///   have expired). So a used ticket never becomes usable again when the
///   wall clock jumps forward and back.
/// - When all `capacity` entries of a kind are live, a new id takes the
///   room of the entry of the **heaviest holder** (the one holding most
///   entries: see [`ReplayStore::record_held_use`]) that expires first, so
///   a flood pushes out its own entries, never a newcomer. It still never
///   lets a dropped id be used again: that holder's unknown ids expiring
///   no later than the dropped one count as used up from then on.
/// - Rate counters ([`count_hit`](ReplayStore::count_hit)) live for their
///   window and the next (where they are the previous window). When the
///   rate table is full, the stale ones go, else the calmest of a sample:
///   a new id is always counted.
/// - Decaying counters ([`decay_add`](ReplayStore::decay_add)) have a
///   table of `capacity` ids too; a full one drops the calmest.
/// - It is shared by the threads of one process only. Several processes or
///   machines behind a load balancer need one shared store (such as
///   `RedisStore`, cargo feature `redis`), or else an id could be used once
///   per process.
///
/// ```
/// use qcaptcha::store::RecordKind::{Nonce, Ticket};
/// use qcaptcha::{MemoryStore, ReplayStore};
/// let store = MemoryStore::new(3);
/// assert!(store.record_held_use(Ticket, "person", "a", 100, 1, 0)?.allowed);
/// assert!(!store.record_held_use(Ticket, "person", "a", 100, 1, 0)?.allowed); // second use
/// store.record_held_use(Ticket, "flood", "b", 50, 1, 0)?;
/// store.record_held_use(Ticket, "flood", "c", 60, 1, 0)?;
/// // Full: the heaviest holder ("flood") lost "b", and "b" stays used.
/// assert!(store.record_held_use(Ticket, "person", "d", 100, 1, 0)?.allowed);
/// assert!(!store.record_held_use(Ticket, "flood", "b", 50, 1, 0)?.allowed);
/// assert!(store.record_use(Nonce, "c", 100, 1, 0)?.allowed); // its own table
/// assert_eq!(store.count_hit("client", 60, 0)?.current, 1);
/// assert_eq!(store.count_hit("client", 60, 59)?.current, 2);
/// let next = store.count_hit("client", 60, 60)?; // a new minute
/// assert_eq!((next.current, next.previous), (1, 2));
/// # Ok::<(), qcaptcha::store::StoreError>(())
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    tables: [Mutex<Table>; 3],
    rates: Mutex<Rates>,
    pressure: Mutex<DecayTable>,
    /// The monotonic clock of the deadlines.
    mono: Monotonic,
    /// The key of the fixed-size keys the tables keep for ids and holders.
    keys: Fingerprints,
}

impl MemoryStore {
    /// A store whose tables (one per [`RecordKind`], one for rate
    /// counters) hold at most `capacity` live entries each (at least 1).
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            capacity: capacity.max(1),
            tables: Default::default(),
            rates: Mutex::new(Rates::default()),
            pressure: Mutex::new(DecayTable::new(capacity)),
            mono: Monotonic::os(),
            keys: Fingerprints::default(),
        }
    }

    /// **For tests and benches that simulate time** (feature
    /// `test-util`): a store whose monotonic guard follows `clock` too
    /// (never going back), so that its records expire as the simulated
    /// time passes, as a server's do as real time passes. With
    /// [`MemoryStore::new`] a bench that simulates hours in seconds sees
    /// no record expire, and its tables grow for the whole run.
    #[cfg(feature = "test-util")]
    pub fn with_manual_clock(
        capacity: usize,
        clock: Arc<crate::service::clock::ManualClock>,
    ) -> MemoryStore {
        MemoryStore {
            mono: Monotonic::manual(clock),
            ..MemoryStore::new(capacity)
        }
    }

    /// The monotonic clock now, in milliseconds (rounded down).
    fn mono_now(&self) -> u64 {
        self.mono.now_ms()
    }

    /// The most entries each table holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of entries of `kind` held now, expired ones not yet
    /// removed included.
    pub fn len_of(&self, kind: RecordKind) -> usize {
        self.tables[kind.index()]
            .lock()
            .map(|t| t.entries.len())
            .unwrap_or(0)
    }

    /// The number of entries held now over every kind (rate counters not
    /// included), expired ones not yet removed included.
    pub fn len(&self) -> usize {
        RecordKind::ALL.iter().map(|k| self.len_of(*k)).sum()
    }

    /// The number of rate counters held now.
    pub fn rate_counters(&self) -> usize {
        self.rates.lock().map(|r| r.counters.len()).unwrap_or(0)
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

fn poisoned<T>(_: T) -> StoreError {
    // A poisoned lock means a thread panicked while holding it; the data
    // may be inconsistent, so fail closed.
    StoreError::Unavailable("memory store lock poisoned".into())
}

impl ReplayStore for MemoryStore {
    fn record_use(
        &self,
        kind: RecordKind,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        self.record_held_use(kind, "", id, expires_at, max_uses, now)
    }

    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.advance_held(kind, "", id, from, expires_at, now)
    }

    fn record_held_use(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        check_id(id)?;
        let mono = self.mono_now();
        let deadline = monotonic_deadline(mono, expires_at, now);
        let (holder, id) = (self.keys.holder(holder), self.keys.id(id));
        let mut table = self.tables[kind.index()].lock().map_err(poisoned)?;
        table.purge(self.capacity, now, mono);
        let uses = table.bump(self.capacity, holder, id, expires_at, deadline, now);
        Ok(UseRecord::new(uses, max_uses))
    }

    fn advance_held(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        check_id(id)?;
        let mono = self.mono_now();
        let (holder, id) = (self.keys.holder(holder), self.keys.id(id));
        let deadline = monotonic_deadline(mono, expires_at, now);
        let mut table = self.tables[kind.index()].lock().map_err(poisoned)?;
        table.purge(self.capacity, now, mono);
        if let Some((_, counted)) = table.bump_known(id, expires_at, deadline, Some(from)) {
            return Ok(counted);
        }
        // Unknown: new (no uses yet), or possibly dropped (used up).
        let current = if table.fair.maybe_dropped(holder, expires_at) {
            u64::MAX
        } else {
            0
        };
        if current != from {
            return Ok(false);
        }
        if current == 0 && expires_at <= now {
            // Nothing to remember: the caller has checked expiry itself.
            return Ok(true);
        }
        table.bump(self.capacity, holder, id, expires_at, deadline, now);
        Ok(true)
    }

    fn count_hit(&self, id: &str, window_secs: u64, now: u64) -> Result<RateCount, StoreError> {
        check_id(id)?;
        let len = window_secs.max(1);
        let window = now / len;
        let mut rates = self.rates.lock().map_err(poisoned)?;
        if let Some(c) = rates.counters.get_mut(id) {
            return Ok(c.hit(len, window));
        }
        if rates.counters.len() >= self.capacity {
            rates.make_room(self.capacity, now);
        } else if rates
            .swept_at
            .is_none_or(|at| now >= at.saturating_add(RATE_SWEEP_SECS))
        {
            rates.sweep(now);
        }
        rates.born += 1;
        let mut c = Counter {
            len,
            window,
            current: 0,
            previous: 0,
            born: rates.born,
        };
        let count = c.hit(len, window);
        rates.counters.insert(ShortId::from(id), c);
        Ok(count)
    }

    fn decay_add(
        &self,
        id: &str,
        amount: f64,
        half_lives_secs: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        check_id(id)?;
        let mut table = self.pressure.lock().map_err(poisoned)?;
        Ok(table.add(id, amount, half_lives_secs, now))
    }
}

#[cfg(test)]
mod tests;
