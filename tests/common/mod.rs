//! Helpers shared by the protocol test binaries (`tests/protocol.rs`,
//! `tests/redis_store.rs`): one request shape and the small steps of the
//! query -> verify -> check flow.

// Each test binary uses a different subset.
#![allow(dead_code)]

use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
use qcaptcha::{ApiRequest, CaptchaService, CheckFailure, Credentials, HttpResponse, ServiceError};
use serde_json::Value;

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
    let fields = format!("Action=CaptchaQuery&Region=gz&{QUERY}{extra}");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(fields.as_bytes())
        .into_owned()
        .collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sign_request(
        &Credentials::new("AKIDtest", "s3cret-key"),
        RequestLine {
            method: "GET",
            host: "captcha.example",
            path: "/v2/index.php",
        },
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
    let body = json(&service.handle_verify(&form(challenge, answer.as_str())));
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
