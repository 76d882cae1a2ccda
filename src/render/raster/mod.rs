//! The canvas: an exact-area polygon rasterizer that owns its cells.
//!
//! Every edge adds its signed area to an accumulation buffer (the
//! font-rs / stb_truetype "signed area" method); a running sum along each
//! row then gives the winding, and the coverage is that winding clamped to
//! `0..=1`. Polygons wound clockwise on screen (positive shoelace area with
//! y down) add ink, so glyphs and strokes that overlap merge into one shape
//! of one colour: that is what makes segmentation hard. Polygons wound the
//! other way erase one layer of ink and never paint the background.
//!
//! The interference types resolve with the even-odd rule instead
//! ([`FillRule::EvenOdd`]): coverage then folds back every second layer,
//! so a shape drawn over another reverses the contrast under it. With
//! computed bands and a band shift ([`Canvas::set_band_shift`]) the shapes
//! move the bands by part of a period instead of reversing them: that is
//! how the interference letters are drawn. Strips of the bands
//! ([`Canvas::set_strips`]) are moved the same way as the shapes, and a
//! shape inside a strip moves them back.
//!
//! Edges are walked in integers: points are converted once to fixed point
//! (1/32 pixel), a piece of edge within one pixel on a scanline costs two
//! multiplications, and one crossing a pixel boundary is split without
//! branches. Floats are left to two divisions per edge (its slope).

mod bands;

use bands::{bands_alone, blend, column_bands, level_in_range, shape_share};
use bands::{strip_shift, BandColumn, Rows};

/// Subpixels per pixel, each way (5 fractional bits: plenty for four
/// output levels).
const SUB: i32 = 32;
/// log2 of [`SUB`].
const SUB_BITS: u32 = 5;
/// Accumulated value of a fully covered pixel: a piece of edge one pixel
/// tall (`SUB`) weighs its two cells with fractions summing to `2 * SUB`.
/// Fifteen overlapping shapes still fit an `i16`.
const FULL: i32 = 2 * SUB * SUB;
/// Points are clamped to +-LIMIT pixels, which keeps every product in the
/// edge walk within range; the canvas is at most 1024 pixels wide.
const LIMIT: f32 = 16384.0;
/// Cap of the 16.16 height-per-x of an edge (near-vertical edges).
const MAX_RISE: f64 = (SUB << 16) as f64;
/// Points of the largest polygon a canvas expects: scratch space for that
/// many is reserved up front, so that filling allocates nothing. Glyphs
/// have under a hundred points, a stroke across the widest picture under
/// three hundred; a larger polygon still works (the scratch grows).
pub(crate) const MAX_POINTS: usize = 1024;
/// Rows resolved together: the running sums of eight rows advance side by
/// side, one SIMD lane each, so cells are stored column by column within
/// each band of eight rows.
const BAND: usize = 8;

/// Strips a canvas can move ([`Canvas::set_strips`]): each costs a few
/// operations a pixel in the resolve, whether set or not.
pub(crate) const MAX_STRIPS: usize = 4;

/// Accumulated signed edge area per pixel, in bands of [`BAND`] rows, with
/// three spare columns on the right (a piece of edge on the right side
/// writes up to two past it) rounded up to whole groups of four pixels
/// (one output byte).
pub(crate) struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Columns per band, a multiple of four.
    stride: usize,
    /// Cell `(x, y)` is at `(y / BAND * stride + x) * BAND + y % BAND`.
    /// Arithmetic wraps: only the running sums must fit, and they do.
    cells: Vec<i16>,
    /// Cells touched since the last resolve, `[x0, y0, x1, y1)`.
    touched: [usize; 4],
    /// Scratch: the points of the polygon being filled, in fixed point.
    fixed: Vec<[i32; 2]>,
    /// Scratch: the polygon's edges that cross rows of the canvas, set up
    /// for their walk (see [`Canvas::fill`]).
    edges: Vec<EdgeWalk>,
    /// Scratch for `resolve`: per output byte column of a band, its byte
    /// in each of the band's rows.
    columns: Vec<[u16; BAND]>,
    /// How `resolve` turns windings into coverage.
    rule: FillRule,
    /// Whether `resolve` adds the bands below (even-odd): stripes whose
    /// coverage is computed per pixel instead of rasterized.
    bands: bool,
    /// Per column: the phase of the bands' top edge there, in 1/65536 of
    /// the band period (wrapping), and the edge gain.
    band_columns: Vec<BandColumn>,
    /// The bands' top edge in each column (see [`Canvas::set_bands`]).
    band_tops: Vec<f32>,
    /// How far down the bands' own coordinate each row's middle lies (the
    /// `down` of [`Canvas::set_bands`]), rising.
    band_downs: Vec<f32>,
    /// Per row: the phase of the row's middle, the same way, less a
    /// quarter period (the middle of a band, which starts at phase 0).
    band_rows: Vec<u16>,
    /// See [`bands::Edge::shift`].
    band_shift: u32,
    /// `(FULL / 2) >> band_shift`: where the edge ramp ends, before the
    /// shift (see [`bands::band_cover`]).
    band_limit: i16,
    /// Inside the shapes filled, the bands move this far along their
    /// period (phase units), when `moved` is set.
    moved_by: u16,
    /// Whether the shapes move the bands (see [`Canvas::set_band_shift`])
    /// rather than reverse them.
    moved: bool,
}

