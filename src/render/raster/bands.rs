//! The bands of the interference types, computed per pixel when the
//! canvas resolves rather than rasterized: each pixel's place in the
//! stripes is a wrapping 16-bit phase (one per row minus one per column),
//! its coverage a triangle wave of that phase with one pixel of
//! anti-aliasing, and inside the shapes (and the strips) the stripes move
//! by part of a period. Everything here works on eight 16-bit lanes, the
//! eight rows of a band of cells.

use super::{Canvas, FillRule, BAND, FULL, MAX_STRIPS, SUB_BITS};

/// Phase units in one band period: phases are 16-bit and wrap, so that
/// "which band" is free and "where in the band" is the phase itself.
pub(super) const PERIOD: f32 = 65536.0;
/// A quarter of [`PERIOD`]: from a band's edge to its middle.
pub(super) const QUARTER: u16 = 16384;

/// A column of the bands, as `resolve` reads it: each value once per row
/// of a band, so that the loop loads it as one vector rather than
/// spreading a number to eight lanes (three or four instructions).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct BandColumn {
    /// The phase of the bands' top edge in the column.
    pub(super) phase: [u16; BAND],
    /// Minus [`Edge::gain`], the same in every column. Read per column,
    /// the multiply has it as a 16-bit value loaded beside it, and LLVM
    /// makes one `pmulhw`; a value from outside the loop is widened to 32
    /// bits once, before it, and the multiply emulated in 32-bit lanes,
    /// about ten instructions more per column.
    pub(super) gain: [i16; BAND],
    /// The rows of each strip in the column (see [`Canvas::set_strips`]),
    /// as the resolve reads them: row `y` lies in strip `s` when
    /// `strips[s][0] <= y < strips[s][1]`. Empty (`0..0`) unless set.
    pub(super) strips: [[[i16; BAND]; 2]; MAX_STRIPS],
}

/// How sharp a band's edge is, derived from the phase units per pixel:
/// one pixel of anti-aliasing, so the coverage ramps from none to a whole
/// pixel over the pixel either side of the edge.
#[derive(Clone, Copy, Debug)]
pub(super) struct Edge {
    /// Coverage (in `FULL` units) per unit of phase, times 65536 and
    /// divided by `2^shift` to fit 16 bits (the resolve loop works in
    /// 16-bit lanes, whose high-half multiply SSE2 has).
    pub(super) gain: i16,
    /// See `gain`.
    pub(super) shift: u32,
}

impl Edge {
    pub(super) fn new(per_pixel: f32) -> Edge {
        let mut gain = FULL as f32 * 65536.0 / per_pixel;
        let mut shift = 0;
        while gain >= f32::from(i16::MAX) {
            gain *= 0.5;
            shift += 1;
        }
        Edge {
            gain: gain as i16,
            shift,
        }
    }
}

impl Canvas {
    /// Lays bands of reversed contrast over the whole canvas for the next
    /// `resolve` (and sets the even-odd rule): stripes `spacing` pixels
    /// apart down each column, half of it thick, the top edge of one of
    /// them at `top(x)` in column `x` (given the column's middle), where
    /// row `y` lies `down(y)` down every column (`y` itself for evenly
    /// spaced stripes; a function that rises steadily, else stripes fold).
    /// Computing them per pixel in the resolve costs a few operations a
    /// pixel; as polygons, their long shallow edges cost more than all the
    /// glyphs.
    pub fn set_bands(&mut self, spacing: f32, top: impl Fn(f32) -> f32, down: impl Fn(f32) -> f32) {
        let per_pixel = PERIOD / spacing;
        // Wrapping conversion: only the phase within a period matters.
        let phase = |y: f32| (y * per_pixel) as i64 as u16;
        // The bands' tops first (a sine each), then their phases: the loop
        // around the sine then does little else, and more of the sines
        // (each a long chain of dependent steps) run at once.
        let tops = &mut self.band_tops[..self.width];
        for (x, t) in tops.iter_mut().enumerate() {
            *t = top(x as f32 + 0.5);
        }
        for (column, &t) in self.band_columns.iter_mut().zip(tops.iter()) {
            column.phase = [phase(t); BAND];
        }
        // Rows past the height (the last band's padding) are resolved but
        // never written out: they keep whatever phase they have, and cost
        // no `down` (a sine) here.
        let rows = self.band_rows[..self.height].iter_mut();
        for ((y, row), d) in rows.enumerate().zip(&mut self.band_downs) {
            *d = down(y as f32 + 0.5);
            // Centred on the band's middle here, once, rather than per pixel.
            *row = phase(*d).wrapping_sub(QUARTER);
        }
        let edge = Edge::new(per_pixel);
        for column in &mut self.band_columns {
            column.gain = [-edge.gain; BAND];
            column.strips = [[[0; BAND]; 2]; MAX_STRIPS];
        }
        self.band_shift = edge.shift;
        self.band_limit = ((FULL / 2) >> edge.shift) as i16;
        self.bands = true;
        self.moved = false;
        self.rule = FillRule::EvenOdd;
        // Bands cover everything.
        self.touch(
            [0, 0],
            [
                (self.width as i32) << SUB_BITS,
                (self.height as i32) << SUB_BITS,
            ],
        );
    }

