//! The embedded fonts and the glyph cache: every letter of the alphabet in
//! every font, rasterized once with fontdue at the size a generator needs.

use std::sync::OnceLock;

use crate::policy::ALPHABET;

/// The embedded font files (see `fonts/README.md` for their licences).
const FONT_FILES: [&[u8]; 4] = [
    include_bytes!("../fonts/RobotoCondensed-Bold.ttf"),
    include_bytes!("../fonts/OpenSans-Bold.ttf"),
    include_bytes!("../fonts/LiberationSerif-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSansMono-Bold.ttf"),
];

/// How many fonts a glyph may be drawn in.
pub(crate) const FONT_COUNT: usize = FONT_FILES.len();

/// Parsed fonts, shared by every generator of the process (parsing costs
/// milliseconds; rasterizing a cached glyph set costs far less).
fn fonts() -> &'static [fontdue::Font] {
    static FONTS: OnceLock<Vec<fontdue::Font>> = OnceLock::new();
    FONTS.get_or_init(|| {
        FONT_FILES
            .iter()
            .map(|bytes| {
                fontdue::Font::from_bytes(*bytes, fontdue::FontSettings::default())
                    .expect("embedded font parses")
            })
            .collect()
    })
}

/// One rasterized letter: an 8-bit coverage bitmap with a one-pixel empty
/// border, so that bilinear sampling never has to special-case the edges.
pub(crate) struct Glyph {
    /// Bitmap width including the border.
    pub width: usize,
    /// Bitmap height including the border.
    pub height: usize,
    /// Row-major coverage, 0 (empty) to 255 (ink).
    pub coverage: Vec<u8>,
}

/// All letters of [`ALPHABET`] in all fonts at one cap height.
pub(crate) struct GlyphSet {
    glyphs: Vec<Glyph>,
    /// Mean vertical stem width of the fonts at this size, in pixels: the
    /// width that crossing strokes copy so they cannot be told apart by it.
    pub stem_width: f32,
}

impl GlyphSet {
    /// Rasterizes every letter so that a capital `H` is `cap_height` pixels tall.
    pub fn new(cap_height: f32) -> GlyphSet {
        let mut glyphs = Vec::with_capacity(FONT_COUNT * ALPHABET.len());
        let mut stems = 0.0;
        for font in fonts() {
            // Scale each font so that all have the same cap height.
            let (h_metrics, _) = font.rasterize('H', 100.0);
            let px = cap_height * 100.0 / h_metrics.height.max(1) as f32;
            for &letter in ALPHABET {
                glyphs.push(rasterize(font, char::from(letter), px));
            }
            stems += stem_width(font, px);
        }
        GlyphSet {
            glyphs,
            stem_width: stems / FONT_COUNT as f32,
        }
    }

    /// The glyph of `ALPHABET[letter]` in font number `font`.
    pub fn get(&self, font: usize, letter: usize) -> &Glyph {
        &self.glyphs[font * ALPHABET.len() + letter]
    }
}

fn rasterize(font: &fontdue::Font, c: char, px: f32) -> Glyph {
    let (m, bitmap) = font.rasterize(c, px);
    let (width, height) = (m.width + 2, m.height + 2);
    let mut coverage = vec![0u8; width * height];
    for (row, src) in bitmap.chunks_exact(m.width.max(1)).enumerate() {
        let start = (row + 1) * width + 1;
        coverage[start..start + m.width].copy_from_slice(src);
    }
    Glyph {
        width,
        height,
        coverage,
    }
}

/// Measures the left stem of `H` a quarter of the way down (above the bar).
fn stem_width(font: &fontdue::Font, px: f32) -> f32 {
    let (m, bitmap) = font.rasterize('H', px);
    let row = &bitmap[(m.height / 4) * m.width..][..m.width];
    let ink: u32 = row
        .iter()
        .skip_while(|&&c| c == 0)
        .take_while(|&&c| c > 0)
        .map(|&c| u32::from(c))
        .sum();
    ink as f32 / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_has_ink_in_every_font() {
        let set = GlyphSet::new(32.0);
        for font in 0..FONT_COUNT {
            for letter in 0..ALPHABET.len() {
                let g = set.get(font, letter);
                let ink: u32 = g.coverage.iter().map(|&c| u32::from(c)).sum();
                assert!(ink > 255 * 20, "font {font} letter {letter} is empty");
                // The border stays empty.
                assert!(g.coverage[..g.width].iter().all(|&c| c == 0));
                // Cap height is normalized across fonts (within a few pixels).
                assert!((28..=40).contains(&g.height), "height {}", g.height);
            }
        }
        assert!(
            set.stem_width > 3.0 && set.stem_width < 9.0,
            "{}",
            set.stem_width
        );
    }
}
