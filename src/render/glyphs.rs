//! The embedded fonts and the glyph cache: every letter of the alphabet in
//! every font, as a flattened outline (closed polygons in pixels) at the
//! cap height a generator needs.
//!
//! Outlines rather than bitmaps: the generator rotates, shears, scales and
//! warps each glyph, and transforming ~60 outline points then rasterizing
//! them exactly is both faster and sharper than resampling a bitmap. The
//! outlines come from `ttf-parser`; the bounding box of each font's `H`
//! sizes it.

use crate::render::policy::ALPHABET;
use crate::render::style::FONT_WIDEN;

/// The embedded font files (see `fonts/README.md` for their licences).
const FONT_FILES: [&[u8]; 4] = [
    include_bytes!("../../fonts/RobotoCondensed-Bold.ttf"),
    include_bytes!("../../fonts/OpenSans-Bold.ttf"),
    include_bytes!("../../fonts/LiberationSerif-Bold.ttf"),
    include_bytes!("../../fonts/DejaVuSansMono-Bold.ttf"),
];

/// How many fonts a glyph may be drawn in.
pub(crate) const FONT_COUNT: usize = FONT_FILES.len();

// Every font needs its stretch in the style table.
const _: () = assert!(FONT_WIDEN.len() == FONT_COUNT);

/// Longest outline segment, in pixels: long straight edges are cut so that
/// the warp can bend them.
const MAX_SEGMENT: f32 = 16.0;

/// Largest distance, in pixels, between a curve and the chords that
/// replace it.
const FLATNESS: f32 = 0.3;

/// One letter as closed polygons, in pixels, y down, with the origin at the
/// centre of its capital-height box.
pub(crate) struct Glyph {
    /// Outline vertices of all contours, one after another.
    pub points: Vec<[f32; 2]>,
    /// Where each contour ends (exclusive index into `points`).
    pub contour_ends: Vec<usize>,
    /// Bounding box width in pixels.
    pub width: f32,
}

/// All letters of [`ALPHABET`] in all fonts at one cap height.
pub(crate) struct GlyphSet {
    glyphs: Vec<Glyph>,
}

impl GlyphSet {
    /// Builds the outlines so that a capital `H` is `cap_height` pixels tall.
    pub fn new(cap_height: f32) -> GlyphSet {
        let mut glyphs = Vec::with_capacity(FONT_COUNT * ALPHABET.len());
        for (bytes, widen) in FONT_FILES.iter().zip(FONT_WIDEN) {
            let face = ttf_parser::Face::parse(bytes, 0).expect("embedded font parses");
            let cap_units = face
                .glyph_index('H')
                .and_then(|id| face.glyph_bounding_box(id))
                .map_or(f32::from(face.units_per_em()) * 0.7, |b| {
                    f32::from(b.height())
                });
            let scale = cap_height / cap_units;
            let scales = [scale * widen, scale];
            for &letter in ALPHABET {
                glyphs.push(outline(&face, char::from(letter), scales, cap_height));
            }
        }
        GlyphSet { glyphs }
    }

    /// [`GlyphSet::new`] with every stroke `2 * d` pixels thicker (see
    /// [`embolden`]).
    pub fn bold(cap_height: f32, d: f32) -> GlyphSet {
        let mut set = GlyphSet::new(cap_height);
        for glyph in &mut set.glyphs {
            embolden(glyph, d);
            glyph.width += 2.0 * d;
        }
        set
    }

    /// The glyph of `ALPHABET[letter]` in font number `font`.
    pub fn get(&self, font: usize, letter: usize) -> &Glyph {
        &self.glyphs[font * ALPHABET.len() + letter]
    }
}

/// Collects a glyph outline as flattened polygons in pixels.
struct Flattener {
    /// Pixels per font unit, across and down.
    scale: [f32; 2],
    points: Vec<[f32; 2]>,
    contour_ends: Vec<usize>,
    start: [f32; 2],
    last: [f32; 2],
}

impl Flattener {
    fn map(&self, x: f32, y: f32) -> [f32; 2] {
        // Font units, y up -> pixels, y down.
        [x * self.scale[0], -y * self.scale[1]]
    }

