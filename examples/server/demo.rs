//! The demo sign-up page guarded by the widget: `GET /` shows the form
//! with a widget from CaptchaQuery, `POST /signup` accepts the sign-up only
//! if CaptchaCheck says the ticket is good. The page calls the API in
//! process, signed, the way a business server calls it over HTTP.
//!
//! Shared by `examples/server` and the browser test (`tests/browser.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::to_bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
use qcaptcha::{ApiRequest, CaptchaService, Credentials, ErrorCode, ServiceError};
use rand::TryRngCore;
use serde_json::Value;

/// The business id the demo uses.
const BUSINESS_ID: &str = "1";
/// The Host the page's in-process API calls are signed for.
const SELF_HOST: &str = "demo.internal";
/// The longest user name accepted.
const MAX_USERNAME_CHARS: usize = 32;
/// The largest sign-up form accepted.
const MAX_FORM_BYTES: usize = 8192;

const PAGE: &str = include_str!("page.html");
const DEMO_JS: &str = include_str!("demo.js");
const DEMO_CSS: &str = include_str!("demo.css");

/// What the demo page needs.
pub struct Demo {
    /// The captcha service (also behind the API routes).
    pub service: Arc<CaptchaService>,
    /// The API credentials the page signs its calls with, if the service
    /// requires signatures.
    pub credentials: Option<Credentials>,
    /// The captcha type the page asks for.
    pub captcha_type: u8,
    /// The API path (for signatures).
    pub api_path: String,
}

