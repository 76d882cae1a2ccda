//! Proof of work through the service's handlers: level 0 needs no proof,
//! a challenge at a non-zero level needs its own proof (a missing, wrong
//! or spliced one burns it like a wrong answer), and the default policy
//! climbs for a failing client and comes back down.

use std::sync::Arc;

use qcaptcha::api::{CaptchaQuery, ParamError};
use qcaptcha::pow::{self, PowLevel, PowPolicy, Puzzle, Surge};
use qcaptcha::store::RecordKind;
use qcaptcha::testing::ManualClock;
use qcaptcha::widget::ChallengeError;
use qcaptcha::{CaptchaService, HttpResponse, KeyRing, MemoryStore, ServiceError};
use serde_json::Value;

mod common;
use common::{form, json, puzzle_from_json, race, wins, CHECK_FIELDS, CLIENT, QUERY, T0};

/// Small enough for debug builds: 2^6 attempts of 20 iterations.
const LEVEL: PowLevel = PowLevel::new(6, 20);

fn service(policy: PowPolicy) -> (CaptchaService, KeyRing, Arc<ManualClock>) {
    service_with(policy, Arc::new(MemoryStore::new(10_000)))
}

fn service_with(
    policy: PowPolicy,
    store: Arc<MemoryStore>,
) -> (CaptchaService, KeyRing, Arc<ManualClock>) {
    let ring = KeyRing::new(1, [0x42; 32]);
    let clock = Arc::new(ManualClock::new(T0));
    let service = CaptchaService::builder("/cap")
        .keys(ring.clone())
        .store(store)
        .clock(clock.clone())
        .pow(policy)
        // Many tries from one address in a frozen minute, many pictures in
        // one session: the limits are
        // tested elsewhere.
        .limits(qcaptcha::Limits::unlimited())
        .build()
        .unwrap();
    (service, ring, clock)
}

fn query_for(ip: &str) -> CaptchaQuery {
    let q = QUERY.replace("121.14.96.121", ip);
    CaptchaQuery::from_pairs(form_urlencoded::parse(q.as_bytes())).unwrap()
}

fn query() -> CaptchaQuery {
    query_for("121.14.96.121")
}

fn with_pow(challenge: &str, answer: &str, pow: &str) -> String {
    format!("{}&pow={pow}", form(challenge, answer))
}

fn answer(s: &CaptchaService, c: &str) -> String {
    s.answer_for_challenge(c).unwrap().as_str().to_owned()
}

fn proof_error(resp: &HttpResponse) -> bool {
    matches!(
        resp.error,
        Some(ServiceError::Challenge(ChallengeError::WrongProof))
    )
}

/// The puzzle the server sealed (tests hold the ring; a client reads the
/// same values from the `pow` JSON).
fn sealed(ring: &KeyRing, c: &str) -> Puzzle {
    ring.open_challenge(c).unwrap().puzzle
}

#[test]
fn level_zero_needs_no_proof() {
    let (s, ring, _) = service(PowPolicy::default());
    let w = s.widget(&query()).unwrap();
    assert!(w.puzzle.is_none());
    assert!(sealed(&ring, &w.challenge).is_none());
    assert!(w.script.contains("\"pow\":null"));
    let body = json(&s.handle_verify(&form(&w.challenge, &answer(&s, &w.challenge)), CLIENT));
    assert_eq!(body["code"], 0, "{body}");
    // A stray pow field at level 0 is ignored.
    let w = s.widget(&query()).unwrap();
    let body = json(&s.handle_verify(
        &with_pow(&w.challenge, &answer(&s, &w.challenge), "junk"),
        CLIENT,
    ));
    assert_eq!(body["code"], 0, "{body}");
}

#[test]
fn a_proof_and_the_answer_yield_a_ticket() {
    let (s, ring, _) = service(PowPolicy::fixed(LEVEL));
    let w = s.widget(&query()).unwrap();
    assert_eq!(w.puzzle.level(), LEVEL);
    assert_eq!(sealed(&ring, &w.challenge), w.puzzle);
    // The script carries the same puzzle for the widget.
    let counter = pow::solve(&w.challenge, &w.puzzle).unwrap();
    let body = json(&s.handle_verify(
        &with_pow(
            &w.challenge,
            &answer(&s, &w.challenge),
            &counter.to_string(),
        ),
        CLIENT,
    ));
    assert_eq!(body["code"], 0, "{body}");
    let ticket = body["ticket"].as_str().unwrap();
    assert_eq!(json(&common::check(&s, ticket, CHECK_FIELDS))["code"], 0);
}

