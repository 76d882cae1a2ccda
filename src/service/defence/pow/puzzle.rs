//! The puzzle sealed in a challenge: its levels, the derivation, the
//! server's check and the native solver.

use pbkdf2::pbkdf2_hmac;
use sha2::Sha256;

/// Bytes of a puzzle's salt.
pub const SALT_LEN: usize = 16;
/// The most leading zero bits a level may ask for (2^24 derivations
/// expected: beyond any sensible page).
pub const MAX_BITS: u8 = 24;
/// The most PBKDF2 iterations a level may ask for (the server derives
/// once per checked proof, so this bounds the cost of a check).
pub const MAX_ITERATIONS: u32 = 100_000;

/// One difficulty: leading zero bits and PBKDF2 iterations per attempt.
/// `bits == 0` means no proof at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PowLevel {
    /// Leading zero bits the derived key must have (0..=[`MAX_BITS`]);
    /// 2^bits attempts are expected.
    pub bits: u8,
    /// PBKDF2-HMAC-SHA-256 iterations per attempt (1 to 100,000).
    pub iterations: u32,
}

impl PowLevel {
    /// No proof of work.
    pub const NONE: PowLevel = PowLevel {
        bits: 0,
        iterations: 1,
    };

    /// A level; checked by [`ServiceBuilder::build`](crate::ServiceBuilder::build)
    /// (or [`PowLevel::validate`]).
    pub const fn new(bits: u8, iterations: u32) -> PowLevel {
        PowLevel { bits, iterations }
    }

    /// Whether this level asks for no proof.
    pub fn is_none(&self) -> bool {
        self.bits == 0
    }

    /// Expected PBKDF2 iterations to solve: `2^bits * iterations`.
    pub fn expected_iterations(&self) -> f64 {
        if self.is_none() {
            0.0
        } else {
            f64::from(self.iterations) * 2f64.powi(i32::from(self.bits))
        }
    }

    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), PowError> {
        if self.bits > MAX_BITS || self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            Err(PowError::InvalidLevel {
                bits: self.bits,
                iterations: self.iterations,
            })
        } else {
            Ok(())
        }
    }
}

/// The puzzle of one challenge, sealed in its token: a level and a random
/// salt. The widget gets a copy to solve; the server trusts only the
/// sealed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Puzzle {
    /// Leading zero bits (0: no proof needed).
    pub bits: u8,
    /// PBKDF2 iterations per attempt.
    pub iterations: u32,
    /// Random salt from the OS CSPRNG.
    pub salt: [u8; SALT_LEN],
}

impl Puzzle {
    /// A puzzle (for example read back from the widget JSON by a client).
    pub const fn new(bits: u8, iterations: u32, salt: [u8; SALT_LEN]) -> Puzzle {
        Puzzle {
            bits,
            iterations,
            salt,
        }
    }

    /// The puzzle of level 0: nothing to solve.
    pub const NONE: Puzzle = Puzzle {
        bits: 0,
        iterations: 1,
        salt: [0; SALT_LEN],
    };

    /// Whether no proof is needed.
    pub fn is_none(&self) -> bool {
        self.bits == 0
    }

    /// Its level (without the salt).
    pub fn level(&self) -> PowLevel {
        PowLevel::new(self.bits, self.iterations)
    }
}

/// Why a puzzle could not be solved or a level is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PowError {
    /// Bits or iterations out of bounds.
    #[error("invalid proof-of-work level: {bits} bits, {iterations} iterations (need bits <= 24, 1 <= iterations <= 100000)")]
    InvalidLevel {
        /// The bits asked for.
        bits: u8,
        /// The iterations asked for.
        iterations: u32,
    },
    /// No counter in the whole 32-bit range works (for bits <= 24 this
    /// happens with probability below e^-256).
    #[error("no counter solves this puzzle")]
    Unsolvable,
    /// The policy is inconsistent (thresholds not increasing, or more
    /// thresholds than levels).
    #[error("invalid proof-of-work policy: {0}")]
    InvalidPolicy(&'static str),
}

/// The derived key for one attempt (what the browser's `deriveBits`
/// computes).
pub fn derive(token: &str, puzzle: &Puzzle, counter: u32) -> [u8; 32] {
    let mut password = Vec::with_capacity(token.len() + 4);
    password.extend_from_slice(token.as_bytes());
    password.extend_from_slice(&counter.to_be_bytes());
    let mut key = [0u8; 32];
    pbkdf2_hmac::<Sha256>(&password, &puzzle.salt, puzzle.iterations.max(1), &mut key);
    key
}

/// Whether `key` starts with `bits` zero bits. Not secret (the key is
/// public work), so no constant time is needed.
pub fn leading_zero_bits(key: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if key.len() < full + usize::from(rest > 0) {
        return false;
    }
    key[..full].iter().all(|&b| b == 0) && (rest == 0 || key[full] >> (8 - rest) == 0)
}

/// The server's check: whether `counter` solves the puzzle of `token`.
/// One derivation; a level-0 puzzle accepts anything (no work is asked).
pub fn verify(token: &str, puzzle: &Puzzle, counter: u32) -> bool {
    puzzle.is_none() || leading_zero_bits(&derive(token, puzzle, counter), puzzle.bits)
}