/// An edge set up for its walk down the rows ([`Canvas::edge`]).
#[derive(Clone, Copy, Debug, Default)]
struct EdgeWalk {
    /// x where the walk starts, fixed point with 16 more fraction bits.
    x: i64,
    /// x per subpixel down, the same way.
    slope: i64,
    /// Where the walk starts and ends down the canvas, fixed point.
    y: i32,
    y_end: i32,
    /// The winding: -1 down the page from its first point, +1 up.
    dir: i32,
    /// Height per unit of x, 16.16 (see [`Canvas::cover`]).
    rise: i32,
    /// Whether the edge lies within the canvas's sides.
    inside: bool,
}

/// How an accumulated winding becomes coverage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FillRule {
    /// Ink where the winding is positive, clamped to one layer: overlapping
    /// shapes merge, counter-wound ones erase.
    NonZero,
    /// Ink where an odd number of layers lie: a shape over another reverses
    /// it (light on dark), with exact anti-aliasing at every edge.
    EvenOdd,
}

const UNTOUCHED: [usize; 4] = [usize::MAX, usize::MAX, 0, 0];

impl Canvas {
    /// A blank canvas.
    pub fn new(width: usize, height: usize) -> Canvas {
        let stride = (width + 3).next_multiple_of(4);
        Canvas {
            width,
            height,
            stride,
            cells: vec![0; stride * height.next_multiple_of(BAND)],
            touched: UNTOUCHED,
            fixed: Vec::with_capacity(MAX_POINTS),
            edges: vec![EdgeWalk::default(); MAX_POINTS],
            columns: vec![[0; BAND]; width.div_ceil(4)],
            rule: FillRule::NonZero,
            bands: false,
            band_columns: vec![BandColumn::default(); stride],
            band_tops: vec![0.0; width],
            band_downs: vec![0.0; height],
            band_rows: vec![0; height.next_multiple_of(BAND)],
            band_shift: 0,
            band_limit: 0,
            moved_by: 0,
            moved: false,
        }
    }

    /// Sets the rule the next `resolve` uses (it stays until set again).
    pub fn set_rule(&mut self, rule: FillRule) {
        self.rule = rule;
    }

    /// Fills the closed polygons `points[..ends[0]]`, `points[ends[0]..ends[1]]`, ...
    pub fn fill(&mut self, points: &[[f32; 2]], ends: &[usize]) {
        let mut fixed = std::mem::take(&mut self.fixed);
        fixed.clear();
        // NaN becomes 0 (`as` saturates), far-off points stay far off.
        let to_fixed = |v: f32| (v.clamp(-LIMIT, LIMIT) * SUB as f32) as i32;
        // Converted and measured in one pass.
        let (mut lo, mut hi) = ([i32::MAX; 2], [i32::MIN; 2]);
        fixed.extend(points.iter().map(|p| {
            let q = [to_fixed(p[0]), to_fixed(p[1])];
            for k in 0..2 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
            q
        }));
        // Every edge is set up first and walked after: the setup (two
        // divisions, whose results the walk waits for) of one edge then
        // overlaps the walk of others, instead of stalling after every
        // mispredicted end of an edge's walk.
        let mut edges = std::mem::take(&mut self.edges);
        if edges.len() < fixed.len() {
            edges.resize(fixed.len(), EdgeWalk::default());
        }
        let mut count = 0;
        let mut start = 0;
        for &end in ends {
            let contour = fixed.get(start..end).unwrap_or_default();
            // Each point with the one before it, the first with the last.
            let mut previous = contour.last().copied().unwrap_or_default();
            for &point in contour {
                // Written always, kept (counted) when it crosses a row.
                let (edge, crosses) = self.edge(previous, point);
                edges[count] = edge;
                count += usize::from(crosses);
                previous = point;
            }
            start = end;
        }
        // One call site, so the walk inlines.
        for edge in &edges[..count] {
            if edge.inside {
                self.walk::<true>(edge);
            } else {
                self.walk::<false>(edge);
            }
        }
        self.touch(lo, hi);
        self.fixed = fixed;
        self.edges = edges;
    }

