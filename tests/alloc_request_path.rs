//! Heap allocations per solved captcha on the path as deployed (signed
//! CaptchaQuery and CaptchaCheck, default limits and proof-of-work policy,
//! memory store; the bench's own setup, `benches/support/deployed.rs`),
//! counted with a counting global allocator (per thread: the calls run on
//! the test's thread) around the service's calls only.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
#[allow(dead_code)]
#[path = "../benches/support/deployed.rs"]
mod deployed;

use counting_alloc::allocations;
use deployed::{Deployed, Meter, Step};

/// Allocations (and reallocations) made by the measured calls, in all and
/// per step.
#[derive(Default)]
struct Allocations {
    all: usize,
    by_step: [usize; 4],
}

impl Meter for Allocations {
    fn measure<T>(&mut self, step: Step, call: impl FnOnce() -> T) -> T {
        let before = allocations();
        let out = call();
        let made = allocations() - before;
        self.all += made;
        self.by_step[Step::ALL.iter().position(|s| *s == step).unwrap_or(0)] += made;
        out
    }
}

/// The most allocations a solved captcha may make: CaptchaQuery, the
/// picture, the answer and CaptchaCheck together. Measured: 45.6 with the
/// default features, 58.6 with `--all-features` (the metrics wrapper of
/// the store); how it came down is in docs/performance.md.
const SOLVED_CAPTCHA_BOUND: f64 = if cfg!(feature = "metrics") {
    60.0
} else {
    47.0
};
/// The most a CaptchaQuery alone may make. Measured: 17.1 (default
/// features), 22.1 (all).
const CAPTCHA_QUERY_BOUND: f64 = if cfg!(feature = "metrics") {
    23.0
} else {
    18.0
};

/// Allocations of `n` runs of `run`, after a warm-up (the store's tables
/// and the tracker's shards grown).
fn count(path: &Deployed, n: usize, run: impl Fn(&Deployed, &mut Allocations)) -> Allocations {
    (0..200).for_each(|_| run(path, &mut Allocations::default()));
    let mut counted = Allocations::default();
    (0..n).for_each(|_| run(path, &mut counted));
    counted
}

#[test]
fn a_solved_captcha_allocates_within_its_bound() {
    let path = Deployed::with_memory_store(100_000);
    let n = 1_000;
    let solves = count(&path, n, |p, m| p.solve(m));
    let solved = solves.all as f64 / n as f64;
    let query = count(&path, n, |p, m| p.query_only(m)).all as f64 / n as f64;
    println!("allocations: {solved:.1} per solved captcha, {query:.1} per CaptchaQuery");
    for (step, made) in Step::ALL.iter().zip(solves.by_step) {
        println!("  {}: {:.1}", step.name(), made as f64 / n as f64);
    }
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
