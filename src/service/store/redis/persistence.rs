//! [`Persistence`]: whether a Redis server keeps the records across a
//! restart.

#[cfg(doc)]
use super::RedisStore;

/// Whether, and how, a Redis server keeps its data across a restart, as
/// [`RedisStore::persistence`] found it.
///
/// Why it matters: the store's records are what stops a ticket, a picture
/// or a signed request from being used twice. A Redis that restarts without
/// persistence forgets them, and every token still live at that moment
/// (up to the ticket lifetime, 5 or 20 minutes, or the widget session, 30
/// minutes) can be used once more. AOF (`appendonly yes`, fsync every
/// second) loses at most about a second of records; RDB snapshots alone
/// lose everything since the last snapshot (minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Persistence {
    /// AOF is on (`appendonly yes`); `fsync` is the `appendfsync` policy
    /// (`always`, `everysec` or `no`), and `snapshots` the `save` rules, if
    /// any.
    AppendOnly {
        /// `appendfsync`.
        fsync: String,
        /// `save` (empty: no snapshots).
        snapshots: String,
    },
    /// Only RDB snapshots (`save` rules, e.g. `3600 1 300 100 60 10000`):
    /// a restart loses the records written since the last snapshot.
    SnapshotsOnly {
        /// `save`.
        snapshots: String,
    },
    /// Neither AOF nor snapshots: a restart forgets every record.
    None,
    /// The server refused `CONFIG GET` (a managed Redis often disables or
    /// renames it); the text is its answer. Check the provider's settings.
    Unknown(String),
}

impl Persistence {
    /// Whether a restart keeps (nearly) all records: AOF is on.
    pub fn is_durable(&self) -> bool {
        matches!(self, Persistence::AppendOnly { .. })
    }
}

impl std::fmt::Display for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Persistence::AppendOnly { fsync, snapshots } => {
                write!(f, "AOF on (appendfsync {fsync}), snapshots {snapshots:?}")
            }
            Persistence::SnapshotsOnly { snapshots } => write!(
                f,
                "RDB snapshots only (save {snapshots:?}): a restart forgets recent uses"
            ),
            Persistence::None => f.write_str("no persistence: a restart forgets every use"),
            Persistence::Unknown(why) => write!(f, "unknown (CONFIG GET refused: {why})"),
        }
    }
}
