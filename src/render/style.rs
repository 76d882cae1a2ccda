//! The style table: every number that shapes a picture, one place, each
//! with why it has its value. Lengths are shares of the picture height `h`
//! (or of the word's span, or of the font's stem width, as named), so the
//! look is the same at every size. Ranges are sampled uniformly per
//! picture; a single number `t` for an angle or offset means `-t..t`.
//!
//! The values come from blind reading studies and OCR measurements (see
//! `docs/pictures.md` and `docs/solvers.md`): changing any of them changes every picture, so the pinned
//! hashes in `tests/render.rs` must be updated deliberately.

use std::ops::Range;

/// Cap height of the letters as a share of the picture height. Interference
/// scales glyphs by at least 0.80 (six letters), which keeps them (with
/// their bolder outline) above half the height.
pub(crate) const CAP_SHARE: f32 = 0.6;

/// Horizontal stretch per embedded font (Roboto Condensed, Open Sans,
/// Liberation Serif, DejaVu Sans Mono). Roboto Condensed is widened:
/// condensed, its `V`, `N` and `M` are narrow zig-zags that run together
/// once neighbours touch, the mix-up strangers made most in blind readings.
pub(crate) const FONT_WIDEN: [f32; 4] = [1.15, 1.0, 1.0, 1.0];

/// The fonts interference letters are drawn in (indices into the embedded
/// fonts): Roboto Condensed and Open Sans. Drawn by stripe breaks alone, the
/// serif font's hairlines and serifs and the monospaced font's cramped `M`
/// lost the letter: in the reading study of the striped pictures 13 of the
/// 15 misread letters were in one of those two (`M` of DejaVu Sans Mono as
/// `N`, `H` or `U`; `L` and `T` of Liberation Serif as `C`, `I`, `J` or
/// `E`; `Z` of either as `K` or `L`).
pub(crate) const INTERFERENCE_FONTS: [usize; 2] = [0, 1];

/// How the clear types (1-4) are laid out.
pub(crate) struct ClearStyle {
    /// Gap between letters, as a share of the cap height: even and open, so
    /// the word reads at a glance.
    pub gap: f32,
    /// Most of the picture width the word may take before it is narrowed.
    pub row_share: f32,
    /// Largest rotation of a letter, radians (about 4 degrees).
    pub tilt: f32,
    /// Largest vertical offset of a letter's centre, share of `h`.
    pub lift: f32,
}

/// The clear look: one font, upright within a few degrees, even gaps.
pub(crate) const CLEAR: ClearStyle = ClearStyle {
    gap: 0.12,
    row_share: 0.88,
    tilt: 0.07,
    lift: 0.03,
};

/// How an interference word is laid out: per-glyph scale, overlap with the
/// previous glyph (a share of the narrower one; negative is a gap), and the
/// largest rotation and shear.
pub(crate) struct WordStyle {
    /// Scale of each glyph.
    pub scale: Range<f32>,
    /// Overlap with the previous glyph, share of the narrower of the two
    /// (negative: a gap).
    pub overlap: Range<f32>,
    /// Largest rotation, radians.
    pub tilt: f32,
    /// Largest horizontal shear.
    pub shear: f32,
    /// Period of the stripes the letters reverse ([`BANDS`]), share of `h`.
    pub band_period: Range<f32>,
    /// Where in a stripe period each strip's seams lie, one entry a strip
    /// and at most [`SEAM_STRIPS`] (share of the spacing, from a stripe's
    /// top edge down the column). At 0.95 both sides of a seam are light, so it
    /// only widens one light gap; but a letter inside the strip is moved
    /// back, so there the seam leaves a hairline instead, and the letter
    /// shows as brightness along it. At 0.7 the piece a seam skips or
    /// repeats is half dark, half light: no brightness, but no line in a
    /// stripe filter's energy map either (`docs/solvers.md`, "Balanced
    /// seams"). Words of six letters keep two at 0.95: readers read six
    /// letters with one of those balanced less (149 of 160), but not with
    /// a balanced third strip added (154 of 160, against 152 for two). Five
    /// letters with two at 0.95 were read no better than 0.10.0's with one,
    /// and SVTRv2 read two to three times as many.
    pub seam_at: &'static [f32],
    /// How far the stripes move inside a letter, share of the period
    /// (across the stripes). Half a period reversed them: inside a letter
    /// the picture was the exact negative of the stripes around it, and
    /// the transformer reader SVTRv2 with a beam search read 8-9 % of the
    /// words (14 % of one type) from that filled negative. Moved by 0.4,
    /// the outline is the same row of stripe ends to the eye, but the
    /// inside is no negative of anything: 2-3 % on the same words (100 a
    /// type; 0.45 gave about 5 %, 0.33 none). Less than 0.4 costs readers
    /// more than it costs SVTRv2: 0.35 for four letters and 0.37 for five
    /// and six kept SVTRv2 at 1.7 % at worst on the design seed, but blind
    /// readers at s = 2 (eight AI assistant sessions, 320 pictures) took
    /// 87.8 % of them, against 96.9 % at 0.4. A ring of reversed stripes
    /// along the outline, easiest of all to read, was read at 84-88 %.
    /// Five- and six-letter words move 0.42, with a fourth strip: readers
    /// read six letters 318 of 320 against 304 for 0.4 with three strips,
    /// and SVTRv2 read them as often (0.45 alone: four to six times as
    /// often). See `docs/solvers.md`, "How far to move" and "Six-letter
    /// words moved further".
    pub letter_shift: f32,
}

