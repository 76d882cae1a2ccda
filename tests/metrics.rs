//! The service's metrics (feature `metrics`): each handler records what
//! it did, read back through a small in-test recorder.

#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use qcaptcha::store::{RateCount, RecordKind, StoreError, UseRecord};
use qcaptcha::testing::ManualClock;
use qcaptcha::{ApiRequest, CaptchaService, Limits, ReplayStore};

mod common;
use common::{challenge_in, check, form, json, solve, urlencode, CHECK_FIELDS, CLIENT, QUERY, T0};

/// Counts every counter increment and histogram sample by rendered key
/// (`name{label=value,...}`, labels sorted).
#[derive(Default)]
struct Counts {
    cells: Mutex<BTreeMap<String, Arc<Cell>>>,
    described: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl HistogramFn for Cell {
    fn record(&self, value: f64) {
        assert!((0.0..10.0).contains(&value), "latency {value} s");
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counts {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = if labels.is_empty() {
            key.name().to_owned()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        };
        self.cells.lock().unwrap().entry(name).or_default().clone()
    }

    fn get(&self, name: &str) -> u64 {
        self.cells
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.0.load(Ordering::Relaxed))
    }

    fn names(&self) -> Vec<String> {
        self.cells.lock().unwrap().keys().cloned().collect()
    }
}

impl Recorder for Counts {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().push(key.as_str().to_owned());
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        panic!("the service records no gauge")
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

/// A store that can be switched to failing.
#[derive(Default)]
struct Flaky {
    inner: qcaptcha::MemoryStore,
    down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn up(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("switched off".into()));
        }
        Ok(())
    }
}

impl ReplayStore for Flaky {
    fn record_use(
        &self,
        kind: RecordKind,
        id: &str,
        exp: u64,
        max: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        self.up()?;
        self.inner.record_use(kind, id, exp, max, now)
    }
    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        exp: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.up()?;
        self.inner.advance(kind, id, from, exp, now)
    }
    fn count_hit(&self, id: &str, window: u64, now: u64) -> Result<RateCount, StoreError> {
        self.up()?;
        self.inner.count_hit(id, window, now)
    }
    fn decay_add(
        &self,
        id: &str,
        n: f64,
        half_lives: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        self.up()?;
        self.inner.decay_add(id, n, half_lives, now)
    }
}

#[test]
fn every_handler_records_what_it_did() {
    let counts = Counts::default();
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(Flaky::default());
    let service = CaptchaService::builder("https://captcha.example/cap")
        .store(store.clone())
        .clock(clock.clone())
        // One address answers many times in one frozen minute: the rate
        // limits (tested on their own below) would refuse it.
        .limits(Limits::unlimited().session_pictures(10))
        .build()
        .unwrap();
    let query = || {
        let body = json(&service.handle_query(ApiRequest::from_params(QUERY)));
        challenge_in(body["script"].as_str().unwrap())
    };

    metrics::with_local_recorder(&counts, || {
        qcaptcha::metrics::describe();

        // A session, two pictures, a wrong answer, the same challenge
        // again, then a right answer on a new one.
        let c1 = query();
        for _ in 0..2 {
            let img = service.handle_image(&format!("c={}", urlencode(&c1)), CLIENT);
            assert_eq!(img.status, 200);
        }
        let wrong = json(&service.handle_verify(&form(&c1, "XXXX"), CLIENT));
        assert_eq!(wrong["code"], 5100);
        service.handle_verify(&form(&c1, "XXXX"), CLIENT);
        let ticket = solve(&service, &query());

        // Checks: pass, reused, forged, mismatch, bad request.
        assert_eq!(check(&service, &ticket, CHECK_FIELDS).error, None);
        assert!(check(&service, &ticket, CHECK_FIELDS).error.is_some());
        let mut forged = ticket.clone().into_bytes();
        let i = forged.len() - 3;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        check(
            &service,
            std::str::from_utf8(&forged).unwrap(),
            CHECK_FIELDS,
        );
        let other = solve(&service, &query());
        check(&service, &other, &CHECK_FIELDS.replace("uid=u1", "uid=u2"));
        service.handle_check(ApiRequest::from_params("ticket=x"));

        // An expired challenge.
        let c2 = query();
        clock.advance(301);
        service.handle_verify(&form(&c2, "XXXX"), CLIENT);

        // The store fails: the check fails closed and the error counts.
        let third = solve(&service, &query());
        store.down.store(true, Ordering::Relaxed);
        assert_eq!(json(&check(&service, &third, CHECK_FIELDS))["code"], 6000);
    });

    let names = counts.names();
    let expect = [
        ("qcaptcha_sessions_total", 5),
        ("qcaptcha_pictures_total{type=6}", 2),
        ("qcaptcha_answers_total{result=wrong}", 1),
        ("qcaptcha_answers_total{result=reused}", 1),
        ("qcaptcha_answers_total{result=right}", 3),
        ("qcaptcha_answers_total{result=expired}", 1),
        ("qcaptcha_tickets_issued_total", 3),
        ("qcaptcha_checks_total{outcome=pass,reason=ok}", 1),
        ("qcaptcha_checks_total{outcome=fail,reason=reused}", 1),
        ("qcaptcha_checks_total{outcome=fail,reason=forged}", 1),
        ("qcaptcha_checks_total{outcome=fail,reason=mismatch}", 1),
        ("qcaptcha_checks_total{outcome=fail,reason=bad_request}", 1),
        ("qcaptcha_checks_total{outcome=error,reason=store}", 1),
        (
            "qcaptcha_store_errors_total{error=unavailable,kind=ticket}",
            1,
        ),
        // 6 answers, each moving its session's counter (the expired one
        // too: it uses its picture up) ...
        ("qcaptcha_store_seconds{kind=session}", 6),
        // ... and 3 ticket checks (pass, reused, the failed one).
        ("qcaptcha_store_seconds{kind=ticket}", 3),
        // The price of 5 sessions (their business's volume and their
        // network's ticket rate) and 3 tickets counted in that rate.
        ("qcaptcha_store_seconds{kind=pressure}", 13),
    ];
    for (name, n) in expect {
        assert_eq!(counts.get(name), n, "{name}; all: {names:?}");
    }
    // Nothing else was recorded, and every metric has its description.
    let known: Vec<&str> = expect.iter().map(|(n, _)| *n).collect();
    for name in &names {
        assert!(known.contains(&name.as_str()), "unexpected {name}");
    }
    let described = counts.described.lock().unwrap().clone();
    for (name, _, _) in qcaptcha::metrics::METRICS {
        assert!(described.iter().any(|d| d == name), "{name} not described");
    }
}

