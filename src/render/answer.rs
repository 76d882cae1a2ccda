//! The answer of a captcha, stored inline, and the constant-time check of a
//! user's input against it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::render::policy::{CaptchaType, Look};

/// The most letters any captcha type draws.
pub const MAX_LETTERS: usize = 6;

/// The text a person must type: 4 to 6 upper-case letters of
/// [`crate::render::ALPHABET`] (of [`crate::render::INTERFERENCE_ALPHABET`]
/// for types 5-8). Stored inline (no heap), so rendering one captcha
/// allocates nothing for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Answer {
    letters: [u8; MAX_LETTERS],
    len: u8,
    /// The look it was drawn for: checking an interference answer also
    /// reads [`INTERFERENCE_LOOK_ALIKES`].
    look: Look,
}

impl Answer {
    pub(crate) fn from_letters(letters: &[u8], look: Look) -> Answer {
        debug_assert!(letters.len() <= MAX_LETTERS);
        let mut a = Answer {
            letters: [0; MAX_LETTERS],
            len: letters.len() as u8,
            look,
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
    /// where the two differ. See [`answer_matches`]; an answer of an
    /// interference type (5-8) also reads a typed `V` as `Y`, `X` as `Z`,
    /// `B` as `R` and `N` or `H` as `M` (see
    /// [`crate::render::INTERFERENCE_ALPHABET`], which has none of them).
    ///
    /// ```
    /// use qcaptcha::{generate, CaptchaType};
    /// let seed = (0..).find(|&s| generate(CaptchaType::Interference4, s).unwrap()
    ///     .answer().as_str().contains('Y')).unwrap();
    /// let answer = *generate(CaptchaType::Interference4, seed).unwrap().answer();
    /// assert!(answer.matches(&answer.as_str().replace('Y', "V")));
    /// ```
    pub fn matches(&self, input: &str) -> bool {
        matches_with(self.as_bytes(), input, self.look)
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
    let (mut rng, count) = draw_length(kind, seed);
    let policy = kind.policy();
    let alphabet = policy.alphabet;
    let mut letters = [0u8; MAX_LETTERS];
    // Index of the previous letter; out of range before the first.
    let mut previous = alphabet.len();
    for letter in &mut letters[..count] {
        // random_range samples without modulo bias. With distinct
        // neighbours, one fewer choice, and the previous letter's index is
        // skipped over: still uniform over the letters left.
        let choices = alphabet.len() - usize::from(policy.distinct_neighbours);
        let mut index = rng.random_range(0..choices as u32) as usize;
        if policy.distinct_neighbours && index >= previous {
            index += 1;
        }
        previous = index;
        *letter = alphabet[index];
    }
    (rng, Answer::from_letters(&letters[..count], policy.look))
}

/// The letter count of `(kind, seed)`'s word (what the widget is told),
/// without drawing its letters.
// Only the service asks (the widget names the count).
#[cfg_attr(not(feature = "service"), allow(dead_code))]
pub(crate) fn word_length(kind: CaptchaType, seed: u64) -> usize {
    draw_length(kind, seed).1
}

/// The first draw of a word: the stream of `(kind, seed)` and, taken from
/// it, the letter count.
fn draw_length(kind: CaptchaType, seed: u64) -> (ChaCha20Rng, usize) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(kind.code()));
    let policy = kind.policy();
    let count = usize::from(rng.random_range(policy.min_letters..=policy.max_letters));
    (rng, count)
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
/// shortens, and `F` for an `E` whose foot lies along a band edge; so `Q`
/// and `O` count as `D`, `I` as `T`, `P` as `R` and `F` as `E` (the
/// reasons these letters are left out of [`crate::render::ALPHABET`]). A bot gains
/// nothing by it: every answer still has exactly one spelling within the
/// alphabet.
///
/// ```
/// assert!(qcaptcha::picture::answer_matches("KXPRA", "  kxPra "));
/// assert!(qcaptcha::picture::answer_matches("DTRD", "qipo"));
/// assert!(!qcaptcha::picture::answer_matches("KXPRA", "KXPR"));
/// ```
pub fn answer_matches(expected: &str, input: &str) -> bool {
    matches_with(expected.as_bytes(), input, Look::Clear)
}

/// [`answer_matches`], with [`INTERFERENCE_LOOK_ALIKES`] too for the
/// interference look: the one place the check reads the look.
fn matches_with(expected: &[u8], input: &str, look: Look) -> bool {
    let input = input.trim().as_bytes();
    if input.len() != expected.len() || expected.is_empty() {
        return false;
    }
    let interference = subtle::Choice::from(u8::from(look == Look::Interference));
    let mut same = subtle::Choice::from(1u8);
    for (&a, &b) in expected.iter().zip(input) {
        same &= fold(a, interference).ct_eq(&fold(b, interference));
    }
    same.into()
}

/// Look-alike letters answers never use, and the letter each is taken for.
const LOOK_ALIKES: [(u8, u8); 5] = [
    (b'Q', b'D'),
    (b'O', b'D'),
    (b'I', b'T'),
    (b'P', b'R'),
    (b'F', b'E'),
];

/// Look-alikes that only interference answers (types 5-8) fold: letters
/// of [`crate::render::ALPHABET`] that
/// [`crate::render::INTERFERENCE_ALPHABET`] leaves out. Strangers typed
/// `V` for a `Y` whose stem a band edge hid, and `X` for a `Z` whose bars
/// it hid; drawn by reversed stripes, an `R`'s leg looks like a `B`'s
/// lower bowl, and an `M` whose middle strokes broke between stripes was
/// typed as `N` (three times in 320 pictures) or `H`.
///
/// The last pair is the one fold inside the alphabet: a `Z` whose
/// diagonal runs along the stripes keeps only its two bars and was typed
/// as `E` (three times in 160 pictures), so `E` and `Z` are one letter to
/// the check. An interference answer has 11 letters' worth of guesses per
/// place instead of 12.
const INTERFERENCE_LOOK_ALIKES: [(u8, u8); 6] = [
    (b'V', b'Y'),
    (b'X', b'Z'),
    (b'B', b'R'),
    (b'N', b'M'),
    (b'H', b'M'),
    (b'E', b'Z'),
];

/// What a byte of an answer or an input is compared as: upper case, with
/// [`LOOK_ALIKES`] replaced, and [`INTERFERENCE_LOOK_ALIKES`] too when
/// `interference` is set (applied after the first, so an `F` goes to `E`
/// and on to `Z`). Selects rather than branches or table lookups,
/// so that the time depends on neither the answer nor the input.
fn fold(byte: u8, interference: subtle::Choice) -> u8 {
    let upper = byte.to_ascii_uppercase();
    let common = LOOK_ALIKES.iter().fold(upper, |folded, &(seen, meant)| {
        u8::conditional_select(&folded, &meant, upper.ct_eq(&seen))
    });
    INTERFERENCE_LOOK_ALIKES
        .iter()
        .fold(common, |folded, &(seen, meant)| {
            u8::conditional_select(&folded, &meant, common.ct_eq(&seen) & interference)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_and_outer_space() {
        let a = Answer::from_letters(b"KXPRA", Look::Clear);
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
    fn answers_follow_their_type_policy() {
        for kind in CaptchaType::ALL {
            let policy = kind.policy();
            let mut doubled = 0;
            for seed in 0..2000 {
                let (_, answer) = draw_word(kind, seed);
                let letters = answer.as_bytes();
                let count = letters.len() as u8;
                assert!((policy.min_letters..=policy.max_letters).contains(&count));
                assert!(letters.iter().all(|c| policy.alphabet.contains(c)));
                doubled += letters.windows(2).filter(|w| w[0] == w[1]).count();
            }
            for seed in 0..200 {
                assert_eq!(word_length(kind, seed), draw_word(kind, seed).1.len());
            }
            // Clear words double a letter about once in 17 pairs.
            if policy.distinct_neighbours {
                assert_eq!(doubled, 0, "type {kind}");
            } else {
                assert!(doubled > 100, "type {kind}: {doubled}");
            }
        }
    }

    #[test]
    fn look_alikes_outside_the_alphabet_count_as_the_letter_taken_for() {
        let a = Answer::from_letters(b"DTRDE", Look::Clear);
        assert!(a.matches("DTRDE"));
        assert!(a.matches("QIPOE"));
        assert!(a.matches("qipof"));
        // Only those: other letters, and look-alikes in the wrong place, fail.
        assert!(!a.matches("DTRDK"));
        assert!(!a.matches("TDRDE"));
        assert!(!Answer::from_letters(b"LLLL", Look::Clear).matches("IIII"));
        // Letters of the alphabet never fold: each answer has one spelling in it.
        let (clear, interference) = (subtle::Choice::from(0), subtle::Choice::from(1));
        for (i, &a) in crate::render::ALPHABET.iter().enumerate() {
            for &b in &crate::render::ALPHABET[i + 1..] {
                assert_ne!(fold(a, clear), fold(b, clear));
            }
            assert_eq!(fold(a, clear), a);
        }
        // Interference letters: E and Z are one, every other pair stays apart.
        let letters = crate::render::INTERFERENCE_ALPHABET;
        for (i, &a) in letters.iter().enumerate() {
            for &b in &letters[i + 1..] {
                let one = [a, b] == [b'E', b'Z'] || [a, b] == [b'Z', b'E'];
                assert_eq!(fold(a, interference) == fold(b, interference), one);
            }
        }
    }

    #[test]
    fn only_interference_answers_read_v_as_y_x_as_z_b_as_r_and_n_or_h_as_m() {
        let clear = Answer::from_letters(b"YDKZ", Look::Clear);
        let interference = Answer::from_letters(b"YDKZ", Look::Interference);
        assert!(!clear.matches("VDKX"));
        assert!(interference.matches("VDKX"));
        assert!(interference.matches("vqkz"));
        assert!(Answer::from_letters(b"RDKZ", Look::Interference).matches("BDKZ"));
        assert!(!Answer::from_letters(b"RDKZ", Look::Clear).matches("BDKZ"));
        assert!(!interference.matches("YDKN"));
        let m = Answer::from_letters(b"MDKZ", Look::Interference);
        assert!(m.matches("NDKZ") && m.matches("hdkz"));
        assert!(!Answer::from_letters(b"MDKZ", Look::Clear).matches("NDKZ"));
        assert!(!interference.matches("ZDKY"));
        // Clear answers keep V and X.
        assert!(Answer::from_letters(b"VDKX", Look::Clear).matches("vdkx"));
    }

    #[test]
    fn interference_answers_take_e_and_z_for_each_other_and_f_for_both() {
        let a = Answer::from_letters(b"MADZ", Look::Interference);
        assert!(a.matches("MADE") && a.matches("made") && a.matches("MADF"));
        assert!(Answer::from_letters(b"DEAY", Look::Interference).matches("DZAY"));
        assert!(!a.matches("MADK"));
        assert!(!Answer::from_letters(b"MADZ", Look::Clear).matches("MADE"));
        assert!(!Answer::from_letters(b"MADE", Look::Clear).matches("MADZ"));
    }
}
