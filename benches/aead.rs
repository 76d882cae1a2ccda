//! The AEAD that seals challenges and tickets (AES-256-GCM-SIV) against
//! the one it replaced in issue 23 (XChaCha20-Poly1305), on a token's
//! payload: 110 bytes (a challenge with a short uid) and the 28 bytes of
//! associated data the tokens use, one seal and one open per iteration.
//! Both are RustCrypto crates with run-time CPU detection; with this
//! project's toolchain the AVX2 backends of `chacha20` 0.9 and `poly1305`
//! 0.8 call their intrinsics out of line, which is what this bench shows.
//!
//! Run with `cargo bench --bench aead`.

use std::hint::black_box;

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use criterion::{criterion_group, criterion_main, Criterion};

const KEY: [u8; 32] = [0x42; 32];
const AAD: [u8; 28] = [7; 28];

fn seal_open<A: AeadInPlace>(cipher: &A, nonce: &aes_gcm_siv::aead::Nonce<A>, buf: &mut [u8]) {
    let tag = cipher
        .encrypt_in_place_detached(black_box(nonce), &AAD, buf)
        .expect("seal");
    cipher
        .decrypt_in_place_detached(nonce, &AAD, black_box(buf), &tag)
        .expect("open");
}

fn aead(c: &mut Criterion) {
    let mut group = c.benchmark_group("aead_110_bytes_seal_open");
    let siv = aes_gcm_siv::Aes256GcmSiv::new(&KEY.into());
    let mut buf = [0x55u8; 110];
    group.bench_function("aes256gcmsiv", |b| {
        b.iter(|| seal_open(&siv, &[1u8; 12].into(), &mut buf))
    });
    let xchacha = chacha20poly1305::XChaCha20Poly1305::new(&KEY.into());
    group.bench_function("xchacha20poly1305", |b| {
        b.iter(|| seal_open(&xchacha, &[1u8; 24].into(), &mut buf))
    });
    group.finish();
}

criterion_group!(benches, aead);
criterion_main!(benches);
