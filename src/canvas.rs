//! The canvas: an 8-bit ink-coverage picture that owns its pixels, and the
//! glyph pass that draws a transformed (and optionally warped) glyph on it.
//!
//! Coverage is combined with `max`, so glyphs and strokes that overlap merge
//! into one shape of one colour: that is what makes segmentation hard.

use crate::distort::Field;
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
    pub fn draw_glyph(&mut self, glyph: &Glyph, placement: &Placement, field: Option<&Field>) {
        let [a, b, c, d] = placement.matrix;
        let det = a * d - b * c;
        if det.abs() < 1e-6 {
            return;
        }
        // Inverse transform: canvas -> glyph bitmap coordinates.
        let inv = [d / det, -b / det, -c / det, a / det];
        let (hw, hh) = (glyph.width as f32 * 0.5, glyph.height as f32 * 0.5);
        let ext_x = a.abs() * hw + b.abs() * hh;
        let ext_y = c.abs() * hw + d.abs() * hh;
        let margin = field.map_or(0.0, |f| f.max_displacement()) + 1.0;
        let [cx, cy] = placement.center;
        let x0 = clamp_index(cx - ext_x - margin, self.width);
        let x1 = clamp_index(cx + ext_x + margin + 1.0, self.width);
        let y0 = clamp_index(cy - ext_y - margin, self.height);
        let y1 = clamp_index(cy + ext_y + margin + 1.0, self.height);
        // Sample at pixel centres; k* fold the translation into one constant.
        let kx = hw - inv[0] * (cx - 0.5) - inv[1] * (cy - 0.5) - 0.5;
        let ky = hh - inv[2] * (cx - 0.5) - inv[3] * (cy - 0.5) - 0.5;
        let sampler = Sampler::new(glyph);
        for y in y0..y1 {
            let row = y * self.width;
            let out = &mut self.pixels[row + x0..row + x1];
            let yf = y as f32;
            match field {
                Some(f) => {
                    let dx = &f.dx[row + x0..row + x1];
                    let dy = &f.dy[row + x0..row + x1];
                    for (i, px) in out.iter_mut().enumerate() {
                        let qx = (x0 + i) as f32 + dx[i];
                        let qy = yf + dy[i];
                        let v = sampler.sample(
                            inv[0] * qx + inv[1] * qy + kx,
                            inv[2] * qx + inv[3] * qy + ky,
                        );
                        *px = (*px).max(v);
                    }
                }
                None => {
                    for (i, px) in out.iter_mut().enumerate() {
                        let qx = (x0 + i) as f32;
                        let v = sampler.sample(
                            inv[0] * qx + inv[1] * yf + kx,
                            inv[2] * qx + inv[3] * yf + ky,
                        );
                        *px = (*px).max(v);
                    }
                }
            }
        }
    }
}

fn clamp_index(v: f32, len: usize) -> usize {
    (v.max(0.0) as usize).min(len)
}

/// Bilinear reads from a glyph bitmap in 8.8 fixed point.
struct Sampler<'a> {
    coverage: &'a [u8],
    width: usize,
    max_x: f32,
    max_y: f32,
}

impl<'a> Sampler<'a> {
    fn new(glyph: &'a Glyph) -> Self {
        Sampler {
            coverage: &glyph.coverage,
            width: glyph.width,
            max_x: (glyph.width - 1) as f32,
            max_y: (glyph.height - 1) as f32,
        }
    }

    #[inline(always)]
    fn sample(&self, x: f32, y: f32) -> u8 {
        // Outside the bitmap (the border is empty, so this is exact).
        if !(x >= 0.0 && y >= 0.0 && x < self.max_x && y < self.max_y) {
            return 0;
        }
        let (ix, iy) = (x as usize, y as usize);
        let fx = ((x - ix as f32) * 256.0) as u32;
        let fy = ((y - iy as f32) * 256.0) as u32;
        let i = iy * self.width + ix;
        let top = &self.coverage[i..i + 2];
        let bottom = &self.coverage[i + self.width..i + self.width + 2];
        let t = u32::from(top[0]) * (256 - fx) + u32::from(top[1]) * fx;
        let b = u32::from(bottom[0]) * (256 - fx) + u32::from(bottom[1]) * fx;
        ((t * (256 - fy) + b * fy) >> 16) as u8
    }
}