    /// After [`Canvas::set_bands`]: inside the shapes filled (by the
    /// even-odd rule), the bands move `share` of their period across
    /// themselves instead of being reversed; a pixel the shapes partly
    /// cover blends the two by that share, so outlines stay anti-aliased.
    /// Half a period looks like the reversal; any other share gives no
    /// negative of the bands, only a row of stripe ends along the outline.
    pub fn set_band_shift(&mut self, share: f32) {
        // Wrapping: only the phase within a period matters.
        self.moved_by = (share * PERIOD) as i64 as u16;
        self.moved = true;
    }

    /// After [`Canvas::set_band_shift`]: strips of the bands that move as
    /// the shapes move them, and inside which a shape moves them back.
    /// Strip `[from, to)` is where the bands' own coordinate (the `down`
    /// of the row less the `top` of the column, given to
    /// [`Canvas::set_bands`]) lies within it, decided per pixel centre:
    /// the edge of a strip is not anti-aliased, so it belongs where both
    /// sides are light. Strips that overlap cancel, as shapes do; past
    /// [`MAX_STRIPS`] they are ignored.
    ///
    /// In a column a strip is a run of rows, since `down` rises: its ends
    /// move a row or so from one column to the next, so each is found by
    /// stepping from where it was in the column before, not by a search.
    pub fn set_strips(&mut self, strips: &[[f32; 2]]) {
        let downs = &self.band_downs[..self.height];
        // Strips not given stay empty: both ends before every row.
        let mut ends = [f32::NEG_INFINITY; 2 * MAX_STRIPS];
        for (pair, &[from, to]) in ends.as_chunks_mut::<2>().0.iter_mut().zip(strips) {
            *pair = [from.min(to), from.max(to)];
        }
        // Where each end was in the column before: the first row whose
        // `down` reaches it.
        let mut rows = [0usize; 2 * MAX_STRIPS];
        let columns = self.band_columns.iter_mut().zip(&self.band_tops);
        for (column, &top) in columns {
            for (end, row) in ends.iter().zip(&mut rows) {
                let target = top + end;
                while downs.get(*row).is_some_and(|&d| d < target) {
                    *row += 1;
                }
                while *row > 0 && downs[*row - 1] >= target {
                    *row -= 1;
                }
            }
            for (strip, pair) in column.strips.iter_mut().zip(rows.as_chunks::<2>().0) {
                *strip = [[pair[0] as i16; BAND], [pair[1] as i16; BAND]];
            }
        }
    }

    /// Removes the bands (the rule stays as it is).
    pub fn clear_bands(&mut self) {
        self.bands = false;
        self.moved = false;
    }
}

/// The rows of a band as the moved bands' resolve reads them.
pub(super) struct Rows<'a> {
    /// The phase of each row's middle outside the shapes and the strips.
    pub(super) outside: &'a [u16; BAND],
    /// Each row's index.
    pub(super) at: &'a [i16; BAND],
    /// How far the shapes and the strips move the bands (phase units).
    pub(super) moved_by: u16,
}

/// The packed levels of a group of four columns that no shape covers,
/// with moved bands: the bands alone, moved in the strips (the blend of
/// [`Canvas::resolve`] gives exactly them where the shape share is zero).
#[inline(always)]
pub(super) fn bands_alone(
    band_columns: &[BandColumn; 4],
    rows: &Rows,
    limit: i16,
    scale: i16,
) -> [u16; BAND] {
    let mut packed = [0u16; BAND];
    for band_column in band_columns {
        let strip = strip_shift(band_column, rows.at, rows.moved_by);
        let mut phases = *rows.outside;
        for k in 0..BAND {
            phases[k] = phases[k].wrapping_sub(strip[k]);
        }
        let cover = column_bands(band_column, &phases, limit, scale);
        for k in 0..BAND {
            packed[k] = packed[k] << 2 | level_in_range(cover[k] + FULL as i16 / 2);
        }
    }
    packed
}

/// How far the strips move the bands in one column of a band, row by
/// row (`rows` are the rows' indices): `moved_by` in an odd number of
/// strips, else nothing. Two compares and a mask a strip, on eight lanes.
#[inline(always)]
pub(super) fn strip_shift(
    band_column: &BandColumn,
    rows: &[i16; BAND],
    moved_by: u16,
) -> [u16; BAND] {
    let mut odd = [0i16; BAND];
    for [from, to] in &band_column.strips {
        for k in 0..BAND {
            // All ones or zero, as `pcmpgtw` gives them.
            let below_from = -i16::from(from[k] > rows[k]);
            let below_to = -i16::from(to[k] > rows[k]);
            odd[k] ^= !below_from & below_to;
        }
    }
    let mut shift = [0u16; BAND];
    for k in 0..BAND {
        shift[k] = odd[k] as u16 & moved_by;
    }
    shift
}

