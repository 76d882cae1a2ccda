//! A runnable captcha service and a sign-up demo, on axum + tokio.
//!
//! ```text
//! cargo run --release --example server -- [--port 8080] [--key HEX]
//!     [--secret-id ID --secret-key KEY] [--captcha-type 1..8] [--redis URL]
//! ```
//!
//! Then open <http://127.0.0.1:8080/>, solve the captcha and sign up.
//!
//! Routes:
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the demo sign-up page; its widget comes from CaptchaQuery |
//! | `POST /signup` | the sign-up handler; checks the ticket with CaptchaCheck |
//! | `GET /v2/index.php?Action=CaptchaQuery&...` | CaptchaQuery (`script=1` JavaScript, `script=0` JSON) |
//! | `GET`/`POST /v2/index.php` with `Action=CaptchaCheck` | CaptchaCheck |
//! | `GET /captcha/image?c=..` | the widget's picture |
//! | `POST /captcha/refresh`, `POST /captcha/verify` | the widget's refresh and answer |
//!
//! Options (flags win over the environment):
//!
//! - `--port N`: listen on `127.0.0.1:N` (default 8080; 0 picks a free
//!   port). The first line on stdout is `listening on http://ADDR/`.
//! - `--key HEX` / `QCAPTCHA_KEY`: the 32-byte token key as 64 hex digits
//!   (default: a fresh key from the OS, so tokens die with the process).
//! - `--secret-id ID --secret-key KEY` / `QCAPTCHA_SECRET_ID`,
//!   `QCAPTCHA_SECRET_KEY`: require v2 signatures on `/v2/index.php`.
//! - `--captcha-type N`: the captcha type the demo page asks for (default 5:
//!   four letters with interference).
//! - `--redis URL`: keep the replay store in Redis (needs `--features redis`).
//! - `--max-connections N` (default 512), `--max-in-flight N` (default 64):
//!   the load bounds. Connections beyond the first are left in the kernel's
//!   accept queue; requests beyond the second wait up to 5 s, then get 503.
//!   A connection idle for 20 s (keep-alive or a trickling client) is
//!   closed, freeing its slot; a request body must arrive within 10 s.
//!
//! Ctrl-C (or SIGTERM) stops accepting, lets the requests in flight
//! finish, and exits. One log line per request goes to stderr.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use qcaptcha::sign::{self, SignatureMethod};
use qcaptcha::{
    ApiRequest, CaptchaService, Credentials, ErrorCode, HttpResponse, KeyRing, MemoryStore,
    ReplayStore,
};
use rand::TryRngCore;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The API path of the original service.
const API_PATH: &str = "/v2/index.php";
/// Where the widget routes live.
const WIDGET_BASE: &str = "/captcha";
/// The business id the demo page uses.
const BUSINESS_ID: &str = "1";
/// The `Host` the demo's in-process API calls sign (any fixed string works:
/// signer and verifier are the same process).
const SELF_HOST: &str = "demo.internal";
/// Longest accepted query string, bytes.
const MAX_QUERY_BYTES: usize = 4096;
/// Longest accepted request body, bytes.
const MAX_BODY_BYTES: usize = 8192;
/// How long reading a request body may take.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may wait for a processing slot before a 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection with no byte read or written for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Replay store entries kept in memory (ids of used challenges, tickets and
/// Nonces until they expire).
const STORE_CAPACITY: usize = 200_000;
/// Longest accepted user name on the demo page, characters.
const MAX_USERNAME_CHARS: usize = 32;

const USAGE: &str = "usage: server [--port N] [--key HEX64] [--secret-id ID --secret-key KEY] \
[--captcha-type 1..8] [--redis URL] [--max-connections N] [--max-in-flight N]";

// ---------------------------------------------------------------- options

struct Options {
    port: u16,
    key: Option<[u8; 32]>,
    secret: Option<(String, String)>,
    captcha_type: u8,
    redis: Option<String>,
    max_connections: usize,
    max_in_flight: usize,
}

fn parse_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err(format!(
            "--key must be 64 hex digits (32 bytes), got {} characters",
            hex.len()
        ));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("x"), 16)
            .map_err(|_| "--key must be 64 hex digits (0-9, a-f)".to_string())?;
    }
    Ok(key)
}