/// At most how many strips of the stripes moved by
/// [`WordStyle::letter_shift`] a picture has that are not
/// letters, each between two seams that run along the stripes (through
/// random points): seams that are not letters. To the eye a seam along
/// the stripes is no row of stripe ends, only a gap wider or a pair of
/// stripes thinner than their neighbours (as the ripple makes them), and a letter crossed by a
/// strip keeps its whole outline (moved back inside the strip, still
/// `letter_shift` from what is around it). To an attacker's filter
/// tuned to the stripes (`energy` in `scripts/solver_preps.py`: a
/// Gabor filter's local energy, dark wherever the phase jumps) each
/// seam is a long dark line through the word, like the letters'
/// outlines: two strips cut SVTRv2's reads after `energy` from 35 to 4
/// of 100 (type 5, design seed 5570000000). A third, balanced one (seams
/// at 0.7 of a period) took SVTRv2's worst reads of 500 from 27 to 11
/// (four letters, `energy-narrow`) and from 21 to 6 (six letters,
/// inverted), and readers read it as well (`docs/solvers.md`, "A third
/// strip"); five- and six-letter words have a fourth. The strips are
/// computed per pixel in the resolve (`Canvas::set_strips`: a run of rows
/// per column, two compares a pixel), about 17,000 instructions a strip
/// and picture at 160x60. See `docs/solvers.md`, "Direction D" (and "Soft
/// strips" for strips without seams, which readers read less). Where their
/// seams lie: [`WordStyle::seam_at`]; the most any word style asks for.
pub(crate) const SEAM_STRIPS: usize = most_strips(&[&SHORT_WORD, &MID_WORD, &LONG_WORD]);

/// The longest `seam_at` of `styles`.
const fn most_strips(styles: &[&WordStyle]) -> usize {
    let mut most = 0;
    let mut i = 0;
    while i < styles.len() {
        if styles[i].seam_at.len() > most {
            most = styles[i].seam_at.len();
        }
        i += 1;
    }
    most
}

/// Letters apart by a tenth to a sixth of the narrower one: a letter is
/// drawn by reversing the stripes, so where two overlapped the stripes came
/// back and both lost their outline, and where two nearly touched (the
/// earlier gap of a twentieth to a tenth) the stripe between them was a
/// sliver that joined them (`KZ`, `YZ`, `ZT` in five- and six-letter
/// words). Turned and sheared half as much
/// as the ink letters of the previous design: with the outline drawn by
/// the stripes' breaks alone, readers need the letters' usual shapes.
const GAP: Range<f32> = -0.16..-0.1;

/// The stripes: a quarter of the height, so that every letter is crossed
/// by two or three. Measured with captcha-whisperer and ddddocr and the
/// best decoder (40 pictures a type, s = 1 to 3, as handed over and
/// inverted): stripes of 0.09 to 0.28 h all read at 0 to 2.5 %, against
/// 20-34 % for the earlier design's ink letters under bands of 0.30-0.35
/// h; below 0.2 h the letters' outlines broke into too many pieces to
/// read easily.
const STRIPES: Range<f32> = 0.24..0.27;

/// Four letters, as small as six: larger letters draw outlines
/// that a filter tuned to the stripes (`energy-narrow` in
/// `scripts/solver_preps.py`) shows well enough for captcha-trained
/// readers, and readers read the small ones as well (`docs/solvers.md`,
/// "The 0.8.0 pictures"). One strip at 0.95 and two balanced at 0.7: the
/// second balanced strip took SVTRv2's reads of four-letter words after
/// `energy-narrow` from 27 to 11 of 500 (`docs/solvers.md`, "A third
/// strip"); a third balanced one took them up again, to 18.
pub(crate) const SHORT_WORD: WordStyle = WordStyle {
    scale: 0.80..0.88,
    overlap: GAP,
    tilt: 0.05,
    shear: 0.035,
    band_period: STRIPES,
    seam_at: &[0.95, 0.7, 0.7],
    letter_shift: 0.4,
};

/// Five letters: four-letter words' layout, with six-letter words' shift
/// (0.42) and a third balanced strip. Drawn as four letters are, five read
/// at 95.2 % in two mixed studies (1,218 of 1,280); drawn so, at 97.5 %
/// (624 of 640) in the same design, fixed before reading. SVTRv2 reads them
/// at 2.8 % at worst (11 of 400, inverted), against 1.5 % drawn as four
/// (`docs/reading-study/README.md`, "`c5` read as the widget shows it",
/// and `docs/solvers.md`, "Five-letter words moved further").
pub(crate) const MID_WORD: WordStyle = WordStyle {
    seam_at: &[0.95, 0.7, 0.7, 0.7],
    letter_shift: 0.42,
    ..SHORT_WORD
};