#[test]
fn a_missing_or_wrong_proof_stores_nothing() {
    let store = Arc::new(MemoryStore::new(10_000));
    let (s, _, _) = service_with(PowPolicy::fixed(LEVEL), store.clone());
    let bad_proofs: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("abc".into()),
        Some("-1".into()),
        Some("+1".into()),
        Some("4294967296".into()),
        Some("00000000000".into()),
    ];
    for (held, bad) in bad_proofs.into_iter().enumerate() {
        let w = s.widget(&query()).unwrap();
        let right = answer(&s, &w.challenge);
        let f = match &bad {
            None => form(&w.challenge, &right),
            Some(p) => with_pow(&w.challenge, &right, p),
        };
        let resp = s.handle_verify(&f, CLIENT);
        assert!(proof_error(&resp), "{bad:?}: {:?}", resp.error);
        let body = json(&resp);
        assert_eq!(body["code"], 5100);
        assert!(body.get("ticket").is_none());
        // No session record, and no next picture to spend the work on:
        // a garbage proof costs the server one derivation and nothing else.
        assert!(body.get("challenge").is_none(), "{body}");
        assert_eq!(store.len_of(RecordKind::Session), held);
        // The picture is still the one to answer, with its proof.
        let counter = pow::solve(&w.challenge, &w.puzzle).unwrap();
        let again = json(&s.handle_verify(
            &with_pow(&w.challenge, &right, &counter.to_string()),
            CLIENT,
        ));
        assert_eq!(again["code"], 0, "{bad:?}: {again}");
        assert_eq!(store.len_of(RecordKind::Session), held + 1);
    }
    // A counter that does not solve the puzzle: the first counter that
    // fails, so the test cannot pass by luck.
    let w = s.widget(&query()).unwrap();
    let wrong = (0..)
        .find(|&c| !pow::verify(&w.challenge, &w.puzzle, c))
        .unwrap();
    let resp = s.handle_verify(
        &with_pow(&w.challenge, &answer(&s, &w.challenge), &wrong.to_string()),
        CLIENT,
    );
    assert!(proof_error(&resp));
    // Two pow fields: refused as a bad request, not "the first one wins".
    let w = s.widget(&query()).unwrap();
    let c = pow::solve(&w.challenge, &w.puzzle).unwrap();
    let f = format!(
        "{}&pow=999999&pow={c}",
        form(&w.challenge, &answer(&s, &w.challenge))
    );
    let resp = s.handle_verify(&f, CLIENT);
    assert_eq!(
        (resp.status, json(&resp)["code"].as_i64()),
        (400, Some(4000))
    );
    assert_eq!(
        resp.error,
        Some(ServiceError::Param(ParamError::Duplicate("pow")))
    );
}

#[test]
fn a_proof_is_worth_nothing_for_another_challenge() {
    let (s, _, _) = service(PowPolicy::fixed(LEVEL));
    let a = s.widget(&query()).unwrap();
    let counter = pow::solve(&a.challenge, &a.puzzle).unwrap();
    // Another challenge (same level, same client) that this counter does
    // not happen to solve (1 in 64 would): the spliced proof is refused
    // and burns it.
    let b = (0..64)
        .map(|_| s.widget(&query()).unwrap())
        .find(|b| !pow::verify(&b.challenge, &b.puzzle, counter))
        .unwrap();
    let resp = s.handle_verify(
        &with_pow(
            &b.challenge,
            &answer(&s, &b.challenge),
            &counter.to_string(),
        ),
        CLIENT,
    );
    assert!(proof_error(&resp), "{:?}", resp.error);
    // The proof still works for its own challenge.
    let body = json(&s.handle_verify(
        &with_pow(
            &a.challenge,
            &answer(&s, &a.challenge),
            &counter.to_string(),
        ),
        CLIENT,
    ));
    assert_eq!(body["code"], 0, "{body}");
    // And only once: the same proof and answer again is a used challenge.
    let resp = s.handle_verify(
        &with_pow(
            &a.challenge,
            &answer(&s, &a.challenge),
            &counter.to_string(),
        ),
        CLIENT,
    );
    assert!(matches!(
        resp.error,
        Some(ServiceError::Challenge(ChallengeError::Used))
    ));
}

