//! # qcaptcha
//!
//! Embeddable text captchas in the style of Tencent Cloud's CaptchaQuery /
//! CaptchaCheck API, with no outside service to call.
//!
//! The core is a pure, deterministic renderer: [`generate`] turns a captcha
//! type (1..=8 on the wire, see [`CaptchaType`]) and a 64-bit seed into a
//! PNG and its answer. The same inputs give the same bytes on any thread,
//! in any process, so a server can re-create a picture from a sealed seed
//! instead of storing it.
//!
//! ```
//! use qcaptcha::{generate, CaptchaType};
//!
//! let kind = CaptchaType::try_from(6i64)?; // wire value from a request
//! let captcha = generate(kind, 0x5eed)?;   // use an OS-random seed in production
//! std::fs::write(std::env::temp_dir().join("captcha.png"), captcha.png())?;
//! assert!(captcha.matches(&captcha.answer().as_str().to_lowercase()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For many pictures, keep a [`Generator`] per worker: it owns its glyph
//! cache and buffers and renders into a caller's `Vec<u8>` without
//! allocating.
//!
//! ## Modules, one concern each
//! - `policy`: the type table (letters, look) and the alphabet;
//! - `glyphs`: embedded fonts and the outline glyph cache;
//! - `canvas`: the exact-area polygon rasterizer;
//! - `distort`: the smooth global warp;
//! - `clutter`: the crossing stroke and the cut;
//! - `encode`: indexed PNG output;
//! - `generator`: the pipeline and its options;
//! - [`query`], [`api`], [`sign`]: CaptchaQuery / CaptchaCheck requests,
//!   result codes and JSON bodies, v2 request signatures;
//! - `ticket`, `store` (and `redis_store` with the `redis` feature): sealed
//!   challenges and tickets, key rings, replay stores;
//! - [`script`], `service`: the widget JavaScript and [`CaptchaService`],
//!   whose framework-neutral handlers a web service wires to its routes
//!   (see `examples/server.rs`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod render;
mod service;

pub use render::{
    answer_matches, generate, Answer, Captcha, CaptchaType, Compression, Error, Generator, Options,
    Policy, ALPHABET, DEFAULT_HEIGHT, DEFAULT_WIDTH, MAX_HEIGHT, MAX_LETTERS, MAX_WIDTH,
    MIN_HEIGHT, MIN_WIDTH,
};

pub use service::codes as api;
pub use service::requests as query;
pub use service::signature as sign;
pub use service::widget as script;

pub use api::ErrorCode;
pub use query::{AccountType, CaptchaCheck, CaptchaQuery, ScriptMode, UserFields};
pub use service::builder::ServiceBuilder;
pub use service::callback::Callback;
pub use service::check::{check_ticket, CheckFailure, TicketMode};
pub use service::clock::{Clock, ManualClock, SystemClock};
pub use service::errors::{ChallengeError, ConfigError, ServiceError};
pub use service::handlers::{CaptchaService, DEFAULT_CHALLENGE_TTL_SECS, DEFAULT_SESSION_TTL_SECS};
pub use service::http::{ApiRequest, HttpResponse};
pub use service::keys::{KeyError, KeyRing, KEY_LEN};
pub use service::params::ParamError;
pub use service::store::{
    MemoryStore, ReplayStore, StoreError, UseRecord, DEFAULT_MEMORY_CAPACITY,
};
pub use service::tokens::{
    Binding, BindingField, Challenge, Ticket, TokenError, MAX_TOKEN_LEN, MAX_UID_LEN,
};
pub use sign::{Credentials, SignError, SignatureMethod};

#[cfg(feature = "redis")]
pub use service::store::redis::RedisStore;