    /// Grows the touched box by the box `lo..=hi` (fixed point; empty when
    /// `lo > hi`).
    fn touch(&mut self, lo: [i32; 2], hi: [i32; 2]) {
        if lo[0] > hi[0] {
            return;
        }
        let clip = |v: i32, max: usize| (v >> SUB_BITS).clamp(0, max as i32) as usize;
        let t = &mut self.touched;
        // A polygon writes from its first column to two past its last.
        t[0] = t[0].min(clip(lo[0], self.width));
        t[1] = t[1].min(clip(lo[1], self.height));
        t[2] = t[2].max(clip(hi[0], self.width) + 3);
        t[3] = t[3].max(clip(hi[1] + SUB - 1, self.height));
    }

    /// Sets up the edge `p0 -> p1` (fixed point) for [`Canvas::walk`],
    /// which adds its signed area, and tells whether it crosses any row of
    /// the canvas (when not, the rest is meaningless). Parts above or below
    /// the canvas are dropped; parts left or right of it are pressed onto
    /// its edge, which keeps the winding of every visible pixel right.
    #[inline(always)]
    fn edge(&self, p0: [i32; 2], p1: [i32; 2]) -> (EdgeWalk, bool) {
        // Clockwise on screen, the right side of a shape runs down: its
        // edges going down end the shape's span on a row. A level edge
        // (either way round) crosses no row.
        let (top, bottom, dir) = if p0[1] < p1[1] {
            (p0, p1, -1)
        } else {
            (p1, p0, 1)
        };
        let y_start = top[1].max(0);
        let y_end = bottom[1].min(self.height as i32 * SUB);
        let (dx, dy) = (f64::from(bottom[0] - top[0]), f64::from(bottom[1] - top[1]));
        // x and the slope carry 16 more fraction bits than the points, so
        // stepping row by row does not drift. Float divisions are cheaper
        // than integer ones and exact enough.
        let slope = (dx * 65536.0 / dy) as i64;
        // Wrapping: a level edge's slope is infinite (saturated), and it is
        // not walked; for the others nothing wraps.
        let x = (i64::from(top[0]) << 16)
            .wrapping_add(i64::from(y_start.wrapping_sub(top[1])).wrapping_mul(slope));
        let right = self.width as i32 * SUB;
        let inside = top[0].min(bottom[0]) >= 0 && top[0].max(bottom[0]) <= right;
        // Height per unit of x, 16.16: how a piece of edge that crosses
        // several pixel columns shares its height among them. Pressed
        // against the canvas side a piece is steeper than its edge.
        let rise = ((dy / dx).abs() * 65536.0).min(MAX_RISE) as i32;
        let edge = EdgeWalk {
            x,
            slope,
            y: y_start,
            y_end,
            dir,
            rise,
            inside,
        };
        (edge, y_start < y_end)
    }

    /// Adds the signed area of an edge set up by [`Canvas::edge`], piece by
    /// piece, one piece per row; `INSIDE` when it lies within the canvas's
    /// sides (nearly all do: one loop for them and one for the rest, so
    /// that the pieces test nothing about it).
    #[inline(always)]
    fn walk<const INSIDE: bool>(&mut self, edge: &EdgeWalk) {
        let EdgeWalk {
            mut x,
            slope,
            mut y,
            y_end,
            dir,
            rise,
            ..
        } = *edge;
        let right = self.width as i32 * SUB;
        while y < y_end {
            let row = (y >> SUB_BITS) as usize;
            let next = ((y | (SUB - 1)) + 1).min(y_end);
            let x_next = x + i64::from(next - y) * slope;
            let (mut a, mut b) = ((x >> 16) as i32, (x_next >> 16) as i32);
            let mut rise = rise;
            if !INSIDE {
                (a, b) = (a.clamp(0, right), b.clamp(0, right));
                rise = (((next - y) << 16) / (a - b).abs().max(1)).min(MAX_RISE as i32);
            }
            self.cover(row, a, b, next - y, dir, rise);
            x = x_next;
            y = next;
        }
    }

