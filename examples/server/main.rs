//! A runnable captcha service and a sign-up demo, on `qcaptcha::axum`.
//!
//! ```text
//! cargo run --release --features axum --example server -- [--port 8080] [--key HEX]
//!     [--secret-id ID --secret-key KEY | --unsigned-api] [--captcha-type 1..8] [--redis URL]
//!     [--pow default|off|BITS] [--limits default|off] [--trust-proxy IP]
//!     [--widget inline|cached]
//! ```
//!
//! Then open <http://127.0.0.1:8080/>, solve the captcha and sign up.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `POST /signup` | the demo sign-up page (`demo.rs`); CaptchaQuery gives its widget, CaptchaCheck guards the form |
//! | `GET`/`POST /v2/index.php?Action=...` | CaptchaQuery and CaptchaCheck (`qcaptcha::axum::router`) |
//! | `GET /captcha/image`, `POST /captcha/{refresh,verify}` | the widget's routes (idem) |
//!
//! Options (flags win over the environment):
//!
//! - `--port N`: listen on `127.0.0.1:N` (default 8080; 0 picks a free
//!   port). The first line on stdout is `listening on http://ADDR/`.
//! - `--key HEX` / `QCAPTCHA_KEY`: the 32-byte token key as 64 hex digits
//!   (default: a fresh key from the OS, so tokens die with the process).
//! - `--secret-id ID --secret-key KEY` / `QCAPTCHA_SECRET_ID`,
//!   `QCAPTCHA_SECRET_KEY`: the API credentials. Without them the server
//!   makes random ones (the page signs its own calls), so the API is closed
//!   to everyone else: `--unsigned-api` opens it, for local trials only.
//! - `--captcha-type N`: the type the demo page asks for (default 5).
//! - `--redis URL`: the replay store in Redis (needs `--features redis`;
//!   `rediss://` with `redis-tls`, trusting the system's roots). Several
//!   comma-separated URLs are the seed nodes of a Redis Cluster.
//! - With `--features prometheus`, `GET /metrics` serves the service's
//!   metrics (see the README's runbook) in the Prometheus text format.
//! - `--pow default|off|BITS`: the proof-of-work policy: the library's
//!   default (none while calm, rising under pressure), none ever, or every
//!   challenge at BITS leading zero bits of 1,500 PBKDF2 iterations (to see
//!   the widget solve: 13 is the default top level).
//! - `--max-connections N`: connections open at once (default: the
//!   process's open-file limit less 100, at most 10,000: raise `ulimit -n`
//!   to afford more).
//!   One address may hold 32; a client has 5 s to send its headers.
//! - `--limits default|off`: the library's per-client and per-session
//!   limits, or none (for load tests from one address only: a bot gets
//!   unlimited tries).
//! - `--trust-proxy IP`: requests from this address are a reverse
//!   proxy's, and the client is the last `X-Forwarded-For` entry it
//!   wrote (the load tests in `scripts/wrk/` play many clients this way).
//! - `--widget inline|cached`: CaptchaQuery answers with the whole widget
//!   script (default) or a small script that loads the cached
//!   `/captcha/widget.js` (`qcaptcha::widget::WidgetDelivery`).
//!
//! Ctrl-C (or SIGTERM) stops accepting and exits. One log line per request
//! goes to stderr (never the query string: it carries tokens).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use qcaptcha::axum::{router, serve, ClientAddr, ClientIp, RouterConfig, ServeConfig};
use qcaptcha::pow::{PowLevel, PowPolicy, MAX_BITS};
use qcaptcha::widget::WidgetDelivery;
use qcaptcha::{
    CaptchaService, Credentials, KeyRing, Limits, MemoryStore, ReplayStore, ServiceError,
};
use rand::TryRngCore;

mod demo;

/// The widget routes' base path.
const WIDGET_BASE: &str = "/captcha";
/// Replay store capacity per kind of record (sessions, tickets, Nonces,
/// rate counters; a few hundred bytes an entry).
const STORE_CAPACITY: usize = 200_000;

const USAGE: &str = "usage: server [--port N] [--key HEX64] \
[--secret-id ID --secret-key KEY | --unsigned-api] [--captcha-type 1..8] [--redis URL] \
[--pow default|off|BITS] [--limits default|off] [--max-connections N] [--trust-proxy IP] [--widget inline|cached]";

