//! [`MemoryStore`]: the in-process replay store and rate counters, for one
//! process.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{check_id, RateCount, RecordKind, ReplayStore, StoreError, UseRecord};

/// Default capacity of each table of [`MemoryStore::default`]: 200,000
/// entries per kind (sessions, tickets, Nonces, rate counters): room for
/// the 180,000 sessions that the default business limit lets live at once.
/// Measured (`memory_per_entry`): 233 bytes an entry for sessions and
/// tickets, 292 for Nonces, 149 for rate counters, so full tables take 47,
/// 47, 58 and 30 MB, about 180 MB in all. Tables grow only as they fill.
pub const DEFAULT_MEMORY_CAPACITY: usize = 200_000;

#[derive(Debug)]
struct Entry {
    uses: u64,
    /// The caller's expiry, Unix seconds.
    expires_at: u64,
    /// The same expiry on the monotonic clock, fixed when the entry is
    /// written: the entry is dropped only once both have passed, so a wall
    /// clock that jumps (forward, then back) cannot make a store forget a
    /// used id while its token is still live.
    deadline: Instant,
    /// Whether the monotonic deadline has passed and the entry now waits
    /// for the wall clock (it sits in `waiting`, not in `by_deadline`).
    waiting: bool,
}

/// One kind's records.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<String, Entry>,
    /// (monotonic deadline, id) of every entry not yet waiting.
    by_deadline: BTreeSet<(Instant, String)>,
    /// (expires_at, id) of the entries whose monotonic deadline passed
    /// while the wall clock said they were still live.
    waiting: BTreeSet<(u64, String)>,
}

impl Table {
    /// Drops the entries that are expired by both clocks, in order, so each
    /// call does only the work of the entries that have expired.
    fn purge(&mut self, now: u64, mono: Instant) {
        while let Some(first) = self.by_deadline.first() {
            if first.0 > mono {
                break;
            }
            let Some((_, id)) = self.by_deadline.pop_first() else {
                break;
            };
            match self.entries.get_mut(&id) {
                Some(e) if e.expires_at > now => {
                    e.waiting = true;
                    self.waiting.insert((e.expires_at, id));
                }
                _ => {
                    self.entries.remove(&id);
                }
            }
        }
        while let Some(first) = self.waiting.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, id)) = self.waiting.pop_first() {
                self.entries.remove(&id);
            }
        }
    }
}

impl Table {
    /// Counts one use of `id`, keeping it until both `expires_at` and
    /// `deadline` have passed (the later of the old and new ones for a
    /// known id); returns the use count. A new id that is already expired
    /// is counted as a first use and not kept (the caller has checked
    /// expiry itself); a new id that does not fit is [`StoreError::Full`].
    fn bump(
        &mut self,
        kind: RecordKind,
        capacity: usize,
        id: &str,
        expires_at: u64,
        deadline: Instant,
        now: u64,
    ) -> Result<u64, StoreError> {
        if let Some(entry) = self.entries.get_mut(id) {
            entry.uses = entry.uses.saturating_add(1);
            if expires_at > entry.expires_at || deadline > entry.deadline {
                // Lengthen on both clocks; move it back into the deadline
                // order if it was waiting.
                if entry.waiting {
                    self.waiting.remove(&(entry.expires_at, id.to_owned()));
                } else {
                    self.by_deadline.remove(&(entry.deadline, id.to_owned()));
                }
                entry.expires_at = entry.expires_at.max(expires_at);
                entry.deadline = entry.deadline.max(deadline);
                entry.waiting = false;
                self.by_deadline.insert((entry.deadline, id.to_owned()));
            }
            return Ok(entry.uses);
        }
        if expires_at <= now {
            return Ok(1);
        }
        if self.entries.len() >= capacity {
            return Err(StoreError::Full { kind, capacity });
        }
        self.entries.insert(
            id.to_owned(),
            Entry {
                uses: 1,
                expires_at,
                deadline,
                waiting: false,
            },
        );
        self.by_deadline.insert((deadline, id.to_owned()));
        Ok(1)
    }
}

/// `expires_at` on the monotonic clock: as far from `mono` as it is from
/// `now` (capped at about 136 years).
fn monotonic_deadline(mono: Instant, expires_at: u64, now: u64) -> Instant {
    let left = Duration::from_secs(expires_at.saturating_sub(now).min(1 << 32));
    mono.checked_add(left).unwrap_or(mono)
}

