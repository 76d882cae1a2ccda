//! The pipeline: seed -> answer and layout -> glyph, warp and stroke passes
//! -> PNG. A [`Generator`] owns every buffer the pipeline needs, so that
//! rendering many captchas costs no allocation after the first.

use std::cell::RefCell;
use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::Error;
use crate::render::answer::{draw_word, Answer, MAX_LETTERS};
use crate::render::glyphs::{Glyph, GlyphSet, FONT_COUNT};
use crate::render::png::{Compression, PngEncoder};
use crate::render::policy::{CaptchaType, Look, ALPHABET};
use crate::render::raster::{Canvas, FillRule, MAX_POINTS, MAX_STRIPS};
use crate::render::size::{
    DEFAULT_HEIGHT, DEFAULT_WIDTH, MAX_HEIGHT, MAX_WIDTH, MIN_HEIGHT, MIN_WIDTH,
};
use crate::render::style::{
    word_style, WordStyle, BANDS, CAP_SHARE, CLEAR, INTERFERENCE, INTERFERENCE_FONTS, SEAM_STRIPS,
};
use crate::render::warp::{Field, Warp};

/// Picture options: size and colours. Start from [`Options::default`]
/// (130x53, dark ink on a light background) and change what you need.
///
/// ```
/// let opts = qcaptcha::Options::default()
///     .size(160, 60)
///     .colors([255, 255, 255], [20, 40, 120]);
/// let mut generator = qcaptcha::Generator::new(opts).unwrap();
/// # let _ = &mut generator;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    width: u32,
    height: u32,
    background: [u8; 3],
    ink: [u8; 3],
    compression: Compression,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            background: [0xf4, 0xf6, 0xf8],
            ink: [0x1c, 0x27, 0x4c],
            compression: Compression::Stored,
        }
    }
}

impl Options {
    /// Sets the picture size in pixels. Checked by [`Generator::new`]:
    /// width `48..=1024`, height `24..=512`, width at least twice the height.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Sets the background and ink colours (RGB). Anti-aliased edges use the
    /// palette entries in between.
    pub fn colors(mut self, background: [u8; 3], ink: [u8; 3]) -> Self {
        self.background = background;
        self.ink = ink;
        self
    }

    /// Sets how the PNG data is compressed: [`Compression::Stored`] (the
    /// default, fastest) or [`Compression::Fast`] (40 % of the stored
    /// bytes for the clear types, 70 % for the interference types, 4-9 µs
    /// more per picture at 160x60 in our benchmarks).
    pub fn compress(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The picture width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The picture height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The background colour.
    pub fn background(&self) -> [u8; 3] {
        self.background
    }

    /// The ink colour.
    pub fn ink(&self) -> [u8; 3] {
        self.ink
    }

    /// How the PNG data is compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    fn validate(&self) -> Result<(), Error> {
        let (w, h) = (self.width, self.height);
        let ok = (MIN_WIDTH..=MAX_WIDTH).contains(&w)
            && (MIN_HEIGHT..=MAX_HEIGHT).contains(&h)
            && w >= 2 * h;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSize {
                width: w,
                height: h,
            })
        }
    }
}

/// A rendered captcha: the PNG and the answer a person must type.
///
/// Its `Debug` shows the size and the PNG's length, never the answer.
#[derive(Clone, PartialEq, Eq)]
pub struct Captcha {
    png: Vec<u8>,
    answer: Answer,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .field("answer", &self.answer)
            .finish()
    }
}

impl Captcha {
    /// The PNG file.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// The PNG file, by value.
    pub fn into_png(self) -> Vec<u8> {
        self.png
    }

    /// The answer (upper-case letters). Keep it on the server.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// Picture width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Picture height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether `input` is the answer (case-insensitive, trimmed, look-alikes
    /// folded, constant time; see [`crate::picture::answer_matches`]).
    pub fn matches(&self, input: &str) -> bool {
        self.answer.matches(input)
    }
}

/// Where and how one glyph is drawn.
#[derive(Clone, Copy, Debug)]
struct Placement {
    /// Canvas position of the glyph's origin (the middle of its ink across,
    /// the middle of the capital height down).
    center: [f32; 2],
    /// Linear part of the glyph-to-canvas transform, row-major 2x2
    /// (rotation, scale and shear combined).
    matrix: [f32; 4],
}

