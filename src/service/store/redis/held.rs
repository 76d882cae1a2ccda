//! Records held by a holder (a business or SecretId and a client
//! network), each holder bounded to its fair share of live ids: the
//! Redis counterpart of the memory store's full table that takes room
//! from its heaviest holder.
//!
//! A Cluster runs a script only on keys of one slot, and which holder is
//! the heaviest is a question about every slot; so Redis bounds each
//! holder on its own instead: at most `share` live ids per holder and
//! kind. The holder's ids live in one sorted set (by expiry) and one hash
//! (use counts) under the holder's hash tag; a holder over its share
//! loses its ids that expire first, and its *watermark* makes every
//! unknown id of it that expires no later count as used, so nothing
//! dropped can be used again. Redis's memory is then bounded by the
//! shares of the live holders (see [`RedisStore::with_holder_share`]).

use super::{check_id, RecordKind, RedisStore, StoreError};

/// The default share: live ids per holder (business or SecretId, and
/// client network) and kind. Above what the default limits let one
/// network of one business hold at once for every kind but sessions
/// (a network's 1,000 sessions a minute for 30 minutes), where the
/// oldest of a heavier network then end early.
pub(super) const DEFAULT_HOLDER_SHARE: u64 = 20_000;

/// What the script is asked: a use, or an advance from a count.
#[derive(Clone, Copy)]
pub(super) enum Step {
    Use,
    Advance(u64),
}

impl RedisStore {
    /// Sets the fair share (default 20,000, at least 1): the most live
    /// ids of one kind that one holder (a business or SecretId, and a
    /// client network) keeps in Redis. A holder over its share loses its
    /// ids that expire first; from then on any unknown id of that holder
    /// expiring no later counts as used (a replayed Nonce gets 4500, an
    /// old session's picture 5100), so nothing dropped is usable again and
    /// other holders are untouched. Redis's memory for records is bounded
    /// by `share` × live holders × 3 kinds, about 250 bytes an id
    /// (measured in `tests/redis_defence.rs`); set `maxmemory` with
    /// `maxmemory-policy noeviction` so that a Redis out of memory fails
    /// closed (6000) instead of evicting live ids.
    pub fn with_holder_share(mut self, share: u64) -> Self {
        self.holder_share = share.max(1);
        self
    }

    /// The fair share of each holder (see
    /// [`with_holder_share`](RedisStore::with_holder_share)).
    pub fn holder_share(&self) -> u64 {
        self.holder_share
    }

    /// The keys of `holder`'s ids of `kind`: its live set, its use counts
    /// and its watermark, all under the hash tag `h<kind>:<holder>`.
    pub(super) fn holder_keys(&self, kind: RecordKind, holder: &str) -> [String; 3] {
        let tag = format!("h{}:{holder}", kind.tag());
        [
            self.key(&tag, ""),
            self.key(&tag, ":uses"),
            self.key(&tag, ":mark"),
        ]
    }

    /// Runs the held-use script for `id` of `holder`: the count (a use;
    /// `u64::MAX` when the id may have been dropped) or 1/0 (an advance).
    pub(super) fn held_step(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        expires_at: u64,
        now: u64,
        step: Step,
    ) -> Result<u64, StoreError> {
        check_id(id)?;
        // An empty holder would hash the whole key; name it.
        let holder = if holder.is_empty() { "-" } else { holder };
        let [live, uses, mark] = self.holder_keys(kind, holder);
        let from = match step {
            Step::Use => -1,
            Step::Advance(from) => i64::try_from(from).unwrap_or(i64::MAX),
        };
        let answer: i64 = self.run(|con| {
            self.held_script
                .key(&live)
                .key(&uses)
                .key(&mark)
                .arg(id)
                .arg(expires_at)
                .arg(now)
                .arg(self.holder_share)
                .arg(from)
                .invoke(con)
        })?;
        Ok(u64::try_from(answer).unwrap_or(u64::MAX))
    }
}