    /// Spreads the area of one scanline's piece of edge, from `x = a` to
    /// `x = b` (fixed point, both within `0..=width`) and `h` subpixels
    /// tall, of winding `dir` (+1 or -1), over the cells of `row`.
    ///
    /// Within one pixel, a piece's mean x splits the row's weight between
    /// its cell and the next. A piece that crosses a column boundary is cut
    /// there into two such pieces whose heights follow `rise` (16.16 height
    /// per unit of x). Whether a piece crosses is close to random, so that
    /// case is written without branches; pieces crossing two or more
    /// boundaries (shallow edges, predictable per edge) take a loop.
    #[inline(always)]
    fn cover(&mut self, row: usize, a: i32, b: i32, h: i32, dir: i32, rise: i32) {
        let (lo, hi) = (a.min(b), a.max(b));
        let left = lo & !(SUB - 1);
        let edge = left + SUB;
        let index = row / BAND * self.stride * BAND + row % BAND + (lo >> SUB_BITS) as usize * BAND;
        if hi - edge > SUB {
            return self.cover_wide(index, lo, hi, h * dir, rise);
        }
        // Piece A left of the boundary, piece B right of it (B is empty
        // when the piece stays in one pixel).
        let mid = hi.min(edge);
        let h_a = std::hint::select_unpredictable(
            hi <= edge,
            h,
            (((edge - lo) * rise + 0x8000) >> 16).min(h),
        );
        let (d_a, d_b) = (h_a * dir, (h - h_a) * dir);
        let (f_a, f_b) = ((lo - left) + (mid - left), hi - mid);
        // One bounds check for the three cells.
        let cells = &mut self.cells[index..][..2 * BAND + 1];
        add(&mut cells[0], d_a * (2 * SUB - f_a));
        add(&mut cells[BAND], d_a * f_a + d_b * (2 * SUB - f_b));
        add(&mut cells[2 * BAND], d_b * f_b);
    }

    /// [`Canvas::cover`] for a piece crossing several column boundaries,
    /// `d` tall (signed), starting at cell `index`: cut at each boundary,
    /// with heights rounded from a running 16.16 total so that rounding
    /// does not pile up towards one end; the last piece takes what is left,
    /// so the row sum stays exact.
    #[inline(never)]
    fn cover_wide(&mut self, mut index: usize, lo: i32, hi: i32, d: i32, rise: i32) {
        let (h, dir) = (d.abs(), d.signum());
        let left = lo & !(SUB - 1);
        let mut edge = left + SUB;
        // The first cell, from `lo` to its right side.
        let mut total = (edge - lo) * rise;
        let mut done = ((total + 0x8000) >> 16).min(h);
        let f = lo - left + SUB;
        add(&mut self.cells[index], dir * done * (2 * SUB - f));
        // What the previous piece left for the current cell.
        let mut carry = dir * done * f;
        // Whole cells: each piece gives half its weight to its own cell and
        // half to the next.
        while hi - edge > SUB {
            index += BAND;
            edge += SUB;
            total += SUB * rise;
            let part = ((total + 0x8000) >> 16).min(h) - done;
            done += part;
            let half = dir * part * SUB;
            add(&mut self.cells[index], carry + half);
            carry = half;
        }
        // The last cell, from its left side to `hi`.
        let (d, f) = ((h - done) * dir, hi - edge);
        add(&mut self.cells[index + BAND], carry + d * (2 * SUB - f));
        add(&mut self.cells[index + 2 * BAND], d * f);
    }

