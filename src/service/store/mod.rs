//! Replay protection: the one piece of state the protocol layer shares
//! between requests (and, with a networked store, between machines).
//!
//! Every challenge, ticket and signed request carries a unique id. Before
//! an id is honoured, the service asks a [`ReplayStore`] to record one use
//! of it; the store answers how many uses it has now seen, atomically, so
//! that two requests racing with the same id can never both be first.
//!
//! The trait is fallible on purpose: a store that cannot answer (a network
//! backend that is down, a memory store that is full) returns a
//! [`StoreError`], and the service then refuses the request (it fails
//! closed) instead of accepting a possible replay.
//!
//! [`MemoryStore`] is the in-process implementation, for one process.
//! `RedisStore` (cargo feature `redis`) is the networked one, for several
//! nodes: one Lua script per use that `INCR`s the key and sets its expiry
//! to the token's remaining life.

/// Why a [`ReplayStore`] could not record a use. Any such error makes the
/// service refuse the request (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live entries as it may and none has expired
    /// yet. It refuses new ids rather than forget a live one (which would
    /// let that id be replayed).
    #[error("replay store is full ({capacity} live entries); refusing new ids until some expire")]
    Full {
        /// The configured capacity.
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

/// Records uses of one-time (or few-times) ids until they expire.
///
/// Contract for implementations:
/// - [`record_use`](ReplayStore::record_use) is atomic per id: of `n`
///   concurrent calls with the same id, exactly one sees `uses == 1`, one
///   sees `uses == 2`, and so on.
/// - An entry is kept at least until `expires_at` (Unix seconds). A store
///   may drop it any time after. A store must never drop a live entry; if
///   it cannot keep a new one it returns an error instead.
/// - Errors are reported, never turned into "allowed".
pub trait ReplayStore: Send + Sync {
    /// Records one use of `id`, to be remembered until `expires_at` (Unix
    /// seconds; when the id is already known the later of the two expiries
    /// is kept). `now` is the caller's clock, which an in-process store
    /// uses to drop expired entries (a networked store may use its own).
    /// Returns the use count and whether it is at most `max_uses`.
    fn record_use(
        &self,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError>;
}

/// Rejects an empty id or one longer than [`MAX_ID_LEN`]; every store
/// checks ids the same way.
pub(crate) fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(StoreError::InvalidId { len: id.len() });
    }
    Ok(())
}

mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use memory::{MemoryStore, DEFAULT_MEMORY_CAPACITY};
