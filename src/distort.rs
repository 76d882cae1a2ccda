//! The smooth global warp: a displacement field drawn from Perlin noise at a
//! random phase, sampled on a coarse grid and interpolated, so that each
//! pixel costs a few additions rather than a noise evaluation.

use noise::{NoiseFn, Perlin};

/// Grid spacing in pixels. Noise costs tens of nanoseconds a sample; on an
/// 8-pixel grid a 160x60 picture needs ~200 samples instead of 9,600.
const STEP: usize = 8;

/// A per-pixel displacement `(dx, dy)`, in pixels, reused between renders.
pub(crate) struct Field {
    width: usize,
    height: usize,
    grid_w: usize,
    grid: Vec<[f32; 2]>,
    /// Horizontal displacement, row-major.
    pub dx: Vec<f32>,
    /// Vertical displacement, row-major.
    pub dy: Vec<f32>,
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
            width,
            height,
            grid_w,
            grid: vec![[0.0; 2]; grid_w * grid_h],
            dx: vec![0.0; width * height],
            dy: vec![0.0; width * height],
            perlin: Perlin::new(0x5eed),
            amplitude: 0.0,
        }
    }

    /// Fills the field for `warp`. Allocates nothing.
    pub fn fill(&mut self, warp: &Warp) {
        self.amplitude = warp.amplitude;
        let amp = f64::from(warp.amplitude);
        let f = warp.frequency * STEP as f64;
        for (i, node) in self.grid.iter_mut().enumerate() {
            let gx = (i % self.grid_w) as f64 * f;
            let gy = (i / self.grid_w) as f64 * f;
            let p = &warp.phase;
            node[0] = (amp * self.perlin.get([gx + p[0], gy + p[1]])) as f32;
            node[1] = (amp * self.perlin.get([gx + p[2], gy + p[3]])) as f32;
        }
        self.interpolate();
    }

    /// The largest distance any pixel can move, in pixels.
    pub fn max_displacement(&self) -> f32 {
        self.amplitude
    }

    fn interpolate(&mut self) {
        let inv = 1.0 / STEP as f32;
        for y in 0..self.height {
            let gy = y / STEP;
            let ty = (y % STEP) as f32 * inv;
            let top = &self.grid[gy * self.grid_w..][..self.grid_w];
            let bottom = &self.grid[(gy + 1) * self.grid_w..][..self.grid_w];
            let dx = &mut self.dx[y * self.width..][..self.width];
            let dy = &mut self.dy[y * self.width..][..self.width];
            for (x, (ox, oy)) in dx.iter_mut().zip(dy.iter_mut()).enumerate() {
                let gx = x / STEP;
                let tx = (x % STEP) as f32 * inv;
                let lerp2 = |k: usize| {
                    let l = top[gx][k] + (bottom[gx][k] - top[gx][k]) * ty;
                    let r = top[gx + 1][k] + (bottom[gx + 1][k] - top[gx + 1][k]) * ty;
                    l + (r - l) * tx
                };
                *ox = lerp2(0);
                *oy = lerp2(1);
            }
        }
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
        let max = field
            .dx
            .iter()
            .chain(&field.dy)
            .fold(0f32, |m, v| m.max(v.abs()));
        assert!(max <= 4.0 && max > 0.5, "max displacement {max}");
        // Neighbours differ by little: the warp bends, it does not tear.
        for y in 0..60 {
            for x in 1..160 {
                let i = y * 160 + x;
                assert!((field.dx[i] - field.dx[i - 1]).abs() < 0.5);
            }
        }
        let first = field.dx.clone();
        field.fill(&Warp {
            phase: [50.5, 8.25, 3.0, 9.0],
            ..warp
        });
        assert_ne!(first, field.dx);
    }
}
