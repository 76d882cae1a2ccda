//! The canvas: an exact-area polygon rasterizer that owns its cells.
//!
//! Every edge adds its signed area to an accumulation buffer (the
//! font-rs / stb_truetype "signed area" method); a running sum along each
//! row then gives the coverage. Shapes are combined by the non-zero rule
//! (coverage = min(|winding|, 1)), so glyphs and strokes that overlap merge
//! into one shape of one colour: that is what makes segmentation hard.
//! Cells are 16.16 fixed point, so the row sum is an integer chain.

/// Fixed-point scale of the accumulation cells.
const ONE: f32 = 65536.0;

/// `v.ceil()` for `v >= 0`, without a libm call.
#[inline(always)]
fn ceil(v: f32) -> usize {
    // i32 conversion is a single instruction plus a saturation check;
    // f32 -> usize needs a 64-bit unsigned dance.
    let i = v as i32 as usize;
    if (i as f32) < v {
        i + 1
    } else {
        i
    }
}

/// Accumulated signed edge area per pixel, row-major with two spare
/// columns on the right for edges that end on the last pixel.
pub(crate) struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    stride: usize,
    cells: Vec<i32>,
    /// Per row, the cells touched since the row was last resolved, as
    /// `[first, last + 1)`; lets `resolve_row` skip empty margins.
    dirty: Vec<[usize; 2]>,
}

impl Canvas {
    /// A blank canvas.
    pub fn new(width: usize, height: usize) -> Canvas {
        let stride = width + 2;
        Canvas {
            width,
            height,
            stride,
            cells: vec![0; stride * height],
            dirty: vec![[usize::MAX, 0]; height],
        }
    }

    /// Fills the closed polygons `points[..ends[0]]`, `points[ends[0]..ends[1]]`, ...
    pub fn fill(&mut self, points: &[[f32; 2]], ends: &[usize]) {
        let mut start = 0;
        for &end in ends {
            let contour = &points[start..end];
            if let (Some(&first), Some(&last)) = (contour.first(), contour.last()) {
                for pair in contour.windows(2) {
                    self.line(pair[0], pair[1]);
                }
                self.line(last, first);
            }
            start = end;
        }
    }

    /// Adds the signed area of the edge `p0 -> p1`. Parts above or below the
    /// canvas are dropped; parts left or right of it are pressed onto its
    /// edge, which keeps the winding of every visible pixel right.
    fn line(&mut self, p0: [f32; 2], p1: [f32; 2]) {
        let (dir, top, bottom) = if p0[1] < p1[1] {
            (1.0, p0, p1)
        } else if p0[1] > p1[1] {
            (-1.0, p1, p0)
        } else {
            return;
        };
        let y_start = top[1].max(0.0);
        let y_end = bottom[1].min(self.height as f32);
        if y_start >= y_end {
            return;
        }
        let dxdy = (bottom[0] - top[0]) / (bottom[1] - top[1]);
        let right = self.width as f32;
        let mut x = top[0] + (y_start - top[1]) * dxdy;
        // y_start and y_end are >= 0 here, so truncation is floor.
        for row in (y_start as i32 as usize)..ceil(y_end) {
            let dy = (row as f32 + 1.0).min(y_end) - (row as f32).max(y_start);
            let x_next = x + dxdy * dy;
            let d = dy * dir;
            let (a, b) = (x.clamp(0.0, right), x_next.clamp(0.0, right));
            self.cover_row(row, a, b, d);
            x = x_next;
        }
    }

