//! The service as a framework-neutral [`tower::Service`]
//! over [`http`] requests (feature `tower`): the routes, the client-address
//! rule, the bounded queue for calls that touch the store, the request
//! limits and the JSON refusals, ready for any server or framework built
//! on `http` and `tower` (hyper, axum, ...). [`crate::axum`] is a thin
//! wrapper around it; `examples/hyper_server.rs` serves it on bare hyper.
//!
//! ```
//! use std::sync::Arc;
//! use qcaptcha::tower::{service, PeerAddr, RouterConfig};
//! use qcaptcha::CaptchaService;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let captcha = Arc::new(CaptchaService::builder("/captcha").build()?);
//! let app = service::<String>(captcha, RouterConfig::default());
//! // The adapter that accepts the connection says who the peer is.
//! let mut req = http::Request::get("/captcha/image?c=nope").body(String::new())?;
//! req.extensions_mut().insert(PeerAddr("192.0.2.7:50000".parse()?));
//! let resp = app.oneshot(req).await?;
//! assert_eq!(resp.status(), 400); // not a challenge
//! # Ok(())
//! # }
//! ```
//!
//! What it does:
//! - `GET` or `POST` (form) on the API path (`/v2/index.php` by default)
//!   goes to [`CaptchaService::handle_api`](crate::CaptchaService::handle_api),
//!   which dispatches on `Action`; the API answers HTTP 200 with the result
//!   code in the body. Without credentials on the service it answers 4300
//!   unless [`RouterConfig::allow_unsigned_api`] says a local demo may.
//! - The widget's routes under the service's base path: `GET image`,
//!   `GET audio`, `POST refresh`, `POST verify`; a wrong method answers
//!   405, every other path 404 with code 5000.
//! - Bodies are read (size-limited, with a deadline) before any work is
//!   queued; calls that touch the replay store run on a bounded blocking
//!   pool, so a slow store never stalls the async workers, and pictures
//!   (which need no store) are rendered right away.
//! - The client address comes from the [`PeerAddr`] the adapter records,
//!   or from a header set by a proxy you trust ([`ClientIp`]).

mod client_ip;
mod config;
mod queue;
mod refusal;
mod routes;

use std::convert::Infallible;

use ::tower::util::BoxCloneSyncService;
use ::tower::{ServiceBuilder, ServiceExt};
use http::{Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use client_ip::ClientIp;
pub use config::RouterConfig;
#[cfg(feature = "axum")]
pub(crate) use refusal::http_response;
pub use refusal::{ClientAddr, ResponseBody};
pub use routes::PeerAddr;
pub(crate) use routes::Routes;

use crate::service::captcha_service::CaptchaService;

/// What the body-limit layer makes of the routes' response bodies.
type LimitedBody = tower_http::limit::ResponseBody<ResponseBody>;

/// Any error, boxed: what request bodies may fail with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The whole service for request bodies of type `B`: the routes behind
/// the body-size limit (413) and the request deadline (408) of `config`.
pub type HttpService<B> = BoxCloneSyncService<Request<B>, Response<ResponseBody>, Infallible>;

/// The API and the widget's routes of `service`, configured by `config`,
/// with the body limit and the deadline: a cloneable `tower::Service` to
/// mount in any server or framework. Each request needs a [`PeerAddr`]
/// extension.
pub fn service<B>(service: std::sync::Arc<CaptchaService>, config: RouterConfig) -> HttpService<B>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limits = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ));
    let routes = Routes::new(service, config);
    let svc = ServiceExt::<Request<B>>::map_response(
        limits.service(routes),
        |resp: Response<LimitedBody>| resp.map(BodyExt::boxed),
    );
    BoxCloneSyncService::new(svc)
}
