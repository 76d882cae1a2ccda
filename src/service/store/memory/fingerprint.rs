//! [`Fingerprints`]: the fixed-size keys the memory store keeps instead of
//! ids and holder names.
//!
//! A replay table holds hundreds of thousands of ids (the signed API's
//! Nonces live for its 2-hour Timestamp window). Kept as text, each record
//! costs an allocation for its id and one for a new holder's name, and
//! expiring it reads the id's text again (a cache miss) to find its slot.
//! Kept as a keyed SipHash-1-3-128 of the text, a record is a few machine
//! words: nothing is allocated, and the key is its own table hash.
//!
//! Two different ids share a fingerprint with probability 2^-128 per pair,
//! and the SipHash key comes from the OS CSPRNG per store and never leaves
//! it, so no client can aim one id at another's. Should it happen anyway,
//! the newer id would count as already used (refused), never the other way
//! round: a used id is always found. A holder's name is kept as 64 bits;
//! two holders that share them would share one fair share, nothing more.

use std::hash::Hasher;

use rand::rngs::OsRng;
use rand::TryRngCore;
use siphasher::sip128::{Hasher128, SipHasher13};

/// A record's id, as the store keeps it.
pub(crate) type IdKey = u128;

/// A holder's name, as the store keeps it.
pub(crate) type HolderKey = u64;

/// The store's SipHash key, drawn from the OS CSPRNG.
#[derive(Clone)]
pub(crate) struct Fingerprints {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprints { .. }")
    }
}

impl Default for Fingerprints {
    /// A fresh key. Should the OS source fail (it does not on supported
    /// systems), the key falls back to the process's random hasher seeds
    /// rather than the store failing.
    fn default() -> Self {
        let mut key = [0u8; 16];
        if OsRng.try_fill_bytes(&mut key).is_err() {
            use std::hash::BuildHasher;
            let state = std::collections::hash_map::RandomState::new();
            key[..8].copy_from_slice(&state.hash_one(0u8).to_le_bytes());
            key[8..].copy_from_slice(&state.hash_one(1u8).to_le_bytes());
        }
        let (k0, k1) = key.split_at(8);
        Fingerprints {
            k0: u64::from_le_bytes(k0.try_into().unwrap_or_default()),
            k1: u64::from_le_bytes(k1.try_into().unwrap_or_default()),
        }
    }
}

impl Fingerprints {
    /// The key of id `text`.
    pub(crate) fn id(&self, text: &str) -> IdKey {
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(text.as_bytes());
        h.finish128().as_u128()
    }

    /// The key of holder `name` (a different domain from ids: a holder's
    /// name is never an id's).
    pub(crate) fn holder(&self, name: &str) -> HolderKey {
        let mut h = SipHasher13::new_with_keys(self.k0 ^ HOLDER_DOMAIN, self.k1);
        h.write(name.as_bytes());
        h.finish()
    }
}

/// Separates holder keys from id keys.
const HOLDER_DOMAIN: u64 = 0x686f_6c64_6572_0001;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_key_other_text_other_key() {
        let f = Fingerprints::default();
        assert_eq!(f.id("s:abc"), f.id("s:abc"));
        assert_ne!(f.id("s:abc"), f.id("s:abd"));
        assert_ne!(f.id(""), f.id("\0"));
        assert_eq!(f.holder("1|10.0.0.0/24"), f.holder("1|10.0.0.0/24"));
        assert_ne!(f.holder("1|10.0.0.0/24"), f.holder("1|10.0.1.0/24"));
    }

    #[test]
    fn every_store_has_its_own_key() {
        let (a, b) = (Fingerprints::default(), Fingerprints::default());
        assert_ne!(a.id("AKID:1"), b.id("AKID:1"));
        assert_ne!(a.holder("h"), b.holder("h"));
    }
}
