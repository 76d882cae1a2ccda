//! Helpers shared by the protocol test binaries (`tests/protocol.rs`,
//! `tests/redis_store.rs`, `tests/pow.rs`, `tests/protocol_widget.rs`):
//! one request shape and the small steps of the query -> verify -> check
//! flow.

// Each test binary uses a different subset.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use qcaptcha::pow::Puzzle;
use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
use qcaptcha::{ApiRequest, CaptchaService, CheckFailure, Credentials, HttpResponse, ServiceError};
use serde_json::Value;

/// How late a thread may run on a loaded machine (CI shares two cores
/// with other builds; a test suite once failed on a 500 ms budget there):
/// every bound on elapsed time allows this much beyond the time it checks.
pub const LOAD_SLACK: Duration = Duration::from_secs(2);

/// The longest a test waits for its own harness (a server starting, a
/// connection, a cluster forming, a failover): waits return as soon as the
/// thing is ready, so only a broken setup ever takes this long.
pub const HARNESS_WAIT: Duration = Duration::from_secs(60);

/// The widget's client address in the tests.
pub const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

/// The clock's start in every test.
pub const T0: u64 = 1_700_000_000;
/// A valid CaptchaQuery (type 6, JSON answer).
pub const QUERY: &str =
    "userIp=121.14.96.121&businessId=1&captchaType=6&uid=u1&sceneId=3&script=0&registerTime=1400000000";
/// The CaptchaCheck fields matching [`QUERY`].
pub const CHECK_FIELDS: &str =
    "userIp=121.14.96.121&businessId=1&captchaType=6&uid=u1&sceneId=3&registerTime=1400000000";

/// A CaptchaQuery for [`QUERY`] (plus `extra`, e.g. `&uid=x`), signed
/// with `AKIDtest` / `s3cret-key` for `GET captcha.example/v2/index.php`
/// through the crate's client-side helper.
pub fn signed_query(method: SignatureMethod, timestamp: u64, nonce: u64, extra: &str) -> String {
    signed_query_of(&format!("{QUERY}{extra}"), method, timestamp, nonce)
}

/// Where the tests' signed API calls go.
pub const API_LINE: RequestLine<'static> = RequestLine {
    method: "GET",
    host: "captcha.example",
    path: "/v2/index.php",
};

/// An API request to [`API_LINE`] with the query string `params`.
pub fn api_request(params: &str) -> ApiRequest<'_> {
    ApiRequest {
        params,
        method: API_LINE.method,
        host: API_LINE.host,
        path: API_LINE.path,
    }
}

/// CaptchaQuery `query`, signed as [`signed_query`] signs.
pub fn signed_query_of(query: &str, method: SignatureMethod, timestamp: u64, nonce: u64) -> String {
    let fields = format!("Action=CaptchaQuery&Region=gz&{query}");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(fields.as_bytes())
        .into_owned()
        .collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sign_request(
        &Credentials::new("AKIDtest", "s3cret-key"),
        API_LINE,
        method,
        &borrowed,
        timestamp,
        nonce,
    )
}

/// The JSON body of a response (asserting its content type).
pub fn json(resp: &HttpResponse) -> Value {
    assert_eq!(resp.content_type, "application/json; charset=utf-8");
    serde_json::from_slice(&resp.body).expect("JSON body")
}

/// The proof-of-work puzzle in a `pow` JSON value (`{bits, iterations,
/// salt}`, salt in hex; `null` at level 0), read as a client reads it.
pub fn puzzle_from_json(v: &Value) -> Puzzle {
    if v.is_null() {
        return Puzzle::NONE;
    }
    let salt = v["salt"].as_str().unwrap();
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&salt[i * 2..i * 2 + 2], 16).unwrap();
    }
    Puzzle::new(
        v["bits"].as_u64().unwrap() as u8,
        v["iterations"].as_u64().unwrap() as u32,
        bytes,
    )
}

/// The challenge embedded in a widget script.
pub fn challenge_in(js: &str) -> String {
    let start = js.find("\"challenge\":\"").expect("challenge in script") + 13;
    let len = js[start..].find('"').unwrap();
    js[start..start + len].to_owned()
}

/// URL form encoding of one value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The verify route's form body.
pub fn form(challenge: &str, answer: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("c", challenge)
        .append_pair("answer", answer)
        .finish()
}