#[test]
fn the_level_is_read_from_the_token_not_the_client() {
    // Two services with the same key: one asks for proofs, one does not.
    // A challenge sealed at a level keeps it on any node, whatever that
    // node's policy: the level travels sealed in the token.
    let (hard, _, _) = service(PowPolicy::fixed(LEVEL));
    let (calm, _, _) = service(PowPolicy::off());
    let w = hard.widget(&query()).unwrap();
    let resp = calm.handle_verify(&form(&w.challenge, &answer(&calm, &w.challenge)), CLIENT);
    assert!(proof_error(&resp), "{:?}", resp.error);
    // And the other way round: a level-0 challenge needs nothing on the
    // hard node.
    let w = calm.widget(&query()).unwrap();
    let body = json(&hard.handle_verify(&form(&w.challenge, &answer(&hard, &w.challenge)), CLIENT));
    assert_eq!(body["code"], 0);
}

#[test]
fn refresh_reports_the_level() {
    let (s, ring, _) = service(PowPolicy::fixed(LEVEL));
    let w = s.widget(&query()).unwrap();
    let body = json(&s.handle_refresh(&form(&w.challenge, ""), CLIENT));
    assert_eq!(body["code"], 0);
    let next = body["challenge"].as_str().unwrap();
    assert_eq!(puzzle_from_json(&body["pow"]), sealed(&ring, next));
    // Fresh salt for each challenge.
    assert_ne!(sealed(&ring, next).salt, w.puzzle.salt);
}

/// Pays the proof (if any) and answers; returns the JSON.
fn attempt(s: &CaptchaService, c: &str, p: &Puzzle, right: bool) -> Value {
    let a = if right { answer(s, c) } else { "WRONGX".into() };
    let counter = pow::solve(c, p).unwrap();
    json(&s.handle_verify(&with_pow(c, &a, &counter.to_string()), CLIENT))
}

/// The default policy with levels small enough for a debug build: none,
/// then `first_bits`, one more and two more bits, at `iterations`.
fn small_ladder(first_bits: u8, iterations: u32) -> PowPolicy {
    PowPolicy::default().levels(vec![
        PowLevel::NONE,
        PowLevel::new(first_bits, iterations),
        PowLevel::new(first_bits + 1, iterations),
        PowLevel::new(first_bits + 2, iterations),
    ])
}

#[test]
fn the_default_policy_climbs_for_a_failing_client_and_comes_down() {
    // The default thresholds with small levels, so a debug build solves
    // them quickly.
    let policy = small_ladder(2, 5);
    let (s, _, clock) = service(policy);
    let w = s.widget(&query()).unwrap();
    assert!(w.puzzle.is_none());
    let (mut c, mut p) = (w.challenge, w.puzzle);
    let mut bits = vec![];
    for _ in 0..14 {
        clock.advance(10);
        let body = attempt(&s, &c, &p, false);
        assert_eq!(body["code"], 5100);
        c = body["challenge"].as_str().unwrap().to_owned();
        p = puzzle_from_json(&body["pow"]);
        bits.push(p.bits);
    }
    assert_eq!(bits[0], 0, "{bits:?}");
    assert!(bits.windows(2).all(|w| w[0] <= w[1]), "{bits:?}");
    assert_eq!(*bits.last().unwrap(), 4, "{bits:?}");
    // Another client is not affected.
    assert!(s
        .widget(&query_for("203.0.113.5"))
        .unwrap()
        .puzzle
        .is_none());
    // Succeeding brings it down: within a few right answers (a minute
    // apart, as a person would) the level is 0 again.
    let mut downs = vec![];
    for _ in 0..6 {
        clock.advance(60);
        let body = attempt(&s, &c, &p, true);
        assert_eq!(body["code"], 0, "{body}");
        let w = s.widget(&query()).unwrap();
        downs.push(w.puzzle.bits);
        (c, p) = (w.challenge, w.puzzle);
    }
    assert!(downs.windows(2).all(|w| w[0] >= w[1]), "{downs:?}");
    assert_eq!(*downs.last().unwrap(), 0, "{downs:?}");
}

#[test]
fn a_flood_of_challenges_from_one_client_raises_its_level() {
    let (s, _, clock) = service(PowPolicy::default());
    let mut top = 0;
    for i in 0..200 {
        if i % 2 == 0 {
            clock.advance(1);
        }
        top = top.max(s.widget(&query()).unwrap().puzzle.bits);
    }
    assert_eq!(top, PowPolicy::default().levels.last().unwrap().bits);
}