/// One rate counter: hits in window `window` (of `len` seconds) and in
/// the one before.
#[derive(Debug, Clone, Copy)]
struct Counter {
    len: u64,
    window: u64,
    current: u64,
    previous: u64,
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
    counters: HashMap<String, Counter>,
    /// The `now` of the last sweep of stale windows.
    swept_at: Option<u64>,
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
/// - It never forgets a live entry: when all `capacity` entries of a kind
///   are live, a use of a *new* id of that kind fails with
///   [`StoreError::Full`] (the service then refuses the request), while
///   uses of ids it already holds still count.
/// - Rate counters ([`count_hit`](ReplayStore::count_hit)) live for their
///   window and the next (where they are the previous window). When the
///   rate table is full of such counters, a new id is not counted (zeros
///   are returned and the hit is let through): refusing would let a flood
///   from many addresses lock out everybody else.
/// - It is shared by the threads of one process only. Several processes or
///   machines behind a load balancer need one shared store (such as
///   `RedisStore`, cargo feature `redis`), or else an id could be used once
///   per process.
///
/// ```
/// use qcaptcha::store::RecordKind::{Nonce, Ticket};
/// use qcaptcha::{MemoryStore, ReplayStore};
/// let store = MemoryStore::new(2);
/// assert!(store.record_use(Ticket, "a", 100, 1, 0)?.allowed);
/// assert!(!store.record_use(Ticket, "a", 100, 1, 0)?.allowed); // second use
/// store.record_use(Ticket, "b", 50, 1, 0)?;
/// assert!(store.record_use(Ticket, "c", 100, 1, 0).is_err()); // tickets full
/// assert!(store.record_use(Nonce, "c", 100, 1, 0)?.allowed); // Nonces have room
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
}

