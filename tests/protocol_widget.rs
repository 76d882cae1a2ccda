//! Runs the widget JavaScript under Node.js (required; `apt-get install nodejs`) with a
//! minimal fake DOM and `fetch`, to check that it parses, draws, posts the
//! challenge and answer to the verify route, swaps pictures on a wrong
//! answer and hands the ticket to the callback.

use std::process::Command;

use qcaptcha::{ApiRequest, CaptchaService};
use serde_json::Value;

fn node() -> Option<&'static str> {
    ["node", "nodejs"].into_iter().find(|n| {
        Command::new(n)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn widget_runs_in_node() {
    let node = node().expect("Node.js is required for this test: apt-get install nodejs");
    let service = CaptchaService::builder("/cap").build().unwrap();
    let resp = service.handle_query(ApiRequest::from_params(
        "userIp=1.2.3.4&businessId=1&captchaType=1&script=1&registerTime=0",
    ));
    let js = resp.text();
    let dir = std::env::temp_dir().join(format!("qcaptcha-widget-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("widget.js");
    std::fs::write(&path, &js).unwrap();
    let harness = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/widget_harness.js");
    let out = Command::new(node).arg(harness).arg(&path).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let start = js.find("\"challenge\":\"").unwrap() + 13;
    let token = &js[start..start + js[start..].find('"').unwrap()];
    assert_eq!(v["initialSrc"], format!("/cap/image?c={token}"));
    assert_eq!(v["afterWrong"], "/cap/image?c=NEXT");
    assert_eq!(v["msg1"], "Wrong answer. Please try this new picture.");
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["url"], "/cap/verify");
    assert_eq!(reqs[0]["body"], format!("c={token}&answer=abcd"));
    assert_eq!(reqs[1]["body"], "c=NEXT&answer=right");
    assert_eq!(
        v["log"],
        serde_json::json!([{"ret": 0, "ticket": "TICKET1"}])
    );
    assert_eq!(
        v["ticket"],
        serde_json::json!({"ret": 0, "ticket": "TICKET1"})
    );
    assert_eq!(v["destroyed"], 0);
}
