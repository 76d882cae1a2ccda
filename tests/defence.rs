//! No off-switch, and bots pay (issues 20 and 21), on the memory store:
//! the price rises with a business's volume and with one network's
//! tickets and falls after; full tables take room from the flood, never
//! from a person, and every limit still holds once they are full; the
//! floods of issue 20 leave a person at another network 5 of 5.
//! (`tests/redis_store.rs` runs the price scenarios on Redis.)

use std::sync::Arc;

use qcaptcha::api::CaptchaQuery;
use qcaptcha::pow::PowPolicy;
use qcaptcha::sign::SignatureMethod;
use qcaptcha::store::RecordKind;
use qcaptcha::testing::ManualClock;
use qcaptcha::{CaptchaService, Credentials, KeyRing, Limits, MemoryStore, ReplayStore};

mod common;
use common::price::{self, cheap_policy, level_of, session_of};
use common::{
    api_request, json, minute_start, signed_query, signed_query_of, CHECK_FIELDS, CLIENT, QUERY, T0,
};

/// The person's CaptchaQuery: another network than the flood's.
fn person_query() -> String {
    QUERY.replace("121.14.96.121", "10.77.0.77")
}

fn node(store: Arc<dyn ReplayStore>, clock: &Arc<ManualClock>, limits: Limits) -> CaptchaService {
    CaptchaService::builder("/cap")
        .keys(KeyRing::new(1, [0x42; 32]))
        .store(store)
        .clock(clock.clone())
        .pow(cheap_policy())
        .limits(limits)
        .build()
        .unwrap()
}

/// Two nodes sharing one memory store.
fn pair(clock: &Arc<ManualClock>, limits: Limits) -> (CaptchaService, CaptchaService) {
    let store: Arc<dyn ReplayStore> = Arc::new(MemoryStore::new(10_000));
    (
        node(store.clone(), clock, limits),
        node(store, clock, limits),
    )
}

#[test]
fn the_level_rises_with_business_volume_and_falls_after() {
    price::scenario_surge(&pair);
}

#[test]
fn the_top_level_holds_until_the_volume_falls_well_below_it() {
    price::scenario_surge_hold(&pair);
}

#[test]
fn the_level_rises_with_one_networks_tickets_and_falls_after() {
    price::scenario_ticket_rate(&pair);
}

#[test]
fn a_business_over_its_budget_pays_the_top_level_instead_of_being_refused() {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let limits = Limits::unlimited()
        .business_sessions_per_minute(5)
        .prefix_sessions_per_minute(3);
    let store = Arc::new(MemoryStore::new(1_000));
    // The surge off: the budget alone.
    let s = CaptchaService::builder("/cap")
        .store(store)
        .clock(clock.clone())
        .pow(cheap_policy().surge(qcaptcha::pow::Surge::off()))
        .limits(limits)
        .build()
        .unwrap();
    for i in 0..5 {
        assert_eq!(level_of(&session_of(&s, &format!("10.{i}.0.1"), 1).1), 0);
    }
    // Over budget: newcomers get in, at the top level ...
    for i in 0..20 {
        assert_eq!(
            level_of(&session_of(&s, &format!("10.{}.0.1", 50 + i), 1).1),
            3
        );
    }
    // ... and only a network over its share (3 a minute) is refused.
    for host in 1..=3 {
        assert_eq!(
            level_of(&session_of(&s, &format!("10.99.0.{host}"), 1).1),
            3
        );
    }
    let q = CaptchaQuery::from_query_string(&QUERY.replace("121.14.96.121", "10.99.0.4")).unwrap();
    let e = s.widget(&q).unwrap_err();
    assert_eq!(e.code().code(), 4400);
    // Another business is untouched.
    assert_eq!(level_of(&session_of(&s, "10.99.0.5", 2).1), 0);
}

#[test]
fn a_floor_applies_to_its_business_and_scene_only() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = CaptchaService::builder("/cap")
        .clock(clock)
        .pow(cheap_policy().floor(1, Some(3), 2))
        .limits(Limits::unlimited())
        .build()
        .unwrap();
    // QUERY is business 1, scene 3.
    assert_eq!(level_of(&session_of(&s, "10.0.0.1", 1).1), 2);
    assert_eq!(level_of(&session_of(&s, "10.0.0.2", 4).1), 0);
}