impl Placement {
    fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let [a, b, c, d] = self.matrix;
        [
            a * p[0] + b * p[1] + self.center[0],
            c * p[0] + d * p[1] + self.center[1],
        ]
    }
}

/// Transforms `glyph` by `placement`, moves every point by `field` if
/// given, and fills the result on `canvas`. `points` is scratch space.
fn draw_glyph(
    canvas: &mut Canvas,
    points: &mut Vec<[f32; 2]>,
    glyph: &Glyph,
    placement: &Placement,
    field: Option<&Field>,
) {
    points.clear();
    // The field's branch taken once, outside the per-point loop.
    let placed = glyph.points.iter().map(|&p| placement.apply(p));
    match field {
        Some(field) => points.extend(placed.map(|q| field.displace(q))),
        None => points.extend(placed),
    }
    canvas.fill(points, &glyph.contour_ends);
}

/// Where the stripes run: the top edge of one in column `x`, and how far
/// down the stripes' own coordinate row `y` lies.
struct BandPath {
    spacing: f32,
    offset: f32,
    slope: f32,
    amplitude: f32,
    frequency: f32,
    phase: f32,
    ripple: f32,
    ripple_frequency: f32,
    ripple_phase: f32,
}

impl BandPath {
    fn top(&self, x: f32) -> f32 {
        self.offset + self.slope * x + self.amplitude * (x * self.frequency + self.phase).sin()
    }

    fn down(&self, y: f32) -> f32 {
        y + self.ripple * (y * self.ripple_frequency + self.ripple_phase).sin()
    }
}

// Every strip the style asks for fits the canvas.
const _: () = assert!(SEAM_STRIPS <= MAX_STRIPS);

/// Where the glyphs of a word go across the picture.
struct Row {
    /// Horizontal centre of each glyph.
    centers: [f32; MAX_LETTERS],
    /// The factor all glyphs are narrowed by to fit (at most 1).
    squeeze: f32,
    /// Right end of the last glyph.
    right: f32,
}

impl Row {
    /// Lays glyphs `widths` wide out left to right, with `gaps[i]` before
    /// glyph `i` (negative: an overlap; `gaps[0]` is not used), centred in
    /// a picture `width` wide. When the row would take more than `share`
    /// of the width, the glyphs and gaps are narrowed (never shortened)
    /// until it fits.
    fn lay_out(widths: &[f32], gaps: &[f32], width: f32, share: f32) -> Row {
        let natural = widths.iter().sum::<f32>() + gaps.iter().skip(1).sum::<f32>();
        let squeeze = (share * width / natural).min(1.0);
        let left = (width - natural * squeeze) * 0.5;
        let mut row = Row {
            centers: [0.0; MAX_LETTERS],
            squeeze,
            right: left,
        };
        for (i, (w, gap)) in widths.iter().zip(gaps).enumerate() {
            if i > 0 {
                row.right += gap * squeeze;
            }
            row.centers[i] = row.right + w * squeeze * 0.5;
            row.right += w * squeeze;
        }
        row
    }
}

/// One glyph of a layout.
#[derive(Clone, Copy, Debug)]
struct Slot {
    font: usize,
    letter: usize,
    placement: Placement,
}

const EMPTY_SLOT: Slot = Slot {
    font: 0,
    letter: 0,
    placement: Placement {
        center: [0.0; 2],
        matrix: [1.0, 0.0, 0.0, 1.0],
    },
};

/// A reusable renderer for one [`Options`]: it owns the glyph cache and all
/// scratch buffers. After the first render, [`Generator::render_into`]
/// allocates nothing beyond growing the caller's output buffer.
///
/// A `Generator` is `Send` (move one into each worker thread); it is not
/// `Sync`. [`crate::generate`] keeps one per thread for default options.
pub struct Generator {
    options: Options,
    glyphs: GlyphSet,
    /// The interference types' glyphs: bolder, so that a stroke holds
    /// the texture that draws it.
    bold: GlyphSet,
    canvas: Canvas,
    field: Field,
    encoder: PngEncoder,
    slots: [Slot; MAX_LETTERS],
    /// Scratch space for transformed outlines.
    points: Vec<[f32; 2]>,
}

