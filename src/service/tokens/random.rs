//! Randomness from the OS CSPRNG: ids, seeds and keys. Nothing in the
//! service draws a secret from anywhere else.

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::service::tokens::sealed::TokenError;

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn os_random(buf: &mut [u8]) -> Result<(), TokenError> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|e| TokenError::Random(e.to_string()))
}

/// A fresh random 16-byte id.
pub(crate) fn random_id() -> Result<[u8; 16], TokenError> {
    let mut id = [0u8; 16];
    os_random(&mut id)?;
    Ok(id)
}

/// A fresh random seed for a picture.
pub(crate) fn random_seed() -> Result<u64, TokenError> {
    crate::random_seed().map_err(|e| TokenError::Random(e.to_string()))
}