/// Answers `challenge` right (learning the answer with the service's key)
/// and returns the ticket.
pub fn solve(service: &CaptchaService, challenge: &str) -> String {
    let answer = service.answer_for_challenge(challenge).unwrap();
    let body = json(&service.handle_verify(&form(challenge, answer.as_str()), CLIENT));
    assert_eq!(body["code"], 0, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

/// CaptchaCheck of `ticket` with the other `fields`.
pub fn check(service: &CaptchaService, ticket: &str, fields: &str) -> HttpResponse {
    let params = format!("ticket={}&{fields}", urlencode(ticket));
    service.handle_check(ApiRequest::from_params(&params))
}

/// Why a check failed, as the host would log it.
pub fn check_error(resp: &HttpResponse) -> Option<CheckFailure> {
    match &resp.error {
        Some(ServiceError::Check(c)) => Some(c.clone()),
        _ => None,
    }
}

/// Runs `attempt(i)` for `i` in `0..threads`, each on its own thread, all
/// released together by a barrier; returns the results in order of `i`.
pub fn race<T, F>(threads: usize, attempt: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let attempt = std::sync::Arc::new(attempt);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (attempt, barrier) = (attempt.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                attempt(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// How many of `results` are true.
pub fn wins(results: Vec<bool>) -> usize {
    results.into_iter().filter(|won| *won).count()
}

// ---- the limits, against any store ----
//
// Each scenario takes `make(clock, limits)`, which builds a service on the
// store under test with the test key ring, the given clock and limits; the
// memory tests and the Redis tests run the same scenarios.

use std::sync::Arc;

use qcaptcha::api::LimitError;
use qcaptcha::testing::ManualClock;
use qcaptcha::{ErrorCode, Limits};

/// A service on `store` with `clock` and `limits`, asking no proof of
/// work (the limit and flood scenarios answer without proofs;
/// `tests/pow.rs` has those).
pub fn service_without_pow(
    store: std::sync::Arc<dyn qcaptcha::ReplayStore>,
    clock: &std::sync::Arc<qcaptcha::testing::ManualClock>,
    limits: qcaptcha::Limits,
) -> CaptchaService {
    CaptchaService::builder("/cap")
        .keys(qcaptcha::KeyRing::new(1, [0x42; 32]))
        .store(store)
        .clock(clock.clone())
        .limits(limits)
        .pow(qcaptcha::pow::PowPolicy::off())
        .build()
        .unwrap()
}

/// Builds a service for a scenario.
pub type Make<'a> = &'a dyn Fn(&Arc<ManualClock>, Limits) -> CaptchaService;

/// Every limit scenario below against services from `make`, the racing
/// one `racing_runs` times (races are where a store's atomicity shows).
pub fn scenario_every_limit(make: Make<'_>, racing_runs: usize) {
    scenario_session_pictures(make);
    scenario_client_answers(make);
    scenario_client_pictures(make);
    scenario_query_sessions(make);
    for _ in 0..racing_runs {
        scenario_racing_limit(make);
    }
}

/// A second client address, and one in the same IPv6 /64 as [`CLIENT6`].
pub const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
/// An IPv6 client.
pub const CLIENT6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1));
/// Another host in [`CLIENT6`]'s /64.
pub const CLIENT6_SAME_NET: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(
    0x2001, 0xdb8, 1, 2, 0xffff, 0, 0, 9,
));

/// A clock at the first second of a minute (so a whole minute is left).
pub fn minute_start() -> u64 {
    T0 - T0 % 60 + 60
}

/// CaptchaQuery for `user_ip`: the first challenge, or the error body.
pub fn query_for(service: &CaptchaService, user_ip: &str) -> Result<String, Value> {
    let q = QUERY.replace("121.14.96.121", user_ip);
    let query = qcaptcha::api::CaptchaQuery::from_query_string(&q).unwrap();
    match service.widget(&query) {
        Ok(w) => Ok(w.challenge),
        Err(e) => {
            Err(serde_json::json!({ "code": e.code().code(), "message": e.public_message() }))
        }
    }
}

/// A fresh session's first challenge.
pub fn session(service: &CaptchaService) -> String {
    query_for(service, "121.14.96.121").expect("CaptchaQuery")
}

fn refresh_form(challenge: &str) -> String {
    format!("c={}", urlencode(challenge))
}

fn right(service: &CaptchaService, challenge: &str) -> String {
    service
        .answer_for_challenge(challenge)
        .unwrap()
        .as_str()
        .to_owned()
}

/// Session limit: pictures used up -> 4400 without a next picture, one
/// ticket per session, a replayed old picture changes nothing.
pub fn scenario_session_pictures(make: Make<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let s = make(&clock, Limits::default().session_pictures(3));
    let c0 = session(&s);
    let r = json(&s.handle_verify(&form(&c0, "XXXX"), CLIENT));
    assert_eq!(r["code"], 5100, "{r}");
    let c1 = r["challenge"].as_str().unwrap().to_owned();
    // A replay of picture 0 (even with the right answer) is refused and
    // does not spoil picture 1.
    let replay = s.handle_verify(&form(&c0, &right(&s, &c0)), CLIENT);
    assert_eq!(json(&replay)["code"], 5100);
    assert!(json(&replay).get("challenge").is_none());
    let r = json(&s.handle_refresh(&refresh_form(&c1), CLIENT));
    assert_eq!(r["code"], 0, "{r}");
    let c2 = r["challenge"].as_str().unwrap().to_owned();
    // Picture 1 was used by the refresh.
    assert_eq!(
        json(&s.handle_verify(&form(&c1, &right(&s, &c1)), CLIENT))["code"],
        5100
    );
    // Picture 2 is the third and last: a wrong answer ends the session.
    let last = s.handle_verify(&form(&c2, "XXXX"), CLIENT);
    assert_eq!(last.status, 429);
    assert_eq!(
        last.retry_after, None,
        "a used-up session has nothing to wait for"
    );
    assert!(!last.headers().iter().any(|(k, _)| *k == "Retry-After"));
    let body = json(&last);
    assert_eq!(body["code"], 4400, "{body}");
    assert!(body.get("challenge").is_none() && body.get("retryAfter").is_none());
    assert_eq!(
        last.error,
        Some(ServiceError::Limit(LimitError::SessionPictures {
            limit: 3
        }))
    );
    // Refreshing the last picture ends it too.
    let d0 = session(&s);
    let d1 = json(&s.handle_refresh(&refresh_form(&d0), CLIENT))["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let d2 = json(&s.handle_refresh(&refresh_form(&d1), CLIENT))["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json(&s.handle_refresh(&refresh_form(&d2), CLIENT))["code"],
        4400
    );
    // One ticket per session: after a right answer, nothing more.
    let e0 = session(&s);
    let r = json(&s.handle_verify(&form(&e0, "XXXX"), CLIENT));
    let e1 = r["challenge"].as_str().unwrap().to_owned();
    let ticket = json(&s.handle_verify(&form(&e1, &right(&s, &e1)), CLIENT));
    assert!(ticket["ticket"].is_string(), "{ticket}");
    for c in [&e0, &e1] {
        assert_eq!(
            json(&s.handle_refresh(&refresh_form(c), CLIENT))["code"],
            5100
        );
        assert_eq!(
            json(&s.handle_verify(&form(c, &right(&s, c)), CLIENT))["code"],
            5100
        );
    }
}

/// Answers per client address per minute: 429 + Retry-After, the picture
/// kept; other addresses unaffected; an IPv6 /64 counts as one; the next
/// minute lets it in again.
pub fn scenario_client_answers(make: Make<'_>) {
    let start = minute_start() + 20; // 20 s into a minute
    let clock = Arc::new(ManualClock::new(start));
    let s = make(&clock, Limits::default().client_answers_per_minute(3));
    for _ in 0..3 {
        let c = session(&s);
        assert_eq!(
            json(&s.handle_verify(&form(&c, "XXXX"), CLIENT))["code"],
            5100
        );
    }
    let c = session(&s);
    let over = s.handle_verify(&form(&c, &right(&s, &c)), CLIENT);
    // 4 hits (the refused one counts) in this minute: one more passes in
    // the next minute once 1 + 4 * (60 - e) / 60 <= 3, at e = 30.
    assert_eq!(over.status, 429);
    assert_eq!(over.retry_after, Some(70));
    assert!(over
        .headers()
        .iter()
        .any(|(k, v)| *k == "Retry-After" && v == "70"));
    let body = json(&over);
    assert_eq!(
        (body["code"].as_u64(), body["retryAfter"].as_u64()),
        (Some(4400), Some(70))
    );
    assert!(body.get("ticket").is_none());
    assert_eq!(
        over.error.as_ref().map(ServiceError::code),
        Some(ErrorCode::QuotaExceeded)
    );
    // The picture was not used up: answered from another address it works.
    let ok = json(&s.handle_verify(&form(&c, &right(&s, &c)), OTHER));
    assert!(ok["ticket"].is_string(), "{ok}");
    // IPv6: counted per /64.
    for _ in 0..3 {
        let c = session(&s);
        assert_eq!(
            json(&s.handle_verify(&form(&c, "XXXX"), CLIENT6))["code"],
            5100
        );
    }
    let c = session(&s);
    assert_eq!(
        s.handle_verify(&form(&c, "XXXX"), CLIENT6_SAME_NET).status,
        429
    );
    // After Retry-After (the next minute alone would not do: the last
    // minute's hits still weigh).
    clock.advance(70);
    let c = session(&s);
    let ok = json(&s.handle_verify(&form(&c, &right(&s, &c)), CLIENT));
    assert!(ok["ticket"].is_string(), "{ok}");
}

/// Pictures (image) per client address per minute, counted in the
/// process; refreshes count with the answers.
pub fn scenario_client_pictures(make: Make<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let s = make(
        &clock,
        Limits::default()
            .client_pictures_per_minute(3)
            .client_answers_per_minute(2),
    );
    let c = session(&s);
    let q = format!("c={}", urlencode(&c));
    for _ in 0..3 {
        assert_eq!(s.handle_image(&q, CLIENT).status, 200);
    }
    let img = s.handle_image(&q, CLIENT);
    // 4 hits: one more passes next minute once 1 + 4 * (60 - e) / 60 <= 3.
    assert_eq!((img.status, img.retry_after), (429, Some(90)));
    assert!(img
        .headers()
        .iter()
        .any(|(k, v)| *k == "Retry-After" && v == "90"));
    assert_eq!(s.handle_image(&q, OTHER).status, 200);
    // Refreshes are attempts: two pass, the third is refused and does not
    // use its picture up.
    let r = json(&s.handle_refresh(&refresh_form(&c), CLIENT));
    assert_eq!(r["code"], 0);
    let next = r["challenge"].as_str().unwrap().to_owned();
    let r = json(&s.handle_refresh(&refresh_form(&next), CLIENT));
    assert_eq!(r["code"], 0);
    let last = r["challenge"].as_str().unwrap().to_owned();
    let refused = s.handle_refresh(&refresh_form(&last), CLIENT);
    assert_eq!(refused.status, 429);
    assert_eq!(
        json(&s.handle_refresh(&refresh_form(&last), OTHER))["code"],
        0
    );
    // Pictures again after their Retry-After.
    clock.advance(90);
    assert_eq!(s.handle_image(&q, CLIENT).status, 200);
}

/// Sessions per userIp at CaptchaQuery: 4400 in the API's JSON (HTTP
/// 200). A business over its budget refuses nobody for it, but the client
/// networks that hold more than their share of it.
pub fn scenario_query_sessions(make: Make<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let s = make(
        &clock,
        Limits::default()
            .user_ip_sessions_per_minute(2)
            .business_sessions_per_minute(3)
            .prefix_sessions_per_minute(1),
    );
    assert!(query_for(&s, "10.0.0.1").is_ok());
    assert!(query_for(&s, "10.0.0.1").is_ok());
    let resp = s.handle_query(ApiRequest::from_params(
        &QUERY.replace("121.14.96.121", "10.0.0.1"),
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(json(&resp)["code"], 4400);
    // 3 hits at the start of a minute: one more passes once
    // 1 + 3 * (60 - e) / 60 <= 2 in the next minute, at e = 40.
    assert_eq!(json(&resp)["retryAfter"], 100);
    assert!(matches!(
        resp.error,
        Some(ServiceError::Limit(LimitError::UserIpSessions {
            limit: 2,
            ..
        }))
    ));
    // Another userIp: the business's third session, within its budget ...
    assert!(query_for(&s, "10.0.0.2").is_ok());
    // ... and over it: its network's first share passes, its second not.
    assert!(query_for(&s, "10.0.0.3").is_ok());
    let body = query_for(&s, "10.0.0.4").unwrap_err();
    assert_eq!(body["code"], 4400, "{body}");
    // Another network of the same business is not refused: over budget
    // is a price, not an off-switch.
    assert!(query_for(&s, "10.9.0.1").is_ok());
    // Another business is counted apart.
    let other = QUERY
        .replace("businessId=1", "businessId=2")
        .replace("121.14.96.121", "10.0.0.3");
    assert_eq!(
        json(&s.handle_query(ApiRequest::from_params(&other)))["code"],
        0
    );
    // The last minute's hits weigh until enough of them have slid out.
    clock.advance(100);
    assert!(query_for(&s, "10.0.0.1").is_ok());
}

/// `threads` answers from one address race; exactly `limit` get past the
/// limit, whatever the interleaving.
pub fn scenario_racing_limit(make: Make<'_>) {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let limit = 5;
    let s = Arc::new(make(
        &clock,
        Limits::default().client_answers_per_minute(limit),
    ));
    let challenges: Vec<String> = (0..16)
        .map(|i| query_for(&s, &format!("10.1.0.{i}")).unwrap())
        .collect();
    let service = s.clone();
    let admitted = wins(race(16, move |i| {
        service
            .handle_verify(&form(&challenges[i], "XXXX"), CLIENT)
            .status
            != 429
    }));
    assert_eq!(admitted, limit as usize);
}
pub mod price;
