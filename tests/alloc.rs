//! After warm-up, `Generator::render_into` allocates nothing: proven with a
//! counting global allocator. (Its own test binary, so no other test's
//! allocations are counted.)

use qcaptcha::{CaptchaType, Generator, Options};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

#[test]
fn rendering_after_warm_up_allocates_nothing() {
    for (w, h) in [(130, 53), (160, 60), (400, 120)] {
        let mut generator = Generator::new(Options::default().size(w, h)).unwrap();
        // The caller's buffer, grown once.
        let mut png = Vec::with_capacity(64 * 1024);
        for kind in CaptchaType::ALL {
            generator.render_into(kind, 0, &mut png).unwrap();
        }
        let before = allocations();
        let mut bytes = 0;
        for seed in 1..300 {
            for kind in CaptchaType::ALL {
                let answer = generator.render_into(kind, seed, &mut png).unwrap();
                bytes += png.len() + answer.len();
            }
        }
        let after = allocations();
        assert!(bytes > 0);
        assert_eq!(after - before, 0, "{w}x{h}: {} allocations", after - before);
    }
}