/// A business that expects a surge gets its own settings: the same
/// burst takes the others to the top and leaves it lower.
#[test]
fn a_business_can_have_its_own_surge_settings() {
    let clock = Arc::new(ManualClock::new(T0));
    let sale = qcaptcha::pow::Surge::default().normal_bounds(30.0, 3_000.0);
    let s = CaptchaService::builder("/cap")
        .clock(clock.clone())
        .pow(cheap_policy().surge_for(5, sale))
        .limits(Limits::unlimited())
        .build()
        .unwrap();
    // 40 sessions in 10 s for businesses 4 and 5, each from its own
    // network: about 28 a minute on the volume counter after them.
    let mut last = [0, 0];
    for i in 0..40 {
        for (j, business) in [4u64, 5].into_iter().enumerate() {
            last[j] = level_of(&session_of(&s, &format!("10.{i}.{j}.1"), business).1);
        }
        if i % 4 == 3 {
            clock.advance(1);
        }
    }
    // Business 4 is over 3 times its floor of 6 a minute; business 5
    // under 1.5 times its own 30.
    assert_eq!(last, [3, 0]);
}

/// Scenario 1 of issue 20: one address floods signed CaptchaQuery; the
/// per-userIp limit refuses it and nothing of the refused calls is
/// stored, so the Nonce table never fills and a person at another address
/// goes on.
#[test]
fn a_flood_of_signed_queries_stores_no_nonce_it_refuses() {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let store = Arc::new(MemoryStore::new(1_000));
    let s = CaptchaService::builder("/cap")
        .keys(KeyRing::new(1, [0x42; 32]))
        .credentials(Credentials::new("AKIDtest", "s3cret-key"))
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let call = |params: &str| json(&s.handle_query(api_request(params)));
    let now = minute_start();
    let (mut passed, mut refused) = (0, 0);
    for nonce in 1..=5_000u64 {
        match call(&signed_query(SignatureMethod::HmacSha256, now, nonce, ""))["code"].as_u64() {
            Some(0) => passed += 1,
            Some(4400) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(passed, 20, "the per-userIp limit");
    assert_eq!(refused, 4_980);
    assert_eq!(store.len_of(RecordKind::Nonce), 20, "only accepted Nonces");
    // A replayed accepted Nonce is still a replay; a refused one is not
    // recorded but refused again by the limit.
    assert_eq!(
        call(&signed_query(SignatureMethod::HmacSha256, now, 1, ""))["code"],
        4400
    );
    // A person at another address, 5 of 5.
    for nonce in 0..5u64 {
        let q = signed_query_of(
            &person_query(),
            SignatureMethod::HmacSha256,
            now,
            1_000_000 + nonce,
        );
        assert_eq!(call(&q)["code"], 0, "person {nonce}");
    }
}

/// A full Nonce table takes room from the heaviest network: every old
/// Nonce of it stays a replay, a person's Nonces are exact.
#[test]
fn a_full_nonce_table_never_refuses_a_newcomer_nor_forgets_a_nonce() {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let store = Arc::new(MemoryStore::new(50));
    let s = CaptchaService::builder("/cap")
        .credentials(Credentials::new("AKIDtest", "s3cret-key"))
        .store(store.clone())
        .clock(clock.clone())
        .limits(Limits::unlimited())
        .pow(PowPolicy::off())
        .build()
        .unwrap();
    let call = |params: &str| json(&s.handle_query(api_request(params)))["code"].as_u64();
    let now = minute_start();
    let person = |nonce: u64, ts: u64| {
        signed_query_of(&person_query(), SignatureMethod::HmacSha1, ts, nonce)
    };
    assert_eq!(call(&person(1_000_007, now)), Some(0));
    // 500 accepted calls for one network, older Timestamps first.
    for nonce in 1..=500u64 {
        let q = signed_query(SignatureMethod::HmacSha1, now - 1_000 + nonce, nonce, "");
        assert_eq!(call(&q), Some(0), "flood {nonce}");
        assert!(store.len_of(RecordKind::Nonce) <= 50);
    }
    // Every flood Nonce is still a replay (4500), kept or pushed out.
    for nonce in (1..=500u64).step_by(7) {
        let q = signed_query(SignatureMethod::HmacSha1, now - 1_000 + nonce, nonce, "");
        assert_eq!(call(&q), Some(4500), "replayed flood {nonce}");
    }
    // The person's Nonce is remembered, and new ones pass.
    assert_eq!(call(&person(1_000_007, now)), Some(4500));
    assert_eq!(call(&person(1_000_008, now)), Some(0));
}

/// Scenario 3 of issue 20: wrong answers of 41 businesses fill the session
/// table; a person's right answer still gets its ticket.
#[test]
fn wrong_answers_filling_the_session_table_do_not_refuse_a_person() {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let store = Arc::new(MemoryStore::new(200));
    let s = CaptchaService::builder("/cap")
        .store(store.clone())
        .clock(clock.clone())
        .limits(Limits::unlimited())
        .pow(PowPolicy::off())
        .build()
        .unwrap();
    let (mine, _) = session_of(&s, "10.77.0.77", 1);
    for i in 0..2_000u64 {
        let (c, _) = session_of(&s, &format!("10.{}.{}.1", i % 41, i / 41 % 200), i % 41);
        let body = json(&s.handle_verify(&common::form(&c, "XXXX"), CLIENT));
        assert_eq!(body["code"], 5100);
        assert!(store.len_of(RecordKind::Session) <= 200);
    }
    let ticket = common::solve(&s, &mine);
    let check = common::check(
        &s,
        &ticket,
        &CHECK_FIELDS.replace("121.14.96.121", "10.77.0.77"),
    );
    assert_eq!(json(&check)["code"], 0);
}

/// Scenario 4 of issue 20 and "after any table fills, every limit still
/// holds": every limit scenario against a store whose tables a flood has
/// already filled (rate counters of 5,000 userIps, sessions, tickets and
/// Nonces of another network).
#[test]
fn every_limit_holds_once_the_tables_are_full() {
    let make = |clock: &Arc<ManualClock>, limits: Limits| {
        let store = Arc::new(MemoryStore::new(256));
        let now = qcaptcha::Clock::now(clock.as_ref());
        for i in 0..5_000u32 {
            let ip = std::net::Ipv4Addr::from(0xac10_0000 + i); // 172.16/12
            store.count_hit(&format!("q:u:{ip}"), 60, now).unwrap();
            store.count_hit(&format!("w:a:{ip}"), 60, now).unwrap();
        }
        for kind in RecordKind::ALL {
            for i in 0..1_000u32 {
                let id = format!("flood-{i}");
                store
                    .record_held_use(kind, "9/172.16.0.0/24", &id, now + 600, 1, now)
                    .unwrap();
            }
        }
        assert_eq!(store.rate_counters(), 256);
        assert_eq!(store.len(), 3 * 256);
        common::service_without_pow(store, clock, limits)
    };
    common::scenario_every_limit(&make, 3);
}

/// A garbage proof costs the server one derivation and stores nothing,
/// and weighs five answers on its client's limit: a client sending them
/// gets a fifth as many checks a minute.
#[test]
fn garbage_proofs_store_nothing_and_weigh_five_answers() {
    let clock = Arc::new(ManualClock::new(minute_start()));
    let store = Arc::new(MemoryStore::new(1_000));
    let s = CaptchaService::builder("/cap")
        .keys(KeyRing::new(1, [0x42; 32]))
        .store(store.clone())
        .clock(clock.clone())
        .pow(PowPolicy::fixed(qcaptcha::pow::PowLevel::new(6, 20)))
        .limits(Limits::default().client_answers_per_minute(15))
        .build()
        .unwrap();
    let w = s
        .widget(&CaptchaQuery::from_query_string(QUERY).unwrap())
        .unwrap();
    let answer = s.answer_for_challenge(&w.challenge).unwrap();
    let wrong = (0..)
        .find(|&c| !qcaptcha::pow::verify(&w.challenge, &w.puzzle, c))
        .unwrap();
    let garbage = format!(
        "{}&pow={wrong}",
        common::form(&w.challenge, answer.as_str())
    );
    let mut checked = 0;
    for _ in 0..15 {
        let resp = s.handle_verify(&garbage, CLIENT);
        match resp.status {
            200 => checked += 1,
            429 => break,
            other => panic!("{other}"),
        }
    }
    assert_eq!(checked, 3);
    assert_eq!(store.len_of(RecordKind::Session), 0);
    // The right proof, once the minute has passed, still gets the ticket.
    clock.advance(120);
    let counter = qcaptcha::pow::solve(&w.challenge, &w.puzzle).unwrap();
    let right = format!(
        "{}&pow={counter}",
        common::form(&w.challenge, answer.as_str())
    );
    assert!(json(&s.handle_verify(&right, CLIENT))["ticket"].is_string());
}
