//! qcaptcha against the `captcha` and `captcha-rs` crates, side by side, at
//! 160x60 pixels, with encoding included for every contender.
//!
//! Run with `cargo bench --bench peers`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qcaptcha_bench_peers as peers;

fn peers_160x60(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("peers_{}x{}", peers::WIDTH, peers::HEIGHT));
    group.throughput(Throughput::Elements(1));

    // A reused generator and PNG buffer, and a new seed every iteration so
    // that no picture can be cached.
    let mut generator = peers::qcaptcha_generator();
    let mut png = Vec::with_capacity(16 * 1024);
    for code in peers::QCAPTCHA_TYPES {
        let kind = peers::qcaptcha_type(code);
        let mut seed = 0u64;
        group.bench_function(format!("qcaptcha_type{code}"), |b| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                generator.render_into(kind, seed, &mut png).expect("render")
            })
        });
    }

    // Type 5 again with compressed PNG data (files about half the size).
    let mut compressing = peers::qcaptcha_generator_with(qcaptcha::Compression::Fast);
    let mut seed = 0u64;
    group.bench_function("qcaptcha_type5_compressed", |b| {
        b.iter(|| {
            seed = seed.wrapping_add(1);
            compressing
                .render_into(peers::qcaptcha_type(5), seed, &mut png)
                .expect("render")
        })
    });

    // The peers draw from the thread RNG, so each iteration is a new picture.
    group.bench_function("captcha_readme_filters", |b| {
        b.iter(peers::captcha_readme_filters)
    });
    group.bench_function("captcha_readme_md_noise", |b| {
        b.iter(peers::captcha_readme_md_noise)
    });
    group.bench_function("captcha_no_filters", |b| b.iter(peers::captcha_no_filters));
    group.bench_function("captcha_rs_default", |b| b.iter(peers::captcha_rs_default));
    group.bench_function("captcha_rs_default_png", |b| {
        b.iter(|| {
            peers::captcha_rs_default_png(&mut png);
            png.len()
        })
    });
    group.finish();
}

criterion_group!(benches, peers_160x60);
criterion_main!(benches);
