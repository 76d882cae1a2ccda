//! What the service takes from and gives back to the host's web framework:
//! plain requests and responses, no framework types.

use std::borrow::Cow;

use crate::service::api::codes::{status_value, to_bytes, ErrorCode};
use crate::service::errors::ServiceError;

/// `application/json; charset=utf-8`.
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
/// `application/javascript; charset=utf-8`.
pub const CONTENT_TYPE_JS: &str = "application/javascript; charset=utf-8";
/// `image/png`.
pub const CONTENT_TYPE_PNG: &str = "image/png";
/// `audio/wav`.
pub const CONTENT_TYPE_WAV: &str = "audio/wav";
/// `text/plain; charset=utf-8`.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";

/// Which kind of route answers, for its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// CaptchaQuery and CaptchaCheck: JSON or JavaScript for servers.
    Api,
    /// The widget's JSON routes (refresh, verify).
    Widget,
    /// The picture: an `<img>` reads no body, only the status.
    Picture,
}

/// The one table from a result code to the HTTP status it is sent with.
///
/// - The API answers 200 with the code in the body, whatever the code, as
///   the original service does (its clients read `code`, not the status).
/// - The widget's JSON routes answer 200 for what the widget handles itself
///   (a wrong answer, an expired challenge or session: the body says which
///   and usually carries the next challenge); broken requests get 400,
///   limits 429, unknown routes 404 and server failures 500.
/// - The picture has no body anyone reads, so its status says it all: 400
///   for a bad token, 410 once expired, 429, 500.
pub(crate) fn http_status(route: Route, code: ErrorCode) -> u16 {
    match (route, code) {
        (Route::Api, _) | (_, ErrorCode::Success) => 200,
        (_, ErrorCode::InvalidParameter) => 400,
        (_, ErrorCode::AuthFailed) => 401,
        (_, ErrorCode::AccessDenied) => 403,
        (_, ErrorCode::QuotaExceeded) => 429,
        (_, ErrorCode::NotFound) => 404,
        (_, ErrorCode::Internal) => 500,
        (Route::Picture, ErrorCode::RequestExpired) => 410,
        (Route::Picture, _) => 400,
        (Route::Widget, _) => 200,
    }
}

/// A failure as JSON `{code, message}` with `route`'s status, and
/// `retryAfter` (seconds) for a per-minute limit, a field the original
/// service does not have; the typed error kept for the host's logs.
pub(crate) fn json_failure(route: Route, e: ServiceError) -> HttpResponse {
    let mut body = status_value(e.code(), &e.public_message());
    if let Some(secs) = e.retry_after() {
        body["retryAfter"] = serde_json::json!(secs);
    }
    HttpResponse::new(
        http_status(route, e.code()),
        CONTENT_TYPE_JSON,
        to_bytes(&body),
    )
    .with_error(e)
}

/// A response for the host to send: status, `Content-Type` and body, plus
/// the typed error (if any) for the host's logs, which is not to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Why the request failed, for logging (`None` on success).
    pub error: Option<ServiceError>,
    /// Seconds the client should wait before trying again: set with HTTP
    /// 429, sent as `Retry-After` by [`headers`](HttpResponse::headers).
    pub retry_after: Option<u64>,
    /// The `Cache-Control` header: `no-store` but for the cached widget
    /// script.
    pub cache_control: &'static str,
}

impl HttpResponse {
    pub(crate) fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            content_type,
            body,
            error: None,
            retry_after: None,
            cache_control: "no-store",
        }
    }

    pub(crate) fn json(value: &serde_json::Value) -> HttpResponse {
        HttpResponse::new(200, CONTENT_TYPE_JSON, to_bytes(value))
    }

    /// Attaches the error for the logs; a 429 also takes its
    /// `Retry-After` from it.
    pub(crate) fn with_error(mut self, error: ServiceError) -> HttpResponse {
        if self.status == 429 {
            self.retry_after = error.retry_after();
        }
        self.error = Some(error);
        self
    }

    /// Every header to send: `Content-Type`, `Cache-Control` (`no-store`:
    /// every answer is single-use, but for the cached widget script),
    /// `X-Content-Type-Options: nosniff`,
    /// and `Retry-After` (seconds) when [`retry_after`](HttpResponse::retry_after)
    /// is set.
    pub fn headers(&self) -> Vec<(&'static str, Cow<'static, str>)> {
        let mut h = vec![
            ("Content-Type", Cow::Borrowed(self.content_type)),
            ("Cache-Control", Cow::Borrowed(self.cache_control)),
            ("X-Content-Type-Options", Cow::Borrowed("nosniff")),
        ];
        if let Some(secs) = self.retry_after {
            h.push(("Retry-After", Cow::Owned(secs.to_string())));
        }
        h
    }

    /// The body as text (lossy), handy in tests and logs.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The request facts CaptchaQuery and CaptchaCheck need: the parameters
/// (raw query string for GET, raw form body for POST) and, for v2
/// signatures, the method, Host header and path.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The `Host` header, e.g. `captcha.example.com`.
    pub host: &'a str,
    /// The path, e.g. `/v2/index.php`.
    pub path: &'a str,
    /// The URL-encoded parameters (query string or form body).
    pub params: &'a str,
}

impl<'a> ApiRequest<'a> {
    /// A request with only parameters (enough when signing is off).
    pub fn from_params(params: &'a str) -> ApiRequest<'a> {
        ApiRequest {
            method: "GET",
            host: "",
            path: "",
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_always_answers_200_and_the_picture_never_hides_a_failure() {
        for code in ErrorCode::ALL {
            assert_eq!(http_status(Route::Api, code), 200, "{code}");
            let picture = http_status(Route::Picture, code);
            assert_eq!(picture == 200, code == ErrorCode::Success, "{code}");
        }
        assert_eq!(http_status(Route::Picture, ErrorCode::RequestExpired), 410);
        assert_eq!(http_status(Route::Widget, ErrorCode::CheckFailed), 200);
        assert_eq!(http_status(Route::Widget, ErrorCode::QuotaExceeded), 429);
        assert_eq!(http_status(Route::Widget, ErrorCode::InvalidParameter), 400);
        assert_eq!(http_status(Route::Widget, ErrorCode::Internal), 500);
    }
}
