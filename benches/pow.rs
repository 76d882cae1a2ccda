//! The proof-of-work costs on the server: the check of a proof (one
//! PBKDF2-HMAC-SHA-256 derivation at the level's iterations, whatever
//! the bits) at each default level, and the pressure tracker's
//! bookkeeping per challenge (read the pressure, record the event).
//!
//! Run with `cargo bench --bench pow`. The native solve times per level
//! (what a bot pays) come from `cargo run --release --example
//! pow_calibrate`.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use qcaptcha::pow::{
    solve, verify, PowPolicy, PressureEvent, PressureSource, PressureTracker, Puzzle,
};

/// A token of the real length (a type-5 challenge is about 190 characters).
const TOKEN: &str = "AgEAAAABqOe1K1b1iZfWlqZQ1rQy3dJvKjXqgH0d6xFhR3Xr9bN2mU0aLwYtC5sV7eP4oI8zT6cG1kD2jH9fB3nM5vQxRyWuZ0lS4tA7gE1iO6pC8dK2hJ3fL5bN9mV0xQzRwYu_-1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1u2v3w4x5y6z7A8B9C0D1E2F3G4H5I6J7K8";

fn check(c: &mut Criterion) {
    let policy = PowPolicy::default();
    let mut group = c.benchmark_group("pow_check");
    for (i, level) in policy.levels.iter().enumerate().skip(1) {
        let puzzle = Puzzle::new(level.bits, level.iterations, [0x5a; 16]);
        let counter = solve(TOKEN, &puzzle).expect("solvable");
        group.bench_with_input(BenchmarkId::new("level", i), &puzzle, |b, p| {
            b.iter(|| assert!(verify(black_box(TOKEN), p, black_box(counter))))
        });
    }
    group.finish();
}

fn tracker(c: &mut Criterion) {
    let t = PressureTracker::default();
    let policy = PowPolicy::default();
    let mut n = 0u32;
    c.bench_function("pressure_per_challenge", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let ip = IpAddr::from((0x0a00_0000 | (n % 50_000)).to_be_bytes());
            let level = policy.level_for(&t.pressure(ip, 1_000 + u64::from(n / 10_000)));
            t.record(ip, PressureEvent::Challenge, 1_000 + u64::from(n / 10_000));
            black_box(level)
        })
    });
}

criterion_group!(benches, check, tracker);
criterion_main!(benches);