fn parse_options() -> Result<Options, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut port = 8080u16;
    let mut key = env("QCAPTCHA_KEY");
    let mut secret_id = env("QCAPTCHA_SECRET_ID");
    let mut secret_key = env("QCAPTCHA_SECRET_KEY");
    let mut captcha_type = 5u8;
    let mut redis = None;
    let mut max_connections = 512usize;
    let mut max_in_flight = 64usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| -> Result<usize, String> {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--port" => {
                port = value()?
                    .parse()
                    .map_err(|_| "--port must be 0..=65535".to_string())?
            }
            "--key" => key = Some(value()?),
            "--secret-id" => secret_id = Some(value()?),
            "--secret-key" => secret_key = Some(value()?),
            "--captcha-type" => {
                captcha_type = match number(value()?)? {
                    n @ 1..=8 => n as u8,
                    _ => return Err("--captcha-type must be 1..=8".into()),
                }
            }
            "--redis" => redis = Some(value()?),
            "--max-connections" => max_connections = number(value()?)?.max(1),
            "--max-in-flight" => max_in_flight = number(value()?)?.max(1),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let secret = match (secret_id, secret_key) {
        (Some(id), Some(key)) => Some((id, key)),
        (None, None) => None,
        _ => return Err("--secret-id and --secret-key go together".into()),
    };
    Ok(Options {
        port,
        key: key.as_deref().map(parse_key).transpose()?,
        secret,
        captcha_type,
        redis,
        max_connections,
        max_in_flight,
    })
}

#[cfg(feature = "redis")]
fn redis_store(url: &str) -> Result<Arc<dyn ReplayStore>, String> {
    let store = qcaptcha::RedisStore::open(url)
        .map_err(|e| format!("--redis {url}: {e}"))?
        .with_prefix("qcaptcha-example:");
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
fn redis_store(_url: &str) -> Result<Arc<dyn ReplayStore>, String> {
    Err(
        "--redis needs the Redis store, which this build does not have: \
         build with `--features redis`, e.g. \
         `cargo run --example server --features redis -- --redis redis://127.0.0.1/`"
            .into(),
    )
}

// ---------------------------------------------------------------- state

struct App {
    service: CaptchaService,
    /// The SecretId/SecretKey the demo page signs its own API calls with
    /// (when signing is on).
    secret: Option<(String, Vec<u8>)>,
    captcha_type: u8,
    in_flight: Semaphore,
}

type Shared = Arc<App>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Why a request failed, attached to the response for the log line.
#[derive(Clone)]
struct LogNote(String);

/// A JSON answer in the API's error format `{"code", "message"}`.
fn api_error(status: StatusCode, message: &str) -> Response {
    let code = if status == StatusCode::SERVICE_UNAVAILABLE {
        ErrorCode::Internal
    } else {
        ErrorCode::InvalidParameter
    };
    let body = serde_json::json!({ "code": code.code(), "message": message });
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.extensions_mut().insert(LogNote(message.to_string()));
    resp
}

/// A library [`HttpResponse`] as an axum response, with its headers and its
/// error (if any) noted for the log.
fn send(r: HttpResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = r.headers();
    let mut resp = Response::new(Body::from(r.body));
    *resp.status_mut() = status;
    for (name, value) in headers {
        resp.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    if let Some(e) = r.error {
        resp.extensions_mut().insert(LogNote(e.to_string()));
    }
    resp
}

/// Reads a form body: at most [`MAX_BODY_BYTES`], within [`BODY_TIMEOUT`],
/// `application/x-www-form-urlencoded` (or no type), UTF-8.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<String, Response> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(api_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected Content-Type application/x-www-form-urlencoded",
            ));
        }
    }
    let bytes: Bytes = match tokio::time::timeout(
        BODY_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            ))
        }
        Err(_) => {
            return Err(api_error(
                StatusCode::REQUEST_TIMEOUT,
                "request body too slow",
            ))
        }
    };
    String::from_utf8(bytes.to_vec())
        .map_err(|_| api_error(StatusCode::BAD_REQUEST, "request body is not UTF-8"))
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------- API routes