/// The bands' coverage of one column of a band, row by row, whose rows'
/// phases are `rows` (the unmoved or the moved ones).
#[inline(always)]
pub(super) fn column_bands(
    band_column: &BandColumn,
    rows: &[u16; BAND],
    limit: i16,
    scale: i16,
) -> [i16; BAND] {
    let mut cover = [0i16; BAND];
    for k in 0..BAND {
        let centred = rows[k].wrapping_sub(band_column.phase[k]) as i16;
        cover[k] = band_cover(centred, band_column.gain[k], limit, scale);
    }
    cover
}

/// The share of a pixel that the shapes cover by the even-odd rule, from
/// their winding `sum`, `0..=FULL` (as [`super::level_even_odd`] folds it, before
/// the levels). In 16-bit signed lanes (`pminsw`; SSE2 has no unsigned
/// 16-bit `min`): both sides are at most `2 * FULL`.
#[inline(always)]
pub(super) fn shape_share(sum: i16) -> i16 {
    let phase = (sum as u16 & (2 * FULL as u16 - 1)) as i16;
    phase.min(2 * FULL as i16 - phase)
}

/// The coverage of a pixel, less half a pixel, that the bands cover
/// `outside` the shapes and `inside` them (both less half a pixel, as
/// [`band_cover`] gives them), where the shapes cover `shape` of it (see
/// [`shape_share`]): `shape` takes `inside`, the rest `outside`.
///
/// Exactly `outside + ((inside - outside) * shape) >> 11` (rounded down),
/// in 16-bit lanes: the difference is within `-FULL..=FULL` and `shape`
/// within `0..=FULL`, so `4 * difference` and `8 * shape` fit 16 bits and
/// the high half of their product (`pmulhw`) is the product times 32
/// shifted right by 16, the same floor. The 32-bit form widens every lane
/// and emulates the multiply (SSE2 has no `pmulld`).
#[inline(always)]
pub(super) fn blend(outside: i16, inside: i16, shape: i16) -> i16 {
    let difference = (inside - outside) * 4;
    let share = shape * 8;
    outside + ((i32::from(difference) * i32::from(share)) >> 16) as i16
}

/// [`super::level`] for a coverage known to be within `0..=FULL`, which needs
/// no clamp: a blend of two band coverages (see [`blend`]) lies between
/// them, and both lie within `-FULL / 2..=FULL / 2`. (The unit test checks
/// every blend.)
#[inline(always)]
pub(super) fn level_in_range(cover: i16) -> u16 {
    (cover as u16 * 3 + FULL as u16 / 2) >> 11
}

/// How much of a pixel a band covers, less half a pixel, `-FULL / 2..=FULL
/// / 2`, from the pixel's phase less a quarter period, `centred`
/// (`-PERIOD / 4..PERIOD / 4` is inside the band), minus the edge's gain,
/// `limit` (`(FULL / 2) >> shift`) and `scale` (`1 << shift`): a triangle
/// wave of the distance to the nearest band edge, times the gain, clamped
/// where the ramp of one pixel either side of the edge is done.
///
/// Every step is one or two SSE2 instructions on eight 16-bit lanes: the
/// loop in `resolve_with` runs this for every pixel of the interference
/// types.
///
/// The result is the same as clamping the distance to the ramp first and
/// the coverage to `0..=FULL` last: the coverage is monotonic in the
/// distance and a ramp's worth of it is more than half a pixel, so past
/// the ramp either way both give a whole pixel or none (the unit test
/// checks every phase). Clamping the product once, before the shift,
/// keeps the shift from overflowing as well.
#[inline(always)]
pub(super) fn band_cover(centred: i16, minus_gain: i16, limit: i16, scale: i16) -> i16 {
    // The distance from the band's edges, positive outside it. `max` with
    // the wrapping negation is the absolute value in 16 bits, except that
    // -32768 (the gap's middle) stays -32768, which the wrapping
    // subtraction maps to 16384 all the same.
    let outside = centred
        .max(centred.wrapping_neg())
        .wrapping_sub(QUARTER as i16);
    // The multiply rounds down: `outside * -gain` is exactly the inside
    // distance times the gain, and so rounds as that would.
    let ramped = ((i32::from(outside) * i32::from(minus_gain)) >> 16) as i16;
    // `max` then `min` rather than `clamp`, whose compares do not all
    // become `pmaxsw` / `pminsw`.
    ramped.max(-limit).min(limit).wrapping_mul(scale)
}