impl Generator {
    /// Builds a generator, flattening the glyph outlines for the picture size.
    /// Fails with [`Error::InvalidSize`] for sizes outside the documented range.
    pub fn new(options: Options) -> Result<Generator, Error> {
        options.validate()?;
        let (w, h) = (options.width as usize, options.height as usize);
        Ok(Generator {
            glyphs: GlyphSet::new(CAP_SHARE * h as f32),
            bold: GlyphSet::bold(CAP_SHARE * h as f32, INTERFERENCE.bolden * h as f32),
            canvas: Canvas::new(w, h),
            field: Field::new(w, h),
            encoder: PngEncoder::new(w, h, options.background, options.ink, options.compression),
            slots: [EMPTY_SLOT; MAX_LETTERS],
            points: Vec::with_capacity(MAX_POINTS),
            options,
        })
    }

    /// The options this generator renders with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Renders the captcha of `(kind, seed)` and returns it with its answer.
    pub fn render(&mut self, kind: CaptchaType, seed: u64) -> Result<Captcha, Error> {
        let mut png = Vec::new();
        let answer = self.render_into(kind, seed, &mut png)?;
        Ok(Captcha {
            png,
            answer,
            width: self.options.width,
            height: self.options.height,
        })
    }

    /// Renders the captcha of `(kind, seed)`, replacing the contents of `png`
    /// with the PNG file, and returns the answer. The same `(kind, seed)` and
    /// options always give the same bytes.
    ///
    /// All randomness comes from a ChaCha20 stream seeded with `seed`, so
    /// the seed determines the answer: take seeds from the OS CSPRNG and
    /// keep them secret (the `ticket` module seals them in tokens).
    pub fn render_into(
        &mut self,
        kind: CaptchaType,
        seed: u64,
        png: &mut Vec<u8>,
    ) -> Result<Answer, Error> {
        let (mut rng, answer) = draw_word(kind, seed);
        let count = answer.len();
        for (slot, letter) in self.slots[..count].iter_mut().zip(answer.as_bytes()) {
            slot.letter = ALPHABET.iter().position(|a| a == letter).unwrap_or(0);
        }

        self.canvas.clear_bands();
        // The one place the picture reads the look. Interference moves its
        // bands inside the glyphs: even-odd, and the bands are laid after
        // the glyphs.
        match kind.policy().look {
            Look::Clear => {
                self.canvas.set_rule(FillRule::NonZero);
                self.render_clear(&mut rng, count);
            }
            Look::Interference => {
                self.canvas.set_rule(FillRule::EvenOdd);
                self.render_interference(&mut rng, count);
            }
        }
        png.clear();
        self.encoder.encode(&mut self.canvas, png)?;
        Ok(answer)
    }

    /// Clear types: one font, upright within a few degrees, even gaps.
    fn render_clear(&mut self, rng: &mut ChaCha20Rng, count: usize) {
        let font = rng.random_range(0..FONT_COUNT as u32) as usize;
        let (w, h) = (self.canvas.width as f32, self.canvas.height as f32);
        let mut widths = [0f32; MAX_LETTERS];
        for (slot, width) in self.slots[..count].iter_mut().zip(&mut widths) {
            slot.font = font;
            *width = self.glyphs.get(font, slot.letter).width;
        }
        let gaps = [CLEAR.gap * CAP_SHARE * h; MAX_LETTERS];
        let row = Row::lay_out(&widths[..count], &gaps[..count], w, CLEAR.row_share);
        let squeeze = row.squeeze;
        for (slot, x) in self.slots[..count].iter_mut().zip(row.centers) {
            let angle = rng.random_range(-CLEAR.tilt..CLEAR.tilt);
            let center_y = h * 0.5 + rng.random_range(-CLEAR.lift..CLEAR.lift) * h;
            let (sin, cos) = angle.sin_cos();
            slot.placement = Placement {
                center: [x, center_y],
                matrix: [cos * squeeze, -sin, sin * squeeze, cos],
            };
        }
        self.draw_glyphs(count, false);
    }

    /// Interference types: a font, scale, rotation and shear per glyph,
    /// neighbours apart, one warp of the whole word, and bands over
    /// everything that move inside the glyphs (see
    /// [`crate::render::style`] for why each).
    fn render_interference(&mut self, rng: &mut ChaCha20Rng, count: usize) {
        let h = self.canvas.height as f32;
        let style = word_style(count);
        self.place_word(rng, count, style);
        self.field.fill(&Warp {
            phase: [rng.random(), rng.random(), rng.random(), rng.random()],
            amplitude: INTERFERENCE.warp_amplitude * h,
        });
        self.draw_glyphs(count, true);

        // No crossing ink stroke and no cut, as the earlier design had:
        // under the even-odd bands either shows as a line across letters and
        // background alike, which our blind reading took for an extra letter (a `J`
        // or `Z`), and the band edges already split every letter.
        let path = self.draw_bands(rng, style);
        self.draw_seams(rng, &path, style.seam_at);
    }