    /// Writes the picture as 2-bit coverage levels (0 = background, 3 =
    /// ink), four pixels a byte with the leftmost in the high bits (the PNG
    /// layout): row `y` goes to `out[y * row_bytes + 1..][..width.div_ceil(4)]`,
    /// after the byte that PNG reserves for the row's filter. Clears the
    /// cells for the next picture. Only bytes the picture touched are
    /// written: the caller passes zeroed rows.
    pub fn resolve(&mut self, out: &mut [u8], row_bytes: usize) {
        // One copy of the loop per rule, so the rule costs no branch per pixel.
        match (self.rule, self.bands) {
            (FillRule::NonZero, _) => self.resolve_with::<false, false, false>(out, row_bytes),
            (FillRule::EvenOdd, false) => self.resolve_with::<true, false, false>(out, row_bytes),
            (FillRule::EvenOdd, true) if self.moved => {
                self.resolve_with::<true, true, true>(out, row_bytes)
            }
            (FillRule::EvenOdd, true) => self.resolve_with::<true, true, false>(out, row_bytes),
        }
    }

    /// [`Canvas::resolve`] with the even-odd rule or the nonzero one, with
    /// or without the bands, and with the bands reversed or `MOVED` inside
    /// the shapes.
    #[inline(always)]
    fn resolve_with<const EVEN_ODD: bool, const BANDS: bool, const MOVED: bool>(
        &mut self,
        out: &mut [u8],
        row_bytes: usize,
    ) {
        let [x0, y0, x1, y1] = std::mem::replace(&mut self.touched, UNTOUCHED);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let bytes = self.width.div_ceil(4);
        let groups = (x0 / 4).min(bytes)..x1.div_ceil(4).min(bytes);
        for band in y0 / BAND..y1.div_ceil(BAND) {
            let cells = &mut self.cells[band * self.stride * BAND..][..self.stride * BAND];
            let rows = (self.height - band * BAND).min(BAND);
            // With the bands, half a pixel of coverage is added to every
            // pixel up front: `band_cover` leaves it out. (Moved bands add
            // it after the blend, which reads the shapes' winding alone.)
            let mut sum = [if BANDS && !MOVED { FULL as i16 / 2 } else { 0 }; BAND];
            let mut band_rows = [0u16; BAND];
            band_rows.copy_from_slice(&self.band_rows[band * BAND..][..BAND]);
            // Copied out of `self` so that the loop keeps them in registers.
            // The shift as a multiplier: a variable 16-bit shift does not
            // vectorize with SSE2 (its shift counts do not wrap as Rust's do).
            let (scale, limit) = (1i16 << self.band_shift, self.band_limit);
            // The rows' phases inside the shapes, moved once per band
            // rather than per pixel.
            let mut moved_rows = band_rows;
            for row in &mut moved_rows {
                *row = row.wrapping_sub(self.moved_by);
            }
            // Each lane's row, for the strips.
            let mut rows_at = [0i16; BAND];
            for (k, row) in rows_at.iter_mut().enumerate() {
                *row = (band * BAND + k) as i16;
            }
            // The bands alone, as groups without shapes read them.
            let alone = Rows {
                outside: &band_rows,
                at: &rows_at,
                moved_by: self.moved_by,
            };
            // Byte columns are gathered for the whole band first and spread
            // to the rows after: reading a lane back right after storing the
            // vector would stall on store forwarding. Zipped arrays, so
            // that the loop checks no bounds and unrolls the four columns.
            let group_cells = cells[groups.start * 4 * BAND..groups.end * 4 * BAND]
                .as_chunks_mut::<{ 4 * BAND }>()
                .0;
            let band_columns = self.band_columns[groups.start * 4..groups.end * 4]
                .as_chunks::<4>()
                .0;
            for ((cells, band_columns), slot) in group_cells
                .iter_mut()
                .zip(band_columns)
                .zip(&mut self.columns[groups.clone()])
            {
                // Moved bands: a group of four columns that no shape
                // touches (no edge in its cells, and no shape over it from
                // the left: the running sums an even number of layers)
                // has the bands alone (moved only in the strips), and its
                // cells are zero already. About half the groups are such; testing per
                // group rather than per column keeps the branch rare and
                // predictable (runs of groups with and without shapes).
                if MOVED && !has_shapes(&sum, cells) {
                    *slot = bands_alone(band_columns, &alone, limit, scale);
                    continue;
                }
                let mut packed = [0u16; BAND];
                let columns = cells.as_chunks_mut::<BAND>().0;
                for (column, band_column) in columns.iter_mut().zip(band_columns) {
                    // The bands' coverage of the column, lane by lane first,
                    // so that it vectorizes apart from the running sums.
                    let mut cover = [0i16; BAND];
                    // Inside a strip the bands outside the shapes are
                    // moved, and those inside moved back.
                    let (mut outside, mut inside) = (band_rows, moved_rows);
                    if MOVED {
                        let strip = strip_shift(band_column, &rows_at, alone.moved_by);
                        for k in 0..BAND {
                            outside[k] = outside[k].wrapping_sub(strip[k]);
                            inside[k] = inside[k].wrapping_add(strip[k]);
                        }
                    }
                    if BANDS {
                        cover = column_bands(band_column, &outside, limit, scale);
                    }
                    for k in 0..BAND {
                        sum[k] = sum[k].wrapping_add(column[k]);
                    }
                    if MOVED {
                        // The moved bands, blended in by the share of each
                        // pixel that the shapes cover (none in some of
                        // the group's pixels, all in others: the blend
                        // gives the unmoved and the moved bands there).
                        let moved = column_bands(band_column, &inside, limit, scale);
                        for k in 0..BAND {
                            cover[k] = blend(cover[k], moved[k], shape_share(sum[k]));
                        }
                    }
                    for k in 0..BAND {
                        let level = if MOVED {
                            level_in_range(cover[k] + FULL as i16 / 2)
                        } else if BANDS {
                            level_even_odd(sum[k].wrapping_add(cover[k]))
                        } else if EVEN_ODD {
                            level_even_odd(sum[k])
                        } else {
                            level(sum[k])
                        };
                        packed[k] = packed[k] << 2 | level;
                    }
                    column.fill(0);
                }
                *slot = packed;
            }
            for k in 0..rows {
                let row = &mut out[(band * BAND + k) * row_bytes + 1..][..bytes];
                for (byte, packed) in row[groups.clone()]
                    .iter_mut()
                    .zip(&self.columns[groups.clone()])
                {
                    *byte = packed[k] as u8;
                }
            }
            // Spare cells past the last output byte.
            cells[groups.end * 4 * BAND..].fill(0);
            // Pixels past the width are padding: background.
            let tail = self.width % 4;
            if tail != 0 && groups.end == bytes {
                for k in 0..rows {
                    out[(band * BAND + k) * row_bytes + bytes] &= 0xffu8 << (2 * (4 - tail));
                }
            }
        }
    }
}

