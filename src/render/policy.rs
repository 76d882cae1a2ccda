//! The captcha type table: how many letters each of the eight wire types
//! draws and how it looks ([`Look`]). This is the one place that knows
//! what "type 6" means.

use super::error::Error;

/// The letters an answer is drawn from.
///
/// Upper-case Latin letters without the ones that a person could mix up in
/// one of the embedded fonts: `I` (looks like `l`/`1`), `O` and `Q` (look like
/// `0`, `D` and each other once warped), `F` (an `E` once a crossing stroke
/// runs along its foot), `C` and `G` (a stroke or a neighbour across the
/// mouth of a `C` makes a `G`), `P` (an `R` once a stroke crosses under its
/// bowl), `H` (an `N` once the diagonal stroke crosses it) and `W` (a `V`
/// beside a `V` or `N`, or the reverse, once neighbours touch): in blind
/// readings of interference pictures these were the mix-ups people made
/// most. Answers are upper case; checking is case-insensitive and reads a
/// typed `Q` or `O` as `D`, `I` as `T`, `P` as `R` and `F` as `E` (see
/// [`crate::picture::answer_matches`]).
pub const ALPHABET: &[u8; 17] = b"ABDEJKLMNRSTUVXYZ";

/// The letters interference answers (types 5-8) are drawn from: [`ALPHABET`]
/// without `B`, `J`, `N`, `V` and `X`.
///
/// Under the bands of reversed contrast of the earlier design, the
/// diagonals of `N`, `V` and `X` broke into pieces that strangers in blind
/// readings took for each other, for `Y`, `K`, `A` or `M`, or for an extra
/// letter beside a neighbour; the narrow `J` was lost between its
/// neighbours. Drawn by reversed stripes alone, a `B` reads as an `R`
/// (its lower bowl's outline is a row of stripe breaks like an `R`'s leg).
/// Twelve letters leave 12 x 11^3 = 15,972 four-letter answers (with
/// [`Policy::distinct_neighbours`]), which no guesser reaches with one
/// attempt per picture and the limits on pictures per client. A subset of
/// [`ALPHABET`], so the audio voice is the same for every type; checking
/// reads a typed `V` as `Y`, `X` as `Z`, `B` as `R` and `N` or `H` as `M` for these answers
/// (see [`crate::Answer::matches`]).
pub const INTERFERENCE_ALPHABET: &[u8; 12] = b"ADEKLMRSTUYZ";

/// One of the eight captcha picture types of the CaptchaQuery API
/// (`captchaType` on the wire).
///
/// | type | letters | look |
/// |---|---|---|
/// | 1 / 2 / 3 | 4 / 5 / 6 | clear |
/// | 4 | 4 to 6, drawn from the seed | clear |
/// | 5 / 6 / 7 | 4 / 5 / 6 | with interference |
/// | 8 | 4 to 6, drawn from the seed | with interference |
///
/// Build one from the wire integer with `TryFrom`:
///
/// ```
/// use qcaptcha::CaptchaType;
/// let t = CaptchaType::try_from(5u8).unwrap();
/// assert_eq!(t, CaptchaType::Interference4);
/// assert!(CaptchaType::try_from(9i64).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CaptchaType {
    /// Type 1: four clear letters.
    Clear4 = 1,
    /// Type 2: five clear letters.
    Clear5 = 2,
    /// Type 3: six clear letters.
    Clear6 = 3,
    /// Type 4: four to six clear letters, the count drawn from the seed.
    ClearRandom = 4,
    /// Type 5: four letters with interference.
    Interference4 = 5,
    /// Type 6: five letters with interference.
    Interference5 = 6,
    /// Type 7: six letters with interference.
    Interference6 = 7,
    /// Type 8: four to six letters with interference, the count drawn from the seed.
    InterferenceRandom = 8,
}

/// How a captcha looks and sounds. Each renderer reads it in one place
/// (the picture's generator, the clip's mixer, the answer check), so a new
/// look is a new variant there and in [`CaptchaType::policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Look {
    /// Drawn for a glance: one font, upright letters, even gaps; the clip
    /// spoken steadily, without a masker.
    Clear,
    /// Drawn against segmentation: warp, crowding, bands of reversed
    /// contrast, per-glyph fonts; the clip varied in pace and level under
    /// babble and noise. Answers come from [`INTERFERENCE_ALPHABET`] with
    /// distinct neighbours.
    Interference,
}

