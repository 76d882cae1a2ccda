//! After warm-up, `AudioGenerator::render_into` allocates nothing: proven
//! with a counting global allocator, as `tests/alloc.rs` does for pictures.
//! (Its own test binary, so no other test's allocations, nor the test
//! harness's notices about a slow test of the other, are counted.)

use qcaptcha::audio::MAX_SAMPLES;
use qcaptcha::{AudioGenerator, CaptchaType};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

#[test]
fn audio_after_warm_up_allocates_nothing() {
    let mut audio = AudioGenerator::new();
    // The caller's buffer, grown once to the longest clip.
    let mut wav = Vec::with_capacity(44 + 2 * MAX_SAMPLES);
    // Warm-up: the voice tables are built on first use.
    for kind in CaptchaType::ALL {
        audio.render_into(kind, 0, &mut wav).unwrap();
    }
    let before = allocations();
    let mut bytes = 0;
    for seed in 1..60 {
        for kind in CaptchaType::ALL {
            let answer = audio.render_into(kind, seed, &mut wav).unwrap();
            bytes += wav.len() + answer.len();
        }
    }
    let after = allocations();
    assert!(bytes > 0);
    assert_eq!(after - before, 0, "audio: {} allocations", after - before);
}
