//! `RedisStore` against a real `redis-server`: each test starts its own
//! server on a free loopback port (no persistence) and kills it when done,
//! even when the test fails. Without `redis-server` on the PATH (or in
//! `QCAPTCHA_REDIS_SERVER`) the tests fail, saying what to install.

#![cfg(feature = "redis")]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qcaptcha::api::CaptchaQuery;
use qcaptcha::sign::SignError;
use qcaptcha::sign::SignatureMethod;
use qcaptcha::store::StoreError;
use qcaptcha::testing::ManualClock;
use qcaptcha::{
    ApiRequest, CaptchaService, CheckFailure, Credentials, HttpResponse, KeyRing, RedisStore,
    ReplayStore, ServiceError, TicketMode,
};

mod common;
use common::{check_error, form, json, race, urlencode, wins, CHECK_FIELDS, QUERY, T0};

// ---- a throwaway redis-server ----

/// A `redis-server` child process on a loopback port, killed on drop.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

fn redis_server_binary() -> PathBuf {
    std::env::var_os("QCAPTCHA_REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl RedisServer {
    fn start() -> RedisServer {
        // Another process may take the port between probe and bind: retry.
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port(),
                child: None,
            };
            if server.spawn_and_wait() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    fn spawn_and_wait(&mut self) -> bool {
        let bin = redis_server_binary();
        let child = Command::new(&bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`{}` not found: these tests need a real Redis server. Install it with \
                 `apt-get install redis-server` (or point QCAPTCHA_REDIS_SERVER at one)",
                bin.display()
            ),
            Err(e) => panic!("cannot start `{}`: {e}", bin.display()),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None; // exited: port taken or bad arguments
                return false;
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con))
            .is_ok_and(|pong| pong == "PONG")
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL, like a crash) and waits until the port
    /// refuses connections.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts a new server on the same port (empty: nothing is persisted).
    fn restart(&mut self) {
        assert!(self.child.is_none(), "stop() first");
        assert!(
            self.spawn_and_wait(),
            "redis-server did not restart on port {}",
            self.port
        );
    }

    /// A direct connection for inspecting keys.
    fn admin(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("admin connection")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---- service nodes ----

/// One node: its own service, clock and RedisStore (its own connections),
/// with the same key ring as every other node.
struct Node {
    service: Arc<CaptchaService>,
    clock: Arc<ManualClock>,
}

fn ring() -> KeyRing {
    let mut ring = KeyRing::new(1, [0x42; 32]);
    ring.add_key(2, [0x77; 32]).unwrap();
    ring
}

fn node_with(store: Arc<dyn ReplayStore>, mode: TicketMode, creds: Option<Credentials>) -> Node {
    let clock = Arc::new(ManualClock::new(T0));
    let mut builder = CaptchaService::builder("https://captcha.example/cap")
        .keys(ring())
        .store(store)
        .ticket_mode(mode)
        .clock(clock.clone());
    if let Some(creds) = creds {
        builder = builder.credentials(creds);
    }
    Node {
        service: Arc::new(builder.build().unwrap()),
        clock,
    }
}

fn node(server: &RedisServer, mode: TicketMode) -> Node {
    node_with(
        Arc::new(RedisStore::open(&server.url()).unwrap()),
        mode,
        None,
    )
}

fn query_challenge(n: &Node) -> String {
    let q = CaptchaQuery::from_pairs(form_urlencoded::parse(QUERY.as_bytes())).unwrap();
    n.service.widget(&q).unwrap().challenge
}

fn right_answer(n: &Node, challenge: &str) -> String {
    n.service
        .answer_for_challenge(challenge)
        .unwrap()
        .as_str()
        .to_owned()
}

fn solve(n: &Node, challenge: &str) -> String {
    let resp = n
        .service
        .handle_verify(&form(challenge, &right_answer(n, challenge)));
    let body = json(&resp);
    assert_eq!(body["code"], 0, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

fn check(n: &Node, ticket: &str) -> HttpResponse {
    common::check(&n.service, ticket, CHECK_FIELDS)
}

fn pttl(admin: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(admin).unwrap()
}

fn keys(admin: &mut redis::Connection) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(admin).unwrap();
    keys.sort();
    keys
}

// ---- tests ----

#[test]
fn a_ticket_used_on_one_node_is_refused_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (
        node(&server, TicketMode::SingleUse),
        node(&server, TicketMode::SingleUse),
    );

    // A challenge from node a is shown and answered on node b.
    let challenge = query_challenge(&a);
    let img = b
        .service
        .handle_image(&format!("c={}", urlencode(&challenge)));
    assert_eq!(img.status, 200);
    let ticket = solve(&b, &challenge);

    assert_eq!(check(&a, &ticket).error, None);
    let again = check(&b, &ticket);
    assert_eq!(json(&again)["code"], 5100);
    assert_eq!(check_error(&again), Some(CheckFailure::Reused));
    assert_eq!(check_error(&check(&a, &ticket)), Some(CheckFailure::Reused));

    // One answer attempt per challenge, across nodes too.
    let challenge = query_challenge(&a);
    let wrong = json(&a.service.handle_verify(&form(&challenge, "XXXX")));
    assert_eq!(wrong["code"], 5100);
    let resp = b
        .service
        .handle_verify(&form(&challenge, &right_answer(&b, &challenge)));
    assert_eq!(json(&resp)["code"], 5100);
    assert!(json(&resp).get("ticket").is_none());

    // Compatibility mode: two checks in all, whichever nodes make them.
    let (a, b) = (
        node(&server, TicketMode::Compatibility),
        node(&server, TicketMode::Compatibility),
    );
    let ticket = solve(&a, &query_challenge(&b));
    assert_eq!(check(&b, &ticket).error, None);
    assert_eq!(check(&a, &ticket).error, None);
    assert_eq!(check_error(&check(&b, &ticket)), Some(CheckFailure::Reused));
}

/// Checks one ticket from `threads` threads at once, spread over two nodes;
/// returns how many succeeded. Every failure must be a reuse.
fn racing_checks(server: &RedisServer, mode: TicketMode, threads: usize) -> usize {
    let nodes = [Arc::new(node(server, mode)), Arc::new(node(server, mode))];
    let ticket = solve(&nodes[0], &query_challenge(&nodes[1]));
    wins(race(threads, move |i| {
        let resp = check(&nodes[i % 2], &ticket);
        match check_error(&resp) {
            None => true,
            Some(CheckFailure::Reused) => false,
            other => panic!("unexpected failure {other:?}"),
        }
    }))
}

#[test]
fn threads_racing_on_one_ticket_across_two_nodes() {
    let server = RedisServer::start();
    for _ in 0..3 {
        assert_eq!(racing_checks(&server, TicketMode::SingleUse, 16), 1);
        assert_eq!(racing_checks(&server, TicketMode::Compatibility, 16), 2);
    }

    // Racing right answers to one challenge: one ticket.
    let nodes = [
        Arc::new(node(&server, TicketMode::SingleUse)),
        Arc::new(node(&server, TicketMode::SingleUse)),
    ];
    let challenge = query_challenge(&nodes[0]);
    let body = form(&challenge, &right_answer(&nodes[0], &challenge));
    let tickets = wins(race(8, move |i| {
        json(&nodes[i % 2].service.handle_verify(&body))
            .get("ticket")
            .is_some()
    }));
    assert_eq!(tickets, 1);
}

#[test]
fn the_store_counts_every_racing_use_once() {
    let server = RedisServer::start();
    let stores = [
        Arc::new(RedisStore::open(&server.url()).unwrap()),
        Arc::new(RedisStore::open(&server.url()).unwrap()),
    ];
    let threads = 24;
    let mut seen = race(threads, move |i| {
        let r = stores[i % 2].record_use("t:race", T0 + 60, 2, T0).unwrap();
        assert_eq!(r.allowed, r.uses <= 2);
        r.uses
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=threads as u64).collect::<Vec<_>>());
}

#[test]
fn redis_down_fails_closed_and_recovers_by_itself() {
    let mut server = RedisServer::start();
    let store = Arc::new(
        RedisStore::open(&server.url())
            .unwrap()
            .with_timeout(Duration::from_millis(200)),
    );
    let n = node_with(store.clone(), TicketMode::SingleUse, None);
    let ticket = solve(&n, &query_challenge(&n));
    let pending = query_challenge(&n);
    store.ping().unwrap();

    server.stop();

    let started = Instant::now();
    let err = store.record_use("t:direct", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("unavailable"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(store.ping(), Err(StoreError::Unavailable(_))));

    // CaptchaCheck: 6000, the typed reason for the logs, never success.
    let resp = check(&n, &ticket);
    assert_eq!(json(&resp)["code"], 6000);
    assert!(matches!(
        check_error(&resp),
        Some(CheckFailure::Store(StoreError::Unavailable(_)))
    ));
    // The widget's verify: HTTP 500, 6000, no ticket.
    let resp = n
        .service
        .handle_verify(&form(&pending, &right_answer(&n, &pending)));
    assert_eq!(resp.status, 500);
    assert_eq!(json(&resp)["code"], 6000);
    assert!(json(&resp).get("ticket").is_none());
    assert!(matches!(resp.error, Some(ServiceError::Store(_))));
    // Pictures need no store: still served.
    let img = n
        .service
        .handle_image(&format!("c={}", urlencode(&pending)));
    assert_eq!(img.status, 200);

    // Redis back on the same port: the same store and service work again.
    server.restart();
    store.ping().unwrap();
    // The refused check did not count: the ticket is still good, once.
    assert_eq!(check(&n, &ticket).error, None);
    assert_eq!(check_error(&check(&n, &ticket)), Some(CheckFailure::Reused));
    let resp = json(
        &n.service
            .handle_verify(&form(&pending, &right_answer(&n, &pending))),
    );
    assert_eq!(resp["code"], 0, "{resp}");

    // Restarted again while the store holds pooled connections to the old
    // server: the first call afterwards already succeeds.
    server.stop();
    server.restart();
    let r = store.record_use("t:after", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
}

#[test]
fn a_hung_redis_times_out_and_the_store_stays_in_sync() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url())
        .unwrap()
        .with_timeout(Duration::from_millis(200));
    assert_eq!(store.timeout(), Duration::from_millis(200));
    store.record_use("t:warm", T0 + 60, 1, T0).unwrap();

    // Redis stops answering every client for 1.5 s.
    let mut admin = server.admin();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query::<()>(&mut admin)
        .unwrap();
    let paused = Instant::now();
    let err = store.record_use("t:slow", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        paused.elapsed() < Duration::from_millis(1200),
        "gave up after {:?}, not after the 200 ms timeout",
        paused.elapsed()
    );

    // After the pause: the late answer to the timed-out call must not be
    // read as the answer to a later one (that connection was dropped).
    std::thread::sleep(Duration::from_millis(1600).saturating_sub(paused.elapsed()));
    let r = store.record_use("t:fresh", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
    let r = store.record_use("t:fresh", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (2, false));

    // A server that accepts connections but never answers.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", black_hole.local_addr().unwrap());
    let store = RedisStore::open(&url)
        .unwrap()
        .with_timeout(Duration::from_millis(200));
    let started = Instant::now();
    assert!(matches!(
        store.record_use("t:x", T0 + 60, 1, T0),
        Err(StoreError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn keys_carry_the_prefix_and_live_as_long_as_their_token() {
    let server = RedisServer::start();
    let mut admin = server.admin();

    let store = RedisStore::open(&server.url()).unwrap();
    assert_eq!(store.prefix(), "qcaptcha:");
    let store = Arc::new(store.with_prefix("shop-a:"));
    assert_eq!(store.prefix(), "shop-a:");
    let n = node_with(store.clone(), TicketMode::SingleUse, None);
    let ticket = solve(&n, &query_challenge(&n));
    assert_eq!(check(&n, &ticket).error, None);

    let all = keys(&mut admin);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[0].starts_with("shop-a:c:"), "{all:?}");
    assert!(all[1].starts_with("shop-a:t:"), "{all:?}");
    // The challenge had 300 s to live, the ticket 300 s (node clock T0).
    for key in &all {
        let ms = pttl(&mut admin, key);
        assert!((295_000..=300_000).contains(&ms), "{key}: PTTL {ms}");
        let secs: i64 = redis::cmd("TTL").arg(key).query(&mut admin).unwrap();
        assert!((295..=300).contains(&secs), "{key}: TTL {secs}");
    }
    // The node's clock, not Redis's, sets the life: later checks shorten
    // nothing and a ticket checked 100 s later is still counted.
    n.clock.advance(100);
    assert_eq!(check_error(&check(&n, &ticket)), Some(CheckFailure::Reused));
    let ms = pttl(&mut admin, &all[1]);
    assert!((295_000..=300_000).contains(&ms), "PTTL {ms}");

    // Compatibility tickets live 20 minutes, and so do their keys.
    let compat = node_with(
        Arc::new(
            RedisStore::open(&server.url())
                .unwrap()
                .with_prefix("shop-b:"),
        ),
        TicketMode::Compatibility,
        None,
    );
    let ticket = solve(&compat, &query_challenge(&compat));
    assert_eq!(check(&compat, &ticket).error, None);
    let tkeys: Vec<String> = keys(&mut admin)
        .into_iter()
        .filter(|k| k.starts_with("shop-b:t:"))
        .collect();
    assert_eq!(tkeys.len(), 1);
    let ms = pttl(&mut admin, &tkeys[0]);
    assert!((1_195_000..=1_200_000).contains(&ms), "PTTL {ms}");

    // Direct: the later expiry wins, an earlier one never shortens.
    store.record_use("x", T0 + 10, 5, T0).unwrap();
    let ms = pttl(&mut admin, "shop-a:x");
    assert!((9_000..=10_000).contains(&ms), "PTTL {ms}");
    store.record_use("x", T0 + 100, 5, T0).unwrap();
    assert!(pttl(&mut admin, "shop-a:x") > 99_000);
    let r = store.record_use("x", T0 + 5, 5, T0).unwrap();
    assert_eq!(r.uses, 3);
    assert!(pttl(&mut admin, "shop-a:x") > 90_000);

    // Dead entries go: an already expired id is counted, then forgotten;
    // a one-second life ends after one second.
    let r = store.record_use("gone", T0, 1, T0 + 1).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
    store.record_use("short", T0 + 1, 1, T0).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    for key in ["shop-a:gone", "shop-a:short"] {
        let exists: i64 = redis::cmd("EXISTS").arg(key).query(&mut admin).unwrap();
        assert_eq!(exists, 0, "{key} outlived its token");
    }
    // Every key has a TTL.
    for key in keys(&mut admin) {
        assert!(pttl(&mut admin, &key) > 0, "{key} has no expiry");
    }
}

fn signed_query(nonce: u64) -> String {
    common::signed_query(SignatureMethod::HmacSha1, T0, nonce, "")
}

fn call_signed(n: &Node, params: &str) -> HttpResponse {
    n.service.handle_query(ApiRequest {
        method: "GET",
        host: "captcha.example",
        path: "/v2/index.php",
        params,
    })
}

#[test]
fn signed_request_nonces_are_shared_across_nodes() {
    let mut server = RedisServer::start();
    let creds = || Some(Credentials::new("AKIDtest", "s3cret-key"));
    let store = || Arc::new(RedisStore::open(&server.url()).unwrap());
    let a = node_with(store(), TicketMode::SingleUse, creds());
    let b = node_with(store(), TicketMode::SingleUse, creds());

    assert_eq!(json(&call_signed(&a, &signed_query(1)))["code"], 0);
    let replay = call_signed(&b, &signed_query(1));
    assert_eq!(json(&replay)["code"], 4500, "Nonce replayed on node b");
    assert_eq!(replay.error, Some(ServiceError::Sign(SignError::Replayed)));
    assert_eq!(json(&call_signed(&b, &signed_query(2)))["code"], 0);

    // The Nonce is kept until its Timestamp leaves the 2-hour window.
    let mut admin = server.admin();
    let ms = pttl(&mut admin, "qcaptcha:n:AKIDtest:1");
    assert!((7_195_000..=7_201_000).contains(&ms), "PTTL {ms}");

    // Redis down: refused with 6000, and the Nonce is not burnt.
    server.stop();
    let resp = call_signed(&a, &signed_query(3));
    assert_eq!(json(&resp)["code"], 6000);
    assert!(matches!(
        resp.error,
        Some(ServiceError::Sign(SignError::Store(
            StoreError::Unavailable(_)
        )))
    ));
    server.restart();
    assert_eq!(json(&call_signed(&b, &signed_query(3)))["code"], 0);
}

#[test]
fn open_checks_the_url_but_does_not_connect() {
    for bad in [
        "",
        "not a url",
        "http://127.0.0.1:6379/",
        "rediss://127.0.0.1/",
    ] {
        assert!(
            matches!(RedisStore::open(bad), Err(StoreError::Config(_))),
            "{bad:?} accepted"
        );
    }
    // Nothing listens on this port; open still succeeds, and uses fail
    // closed at once (connection refused).
    let port = free_port();
    let store = RedisStore::open(&format!("redis://:hunter2@127.0.0.1:{port}/3")).unwrap();
    let started = Instant::now();
    let err = store.record_use("t:x", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Neither Debug nor the error shows the password.
    let debug = format!("{store:?}");
    assert!(
        debug.contains(&port.to_string()) && debug.contains("qcaptcha:"),
        "{debug}"
    );
    assert!(!debug.contains("hunter2") && !err.to_string().contains("hunter2"));
    // Ids are checked before any round trip.
    assert!(matches!(
        store.record_use("", T0 + 60, 1, T0),
        Err(StoreError::InvalidId { len: 0 })
    ));
    assert!(matches!(
        store.record_use(&"x".repeat(257), T0 + 60, 1, T0),
        Err(StoreError::InvalidId { len: 257 })
    ));
    // A zero timeout is raised to the 1 ms minimum.
    let store = store.with_timeout(Duration::ZERO);
    assert_eq!(store.timeout(), Duration::from_millis(1));
}