impl MemoryStore {
    /// A store whose tables (one per [`RecordKind`], one for rate
    /// counters) hold at most `capacity` live entries each (at least 1).
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            capacity: capacity.max(1),
            tables: Default::default(),
            rates: Mutex::new(Rates::default()),
        }
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
        check_id(id)?;
        let mono = Instant::now();
        let deadline = monotonic_deadline(mono, expires_at, now);
        let mut table = self.tables[kind.index()].lock().map_err(poisoned)?;
        table.purge(now, mono);
        let uses = table.bump(kind, self.capacity, id, expires_at, deadline, now)?;
        Ok(UseRecord::new(uses, max_uses))
    }

    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        check_id(id)?;
        let mono = Instant::now();
        let mut table = self.tables[kind.index()].lock().map_err(poisoned)?;
        table.purge(now, mono);
        let current = table.entries.get(id).map_or(0, |e| e.uses);
        if current != from {
            return Ok(false);
        }
        if current == 0 && expires_at <= now {
            // Nothing to remember: the caller has checked expiry itself.
            return Ok(true);
        }
        let deadline = monotonic_deadline(mono, expires_at, now);
        table.bump(kind, self.capacity, id, expires_at, deadline, now)?;
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
        if rates.counters.len() >= self.capacity && rates.swept_at != Some(now) {
            // Drop the counters that no longer count (older than the window
            // before), at most once per second of the caller's clock (the
            // sweep walks the whole table).
            rates
                .counters
                .retain(|_, c| c.window.saturating_add(1) >= now / c.len);
            rates.swept_at = Some(now);
        }
        if rates.counters.len() >= self.capacity {
            return Ok(RateCount::default());
        }
        let mut c = Counter {
            len,
            window,
            current: 0,
            previous: 0,
        };
        let count = c.hit(len, window);
        rates.counters.insert(id.to_owned(), c);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use RecordKind::{Nonce, Session, Ticket};

    #[test]
    #[cfg(feature = "test-util")]
    fn keeps_the_replay_store_contract() {
        crate::service::store::scenarios::store_scenarios(&|| Arc::new(MemoryStore::new(64)));
    }

    #[test]
    fn keeps_one_entry_per_kind_and_id() {
        let s = MemoryStore::new(10);
        for now in [10, 20, 99] {
            s.record_use(Ticket, "x", 100, 2, now).unwrap();
        }
        assert_eq!(s.len(), 1);
        s.record_use(Session, "x", 100, 2, 20).unwrap();
        assert_eq!(s.len_of(Ticket), 1);
        assert_eq!(s.len_of(Session), 1);
    }

    #[test]
    fn expired_entries_go_once_both_clocks_say_so() {
        let s = MemoryStore::new(10);
        // Lifetime 0 on the monotonic clock (expires_at == now + 0 is
        // already expired and not kept), so try a 1-second entry written
        // "late": expires_at 101 at now 100 has 1 s left on both clocks.
        s.record_use(Ticket, "a", 101, 1, 100).unwrap();
        // The wall clock jumps far ahead: the monotonic deadline has not
        // passed, so the entry stays and the id stays used.
        assert!(
            !s.record_use(Ticket, "a", 101, 1, 100 + 3600)
                .unwrap()
                .allowed
        );
        std::thread::sleep(Duration::from_millis(1100));
        // Both passed now: purged on the next use of the table.
        s.record_use(Ticket, "other", 10_000, 1, 200).unwrap();
        assert_eq!(s.len_of(Ticket), 1);
        assert!(s.record_use(Ticket, "a", 101, 1, 200).unwrap().allowed);
    }

    #[test]
    fn wall_clock_back_keeps_entries_until_the_wall_catches_up() {
        let s = MemoryStore::new(10);
        s.record_use(Ticket, "a", 101, 1, 100).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        // Monotonic deadline passed, but the wall clock went back: still
        // live by the token's own expiry, so still remembered.
        s.record_use(Ticket, "b", 10_000, 1, 50).unwrap();
        s.record_use(Ticket, "c", 10_000, 1, 60).unwrap();
        assert_eq!(s.len_of(Ticket), 3);
        // Once the wall clock passes 101 it goes.
        s.record_use(Ticket, "d", 10_000, 1, 101).unwrap();
        assert_eq!(s.len_of(Ticket), 3); // b, c and d
                                         // A use while waiting for the wall clock is refused (and keeps it).
        let s = MemoryStore::new(10);
        s.record_use(Ticket, "a", 101, 1, 100).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        s.record_use(Ticket, "b", 10_000, 1, 50).unwrap();
        assert!(!s.record_use(Ticket, "a", 101, 1, 60).unwrap().allowed);
    }

    #[test]
    fn full_table_refuses_new_ids_of_its_kind_only() {
        let s = MemoryStore::new(3);
        for id in ["a", "b", "c"] {
            assert!(s.record_use(Session, id, 1000, 1, 0).unwrap().allowed);
        }
        assert_eq!(
            s.record_use(Session, "d", 1000, 1, 0),
            Err(StoreError::Full {
                kind: Session,
                capacity: 3
            })
        );
        // A live entry is never evicted: "a" is still known as used.
        assert!(!s.record_use(Session, "a", 1000, 1, 999).unwrap().allowed);
        assert_eq!(s.len_of(Session), 3);
        // Tickets and Nonces have their own room.
        for id in ["a", "b", "c"] {
            assert!(s.record_use(Ticket, id, 1000, 1, 0).unwrap().allowed);
            assert!(s.record_use(Nonce, id, 1000, 1, 0).unwrap().allowed);
        }
    }

    #[test]
    fn advance_shares_the_use_counter_and_the_table() {
        let s = MemoryStore::new(2);
        assert!(s.advance(Session, "s1", 0, 100, 0).unwrap());
        assert!(s.advance(Session, "s1", 1, 100, 0).unwrap());
        assert_eq!(s.record_use(Session, "s1", 100, 9, 0).unwrap().uses, 3);
        // Expired and unknown: moves, nothing kept.
        assert!(s.advance(Session, "old", 0, 10, 10).unwrap());
        assert_eq!(s.len_of(Session), 1);
        // A full table refuses a new session, and only that.
        s.advance(Session, "s2", 0, 100, 0).unwrap();
        assert!(matches!(
            s.advance(Session, "s3", 0, 100, 0),
            Err(StoreError::Full { kind: Session, .. })
        ));
        assert!(s.advance(Session, "s2", 1, 100, 0).unwrap());
    }

    #[test]
    fn a_full_rate_table_lets_new_ids_through_uncounted() {
        let s = MemoryStore::new(4);
        assert_eq!(s.count_hit("ip", 60, 300).unwrap(), RateCount::new(1, 0));
        // A full table lets new ids through uncounted...
        for id in ["b", "c", "d"] {
            assert_eq!(s.count_hit(id, 60, 300).unwrap().current, 1);
        }
        assert_eq!(s.count_hit("e", 60, 300).unwrap(), RateCount::default());
        assert_eq!(s.rate_counters(), 4);
        // ...until the counters are two windows old.
        assert_eq!(s.count_hit("e", 60, 360).unwrap(), RateCount::default());
        assert_eq!(s.count_hit("e", 60, 420).unwrap().current, 1);
    }

    fn rss_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        pages * 4096
    }

    /// Bytes per entry of a full table, by kind, with ids as the service
    /// makes them (Linux; run with `cargo test --release --lib
    /// memory_per_entry -- --ignored --nocapture`). The README's memory
    /// table comes from it.
    #[test]
    #[ignore]
    fn memory_per_entry() {
        use base64::Engine as _;
        let n = DEFAULT_MEMORY_CAPACITY;
        let id = |i: usize| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        };
        // Every store stays alive, so that no measurement reuses memory
        // freed by another.
        let mut alive = Vec::new();
        for (label, make) in [
            ("session/ticket", &id as &dyn Fn(usize) -> String),
            ("nonce", &|i: usize| {
                format!("AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA:{}", 1_000_000_000 + i)
            }),
        ] {
            let s = MemoryStore::new(n);
            let before = rss_bytes();
            for i in 0..n {
                s.record_use(Session, &make(i), 1_000_000, 1, 0).unwrap();
            }
            let after = rss_bytes();
            println!("{label}: {} bytes per entry", (after - before) / n);
            alive.push(s);
        }
        let s = MemoryStore::new(n);
        let before = rss_bytes();
        for i in 0..n {
            s.count_hit(
                &format!("w:a:10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                60,
                0,
            )
            .unwrap();
        }
        println!("rate: {} bytes per entry", (rss_bytes() - before) / n);
        assert_eq!(s.rate_counters(), n);
        alive.push(s);
        assert_eq!(alive.iter().map(MemoryStore::len).sum::<usize>(), 2 * n);
    }
}
