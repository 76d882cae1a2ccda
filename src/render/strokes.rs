//! Wavy strokes: the bands of reversed contrast laid over the whole
//! picture are parallel strokes of this shape, each a tilted line bent by
//! a sine, of constant thickness across the curve.

use crate::render::glyphs::polygon_area;
use crate::render::raster::Canvas;

/// One stroke: `y(x) = base + slope * (x - from) + amplitude * sin(x * frequency + phase)`
/// for `x` in `from..to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stroke {
    /// First column.
    pub from: f32,
    /// Column after the last.
    pub to: f32,
    /// Height at `from`.
    pub base: f32,
    /// Rise per column.
    pub slope: f32,
    /// Wave height in pixels.
    pub amplitude: f32,
    /// Wave radians per column.
    pub frequency: f32,
    /// Wave phase in radians.
    pub phase: f32,
    /// Thickness in pixels, measured across the curve.
    pub width: f32,
}

/// Distance between the stroke's outline points along x, in pixels.
const STEP: f32 = 8.0;

impl Stroke {
    /// Fills `count` copies of the stroke, each `spacing` pixels below the
    /// one before, as polygons: the curve offset by half the width to
    /// either side along its normal, so the thickness across it is
    /// constant. The outline (its sines and normals) is computed once into
    /// `outline` and moved down for each copy; copies wholly above or below
    /// the canvas are skipped. `points` and `outline` are scratch space.
    pub fn draw_repeated(
        &self,
        canvas: &mut Canvas,
        points: &mut Vec<[f32; 2]>,
        outline: &mut Vec<[f32; 2]>,
        count: usize,
        spacing: f32,
    ) {
        let steps = ((self.to - self.from) / STEP).ceil().clamp(1.0, 4096.0) as usize;
        let half = self.width * 0.5;
        outline.clear();
        for side in [-1.0f32, 1.0] {
            for i in 0..=steps {
                // Out along one side, back along the other.
                let i = if side < 0.0 { i } else { steps - i };
                let x = self.from + (self.to - self.from) * i as f32 / steps as f32;
                let (sin, cos) = (x * self.frequency + self.phase).sin_cos();
                let y = self.base + self.slope * (x - self.from) + self.amplitude * sin;
                let dy = self.slope + self.amplitude * self.frequency * cos;
                let norm = half * side / (1.0 + dy * dy).sqrt();
                outline.push([x - dy * norm, y + norm]);
            }
        }
        // Clockwise on screen (positive area) is ink; the other way would erase.
        if polygon_area(outline) < 0.0 {
            outline.reverse();
        }
        let (top, bottom) = outline.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
            (lo.min(p[1]), hi.max(p[1]))
        });
        let height = canvas.height as f32;
        for k in 0..count {
            let down = k as f32 * spacing;
            if bottom + down <= 0.0 || top + down >= height {
                continue;
            }
            points.clear();
            points.extend(outline.iter().map(|p| [p[0], p[1] + down]));
            canvas.fill(points, &[points.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(from: f32, to: f32, base: f32, width: f32) -> Stroke {
        Stroke {
            from,
            to,
            base,
            slope: 0.0,
            amplitude: 0.0,
            frequency: 0.0,
            phase: 0.0,
            width,
        }
    }

    #[test]
    fn flat_stroke_has_its_width_and_stays_in_bounds() {
        let mut c = Canvas::new(40, 20);
        let (mut scratch, mut outline) = (Vec::new(), Vec::new());
        flat(5.0, 35.0, 10.0, 4.0).draw_repeated(&mut c, &mut scratch, &mut outline, 1, 0.0);
        let cov = crate::render::raster::tests::levels(&mut c);
        // Levels run 0..=3: a 4 px stroke sums to 12 down a column.
        let column: u32 = (0..20).map(|y| u32::from(cov[y * 40 + 20])).sum();
        assert_eq!(column, 12);
        assert!((0..20).all(|y| cov[y * 40 + 2] == 0));
        // A stroke leaving the canvas is clipped, not a panic.
        Stroke {
            slope: 1.0,
            amplitude: 3.0,
            frequency: 0.3,
            phase: 1.0,
            ..flat(-10.0, 100.0, -5.0, 3.0)
        }
        .draw_repeated(&mut c, &mut scratch, &mut outline, 1, 0.0);
    }
}