    /// Appends the curve `f(t)` for t in (0, 1] as chords: enough that none
    /// is longer than MAX_SEGMENT (measured on the control polygon,
    /// `length`) or strays more than FLATNESS from the curve (`bend` is the
    /// control polygon's second difference, which bounds that distance).
    fn push_curve(&mut self, length: f32, bend: f32, f: impl Fn(f32) -> [f32; 2]) {
        let by_length = length / MAX_SEGMENT;
        let by_bend = (bend / (4.0 * FLATNESS)).sqrt();
        let pieces = by_length.max(by_bend).ceil().clamp(1.0, 64.0) as usize;
        for i in 1..=pieces {
            self.points.push(f(i as f32 / pieces as f32));
        }
        self.last = f(1.0);
    }

    fn close_contour(&mut self) {
        if self.points.len() > self.contour_ends.last().copied().unwrap_or(0) {
            let (from, to) = (self.last, self.start);
            self.push_curve(distance(from, to), 0.0, |t| lerp(from, to, t));
            self.contour_ends.push(self.points.len());
        }
    }
}

impl ttf_parser::OutlineBuilder for Flattener {
    fn move_to(&mut self, x: f32, y: f32) {
        self.close_contour();
        let p = self.map(x, y);
        self.points.push(p);
        self.start = p;
        self.last = p;
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (from, to) = (self.last, self.map(x, y));
        self.push_curve(distance(from, to), 0.0, |t| lerp(from, to, t));
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (p0, p1, p2) = (self.last, self.map(x1, y1), self.map(x, y));
        let length = distance(p0, p1) + distance(p1, p2);
        let bend = second_difference(p0, p1, p2);
        self.push_curve(length, bend, |t| lerp(lerp(p0, p1, t), lerp(p1, p2, t), t));
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (p0, p1, p2, p3) = (
            self.last,
            self.map(x1, y1),
            self.map(x2, y2),
            self.map(x, y),
        );
        let length = distance(p0, p1) + distance(p1, p2) + distance(p2, p3);
        let bend = 1.5 * second_difference(p0, p1, p2).max(second_difference(p1, p2, p3));
        self.push_curve(length, bend, |t| {
            let (a, b, c) = (lerp(p0, p1, t), lerp(p1, p2, t), lerp(p2, p3, t));
            lerp(lerp(a, b, t), lerp(b, c, t), t)
        });
    }

    fn close(&mut self) {
        self.close_contour();
    }
}

