//! Proof-of-work bound to a sealed challenge, after ALTCHA's PoW v2.
//!
//! A challenge sealed at a non-zero level carries a [`Puzzle`]: a number
//! of leading zero bits, a PBKDF2 iteration count and a random salt. The
//! client must find a 32-bit `counter` such that
//!
//! ```text
//! key = PBKDF2-HMAC-SHA-256(password = token || counter (4 bytes, big endian),
//!                           salt = puzzle.salt, iterations = puzzle.iterations,
//!                           length = 32 bytes)
//! ```
//!
//! starts with `puzzle.bits` zero bits, where `token` is the whole sealed
//! challenge token as sent (its ASCII bytes). So a proof is worth nothing
//! for any other challenge (the lesson of CVE-2025-68113, where proofs were
//! spliced onto other challenges): the password is the token itself, which
//! holds a fresh random nonce and id. The service reads the puzzle from
//! the sealed token, never from the client, and records the challenge's
//! one attempt before it checks the proof, so a wrong or missing proof
//! burns the challenge like a wrong answer.
//!
//! A browser derives with `crypto.subtle.deriveBits` (native code, off the
//! main thread); a bot with a native solver ([`solve`]) pays about as much
//! CPU per attempt, which is the point: the work is the same for both, and
//! a person pays it once while the bot pays it per ticket. The expected
//! work is `2^bits` derivations of `iterations` rounds; the server checks
//! one derivation ([`verify`]).
//!
//! [`PowPolicy`] chooses the level of each new challenge from the pressure
//! a [`PressureSource`] reports (by default a [`PressureTracker`] in
//! memory): 0 (no proof, no work) while calm, rising with the client's
//! failures and request rate and with the overall load.

mod policy;
mod pressure;
pub(crate) mod puzzle;

pub use crate::service::defence::baseline::Surge;
pub use crate::service::defence::prefix::{PrefixError, Prefixes};
pub use crate::service::defence::price::Floor;
pub use policy::PowPolicy;
pub use pressure::{client_key, Pressure, PressureEvent, PressureSource, PressureTracker};
pub use puzzle::{solve, solve_from, verify, PowError, PowLevel, Puzzle, MAX_BITS, SALT_LEN};
