//! Heap allocations per solved captcha on the path as deployed (signed
//! CaptchaQuery and CaptchaCheck, default limits and proof-of-work policy,
//! memory store; the bench's own setup, `benches/support/deployed.rs`),
//! counted with a counting global allocator around the service's calls
//! only. (Its own test binary, so no other test's allocations are
//! counted.)

use std::sync::atomic::Ordering;
use std::sync::Arc;

use qcaptcha::MemoryStore;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[allow(dead_code)]
#[path = "../benches/support/deployed.rs"]
mod deployed;

use counting_alloc::ALLOCATIONS;
use deployed::{Deployed, Meter};

/// Allocations (and reallocations) made by the measured calls.
#[derive(Default)]
struct Allocations(usize);

impl Meter for Allocations {
    fn measure<T>(&mut self, call: impl FnOnce() -> T) -> T {
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let out = call();
        self.0 += ALLOCATIONS.load(Ordering::SeqCst) - before;
        out
    }
}

/// The most allocations a solved captcha may make: CaptchaQuery, the
/// picture, the answer and CaptchaCheck together.
const SOLVED_CAPTCHA_BOUND: f64 = 120.0;
/// The most a CaptchaQuery alone may make.
const CAPTCHA_QUERY_BOUND: f64 = 40.0;

/// Mean allocations per call of `step` over `n` calls, after a warm-up
/// (the store's tables and the tracker's shards grown).
fn per_call(path: &Deployed, n: usize, step: impl Fn(&Deployed, &mut Allocations)) -> f64 {
    (0..200).for_each(|_| step(path, &mut Allocations::default()));
    let mut counted = Allocations::default();
    (0..n).for_each(|_| step(path, &mut counted));
    counted.0 as f64 / n as f64
}

#[test]
fn a_solved_captcha_allocates_within_its_bound() {
    let path = Deployed::new(Arc::new(MemoryStore::new(100_000)));
    let solved = per_call(&path, 1_000, |p, m| p.solve(m));
    let query = per_call(&path, 1_000, |p, m| p.query_only(m));
    println!("allocations: {solved:.1} per solved captcha, {query:.1} per CaptchaQuery");
    assert!(
        solved <= SOLVED_CAPTCHA_BOUND,
        "{solved:.1} allocations per solved captcha, bound {SOLVED_CAPTCHA_BOUND}"
    );
    assert!(
        query <= CAPTCHA_QUERY_BOUND,
        "{query:.1} allocations per CaptchaQuery, bound {CAPTCHA_QUERY_BOUND}"
    );
    // Something was counted at all (the allocator is in place).
    assert!(solved > query && query > 0.0);
}
