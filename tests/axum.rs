//! The axum integration in process: the router's routes, limits and
//! refusals through `tower::ServiceExt::oneshot`, and `serve`'s connection
//! limits on a real socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use qcaptcha::axum::Router;
use qcaptcha::axum::{router, serve, ClientAddr, ClientIp, RouterConfig, ServeConfig};
use qcaptcha::{CaptchaService, Credentials, KeyRing};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

mod common;
use common::{challenge_in, form, urlencode, HARNESS_WAIT, LOAD_SLACK, QUERY};

const PEER: &str = "203.0.113.9:4000";

fn service() -> Arc<CaptchaService> {
    let service = CaptchaService::builder("https://captcha.example/cap")
        .keys(KeyRing::new(1, [7; 32]))
        .build()
        .unwrap();
    Arc::new(service)
}

fn app_with(service: &Arc<CaptchaService>, config: RouterConfig) -> Router {
    router(service.clone(), config).layer(MockConnectInfo(PEER.parse::<SocketAddr>().unwrap()))
}

fn open_app(service: &Arc<CaptchaService>) -> Router {
    app_with(service, RouterConfig::default().allow_unsigned_api(true))
}

async fn send(app: &Router, req: Request<Body>) -> Response {
    app.clone().oneshot(req).await.unwrap()
}

