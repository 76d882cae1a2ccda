//! The smooth global warp: a displacement field drawn from Perlin noise at a
//! random phase. Noise costs tens of nanoseconds a sample, so it is sampled
//! only on a coarse grid; between grid columns the displacement is linear,
//! which lets the glyph pass walk each grid cell with two additions a pixel
//! (see `canvas.rs`).

use noise::{NoiseFn, Perlin};

/// Grid spacing in pixels: a 160x60 picture needs 12 x 5 nodes.
pub(crate) const STEP: usize = 16;

/// A displacement field `(dx, dy)` in pixels, reused between renders.
pub(crate) struct Field {
    height: usize,
    grid_w: usize,
    grid: Vec<[f32; 2]>,
    /// The grid interpolated down every pixel row: `rows[y * grid_w + c]`
    /// is the displacement at `(c * STEP, y)`.
    rows: Vec<[f32; 2]>,
    perlin: Perlin,
    amplitude: f32,
}

/// The shape of one warp: where in the noise plane it is read (the random
/// phase), how fast it varies and how far it moves pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Warp {
    /// Offset into the noise plane; distinct per captcha.
    pub phase: [f64; 4],
    /// Noise cycles per pixel.
    pub frequency: f64,
    /// Largest displacement in pixels (Perlin output is within -1..1).
    pub amplitude: f32,
}

impl Field {
    /// An all-zero field for a `width` x `height` picture.
    pub fn new(width: usize, height: usize) -> Field {
        let grid_w = width / STEP + 2;
        let grid_h = height / STEP + 2;
        Field {
            height,
            grid_w,
            grid: vec![[0.0; 2]; grid_w * grid_h],
            rows: vec![[0.0; 2]; grid_w * height],
            perlin: Perlin::new(0x5eed),
            amplitude: 0.0,
        }
    }

    /// Fills the field for `warp`. Allocates nothing.
    pub fn fill(&mut self, warp: &Warp) {
        self.amplitude = warp.amplitude;
        let amp = f64::from(warp.amplitude);
        let f = warp.frequency * STEP as f64;
        let p = &warp.phase;
        for (i, node) in self.grid.iter_mut().enumerate() {
            let gx = (i % self.grid_w) as f64 * f;
            let gy = (i / self.grid_w) as f64 * f;
            node[0] = (amp * self.perlin.get([gx + p[0], gy + p[1]])) as f32;
            node[1] = (amp * self.perlin.get([gx + p[2], gy + p[3]])) as f32;
        }
        let inv = 1.0 / STEP as f32;
        for y in 0..self.height {
            let t = (y % STEP) as f32 * inv;
            let top = &self.grid[(y / STEP) * self.grid_w..][..self.grid_w];
            let bottom = &self.grid[(y / STEP + 1) * self.grid_w..][..self.grid_w];
            let row = &mut self.rows[y * self.grid_w..][..self.grid_w];
            for ((out, a), b) in row.iter_mut().zip(top).zip(bottom) {
                *out = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
            }
        }
    }

    /// The largest distance any pixel can move, in pixels.
    pub fn max_displacement(&self) -> f32 {
        self.amplitude
    }

    /// The grid nodes of row `y`: node `c` holds the displacement at
    /// `(c * STEP, y)`; in between it is linear.
    pub fn row(&self, y: usize) -> &[[f32; 2]] {
        &self.rows[y * self.grid_w..][..self.grid_w]
    }

    /// The displacement at pixel `(x, y)` (for tests and diagnostics).
    #[cfg(test)]
    pub fn at(&self, x: usize, y: usize) -> [f32; 2] {
        let row = self.row(y);
        let (c, t) = (x / STEP, (x % STEP) as f32 / STEP as f32);
        let (a, b) = (row[c], row[c + 1]);
        [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_is_bounded_smooth_and_phase_dependent() {
        let mut field = Field::new(160, 60);
        let warp = Warp {
            phase: [10.3, 4.1, 77.7, 1.9],
            frequency: 1.0 / 40.0,
            amplitude: 4.0,
        };
        field.fill(&warp);
        let mut max = 0f32;
        for y in 0..60 {
            for x in 0..160 {
                let [dx, dy] = field.at(x, y);
                max = max.max(dx.abs()).max(dy.abs());
                if x > 0 {
                    // Neighbours differ by little: the warp bends, it does not tear.
                    assert!((dx - field.at(x - 1, y)[0]).abs() < 0.5);
                }
            }
        }
        assert!(max <= 4.0 && max > 0.5, "max displacement {max}");
        let first = field.at(80, 30);
        field.fill(&Warp {
            phase: [50.5, 8.25, 3.0, 9.0],
            ..warp
        });
        assert_ne!(first, field.at(80, 30));
    }
}
