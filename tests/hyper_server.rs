//! The bare-hyper adapter (`examples/hyper_server.rs`) serves the whole
//! flow over real TCP: CaptchaQuery, the picture, an answer, an unknown
//! route, each through the framework-neutral `qcaptcha::tower` service.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "../examples/hyper_server.rs"]
mod example;

mod common;
use common::{urlencode, HARNESS_WAIT, QUERY};

/// One HTTP/1.1 exchange on a fresh connection: status, headers and body.
async fn exchange(addr: SocketAddr, request: String) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(HARNESS_WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
}

fn post(path: &str, form: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
}

/// The challenge a widget script embeds.
fn challenge_of(script: &str) -> String {
    let start = script.find("\"challenge\":\"").unwrap() + 13;
    let len = script[start..].find('"').unwrap();
    script[start..start + len].to_owned()
}

#[tokio::test]
async fn the_hyper_adapter_serves_query_picture_answer_and_refusals() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(example::serve(listener, example::app().unwrap()));

    let query = format!("/v2/index.php?Action=CaptchaQuery&{QUERY}");
    let (status, _, body) = exchange(addr, get(&query)).await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], 0, "{json}");
    let challenge = challenge_of(json["script"].as_str().unwrap());

    let image = format!("/captcha/image?c={}", urlencode(&challenge));
    let (status, head, png) = exchange(addr, get(&image)).await;
    assert_eq!(status, 200, "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: image/png"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let form = format!("c={}&answer=WRONGX", urlencode(&challenge));
    let (status, _, body) = exchange(addr, post("/captcha/verify", &form)).await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], 5100);
    assert!(json["challenge"].is_string(), "a next picture: {json}");

    let (status, _, body) = exchange(addr, get("/nope")).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["code"],
        5000
    );
    let (status, _, _) = exchange(addr, get("/captcha/verify")).await;
    assert_eq!(status, 405);
    server.abort();
}

/// Without the peer address an adapter must record, a widget route cannot
/// count its client: refused (500, code 6000), never served uncounted.
#[tokio::test]
async fn a_request_without_its_peer_address_is_refused() {
    use qcaptcha::tower::ResponseBody;
    use tower::ServiceExt;

    let req = http::Request::post("/captcha/verify")
        .body(String::from("c=x&answer=ABCD"))
        .unwrap();
    let app = qcaptcha::tower::service::<String>(
        std::sync::Arc::new(
            qcaptcha::CaptchaService::builder("/captcha")
                .build()
                .unwrap(),
        ),
        qcaptcha::tower::RouterConfig::default(),
    );
    let resp: http::Response<ResponseBody> = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 500);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&body.to_bytes()).unwrap();
    assert_eq!(json["code"], 6000);
}
