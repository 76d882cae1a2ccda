//! PNG output: the canvas's coverage, quantized to four levels, written
//! as a 2-bit indexed PNG whose palette ramps from the background to the
//! ink colour, so theming costs nothing and the files stay small.
//!
//! Four levels rather than more: at captcha sizes the anti-aliasing reads
//! the same, and half the bytes make deflate (the dearest step) twice as
//! fast and the files a third smaller.
//!
//! The container (signature, IHDR, PLTE, IDAT, IEND and their CRCs) is
//! written by the `png` crate; the zlib stream of the image data by
//! `fdeflate` (the PNG-tuned deflate that `png` itself uses), into buffers
//! this encoder keeps, so that after the first picture encoding allocates
//! nothing but the growth of the caller's output buffer.
//!
//! By default the data is stored, not compressed: a captcha is small
//! enough (2.5 KB at 160x60) that compressing it, which takes a fifth or
//! more of the render, is not worth the bytes saved, and every picture of
//! a size then has the same length. [`Compression::Fast`] compresses for
//! callers who count bytes over CPU.

use super::Error;
use crate::render::raster::Canvas;

/// Palette entries: 2-bit indices.
const LEVELS: usize = 4;

/// The file's bytes besides the image data: signature (8), IHDR (25),
/// PLTE (12 + 3 a colour), the IDAT chunk's length, type and CRC (12),
/// IEND (12).
const CONTAINER_BYTES: usize = 8 + 25 + 12 + 3 * LEVELS + 12 + 12;

/// How the image data inside the PNG is compressed. Both give the same
/// picture; they differ in time and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Stored zlib blocks: no compression work (about 2.6 KB at 160x60,
    /// 1.9 KB at the default 130x53). The fastest, and the default.
    #[default]
    Stored,
    /// fdeflate's fast PNG-tuned deflate: at 160x60 about 1 KB for the
    /// clear types and 1.8 KB for the striped interference types (40 % and
    /// 70 % of the stored size), for 4-9 µs more per picture.
    Fast,
}

/// A reusable PNG encoder for one picture size and palette.
pub(crate) struct PngEncoder {
    width: u32,
    height: u32,
    compression: Compression,
    palette: [u8; LEVELS * 3],
    /// Filtered scanlines: one filter byte, then packed 2-bit pixels.
    scanlines: Vec<u8>,
    /// The zlib stream of `scanlines`.
    compressed: Vec<u8>,
}

impl PngEncoder {
    /// An encoder for `width` x `height` pictures in colours ramping from
    /// `background` (coverage 0) to `ink` (coverage 255).
    pub fn new(
        width: usize,
        height: usize,
        background: [u8; 3],
        ink: [u8; 3],
        compression: Compression,
    ) -> PngEncoder {
        let mut palette = [0u8; LEVELS * 3];
        for (level, rgb) in palette.chunks_exact_mut(3).enumerate() {
            for (ch, out) in rgb.iter_mut().enumerate() {
                let (bg, fg) = (f32::from(background[ch]), f32::from(ink[ch]));
                let t = level as f32 / (LEVELS - 1) as f32;
                *out = (bg + (fg - bg) * t).round() as u8;
            }
        }
        let row_bytes = 1 + width.div_ceil(4);
        let stored = fdeflate::StoredOnlyCompressor::<()>::compressed_size(row_bytes * height);
        PngEncoder {
            width: width as u32,
            height: height as u32,
            compression,
            palette,
            scanlines: Vec::with_capacity(row_bytes * height),
            compressed: Vec::with_capacity(stored),
        }
    }

    /// Appends the PNG of `canvas` to `out`, clearing the canvas.
    pub fn encode(&mut self, canvas: &mut Canvas, out: &mut Vec<u8>) -> Result<(), Error> {
        self.pack(canvas);
        self.compressed.clear();
        match self.compression {
            Compression::Stored => {
                let sink = std::io::Cursor::new(&mut self.compressed);
                let mut zlib = fdeflate::StoredOnlyCompressor::new(sink).map_err(encode_error)?;
                zlib.write_data(&self.scanlines).map_err(encode_error)?;
                zlib.finish().map_err(encode_error)?;
            }
            Compression::Fast => {
                let mut zlib =
                    fdeflate::Compressor::new(&mut self.compressed).map_err(encode_error)?;
                zlib.write_data(&self.scanlines).map_err(encode_error)?;
                zlib.finish().map_err(encode_error)?;
            }
        }

        // The caller's buffer grows once to the whole file, not chunk by
        // chunk (a fresh `Vec` would be reallocated four to six times).
        out.reserve(CONTAINER_BYTES + self.compressed.len());
        let mut png = png::Encoder::new(out, self.width, self.height);
        png.set_color(png::ColorType::Indexed);
        png.set_depth(png::BitDepth::Two);
        png.set_palette(&self.palette[..]);
        let mut writer = png.write_header().map_err(encode_error)?;
        writer
            .write_chunk(png::chunk::IDAT, &self.compressed)
            .map_err(encode_error)?;
        writer.finish().map_err(encode_error)
    }

    /// Lays the canvas out as PNG scanlines with filter type 0 (None):
    /// background runs become runs of zero bytes, which fdeflate's
    /// run-length coding turns into a few bits each.
    fn pack(&mut self, canvas: &mut Canvas) {
        let row_bytes = 1 + canvas.width.div_ceil(4);
        self.scanlines.clear();
        self.scanlines.resize(row_bytes * canvas.height, 0);
        canvas.resolve(&mut self.scanlines, row_bytes);
    }
}

fn encode_error(e: impl std::fmt::Display) -> Error {
    Error::Encode(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fits_the_room_reserved_for_it() {
        for (w, h) in [(130, 53), (260, 106), (160, 60)] {
            let mut e = PngEncoder::new(w, h, [255; 3], [0; 3], Compression::Stored);
            let mut canvas = Canvas::new(w, h);
            let mut out = Vec::new();
            e.encode(&mut canvas, &mut out).unwrap();
            assert_eq!(out.len(), CONTAINER_BYTES + e.compressed.len());
            assert_eq!(out.capacity(), out.len());
        }
    }

    #[test]
    fn palette_ramps_from_background_to_ink() {
        let e = PngEncoder::new(10, 10, [250, 240, 230], [10, 20, 30], Compression::Stored);
        assert_eq!(&e.palette[..3], &[250, 240, 230]);
        assert_eq!(&e.palette[9..], &[10, 20, 30]);
        assert_eq!(&e.palette[3..6], &[170, 167, 163]);
    }
}
