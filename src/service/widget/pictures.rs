//! The widget's pictures at the scales it asks for: the same challenge
//! drawn at 1x, 2x or 3x the 130x53 bitmap, so that a page shows it large
//! and sharp on any screen instead of stretching a thumbnail. The answer
//! does not depend on the scale (it comes from the seed alone).

use std::cell::RefCell;

use crate::render::{CaptchaType, Error, Generator, Options, DEFAULT_HEIGHT, DEFAULT_WIDTH};

/// The largest scale served: 390x159 pixels, enough for a picture
/// shown at twice its size on a 1.5x screen. Larger bitmaps would only
/// give OCR more pixels to work with.
pub(crate) const MAX_SCALE: u32 = 3;

thread_local! {
    /// One generator per scale and thread, made on first use.
    static GENERATORS: RefCell<[Option<Generator>; MAX_SCALE as usize]> =
        const { RefCell::new([None, None, None]) };
}

/// The PNG of `(kind, seed)` at `scale` times the default size.
pub(crate) fn render(kind: CaptchaType, seed: u64, scale: u32) -> Result<Vec<u8>, Error> {
    let scale = scale.clamp(1, MAX_SCALE);
    GENERATORS.with(|cell| {
        let mut generators = cell.borrow_mut();
        let slot = &mut generators[scale as usize - 1];
        let generator = match slot {
            Some(g) => g,
            None => {
                let options =
                    Options::default().size(DEFAULT_WIDTH * scale, DEFAULT_HEIGHT * scale);
                slot.insert(Generator::new(options)?)
            }
        };
        Ok(generator.render(kind, seed)?.into_png())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_one_to_three_and_keep_the_answer() {
        for scale in 1..=MAX_SCALE {
            let png = render(CaptchaType::Interference5, 99, scale).unwrap();
            let ihdr = &png[16..24];
            let w = u32::from_be_bytes(ihdr[..4].try_into().unwrap());
            let h = u32::from_be_bytes(ihdr[4..].try_into().unwrap());
            assert_eq!((w, h), (130 * scale, 53 * scale));
        }
        assert_eq!(
            render(CaptchaType::Interference5, 99, 1).unwrap(),
            crate::render::generate(CaptchaType::Interference5, 99)
                .unwrap()
                .into_png()
        );
    }
}