async fn body_json(resp: Response) -> Value {
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).expect("JSON body")
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_form(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

async fn new_challenge(app: &Router) -> String {
    let resp = send(
        app,
        get(&format!("/v2/index.php?Action=CaptchaQuery&{QUERY}")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(body["code"], 0, "{body}");
    challenge_in(body["script"].as_str().unwrap())
}

#[tokio::test]
async fn query_picture_verify_and_check_through_the_router() {
    let service = service();
    let app = open_app(&service);
    let challenge = new_challenge(&app).await;

    let img = send(
        &app,
        get(&format!("/cap/image?c={}", urlencode(&challenge))),
    )
    .await;
    assert_eq!(img.status(), StatusCode::OK);
    assert_eq!(img.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(img.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        img.extensions().get::<ClientAddr>(),
        Some(&ClientAddr(PEER.parse::<SocketAddr>().unwrap().ip()))
    );

    let answer = service.answer_for_challenge(&challenge).unwrap();
    let verified = send(
        &app,
        post_form("/cap/verify", form(&challenge, answer.as_str())),
    )
    .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let ticket = body_json(verified).await["ticket"]
        .as_str()
        .unwrap()
        .to_owned();

    let check = format!(
        "Action=CaptchaCheck&ticket={}&{}",
        urlencode(&ticket),
        common::CHECK_FIELDS
    );
    let first = body_json(send(&app, post_form("/v2/index.php", check.clone())).await).await;
    assert_eq!(first["code"], 0, "{first}");
    // A failed check is still HTTP 200: the code is in the body.
    let again = send(&app, post_form("/v2/index.php", check)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_json(again).await["code"], 5100);
}

#[tokio::test]
async fn the_api_is_signed_only_unless_a_demo_says_otherwise() {
    let service = service();
    let closed = app_with(&service, RouterConfig::default());
    let resp = send(
        &closed,
        get(&format!("/v2/index.php?Action=CaptchaQuery&{QUERY}")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(resp).await["code"], 4300);

    // With credentials the API is open to signed calls (and checks them).
    let signed = Arc::new(
        CaptchaService::builder("/cap")
            .keys(KeyRing::new(1, [7; 32]))
            .credentials(Credentials::new("AKID", "key"))
            .build()
            .unwrap(),
    );
    let app = app_with(&signed, RouterConfig::default());
    let resp = send(
        &app,
        get(&format!("/v2/index.php?Action=CaptchaQuery&{QUERY}")),
    )
    .await;
    // What docs/errors.md says: HTTP 200, 4000 naming the first missing
    // signature parameter (not 4300, which is for a closed API).
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(body["code"], 4000, "unsigned call: {body}");
    assert_eq!(body["message"], "missing or invalid parameter SecretId");
}

#[tokio::test]
async fn unknown_routes_methods_and_actions() {
    let app = open_app(&service());
    // What docs/errors.md says: an unknown route is HTTP 404 with 5000 in
    // the body (only the API path always answers 200).
    let resp = send(&app, get("/nope")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(resp).await["code"], 5000);
    let resp = send(&app, get("/cap/verify")).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = send(
        &app,
        get(&format!("/v2/index.php?Action=RunInstances&{QUERY}")),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(resp).await["code"], 5000);
}

#[tokio::test]
async fn oversized_slow_or_mistyped_requests_are_refused() {
    let app = open_app(&service());
    let long = "x".repeat(5000);
    let resp = send(&app, get(&format!("/cap/image?c={long}"))).await;
    assert_eq!(resp.status(), StatusCode::URI_TOO_LONG);
    let resp = send(
        &app,
        post_form("/cap/verify", "c=".to_owned() + &"a".repeat(9000)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json_body = Request::post("/cap/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        send(&app, json_body).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let not_utf8 = post_form("/cap/verify", String::new());
    let (parts, _) = not_utf8.into_parts();
    let not_utf8 = Request::from_parts(parts, Body::from(vec![b'c', b'=', 0xff, 0xfe]));
    assert_eq!(send(&app, not_utf8).await.status(), StatusCode::BAD_REQUEST);

    // A body that never finishes (it stays open for STALL) is cut off at
    // the deadline.
    let deadline = Duration::from_millis(200);
    let app = app_with(
        &service(),
        RouterConfig::default()
            .allow_unsigned_api(true)
            .request_timeout(deadline),
    );
    let stalled = futures_pending_body();
    let start = Instant::now();
    let resp = send(&app, stalled).await;
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(
        start.elapsed() < deadline + LOAD_SLACK,
        "{:?}",
        start.elapsed()
    );
}

/// How long a stalled body or a trickling client keeps going: far longer
/// than any deadline under test plus [`LOAD_SLACK`].
const STALL: Duration = Duration::from_secs(30);

/// A POST whose body sends one byte and then nothing.
fn futures_pending_body() -> Request<Body> {
    let first = futures_once(b"c".to_vec());
    Request::post("/cap/verify")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_stream(first))
        .unwrap()
}

fn futures_once(
    bytes: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tokio::spawn(async move {
        let _ = tx.send(Ok(bytes)).await;
        // Keep the stream open and silent.
        tokio::time::sleep(STALL).await;
        drop(tx);
    });
    tokio_stream_from(rx)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let proxy: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let app = router(
        service(),
        RouterConfig::default()
            .allow_unsigned_api(true)
            .client_ip(ClientIp::forwarded_by(vec![proxy.ip()])),
    )
    .layer(MockConnectInfo(proxy));
    let challenge = new_challenge(&app).await;
    let req = Request::get(format!("/cap/image?c={}", urlencode(&challenge)))
        .header("x-forwarded-for", "198.51.100.1, 192.0.2.7")
        .body(Body::empty())
        .unwrap();
    let resp = send(&app, req).await;
    assert_eq!(
        resp.extensions().get::<ClientAddr>(),
        Some(&ClientAddr("192.0.2.7".parse().unwrap()))
    );
}

// ---------------------------------------------------------------- serve

async fn start_server(config: ServeConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(service(), RouterConfig::default().allow_unsigned_api(true));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, config, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Sends one GET on `stream` and reads the status line.
async fn status_of(stream: &mut TcpStream, path: &str) -> Option<String> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(HARNESS_WAIT, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_owned)
}

/// Whether the server closed `stream` (read returns 0 or an error) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn trickling_headers_are_cut_off_and_others_are_still_served() {
    let header_timeout = Duration::from_millis(300);
    let (addr, _stop) = start_server(ServeConfig::default().header_timeout(header_timeout)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /nope HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    // One byte every 100 ms, for as long as STALL, does not keep it alive
    // past the header deadline.
    let mut cut = false;
    while !cut && start.elapsed() < STALL {
        cut = slow.write_all(b"X").await.is_err()
            || closed_within(&mut slow, Duration::from_millis(100)).await;
    }
    assert!(cut, "a trickling client must be disconnected");
    assert!(
        start.elapsed() < header_timeout + LOAD_SLACK,
        "{:?}",
        start.elapsed()
    );

    let mut fresh = TcpStream::connect(addr).await.unwrap();
    let status = status_of(&mut fresh, "/nope").await.unwrap();
    assert!(status.contains("404"), "{status}");
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let (addr, _stop) = start_server(ServeConfig::default().max_connections_per_ip(3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(status_of(&mut s, "/nope").await.unwrap().contains("404"));
        held.push(s);
    }
    // The fourth from the same address is closed without an answer.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    assert_eq!(status_of(&mut extra, "/nope").await, None);
    // Once one is given back, the address may connect again (as soon as
    // the server has seen the close: retried until then).
    drop(held.pop());
    let start = Instant::now();
    loop {
        let mut again = TcpStream::connect(addr).await.unwrap();
        match status_of(&mut again, "/nope").await {
            Some(status) => break assert!(status.contains("404"), "{status}"),
            None => assert!(start.elapsed() < HARNESS_WAIT, "the slot never came back"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
