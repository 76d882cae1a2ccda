//! The canvas: an 8-bit ink-coverage picture that owns its pixels, and the
//! glyph pass that draws a transformed (and optionally warped) glyph on it.
//!
//! Coverage is combined with `max`, so glyphs and strokes that overlap merge
//! into one shape of one colour: that is what makes segmentation hard.

use crate::distort::{Field, STEP};
use crate::glyphs::Glyph;

/// Ink coverage per pixel, 0 (background) to 255 (ink), row-major.
pub(crate) struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Where and how one glyph is drawn.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    /// Canvas position of the glyph bitmap's centre.
    pub center: [f32; 2],
    /// Linear part of the glyph-to-canvas transform, row-major 2x2
    /// (rotation, scale and shear combined).
    pub matrix: [f32; 4],
}

impl Canvas {
    /// A blank canvas.
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![0; width * height],
        }
    }

    /// Blanks every pixel.
    pub fn clear(&mut self) {
        self.pixels.fill(0);
    }

    /// Draws `glyph` at `placement`. With a `field`, each canvas pixel first
    /// moves by the field's displacement (the global warp) before it is
    /// mapped back into the glyph and sampled bilinearly.
    ///
    /// Only the pixels whose (displaced) preimage can fall inside the glyph
    /// bitmap are visited, and within one warp-grid cell the mapping is
    /// affine, so each pixel costs two fixed-point additions and one
    /// bilinear read.
    pub fn draw_glyph(&mut self, glyph: &Glyph, placement: &Placement, field: Option<&Field>) {
        let [a, b, c, d] = placement.matrix;
        let det = a * d - b * c;
        if det.abs() < 1e-6 {
            return;
        }
        // Inverse transform: canvas -> glyph bitmap coordinates.
        let inv = [d / det, -b / det, -c / det, a / det];
        let (gw, gh) = (glyph.width as f32, glyph.height as f32);
        let (hw, hh) = (gw * 0.5, gh * 0.5);
        let shift = field.map_or(0.0, Field::max_displacement);
        // How far a canvas shift of `shift` pixels can move a bitmap point.
        let slack = shift * (inv[0].abs() + inv[1].abs()).max(inv[2].abs() + inv[3].abs()) + 1.0;
        let [cx, cy] = placement.center;
        let ext_y = c.abs() * hw + d.abs() * hh + shift + 1.0;
        let y0 = clamp_index(cy - ext_y, self.height);
        let y1 = clamp_index(cy + ext_y + 1.0, self.height);
        // Sample at pixel centres; k* fold the translation into one constant.
        let kx = hw - inv[0] * (cx - 0.5) - inv[1] * (cy - 0.5) - 0.5;
        let ky = hh - inv[2] * (cx - 0.5) - inv[3] * (cy - 0.5) - 0.5;
        let sampler = Sampler::new(glyph);
        for y in y0..y1 {
            let yf = y as f32;
            let (lx0, ly0) = (inv[1] * yf + kx, inv[3] * yf + ky);
            let (ax, bx) = solve(inv[0], lx0, -slack, gw - 1.0 + slack);
            let (ay, by) = solve(inv[2], ly0, -slack, gh - 1.0 + slack);
            let xa = clamp_index(ax.max(ay), self.width);
            let xb = clamp_index(bx.min(by) + 1.0, self.width);
            if xa >= xb {
                continue;
            }
            let out = &mut self.pixels[y * self.width..][..self.width];
            let Some(field) = field else {
                let x = xa as f32;
                sampler.span(
                    &mut out[xa..xb],
                    [inv[0] * x + lx0, inv[2] * x + ly0],
                    [inv[0], inv[2]],
                );
                continue;
            };
            let nodes = field.row(y);
            let mut x = xa;
            while x < xb {
                // One warp-grid cell: displacement linear in x.
                let cell = x / STEP;
                let end = xb.min((cell + 1) * STEP);
                let (n0, n1) = (nodes[cell], nodes[cell + 1]);
                let inv_step = 1.0 / STEP as f32;
                let (ddx, ddy) = ((n1[0] - n0[0]) * inv_step, (n1[1] - n0[1]) * inv_step);
                let t = (x - cell * STEP) as f32;
                let qx = x as f32 + n0[0] + ddx * t;
                let qy = yf + n0[1] + ddy * t;
                sampler.span(
                    &mut out[x..end],
                    [
                        inv[0] * qx + inv[1] * qy + kx,
                        inv[2] * qx + inv[3] * qy + ky,
                    ],
                    [
                        inv[0] * (1.0 + ddx) + inv[1] * ddy,
                        inv[2] * (1.0 + ddx) + inv[3] * ddy,
                    ],
                );
                x = end;
            }
        }
    }
}

fn clamp_index(v: f32, len: usize) -> usize {
    (v.max(0.0) as usize).min(len)
}

/// The interval of `x` where `lo <= slope * x + offset <= hi`.
fn solve(slope: f32, offset: f32, lo: f32, hi: f32) -> (f32, f32) {
    if slope.abs() < 1e-9 {
        return if (lo..=hi).contains(&offset) {
            (f32::MIN, f32::MAX)
        } else {
            (f32::MAX, f32::MIN)
        };
    }
    let (t0, t1) = ((lo - offset) / slope, (hi - offset) / slope);
    (t0.min(t1).floor(), t0.max(t1).ceil())
}

/// Fixed-point scale (16.16) of sampling coordinates.
const ONE: f32 = 65536.0;

/// Bilinear reads from a glyph bitmap in 16.16 fixed point.
struct Sampler<'a> {
    coverage: &'a [u8],
    width: usize,
    /// Largest coordinates whose 2x2 neighbourhood is inside the bitmap.
    max_x: i32,
    max_y: i32,
}

impl<'a> Sampler<'a> {
    fn new(glyph: &'a Glyph) -> Self {
        Sampler {
            coverage: &glyph.coverage,
            width: glyph.width,
            max_x: ((glyph.width as i32 - 1) << 16) - 1,
            max_y: ((glyph.height as i32 - 1) << 16) - 1,
        }
    }

    /// Samples along a line: pixel `i` of `out` reads `start + i * step`
    /// and keeps the larger of its value and the sample.
    fn span(&self, out: &mut [u8], start: [f32; 2], step: [f32; 2]) {
        let (mut x, mut y) = ((start[0] * ONE) as i32, (start[1] * ONE) as i32);
        let (dx, dy) = ((step[0] * ONE) as i32, (step[1] * ONE) as i32);
        for px in out {
            *px = (*px).max(self.sample(x, y));
            x = x.wrapping_add(dx);
            y = y.wrapping_add(dy);
        }
    }

    #[inline(always)]
    fn sample(&self, x: i32, y: i32) -> u8 {
        // Clamping instead of branching: the bitmap's border is empty, so a
        // point clamped onto it reads (almost exactly) zero.
        let (x, y) = (x.clamp(0, self.max_x), y.clamp(0, self.max_y));
        let (ix, iy) = ((x >> 16) as usize, (y >> 16) as usize);
        let (fx, fy) = (((x >> 8) & 255) as u32, ((y >> 8) & 255) as u32);
        let i = iy * self.width + ix;
        let top = &self.coverage[i..i + 2];
        let bottom = &self.coverage[i + self.width..i + self.width + 2];
        let t = u32::from(top[0]) * (256 - fx) + u32::from(top[1]) * fx;
        let b = u32::from(bottom[0]) * (256 - fx) + u32::from(bottom[1]) * fx;
        ((t * (256 - fy) + b * fy) >> 16) as u8
    }
}
