//! The whole request path in process, on one thread: CaptchaQuery (JSON,
//! a fresh sealed challenge and the widget script) -> picture (open the
//! challenge, render the PNG) -> verify (open, record the attempt, draw
//! the answer from the seed to compare, seal a ticket) -> CaptchaCheck
//! (open the ticket, check the binding, record the use). One iteration is
//! one solved captcha; the elements/s figure is solved captchas per second
//! on one core.
//!
//! Learning the answer (the test oracle) is not timed.
//! Every step goes through the framework-neutral HTTP handlers, so request
//! parsing and validation are included; HTTP itself is not (see the `wrk`
//! numbers in the README for that).
//!
//! Those are the lower bound: signatures, limits and proof of work off.
//! The `deployed` groups measure the path as shipped (see
//! `support/deployed.rs`): signed API calls, the default limits and
//! proof-of-work policy at its calm level, with the memory store and, with
//! `--features redis` and a `redis-server` on the PATH, with a Redis store
//! on loopback (its round trips per solved captcha are counted and printed,
//! and one round trip is timed on its own).
//!
//! Run with `cargo bench --bench request_path`. With `--features metrics`
//! the handlers record their metrics into no recorder (the facade's no-op);
//! with `--features prometheus` into the Prometheus exporter's recorder,
//! as a server that exposes `/metrics` does. The README states the
//! difference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::net::{IpAddr, Ipv4Addr};

use qcaptcha::pow::PowPolicy;
use qcaptcha::{ApiRequest, CaptchaService, KeyRing, Limits, MemoryStore};

#[path = "support/deployed.rs"]
mod deployed;
#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use deployed::{challenge_of, encode, timed, Deployed, Step};

const USER_IP: &str = "121.14.96.121";
/// The widget's client address.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(121, 14, 96, 121));

fn service() -> CaptchaService {
    CaptchaService::builder("/captcha")
        .keys(KeyRing::new(1, [0x42; 32]))
        // Each solved captcha leaves two live entries (the session's
        // counter and the ticket's use) for their lifetime.
        .store(Arc::new(MemoryStore::new(4_000_000)))
        // One userIp solving thousands a second would climb the default
        // proof-of-work levels; this bench measures the path without it
        // (see benches/pow.rs for the check and the tracker).
        .pow(PowPolicy::off())
        // One client solving millions of captchas: the rate limits are off
        // (with them on each step costs one more counter in the store).
        .limits(Limits::unlimited())
        .build()
        .expect("service")
}

fn query_string(kind: u8) -> String {
    format!("userIp={USER_IP}&businessId=1&captchaType={kind}&script=0&registerTime=1400000000")
}

/// One solved captcha; returns the time spent in the service, without the
/// oracle.
fn solve_once(service: &CaptchaService, query: &str, kind: &str) -> Duration {
    let t0 = Instant::now();
    let q = service.handle_query(ApiRequest::from_params(query));
    let challenge = challenge_of(&q.body);
    let image = service.handle_image(&encode(&[("c", &challenge)]), CLIENT);
    assert_eq!(image.status, 200);
    let first = t0.elapsed();

    let answer = service.answer_for_challenge(&challenge).expect("answer");

    let t1 = Instant::now();
    let verify = service.handle_verify(
        &encode(&[("c", &challenge), ("answer", answer.as_str())]),
        CLIENT,
    );
    let json: serde_json::Value = serde_json::from_slice(&verify.body).expect("JSON");
    let ticket = json["ticket"].as_str().expect("ticket");
    let check = service.handle_check(ApiRequest::from_params(&encode(&[
        ("ticket", ticket),
        ("userIp", USER_IP),
        ("businessId", "1"),
        ("captchaType", kind),
        ("registerTime", "1400000000"),
    ])));
    assert!(check.error.is_none(), "{:?}", check.error);
    first + t1.elapsed()
}

/// With `--features prometheus`: the recorder a server with `/metrics`
/// installs (its histogram samples are drained now and then, as the
/// server's upkeep task does).
#[cfg(feature = "prometheus")]
fn install_recorder() {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("install the Prometheus recorder");
    qcaptcha::metrics::describe();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        handle.run_upkeep();
    });
}

fn request_path(c: &mut Criterion) {
    #[cfg(feature = "prometheus")]
    install_recorder();
    let mut group = c.benchmark_group("request_path");
    group.throughput(Throughput::Elements(1));
    for kind in [1u8, 5] {
        let service = service();
        let query = query_string(kind);
        let kind_s = kind.to_string();
        group.bench_function(BenchmarkId::new("query_image_verify_check", kind), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| solve_once(&service, &query, &kind_s))
                    .sum()
            })
        });
    }
    group.finish();

    // The two steps a page view costs even when nobody answers.
    let mut group = c.benchmark_group("request_step");
    group.throughput(Throughput::Elements(1));
    let service = service();
    let query = query_string(5);
    group.bench_function("captcha_query", |b| {
        b.iter(|| service.handle_query(ApiRequest::from_params(&query)))
    });
    let challenge = challenge_of(&service.handle_query(ApiRequest::from_params(&query)).body);
    let image_query = encode(&[("c", &challenge)]);
    group.bench_function("image", |b| {
        b.iter(|| service.handle_image(&image_query, CLIENT))
    });
    // At the scale the widget asks for (`s=2`: the picture shown at twice
    // 130x53), the picture a deployed page really fetches.
    let image_query = encode(&[("c", &challenge), ("s", "2")]);
    group.bench_function("image_s2", |b| {
        b.iter(|| service.handle_image(&image_query, CLIENT))
    });
    // The same step on a fresh challenge each time (its CaptchaQuery
    // untimed), at s = 1 and at the widget's s = 2: a new seed, and other
    // work between two pictures, as in a solved captcha. `image` and
    // `image_s2` above render one challenge over and over, with its
    // glyphs, branches and buffers warm from the last time.
    for (name, scale) in [("image_fresh", "1"), ("image_fresh_s2", "2")] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let q = service.handle_query(ApiRequest::from_params(&query));
                        let c = challenge_of(&q.body);
                        let image_query = encode(&[("c", c.as_str()), ("s", scale)]);
                        let t = Instant::now();
                        let image = service.handle_image(&image_query, CLIENT);
                        let spent = t.elapsed();
                        assert_eq!(image.status, 200);
                        spent
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