#[test]
fn policies_are_validated_by_the_builder() {
    let bad = PowPolicy::default().levels(vec![PowLevel::new(30, 1)]);
    assert!(CaptchaService::builder("/c").pow(bad).build().is_err());
    let bad = PowPolicy::default().failure_thresholds(vec![5.0, 1.0]);
    assert!(CaptchaService::builder("/c").pow(bad).build().is_err());
}

#[test]
fn racing_proofs_for_one_challenge_yield_one_ticket() {
    // The same valid proof and answer from 8 threads at once: the one
    // attempt is recorded before the proof is checked, so one wins.
    let (s, _, _) = service(PowPolicy::fixed(LEVEL));
    let s = Arc::new(s);
    for _ in 0..5 {
        let w = s.widget(&query()).unwrap();
        let counter = pow::solve(&w.challenge, &w.puzzle).unwrap();
        let f = with_pow(
            &w.challenge,
            &answer(&s, &w.challenge),
            &counter.to_string(),
        );
        let s2 = Arc::clone(&s);
        let results = race(8, move |_| {
            json(&s2.handle_verify(&f, CLIENT)).get("ticket").is_some()
        });
        assert_eq!(wins(results), 1);
    }
}

#[test]
fn racing_clients_keep_their_own_levels() {
    // 8 threads: 4 failing clients and 4 succeeding ones, each on its own
    // address, all at once through one service: the failing ones climb,
    // the others stay at 0.
    // Each on its own network, and the business's surge off: the price
    // of many sessions at once is tested in tests/defence.rs.
    let policy = small_ladder(1, 2).surge(Surge::off());
    let (s, _, _) = service(policy);
    let s = Arc::new(s);
    let s2 = Arc::clone(&s);
    let tops = race(8, move |i| {
        let ip = format!("192.0.{}.1", i + 1);
        let fail = i % 2 == 0;
        let w = s2.widget(&query_for(&ip)).unwrap();
        let (mut c, mut p) = (w.challenge, w.puzzle);
        let mut top = 0;
        // The clock stands still: 20 failures for the failing ones, and
        // only a few successes for the others (a dozen challenges within a
        // minute is itself a rate that raises the level).
        for _ in 0..if fail { 20 } else { 4 } {
            let body = attempt(&s2, &c, &p, !fail);
            let next = if fail {
                (
                    body["challenge"].as_str().unwrap().to_owned(),
                    puzzle_from_json(&body["pow"]),
                )
            } else {
                assert_eq!(body["code"], 0, "{body}");
                let w = s2.widget(&query_for(&ip)).unwrap();
                (w.challenge, w.puzzle)
            };
            (c, p) = next;
            top = top.max(p.bits);
        }
        top
    });
    for (i, top) in tops.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(*top, 3, "failing client {i}: {tops:?}");
        } else {
            assert_eq!(*top, 0, "succeeding client {i}: {tops:?}");
        }
    }
}

#[test]
fn the_clip_asks_for_the_same_proof_and_does_not_spend_the_attempt() {
    let (s, _, _) = service(PowPolicy::fixed(LEVEL));
    let w = s.widget(&query()).unwrap();
    let c = common::urlencode(&w.challenge);
    let without = s.handle_audio(&format!("c={c}"), CLIENT);
    assert_eq!(without.status, 400);
    assert!(proof_error(&without));
    assert!(proof_error(
        &s.handle_audio(&format!("c={c}&pow=1x"), CLIENT)
    ));
    let counter = pow::solve(&w.challenge, &w.puzzle).unwrap();
    let clip = s.handle_audio(&format!("c={c}&pow={counter}"), CLIENT);
    assert_eq!((clip.status, clip.content_type), (200, "audio/wav"));
    // Another challenge's proof is no good for this clip.
    let other = s.widget(&query()).unwrap();
    let theirs = pow::solve(&other.challenge, &other.puzzle).unwrap();
    if !pow::verify(&w.challenge, &w.puzzle, theirs) {
        assert!(proof_error(
            &s.handle_audio(&format!("c={c}&pow={theirs}"), CLIENT)
        ));
    }
    // Listening spent nothing: the answer with its proof still wins.
    let body = json(&s.handle_verify(
        &with_pow(
            &w.challenge,
            &answer(&s, &w.challenge),
            &counter.to_string(),
        ),
        CLIENT,
    ));
    assert_eq!(body["code"], 0, "{body}");
}
