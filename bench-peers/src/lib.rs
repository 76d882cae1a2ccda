//! The contenders of the `peers` benchmark and the `sizes` example, in one
//! place so that both measure exactly the same work.
//!
//! Every function renders one fresh picture at [`WIDTH`]x[`HEIGHT`] and
//! returns the encoded file, so encoding is part of every measurement.

use std::io::Cursor;

use captcha::filters::{Dots, Noise, Wave};
use captcha_rs::CaptchaBuilder;
use qcaptcha::{CaptchaType, Compression, Generator, Options};

/// Picture width shared by every contender.
pub const WIDTH: u32 = 160;
/// Picture height shared by every contender.
pub const HEIGHT: u32 = 60;

/// The qcaptcha types compared: the four with interference, then one clear type.
pub const QCAPTCHA_TYPES: [u8; 5] = [5, 6, 7, 8, 1];

/// A reusable qcaptcha generator at [`WIDTH`]x[`HEIGHT`] with the default
/// (stored) PNG data.
pub fn qcaptcha_generator() -> Generator {
    qcaptcha_generator_with(Compression::Stored)
}

/// A reusable qcaptcha generator at [`WIDTH`]x[`HEIGHT`] with `compression`.
pub fn qcaptcha_generator_with(compression: Compression) -> Generator {
    let options = Options::default()
        .size(WIDTH, HEIGHT)
        .compress(compression);
    Generator::new(options).expect("160x60 is a valid size")
}

/// The qcaptcha type of wire value `code`.
pub fn qcaptcha_type(code: u8) -> CaptchaType {
    CaptchaType::try_from(code).expect("valid captcha type")
}

/// `captcha` 1.0.0 with the filter chain of its crate documentation (the
/// docs.rs front page): noise, a horizontal and a vertical wave, the view,
/// then dots. Only the view size differs (220x120 there).
pub fn captcha_readme_filters() -> Vec<u8> {
    captcha::Captcha::new()
        .add_chars(5)
        .apply_filter(Noise::new(0.4))
        .apply_filter(Wave::new(2.0, 20.0).horizontal())
        .apply_filter(Wave::new(2.0, 20.0).vertical())
        .view(WIDTH, HEIGHT)
        .apply_filter(Dots::new(15))
        .as_png()
        .expect("captcha PNG")
}

/// `captcha` 1.0.0 with the chain of its repository README.md: only
/// `Noise::new(0.1)` before the view.
pub fn captcha_readme_md_noise() -> Vec<u8> {
    captcha::Captcha::new()
        .add_chars(5)
        .apply_filter(Noise::new(0.1))
        .view(WIDTH, HEIGHT)
        .as_png()
        .expect("captcha PNG")
}

/// `captcha` 1.0.0 with five characters and no filter at all.
pub fn captcha_no_filters() -> Vec<u8> {
    captcha::Captcha::new()
        .add_chars(5)
        .view(WIDTH, HEIGHT)
        .as_png()
        .expect("captcha PNG")
}

fn captcha_rs_default_picture() -> captcha_rs::Captcha {
    CaptchaBuilder::new().width(WIDTH).height(HEIGHT).build()
}

/// `captcha-rs` 0.5.0 with its defaults (5 characters, complexity 1, 2
/// lines, 2 ellipses, compression 40) at [`WIDTH`]x[`HEIGHT`], ending in its
/// only encoded output: a `data:image/jpeg;base64,...` string (a quality-40
/// JPEG, not a PNG).
pub fn captcha_rs_default() -> String {
    captcha_rs_default_picture().to_base64()
}

/// The same `captcha-rs` picture encoded as a PNG with the `image` crate,
/// for a like-for-like PNG row (captcha-rs itself offers no PNG output).
pub fn captcha_rs_default_png(png: &mut Vec<u8>) {
    let picture = captcha_rs_default_picture();
    png.clear();
    picture
        .image
        .write_to(&mut Cursor::new(png), image::ImageFormat::Png)
        .expect("PNG encoding");
}

/// The number of bytes that the base64 body of a data URI decodes to.
pub fn data_uri_payload_len(uri: &str) -> usize {
    let body = uri.split_once(',').map_or(uri, |(_, body)| body);
    let padding = body.bytes().rev().take_while(|&b| b == b'=').count();
    body.len() / 4 * 3 - padding
}
