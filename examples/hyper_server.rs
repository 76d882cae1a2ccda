//! The captcha on bare hyper, through the framework-neutral
//! `qcaptcha::tower` service: no web framework, one accept loop.
//!
//! ```text
//! cargo run --example hyper_server --features tower -- 127.0.0.1:8080
//! curl 'http://127.0.0.1:8080/v2/index.php?Action=CaptchaQuery&userIp=192.0.2.1&businessId=1&captchaType=1&script=1&registerTime=0'
//! ```
//!
//! The API is open to unsigned calls here, as in a local demo; give the
//! service `Credentials` for anything else.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use qcaptcha::tower::{service, HttpService, PeerAddr, RouterConfig};
use qcaptcha::CaptchaService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The captcha's routes, under `/captcha`, with the API open.
pub fn app() -> Result<HttpService<Incoming>, Box<dyn std::error::Error>> {
    let captcha = CaptchaService::builder("/captcha").build()?;
    let config = RouterConfig::default().allow_unsigned_api(true);
    Ok(service(Arc::new(captcha), config))
}

/// Serves `app` on `listener` until the task is dropped: each connection
/// on its own task, each request told its peer address.
pub async fn serve(listener: TcpListener, app: HttpService<Incoming>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = app.clone();
        let handler = service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            app.clone().oneshot(req)
        });
        tokio::spawn(async move {
            // A client that hangs up mid-request is no error of ours.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

#[allow(dead_code)] // The test includes this file and calls `serve` itself.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()?;
    let listener = TcpListener::bind(addr).await?;
    println!("captcha on http://{addr}/captcha, API at /v2/index.php");
    serve(listener, app()?).await?;
    Ok(())
}
