//! # qcaptcha
//!
//! Embeddable text captchas in the style of Tencent Cloud's CaptchaQuery /
//! CaptchaCheck API, with no outside service to call. Two halves:
//!
//! - **the renderer** (always built): [`generate`] turns a captcha type
//!   (1..=8 on the wire, see [`CaptchaType`]) and a 64-bit seed into a PNG
//!   and its answer. The same inputs give the same bytes on any thread, in
//!   any process, so a server can re-create a picture from a sealed seed
//!   instead of storing it. For many pictures keep a [`Generator`] per
//!   worker: it renders into a caller's buffer without allocating.
//!   [`generate_audio`] speaks the same answer as a WAV clip, for people
//!   who cannot see the picture (see [`audio`]).
//! - **the service** (feature `service`, on by default):
//!   [`CaptchaService`] answers CaptchaQuery (the widget JavaScript),
//!   CaptchaCheck (is this ticket good) and the widget's own routes, as
//!   plain [`HttpResponse`]s any web framework can send; with feature
//!   `axum`, [`axum::router`] does the wiring.
//!
//! ```
//! use qcaptcha::{generate, random_seed, CaptchaType};
//!
//! let kind = CaptchaType::try_from(6i64)?; // wire value from a request
//! let captcha = generate(kind, random_seed()?)?;
//! std::fs::write(std::env::temp_dir().join("captcha.png"), captcha.png())?;
//! assert!(captcha.matches(&captcha.answer().as_str().to_lowercase()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The root holds the main types of both halves; the rest is one module
//! deep, by concern: [`picture`] (the type table, alphabet and size
//! limits), and with the service [`api`] (requests, codes, lifetimes),
//! [`sign`] (v2 signatures, both sides), [`tokens`] (sealed challenges and
//! tickets, keys), [`store`] (replay stores), [`pow`] (proof of work that
//! rises under attack) and [`widget`] (the JavaScript widget and its
//! routes).

#![forbid(unsafe_code)]
// On docs.rs every feature-gated item says which feature it needs: with
// `doc_cfg` (nightly rustdoc, which absorbed `doc_auto_cfg` in 2025) the
// marks come from the `#[cfg(feature = ...)]`s themselves. Stable builds
// never see the attribute.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod audio;
mod render;
#[cfg(feature = "service")]
mod service;

#[cfg(feature = "tower")]
pub mod tower;

#[cfg(feature = "axum")]
pub mod axum;

// The Rust snippets of the README and the docs pages compile (and run)
// as doc tests.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/integration.md")]
struct IntegrationDoctests;
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/errors.md")]
struct ErrorsDoctests;
#[cfg(all(doctest, feature = "redis-tls"))]
#[doc = include_str!("../docs/operations.md")]
struct OperationsDoctests;
#[cfg(all(doctest, feature = "service"))]
#[doc = include_str!("../docs/security.md")]
struct SecurityDoctests;
#[cfg(doctest)]
#[doc = include_str!("../docs/audio.md")]
struct AudioDoctests;

pub use audio::{generate_audio, AudioCaptcha, AudioGenerator};
pub use render::{
    generate, random_seed, Answer, Captcha, CaptchaType, Compression, Error, Generator, Options,
};

/// The renderer's tables and limits: the captcha types' policy, the
/// alphabet, picture sizes, and the answer check on its own.
pub mod picture {
    pub use crate::render::{
        answer_matches, Look, Policy, ALPHABET, DEFAULT_HEIGHT, DEFAULT_WIDTH,
        INTERFERENCE_ALPHABET,
    };
}

#[cfg(feature = "service")]
pub use service::{
    api::codes::ErrorCode,
    api::http::{ApiRequest, HttpResponse},
    api::signature::Credentials,
    builder::ServiceBuilder,
    captcha_service::CaptchaService,
    clock::Clock,
    defence::limits::Limits,
    errors::{ConfigError, ServiceError},
    store::{MemoryStore, ReplayStore},
    tokens::check::{CheckFailure, TicketMode},
    tokens::keys::KeyRing,
};

#[cfg(feature = "redis")]
pub use service::store::RedisStore;

#[cfg(feature = "service")]
pub use service::{api, defence::pow, metrics, store, tokens, widget};

/// v2 request signatures: the server's check and the client's signing.
#[cfg(feature = "service")]
pub mod sign {
    pub use crate::service::api::signature::{
        sign_request, RequestLine, SignError, SignatureMethod,
    };
}

/// Helpers for tests of services that use qcaptcha (feature `test-util`):
/// a clock that moves when told, and the [`ReplayStore`] contract as
/// scenarios a store backend outside this crate can run.
#[cfg(feature = "test-util")]
pub mod testing {
    pub use crate::service::clock::ManualClock;
    pub use crate::service::store::scenarios::store_scenarios;
}
