//! `RedisStore` against real Redis deployments started by each test
//! (`tests/common/servers.rs`): one plain server, one TLS-only server with
//! client certificates (feature `redis-tls`), a three-master Redis Cluster
//! and the same Cluster over TLS. The shared suite runs on each
//! (`plain::*`, `tls::*`, `cluster::*`, `tls_cluster::*`); some tests
//! concern one kind only. Without
//! `redis-server`, `redis-cli` or `openssl` the tests fail, saying what to
//! install.

#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use qcaptcha::api::CaptchaQuery;
use qcaptcha::pow::PowPolicy;
use qcaptcha::sign::SignError;
use qcaptcha::sign::SignatureMethod;
use qcaptcha::store::RecordKind::{Nonce, Session, Ticket};
use qcaptcha::store::{RateCount, StoreError};
use qcaptcha::testing::ManualClock;
use qcaptcha::{
    ApiRequest, CaptchaService, CheckFailure, Credentials, HttpResponse, KeyRing, Limits,
    RedisStore, ReplayStore, ServiceError, TicketMode,
};

mod common;
#[path = "common/servers.rs"]
#[macro_use]
mod servers;
use common::{
    check_error, form, json, price, race, urlencode, wins, CHECK_FIELDS, CLIENT, HARNESS_WAIT,
    LOAD_SLACK, QUERY, T0,
};
use servers::{free_port, Kind, Persistence, Redis};

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
    // Many answers from one address in one frozen minute: no rate limits
    // here (`limits_with_redis` tests them).
    node_with_limits(store, mode, creds, Limits::unlimited().session_pictures(10))
}

fn node_with_limits(
    store: Arc<dyn ReplayStore>,
    mode: TicketMode,
    creds: Option<Credentials>,
    limits: Limits,
) -> Node {
    let clock = Arc::new(ManualClock::new(T0));
    let mut builder = CaptchaService::builder("https://captcha.example/cap")
        .keys(ring())
        .store(store)
        .ticket_mode(mode)
        .clock(clock.clone())
        // These tests are about the store: the clock stands still while
        // they mint hundreds of challenges for one userIp, which the
        // default policy rightly meets with proofs of work (tests/pow.rs).
        .pow(PowPolicy::off())
        .limits(limits);
    if let Some(creds) = creds {
        builder = builder.credentials(creds);
    }
    Node {
        service: Arc::new(builder.build().unwrap()),
        clock,
    }
}

fn node(redis: &Redis, mode: TicketMode) -> Node {
    node_with(Arc::new(redis.store()), mode, None)
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
        .handle_verify(&form(challenge, &right_answer(n, challenge)), CLIENT);
    let body = json(&resp);
    assert_eq!(body["code"], 0, "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

fn check(n: &Node, ticket: &str) -> HttpResponse {
    common::check(&n.service, ticket, CHECK_FIELDS)
}

type Admin = Box<dyn redis::ConnectionLike>;

fn pttl(admin: &mut Admin, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(&mut **admin).unwrap()
}

fn keys(admin: &mut Admin) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut **admin).unwrap();
    keys.sort();
    keys
}

// ---- the suite every deployment passes ----

on_every_deployment!(
    a_ticket_used_on_one_node_is_refused_on_the_other,
    threads_racing_on_one_ticket_across_two_nodes,
    the_store_counts_every_racing_use_once,
    redis_down_fails_closed_and_recovers_by_itself,
    keys_carry_the_prefix_and_a_hash_tag_and_live_as_long_as_their_token,
    signed_request_nonces_are_shared_across_nodes,
    limits_with_redis,
    racing_counters_and_advances_count_once_each,
    two_nodes_price_alike,
    the_store_scenarios_pass,
);

/// The `ReplayStore` contract every backend must keep, as
/// `qcaptcha::testing` gives it to stores outside this crate.
fn the_store_scenarios_pass(kind: Kind) {
    let server = Redis::start(kind);
    let scenario = std::sync::atomic::AtomicU32::new(0);
    qcaptcha::testing::store_scenarios(&|| {
        // A fresh store per scenario: its own key prefix.
        let n = scenario.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(
            server
                .store()
                .with_prefix(format!("scenario-{n}:"))
                .with_holder_share(64),
        )
    });
}

