//! The runtime never blocks on the store: Redis is frozen (SIGSTOP) for
//! longer than the store's timeout while answers keep arriving, and
//! pictures are still served from the same 2-worker tokio runtime without
//! waiting for it, because the router runs every store-touching call on
//! its bounded blocking pool (`qcaptcha::axum`). Answers during the freeze
//! fail closed.
//!
//! The store's timeout is long (4 s) so that a picture that waited for a
//! store call stands out from one that a loaded machine merely delayed.

#![cfg(all(feature = "redis", feature = "axum", feature = "e2e"))]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use qcaptcha::axum::{router, RouterConfig};
use qcaptcha::{CaptchaService, KeyRing, Limits};
use tower::ServiceExt;

mod common;
#[path = "common/servers.rs"]
mod servers;
use common::{challenge_in, form, urlencode, LOAD_SLACK, QUERY};
use servers::{Kind, Redis};

/// The store's timeout: a picture that waited for the store would take
/// at least this long.
const STORE_TIMEOUT: Duration = Duration::from_secs(4);

/// How long Redis stays frozen: long enough for every client to meet a
/// store timeout or a full queue (2 s) at least once.
const FREEZE: Duration = Duration::from_secs(6);

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn a_frozen_redis_does_not_slow_pictures_down() {
    let redis = Redis::start(Kind::Plain);
    let store = Arc::new(redis.store().with_timeout(STORE_TIMEOUT));
    let service = Arc::new(
        CaptchaService::builder("https://captcha.example/cap")
            .keys(KeyRing::new(1, [7; 32]))
            .store(store)
            // Every request comes from one address. The picture limit stays
            // on (counted in the process, it must not slow pictures down)
            // but out of reach; the answers' limit is off, so the answers
            // reach the frozen store.
            .limits(
                Limits::default()
                    .client_pictures_per_minute(1_000_000)
                    .client_answers_per_minute(u32::MAX),
            )
            .build()
            .unwrap(),
    );
    let app = router(
        service.clone(),
        RouterConfig::default().allow_unsigned_api(true),
    )
    .layer(MockConnectInfo(
        "203.0.113.9:4000".parse::<SocketAddr>().unwrap(),
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let get = |uri: String| Request::get(uri).body(Body::empty()).unwrap();
        let resp = app
            .clone()
            .oneshot(get(format!("/v2/index.php?Action=CaptchaQuery&{QUERY}")))
            .await
            .unwrap();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let challenge = challenge_in(json["script"].as_str().unwrap());
        let image_uri = format!("/cap/image?c={}", urlencode(&challenge));
        let picture = |app: axum::Router| {
            let uri = image_uri.clone();
            async move {
                let started = Instant::now();
                let resp = app.oneshot(get(uri)).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                to_bytes(resp.into_body(), 1 << 20).await.unwrap();
                started.elapsed()
            }
        };

        // Normal latency, Redis up and idle.
        let mut before = Vec::new();
        for _ in 0..40 {
            before.push(picture(app.clone()).await);
        }

        // Freeze Redis; 48 clients keep answering (each answer waits for
        // the store until its timeout, or for a place in the queue).
        redis.nodes[0].freeze(true);
        let frozen_at = Instant::now();
        // Set just before Redis thaws: a response seen while it is false
        // was given while Redis was frozen.
        let stop = Arc::new(AtomicBool::new(false));
        let (answers, tickets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut clients = Vec::new();
        for _ in 0..48 {
            let (app, stop) = (app.clone(), stop.clone());
            let (answers, tickets) = (answers.clone(), tickets.clone());
            let body = form(&challenge, "ABCD");
            clients.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let req = Request::post("/cap/verify")
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(body.clone()))
                        .unwrap();
                    let resp = app.clone().oneshot(req).await.unwrap();
                    let status = resp.status();
                    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
                    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    if stop.load(Ordering::SeqCst) {
                        break; // may have been answered by the thawed Redis
                    }
                    // Fails closed: 6000 (store timed out, or queue full).
                    assert_eq!(json["code"], 6000, "{status} {json}");
                    answers.fetch_add(1, Ordering::Relaxed);
                    if json.get("ticket").is_some() {
                        tickets.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        // Pictures meanwhile, one every 20 ms.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut during = Vec::new();
        while frozen_at.elapsed() < FREEZE {
            during.push(picture(app.clone()).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::SeqCst);
        redis.nodes[0].freeze(false);
        for c in clients {
            c.await.unwrap();
        }

        let (before_median, during_median) = (median(&mut before), median(&mut during));
        let during_max = *during.last().unwrap();
        eprintln!(
            "pictures: before median {before_median:?} max {:?}; while Redis was frozen \
             ({} pictures) median {during_median:?} max {during_max:?}; {} answers refused",
            before.last().unwrap(),
            during.len(),
            answers.load(Ordering::Relaxed)
        );
        assert_eq!(tickets.load(Ordering::Relaxed), 0);
        assert!(
            answers.load(Ordering::Relaxed) >= 48,
            "the answers did not reach the store"
        );
        assert!(
            during.len() >= 20,
            "only {} pictures in {FREEZE:?}",
            during.len()
        );
        // No picture waited for a store call. (Their usual latency is
        // printed above, not asserted: on a loaded machine it is the
        // machine's, not the router's.)
        assert!(
            during_max < STORE_TIMEOUT - LOAD_SLACK,
            "slowest picture {during_max:?}, store timeout {STORE_TIMEOUT:?}"
        );

        // Redis back: answers work again.
        let resp = app
            .clone()
            .oneshot(
                Request::post("/cap/verify")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form(&challenge, "ABCD")))
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_ne!(json["code"], 6000, "{json}");
    });
}
