//! After warm-up, `Generator::render_into` and `AudioGenerator::render_into`
//! allocate nothing: proven with a counting global allocator. (Its own test binary, so no other test's
//! allocations are counted.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use qcaptcha::{AudioGenerator, CaptchaType, Generator, Options};

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

/// The tests of this binary run one at a time, so that each counts only its own allocations.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn rendering_after_warm_up_allocates_nothing() {
    let _serial = serial();
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

#[test]
fn audio_after_warm_up_allocates_nothing() {
    let _serial = serial();
    let mut audio = AudioGenerator::new();
    let mut wav = Vec::new();
    // Warm-up: the voice tables and the caller's buffer.
    for kind in CaptchaType::ALL {
        audio.render_into(kind, 0, &mut wav).unwrap();
    }
    wav.reserve(44 + 2 * qcaptcha::audio::MAX_SAMPLES);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let mut bytes = 0;
    for seed in 1..60 {
        for kind in CaptchaType::ALL {
            let answer = audio.render_into(kind, seed, &mut wav).unwrap();
            bytes += wav.len() + answer.len();
        }
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert!(bytes > 0);
    assert_eq!(after - before, 0, "audio: {} allocations", after - before);
}