struct Options {
    port: u16,
    key: Option<[u8; 32]>,
    secret: Option<(String, String)>,
    unsigned_api: bool,
    captcha_type: u8,
    redis: Option<String>,
    pow: PowPolicy,
    limits: Limits,
    max_connections: usize,
    trust_proxy: Option<IpAddr>,
    widget: WidgetDelivery,
}

/// Connection slots the process can afford: its open-file limit less 100
/// for everything else (read from `/proc/self/limits` on Linux), between
/// 100 and 10,000; 1,000 where the limit cannot be read. More slots than
/// slow clients is what keeps a slowloris from locking people out.
fn default_max_connections() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    limit.map_or(1000, |n| n.saturating_sub(100).clamp(100, 10_000))
}

fn parse_key(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return Err(format!("--key must be 64 hex digits, got {}", hex.len()));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("x"), 16)
            .map_err(|_| "--key must be 64 hex digits (0-9, a-f)".to_string())?;
    }
    Ok(key)
}

fn parse_options() -> Result<Options, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (mut secret_id, mut secret_key) = (env("QCAPTCHA_SECRET_ID"), env("QCAPTCHA_SECRET_KEY"));
    let mut key = env("QCAPTCHA_KEY");
    let mut opts = Options {
        port: 8080,
        key: None,
        secret: None,
        unsigned_api: false,
        captcha_type: 5,
        redis: None,
        pow: PowPolicy::default(),
        limits: Limits::default(),
        max_connections: default_max_connections(),
        trust_proxy: None,
        widget: WidgetDelivery::Inline,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Err(USAGE.into()),
            "--port" => opts.port = value()?.parse().map_err(|_| "--port: 0..=65535")?,
            "--key" => key = Some(value()?),
            "--secret-id" => secret_id = Some(value()?),
            "--secret-key" => secret_key = Some(value()?),
            "--unsigned-api" => opts.unsigned_api = true,
            "--captcha-type" => match value()?.parse() {
                Ok(n @ 1..=8) => opts.captcha_type = n,
                _ => return Err("--captcha-type must be 1..=8".into()),
            },
            "--redis" => opts.redis = Some(value()?),
            "--widget" => {
                opts.widget = match value()?.as_str() {
                    "inline" => WidgetDelivery::Inline,
                    "cached" => WidgetDelivery::Cached,
                    _ => return Err("--widget: inline or cached".into()),
                }
            }
            "--trust-proxy" => {
                opts.trust_proxy = Some(value()?.parse().map_err(|_| "--trust-proxy: an IP")?)
            }
            "--max-connections" => {
                opts.max_connections = value()?
                    .parse()
                    .map_err(|_| "--max-connections: a number")?
            }
            "--pow" => {
                opts.pow = match value()?.as_str() {
                    "default" => PowPolicy::default(),
                    "off" => PowPolicy::off(),
                    bits => match bits.parse::<u8>() {
                        Ok(b) if b <= MAX_BITS => PowPolicy::fixed(PowLevel::new(b, 1_500)),
                        _ => return Err("--pow: default, off or 0..=24 bits".into()),
                    },
                }
            }
            "--limits" => {
                opts.limits = match value()?.as_str() {
                    "default" => Limits::default(),
                    "off" => Limits::unlimited(),
                    _ => return Err("--limits: default or off".into()),
                }
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    opts.secret = match (secret_id, secret_key) {
        (Some(id), Some(key)) => Some((id, key)),
        (None, None) => None,
        _ => return Err("--secret-id and --secret-key go together".into()),
    };
    if opts.unsigned_api && opts.secret.is_some() {
        return Err("--unsigned-api and API credentials exclude each other".into());
    }
    opts.key = key.as_deref().map(parse_key).transpose()?;
    Ok(opts)
}

#[cfg(feature = "redis")]
fn redis_store(url: &str) -> Result<Arc<dyn ReplayStore>, String> {
    // Several comma-separated URLs: the seed nodes of a Redis Cluster.
    let store = if url.contains(',') {
        qcaptcha::RedisStore::open_cluster(url.split(','))
    } else {
        qcaptcha::RedisStore::open(url)
    };
    let store = store
        .map_err(|e| format!("--redis {url}: {e}"))?
        .with_prefix("qcaptcha-example:");
    // Without AOF, a Redis restart forgets the uses it held and live
    // tokens could be used once more: say so at start-up.
    match store.persistence() {
        Ok(p) if p.is_durable() => eprintln!("redis persistence: {p}"),
        Ok(p) => eprintln!("warning: redis persistence: {p}; run Redis with appendonly yes"),
        Err(e) => eprintln!("warning: cannot check redis persistence: {e}"),
    }
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
fn redis_store(_url: &str) -> Result<Arc<dyn ReplayStore>, String> {
    Err("--redis needs `--features axum,redis`".into())
}

/// Random API credentials: the page can sign its own calls, nobody else can.
fn random_credentials() -> Result<(String, String), String> {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| format!("OS random: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok((format!("AKIDdemo{}", &hex[..8]), hex[8..].to_owned()))
}

fn build(opts: &Options) -> Result<(Arc<CaptchaService>, Option<Credentials>), String> {
    let keys = match opts.key {
        Some(key) => KeyRing::new(1, key),
        None => KeyRing::generate(1).map_err(|e| e.to_string())?,
    };
    let store: Arc<dyn ReplayStore> = match &opts.redis {
        Some(url) => redis_store(url)?,
        None => Arc::new(MemoryStore::new(STORE_CAPACITY)),
    };
    let secret = match (&opts.secret, opts.unsigned_api) {
        (Some(secret), _) => Some(secret.clone()),
        (None, false) => Some(random_credentials()?),
        (None, true) => None,
    };
    let credentials = secret.map(|(id, key)| Credentials::new(id, key.into_bytes()));
    let mut builder = CaptchaService::builder(WIDGET_BASE)
        .keys(keys)
        .store(store)
        .pow(opts.pow.clone())
        .limits(opts.limits)
        .widget_delivery(opts.widget);
    if let Some(creds) = &credentials {
        builder = builder.credentials(creds.clone());
    }
    let service = builder.build().map_err(|e| e.to_string())?;
    Ok((Arc::new(service), credentials))
}

/// One log line per request: client, method, path, status, time, and why
/// it failed (the typed error the service attached), never the query.
async fn log(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = next.run(req).await;
    let client = resp
        .extensions()
        .get::<ClientAddr>()
        .map_or(peer.ip(), |c| c.0);
    let why = resp
        .extensions()
        .get::<ServiceError>()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    eprintln!(
        "{client} {method} {path} {} {:.1}ms{why}",
        resp.status().as_u16(),
        start.elapsed().as_secs_f64() * 1e3,
    );
    resp
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("shutting down");
}

/// `GET /metrics`: the Prometheus exporter's recorder receives what the
/// service records; its histogram samples are folded every 5 s.
#[cfg(feature = "prometheus")]
fn with_metrics(app: axum::Router) -> Result<axum::Router, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    // Store latency as buckets (not the exporter's default summary), so that
    // quantiles can be computed across nodes.
    let buckets = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(qcaptcha::metrics::STORE_SECONDS.into()),
            &buckets,
        )
        .map_err(|e| format!("metrics buckets: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    qcaptcha::metrics::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(app.route(
        "/metrics",
        axum::routing::get(move || {
            let text = handle.render();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    text,
                )
            }
        }),
    ))
}

async fn run(opts: Options) -> Result<(), String> {
    let (service, credentials) = build(&opts)?;
    let mut config = RouterConfig::default().allow_unsigned_api(opts.unsigned_api);
    if let Some(proxy) = opts.trust_proxy {
        config = config.client_ip(ClientIp::forwarded_by(vec![proxy]));
    }
    let page = demo::routes(Arc::new(demo::Demo {
        service: service.clone(),
        credentials,
        captcha_type: opts.captcha_type,
        api_path: "/v2/index.php".into(),
    }));
    let app = router(service, config).merge(page);
    #[cfg(feature = "prometheus")]
    let app = with_metrics(app)?;
    let app = app.layer(middleware::from_fn(log));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}/");
    eprintln!(
        "qcaptcha demo on http://{addr}/ (API {}, store {}, captcha type {})",
        if opts.unsigned_api {
            "open to unsigned calls"
        } else {
            "signed only"
        },
        if opts.redis.is_some() {
            "redis"
        } else {
            "memory"
        },
        opts.captcha_type,
    );
    let limits = ServeConfig::default().max_connections(opts.max_connections);
    serve(listener, app, limits, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let opts = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
