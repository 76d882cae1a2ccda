//! Runs the widget JavaScript under Node.js (required; `apt-get install nodejs`) with a
//! minimal fake DOM and `fetch` (tests/widget_harness.js), to check that it
//! parses, draws, posts the challenge and answer to the verify route, swaps
//! pictures on a wrong answer and hands the ticket to the callback; and that
//! when `fetch` rejects (server unreachable) on verify or refresh, it says so
//! as an error, leaves its busy state and keeps working.

use std::process::Command;

mod common;

use qcaptcha::pow::{self, PowLevel, PowPolicy};
use qcaptcha::{ApiRequest, CaptchaService};
use serde_json::{json, Value};

/// The widget's default (English) text for an unreachable server.
const NETWORK_TEXT: &str = "Could not reach the server. Please try again.";
/// The colour the widget gives an error message (`say(text, true)`).
const ERROR_COLOR: &str = "#b00020";

fn node() -> Option<&'static str> {
    ["node", "nodejs"].into_iter().find(|n| {
        Command::new(n)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Serves a fresh widget script and runs the harness scenario `mode` on it:
/// the harness's JSON output and the challenge token the script embeds.
fn run_harness(mode: &str) -> (Value, String) {
    run_harness_with(mode, PowPolicy::default())
}

/// [`run_harness`] with a proof-of-work policy.
fn run_harness_with(mode: &str, policy: PowPolicy) -> (Value, String) {
    let node = node().expect("Node.js is required for this test: apt-get install nodejs");
    let service = CaptchaService::builder("/cap").pow(policy).build().unwrap();
    let resp = service.handle_query(ApiRequest::from_params(
        "userIp=1.2.3.4&businessId=1&captchaType=1&script=1&registerTime=0",
    ));
    let js = resp.text();
    let dir = std::env::temp_dir().join(format!("qcaptcha-widget-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("widget.js");
    std::fs::write(&path, &js).unwrap();
    let harness = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/widget_harness.js");
    let out = Command::new(node)
        .arg(harness)
        .arg(&path)
        .arg(mode)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "node failed ({mode}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], mode);
    // The puzzle the script embeds, for the proof-of-work scenarios.
    if let Some(i) = js.find("\"pow\":{") {
        let obj = &js[i + 6..];
        let obj = &obj[..=obj.find('}').unwrap()];
        v["config"] = serde_json::from_str(obj).unwrap();
    }
    let start = js.find("\"challenge\":\"").unwrap() + 13;
    let token = js[start..start + js[start..].find('"').unwrap()].to_owned();
    // Shown at twice the bitmap's size on a 1x screen: a 2x bitmap.
    assert_eq!(v["initialSrc"], format!("/cap/image?c={token}&s=2"));
    (v, token)
}

/// Asserts `view` (the harness's `view()`) shows every control disabled, as
/// while a request is in flight.
fn assert_busy(view: &Value) {
    assert_eq!(view["inputDisabled"], true, "{view}");
    assert_eq!(view["submitDisabled"], true, "{view}");
    assert_eq!(view["refreshDisabled"], true, "{view}");
}

/// Asserts `view` shows the network failure as an error, with the controls
/// usable again and no ticket.
fn assert_offline(view: &Value) {
    assert_eq!(view["msg"], NETWORK_TEXT, "{view}");
    assert_eq!(view["msgColor"], ERROR_COLOR, "{view}");
    assert_eq!(view["inputDisabled"], false, "{view}");
    assert_eq!(view["submitDisabled"], false, "{view}");
    assert_eq!(view["refreshDisabled"], false, "{view}");
    assert_eq!(view["ticket"], json!({"ret": 1, "ticket": ""}), "{view}");
    assert_eq!(view["log"], json!([]), "{view}");
}

#[test]
fn widget_runs_in_node() {
    let (v, token) = run_harness("flow");
    assert_eq!(v["afterWrong"], "/cap/image?c=NEXT&s=2");
    assert_eq!(v["msg1"], "Wrong answer. Please try this new picture.");
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["url"], "/cap/verify");
    assert_eq!(reqs[0]["body"], format!("c={token}&answer=abcd"));
    assert_eq!(reqs[1]["body"], "c=NEXT&answer=right");
    assert_eq!(v["log"], json!([{"ret": 0, "ticket": "TICKET1"}]));
    assert_eq!(v["ticket"], json!({"ret": 0, "ticket": "TICKET1"}));
    assert_eq!(v["destroyed"], 0);
}

/// Runs a harness scenario whose first request fails to reach the server
/// and checks the widget while that request is in flight (busy) and after
/// it fails (network error, usable, no ticket, the same picture).
fn run_offline(mode: &str) -> (Value, String) {
    let (v, token) = run_harness(mode);
    assert_busy(&v["whilePending"]);
    assert_offline(&v["afterOffline"]);
    assert_eq!(
        v["afterOffline"]["src"],
        format!("/cap/image?c={token}&s=2")
    );
    (v, token)
}

#[test]
fn widget_recovers_from_unreachable_verify() {
    let (v, token) = run_offline("verify-offline");
    // The next submit posts the same challenge again and gets the ticket.
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in reqs {
        assert_eq!(r["url"], "/cap/verify");
        assert_eq!(r["body"], format!("c={token}&answer=abcd"));
    }
    let after = &v["afterRetry"];
    assert_eq!(after["msg"], "Verified.");
    assert_eq!(after["log"], json!([{"ret": 0, "ticket": "TICKET2"}]));
    assert_eq!(after["ticket"], json!({"ret": 0, "ticket": "TICKET2"}));
    assert_eq!(v["log"], json!([{"ret": 0, "ticket": "TICKET2"}]));
    assert_eq!(v["destroyed"], 0);
}

#[test]
fn widget_recovers_from_unreachable_refresh() {
    let (v, token) = run_offline("refresh-offline");
    // The refresh was posted; a submit after it still verifies the old challenge.
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0]["url"], "/cap/refresh");
    assert_eq!(reqs[0]["body"], format!("c={token}"));
    assert_eq!(reqs[1]["url"], "/cap/verify");
    assert_eq!(reqs[1]["body"], format!("c={token}&answer=abcd"));
    assert_eq!(
        v["afterRetry"]["ticket"],
        json!({"ret": 0, "ticket": "TICKET3"})
    );
    assert_eq!(v["log"], json!([{"ret": 0, "ticket": "TICKET3"}]));
    assert_eq!(v["destroyed"], 0);
}

#[test]
fn widget_solves_the_proof_of_work_with_webcrypto() {
    let level = PowLevel::new(7, 50);
    let (v, token) = run_harness_with("pow", PowPolicy::fixed(level));
    // Submitted before the proof was found: progress, controls locked.
    assert!(
        v["progress"]
            .as_str()
            .unwrap()
            .starts_with("Checking this device"),
        "{v}"
    );
    assert_busy(&v["whileSolving"]);
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 1, "{v}");
    let body: Vec<(String, String)> =
        form_urlencoded::parse(reqs[0]["body"].as_str().unwrap().as_bytes())
            .into_owned()
            .collect();
    let field = |k: &str| body.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("c").as_deref(), Some(token.as_str()));
    assert_eq!(field("answer").as_deref(), Some("abcd"));
    // The counter the browser code found solves this challenge's puzzle,
    // as the server checks it.
    let counter: u32 = field("pow").expect("a pow field").parse().unwrap();
    let puzzle = common::puzzle_from_json(&v["config"]);
    assert_eq!(puzzle.level(), level);
    assert!(pow::verify(&token, &puzzle, counter));
    assert_eq!(v["ticket"], json!({"ret": 0, "ticket": "TICKETP"}));
}

#[test]
fn refresh_cancels_the_proof_of_work() {
    // A level no test could finish (2^24 derivations): the submit goes
    // out with the new challenge, and Node exits only because the old
    // proof's calls stopped (were they still running, the test would hang).
    let (v, _) = run_harness_with("pow-refresh", PowPolicy::fixed(PowLevel::new(24, 1_000)));
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "{v}");
    assert_eq!(reqs[0]["url"], "/cap/refresh");
    assert_eq!(reqs[1]["body"], "c=CALM&answer=abcd");
    assert_eq!(v["ticket"], json!({"ret": 0, "ticket": "TICKETR"}));
}