/// What a type asks of the renderer: a range of letter counts and a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Fewest letters (inclusive).
    pub min_letters: u8,
    /// Most letters (inclusive); equal to `min_letters` for fixed types.
    pub max_letters: u8,
    /// How the picture looks and the clip sounds.
    pub look: Look,
    /// The letters answers are drawn from: [`ALPHABET`] or
    /// [`INTERFERENCE_ALPHABET`].
    pub alphabet: &'static [u8],
    /// Whether two neighbouring letters always differ: under interference
    /// blind readers read a doubled letter as one (`YXLLJ` as `YXLU`) or as
    /// two different ones (`NN` as `NA`).
    pub distinct_neighbours: bool,
}

impl CaptchaType {
    /// Every type, in wire order 1..=8.
    pub const ALL: [CaptchaType; 8] = [
        CaptchaType::Clear4,
        CaptchaType::Clear5,
        CaptchaType::Clear6,
        CaptchaType::ClearRandom,
        CaptchaType::Interference4,
        CaptchaType::Interference5,
        CaptchaType::Interference6,
        CaptchaType::InterferenceRandom,
    ];

    /// The wire integer (1..=8).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The rendering policy of this type.
    pub fn policy(self) -> Policy {
        use CaptchaType::*;
        let (min_letters, max_letters, look) = match self {
            Clear4 => (4, 4, Look::Clear),
            Clear5 => (5, 5, Look::Clear),
            Clear6 => (6, 6, Look::Clear),
            ClearRandom => (4, 6, Look::Clear),
            Interference4 => (4, 4, Look::Interference),
            Interference5 => (5, 5, Look::Interference),
            Interference6 => (6, 6, Look::Interference),
            InterferenceRandom => (4, 6, Look::Interference),
        };
        let (alphabet, distinct_neighbours): (&'static [u8], bool) = match look {
            Look::Clear => (ALPHABET, false),
            Look::Interference => (INTERFERENCE_ALPHABET, true),
        };
        Policy {
            min_letters,
            max_letters,
            look,
            alphabet,
            distinct_neighbours,
        }
    }
}

impl TryFrom<u8> for CaptchaType {
    type Error = Error;

    fn try_from(value: u8) -> Result<Self, Error> {
        CaptchaType::ALL
            .get(usize::from(value).wrapping_sub(1))
            .copied()
            .ok_or(Error::InvalidCaptchaType(i64::from(value)))
    }
}

impl TryFrom<i64> for CaptchaType {
    type Error = Error;

    fn try_from(value: i64) -> Result<Self, Error> {
        u8::try_from(value)
            .map_err(|_| Error::InvalidCaptchaType(value))
            .and_then(CaptchaType::try_from)
    }
}

impl From<CaptchaType> for u8 {
    fn from(t: CaptchaType) -> u8 {
        t.code()
    }
}

impl std::fmt::Display for CaptchaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_codes_round_trip() {
        for t in CaptchaType::ALL {
            assert_eq!(CaptchaType::try_from(t.code()).unwrap(), t);
            assert_eq!(CaptchaType::try_from(i64::from(t.code())).unwrap(), t);
        }
    }

    #[test]
    fn out_of_range_codes_are_errors() {
        for bad in [0i64, 9, -1, 255, 256, i64::MIN, i64::MAX] {
            assert_eq!(
                CaptchaType::try_from(bad),
                Err(Error::InvalidCaptchaType(bad))
            );
        }
        assert!(CaptchaType::try_from(0u8).is_err());
        assert!(CaptchaType::try_from(9u8).is_err());
    }

    #[test]
    fn table_matches_spec() {
        let counts: Vec<_> = CaptchaType::ALL
            .iter()
            .map(|t| {
                let p = t.policy();
                (p.min_letters, p.max_letters, p.look == Look::Interference)
            })
            .collect();
        assert_eq!(
            counts,
            vec![
                (4, 4, false),
                (5, 5, false),
                (6, 6, false),
                (4, 6, false),
                (4, 4, true),
                (5, 5, true),
                (6, 6, true),
                (4, 6, true)
            ]
        );
    }

    #[test]
    fn alphabet_has_no_confusables_or_duplicates() {
        for c in b"IOQFCGPHW01" {
            assert!(!ALPHABET.contains(c));
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len());
    }

    #[test]
    fn interference_letters_are_a_subset_without_the_zig_zags() {
        assert!(INTERFERENCE_ALPHABET.iter().all(|c| ALPHABET.contains(c)));
        for c in b"BJNVX" {
            assert!(!INTERFERENCE_ALPHABET.contains(c));
        }
        for t in CaptchaType::ALL {
            let p = t.policy();
            let interference = p.look == Look::Interference;
            assert_eq!(p.alphabet.len(), if interference { 12 } else { 17 });
            assert_eq!(p.distinct_neighbours, interference);
        }
    }
}
