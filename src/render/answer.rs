//! The answer of a captcha, stored inline, and the constant-time check of a
//! user's input against it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::render::policy::{CaptchaType, ALPHABET};

/// The most letters any captcha type draws.
pub const MAX_LETTERS: usize = 6;

/// The text a person must type: 4 to 6 upper-case letters of
/// [`crate::picture::ALPHABET`]. Stored inline (no heap), so rendering one captcha
/// allocates nothing for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Answer {
    letters: [u8; MAX_LETTERS],
    len: u8,
}

impl Answer {
    pub(crate) fn from_letters(letters: &[u8]) -> Answer {
        debug_assert!(letters.len() <= MAX_LETTERS);
        let mut a = Answer {
            letters: [0; MAX_LETTERS],
            len: letters.len() as u8,
        };
        a.letters[..letters.len()].copy_from_slice(letters);
        a
    }

    /// The answer as text, e.g. `"KXPRA"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters from ALPHABET are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The answer as ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.letters[..usize::from(self.len)]
    }

    /// The number of letters.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the answer has no letters (never true for a rendered captcha).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a person's `input` is this answer: case-insensitive, ignoring
    /// leading and trailing white space, in time that does not depend on
    /// where the two differ. See [`answer_matches`].
    pub fn matches(&self, input: &str) -> bool {
        answer_matches(self.as_str(), input)
    }
}

/// Draws the word of `(kind, seed)` and returns it with the random stream
/// that drew it, positioned after the letters: the picture (and any other
/// rendition of the same challenge) takes its own choices from there, so
/// every rendition of one seed has the same answer.
///
/// One ChaCha20 stream per seed, and within it one stream per type: the same
/// seed gives unrelated answers in different types.
pub(crate) fn draw_word(kind: CaptchaType, seed: u64) -> (ChaCha20Rng, Answer) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(kind.code()));
    let policy = kind.policy();
    let count = usize::from(rng.random_range(policy.min_letters..=policy.max_letters));
    let mut letters = [0u8; MAX_LETTERS];
    for letter in &mut letters[..count] {
        // random_range samples without modulo bias.
        *letter = ALPHABET[rng.random_range(0..ALPHABET.len() as u32) as usize];
    }
    (rng, Answer::from_letters(&letters[..count]))
}

/// Shows the length only: an answer must not end up in logs by accident
/// (`Display` and [`Answer::as_str`] give the letters on purpose).
impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Answer({} letters, hidden)", self.len)
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares a user's `input` with the `expected` answer: ASCII
/// case-insensitive, leading and trailing white space ignored, look-alike
/// letters that answers never use read as the letter they were taken for
/// (see below), and in constant time for inputs of the answer's length (a
/// length mismatch is rejected at once; the length of an answer is not
/// secret, the picture shows it).
///
/// A person does not know which letters answers are drawn from. In blind
/// readings of interference pictures, strangers typed `Q` for a `D` whose
/// corner a stroke crosses and `I` for a `T` whose bar a cut or stroke
/// shortens; so `Q` and `O` count as `D`, `I` as `T` and `P` as `R` (the
/// reasons these letters are left out of [`crate::picture::ALPHABET`]). A bot gains
/// nothing by it: every answer still has exactly one spelling within the
/// alphabet.
///
/// ```
/// assert!(qcaptcha::picture::answer_matches("KXPRA", "  kxPra "));
/// assert!(qcaptcha::picture::answer_matches("DTRD", "qipo"));
/// assert!(!qcaptcha::picture::answer_matches("KXPRA", "KXPR"));
/// ```
pub fn answer_matches(expected: &str, input: &str) -> bool {
    let input = input.trim().as_bytes();
    let expected = expected.as_bytes();
    if input.len() != expected.len() || expected.is_empty() {
        return false;
    }
    let mut same = subtle::Choice::from(1u8);
    for (&a, &b) in expected.iter().zip(input) {
        same &= fold(a).ct_eq(&fold(b));
    }
    same.into()
}

/// Look-alike letters answers never use, and the letter each is taken for.
const LOOK_ALIKES: [(u8, u8); 4] = [(b'Q', b'D'), (b'O', b'D'), (b'I', b'T'), (b'P', b'R')];

/// What a byte of an answer or an input is compared as: upper case, with
/// [`LOOK_ALIKES`] replaced. Selects rather than branches or table
/// lookups, so that the time depends on neither the answer nor the input.
fn fold(byte: u8) -> u8 {
    let upper = byte.to_ascii_uppercase();
    LOOK_ALIKES.iter().fold(upper, |folded, &(seen, meant)| {
        u8::conditional_select(&folded, &meant, upper.ct_eq(&seen))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_and_outer_space() {
        let a = Answer::from_letters(b"KXPRA");
        assert!(a.matches("KXPRA"));
        assert!(a.matches("kxpra"));
        assert!(a.matches("\t kXpRa \n"));
        assert!(!a.matches("KXPRB"));
        assert!(!a.matches("KX PRA"));
        assert!(!a.matches("KXPRAA"));
        assert!(!a.matches(""));
        assert!(!answer_matches("", ""));
        assert_eq!(a.as_str(), "KXPRA");
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn look_alikes_outside_the_alphabet_count_as_the_letter_taken_for() {
        let a = Answer::from_letters(b"DTRDE");
        assert!(a.matches("DTRDE"));
        assert!(a.matches("QIPOE"));
        assert!(a.matches("qipoe"));
        // Only those: other letters, and look-alikes in the wrong place, fail.
        assert!(!a.matches("DTRDF"));
        assert!(!a.matches("TDRDE"));
        assert!(!Answer::from_letters(b"LLLL").matches("IIII"));
        // Letters of the alphabet never fold: each answer has one spelling in it.
        for (i, &a) in crate::picture::ALPHABET.iter().enumerate() {
            for &b in &crate::picture::ALPHABET[i + 1..] {
                assert_ne!(fold(a), fold(b));
            }
            assert_eq!(fold(a), a);
        }
    }
}