    /// Spreads the area `d` of one scanline's piece of edge, from `x = a` to
    /// `x = b` (both within `0..=width`), over the cells of `row` it crosses.
    #[inline]
    fn cover_row(&mut self, row: usize, a: f32, b: f32, d: f32) {
        let (x0, x1) = if a < b { (a, b) } else { (b, a) };
        // Both are >= 0: truncation is floor (and avoids a libm call on
        // targets without SSE4.1).
        let x0i = x0 as i32 as usize;
        let x0_floor = x0i as f32;
        let x1i = ceil(x1);
        let x1_ceil = x1i as f32;
        let dirty = &mut self.dirty[row];
        dirty[0] = dirty[0].min(x0i);
        dirty[1] = dirty[1].max(x1i + 2);
        let cells = &mut self.cells[row * self.stride..][..self.stride];
        let mut add = |i: usize, v: f32| cells[i] += (v * ONE) as i32;
        if x1i <= x0i + 1 {
            let mid = 0.5 * (a + b) - x0_floor;
            add(x0i, d - d * mid);
            add(x0i + 1, d * mid);
        } else {
            let s = 1.0 / (x1 - x0);
            let x0f = x0 - x0_floor;
            let a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f);
            let x1f = x1 - x1_ceil + 1.0;
            let am = 0.5 * s * x1f * x1f;
            add(x0i, d * a0);
            if x1i == x0i + 2 {
                add(x0i + 1, d * (1.0 - a0 - am));
            } else {
                let a1 = s * (1.5 - x0f);
                add(x0i + 1, d * (a1 - a0));
                for xi in x0i + 2..x1i - 1 {
                    add(xi, d * s);
                }
                let a2 = a1 + (x1i - x0i - 3) as f32 * s;
                add(x1i - 1, d * (1.0 - a2 - am));
            }
            add(x1i, d * am);
        }
    }

    /// Writes the coverage (0 = background, 255 = ink) of row `y` into
    /// `out` and clears the row's cells for the next picture. Only
    /// `out[range]` is written, for the returned range (its start is even,
    /// its end even or the width); the rest of the row is background.
    pub fn resolve_row(&mut self, y: usize, out: &mut [u8]) -> std::ops::Range<usize> {
        let [first, end] = std::mem::replace(&mut self.dirty[y], [usize::MAX, 0]);
        // Even bounds, so that a packer of two pixels a byte has no edge
        // cases; the extra cells are zero and resolve to background.
        let (first, end) = (first & !1, (end + 1).min(self.width + 1) & !1);
        let end = end.min(self.width);
        if first >= end {
            return 0..0;
        }
        let cells = &mut self.cells[y * self.stride..][..self.stride];
        let mut sum = 0i32;
        for (cell, px) in cells[first..end].iter_mut().zip(&mut out[first..end]) {
            sum += *cell;
            *cell = 0;
            *px = (sum.unsigned_abs().min(65535) >> 8) as u8;
        }
        cells[end..].fill(0);
        first..end
    }

    /// Clears every cell.
    #[cfg(test)]
    pub fn clear(&mut self) {
        self.cells.fill(0);
        self.dirty.fill([usize::MAX, 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(c: &mut Canvas) -> Vec<u8> {
        let mut out = vec![0; c.width * c.height];
        for y in 0..c.height {
            let row = &mut out[y * c.width..][..c.width];
            let range = c.resolve_row(y, row);
            // Outside the range the row is background.
            row[..range.start].fill(0);
            row[range.end..].fill(0);
        }
        out
    }

    #[test]
    fn a_square_covers_exactly_its_pixels() {
        let mut c = Canvas::new(10, 10);
        c.fill(&[[2.0, 2.0], [6.0, 2.0], [6.0, 5.0], [2.0, 5.0]], &[4]);
        let cov = coverage(&mut c);
        for y in 0..10 {
            for x in 0..10 {
                let inside = (2..6).contains(&x) && (2..5).contains(&y);
                assert_eq!(cov[y * 10 + x], if inside { 255 } else { 0 }, "({x},{y})");
            }
        }
        // Resolving cleared the cells.
        assert!(coverage(&mut c).iter().all(|&v| v == 0));
    }

    #[test]
    fn half_pixel_edges_give_half_coverage_and_overlaps_merge() {
        let mut c = Canvas::new(8, 4);
        c.fill(&[[1.5, 0.0], [4.5, 0.0], [4.5, 4.0], [1.5, 4.0]], &[4]);
        assert_eq!(&coverage(&mut c)[..8], &[0, 128, 255, 255, 128, 0, 0, 0]);
        // Two overlapping squares wound the same way: the union, not a sum.
        c.fill(&[[1.0, 0.0], [4.0, 0.0], [4.0, 4.0], [1.0, 4.0]], &[4]);
        c.fill(&[[3.0, 0.0], [6.0, 0.0], [6.0, 4.0], [3.0, 4.0]], &[4]);
        assert_eq!(
            &coverage(&mut c)[8..16],
            &[0, 255, 255, 255, 255, 255, 0, 0]
        );
    }

    #[test]
    fn shapes_outside_the_canvas_are_clipped_without_panic() {
        let mut c = Canvas::new(8, 4);
        c.fill(
            &[[-5.0, -5.0], [20.0, -3.0], [20.0, 9.0], [-5.0, 9.0]],
            &[4],
        );
        assert!(coverage(&mut c).iter().all(|&v| v == 255));
        c.fill(&[[f32::MAX, 0.0], [-1e30, 1e30], [3.0, f32::MIN]], &[3]);
        coverage(&mut c);
    }
}
