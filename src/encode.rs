//! PNG output: coverage is quantized to 16 levels and written as a 4-bit
//! indexed PNG whose palette ramps from the background to the ink colour,
//! so theming costs nothing and the files stay small.
//!
//! The container (signature, IHDR, PLTE, IDAT, IEND and their CRCs) is
//! written by the `png` crate; the image data is compressed by `fdeflate`
//! (the PNG-tuned deflate that `png` itself uses for `Compression::Fast`)
//! into buffers this encoder keeps, so that after the first picture
//! encoding allocates nothing but the growth of the caller's output buffer.

use crate::canvas::Canvas;
use crate::Error;

/// Palette entries: 4-bit indices.
const LEVELS: usize = 16;

/// A reusable PNG encoder for one picture size and palette.
pub(crate) struct PngEncoder {
    width: u32,
    height: u32,
    palette: [u8; LEVELS * 3],
    /// One row of coverage.
    coverage: Vec<u8>,
    /// Filtered scanlines: one filter byte, then packed 4-bit pixels.
    scanlines: Vec<u8>,
    /// The zlib stream of `scanlines`.
    compressed: Vec<u8>,
}

impl PngEncoder {
    /// An encoder for `width` x `height` pictures in colours ramping from
    /// `background` (coverage 0) to `ink` (coverage 255).
    pub fn new(width: usize, height: usize, background: [u8; 3], ink: [u8; 3]) -> PngEncoder {
        let mut palette = [0u8; LEVELS * 3];
        for (level, rgb) in palette.chunks_exact_mut(3).enumerate() {
            for (ch, out) in rgb.iter_mut().enumerate() {
                let (bg, fg) = (f32::from(background[ch]), f32::from(ink[ch]));
                let t = level as f32 / (LEVELS - 1) as f32;
                *out = (bg + (fg - bg) * t).round() as u8;
            }
        }
        let row_bytes = 1 + width.div_ceil(2);
        PngEncoder {
            width: width as u32,
            height: height as u32,
            palette,
            coverage: vec![0; width],
            scanlines: Vec::with_capacity(row_bytes * height),
            compressed: Vec::with_capacity(row_bytes * height),
        }
    }

    /// Appends the PNG of `canvas` to `out`, clearing the canvas.
    pub fn encode(&mut self, canvas: &mut Canvas, out: &mut Vec<u8>) -> Result<(), Error> {
        self.pack(canvas);
        self.compressed.clear();
        let mut deflate = fdeflate::Compressor::new(&mut self.compressed).map_err(encode_error)?;
        deflate.write_data(&self.scanlines).map_err(encode_error)?;
        deflate.finish().map_err(encode_error)?;

        let mut png = png::Encoder::new(out, self.width, self.height);
        png.set_color(png::ColorType::Indexed);
        png.set_depth(png::BitDepth::Four);
        png.set_palette(&self.palette[..]);
        let mut writer = png.write_header().map_err(encode_error)?;
        writer
            .write_chunk(png::chunk::IDAT, &self.compressed)
            .map_err(encode_error)?;
        writer.finish().map_err(encode_error)
    }

    /// Quantizes and packs the canvas into PNG scanlines with filter type 0
    /// (None): background runs become runs of zero bytes, which fdeflate's
    /// run-length coding turns into a few bits each. Only the part of each
    /// row that the canvas reports as touched is converted.
    fn pack(&mut self, canvas: &mut Canvas) {
        let row_bytes = 1 + canvas.width.div_ceil(2);
        self.scanlines.clear();
        self.scanlines.resize(row_bytes * canvas.height, 0);
        for (y, line) in self.scanlines.chunks_exact_mut(row_bytes).enumerate() {
            let range = canvas.resolve_row(y, &mut self.coverage);
            // The range starts on a pixel pair; an odd width leaves a last
            // pair of one pixel.
            let pixels = &self.coverage[range.clone()];
            let bytes = &mut line[1 + range.start / 2..1 + range.end.div_ceil(2)];
            let pairs = pixels.chunks_exact(2);
            if let Some(&last) = pairs.remainder().first() {
                bytes[bytes.len() - 1] = quantize(last) << 4;
            }
            for (byte, pair) in bytes.iter_mut().zip(pairs) {
                *byte = quantize(pair[0]) << 4 | quantize(pair[1]);
            }
        }
    }
}

/// Coverage 0..=255 to a palette index 0..=15, rounded (within one count of
/// `(c * 15 + 127) / 255`), as arithmetic the compiler can vectorize.
#[inline(always)]
fn quantize(c: u8) -> u8 {
    ((u16::from(c) * 15 + 128) >> 8) as u8
}

fn encode_error(e: impl std::fmt::Display) -> Error {
    Error::Encode(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_ramps_from_background_to_ink() {
        let e = PngEncoder::new(10, 10, [250, 240, 230], [10, 20, 30]);
        assert_eq!(&e.palette[..3], &[250, 240, 230]);
        assert_eq!(&e.palette[45..], &[10, 20, 30]);
    }

    #[test]
    fn quantize_rounds_to_the_nearest_level() {
        for c in 0..=255u8 {
            let exact = f32::from(c) * 15.0 / 255.0;
            assert!((f32::from(quantize(c)) - exact).abs() <= 0.55, "{c}");
        }
        assert_eq!(quantize(0), 0);
        assert_eq!(quantize(255), 15);
    }
}