/// The page's routes: `/`, `/signup`, `/demo.js`, `/demo.css`.
pub fn routes(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/", get(signup_page))
        .route("/signup", post(signup_submit))
        .route(
            "/demo.js",
            get(|| async { static_file("application/javascript; charset=utf-8", DEMO_JS) }),
        )
        .route(
            "/demo.css",
            get(|| async { static_file("text/css; charset=utf-8", DEMO_CSS) }),
        )
        .with_state(demo)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Demo {
    /// Calls the API in process, signed when the service wants signatures,
    /// on the blocking pool (the call may touch the replay store): the JSON
    /// answer, and the typed error for the log.
    async fn call_api(
        self: &Arc<Self>,
        action: &str,
        params: Vec<(&'static str, String)>,
    ) -> (Value, Option<ServiceError>) {
        let mut pairs: Vec<(&str, &str)> = vec![("Action", action)];
        pairs.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let encoded = match &self.credentials {
            Some(creds) => {
                let nonce = (rand::rngs::OsRng.try_next_u64().unwrap_or(1) >> 1).max(1);
                let line = RequestLine {
                    method: "GET",
                    host: SELF_HOST,
                    path: &self.api_path,
                };
                sign_request(
                    creds,
                    line,
                    SignatureMethod::HmacSha256,
                    &pairs,
                    now_secs(),
                    nonce,
                )
            }
            None => form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish(),
        };
        let demo = self.clone();
        let call = tokio::task::spawn_blocking(move || {
            demo.service.handle_api(ApiRequest {
                method: "GET",
                host: SELF_HOST,
                path: &demo.api_path,
                params: &encoded,
            })
        });
        match call.await {
            Ok(resp) => (
                serde_json::from_slice(&resp.body).unwrap_or_default(),
                resp.error,
            ),
            Err(_) => (Value::Null, None),
        }
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML page with a strict Content-Security-Policy: scripts only from
/// this origin or carrying `nonce`, no inline handlers, no plugins, no
/// framing, forms only to this origin.
fn page(status: StatusCode, title: &str, body: &str, script_nonce: Option<&str>) -> Response {
    let html = PAGE
        .replace("{title}", &html_escape(title))
        .replace("{body}", body);
    let script_src = match script_nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}'"),
        None => "script-src 'self'".to_string(),
    };
    let csp = format!(
        "default-src 'none'; {script_src}; style-src 'self'; img-src 'self'; \
         media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    let _ = rand::rngs::OsRng.try_fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /`: the sign-up form. Its widget comes from CaptchaQuery (script=0,
/// bound to the visitor's IP), embedded as a nonce'd script; the page's own
/// wiring is the static `/demo.js`.
async fn signup_page(
    State(demo): State<Arc<Demo>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let params = vec![
        ("userIp", peer.ip().to_string()),
        ("businessId", BUSINESS_ID.into()),
        ("captchaType", demo.captcha_type.to_string()),
        ("registerTime", now_secs().to_string()),
        ("script", "0".into()),
    ];
    let (json, error) = demo.call_api("CaptchaQuery", params).await;
    let Some(widget_js) = json["script"].as_str().filter(|_| json["code"] == 0) else {
        // 4400: this address opened too many captchas this minute.
        let quota = json["code"] == ErrorCode::QuotaExceeded.code();
        let status = if quota {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let mut r = page(
            status,
            "Sign-up unavailable",
            "<h1>Sign-up is unavailable</h1>\n<p>The captcha service could not start a \
             captcha for you. Please try again in a minute.</p>\n<p><a href=\"/\">Try again</a></p>",
            None,
        );
        if let Some(secs) = json["retryAfter"].as_u64().filter(|_| quota) {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(e) = error {
            r.extensions_mut().insert(e);
        }
        return r;
    };
    // The widget JavaScript is built with `</script>`-safe literals, so it
    // can sit inside a script element.
    let nonce = random_nonce();
    let body = format!(
        "<h1>Create an account</h1>\n\
         <form id=\"signup\" method=\"post\" action=\"/signup\">\n\
         <label for=\"username\">User name</label>\n\
         <input id=\"username\" name=\"username\" required maxlength=\"{MAX_USERNAME_CHARS}\" autocomplete=\"username\">\n\
         <input type=\"hidden\" id=\"ticket\" name=\"ticket\" value=\"\">\n\
         </form>\n\
         <div id=\"captcha\" class=\"captcha\"></div>\n\
         <p id=\"hint\" class=\"hint\" role=\"status\">Solve the captcha, then create your account.</p>\n\
         <button id=\"signup-submit\" type=\"submit\" form=\"signup\" disabled>Create account</button>\n\
         <script nonce=\"{nonce}\">\n{widget_js}</script>\n\
         <script src=\"/demo.js\"></script>"
    );
    page(StatusCode::OK, "Sign up", &body, Some(&nonce))
}

fn failure(status: StatusCode, title: &str, why: &str) -> Response {
    let body = format!(
        "<h1>{title}</h1>\n<p>{why}</p>\n<p><a href=\"/\">Back to the sign-up form</a></p>",
        title = html_escape(title),
    );
    page(status, title, &body, None)
}

/// `POST /signup`: accepts the sign-up only if CaptchaCheck says the
/// ticket is good for this visitor.
async fn signup_submit(
    State(demo): State<Arc<Demo>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let form = match to_bytes(req.into_body(), MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "Sign-up failed",
                "The form could not be read. Please fill it in again.",
            )
        }
    };
    let field = |name: &str| {
        form_urlencoded::parse(&form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (username, ticket) = (field("username").trim().to_owned(), field("ticket"));
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_CHARS
        || username.chars().any(char::is_control)
    {
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-up failed",
            &format!("Please choose a user name of 1 to {MAX_USERNAME_CHARS} characters."),
        );
    }
    if ticket.is_empty() {
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-up failed",
            "Please solve the captcha before creating your account.",
        );
    }
    let params = vec![
        ("ticket", ticket),
        ("userIp", peer.ip().to_string()),
        ("businessId", BUSINESS_ID.into()),
        ("captchaType", demo.captcha_type.to_string()),
        ("registerTime", now_secs().to_string()),
    ];
    let (json, error) = demo.call_api("CaptchaCheck", params).await;
    if json["code"] == 0 {
        let body = format!(
            "<h1>Welcome, {name}!</h1>\n<p class=\"ok\" id=\"result\">Your account has been \
             created. (This is a demo: nothing was stored.)</p>\n\
             <p><a href=\"/\">Sign up another account</a></p>",
            name = html_escape(&username),
        );
        return page(StatusCode::OK, "Welcome", &body, None);
    }
    let mut r = failure(
        StatusCode::FORBIDDEN,
        "Sign-up refused",
        "We could not confirm that you solved the captcha: it may have expired or \
         been used already. Please go back, solve a new captcha and try again.",
    );
    if let Some(e) = error {
        r.extensions_mut().insert(e);
    }
    r
}
