//! The service on axum (feature `axum`): one call returns a [`Router`]
//! with the API and the widget's routes, and [`serve`] runs it with the
//! connection limits a public endpoint needs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use qcaptcha::axum::{router, serve, RouterConfig, ServeConfig};
//! use qcaptcha::{CaptchaService, Credentials, KeyRing};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let service = CaptchaService::builder("/captcha")
//!     .keys(KeyRing::generate(1)?)
//!     .credentials(Credentials::new("AKID...", "secret"))
//!     .build()?;
//! let app = router(Arc::new(service), RouterConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, app, ServeConfig::default(), std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! What the router does for you:
//! - `GET` or `POST` (form) on the API path (`/v2/index.php` by default)
//!   goes to [`CaptchaService::handle_api`], which dispatches on `Action`;
//!   the API answers HTTP 200 with the result code in the body. Without
//!   credentials on the service it answers 4300 unless
//!   [`RouterConfig::allow_unsigned_api`] says a local demo may.
//! - The widget's routes under the service's base path: `GET image`,
//!   `POST refresh`, `POST verify`.
//! - Every other route answers 404 with code 5000.
//! - Bodies are read (size-limited, with a deadline) before any work is
//!   queued; calls that touch the replay store run on a bounded blocking
//!   pool, so a slow store never stalls the async workers, and pictures
//!   (which need no store) are rendered right away.
//! - The client address comes from the connection, or from a header set by
//!   a proxy you trust ([`ClientIp`]).
//!
//! [`CaptchaService::handle_api`]: crate::CaptchaService::handle_api

mod client_ip;
mod config;
mod response;
mod routes;
mod serve;

pub use client_ip::ClientIp;
pub use config::RouterConfig;
pub use response::ClientAddr;
pub use routes::router;
pub use serve::{serve, ServeConfig};

pub use ::axum::Router;
