//! The service: CaptchaQuery and CaptchaCheck, the widget's routes, sealed
//! challenges and tickets, replay stores. `captcha_service.rs` holds
//! [`CaptchaService`](captcha_service::CaptchaService) itself; each
//! folder holds one concern, its types and its `impl CaptchaService`
//! block (see docs/architecture.md).

pub mod api;
pub mod builder;
pub mod captcha_service;
pub mod clock;
pub mod defence;
pub mod errors;
pub(crate) mod keyed_hash;
pub mod metrics;
pub(crate) mod short_id;
pub mod store;
pub mod tokens;
pub mod widget;