    /// Seams that are not letters (see
    /// [`crate::render::style::SEAM_STRIPS`]): strips of the
    /// stripes moved by the letters' share, each between two seams that
    /// run along the stripes through random points of the picture, moved
    /// to the strip's `seam_at` of a period. A letter in a strip moves the
    /// stripes back: still `letter_shift` from what is around it, its
    /// outline whole.
    fn draw_seams(&mut self, rng: &mut ChaCha20Rng, path: &BandPath, seam_at: &[f32]) {
        let (w, h) = (self.canvas.width as f32, self.canvas.height as f32);
        let mut strips = [[0f32; 2]; SEAM_STRIPS];
        let strips = &mut strips[..seam_at.len()];
        for (strip, &at) in strips.iter_mut().zip(seam_at) {
            for seam in strip.iter_mut() {
                let x0 = rng.random_range(0.0..w);
                let y0 = rng.random_range(0.0..h);
                // Where the stripes' own coordinate lies at (x0, y0),
                // moved to `at` of the way down its stripe period.
                let along = path.down(y0) - path.top(x0);
                *seam = (along / path.spacing).floor() * path.spacing + at * path.spacing;
            }
        }
        self.canvas.set_strips(strips);
    }

    /// Lays the bands (see [`BANDS`]) over the whole canvas: parallel wavy
    /// stripes half a period thick, a period apart across their direction,
    /// at a random offset, moved by the word style's `letter_shift` of a
    /// period inside the glyphs, computed per pixel when the canvas
    /// resolves; the period is the style's `band_period`.
    fn draw_bands(&mut self, rng: &mut ChaCha20Rng, style: &WordStyle) -> BandPath {
        let h = self.canvas.height as f32;
        let period = rng.random_range(style.band_period.clone()) * h;
        let mut tilt = rng.random_range(BANDS.tilt);
        if rng.random() {
            tilt = -tilt;
        }
        let amplitude = rng.random_range(BANDS.amplitude) * h;
        let frequency = 2.0 * PI / (rng.random_range(BANDS.wavelength) * h);
        let phase = rng.random_range(0.0..2.0 * PI);
        let slope = tilt.tan();
        // Band edges a period apart across the bands, so `spacing` apart
        // down a column; where the set starts is random.
        let spacing = period / tilt.cos();
        let offset = rng.random_range(0.0..spacing);
        let ripple = rng.random_range(BANDS.ripple) * h;
        let ripple_frequency = 2.0 * PI / (rng.random_range(BANDS.ripple_wavelength) * h);
        let ripple_phase = rng.random_range(0.0..2.0 * PI);
        let path = BandPath {
            spacing,
            offset,
            slope,
            amplitude,
            frequency,
            phase,
            ripple,
            ripple_frequency,
            ripple_phase,
        };
        self.canvas
            .set_bands(spacing, |x| path.top(x), |y| path.down(y));
        // Moved, not reversed, inside the letters (see `letter_shift`).
        self.canvas.set_band_shift(style.letter_shift);
        path
    }

    /// Draws each glyph's font and scale, lays the word out with
    /// overlapping neighbours and turns, shears and lifts each glyph.
    fn place_word(&mut self, rng: &mut ChaCha20Rng, count: usize, style: &WordStyle) {
        let w = self.canvas.width as f32;
        let h = self.canvas.height as f32;
        let mut widths = [0f32; MAX_LETTERS];
        let mut scales = [0f32; MAX_LETTERS];
        let mut gaps = [0f32; MAX_LETTERS];
        for i in 0..count {
            let slot = &mut self.slots[i];
            slot.font = INTERFERENCE_FONTS[rng.random_range(0..INTERFERENCE_FONTS.len())];
            scales[i] = rng.random_range(style.scale.clone());
            widths[i] = self.bold.get(slot.font, slot.letter).width * scales[i];
        }
        for i in 1..count {
            gaps[i] = -rng.random_range(style.overlap.clone()) * widths[i].min(widths[i - 1]);
        }
        let row = Row::lay_out(&widths[..count], &gaps[..count], w, INTERFERENCE.row_share);
        let glyphs = self.slots[..count].iter_mut().zip(&scales).zip(row.centers);
        for ((slot, &scale), center_x) in glyphs {
            let angle = rng.random_range(-style.tilt..style.tilt);
            let shear = rng.random_range(-style.shear..style.shear);
            let center_y = h * 0.5 + rng.random_range(-INTERFERENCE.lift..INTERFERENCE.lift) * h;
            let (sin, cos) = angle.sin_cos();
            let (sx, sy) = (scale * row.squeeze, scale);
            // rotation * shear * scale
            slot.placement = Placement {
                center: [center_x, center_y],
                matrix: [
                    cos * sx,
                    (cos * shear - sin) * sy,
                    sin * sx,
                    (sin * shear + cos) * sy,
                ],
            };
        }
    }

