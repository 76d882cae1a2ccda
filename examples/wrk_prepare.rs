//! Prepares the `wrk` load tests in `scripts/wrk/` against the example
//! server: signed CaptchaQuery calls (a wrk script cannot keep a Nonce
//! store of its own, and each Nonce is good once), and challenges with
//! their answers (a load test cannot read pictures; only the key's holder
//! can open a challenge, so they are issued here with the server's key,
//! as any node of a deployment sharing the key ring may issue them).
//!
//! ```text
//! cargo run --release --example wrk_prepare -- --key HEX64 --secret-id ID \
//!     --secret-key KEY --host 127.0.0.1:8080 --count 100000 --out DIR
//! ```
//!
//! Writes `DIR/queries.txt` (one signed CaptchaQuery path and query a
//! line, each from its own userIp and with its own Nonce, script=0, a
//! thousand businessIds in turn) and `DIR/captchas.txt` (`userIp challenge
//! answer` a line, type 5, businessId 1). Challenges live five minutes:
//! run the load test right after.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use qcaptcha::pow::PowPolicy;
use qcaptcha::sign::{sign_request, RequestLine, SignatureMethod};
use qcaptcha::{ApiRequest, CaptchaService, Credentials, KeyRing, Limits};

const API_PATH: &str = "/v2/index.php";

struct Options {
    key: [u8; 32],
    credentials: Credentials,
    host: String,
    count: u32,
    out: std::path::PathBuf,
}

fn parse_key(hex: &str) -> Result<[u8; 32], String> {
    let mut key = [0u8; 32];
    if hex.len() != 64 {
        return Err("--key: 64 hex digits".into());
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "--key: hex")?;
    }
    Ok(key)
}

fn parse_options() -> Result<Options, String> {
    let (mut key, mut id, mut secret, mut host, mut count, mut out) =
        (None, None, None, None, 100_000, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--key" => key = Some(parse_key(&value)?),
            "--secret-id" => id = Some(value),
            "--secret-key" => secret = Some(value),
            "--host" => host = Some(value),
            "--count" => count = value.parse().map_err(|_| "--count: a number")?,
            "--out" => out = Some(value.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let missing = |what: &str| format!("{what} is required");
    Ok(Options {
        key: key.ok_or_else(|| missing("--key"))?,
        credentials: Credentials::new(
            id.ok_or_else(|| missing("--secret-id"))?,
            secret.ok_or_else(|| missing("--secret-key"))?.into_bytes(),
        ),
        host: host.ok_or_else(|| missing("--host"))?,
        count,
        out: out.ok_or_else(|| missing("--out"))?,
    })
}

/// The `i`-th user's address.
fn user_ip(i: u32) -> Ipv4Addr {
    let [_, b, c, d] = i.to_be_bytes();
    Ipv4Addr::new(10, b, c, d.max(1))
}

/// `count` signed CaptchaQuery lines, Nonces from `first_nonce`.
fn queries(opts: &Options, now: u64, first_nonce: u64) -> String {
    let line = RequestLine {
        method: "GET",
        host: &opts.host,
        path: API_PATH,
    };
    let mut text = String::new();
    for i in 0..opts.count {
        let ip = user_ip(i + opts.count).to_string();
        let business = (1 + i % 1000).to_string();
        let params = [
            ("Action", "CaptchaQuery"),
            ("userIp", ip.as_str()),
            ("businessId", business.as_str()),
            ("captchaType", "5"),
            ("script", "0"),
            ("registerTime", "1400000000"),
        ];
        let query = sign_request(
            &opts.credentials,
            line,
            SignatureMethod::HmacSha1,
            &params,
            now,
            first_nonce + u64::from(i),
        );
        let _ = writeln!(text, "{API_PATH}?{query}");
    }
    text
}

/// `count` challenges of type 5 with their answers, issued with the
/// server's key.
fn captchas(opts: &Options) -> Result<String, String> {
    let service = CaptchaService::builder("/captcha")
        .keys(KeyRing::new(1, opts.key))
        .pow(PowPolicy::off())
        .limits(Limits::unlimited())
        .build()
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    for i in 0..opts.count {
        let ip = user_ip(i);
        let query =
            format!("userIp={ip}&businessId=1&captchaType=5&script=0&registerTime=1400000000");
        let resp = service.handle_query(ApiRequest::from_params(&query));
        let json: serde_json::Value =
            serde_json::from_slice(&resp.body).map_err(|e| e.to_string())?;
        let script = json["script"].as_str().ok_or("no script")?;
        let start = script.find("\"challenge\":\"").ok_or("no challenge")? + 13;
        let len = script[start..].find('"').ok_or("no challenge end")?;
        let challenge = &script[start..start + len];
        let answer = service
            .answer_for_challenge(challenge)
            .map_err(|e| e.to_string())?;
        let _ = writeln!(text, "{ip} {challenge} {}", answer.as_str());
    }
    Ok(text)
}

fn run(opts: &Options) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    // Nonces of this run: unique across runs against one server.
    let first_nonce = 1_000_000_000_000 + now * 1_000_000;
    std::fs::create_dir_all(&opts.out).map_err(|e| e.to_string())?;
    for (name, text) in [
        ("queries.txt", queries(opts, now, first_nonce)),
        ("captchas.txt", captchas(opts)?),
    ] {
        let path = opts.out.join(name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{} queries and captchas in {}",
        opts.count,
        opts.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_options().and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wrk_prepare: {e}");
            ExitCode::from(2)
        }
    }
}