fn a_ticket_used_on_one_node_is_refused_on_the_other(kind: Kind) {
    let server = Redis::start(kind);
    let (a, b) = (
        node(&server, TicketMode::SingleUse),
        node(&server, TicketMode::SingleUse),
    );

    // A challenge from node a is shown and answered on node b.
    let challenge = query_challenge(&a);
    let img = b
        .service
        .handle_image(&format!("c={}", urlencode(&challenge)), CLIENT);
    assert_eq!(img.status, 200);
    let ticket = solve(&b, &challenge);

    assert_eq!(check(&a, &ticket).error, None);
    let again = check(&b, &ticket);
    assert_eq!(json(&again)["code"], 5100);
    assert_eq!(check_error(&again), Some(CheckFailure::Reused));
    assert_eq!(check_error(&check(&a, &ticket)), Some(CheckFailure::Reused));

    // One answer attempt per challenge, across nodes too.
    let challenge = query_challenge(&a);
    let wrong = json(&a.service.handle_verify(&form(&challenge, "XXXX"), CLIENT));
    assert_eq!(wrong["code"], 5100);
    let resp = b
        .service
        .handle_verify(&form(&challenge, &right_answer(&b, &challenge)), CLIENT);
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

/// A node whose store waits as long as the harness: all threads connect at
/// once, and 64 TLS handshakes (with each of three masters in a Cluster)
/// on a loaded two-core machine can take seconds. These tests are about
/// atomicity, not latency.
fn racing_node(server: &Redis, mode: TicketMode) -> Node {
    let store = server.store();
    node_with(Arc::new(store), mode, None)
}

/// Checks one ticket from `threads` threads at once, spread over two nodes;
/// returns how many succeeded. Every failure must be a reuse.
fn racing_checks(server: &Redis, mode: TicketMode, threads: usize) -> usize {
    let nodes = [
        Arc::new(racing_node(server, mode)),
        Arc::new(racing_node(server, mode)),
    ];
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

fn threads_racing_on_one_ticket_across_two_nodes(kind: Kind) {
    let server = Redis::start(kind);
    assert_eq!(racing_checks(&server, TicketMode::SingleUse, 64), 1);
    assert_eq!(racing_checks(&server, TicketMode::Compatibility, 64), 2);

    // Racing right answers to one challenge: one ticket.
    let nodes = [
        Arc::new(racing_node(&server, TicketMode::SingleUse)),
        Arc::new(racing_node(&server, TicketMode::SingleUse)),
    ];
    let challenge = query_challenge(&nodes[0]);
    let body = form(&challenge, &right_answer(&nodes[0], &challenge));
    let tickets = wins(race(8, move |i| {
        json(&nodes[i % 2].service.handle_verify(&body, CLIENT))
            .get("ticket")
            .is_some()
    }));
    assert_eq!(tickets, 1);
}

fn the_store_counts_every_racing_use_once(kind: Kind) {
    let server = Redis::start(kind);
    let store = || Arc::new(server.store());
    let stores = [store(), store()];
    let threads = 24;
    let mut seen = race(threads, move |i| {
        let r = stores[i % 2]
            .record_use(Ticket, "race", T0 + 60, 2, T0)
            .unwrap();
        assert_eq!(r.allowed, r.uses <= 2);
        r.uses
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=threads as u64).collect::<Vec<_>>());
}

fn redis_down_fails_closed_and_recovers_by_itself(kind: Kind) {
    let mut server = Redis::start(kind);
    // The harness's long timeout: reconnecting after the restarts below
    // (three TLS handshakes for a TLS Cluster) may take seconds on a loaded
    // machine, and a stopped server is refused, not waited for.
    let store = Arc::new(server.store());
    let n = node_with(store.clone(), TicketMode::SingleUse, None);
    let ticket = solve(&n, &query_challenge(&n));
    let pending = query_challenge(&n);
    store.ping().unwrap();

    server.stop();

    let started = Instant::now();
    let err = store
        .record_use(Ticket, "direct", T0 + 60, 1, T0)
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("unavailable"), "{err}");
    // Refused connections fail at once (a Cluster call retries a few
    // times), far sooner than the store's timeout.
    assert!(
        started.elapsed() < 5 * LOAD_SLACK,
        "{:?}",
        started.elapsed()
    );
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
        .handle_verify(&form(&pending, &right_answer(&n, &pending)), CLIENT);
    assert_eq!(resp.status, 500);
    assert_eq!(json(&resp)["code"], 6000);
    assert!(json(&resp).get("ticket").is_none());
    assert!(matches!(resp.error, Some(ServiceError::Store(_))));
    // Pictures need no store: still served.
    let img = n
        .service
        .handle_image(&format!("c={}", urlencode(&pending)), CLIENT);
    assert_eq!(img.status, 200);
    // CaptchaQuery too, with its limits and price counted by the node
    // itself meanwhile (the widget then cannot be answered until Redis is
    // back, but the page loads).
    let priced = CaptchaService::builder("/cap")
        .keys(ring())
        .store(store.clone())
        .clock(n.clock.clone())
        .pow(price::cheap_policy())
        .build()
        .unwrap();
    let q = CaptchaQuery::from_query_string(QUERY).unwrap();
    for _ in 0..3 {
        assert!(priced.widget(&q).is_ok());
    }

    // Redis back on the same port: the same store and service work again.
    server.restart();
    store.ping().unwrap();
    // The refused check did not count: the ticket is still good, once.
    assert_eq!(check(&n, &ticket).error, None);
    assert_eq!(check_error(&check(&n, &ticket)), Some(CheckFailure::Reused));
    let resp = json(
        &n.service
            .handle_verify(&form(&pending, &right_answer(&n, &pending)), CLIENT),
    );
    assert_eq!(resp["code"], 0, "{resp}");

    // Restarted again while the store holds pooled connections to the old
    // servers: the first call afterwards already succeeds.
    server.stop();
    server.restart();
    let r = store.record_use(Ticket, "after", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
}

// ---- one deployment only ----

#[test]
fn a_hung_redis_times_out_and_the_store_stays_in_sync() {
    let server = Redis::start(Kind::Plain);
    let timeout = Duration::from_millis(200);
    let store = server.store().with_timeout(timeout);
    assert_eq!(store.timeout(), timeout);
    store.record_use(Ticket, "warm", T0 + 60, 1, T0).unwrap();

    // Redis stops answering every client, for longer than the timeout
    // plus what a loaded machine may add to it.
    let pause = timeout + 2 * LOAD_SLACK;
    let mut admin = server.admin();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(pause.as_millis() as u64)
        .arg("ALL")
        .query::<()>(&mut *admin)
        .unwrap();
    let paused = Instant::now();
    let err = store
        .record_use(Ticket, "slow", T0 + 60, 1, T0)
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        paused.elapsed() < timeout + LOAD_SLACK,
        "gave up after {:?}, not after the {timeout:?} timeout",
        paused.elapsed()
    );

    // After the pause: the late answer to the timed-out call must not be
    // read as the answer to a later one (that connection was dropped).
    std::thread::sleep((pause + Duration::from_millis(100)).saturating_sub(paused.elapsed()));
    let r = store.record_use(Ticket, "fresh", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
    let r = store.record_use(Ticket, "fresh", T0 + 60, 1, T0).unwrap();
    assert_eq!((r.uses, r.allowed), (2, false));

    // A frozen server (SIGSTOP): a store with no pooled connection gives
    // up after one timeout, connecting included, not after two (connect,
    // then answer). The timeout is long enough that the difference
    // stands out on a loaded machine.
    server.nodes[0].freeze(true);
    let long = LOAD_SLACK;
    let fresh = server.store().with_timeout(long);
    let started = Instant::now();
    let err = fresh
        .record_use(Ticket, "frozen", T0 + 60, 1, T0)
        .unwrap_err();
    let waited = started.elapsed();
    server.nodes[0].freeze(false);
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        waited < long * 2 - long / 10,
        "waited {waited:?} for a {long:?} timeout"
    );

    // A server that accepts connections but never answers.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", black_hole.local_addr().unwrap());
    let store = RedisStore::open(&url).unwrap().with_timeout(timeout);
    let started = Instant::now();
    assert!(matches!(
        store.record_use(Ticket, "x", T0 + 60, 1, T0),
        Err(StoreError::Unavailable(_))
    ));
    assert!(started.elapsed() < timeout + LOAD_SLACK);
}

fn keys_carry_the_prefix_and_a_hash_tag_and_live_as_long_as_their_token(kind: Kind) {
    let server = Redis::start(kind);
    let mut admin = server.admin();

    let store = server.store();
    assert_eq!(store.prefix(), "qcaptcha:");
    let store = Arc::new(store.with_prefix("shop-a:"));
    assert_eq!(store.prefix(), "shop-a:");
    let n = node_with_limits(
        store.clone(),
        TicketMode::SingleUse,
        None,
        Limits::default(),
    );
    let ticket = solve(&n, &query_challenge(&n));
    assert_eq!(check(&n, &ticket).error, None);

    let all = keys(&mut admin);
    let of = |tag: &str| -> Vec<String> {
        all.iter()
            .filter(|k| k.starts_with(&format!("shop-a:{{{tag}:")))
            .cloned()
            .collect()
    };
    // One session and one ticket, each among its holder's ids (the
    // holder's live set `prefix{h<kind>:<business>/<network>}` and its use
    // counts, `...:uses`), and three rate counters (the CaptchaQuery's
    // userIp and businessId, the client's answers), a rate counter's
    // minute after the braces.
    let holder = "1/121.14.96.0/24";
    let (sessions, tickets, rates) = (of("hs"), of("ht"), of("r"));
    assert_eq!(
        (sessions.len(), tickets.len(), rates.len(), all.len()),
        (2, 2, 3, 7),
        "{all:?}"
    );
    for (keys, tag) in [(&sessions, "hs"), (&tickets, "ht")] {
        let live = format!("shop-a:{{{tag}:{holder}}}");
        assert_eq!(keys, &vec![live.clone(), format!("{live}:uses")], "{all:?}");
    }
    let window = T0 / 60;
    for id in ["q:u:121.14.96.121", "q:b:1", "w:a:198.51.100.7"] {
        let key = format!("shop-a:{{r:{id}}}:{window}");
        assert!(rates.contains(&key), "{key} in {rates:?}");
        // A counter lives to the end of the next minute (where it is the
        // previous one), plus a second.
        let ms = pttl(&mut admin, &key);
        let left = (window + 1) * 60 - T0 + 60;
        assert!(
            ms > 0 && ms <= ((left + 1) * 1000) as i64,
            "{key}: PTTL {ms}"
        );
    }
    // The session's keys live as long as the widget session (1800 s), the
    // ticket's 300 s (node clock T0).
    for key in &sessions {
        let ms = pttl(&mut admin, key);
        assert!((1_795_000..=1_800_000).contains(&ms), "{key}: PTTL {ms}");
    }
    let all = tickets.clone();
    for key in &all {
        let ms = pttl(&mut admin, key);
        assert!((295_000..=300_000).contains(&ms), "{key}: PTTL {ms}");
        let secs: i64 = redis::cmd("TTL").arg(key).query(&mut *admin).unwrap();
        assert!((295..=300).contains(&secs), "{key}: TTL {secs}");
    }
    // The node's clock, not Redis's, sets the life: later checks shorten
    // nothing and a ticket checked 100 s later is still counted.
    n.clock.advance(100);
    assert_eq!(check_error(&check(&n, &ticket)), Some(CheckFailure::Reused));
    let ms = pttl(&mut admin, &all[0]);
    assert!((295_000..=300_000).contains(&ms), "PTTL {ms}");

    // Compatibility tickets live 20 minutes, and so do their keys.
    let compat = node_with(
        Arc::new(server.store().with_prefix("shop-b:")),
        TicketMode::Compatibility,
        None,
    );
    let ticket = solve(&compat, &query_challenge(&compat));
    assert_eq!(check(&compat, &ticket).error, None);
    let tkeys: Vec<String> = keys(&mut admin)
        .into_iter()
        .filter(|k| k.starts_with("shop-b:{ht:"))
        .collect();
    assert_eq!(tkeys.len(), 2, "the holder's live set and use counts");
    let ms = pttl(&mut admin, &tkeys[0]);
    assert!((1_195_000..=1_200_000).contains(&ms), "PTTL {ms}");

    // Direct: the later expiry wins, an earlier one never shortens.
    store.record_use(Ticket, "x", T0 + 10, 5, T0).unwrap();
    let ms = pttl(&mut admin, "shop-a:{t:x}");
    assert!((9_000..=10_000).contains(&ms), "PTTL {ms}");
    store.record_use(Ticket, "x", T0 + 100, 5, T0).unwrap();
    assert!(pttl(&mut admin, "shop-a:{t:x}") > 99_000);
    let r = store.record_use(Ticket, "x", T0 + 5, 5, T0).unwrap();
    assert_eq!(r.uses, 3);
    assert!(pttl(&mut admin, "shop-a:{t:x}") > 90_000);
    // Kinds do not meet: the same id as a Nonce is new.
    assert_eq!(store.record_use(Nonce, "x", T0 + 5, 5, T0).unwrap().uses, 1);

    // Dead entries go: an already expired id is counted, then forgotten;
    // a one-second life ends after one second.
    let r = store.record_use(Ticket, "gone", T0, 1, T0 + 1).unwrap();
    assert_eq!((r.uses, r.allowed), (1, true));
    store.record_use(Ticket, "short", T0 + 1, 1, T0).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    for key in ["shop-a:{t:gone}", "shop-a:{t:short}"] {
        let exists: i64 = redis::cmd("EXISTS").arg(key).query(&mut *admin).unwrap();
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

fn signed_request_nonces_are_shared_across_nodes(kind: Kind) {
    let mut server = Redis::start(kind);
    let creds = || Some(Credentials::new("AKIDtest", "s3cret-key"));
    let store = || Arc::new(server.store());
    let a = node_with(store(), TicketMode::SingleUse, creds());
    let b = node_with(store(), TicketMode::SingleUse, creds());

    assert_eq!(json(&call_signed(&a, &signed_query(1)))["code"], 0);
    let replay = call_signed(&b, &signed_query(1));
    assert_eq!(json(&replay)["code"], 4500, "Nonce replayed on node b");
    assert_eq!(replay.error, Some(ServiceError::Sign(SignError::Replayed)));
    assert_eq!(json(&call_signed(&b, &signed_query(2)))["code"], 0);

    // The Nonce is kept until its Timestamp leaves the 2-hour window.
    let mut admin = server.admin();
    let ms = pttl(&mut admin, "qcaptcha:{hn:AKIDtest/121.14.96.0/24}");
    assert!((7_195_000..=7_201_000).contains(&ms), "PTTL {ms}");

    // Redis down: CaptchaQuery is still served, its Nonce kept by the
    // node itself (a replay there is refused); answers and ticket checks
    // fail closed (`redis_down_fails_closed_and_recovers_by_itself`).
    server.stop();
    assert_eq!(json(&call_signed(&a, &signed_query(3)))["code"], 0);
    let replay = call_signed(&a, &signed_query(3));
    assert_eq!(json(&replay)["code"], 4500);
    assert_eq!(replay.error, Some(ServiceError::Sign(SignError::Replayed)));
    server.restart();
    assert_eq!(json(&call_signed(&b, &signed_query(4)))["code"], 0);
}

#[test]
fn open_checks_the_url_but_does_not_connect() {
    for bad in [
        "",
        "not a url",
        "http://127.0.0.1:6379/",
        #[cfg(not(feature = "redis-tls"))]
        "rediss://127.0.0.1/",
    ] {
        assert!(
            matches!(RedisStore::open(bad), Err(StoreError::Config(_))),
            "{bad:?} accepted"
        );
        assert!(
            matches!(
                RedisStore::open_cluster(["redis://127.0.0.1:7000/", bad]),
                Err(StoreError::Config(_))
            ),
            "{bad:?} accepted as a cluster node"
        );
    }
    assert!(matches!(
        RedisStore::open_cluster(Vec::<String>::new()),
        Err(StoreError::Config(_))
    ));
    // Nothing listens on this port; open still succeeds, and uses fail
    // closed at once (connection refused).
    let port = free_port();
    let store = RedisStore::open(&format!("redis://:hunter2@127.0.0.1:{port}/3")).unwrap();
    let started = Instant::now();
    let err = store.record_use(Ticket, "x", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < store.timeout() + LOAD_SLACK);
    // Neither Debug nor the error shows the password.
    let debug = format!("{store:?}");
    assert!(
        debug.contains(&port.to_string()) && debug.contains("qcaptcha:"),
        "{debug}"
    );
    assert!(!debug.contains("hunter2") && !err.to_string().contains("hunter2"));
    // Ids are checked before any round trip.
    assert!(matches!(
        store.record_use(Ticket, "", T0 + 60, 1, T0),
        Err(StoreError::InvalidId { len: 0 })
    ));
    assert!(matches!(
        store.record_use(Ticket, &"x".repeat(257), T0 + 60, 1, T0),
        Err(StoreError::InvalidId { len: 257 })
    ));
    // A zero timeout is raised to the 1 ms minimum.
    let store = store.with_timeout(Duration::ZERO);
    assert_eq!(store.timeout(), Duration::from_millis(1));
}

#[test]
fn a_cluster_store_names_its_seeds_but_not_the_password_and_fails_closed_without_them() {
    let (p1, p2) = (free_port(), free_port());
    let store = RedisStore::open_cluster([
        format!("redis://:hunter2@127.0.0.1:{p1}/"),
        format!("redis://:hunter2@127.0.0.1:{p2}/"),
    ])
    .unwrap()
    .with_timeout(Duration::from_millis(200));
    assert!(store.is_cluster());
    let started = Instant::now();
    let err = store.record_use(Ticket, "x", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // A Cluster call may try three times, each within the timeout.
    assert!(started.elapsed() < 3 * store.timeout() + LOAD_SLACK);
    let debug = format!("{store:?}");
    assert!(
        debug.contains(&p1.to_string()) && debug.contains(&p2.to_string()),
        "{debug}"
    );
    assert!(!debug.contains("hunter2") && !err.to_string().contains("hunter2"));
}

/// The tickets a node let pass, and how often each: none may pass twice.
#[derive(Default)]
struct Ledger(std::collections::HashMap<String, u32>);

impl Ledger {
    /// Checks `ticket` on `n`, counting it if it passed.
    fn check(&mut self, n: &Node, ticket: &str) -> HttpResponse {
        let resp = check(n, ticket);
        if resp.error.is_none() {
            *self.0.entry(ticket.to_owned()).or_default() += 1;
        }
        resp
    }

    fn assert_each_passed_once<'a>(&self, tickets: impl IntoIterator<Item = &'a String>) {
        for t in tickets {
            let times = self.0.get(t);
            assert_eq!(times, Some(&1), "{t} passed {times:?} times");
        }
    }
}

/// Twelve tickets solved and checked once (their keys spread over the
/// masters), and twelve solved but not yet checked.
fn used_and_fresh(n: &Node, ledger: &mut Ledger) -> (Vec<String>, Vec<String>) {
    let used: Vec<String> = (0..12).map(|_| solve(n, &query_challenge(n))).collect();
    for t in &used {
        assert_eq!(ledger.check(n, t).error, None);
    }
    let fresh = (0..12).map(|_| solve(n, &query_challenge(n))).collect();
    (used, fresh)
}

/// A three-master cluster with AOF; one master is killed (SIGKILL) while
/// tickets are in use and then comes back. No ticket is ever accepted
/// twice; checks that reach the dead master, and every check once the
/// cluster has marked it failed (`CLUSTERDOWN`), fail closed with 6000;
/// after it is back every use made before the crash is still known.
#[test]
fn cluster_a_master_killed_and_back_never_accepts_a_ticket_twice() {
    let mut redis = Redis::start_with(Kind::Cluster, Persistence::Aof);
    let store = Arc::new(redis.store());
    let n = node_with(store.clone(), TicketMode::SingleUse, None);
    let mut ledger = Ledger::default();

    let (used, fresh) = used_and_fresh(&n, &mut ledger);
    // Which master holds the tickets: all of them are held by one
    // business and network, whose keys (`{ht:<holder>}` and its use
    // counts) share a hash tag, so one master holds every used ticket.
    let mut admin = redis.admin();
    let on_master: Vec<usize> = keys(&mut admin)
        .iter()
        .filter(|k| k.starts_with("qcaptcha:{ht:"))
        .map(|k| redis.master_of(k))
        .collect();
    assert_eq!(on_master.len(), 2, "the holder's live set and use counts");
    assert_eq!(on_master[0], on_master[1], "one hash tag, one master");
    let victim = on_master[0];
    let survivor = (victim + 1) % 3;
    drop(admin);

    redis.nodes[victim].kill();
    // Right after the crash: used tickets are refused (reused, or 6000
    // where their master is gone), never accepted.
    let mut unavailable = 0;
    for t in &used {
        let resp = ledger.check(&n, t);
        match check_error(&resp) {
            Some(CheckFailure::Reused) => {}
            Some(CheckFailure::Store(StoreError::Unavailable(_))) => unavailable += 1,
            other => panic!("a used ticket during the outage: {other:?}"),
        }
    }
    assert!(unavailable >= 1, "no check reached the dead master");
    // Once the survivors mark it failed (after the node timeout) the cluster
    // refuses everything (CLUSTERDOWN): every check fails closed.
    redis.wait_for_cluster_state(survivor, "fail");
    for t in &fresh {
        let resp = ledger.check(&n, t);
        assert_eq!(json(&resp)["code"], 6000, "a check during the outage");
        assert!(matches!(
            check_error(&resp),
            Some(CheckFailure::Store(StoreError::Unavailable(_)))
        ));
    }

    // The master comes back with its AOF: nothing used before is usable.
    redis.nodes[victim].restart();
    redis.wait_until_ready();
    for t in &used {
        let resp = check(&n, t);
        assert_eq!(check_error(&resp), Some(CheckFailure::Reused), "{t}");
    }
    // Tickets refused during the outage were not burnt: each passes once.
    for t in fresh.iter().chain(&used) {
        ledger.check(&n, t);
        let resp = check(&n, t);
        assert_eq!(check_error(&resp), Some(CheckFailure::Reused));
    }
    ledger.assert_each_passed_once(fresh.iter().chain(&used));
}

/// Three masters with a replica each: a master is killed, its replica
/// takes its slots over (the store follows the `MOVED` redirects). Every
/// use made before the kill (replicated first, as `min-replicas-to-write`
/// would ensure) is still known, no ticket passes twice, and checks that
/// reach the dead master before the failover fail closed.
#[test]
fn cluster_a_master_fails_over_to_its_replica_and_no_ticket_passes_twice() {
    let mut redis = Redis::start_cluster_with_replicas(Persistence::None);
    let store = Arc::new(redis.store());
    let n = node_with(store.clone(), TicketMode::SingleUse, None);
    let mut ledger = Ledger::default();

    let (used, fresh) = used_and_fresh(&n, &mut ledger);
    let mut admin = redis.admin();
    let ticket_keys: Vec<String> = keys(&mut admin)
        .into_iter()
        .filter(|k| k.starts_with("qcaptcha:{ht:"))
        .collect();
    drop(admin);
    let victim = redis.master_of(&ticket_keys[0]);
    let moved_key = ticket_keys[0].clone();
    // A store used only before the crash: its pooled connection still maps
    // the moved slot to the dead master afterwards. It records a use among
    // the tickets' holder, on the master that holds them.
    let holder = "1/121.14.96.0/24";
    let warm = redis.store();
    assert_eq!(
        warm.record_held_use(Ticket, holder, "warm-up", T0 + 600, 1, T0)
            .unwrap()
            .uses,
        1
    );
    redis.wait_for_replication();

    redis.nodes[victim].kill();
    // Until the replica takes over: refused (reused, or 6000), never passed.
    for t in &used {
        let resp = ledger.check(&n, t);
        assert!(
            matches!(
                check_error(&resp),
                Some(CheckFailure::Reused | CheckFailure::Store(StoreError::Unavailable(_)))
            ),
            "{:?}",
            resp.error
        );
    }
    // The replica is promoted (after the node timeout, then an election).
    let deadline = Instant::now() + HARNESS_WAIT;
    while redis.master_of(&moved_key) == victim {
        assert!(Instant::now() < deadline, "no failover");
        std::thread::sleep(Duration::from_millis(100));
    }
    let survivor = (victim + 1) % 3;
    redis.wait_for_cluster_state(survivor, "ok");

    // The stale pooled connection: the first call already succeeds, and
    // the use made before the crash is known.
    let r = warm
        .record_held_use(Ticket, holder, "warm-up", T0 + 600, 1, T0)
        .unwrap();
    assert_eq!((r.uses, r.allowed), (2, false));

    // The same store, through the redirects: every used ticket is known.
    for t in &used {
        let resp = ledger.check(&n, t);
        assert_eq!(check_error(&resp), Some(CheckFailure::Reused), "{t}");
    }
    for t in &fresh {
        let resp = ledger.check(&n, t);
        assert_eq!(resp.error, None, "a fresh ticket after the failover");
        assert_eq!(check_error(&check(&n, t)), Some(CheckFailure::Reused));
    }
    ledger.assert_each_passed_once(fresh.iter().chain(&used));
}

#[cfg(feature = "redis-tls")]
#[test]
fn tls_trusts_only_the_configured_ca() {
    let redis = Redis::start(Kind::Tls);
    let url = &redis.urls()[0];
    // The store's timeout is the harness's: the first handshake competes
    // with the other tests, and each refusal below must come from the
    // handshake, not from a timeout on a loaded machine.
    redis.store().ping().unwrap();

    // The system's roots do not include the test CA.
    let system = RedisStore::open(url).unwrap().with_timeout(HARNESS_WAIT);
    assert!(matches!(system.ping(), Err(StoreError::Unavailable(_))));
    // Another CA: refused, fails closed.
    let other = servers::TempDir::new("other-ca");
    let other = servers::Certs::make(other.path());
    let wrong = RedisStore::open_tls(url, &other.tls())
        .unwrap()
        .with_timeout(HARNESS_WAIT);
    let err = wrong.record_use(Ticket, "x", T0 + 60, 1, T0).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // The right CA but no client certificate: the server refuses.
    let ca_only = RedisStore::open_tls(
        url,
        &qcaptcha::store::RedisTls::new().ca_pem(redis.certs().ca.clone()),
    )
    .unwrap()
    .with_timeout(HARNESS_WAIT);
    assert!(ca_only.ping().is_err());
    // Plain TCP to the TLS port: fails closed.
    let plain = RedisStore::open(&url.replace("rediss://", "redis://"))
        .unwrap()
        .with_timeout(HARNESS_WAIT);
    assert!(plain.ping().is_err());
    // open_tls wants rediss://.
    assert!(matches!(
        RedisStore::open_tls(&url.replace("rediss://", "redis://"), &other.tls()),
        Err(StoreError::Config(_))
    ));
    // Debug shows neither key nor certificate.
    let debug = format!("{:?}", other.tls());
    assert!(!debug.contains("BEGIN"), "{debug}");
}

// ---- limits, atomic counters and persistence ----

fn limits_with_redis(kind: Kind) {
    let server = Redis::start(kind);
    let counter = std::sync::atomic::AtomicU32::new(0);
    let make = |clock: &Arc<ManualClock>, limits: Limits| {
        // Each service its own prefix: the counters of one scenario must
        // not meet another's.
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let store = server.store().with_prefix(format!("limits-{n}:"));
        CaptchaService::builder("/cap")
            .keys(ring())
            .store(Arc::new(store))
            .clock(clock.clone())
            .limits(limits)
            // The scenarios answer without proofs of work (tests/pow.rs).
            .pow(qcaptcha::pow::PowPolicy::off())
            .build()
            .unwrap()
    };
    common::scenario_every_limit(&make, 3);
    // Every key has an expiry and a hash tag: `prefix{tag:id}`, or
    // `prefix{r:id}:minute` for a rate counter.
    let mut admin = server.admin();
    for key in keys(&mut admin) {
        assert!(pttl(&mut admin, &key) > 0, "{key} has no expiry");
        let tagged = key.ends_with('}')
            || key.contains("{r:") && key.contains("}:")
            || key.contains("{h") && (key.ends_with("}:uses") || key.ends_with("}:mark"));
        assert!(tagged && key.contains(":{"), "{key}: not a hash-tagged key");
    }
}

/// The price scenarios of `tests/common/price.rs` on two nodes, each with
/// its own connections to one Redis: the business's volume and a
/// network's tickets are counted in Redis, so both nodes ask the same
/// level, rising and falling together.
fn two_nodes_price_alike(kind: Kind) {
    let server = Redis::start(kind);
    let counter = std::sync::atomic::AtomicU32::new(0);
    let pair = |clock: &Arc<ManualClock>, limits: Limits| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let node = || {
            CaptchaService::builder("/cap")
                .keys(ring())
                .store(Arc::new(server.store().with_prefix(format!("price-{n}:"))))
                .clock(clock.clone())
                .limits(limits)
                .pow(price::cheap_policy())
                .build()
                .unwrap()
        };
        (node(), node())
    };
    price::scenario_surge(&pair);
    price::scenario_surge_hold(&pair);
    price::scenario_ticket_rate(&pair);
    // The counters are hashes with an expiry and a hash tag.
    let mut admin = server.admin();
    let counters: Vec<String> = keys(&mut admin)
        .into_iter()
        .filter(|k| k.contains("{p:"))
        .collect();
    assert!(!counters.is_empty());
    for key in counters {
        assert!(pttl(&mut admin, &key) > 0, "{key} has no expiry");
        assert!(key.ends_with('}'), "{key}");
    }
}

fn racing_counters_and_advances_count_once_each(kind: Kind) {
    let server = Redis::start(kind);
    let stores = Arc::new([server.store(), server.store()]);
    let threads = 24;
    let s = stores.clone();
    let mut hits = race(threads, move |i| {
        s[i % 2].count_hit("ip", 60, T0).unwrap().current
    });
    hits.sort_unstable();
    assert_eq!(hits, (1..=threads as u64).collect::<Vec<_>>());
    // A new window starts again at 1 and sees the one before; the next
    // one does not.
    let next = T0 - T0 % 60 + 60;
    assert_eq!(
        stores[0].count_hit("ip", 60, next).unwrap(),
        RateCount::new(1, 24)
    );
    assert_eq!(
        stores[0].count_hit("ip", 60, next + 60).unwrap(),
        RateCount::new(1, 1)
    );
    assert_eq!(
        stores[0].count_hit("ip", 60, next + 180).unwrap(),
        RateCount::new(1, 0)
    );
    // Compare-and-increment: of racing moves from 0, one wins; then only
    // a move from 1 works.
    let s = stores.clone();
    let moved = wins(race(threads, move |i| {
        s[i % 2].advance(Session, "sess", 0, T0 + 60, T0).unwrap()
    }));
    assert_eq!(moved, 1);
    assert!(!stores[0].advance(Session, "sess", 0, T0 + 60, T0).unwrap());
    assert!(!stores[1].advance(Session, "sess", 2, T0 + 60, T0).unwrap());
    assert!(stores[1].advance(Session, "sess", 1, T0 + 60, T0).unwrap());
    let mut admin = server.admin();
    let ms = pttl(&mut admin, "qcaptcha:{s:sess}");
    assert!((50_000..=60_000).contains(&ms), "PTTL {ms}"); // slack for a loaded machine
    let value: u64 = redis::cmd("GET")
        .arg("qcaptcha:{s:sess}")
        .query(&mut *admin)
        .unwrap();
    assert_eq!(value, 2);
}

#[test]
fn persistence_is_reported() {
    use qcaptcha::store::Persistence as Found;
    // Neither AOF nor snapshots (the test servers run with `save ""`).
    let server = Redis::start(Kind::Plain);
    let store = server.store();
    assert_eq!(store.persistence().unwrap(), Found::None);
    assert!(!store.persistence().unwrap().is_durable());
    let mut admin = server.admin();
    let config = |admin: &mut Admin, args: &[&str]| {
        redis::cmd("CONFIG")
            .arg(args)
            .query::<redis::Value>(&mut **admin)
            .unwrap();
    };
    config(&mut admin, &["SET", "save", "3600 1"]);
    assert_eq!(
        store.persistence().unwrap(),
        Found::SnapshotsOnly {
            snapshots: "3600 1".into()
        }
    );
    // AOF, as a production server should run.
    let aof = Redis::start_with(Kind::Plain, Persistence::Aof);
    let found = aof.store().persistence().unwrap();
    assert!(found.is_durable(), "{found}");
    assert!(
        matches!(&found, Found::AppendOnly { fsync, .. } if fsync == "always"),
        "{found}"
    );
    // CONFIG refused, as managed services often do: Unknown, not an error.
    let mut admin = aof.admin();
    redis::cmd("ACL")
        .arg(&["SETUSER", "app", "on", ">app-pw", "~*", "+@all", "-config"][..])
        .query::<redis::Value>(&mut *admin)
        .unwrap();
    let url = aof.urls()[0].replacen("redis://", "redis://app:app-pw@", 1);
    let limited = RedisStore::open(&url).unwrap();
    limited.ping().unwrap();
    assert!(
        matches!(limited.persistence(), Ok(Found::Unknown(_))),
        "{:?}",
        limited.persistence()
    );
    // Unreachable: an error.
    let mut gone = Redis::start(Kind::Plain);
    let store = gone.store();
    gone.stop();
    assert!(matches!(
        store.persistence(),
        Err(StoreError::Unavailable(_))
    ));
}