fn lerp(a: [f32; 2], b: [f32; 2], t: f32) -> [f32; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// `|a - 2b + c|`: how far a quadratic bends away from its chord (the
/// distance is at most a quarter of it).
fn second_difference(a: [f32; 2], b: [f32; 2], c: [f32; 2]) -> f32 {
    distance([a[0] - b[0], a[1] - b[1]], [b[0] - c[0], b[1] - c[1]])
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt()
}

fn outline(face: &ttf_parser::Face<'_>, c: char, scale: [f32; 2], cap_height: f32) -> Glyph {
    let mut f = Flattener {
        scale,
        points: Vec::new(),
        contour_ends: Vec::new(),
        start: [0.0; 2],
        last: [0.0; 2],
    };
    if let Some(id) = face.glyph_index(c) {
        face.outline_glyph(id, &mut f);
    }
    f.close_contour();
    let (mut min, mut max) = ([f32::MAX; 2], [f32::MIN; 2]);
    for p in &f.points {
        for k in 0..2 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    // Centred across the ink, and vertically on the capitals' middle, so
    // that letters share a baseline and descenders (J) hang below it.
    let center = [(min[0] + max[0]) * 0.5, -cap_height * 0.5];
    for p in &mut f.points {
        p[0] -= center[0];
        p[1] -= center[1];
    }
    let mut glyph = Glyph {
        points: f.points,
        contour_ends: f.contour_ends,
        width: (max[0] - min[0]).max(0.0),
    };
    // Ink is wound clockwise on screen (see `canvas`); fonts differ, so
    // turn the whole glyph round when it comes the other way (its holes
    // turn with it and stay holes).
    if signed_area(&glyph) < 0.0 {
        let mut start = 0;
        for &end in &glyph.contour_ends {
            glyph.points[start..end].reverse();
            start = end;
        }
    }
    glyph
}

/// Moves every outline point of `glyph` by `d` pixels out of the ink
/// (into it for a negative `d`), along the bisector of its two edges'
/// normals: strokes grow `2 d` thicker and counters as much smaller. Ink
/// is wound clockwise on screen and holes the other way, so the outward
/// normal of an edge `a -> b` is `(dy, -dx)` for both.
pub(crate) fn embolden(glyph: &mut Glyph, d: f32) {
    let mut start = 0;
    for &end in &glyph.contour_ends {
        let contour = &mut glyph.points[start..end];
        let n = contour.len();
        let normal = |a: [f32; 2], b: [f32; 2]| {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len = (dx * dx + dy * dy).sqrt().max(1e-6);
            [dy / len, -dx / len]
        };
        let moved: Vec<[f32; 2]> = (0..n)
            .map(|i| {
                let (prev, p, next) = (contour[(i + n - 1) % n], contour[i], contour[(i + 1) % n]);
                let (n0, n1) = (normal(prev, p), normal(p, next));
                let mid = [n0[0] + n1[0], n0[1] + n1[1]];
                let len = (mid[0] * mid[0] + mid[1] * mid[1]).sqrt().max(1e-6);
                // The bisector's length for an offset of `d` from both
                // edges, capped at sharp corners (a miter limit).
                let cos = (len * 0.5).max(0.5);
                let k = d / (len * cos);
                [p[0] + mid[0] * k, p[1] + mid[1] * k]
            })
            .collect();
        contour.copy_from_slice(&moved);
        start = end;
    }
}

/// Twice the signed area of a glyph's outline (shoelace formula).
pub(crate) fn signed_area(glyph: &Glyph) -> f32 {
    let mut area = 0.0;
    let mut start = 0;
    for &end in &glyph.contour_ends {
        area += polygon_area(&glyph.points[start..end]);
        start = end;
    }
    area
}

/// Twice the signed area of a closed polygon.
pub(crate) fn polygon_area(points: &[[f32; 2]]) -> f32 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emboldening_moves_outlines_out_of_the_ink_and_into_holes() {
        // A 10x10 square wound as ink with a 4x4 hole wound the other way.
        let mut g = Glyph {
            points: vec![
                [0.0, 0.0],
                [10.0, 0.0],
                [10.0, 10.0],
                [0.0, 10.0],
                [3.0, 3.0],
                [3.0, 7.0],
                [7.0, 7.0],
                [7.0, 3.0],
            ],
            contour_ends: vec![4, 8],
            width: 10.0,
        };
        embolden(&mut g, 1.0);
        let want = [
            [-1.0, -1.0],
            [11.0, -1.0],
            [11.0, 11.0],
            [-1.0, 11.0],
            [4.0, 4.0],
            [4.0, 6.0],
            [6.0, 6.0],
            [6.0, 4.0],
        ];
        for (p, w) in g.points.iter().zip(want) {
            assert!(
                (p[0] - w[0]).abs() < 1e-5 && (p[1] - w[1]).abs() < 1e-5,
                "{p:?} {w:?}"
            );
        }
        // Nothing moves at zero, so the clear types' glyphs stay as they are.
        let before = g.points.clone();
        embolden(&mut g, 0.0);
        assert_eq!(g.points, before);
    }

    #[test]
    fn every_letter_has_a_closed_outline_of_cap_height() {
        let set = GlyphSet::new(32.0);
        for font in 0..FONT_COUNT {
            for letter in 0..ALPHABET.len() {
                let g = set.get(font, letter);
                assert!(!g.contour_ends.is_empty());
                assert!(g.points.len() > 10);
                // Cap height is normalized across fonts (J may descend).
                let top = g.points.iter().map(|p| p[1]).fold(f32::MAX, f32::min);
                let bottom = g.points.iter().map(|p| p[1]).fold(f32::MIN, f32::max);
                assert!((-17.5..=-15.0).contains(&top), "{font} {letter} top {top}");
                assert!(
                    (15.0..=26.0).contains(&bottom),
                    "{font} {letter} bottom {bottom}"
                );
                assert!(g.width > 10.0 && g.width < 50.0, "width {}", g.width);
                // Every glyph is wound as ink, and segments are short.
                assert!(signed_area(g) > 0.0);
                let mut start = 0;
                for &end in &g.contour_ends {
                    for w in g.points[start..end].windows(2) {
                        assert!(
                            distance(w[0], w[1]) <= 1.2 * MAX_SEGMENT,
                            "{font} {letter} {w:?}"
                        );
                    }
                    start = end;
                }
            }
        }
    }
}
