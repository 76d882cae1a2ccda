//! The hasher of the service's in-memory tables (replay store, rate
//! counters, fair shares, the proof-of-work pressure tracker): foldhash's
//! fast variant, keyed from the OS CSPRNG.
//!
//! These tables are keyed by what clients send (addresses, networks,
//! nonces), so a fixed hash would let a client aim all its keys at one
//! bucket (HashDoS). SipHash-1-3, std's default, resists that but cost
//! about a third of a render per solved captcha here. foldhash (the hasher
//! of `hashbrown` and std's own tables' crate) mixes every input word with
//! secret 64-bit seeds before its folded multiplies; with seeds drawn from
//! the OS CSPRNG, a client that never sees a hash value or an iteration
//! order (none of these tables exposes either) cannot find colliding keys
//! offline, and every table is bounded in size besides. The seeds are not
//! those foldhash derives itself (from addresses and a counter), but the
//! same OS random source as the tokens' nonces.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;
use rand::rngs::OsRng;
use rand::TryRngCore;

/// A `HashMap` keyed with [`KeyedState`] (`KeyedMap::default()` draws
/// fresh seeds).
pub type KeyedMap<K, V> = HashMap<K, V, KeyedState>;

/// foldhash's builder with a per-table seed and a per-process shared seed,
/// both from the OS CSPRNG. Should the OS source fail (it does not on
/// supported systems), foldhash seeds itself, from addresses and a
/// counter, rather than the table failing.
#[derive(Debug, Clone)]
pub struct KeyedState(SeedableRandomState);

impl Default for KeyedState {
    fn default() -> Self {
        static SHARED: OnceLock<Option<SharedSeed>> = OnceLock::new();
        let shared = SHARED.get_or_init(|| os_u64().map(SharedSeed::from_u64));
        KeyedState(match (shared, os_u64()) {
            (Some(shared), Some(seed)) => SeedableRandomState::with_seed(seed, shared),
            _ => SeedableRandomState::random(),
        })
    }
}

impl BuildHasher for KeyedState {
    type Hasher = <SeedableRandomState as BuildHasher>::Hasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// An empty [`KeyedMap`] with room for `capacity` entries.
pub fn keyed_map<K, V>(capacity: usize) -> KeyedMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, KeyedState::default())
}

/// 64 bits from the OS CSPRNG.
fn os_u64() -> Option<u64> {
    OsRng.try_next_u64().ok()
}