/// One event as the handlers record it, alone: a labelled counter and a
/// histogram sample (with `--features metrics`: into no recorder; with
/// `--features prometheus`: into the Prometheus recorder). A solved
/// captcha records seven such events (session, picture, answer, ticket,
/// check, two store latencies) and reads the clock four times.
#[cfg(feature = "metrics")]
fn metrics_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_event");
    group.bench_function("counter_with_two_labels", |b| {
        b.iter(|| {
            metrics::counter!("qcaptcha_checks_total", "outcome" => "pass", "reason" => "ok")
                .increment(1)
        })
    });
    group.bench_function("histogram_timed", |b| {
        b.iter(|| {
            let started = Instant::now();
            metrics::histogram!("qcaptcha_store_seconds", "kind" => "ticket")
                .record(started.elapsed().as_secs_f64())
        })
    });
    group.finish();
}

#[cfg(not(feature = "metrics"))]
fn metrics_event(_: &mut Criterion) {}

/// Room for every record the deployed path keeps live: at its simulated
/// rate, two Nonces a solved captcha for two hours (288,000), sessions and
/// tickets for minutes; no table is ever full, so none makes room.
const DEPLOYED_CAPACITY: usize = 4_000_000;

/// The path as deployed, memory store: a solved captcha (its picture at
/// the widget's `s=2`, and at `s=1`) and CaptchaQuery alone. Compare with
/// `request_step/image_s2` and `request_step/image` of the same run.
fn deployed_memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("deployed_memory");
    group.throughput(Throughput::Elements(1));
    let path = Deployed::with_memory_store(DEPLOYED_CAPACITY);
    path.warm_up();
    group.bench_function("solved_captcha", |b| {
        b.iter_custom(|iters| timed(iters, None, |w| path.solve(w)))
    });
    // The same path with the smallest picture, which the widget never asks
    // for: the request path's own cost weighs most here.
    let path_s1 = Deployed::with_memory_store(DEPLOYED_CAPACITY).at_scale(1);
    path_s1.warm_up();
    group.bench_function("solved_captcha_s1", |b| {
        b.iter_custom(|iters| timed(iters, None, |w| path_s1.solve(w)))
    });
    drop(path_s1);
    group.bench_function("captcha_query", |b| {
        b.iter_custom(|iters| timed(iters, None, |w| path.query_only(w)))
    });
    // Each step of a solved captcha alone (the others run untimed).
    for step in Step::ALL {
        group.bench_function(format!("step_{}", step.name()), |b| {
            b.iter_custom(|iters| timed(iters, Some(step), |w| path.solve(w)))
        });
    }
    group.finish();
}

/// The path as deployed with a Redis store on loopback; skipped, with a
/// note, when `redis-server` cannot be started.
#[cfg(feature = "redis")]
fn deployed_redis(c: &mut Criterion) {
    use qcaptcha::ReplayStore as _;
    let server = match redis_server::RedisServer::start() {
        Ok(s) => s,
        Err(why) => {
            println!("deployed_redis skipped: {why}");
            return;
        }
    };
    let store = qcaptcha::RedisStore::open(server.url()).expect("Redis store");
    let path = Deployed::new(Arc::new(store));
    // Warm the connection and the scripts, then count the script calls
    // (one round trip each) of a thousand solved captchas.
    let mut watch = deployed::Stopwatch::default();
    path.solve(&mut watch);
    let n: u64 = 1_000;
    let before = server.script_calls().expect("INFO");
    (0..n).for_each(|_| path.solve(&mut watch));
    let after = server.script_calls().expect("INFO");
    println!(
        "deployed_redis: {:.2} Redis round trips per solved captcha",
        (after - before) as f64 / n as f64
    );
    let mut group = c.benchmark_group("deployed_redis");
    group.throughput(Throughput::Elements(1));
    group.bench_function("solved_captcha", |b| {
        b.iter_custom(|iters| timed(iters, None, |w| path.solve(w)))
    });
    group.bench_function("captcha_query", |b| {
        b.iter_custom(|iters| timed(iters, None, |w| path.query_only(w)))
    });
    // One round trip alone: a rate counter's hit, as the limits make.
    let store = qcaptcha::RedisStore::open(server.url()).expect("Redis store");
    group.bench_function("round_trip", |b| {
        b.iter(|| store.count_hit("bench", 60, 1_700_000_000).expect("hit"))
    });
    group.finish();
}

#[cfg(not(feature = "redis"))]
fn deployed_redis(_: &mut Criterion) {
    println!("deployed_redis skipped: built without `--features redis`");
}

criterion_group!(
    benches,
    request_path,
    deployed_memory,
    deployed_redis,
    metrics_event
);
criterion_main!(benches);
