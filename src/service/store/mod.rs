//! Replay protection and rate counters: the state the protocol layer
//! shares between requests (and, with a networked store, between
//! machines).
//!
//! Every widget session, ticket and signed request carries a unique id.
//! Before an id is honoured, the service asks a [`ReplayStore`] to record
//! one use of it; the store answers how many uses it has now seen,
//! atomically, so that two requests racing with the same id can never both
//! be first. Each [`RecordKind`] is its own budget: a flood of one kind
//! (wrong answers fill session counters) never takes room from another
//! (tickets, Nonces).
//!
//! The limits count hits in fixed one-minute windows with
//! [`ReplayStore::count_hit`].
//!
//! The trait is fallible on purpose: a store that cannot answer (a network
//! backend that is down) returns a [`StoreError`], and the service then
//! refuses the request (it fails closed) instead of accepting a possible
//! replay. A full table is no reason to refuse: [`MemoryStore`] then
//! takes room from the heaviest holder, and `RedisStore` keeps each
//! holder within its fair share (see [`ReplayStore::record_held_use`]).
//!
//! [`MemoryStore`] is the in-process implementation, for one process.
//! `RedisStore` (cargo feature `redis`) is the networked one, for several
//! nodes: one Lua script per use that `INCR`s the key and sets its expiry
//! to the token's remaining life.

/// What a record is for. Each kind has its own budget in a store (its own
/// table and capacity in [`MemoryStore`], its own key space in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RecordKind {
    /// A widget session (one CaptchaQuery): how many of its pictures were
    /// used (answered or refreshed). Kept until the session ends.
    Session,
    /// A ticket: how many times CaptchaCheck accepted it. Kept until the
    /// ticket expires.
    Ticket,
    /// A signed request's `SecretId` and `Nonce`, recorded once the
    /// request is accepted. Kept until its `Timestamp` leaves the spec's
    /// window (2 hours either side of the server's clock).
    Nonce,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 3] = [RecordKind::Session, RecordKind::Ticket, RecordKind::Nonce];

    /// A short tag for keys: `s`, `t` or `n`.
    pub fn tag(self) -> &'static str {
        match self {
            RecordKind::Session => "s",
            RecordKind::Ticket => "t",
            RecordKind::Nonce => "n",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            RecordKind::Session => 0,
            RecordKind::Ticket => 1,
            RecordKind::Nonce => 2,
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Session => "session",
            RecordKind::Ticket => "ticket",
            RecordKind::Nonce => "nonce",
        })
    }
}

/// Why a [`ReplayStore`] could not record a use. Any such error makes the
/// service refuse the request (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live entries as it may and none has expired
    /// yet. It refuses new ids rather than forget a live one (which would
    /// let that id be replayed).
    #[error(
        "replay store is full ({capacity} live {kind} entries); refusing new ids until some expire"
    )]
    Full {
        /// The kind whose table is full.
        kind: RecordKind,
        /// The configured capacity of that kind.
        capacity: usize,
    },
    /// The id is not acceptable to the store (empty or longer than
    /// 256 bytes).
    #[error("replay store id must be 1..={max} bytes, got {len}", max = MAX_ID_LEN)]
    InvalidId {
        /// The length of the rejected id.
        len: usize,
    },
    /// The backend could not be reached, did not answer in time or
    /// answered with an error. Transient: the host can log it and ask the
    /// user to try again.
    #[error("replay store unavailable: {0}")]
    Unavailable(String),
    /// The store is misconfigured (for example a Redis URL that does not
    /// parse). Returned when the store is built, not per use.
    #[error("replay store misconfigured: {0}")]
    Config(String),
    /// The store does not offer this call (the default of
    /// [`ReplayStore::decay_add`]); the service then does the work in its
    /// own process.
    #[error("replay store does not support {0}")]
    Unsupported(&'static str),
}

/// The longest id a store must accept, in bytes. The service's ids are far
/// shorter (a prefix and 22 base64 characters, or a SecretId and a Nonce).
pub const MAX_ID_LEN: usize = 256;

