//! What the service takes from and gives back to the host's web framework:
//! plain requests and responses, no framework types.

use crate::service::codes::to_bytes;
use crate::service::errors::ServiceError;

/// `application/json; charset=utf-8`.
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
/// `application/javascript; charset=utf-8`.
pub const CONTENT_TYPE_JS: &str = "application/javascript; charset=utf-8";
/// `image/png`.
pub const CONTENT_TYPE_PNG: &str = "image/png";
/// `text/plain; charset=utf-8`.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; charset=utf-8";

/// A response for the host to send: status, `Content-Type` and body, plus
/// the typed error (if any) for the host's logs, which is not to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Why the request failed, for logging (`None` on success).
    pub error: Option<ServiceError>,
}

impl HttpResponse {
    pub(crate) fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status,
            content_type,
            body,
            error: None,
        }
    }

    pub(crate) fn json(value: &serde_json::Value) -> HttpResponse {
        HttpResponse::new(200, CONTENT_TYPE_JSON, to_bytes(value))
    }

    pub(crate) fn with_error(mut self, error: ServiceError) -> HttpResponse {
        self.error = Some(error);
        self
    }

    /// Every header to send: `Content-Type`, `Cache-Control: no-store`
    /// (every answer is single-use) and `X-Content-Type-Options: nosniff`.
    pub fn headers(&self) -> [(&'static str, &'static str); 3] {
        [
            ("Content-Type", self.content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
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
