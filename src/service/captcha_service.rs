//! [`CaptchaService`]: the framework-neutral captcha service. It owns the
//! key ring, the replay store and the configuration, and turns requests
//! (their query string or form body, plus method, host and path where a
//! signature covers them) into plain [`HttpResponse`]s that any web
//! framework can send.
//!
//! Endpoints a host exposes:
//!
//! | route | handler | for |
//! |---|---|---|
//! | CaptchaQuery (any path) | [`CaptchaService::handle_query`] | business servers: the widget JavaScript |
//! | CaptchaCheck (any path) | [`CaptchaService::handle_check`] | business servers: is this ticket good |
//! | `GET {base}/image` | [`CaptchaService::handle_image`] | the widget: the picture |
//! | `POST {base}/refresh` | [`CaptchaService::handle_refresh`] | the widget: a new picture |
//! | `POST {base}/verify` | [`CaptchaService::handle_verify`] | the widget: answer -> ticket |
//!
//! CaptchaQuery and CaptchaCheck always answer HTTP 200 with the result
//! `code` in the body, as the original service does. The widget routes use
//! HTTP status codes for broken requests (400 bad token, 410 expired, 429
//! too many requests, 500 internal) and otherwise answer 200 with a JSON
//! `code`.
//!
//! The widget routes take the client's address, which the
//! [`Limits`](crate::Limits) count. Pass the TCP peer address; behind a
//! reverse proxy or load balancer, the address that proxy reports (for
//! example the last entry of `X-Forwarded-For` that your own proxy wrote),
//! and only if every request reaches you through that proxy: a header the
//! client wrote itself lets a bot pick a new address per request.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use crate::service::api::signature::Credentials;
use crate::service::clock::Clock;
use crate::service::defence::limits::Limits;
use crate::service::defence::pow::{PowPolicy, PressureSource};
use crate::service::store::{MemoryStore, ReplayStore};
use crate::service::tokens::check::TicketMode;
use crate::service::tokens::keys::KeyRing;
use crate::service::widget::script::Routes;
use crate::service::widget::template::WidgetTemplate;

/// Default seconds a challenge (one picture) stays answerable: 5 minutes.
pub const DEFAULT_CHALLENGE_TTL_SECS: u64 = 5 * 60;
/// Default seconds a widget (one CaptchaQuery) may refresh: 30 minutes.
/// After that the page must fetch new JavaScript.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 30 * 60;

/// The captcha service: CaptchaQuery, CaptchaCheck and the widget routes.
/// Share one per process (`Arc<CaptchaService>`); every method takes
/// `&self` and is thread-safe.
///
/// ```
/// use qcaptcha::{ApiRequest, CaptchaService};
///
/// let service = CaptchaService::builder("/captcha").build()?;
/// // CaptchaQuery, e.g. from GET /v2/captcha?userIp=...:
/// let resp = service.handle_query(ApiRequest::from_params(
///     "userIp=121.14.96.121&businessId=1&captchaType=1&script=0&registerTime=0",
/// ));
/// assert_eq!(resp.status, 200);
/// let json: serde_json::Value = serde_json::from_slice(&resp.body)?;
/// assert_eq!(json["code"], 0);
/// // CaptchaCheck with a bad ticket: code 5100, the reason in resp.error.
/// let resp = service.handle_check(ApiRequest::from_params(
///     "ticket=nope&userIp=121.14.96.121&businessId=1&captchaType=1&registerTime=0",
/// ));
/// assert!(resp.text().contains("5100"));
/// assert!(resp.error.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CaptchaService {
    pub(crate) routes: Routes,
    /// The widget script's static part, built once.
    pub(crate) widget: WidgetTemplate,
    pub(crate) keys: RwLock<KeyRing>,
    pub(crate) store: Arc<dyn ReplayStore>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) ticket_mode: TicketMode,
    pub(crate) challenge_ttl_secs: u64,
    pub(crate) session_ttl_secs: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pow: PowPolicy,
    pub(crate) pressure: Arc<dyn PressureSource>,
    pub(crate) limits: Limits,
    /// This process's counters of the picture limit.
    pub(crate) local_rates: MemoryStore,
}

impl std::fmt::Debug for CaptchaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaService")
            .field("routes", &self.routes)
            .field("credentials", &self.credentials)
            .field("ticket_mode", &self.ticket_mode)
            .field("challenge_ttl_secs", &self.challenge_ttl_secs)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("pow", &self.pow)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl CaptchaService {
    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The widget routes.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Whether API calls must carry v2 signatures (credentials are set).
    pub fn requires_signatures(&self) -> bool {
        self.credentials.is_some()
    }

    /// The proof-of-work policy in force.
    pub fn pow_policy(&self) -> &PowPolicy {
        &self.pow
    }

    /// The ticket rule in force.
    pub fn ticket_mode(&self) -> TicketMode {
        self.ticket_mode
    }

    /// Unix seconds now, on the service's clock.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The key ring, for sealing and opening.
    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        // A KeyRing is replaced whole, so a poisoned lock still holds a
        // consistent ring.
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }
}
