//! The rendering hot path: one benchmark per captcha type at the default
//! 130x53 and at 160x60, PNG encoding included, with a reused `Generator`
//! and a fresh seed per iteration.
//!
//! Run with `cargo bench --bench render`. Peer crates are compared in
//! `bench-peers/` (kept apart so that `cargo test` stays fast).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qcaptcha::{CaptchaType, Generator, Options};

fn render(c: &mut Criterion) {
    for (w, h) in [(130, 53), (160, 60)] {
        let mut group = c.benchmark_group(format!("render_{w}x{h}"));
        group.throughput(Throughput::Elements(1));
        let mut generator = Generator::new(Options::default().size(w, h)).expect("valid size");
        let mut png = Vec::with_capacity(8192);
        for kind in CaptchaType::ALL {
            let mut seed = 0u64;
            group.bench_function(BenchmarkId::new("type", kind.code()), |b| {
                b.iter(|| {
                    seed = seed.wrapping_add(1);
                    generator.render_into(kind, seed, &mut png).expect("render")
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