fn host_of(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

fn dispatch(app: &App, method: &str, host: &str, params: &str, action: Option<&str>) -> Response {
    let req = ApiRequest {
        method,
        host,
        path: API_PATH,
        params,
    };
    match action {
        Some("CaptchaQuery") => send(with_http_status(app.service.handle_query(req))),
        Some("CaptchaCheck") => send(with_http_status(app.service.handle_check(req))),
        Some(_) => api_error(
            StatusCode::BAD_REQUEST,
            "unknown Action: expected CaptchaQuery or CaptchaCheck",
        ),
        None => api_error(StatusCode::BAD_REQUEST, "missing parameter Action"),
    }
}

/// The library answers CaptchaQuery/CaptchaCheck with HTTP 200 and the
/// result `code` in the body, as the original service does. This server
/// also says it in the HTTP status for JSON answers, so plain HTTP clients
/// and logs see bad requests as 4xx: 4000/4200/4500 -> 400, 4100 -> 401,
/// 6000 -> 503. A failed check (5100) is a well-formed request answered
/// "no": 200. JavaScript answers (script=1 with a `callBack`) stay 200 so
/// that the browser runs them.
fn with_http_status(mut r: HttpResponse) -> HttpResponse {
    if !r.content_type.starts_with("application/json") {
        return r;
    }
    if let Some(e) = &r.error {
        r.status = match e.code() {
            ErrorCode::AuthFailed => 401,
            ErrorCode::Internal => 503,
            ErrorCode::CheckFailed => 200,
            _ => 400,
        };
    }
    r
}

/// `GET /v2/index.php?Action=...`.
async fn api_get(State(app): State<Shared>, headers: HeaderMap, req: Request) -> Response {
    let query = req.uri().query().unwrap_or("");
    let pairs = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect::<Vec<(String, String)>>();
    dispatch(
        &app,
        "GET",
        host_of(&headers),
        query,
        param(&pairs, "Action"),
    )
}

/// `POST /v2/index.php` with a form body (CaptchaCheck, or CaptchaQuery).
async fn api_post(State(app): State<Shared>, headers: HeaderMap, req: Request) -> Response {
    let body = match read_form(&headers, req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let pairs = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect::<Vec<(String, String)>>();
    dispatch(
        &app,
        "POST",
        host_of(&headers),
        &body,
        param(&pairs, "Action"),
    )
}

// ---------------------------------------------------------------- widget routes

async fn widget_image(State(app): State<Shared>, req: Request) -> Response {
    send(app.service.handle_image(req.uri().query().unwrap_or("")))
}

async fn widget_refresh(State(app): State<Shared>, headers: HeaderMap, req: Request) -> Response {
    match read_form(&headers, req.into_body()).await {
        Ok(form) => send(app.service.handle_refresh(&form)),
        Err(resp) => resp,
    }
}

async fn widget_verify(State(app): State<Shared>, headers: HeaderMap, req: Request) -> Response {
    match read_form(&headers, req.into_body()).await {
        Ok(form) => send(app.service.handle_verify(&form)),
        Err(resp) => resp,
    }
}

// ---------------------------------------------------------------- demo page

impl App {
    /// Calls the API in process the way a business server calls it over
    /// HTTP: Action plus parameters, v2-signed when signing is on.
    fn call_api(&self, action: &str, params: &[(&str, String)]) -> HttpResponse {
        let mut pairs: Vec<(String, String)> = vec![("Action".into(), action.into())];
        pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.clone())));
        if let Some((id, key)) = &self.secret {
            let nonce = rand::rngs::OsRng.try_next_u64().unwrap_or(1) | 1;
            pairs.push(("SecretId".into(), id.clone()));
            pairs.push(("Timestamp".into(), now_secs().to_string()));
            pairs.push(("Nonce".into(), (nonce >> 1).max(1).to_string()));
            pairs.push(("SignatureMethod".into(), "HmacSHA256".into()));
            let source = sign::source_string(
                "GET",
                SELF_HOST,
                API_PATH,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            let signature = sign::sign(key, SignatureMethod::HmacSha256, &source);
            pairs.push(("Signature".into(), signature));
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        let req = ApiRequest {
            method: "GET",
            host: SELF_HOST,
            path: API_PATH,
            params: &encoded,
        };
        match action {
            "CaptchaQuery" => self.service.handle_query(req),
            _ => self.service.handle_check(req),
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
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · qcaptcha demo</title>\n\
         <link rel=\"stylesheet\" href=\"/demo.css\">\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = html_escape(title),
    );
    let script_src = match script_nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}'"),
        None => "script-src 'self'".to_string(),
    };
    let csp = format!(
        "default-src 'none'; {script_src}; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
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
async fn signup_page(State(app): State<Shared>, ConnectInfo(peer): ConnectInfo<Peer>) -> Response {
    let resp = app.call_api(
        "CaptchaQuery",
        &[
            ("userIp", peer.0.ip().to_string()),
            ("businessId", BUSINESS_ID.into()),
            ("captchaType", app.captcha_type.to_string()),
            ("registerTime", now_secs().to_string()),
            ("script", "0".into()),
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
    let Some(widget_js) = json["script"].as_str().filter(|_| json["code"] == 0) else {
        let mut r = page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-up unavailable",
            "<h1>Sign-up is unavailable</h1>\n<p>The captcha service could not start a \
             captcha for you. Please try again in a minute.</p>\n<p><a href=\"/\">Try again</a></p>",
            None,
        );
        let note = resp
            .error
            .map(|e| e.to_string())
            .unwrap_or_else(|| "CaptchaQuery failed".into());
        r.extensions_mut().insert(LogNote(note));
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

/// `POST /signup`: accepts the sign-up only if CaptchaCheck says the
/// ticket is good for this visitor.
async fn signup_submit(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let failure = |status: StatusCode, title: &str, why: &str, note: String| {
        let body = format!(
            "<h1>{title}</h1>\n<p>{why}</p>\n<p><a href=\"/\">Back to the sign-up form</a></p>",
            title = html_escape(title),
        );
        let mut r = page(status, title, &body, None);
        r.extensions_mut().insert(LogNote(note));
        r
    };
    let form = match read_form(&headers, req.into_body()).await {
        Ok(f) => f,
        Err(_) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "Sign-up failed",
                "The form could not be read. Please fill it in again.",
                "unreadable form".into(),
            )
        }
    };
    let pairs = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect::<Vec<(String, String)>>();
    let username = param(&pairs, "username").unwrap_or("").trim().to_string();
    let ticket = param(&pairs, "ticket").unwrap_or("").to_string();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_CHARS
        || username.chars().any(char::is_control)
    {
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-up failed",
            &format!("Please choose a user name of 1 to {MAX_USERNAME_CHARS} characters."),
            "bad user name".into(),
        );
    }
    if ticket.is_empty() {
        return failure(
            StatusCode::BAD_REQUEST,
            "Sign-up failed",
            "Please solve the captcha before creating your account.",
            "no ticket".into(),
        );
    }
    let resp = app.call_api(
        "CaptchaCheck",
        &[
            ("ticket", ticket),
            ("userIp", peer.0.ip().to_string()),
            ("businessId", BUSINESS_ID.into()),
            ("captchaType", app.captcha_type.to_string()),
            ("registerTime", now_secs().to_string()),
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
    if json["code"] == 0 {
        let body = format!(
            "<h1>Welcome, {name}!</h1>\n<p class=\"ok\" id=\"result\">Your account has been \
             created. (This is a demo: nothing was stored.)</p>\n\
             <p><a href=\"/\">Sign up another account</a></p>",
            name = html_escape(&username),
        );
        let mut r = page(StatusCode::OK, "Welcome", &body, None);
        r.extensions_mut()
            .insert(LogNote(format!("signed up {username:?}")));
        return r;
    }
    let note = resp
        .error
        .map(|e| e.to_string())
        .unwrap_or_else(|| format!("CaptchaCheck code {}", json["code"]));
    failure(
        StatusCode::FORBIDDEN,
        "Sign-up refused",
        "We could not confirm that you solved the captcha: it may have expired or \
         been used already. Please go back, solve a new captcha and try again.",
        note,
    )
}

const DEMO_JS: &str = r#"(function () {
  "use strict";
  var button = document.getElementById("signup-submit");
  var ticket = document.getElementById("ticket");
  var hint = document.getElementById("hint");
  window.capInit("captcha", {
    callback: function (r) {
      if (r && r.ret === 0) {
        ticket.value = r.ticket;
        button.disabled = false;
        hint.textContent = "Captcha solved. You can create your account now.";
      }
    },
    onError: function () {
      hint.textContent = "The captcha has expired. Please reload the page.";
    }
  });
})();
"#;

const DEMO_CSS: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#222;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;font-weight:600;margin-bottom:.25rem}
input#username{width:100%;box-sizing:border-box;padding:.4rem;font-size:1rem;margin-bottom:1rem}
.captcha{margin:0 0 .5rem;padding:.6rem .8rem;border:1px solid #d0d4da;border-radius:6px;background:#fafbfc}
.hint{color:#555;font-size:.9rem}
button#signup-submit{font-size:1rem;padding:.5rem 1rem}
.ok{color:#1b5e20}
";

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

// ---------------------------------------------------------------- middleware

/// Bounds the work in flight, rejects oversized query strings, and logs one
/// line per request (never the query string: it carries tokens).
async fn gate(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = if req.uri().query().map_or(0, str::len) > MAX_QUERY_BYTES {
        api_error(StatusCode::URI_TOO_LONG, "query string too long")
    } else {
        match tokio::time::timeout(QUEUE_TIMEOUT, app.in_flight.acquire()).await {
            Ok(Ok(_permit)) => next.run(req).await,
            _ => api_error(StatusCode::SERVICE_UNAVAILABLE, "server busy, try again"),
        }
    };
    let note = resp
        .extensions()
        .get::<LogNote>()
        .map(|n| format!(" ({})", n.0))
        .unwrap_or_default();
    eprintln!(
        "{} {method} {path} {} {:.1}ms{note}",
        peer.0.ip(),
        resp.status().as_u16(),
        start.elapsed().as_secs_f64() * 1e3,
    );
    resp
}

// ---------------------------------------------------------------- listener

/// A TCP listener that holds at most `max` connections open: beyond that,
/// new connections wait in the kernel's accept queue.
struct BoundedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
}

/// A connection holding one of the listener's slots until it closes, or
/// until it has been idle (no byte read or written) for [`IDLE_TIMEOUT`]:
/// idle keep-alive or trickling clients cannot hold the slots forever.
struct BoundedStream {
    stream: TcpStream,
    idle: Pin<Box<tokio::time::Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl BoundedStream {
    fn touch(&mut self) {
        self.idle
            .as_mut()
            .reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
    }

    /// Maps a pending read or write to a timeout error once idle too long.
    fn check_idle<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.touch();
                Poll::Ready(r)
            }
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (BoundedStream, SocketAddr) {
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            Err(_) => std::future::pending().await, // never closed
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        BoundedStream {
                            stream,
                            idle: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
                            _slot: slot,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of
                    // spinning.
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        self.check_idle(cx, poll)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.check_idle(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.check_idle(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The peer address, as connection info for handlers.
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, BoundedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, BoundedListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

// ---------------------------------------------------------------- main

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("shutting down: finishing requests in flight");
}

fn router(app: Shared) -> Router {
    let not_found = || async { api_error(StatusCode::NOT_FOUND, "no such route") };
    let not_allowed = || async { api_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed") };
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
        .route(API_PATH, get(api_get).post(api_post))
        .route(&format!("{WIDGET_BASE}/image"), get(widget_image))
        .route(&format!("{WIDGET_BASE}/refresh"), post(widget_refresh))
        .route(&format!("{WIDGET_BASE}/verify"), post(widget_verify))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        .with_state(app)
}

fn build(opts: &Options) -> Result<App, String> {
    let keys = match opts.key {
        Some(key) => KeyRing::new(1, key),
        None => KeyRing::generate(1).map_err(|e| e.to_string())?,
    };
    let store: Arc<dyn ReplayStore> = match &opts.redis {
        Some(url) => redis_store(url)?,
        None => Arc::new(MemoryStore::new(STORE_CAPACITY)),
    };
    let mut builder = CaptchaService::builder(WIDGET_BASE).keys(keys).store(store);
    if let Some((id, key)) = &opts.secret {
        builder = builder.credentials(Credentials::new(id.clone(), key.as_bytes().to_vec()));
    }
    let service = builder.build().map_err(|e| e.to_string())?;
    Ok(App {
        service,
        secret: opts
            .secret
            .as_ref()
            .map(|(id, key)| (id.clone(), key.as_bytes().to_vec())),
        captcha_type: opts.captcha_type,
        in_flight: Semaphore::new(opts.max_in_flight),
    })
}

async fn run(opts: Options) -> Result<(), String> {
    let app = Arc::new(build(&opts)?);
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}/");
    eprintln!(
        "qcaptcha demo on http://{addr}/ (signing {}, key {}, store {}, captcha type {})",
        if opts.secret.is_some() { "on" } else { "off" },
        if opts.key.is_some() {
            "given"
        } else {
            "random"
        },
        if opts.redis.is_some() {
            "redis"
        } else {
            "memory"
        },
        opts.captcha_type,
    );
    let listener = BoundedListener {
        inner: listener,
        slots: Arc::new(Semaphore::new(opts.max_connections)),
    };
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<Peer>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let opts = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
