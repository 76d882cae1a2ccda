//! The style table: every number that shapes a picture, one place, each
//! with why it has its value. Lengths are shares of the picture height `h`
//! (or of the word's span, or of the font's stem width, as named), so the
//! look is the same at every size. Ranges are sampled uniformly per
//! picture; a single number `t` for an angle or offset means `-t..t`.
//!
//! The values come from blind reading studies and OCR measurements (see
//! the README): changing any of them changes every picture, so the pinned
//! hashes in `tests/render.rs` must be updated deliberately.

use std::ops::Range;

/// Cap height of the letters as a share of the picture height. Interference
/// scales glyphs by at least 0.92, which keeps them above 55 %.
pub(crate) const CAP_SHARE: f32 = 0.6;

/// Horizontal stretch per embedded font (Roboto Condensed, Open Sans,
/// Liberation Serif, DejaVu Sans Mono). Roboto Condensed is widened:
/// condensed, its `V`, `N` and `M` are narrow zig-zags that run together
/// once neighbours touch, the mix-up strangers made most in blind readings.
pub(crate) const FONT_WIDEN: [f32; 4] = [1.15, 1.0, 1.0, 1.0];

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
    /// Overlap with the previous glyph, share of the narrower of the two.
    pub overlap: Range<f32>,
    /// Largest rotation, radians.
    pub tilt: f32,
    /// Largest horizontal shear.
    pub shear: f32,
    /// Period of the bands of reversed contrast ([`BANDS`]), share of `h`.
    pub band_period: Range<f32>,
}

/// Four letters: room to overlap a little. A variable overlap defeats
/// column segmentation, and no letter loses more than a twentieth.
pub(crate) const SHORT_WORD: WordStyle = WordStyle {
    scale: 0.95..1.12,
    overlap: -0.01..0.05,
    tilt: 0.1,
    shear: 0.07,
    // The letters are largest here, so the bands are narrow for their
    // size: at 0.36-0.44 h ddddocr read one four-letter word in ten, at
    // 0.31-0.35 one in thirty; at 0.28-0.30 blind readers misread one in
    // five.
    band_period: 0.31..0.35,
};

/// Five letters: less room, so they only just overlap.
pub(crate) const MEDIUM_WORD: WordStyle = WordStyle {
    scale: 0.94..1.08,
    overlap: -0.02..0.05,
    tilt: 0.1,
    shear: 0.06,
    // Both ways narrow: pictures the solvers read had periods of 0.34 h
    // and up (one in six at 0.34-0.35, one in four above, against one in
    // thirty below 0.34), and blind readers misread one long word in five
    // at 0.28-0.29 h against one in twenty from 0.30 up.
    band_period: 0.3..0.335,
};

/// Six letters fill the picture, so they are drawn smaller (never below
/// 0.92 x 60 % = 55 % of the height), straighter and barely touching: in
/// blind readings, letters merging into their neighbours were what people
/// misread in long words.
pub(crate) const LONG_WORD: WordStyle = WordStyle {
    scale: 0.92..1.02,
    overlap: -0.05..0.01,
    tilt: 0.08,
    shear: 0.05,
    // As for five letters.
    band_period: 0.3..0.335,
};

/// The word style for a word of `count` letters.
pub(crate) fn word_style(count: usize) -> &'static WordStyle {
    match count {
        ..=4 => &SHORT_WORD,
        5 => &MEDIUM_WORD,
        _ => &LONG_WORD,
    }
}

/// The interference row and its warp.
pub(crate) struct InterferenceStyle {
    /// Most of the picture width the word may take before it is narrowed:
    /// wider than the clear row, since overlapping letters take less, but
    /// with a margin: a letter cut by the picture's edge reads as another.
    pub row_share: f32,
    /// Largest vertical offset of a letter's centre, share of `h`.
    pub lift: f32,
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
    warp_amplitude: 0.07,
    warp_wavelength: 0.9,
};

/// Bands of reversed contrast across the whole picture (types 5-8): wavy,
/// tilted stripes drawn over everything with the even-odd rule, so letters
/// are dark on light between bands and light on dark inside them. Generic
/// captcha models read solid dark letters on a plain ground; with the
/// contrast reversing two or three times across every letter they read
/// almost nothing (ddddocr from about 90 % to under 5 %), while the eye
/// follows the letter's edges across the reversals.
///
/// The period (one dark band and one light gap, share of `h`) is set per
/// word length in [`WordStyle::band_period`]: about half the letter height,
/// so that every letter is crossed by two or three band edges (at 0.36-0.44
/// of `h` whole letters fell inside one band, and a model reads a letter
/// inverted as well as upright: ddddocr read one word in ten).
pub(crate) struct BandStyle {
    /// Tilt from the horizontal, radians, either way: tilted so that no
    /// row or column flip undoes the bands from the picture's margins, and
    /// steeply (29-46 degrees), so that a band edge crosses the horizontal
    /// arms of `E`, `F`, `L`, `T` and `Z` instead of running along one and
    /// hiding it (at 11-26 degrees blind readers lost those arms most).
    pub tilt: Range<f32>,
    /// Wave height, share of `h`: bent so that no straight line through
    /// the margins finds the band edges inside the word either.
    pub amplitude: Range<f32>,
    /// Wavelength, share of `h`: longer than a letter, so that a band edge
    /// stays a smooth line the eye does not mistake for a letter's stroke.
    pub wavelength: Range<f32>,
}

/// The bands of the interference types.
pub(crate) const BANDS: BandStyle = BandStyle {
    tilt: 0.5..0.8,
    amplitude: 0.06..0.1,
    wavelength: 1.0..1.6,
};