/// Six letters fill the picture, so they are drawn smaller (0.80-0.88:
/// above half the height with their bolder outline) and straighter: at
/// 0.92-1.02 the row was narrowed to 0.70 of its width (median, 0.54 at
/// worst), which made an `M` an `N`, `H` or `U` and ran the letters of a
/// six-letter word together; now 0.80 (0.69 at worst).
pub(crate) const LONG_WORD: WordStyle = WordStyle {
    scale: 0.80..0.88,
    overlap: GAP,
    tilt: 0.04,
    shear: 0.025,
    band_period: STRIPES,
    // Two bright seams, which readers of six letters lean on, and two
    // balanced ones.
    seam_at: &[0.95, 0.95, 0.7, 0.7],
    letter_shift: 0.42,
};

/// The word style for a word of `count` letters.
pub(crate) fn word_style(count: usize) -> &'static WordStyle {
    match count {
        ..=4 => &SHORT_WORD,
        5 => &MID_WORD,
        _ => &LONG_WORD,
    }
}

/// The interference row, its glyphs and its warp.
pub(crate) struct InterferenceStyle {
    /// Most of the picture width the word may take before it is narrowed:
    /// wider than the clear row, but with a margin: a letter cut by the
    /// picture's edge reads as another.
    pub row_share: f32,
    /// Largest vertical offset of a letter's centre, share of `h`.
    pub lift: f32,
    /// How far every outline is moved out of the ink, share of `h` (see
    /// [`crate::render::glyphs::embolden`]): strokes 0.04 h thicker, so
    /// that a stroke is as wide as a stripe and moves a whole one where it
    /// crosses, and its outline shows as a row of breaks in the stripes.
    pub bolden: f32,
    /// Largest displacement of the Perlin warp, share of `h`: enough to bend
    /// every stem, not enough to fold a letter onto its neighbour.
    pub warp_amplitude: f32,
    /// Warp wavelength (one noise unit), share of `h`: about a letter, so
    /// each letter bends its own way.
    pub warp_wavelength: f32,
}

/// The interference look.
pub(crate) const INTERFERENCE: InterferenceStyle = InterferenceStyle {
    row_share: 0.93,
    lift: 0.05,
    bolden: 0.02,
    warp_amplitude: 0.04,
    warp_wavelength: 0.9,
};

/// Stripes across the whole picture (types 5-8) that the letters move:
/// wavy, tilted, half dark and half light, and inside a letter moved by
/// part of a period ([`WordStyle::letter_shift`]), so that a letter is
/// only where the stripes are out of phase. Inside and outside a letter
/// there is the same share of ink: a
/// letter has no dark or light of its own, only an outline where every
/// stripe breaks, which the eye follows and of which captcha-trained
/// recognisers (CNN + CTC readers trained on dark letters over clutter)
/// read under one picture in a hundred as handed over. A filter tuned to
/// the stripes finds the breaks too: after it (`energy` in
/// `scripts/solver_preps.py`) SVTRv2 reads 38 % of the four-letter words
/// (see `docs/solvers.md`).
///
/// The period (one dark stripe and one light gap, share of `h`) is set per
/// word length in [`WordStyle::band_period`].
pub(crate) struct BandStyle {
    /// Tilt from the horizontal, radians, either way: steep (29-46
    /// degrees), so that a stripe crosses the horizontal arms of `E`, `L`,
    /// `T` and `Z` and breaks along them, instead of running along one.
    pub tilt: Range<f32>,
    /// Wave height, share of `h`: bent, so that no straight line through
    /// the margins predicts the stripes inside the word.
    pub amplitude: Range<f32>,
    /// Wavelength, share of `h`: longer than a letter, so that a stripe
    /// stays a smooth line the eye does not mistake for a letter's stroke.
    pub wavelength: Range<f32>,
    /// How far the stripes bunch and spread down every column, share of
    /// `h`: the largest shift of a row from where evenly spaced stripes
    /// would put it. Evenly spaced, every column repeated one spacing
    /// exactly, and an attacker who has read this source rebuilt the
    /// stripes per column from that one Fourier coefficient
    /// (`scripts/solver-check`'s `colphase`) and kept the letters.
    pub ripple: Range<f32>,
    /// Wavelength of the bunching down a column, share of `h`: with
    /// [`BandStyle::ripple`] the spacing stays within 0.7-1.3 times its
    /// mean, so the stripes still read as even.
    pub ripple_wavelength: Range<f32>,
}

/// The stripes of the interference types.
pub(crate) const BANDS: BandStyle = BandStyle {
    tilt: 0.5..0.8,
    amplitude: 0.03..0.05,
    wavelength: 1.0..1.6,
    ripple: 0.025..0.035,
    ripple_wavelength: 0.75..1.0,
};
