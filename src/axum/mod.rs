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
//! The routes, limits and refusals are [`crate::tower`]'s (see there for
//! what they do); this module only puts them on a [`Router`] (axum's
//! `ConnectInfo` becomes the routes' [`PeerAddr`](crate::tower::PeerAddr))
//! and serves it.

mod response;
mod router;
mod serve;

pub use crate::tower::{ClientAddr, ClientIp, RouterConfig};
pub use router::router;
pub use serve::{serve, ServeConfig};

pub use ::axum::Router;
