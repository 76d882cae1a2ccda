//! The smooth global warp: a displacement field drawn from Perlin noise at a
//! random phase. The warp moves outline points (a few hundred per picture),
//! not pixels, by bilinear interpolation between the nodes of a coarse grid.
//!
//! Noise costs tens of nanoseconds a sample, so it is not sampled per
//! picture at all: once per process, Perlin noise is tabulated on a lattice
//! of [`TABLE`] x [`TABLE`] nodes, and each picture reads its grid out of
//! that table at a random offset per component (its phase). The lattice
//! spacing is irrational in noise units, so no node falls on Perlin's
//! integer lattice, where the noise is always zero.

use std::sync::OnceLock;

use noise::{NoiseFn, Perlin};

use crate::render::style::INTERFERENCE;

/// Nodes per side of the noise table: 16,384 samples, 64 KB, about a
/// millisecond once per process.
const TABLE: usize = 128;
/// Distance between table nodes in noise units (the golden ratio's
/// fraction: never an integer, however many steps).
const SPACING: f64 = 0.618_034;

/// The noise table, shared by every generator of the process.
fn table() -> &'static [f32] {
    static NOISE: OnceLock<Vec<f32>> = OnceLock::new();
    NOISE.get_or_init(|| {
        let perlin = Perlin::new(0x5eed);
        (0..TABLE * TABLE)
            .map(|i| {
                let (x, y) = ((i % TABLE) as f64, (i / TABLE) as f64);
                perlin.get([x * SPACING, y * SPACING]) as f32
            })
            .collect()
    })
}

/// A displacement field `(dx, dy)` in pixels, reused between renders.
pub(crate) struct Field {
    grid_w: usize,
    grid_h: usize,
    /// Grid nodes per pixel: one over the grid spacing in pixels (one
    /// table step), divided once here rather than once per point.
    inv_step: f32,
    /// Per grid cell and component, the bilinear form `a + b tx + (c + d tx) ty`
    /// of its four corners: one multiply-add chain per point.
    cells: Vec<[[f32; 4]; 2]>,
    /// Largest cell coordinate a point can use, per axis.
    max: [f32; 2],
}

/// The shape of one warp: where in the noise table each component is read
/// (the random phase) and how far it moves pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Warp {
    /// Offset into the table, `[dx column, dx row, dy column, dy row]`, each
    /// in `0.0..1.0` of the offsets that keep the grid inside the table.
    pub phase: [f32; 4],
    /// Largest displacement in pixels (Perlin output is within -1..1).
    pub amplitude: f32,
}

impl Field {
    /// An all-zero field for a `width` x `height` picture.
    pub fn new(width: usize, height: usize) -> Field {
        let step = SPACING as f32 * INTERFERENCE.warp_wavelength * height as f32;
        // Nodes up to one step past the right and bottom sides; the table
        // is larger than the widest grid (1024x24 pictures: 78 x 3 nodes).
        let grid_w = (width as f32 / step) as usize + 2;
        let grid_h = (height as f32 / step) as usize + 2;
        Field {
            grid_w,
            grid_h,
            inv_step: 1.0 / step,
            cells: vec![[[0.0; 4]; 2]; (grid_w - 1) * (grid_h - 1)],
            max: [(grid_w - 1) as f32 - 1e-3, (grid_h - 1) as f32 - 1e-3],
        }
    }

    /// Fills the field for `warp`. Allocates nothing.
    pub fn fill(&mut self, warp: &Warp) {
        let table = table();
        let offset = |phase: f32, span: usize| ((TABLE - span) as f32 * phase) as usize;
        let p = &warp.phase;
        let origin = [
            offset(p[1], self.grid_h) * TABLE + offset(p[0], self.grid_w),
            offset(p[3], self.grid_h) * TABLE + offset(p[2], self.grid_w),
        ];
        let cells_w = self.grid_w - 1;
        for (i, cell) in self.cells.iter_mut().enumerate() {
            let corner = (i / cells_w) * TABLE + i % cells_w;
            for (k, form) in cell.iter_mut().enumerate() {
                let node = |dx: usize, dy: usize| {
                    warp.amplitude * table[origin[k] + corner + dy * TABLE + dx]
                };
                let (n00, n10, n01, n11) = (node(0, 0), node(1, 0), node(0, 1), node(1, 1));
                *form = [n00, n10 - n00, n01 - n00, n11 - n10 - n01 + n00];
            }
        }
    }

    /// Moves point `p` by the field (bilinear between grid nodes; points
    /// off the picture use the nearest edge of the grid).
    #[inline]
    pub fn displace(&self, p: [f32; 2]) -> [f32; 2] {
        // max() maps NaN to 0, so any input indexes inside the grid.
        let inv = self.inv_step;
        let gx = (p[0] * inv).max(0.0).min(self.max[0]);
        let gy = (p[1] * inv).max(0.0).min(self.max[1]);
        let (cx, cy) = (gx as i32, gy as i32);
        let (tx, ty) = (gx - cx as f32, gy - cy as f32);
        let cell = &self.cells[cy as usize * (self.grid_w - 1) + cx as usize];
        let at = |[a, b, c, d]: [f32; 4]| a + b * tx + (c + d * tx) * ty;
        [p[0] + at(cell[0]), p[1] + at(cell[1])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_is_bounded_smooth_and_phase_dependent() {
        let mut field = Field::new(160, 60);
        let warp = Warp {
            phase: [0.3, 0.1, 0.7, 0.9],
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
            phase: [0.5, 0.25, 0.0, 0.99],
            ..warp
        });
        assert_ne!(first, field.displace([80.0, 30.0]));
        // Far off the picture the grid's edge applies: moved by no more
        // than the amplitude. NaN reads the corner (and stays NaN).
        for p in [[-500.0f32, 900.0], [1e4, -1e4]] {
            let q = field.displace(p);
            assert!(
                (q[0] - p[0]).abs() <= 4.0 && (q[1] - p[1]).abs() <= 4.0,
                "{p:?} -> {q:?}"
            );
        }
        let q = field.displace([f32::NAN, 10.0]);
        assert!(q[0].is_nan() && q[1].is_finite());
    }

    #[test]
    fn the_largest_grids_fit_the_table_at_any_phase() {
        for (w, h) in [(1024, 512), (1024, 24), (48, 24)] {
            let mut field = Field::new(w, h);
            assert!(field.grid_w < TABLE && field.grid_h < TABLE);
            for phase in [[0.0; 4], [1.0; 4], [0.999, 0.0, 0.0, 0.999]] {
                field.fill(&Warp {
                    phase,
                    amplitude: 1.0,
                });
                let far = field.displace([w as f32 - 1.0, h as f32 - 1.0]);
                assert!(far[0].is_finite() && far[1].is_finite());
            }
        }
    }
}
