//! After warm-up, `Generator::render_into` allocates nothing: proven with a
//! counting global allocator. (Its own test binary, so no other test's
//! allocations are counted.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use qcaptcha::{CaptchaType, Generator, Options};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn rendering_after_warm_up_allocates_nothing() {
    for (w, h) in [(130, 53), (160, 60), (400, 120)] {
        let mut generator = Generator::new(Options::default().size(w, h)).unwrap();
        // The caller's buffer, grown once.
        let mut png = Vec::with_capacity(64 * 1024);
        for kind in CaptchaType::ALL {
            generator.render_into(kind, 0, &mut png).unwrap();
        }
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let mut bytes = 0;
        for seed in 1..300 {
            for kind in CaptchaType::ALL {
                let answer = generator.render_into(kind, seed, &mut png).unwrap();
                bytes += png.len() + answer.len();
            }
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert!(bytes > 0);
        assert_eq!(after - before, 0, "{w}x{h}: {} allocations", after - before);
    }
}
