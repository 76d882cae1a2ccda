//! The smooth global warp: a displacement field drawn from Perlin noise at a
//! random phase. Noise costs tens of nanoseconds a sample, so it is sampled
//! only on a coarse grid and interpolated bilinearly in between. The warp
//! moves outline points (a few hundred per picture), not pixels.

use noise::{NoiseFn, Perlin};

/// Grid spacing in pixels: a 160x60 picture needs 12 x 5 nodes.
const STEP: usize = 16;

/// A displacement field `(dx, dy)` in pixels, reused between renders.
pub(crate) struct Field {
    grid_w: usize,
    grid_h: usize,
    grid: Vec<[f32; 2]>,
    perlin: Perlin,
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
            grid_w,
            grid_h,
            grid: vec![[0.0; 2]; grid_w * grid_h],
            perlin: Perlin::new(0x5eed),
        }
    }

    /// Fills the field for `warp`. Allocates nothing.
    pub fn fill(&mut self, warp: &Warp) {
        let amp = f64::from(warp.amplitude);
        let f = warp.frequency * STEP as f64;
        let p = &warp.phase;
        for (i, node) in self.grid.iter_mut().enumerate() {
            let gx = (i % self.grid_w) as f64 * f;
            let gy = (i / self.grid_w) as f64 * f;
            node[0] = (amp * self.perlin.get([gx + p[0], gy + p[1]])) as f32;
            node[1] = (amp * self.perlin.get([gx + p[2], gy + p[3]])) as f32;
        }
    }

    /// Moves point `p` by the field (bilinear between grid nodes; points
    /// off the picture use the nearest edge of the grid).
    #[inline]
    pub fn displace(&self, p: [f32; 2]) -> [f32; 2] {
        let inv = 1.0 / STEP as f32;
        let gx = (p[0] * inv).clamp(0.0, (self.grid_w - 1) as f32 - 1e-3);
        let gy = (p[1] * inv).clamp(0.0, (self.grid_h - 1) as f32 - 1e-3);
        let (cx, cy) = (gx as usize, gy as usize);
        let (tx, ty) = (gx - cx as f32, gy - cy as f32);
        let top = &self.grid[cy * self.grid_w + cx..][..2];
        let bottom = &self.grid[(cy + 1) * self.grid_w + cx..][..2];
        let mut out = p;
        for k in 0..2 {
            let t = top[0][k] + (top[1][k] - top[0][k]) * tx;
            let b = bottom[0][k] + (bottom[1][k] - bottom[0][k]) * tx;
            out[k] += t + (b - t) * ty;
        }
        out
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
                let (xf, yf) = (x as f32, y as f32);
                let at = |x: f32| {
                    let p = field.displace([x, yf]);
                    [p[0] - x, p[1] - yf]
                };
                let [dx, dy] = at(xf);
                max = max.max(dx.abs()).max(dy.abs());
                if x > 0 {
                    // Neighbours differ by little: the warp bends, it does not tear.
                    assert!((dx - at(xf - 1.0)[0]).abs() < 0.5);
                }
            }
        }
        assert!(max <= 4.0 && max > 0.5, "max displacement {max}");
        let first = field.displace([80.0, 30.0]);
        field.fill(&Warp {
            phase: [50.5, 8.25, 3.0, 9.0],
            ..warp
        });
        assert_ne!(first, field.displace([80.0, 30.0]));
        // Far off the picture: clamped, no panic.
        field.displace([-1e9, 1e9]);
    }
}