/// The native solver: the first counter from 0 that solves the puzzle of
/// `token` (0 at once for level 0). What a bot without a browser runs;
/// used by the tests and the calibration.
pub fn solve(token: &str, puzzle: &Puzzle) -> Result<u32, PowError> {
    solve_from(token, puzzle, 0, 1).map(|(counter, _)| counter)
}

/// The native solver, counting: tries `start`, `start + step`, ... and
/// returns the solving counter and the number of derivations made. Run
/// `n` threads with `start = 0..n` and `step = n` to split the work.
pub fn solve_from(
    token: &str,
    puzzle: &Puzzle,
    start: u32,
    step: u32,
) -> Result<(u32, u64), PowError> {
    if puzzle.is_none() {
        return Ok((start, 0));
    }
    puzzle.level().validate()?;
    let step = u64::from(step.max(1));
    let mut password = Vec::with_capacity(token.len() + 4);
    password.extend_from_slice(token.as_bytes());
    let head = password.len();
    let mut key = [0u8; 32];
    let mut tries = 0u64;
    let mut counter = u64::from(start);
    while counter <= u64::from(u32::MAX) {
        password.truncate(head);
        password.extend_from_slice(&(counter as u32).to_be_bytes());
        pbkdf2_hmac::<Sha256>(&password, &puzzle.salt, puzzle.iterations, &mut key);
        tries += 1;
        if leading_zero_bits(&key, puzzle.bits) {
            return Ok((counter as u32, tries));
        }
        counter += step;
    }
    Err(PowError::Unsolvable)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AQEAAAAHsomeSealedChallengeToken_-";

    fn puzzle(bits: u8) -> Puzzle {
        Puzzle::new(bits, 10, [7; SALT_LEN])
    }

    #[test]
    fn zero_bits_checks() {
        assert!(leading_zero_bits(&[0x00, 0x0f], 12));
        assert!(!leading_zero_bits(&[0x00, 0x1f], 12));
        assert!(leading_zero_bits(&[0x7f], 1));
        assert!(!leading_zero_bits(&[0x80], 1));
        assert!(leading_zero_bits(&[0xff], 0));
        assert!(!leading_zero_bits(&[0x00], 9));
        assert!(leading_zero_bits(&[0, 0, 0], 24));
    }

    #[test]
    fn solved_counter_verifies_and_others_do_not() {
        let p = puzzle(8);
        let c = solve(TOKEN, &p).unwrap();
        assert!(verify(TOKEN, &p, c));
        // The first solution: every smaller counter fails.
        assert!((0..c).all(|x| !verify(TOKEN, &p, x)));
        // Bound to the token, the salt and the iterations.
        let other = format!("{TOKEN}A");
        let c2 = solve(&other, &p).unwrap();
        assert!(verify(&other, &p, c2));
        let both = [c, c2];
        let mismatched = both.iter().filter(|&&x| verify(&other, &p, x)).count()
            + both.iter().filter(|&&x| verify(TOKEN, &p, x)).count();
        assert!(mismatched < 4, "a counter solved both tokens twice");
        let salted = Puzzle::new(8, 10, [8; SALT_LEN]);
        let iters = Puzzle::new(8, 11, [7; SALT_LEN]);
        // A given counter rarely (1/256) solves another puzzle too; find one
        // counter that solves p but not the variants.
        let mut found = false;
        let mut start = 0;
        for _ in 0..8 {
            let (c, _) = solve_from(TOKEN, &p, start, 1).unwrap();
            if !verify(TOKEN, &salted, c) && !verify(TOKEN, &iters, c) {
                found = true;
                break;
            }
            start = c + 1;
        }
        assert!(found);
    }

    #[test]
    fn derive_matches_pbkdf2_reference() {
        // RFC 7914 section 11 test vector for PBKDF2-HMAC-SHA-256:
        // P="passwd", S="salt", c=1, dkLen=64; first 32 bytes.
        let mut key = [0u8; 32];
        pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut key);
        assert_eq!(key[..4], [0x55, 0xac, 0x04, 0x6e]);
        // And `derive` appends the counter big endian.
        let p = Puzzle::new(1, 3, *b"0123456789abcdef");
        let mut want = [0u8; 32];
        pbkdf2_hmac::<Sha256>(b"tok\x00\x00\x01\x02", b"0123456789abcdef", 3, &mut want);
        assert_eq!(derive("tok", &p, 0x0102), want);
    }

    #[test]
    fn level_zero_needs_nothing() {
        assert!(verify(TOKEN, &Puzzle::NONE, 0));
        assert!(verify(TOKEN, &Puzzle::NONE, u32::MAX));
        assert_eq!(solve(TOKEN, &Puzzle::NONE), Ok(0));
        assert_eq!(PowLevel::NONE.expected_iterations(), 0.0);
    }

    #[test]
    fn split_solving_finds_a_valid_counter() {
        let p = puzzle(6);
        let (c0, _) = solve_from(TOKEN, &p, 0, 2).unwrap();
        let (c1, _) = solve_from(TOKEN, &p, 1, 2).unwrap();
        assert_eq!(c0 % 2, 0);
        assert_eq!(c1 % 2, 1);
        assert!(verify(TOKEN, &p, c0) && verify(TOKEN, &p, c1));
        assert_eq!(solve(TOKEN, &p).unwrap(), c0.min(c1));
    }
}
