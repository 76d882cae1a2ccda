//! The audio hot path: one clip per captcha type, WAV writing included,
//! with a reused `AudioGenerator` and a fresh seed per iteration.
//!
//! Run with `cargo bench --bench audio`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qcaptcha::audio::MAX_SAMPLES;
use qcaptcha::{AudioGenerator, CaptchaType};

fn audio(c: &mut Criterion) {
    let mut group = c.benchmark_group("audio");
    group.throughput(Throughput::Elements(1));
    let mut audio = AudioGenerator::new();
    let mut wav = Vec::with_capacity(44 + 2 * MAX_SAMPLES);
    for kind in CaptchaType::ALL {
        let mut seed = 0u64;
        group.bench_function(BenchmarkId::new("type", kind.code()), |b| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                audio.render_into(kind, seed, &mut wav).expect("render")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, audio);
criterion_main!(benches);
