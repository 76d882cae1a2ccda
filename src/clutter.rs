//! Crossing strokes: smooth curves of the same colour and width as the
//! glyph stems, drawn through the text so that a solver cannot remove them
//! by colour or thickness and cannot cut letters apart along empty columns.

use crate::canvas::Canvas;

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

impl Stroke {
    /// Draws the stroke, anti-aliased, column by column: each column gets a
    /// vertical run whose length grows with the slope so that the stroke
    /// keeps the same thickness across its direction.
    pub fn draw(&self, canvas: &mut Canvas) {
        let x0 = self.from.max(0.0) as usize;
        let x1 = (self.to.max(0.0) as usize).min(canvas.width);
        let half = self.width * 0.5;
        let h = canvas.height as f32;
        for x in x0..x1 {
            let xf = x as f32 + 0.5;
            let angle = xf * self.frequency + self.phase;
            let yc = self.base + self.slope * (xf - self.from) + self.amplitude * angle.sin();
            let dy = self.slope + self.amplitude * self.frequency * angle.cos();
            let reach = half * (1.0 + dy * dy).sqrt();
            let top = (yc - reach - 1.0).clamp(0.0, h) as usize;
            let bottom = (yc + reach + 1.0).clamp(0.0, h) as usize;
            for y in top..bottom {
                let distance = (y as f32 + 0.5 - yc).abs();
                let cover = (reach + 0.5 - distance).clamp(0.0, 1.0);
                let px = &mut canvas.pixels[y * canvas.width + x];
                *px = (*px).max((cover * 255.0) as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_stroke_has_its_width_and_stays_in_bounds() {
        let mut c = Canvas::new(40, 20);
        Stroke {
            from: 5.0,
            to: 35.0,
            base: 10.0,
            slope: 0.0,
            amplitude: 0.0,
            frequency: 0.0,
            phase: 0.0,
            width: 4.0,
        }
        .draw(&mut c);
        let column: u32 = (0..20).map(|y| u32::from(c.pixels[y * 40 + 20])).sum();
        assert!((column as f32 / 255.0 - 4.0).abs() < 0.6, "{column}");
        assert!((0..20).all(|y| c.pixels[y * 40 + 2] == 0));
        // A stroke leaving the canvas is clipped, not a panic.
        Stroke {
            from: -10.0,
            to: 100.0,
            base: -5.0,
            slope: 1.0,
            amplitude: 3.0,
            frequency: 0.3,
            phase: 1.0,
            width: 3.0,
        }
        .draw(&mut c);
    }
}