/// The answer of [`ReplayStore::record_use`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UseRecord {
    /// How many uses of the id the store has seen, this one included
    /// (1 for the first use).
    pub uses: u64,
    /// Whether this use is within the allowance: `uses <= max_uses`.
    pub allowed: bool,
}

impl UseRecord {
    /// The answer for the `uses`-th use of an id allowed `max_uses` times
    /// (for stores implemented outside this crate).
    pub fn new(uses: u64, max_uses: u64) -> UseRecord {
        UseRecord {
            uses,
            allowed: uses <= max_uses,
        }
    }
}

/// Records uses of one-time (or few-times) ids until they expire, and
/// counts hits for the rate limits.
///
/// Contract for implementations:
/// - [`record_use`](ReplayStore::record_use) is atomic per kind and id: of
///   `n` concurrent calls with the same id, exactly one sees `uses == 1`,
///   one sees `uses == 2`, and so on. Ids of different kinds never meet.
/// - An entry is kept at least until `expires_at` (Unix seconds). A store
///   may drop it any time after. A store must never drop a live entry; if
///   it cannot keep a new one it returns an error instead.
/// - [`count_hit`](ReplayStore::count_hit) is atomic per id, like
///   `record_use`.
/// - Errors are reported, never turned into "allowed".
///
/// [`qcaptcha::testing::store_scenarios`](crate::testing::store_scenarios)
/// (feature `test-util`) checks each point, racing threads included, on
/// any store; the memory store and every Redis deployment pass it. A
/// minimal store that passes (it keeps every entry forever, so it suits
/// a bounded test only; a real one drops entries after `expires_at`):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex, MutexGuard};
/// use qcaptcha::store::{RateCount, RecordKind, StoreError, UseRecord, MAX_ID_LEN};
/// use qcaptcha::ReplayStore;
///
/// #[derive(Default)]
/// struct MapStore {
///     uses: Mutex<HashMap<(RecordKind, String), u64>>,
///     hits: Mutex<HashMap<(String, u64), u64>>,
/// }
///
/// /// A table, or `Unavailable` if a thread panicked holding it.
/// fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
///     m.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))
/// }
///
/// fn check(id: &str) -> Result<String, StoreError> {
///     if id.is_empty() || id.len() > MAX_ID_LEN {
///         return Err(StoreError::InvalidId { len: id.len() });
///     }
///     Ok(id.to_owned())
/// }
///
/// impl ReplayStore for MapStore {
///     fn record_use(&self, kind: RecordKind, id: &str, _expires_at: u64, max_uses: u64,
///                   _now: u64) -> Result<UseRecord, StoreError> {
///         let mut uses = lock(&self.uses)?;
///         let n = uses.entry((kind, check(id)?)).or_insert(0);
///         *n += 1;
///         Ok(UseRecord::new(*n, max_uses))
///     }
///
///     fn advance(&self, kind: RecordKind, id: &str, from: u64, _expires_at: u64,
///                _now: u64) -> Result<bool, StoreError> {
///         let mut uses = lock(&self.uses)?;
///         let n = uses.entry((kind, check(id)?)).or_insert(0);
///         let moved = *n == from;
///         *n += u64::from(moved);
///         Ok(moved)
///     }
///
///     fn count_hit(&self, id: &str, window_secs: u64, now: u64)
///                  -> Result<RateCount, StoreError> {
///         let (id, window) = (check(id)?, now / window_secs);
///         let mut hits = lock(&self.hits)?;
///         let previous = hits.get(&(id.clone(), window.wrapping_sub(1))).copied();
///         let current = hits.entry((id, window)).or_insert(0);
///         *current += 1;
///         Ok(RateCount::new(*current, previous.unwrap_or(0)))
///     }
/// }
///
/// qcaptcha::testing::store_scenarios(&|| Arc::new(MapStore::default()));
/// ```
pub trait ReplayStore: Send + Sync {
    /// Records one use of `id` of `kind`, to be remembered until
    /// `expires_at` (Unix seconds; when the id is already known the later
    /// of the two expiries is kept). `now` is the caller's clock, which an
    /// in-process store uses to drop expired entries (a networked store may
    /// use its own). Returns the use count and whether it is at most
    /// `max_uses`.
    fn record_use(
        &self,
        kind: RecordKind,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError>;

    /// Compare-and-increment: moves the counter `id` of `kind` from `from`
    /// to `from + 1` if it is at `from` now (an unknown id is at 0), and
    /// keeps it until at least `expires_at`; returns whether it moved. Of
    /// racing calls with the same `from`, exactly one moves it. The widget
    /// sessions use it: picture `n` may be used only while the session's
    /// counter is at `n`, so each picture gets one attempt, a later
    /// picture's attempt makes every earlier picture useless, and a replayed
    /// old picture changes nothing.
    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError>;

    /// Counts one hit on the rate counter `id` in the fixed window of
    /// `window_secs` seconds that holds `now` (window `k` covers Unix
    /// seconds `k * window_secs .. (k + 1) * window_secs`), and returns the
    /// hits counted in this window, this one included, and in the window
    /// before (the limits weigh both, a sliding window). A bounded store
    /// that is full makes room by dropping its calmest counters, never by
    /// leaving a new id uncounted.
    fn count_hit(&self, id: &str, window_secs: u64, now: u64) -> Result<RateCount, StoreError>;

    /// [`record_use`](ReplayStore::record_use) of an id that `holder`
    /// holds: the service names who each record is for (a business and a
    /// client network, or a SecretId and a client network), so that a
    /// bounded store, when full, takes room from the heaviest holder
    /// instead of refusing a newcomer. A store that makes room must never
    /// let an id it dropped be used again: [`MemoryStore`] answers any
    /// unknown id of that holder that expires no later than what it dropped
    /// as used up; `RedisStore` keeps each holder's ids under the holder's
    /// hash tag and bounds each holder to its share, so one holder's ids
    /// must always be recorded with the same holder (the service's are:
    /// the holder comes from the sealed token or the signed request). The
    /// default ignores the holder.
    fn record_held_use(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        let _ = holder;
        self.record_use(kind, id, expires_at, max_uses, now)
    }

    /// [`advance`](ReplayStore::advance) of an id that `holder` holds (see
    /// [`record_held_use`](ReplayStore::record_held_use)). The default
    /// ignores the holder.
    fn advance_held(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let _ = holder;
        self.advance(kind, id, from, expires_at, now)
    }

    /// Adds `amount` to the decaying counters of `id`, one per half-life
    /// in `half_lives_secs` (a steady `r` a second reads `r * h / ln 2`), and returns
    /// their values at `now`; an `amount` of 0 only reads. The proof-of-work
    /// price reads a business's volume and a client network's ticket rate
    /// from these, so that every node sharing the store prices alike. The
    /// default answers [`StoreError::Unsupported`]: the service then counts
    /// in its own process.
    fn decay_add(
        &self,
        id: &str,
        amount: f64,
        half_lives_secs: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        let _ = (id, amount, half_lives_secs, now);
        Err(StoreError::Unsupported("decaying counters"))
    }
}

/// The answer of [`ReplayStore::count_hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateCount {
    /// Hits in the current window, this one included.
    pub current: u64,
    /// Hits in the window before.
    pub previous: u64,
}

impl RateCount {
    /// A count (for stores implemented outside this crate).
    pub fn new(current: u64, previous: u64) -> RateCount {
        RateCount { current, previous }
    }
}

/// Rejects an empty id or one longer than [`MAX_ID_LEN`]; every store
/// checks ids the same way.
pub(crate) fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(StoreError::InvalidId { len: id.len() });
    }
    Ok(())
}

pub(crate) mod key;
mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(feature = "test-util")]
pub(crate) mod scenarios;

pub(crate) use memory::fingerprint::{HolderKey, IdKey};
pub use memory::MemoryStore;
#[cfg(feature = "redis-tls")]
pub use redis::RedisTls;
#[cfg(feature = "redis")]
pub use redis::{Persistence, RedisStore};