#[test]
fn a_limit_that_refuses_is_counted_by_name() {
    let counts = Counts::default();
    let clock = Arc::new(ManualClock::new(T0));
    let service = CaptchaService::builder("/cap")
        .clock(clock)
        .limits(Limits::default().client_answers_per_minute(1))
        .build()
        .unwrap();
    metrics::with_local_recorder(&counts, || {
        for _ in 0..3 {
            let body = json(&service.handle_query(ApiRequest::from_params(QUERY)));
            let c = challenge_in(body["script"].as_str().unwrap());
            service.handle_verify(&form(&c, "XXXX"), CLIENT);
        }
    });
    assert_eq!(
        counts.get("qcaptcha_limits_triggered_total{limit=client_answers}"),
        2,
        "{:?}",
        counts.names()
    );
}

/// The names as a Prometheus scrape shows them (feature `prometheus`, the
/// exporter the example server uses for `/metrics`).
#[cfg(feature = "prometheus")]
#[test]
fn a_prometheus_scrape_lists_every_metric() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let service = CaptchaService::builder("/cap").build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        qcaptcha::metrics::describe();
        let body = json(&service.handle_query(ApiRequest::from_params(QUERY)));
        let c = challenge_in(body["script"].as_str().unwrap());
        service.handle_image(&format!("c={}", urlencode(&c)), CLIENT);
        let ticket = solve(&service, &c);
        check(&service, &ticket, CHECK_FIELDS);
        check(&service, &ticket, CHECK_FIELDS);
    });
    let text = handle.render();
    for line in [
        "# TYPE qcaptcha_sessions_total counter",
        "qcaptcha_sessions_total 1",
        "qcaptcha_pictures_total{type=\"6\"} 1",
        "qcaptcha_answers_total{result=\"right\"} 1",
        "qcaptcha_tickets_issued_total 1",
        "qcaptcha_checks_total{outcome=\"pass\",reason=\"ok\"} 1",
        "qcaptcha_checks_total{outcome=\"fail\",reason=\"reused\"} 1",
        "# HELP qcaptcha_store_seconds Replay store call latency in seconds, by kind.",
        "qcaptcha_store_seconds_count{kind=\"ticket\"} 2",
        "qcaptcha_store_seconds_count{kind=\"session\"} 1",
        // The limits: CaptchaQuery's userIp and businessId, the answer
        // (the picture's is counted in the process).
        "qcaptcha_store_seconds_count{kind=\"rate\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
}
