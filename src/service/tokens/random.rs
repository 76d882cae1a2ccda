//! Randomness from the OS CSPRNG: ids, seeds and keys. Nothing in the
//! service draws a secret from anywhere else.

use rand::rngs::OsRng;
use rand::TryRngCore;

/// The OS CSPRNG failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct RandomError(pub(crate) String);

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn os_random(buf: &mut [u8]) -> Result<(), RandomError> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|e| RandomError(e.to_string()))
}