/// Whether any shape covers part of a group of four columns of a band
/// (`cells`), given the running sums of its rows on entry: some edge in
/// its cells, or an odd number of layers over it from the left. When
/// not, every pixel of the group has a shape share of zero.
#[inline(always)]
fn has_shapes(sum: &[i16; BAND], cells: &[i16; 4 * BAND]) -> bool {
    let mut any = [0i16; BAND];
    for k in 0..BAND {
        any[k] = sum[k] & (2 * FULL as i16 - 1);
    }
    for column in cells.as_chunks::<BAND>().0 {
        for k in 0..BAND {
            any[k] |= column[k];
        }
    }
    any != [0; BAND]
}

/// Adds `v` to a cell. Wrapping: a cell may overflow on its own; the
/// running sum of a row, which is what counts, stays within range.
#[inline(always)]
fn add(cell: &mut i16, v: i32) {
    *cell = cell.wrapping_add(v as i16);
}

/// An accumulated winding to a coverage level 0..=3, rounded: overlapping
/// shapes cap at full ink, erased or outside at none. Plain 16-bit min/max,
/// so that the eight lanes of a band vectorize.
#[inline(always)]
fn level(sum: i16) -> u16 {
    let cover = sum.clamp(0, FULL as i16) as u16;
    (cover * 3 + FULL as u16 / 2) >> 11
}

/// [`level`] by the even-odd rule: the winding folds back every second
/// layer (a triangle wave of period two layers), so one layer is ink, two
/// are background again, three ink, and a half-covered edge pixel of any
/// layer is half ink. `2 * FULL` is a power of two, so the fold is a mask
/// (which also reads a negative winding, an erasing shape over nothing, as ink).
#[inline(always)]
fn level_even_odd(sum: i16) -> u16 {
    let phase = (sum as u16) & (2 * FULL as u16 - 1);
    let cover = phase.min(2 * FULL as u16 - phase);
    (cover * 3 + FULL as u16 / 2) >> 11
}

#[cfg(test)]
pub(crate) mod tests;