    /// Fills the first `count` placed glyphs, through the warp if `warped`.
    fn draw_glyphs(&mut self, count: usize, warped: bool) {
        let field = warped.then_some(&self.field);
        let set = if warped { &self.bold } else { &self.glyphs };
        for slot in &self.slots[..count] {
            let glyph = set.get(slot.font, slot.letter);
            draw_glyph(
                &mut self.canvas,
                &mut self.points,
                glyph,
                &slot.placement,
                field,
            );
        }
    }
}

thread_local! {
    static DEFAULT_GENERATOR: RefCell<Option<Generator>> = const { RefCell::new(None) };
}

/// Renders the captcha of `(kind, seed)` at the default size and colours,
/// with a generator kept per thread.
///
/// The same `(kind, seed)` gives the same PNG bytes and answer on any
/// thread, in any process. The seed determines the answer: in production
/// take it from the OS CSPRNG (e.g. `rand::rngs::OsRng`) and never send it
/// to a client.
///
/// ```
/// use qcaptcha::{generate, CaptchaType};
/// let captcha = generate(CaptchaType::Interference5, 42).unwrap();
/// assert_eq!(captcha.answer().len(), 5);
/// assert!(captcha.png().starts_with(b"\x89PNG"));
/// assert_eq!(captcha, generate(CaptchaType::Interference5, 42).unwrap());
/// ```
pub fn generate(kind: CaptchaType, seed: u64) -> Result<Captcha, Error> {
    DEFAULT_GENERATOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let generator = match cell.as_mut() {
            Some(g) => g,
            None => cell.insert(Generator::new(Options::default())?),
        };
        generator.render(kind, seed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_centred_and_narrowed_only_when_too_wide() {
        // Fits: 10 + 2 + 10 - 1 + 10 = 31 of 100, centred, not narrowed.
        let row = Row::lay_out(&[10.0, 10.0, 10.0], &[0.0, 2.0, -1.0], 100.0, 0.9);
        assert_eq!(row.squeeze, 1.0);
        assert_eq!(row.right, 65.5);
        assert_eq!(&row.centers[..3], &[39.5, 51.5, 60.5]);
        // Too wide: 4 x 30 = 120 narrowed to 90 % of 100, still centred.
        let row = Row::lay_out(&[30.0; 4], &[0.0; 4], 100.0, 0.9);
        assert!((row.squeeze - 0.75).abs() < 1e-6);
        assert!((row.centers[0] - 16.25).abs() < 1e-4 && (row.right - 95.0).abs() < 1e-4);
    }

    #[test]
    fn interference_letters_are_at_least_half_the_height() {
        // Measured on the placed outlines (before the warp, which moves
        // points by a few percent either way), since the bands cover the
        // whole picture and hide the letters' extent from the pixels.
        let mut generator = Generator::new(Options::default().size(160, 60)).unwrap();
        let mut png = Vec::new();
        for kind in [CaptchaType::Interference4, CaptchaType::Interference6] {
            for seed in 0..200 {
                let answer = generator.render_into(kind, seed, &mut png).unwrap();
                for slot in &generator.slots[..answer.len()] {
                    let glyph = generator.bold.get(slot.font, slot.letter);
                    let ys = glyph.points.iter().map(|&p| slot.placement.apply(p)[1]);
                    let (lo, hi) =
                        ys.fold((f32::MAX, f32::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
                    assert!(hi - lo >= 0.5 * 60.0, "{kind:?} seed {seed}: {}", hi - lo);
                }
            }
        }
    }
}
