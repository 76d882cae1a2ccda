//! End-to-end tests of the protocol layer through the framework-neutral
//! handlers: CaptchaQuery -> image -> verify -> ticket -> CaptchaCheck.

use std::sync::Arc;

use qcaptcha::api::{CaptchaQuery, ParamError};
use qcaptcha::sign::SignatureMethod;
use qcaptcha::store::RecordKind;
use qcaptcha::testing::ManualClock;
use qcaptcha::tokens::BindingField;
use qcaptcha::tokens::{KeyError, MAX_CLOCK_SKEW_SECS};
use qcaptcha::widget::ChallengeError;
use qcaptcha::{
    ApiRequest, CaptchaService, CheckFailure, Credentials, HttpResponse, KeyRing, Limits,
    MemoryStore, ServiceError, TicketMode,
};

mod common;
use common::{
    challenge_in, check_error, form, json, race, urlencode, wins, CHECK_FIELDS, CLIENT, QUERY, T0,
};

struct Fixture {
    service: Arc<CaptchaService>,
    clock: Arc<ManualClock>,
    ring: KeyRing,
}

fn fixture_with(mode: TicketMode, store: Arc<MemoryStore>) -> Fixture {
    let ring = KeyRing::new(1, [0x42; 32]);
    let clock = Arc::new(ManualClock::new(T0));
    let service = CaptchaService::builder("https://captcha.example/cap")
        .keys(ring.clone())
        .store(store)
        .ticket_mode(mode)
        .clock(clock.clone())
        // The protocol tests make many requests from one address within one
        // (frozen) minute: no rate limits here; `limits_*` tests them.
        .limits(Limits::unlimited().session_pictures(10))
        // Nor proofs of work (tests/pow.rs and tests/defence.rs).
        .pow(qcaptcha::pow::PowPolicy::off())
        .build()
        .unwrap();
    Fixture {
        service: Arc::new(service),
        clock,
        ring,
    }
}

fn fixture() -> Fixture {
    fixture_with(TicketMode::SingleUse, Arc::new(MemoryStore::new(10_000)))
}

fn query_challenge(f: &Fixture, query: &str) -> String {
    let q = CaptchaQuery::from_pairs(form_urlencoded::parse(query.as_bytes())).unwrap();
    f.service.widget(&q).unwrap().challenge
}

fn solve(f: &Fixture, challenge: &str) -> String {
    common::solve(&f.service, challenge)
}

fn check(f: &Fixture, ticket: &str, fields: &str) -> HttpResponse {
    common::check(&f.service, ticket, fields)
}

#[test]
fn round_trip_query_image_verify_check() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);

    let img = f
        .service
        .handle_image(&format!("c={}", urlencode(&challenge)), CLIENT);
    assert_eq!(img.status, 200);
    assert_eq!(img.content_type, "image/png");
    assert_eq!(&img.body[..8], b"\x89PNG\r\n\x1a\n");
    // The image is the picture of the sealed seed and type.
    let sealed = f.ring.open_challenge(&challenge).unwrap();
    let expected = qcaptcha::generate(sealed.binding.captcha_type, sealed.seed).unwrap();
    assert_eq!(img.body, expected.png());

    let ticket = solve(&f, &challenge);
    let ok = check(&f, &ticket, CHECK_FIELDS);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, br#"{"code":0,"message":"No Error"}"#);
    assert_eq!(ok.error, None);

    // Single use by default.
    let again = check(&f, &ticket, CHECK_FIELDS);
    assert_eq!(json(&again)["code"], 5100);
    assert_eq!(check_error(&again), Some(CheckFailure::Reused));
    // The wire answer does not reveal the reason.
    assert!(!again.text().contains("used"));
}

#[test]
fn script_1_answers_javascript_and_failures_call_the_callback() {
    let f = fixture();
    let q = QUERY.replace("script=0", "script=1");
    let resp = f.service.handle_query(ApiRequest::from_params(&q));
    assert_eq!(resp.content_type, "application/javascript; charset=utf-8");
    let js = resp.text();
    assert!(js.contains("window.capInit"));
    assert!(f.service.answer_for_challenge(&challenge_in(&js)).is_ok());
    assert!(js.contains("https://captcha.example/cap/verify"));

    // Failure (bad userIp) with a valid callBack: JS that calls it.
    let bad = q.replace("userIp=121.14.96.121", "userIp=nope") + "&callBack=app.onFail";
    let resp = f.service.handle_query(ApiRequest::from_params(&bad));
    assert_eq!(resp.content_type, "application/javascript; charset=utf-8");
    let js = resp.text();
    assert!(js.contains("app.onFail({\"code\":4000,"), "{js}");
    assert!(js.contains("userIp"));
    assert!(!js.contains("capInit"));

    // Failure with script=0: JSON naming the parameter.
    let resp = f.service.handle_query(ApiRequest::from_params(
        &QUERY.replace("captchaType=6", "captchaType=9"),
    ));
    let body = json(&resp);
    assert_eq!(body["code"], 4000);
    assert!(body["message"].as_str().unwrap().contains("captchaType"));
}

#[test]
fn callback_injection_is_never_echoed() {
    let f = fixture();
    for attack in [
        "alert(1)//",
        "a;b",
        "</script>",
        "x){alert(1)}//",
        "a\u{2028}b",
    ] {
        for base in [
            QUERY.replace("script=0", "script=1"),
            // Also when another parameter fails, which is when the callBack
            // would be called.
            QUERY
                .replace("script=0", "script=1")
                .replace("businessId=1", "businessId=x"),
        ] {
            let q = format!("{base}&callBack={}", urlencode(attack));
            let resp = f.service.handle_query(ApiRequest::from_params(&q));
            let body = json(&resp);
            assert_eq!(body["code"], 4000, "{attack}");
            assert!(!resp.text().contains(attack), "{attack} echoed");
            assert!(!resp.text().contains("<"));
        }
    }
}

#[test]
fn widget_reveals_no_answer_and_no_seed() {
    let f = fixture();
    let mut code = None;
    for i in 0..20 {
        let q = QUERY.replace("captchaType=6", &format!("captchaType={}", i % 8 + 1));
        let resp = f.service.handle_query(ApiRequest::from_params(&q));
        let body = json(&resp);
        let js = body["script"].as_str().unwrap();
        let challenge = challenge_in(js);
        let sealed = f.ring.open_challenge(&challenge).unwrap();
        let answer = f.service.answer_for_challenge(&challenge).unwrap();
        // The script is constant code around one configuration object.
        let start = js.find("var CFG = ").expect("config") + "var CFG = ".len();
        let len = js[start..].find(";\n").expect("end of config");
        let config: serde_json::Value = serde_json::from_str(&js[start..start + len]).unwrap();
        let rest = js.replacen(&js[start..start + len], "", 1);
        assert_eq!(
            code.get_or_insert_with(|| rest.clone()),
            &rest,
            "code varies"
        );
        // Its values: the sealed token (opaque), routes, a lifetime and the
        // proof-of-work puzzle; none holds the answer or the seed.
        assert_eq!(config["challenge"], challenge.as_str());
        let mut shown = config.clone();
        shown["challenge"] = serde_json::Value::Null;
        let shown = shown.to_string().to_lowercase();
        assert!(
            !shown.contains(&answer.as_str().to_lowercase()),
            "answer in {shown}"
        );
        assert!(!shown.contains(&sealed.seed.to_string()), "seed in {shown}");
        assert!(
            !shown.contains(&format!("{:x}", sealed.seed)),
            "seed in {shown}"
        );
        // The only variable part of the script is the sealed token.
        assert_eq!(js.matches(&challenge).count(), 1);
    }
}

#[test]
fn one_attempt_per_challenge() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let answer = f.service.answer_for_challenge(&challenge).unwrap();

    // A wrong answer burns the challenge and hands over the next one.
    let resp = f.service.handle_verify(&form(&challenge, "WRONGX"), CLIENT);
    let body = json(&resp);
    assert_eq!(body["code"], 5100);
    assert!(body.get("ticket").is_none());
    let next = body["challenge"].as_str().unwrap().to_owned();
    assert_ne!(next, challenge);
    assert!(body["ttl"].as_u64().unwrap() > 0);

    // The right answer is now too late for the burnt challenge.
    let resp = f
        .service
        .handle_verify(&form(&challenge, answer.as_str()), CLIENT);
    let body = json(&resp);
    assert_eq!(body["code"], 5100);
    assert!(body.get("ticket").is_none());

    // The next challenge keeps the binding and works.
    let ticket = solve(&f, &next);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);

    // A right answer burns it too.
    let resp = f.service.handle_verify(
        &form(
            &next,
            f.service.answer_for_challenge(&next).unwrap().as_str(),
        ),
        CLIENT,
    );
    assert!(json(&resp).get("ticket").is_none());
}

/// A form with a field twice is refused whole (4000, HTTP 400) and uses
/// nothing up: which `answer` counted would otherwise be the server's
/// guess.
#[test]
fn a_second_answer_is_refused_and_uses_nothing() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let answer = f.service.answer_for_challenge(&challenge).unwrap();
    for twice in [
        format!("{}&answer=WRONGX", form(&challenge, answer.as_str())),
        format!("{}&answer={}", form(&challenge, "WRONGX"), answer.as_str()),
    ] {
        let resp = f.service.handle_verify(&twice, CLIENT);
        assert_eq!(resp.status, 400, "{twice}");
        assert_eq!(json(&resp)["code"], 4000);
        assert!(json(&resp).get("challenge").is_none());
        assert_eq!(
            resp.error,
            Some(ServiceError::Param(ParamError::Duplicate("answer")))
        );
    }
    // The picture is still unused: its one attempt is still there.
    let resp = f
        .service
        .handle_verify(&form(&challenge, answer.as_str()), CLIENT);
    assert_eq!(json(&resp)["code"], 0);
    assert!(json(&resp)["ticket"].is_string());
}

#[test]
fn widget_tells_the_letter_count_of_each_picture() {
    let f = fixture();
    let mut counts = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let q = QUERY.replace("captchaType=6", "captchaType=8");
        let q = CaptchaQuery::from_pairs(form_urlencoded::parse(q.as_bytes())).unwrap();
        let widget = f.service.widget(&q).unwrap();
        let letters = f
            .service
            .answer_for_challenge(&widget.challenge)
            .unwrap()
            .len();
        assert_eq!(widget.letters, letters);
        assert!(widget.script.contains(&format!("\"letters\":{letters}")));
        counts.insert(letters);
    }
    // Type 8 draws 4 to 6 letters: the count follows each picture.
    assert_eq!(counts.len(), 3, "{counts:?}");
}

#[test]
fn interference_answers_accept_v_for_y() {
    let f = fixture();
    // QUERY asks for type 6 (interference): find a picture with a Y in it.
    let (challenge, answer) = (0..200)
        .map(|_| {
            let c = query_challenge(&f, QUERY);
            let a = f.service.answer_for_challenge(&c).unwrap();
            (c, a.as_str().to_owned())
        })
        .find(|(_, a)| a.contains('Y'))
        .expect("a Y within 200 pictures");
    let typed = answer.replace('Y', "v");
    let resp = f.service.handle_verify(&form(&challenge, &typed), CLIENT);
    assert!(json(&resp)["ticket"].is_string(), "{typed} for {answer}");
}

#[test]
fn refresh_and_expiry() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let resp = f
        .service
        .handle_refresh(&format!("c={}", urlencode(&challenge)), CLIENT);
    let body = json(&resp);
    assert_eq!(body["code"], 0);
    let fresh = body["challenge"].as_str().unwrap().to_owned();
    assert_eq!(body["ttl"], 300);
    let old = f.ring.open_challenge(&challenge).unwrap();
    let new = f.ring.open_challenge(&fresh).unwrap();
    assert_eq!(new.binding, old.binding);
    assert_eq!(new.session_expires_at, old.session_expires_at);
    assert_ne!(new.seed, old.seed);
    // The widget is told the letter count of each picture, and only that.
    let letters = |token: &str| f.service.answer_for_challenge(token).unwrap().len();
    assert_eq!(body["letters"], letters(&fresh));

    // After 5 minutes the picture is gone and answering hands a new one.
    f.clock.advance(300);
    let img = f
        .service
        .handle_image(&format!("c={}", urlencode(&fresh)), CLIENT);
    assert_eq!(img.status, 410);
    let answer = f.service.answer_for_challenge(&fresh).unwrap();
    let body = json(
        &f.service
            .handle_verify(&form(&fresh, answer.as_str()), CLIENT),
    );
    assert_eq!(body["code"], 4200);
    assert!(body.get("ticket").is_none());
    assert_eq!(
        body["letters"],
        letters(body["challenge"].as_str().unwrap())
    );

    // After the 30-minute session nothing more: the page must reload.
    f.clock.advance(1500);
    let resp = f
        .service
        .handle_refresh(&format!("c={}", urlencode(&challenge)), CLIENT);
    let body = json(&resp);
    assert_eq!(body["code"], 4200);
    assert!(body.get("challenge").is_none());
}

#[test]
fn bad_challenges_are_refused() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let raw = base64_decode(&challenge);
    for i in 0..raw.len() {
        let mut bad = raw.clone();
        bad[i] ^= 0x01;
        let bad = base64_encode(&bad);
        let resp = f.service.handle_image(&format!("c={bad}"), CLIENT);
        assert_eq!(resp.status, 400, "byte {i}");
        let resp = f.service.handle_verify(&form(&bad, "ABCD"), CLIENT);
        assert_eq!(resp.status, 400);
        assert_eq!(json(&resp)["code"], 4000);
    }
    for q in ["", "c=", "c=a&c=b", "c=%00"] {
        assert_eq!(f.service.handle_image(q, CLIENT).status, 400, "{q}");
        assert_eq!(f.service.handle_refresh(q, CLIENT).status, 400, "{q}");
    }
    // A ticket is not a challenge.
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(
        f.service
            .handle_image(&format!("c={}", urlencode(&ticket)), CLIENT)
            .status,
        400
    );
    // And a challenge is not a ticket.
    let resp = check(&f, &challenge, CHECK_FIELDS);
    assert_eq!(json(&resp)["code"], 5100);
    assert_eq!(check_error(&resp), Some(CheckFailure::Malformed));
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[test]
fn tampered_tickets_are_forged() {
    let f = fixture();
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    let raw = base64_decode(&ticket);
    for i in 0..raw.len() {
        for bit in [0x01u8, 0x10, 0x80] {
            let mut bad = raw.clone();
            bad[i] ^= bit;
            let resp = check(&f, &base64_encode(&bad), CHECK_FIELDS);
            assert_eq!(json(&resp)["code"], 5100, "byte {i}");
            let reason = check_error(&resp).unwrap();
            assert!(
                matches!(
                    reason,
                    CheckFailure::Forged | CheckFailure::Malformed | CheckFailure::UnknownKey(_)
                ),
                "byte {i}: {reason:?}"
            );
        }
    }
    // Character-level tampering of the string form too.
    let chars: Vec<char> = ticket.chars().collect();
    for i in 0..chars.len() {
        let mut bad = chars.clone();
        bad[i] = if bad[i] == 'A' { 'B' } else { 'A' };
        let bad: String = bad.into_iter().collect();
        assert_eq!(json(&check(&f, &bad, CHECK_FIELDS))["code"], 5100);
    }
    // None of that used up the real ticket.
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
}

#[test]
fn expired_and_mismatched_tickets() {
    let f = fixture();
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    let cases = [
        (
            "userIp=121.14.96.121",
            "userIp=121.14.96.122",
            BindingField::UserIp,
        ),
        ("businessId=1", "businessId=2", BindingField::BusinessId),
        ("captchaType=6", "captchaType=7", BindingField::CaptchaType),
        ("uid=u1", "uid=u2", BindingField::Uid),
        ("sceneId=3", "sceneId=4", BindingField::SceneId),
    ];
    for (from, to, field) in cases {
        let resp = check(&f, &ticket, &CHECK_FIELDS.replace(from, to));
        assert_eq!(json(&resp)["code"], 5100, "{to}");
        assert_eq!(check_error(&resp), Some(CheckFailure::Mismatch(field)));
    }
    // Absent uid / sceneId also mismatch.
    let resp = check(&f, &ticket, &CHECK_FIELDS.replace("uid=u1&", ""));
    assert_eq!(
        check_error(&resp),
        Some(CheckFailure::Mismatch(BindingField::Uid))
    );
    // Mismatches do not use the ticket up; expiry ends it.
    f.clock.advance(299);
    let ticket2 = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    f.clock.advance(300);
    let resp = check(&f, &ticket2, CHECK_FIELDS);
    assert_eq!(check_error(&resp), Some(CheckFailure::Expired));
}

#[test]
fn compatibility_mode_allows_two_checks_for_twenty_minutes() {
    let f = fixture_with(TicketMode::Compatibility, Arc::new(MemoryStore::new(1000)));
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    f.clock.advance(19 * 60);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    let third = check(&f, &ticket, CHECK_FIELDS);
    assert_eq!(check_error(&third), Some(CheckFailure::Reused));

    let ticket = solve(&f, &query_challenge(&f, QUERY));
    f.clock.advance(20 * 60);
    assert_eq!(
        check_error(&check(&f, &ticket, CHECK_FIELDS)),
        Some(CheckFailure::Expired)
    );
}

fn concurrent_successes(mode: TicketMode) -> usize {
    let f = fixture_with(mode, Arc::new(MemoryStore::new(1000)));
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    let service = f.service.clone();
    wins(race(16, move |_| {
        let params = format!("ticket={}&{CHECK_FIELDS}", urlencode(&ticket));
        let resp = service.handle_check(ApiRequest::from_params(&params));
        resp.error.is_none()
    }))
}

#[test]
fn concurrent_checks_of_one_ticket() {
    for _ in 0..5 {
        assert_eq!(concurrent_successes(TicketMode::SingleUse), 1);
        assert_eq!(concurrent_successes(TicketMode::Compatibility), 2);
    }
}

#[test]
fn concurrent_answers_to_one_challenge_yield_one_ticket() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let answer = f.service.answer_for_challenge(&challenge).unwrap();
    let body = form(&challenge, answer.as_str());
    let service = f.service.clone();
    let tickets = wins(race(8, move |_| {
        let resp = service.handle_verify(&body, CLIENT);
        json(&resp).get("ticket").is_some()
    }));
    assert_eq!(tickets, 1);
}

#[test]
fn key_rotation() {
    let f = fixture();
    let before = solve(&f, &query_challenge(&f, QUERY));
    let old_challenge = query_challenge(&f, QUERY);
    f.service.rotate_key(2, [0x77; 32]).unwrap();
    assert_eq!(f.service.key_ids(), vec![1, 2]);
    // Old tokens still open; new ones are sealed with key 2.
    let after = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(&base64_decode(&after)[2..6], &2u32.to_be_bytes());
    assert_eq!(&base64_decode(&before)[2..6], &1u32.to_be_bytes());
    assert!(f.service.answer_for_challenge(&old_challenge).is_ok());
    assert_eq!(json(&check(&f, &before, CHECK_FIELDS))["code"], 0);
    // Another node with the same ring (and store) checks the new tickets.
    let mut ring = KeyRing::new(1, [0x42; 32]);
    ring.rotate(2, [0x77; 32]).unwrap();
    let other = CaptchaService::builder("/cap")
        .keys(ring)
        .clock(f.clock.clone())
        .build()
        .unwrap();
    let params = format!("ticket={}&{CHECK_FIELDS}", urlencode(&after));
    assert_eq!(
        other.handle_check(ApiRequest::from_params(&params)).error,
        None
    );
    // Retiring key 1 ends the old tokens.
    assert!(f.service.retire_key(1));
    assert!(!f.service.retire_key(2));
    let leftover = solve_with_ring(&f, &old_challenge);
    assert!(leftover.is_none());
}

#[test]
fn key_rotation_across_nodes_without_restart() {
    let f = fixture();
    let before = solve(&f, &query_challenge(&f, QUERY));
    // Step 1: the new key is added for opening only; sealing is unchanged.
    f.service.add_key(3, [0x33; 32]).unwrap();
    assert_eq!(
        f.service.add_key(3, [0x34; 32]),
        Err(KeyError::DuplicateId(3))
    );
    let still_old = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(&base64_decode(&still_old)[2..6], &1u32.to_be_bytes());
    // Step 2: it becomes the sealing key.
    assert_eq!(f.service.set_current_key(9), Err(KeyError::UnknownId(9)));
    f.service.set_current_key(3).unwrap();
    let after = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(&base64_decode(&after)[2..6], &3u32.to_be_bytes());
    // Both generations check; step 3 retires the old key.
    assert_eq!(json(&check(&f, &before, CHECK_FIELDS))["code"], 0);
    assert!(f.service.retire_key(1));
    assert_eq!(json(&check(&f, &still_old, CHECK_FIELDS))["code"], 5100);
    assert_eq!(json(&check(&f, &after, CHECK_FIELDS))["code"], 0);
}

fn solve_with_ring(f: &Fixture, challenge: &str) -> Option<String> {
    let answer = f.ring.open_challenge(challenge).ok()?;
    let answer = qcaptcha::generate(answer.binding.captcha_type, answer.seed).ok()?;
    let body = json(
        &f.service
            .handle_verify(&form(challenge, answer.answer().as_str()), CLIENT),
    );
    body["ticket"].as_str().map(str::to_owned)
}

#[test]
fn a_full_table_takes_room_from_the_flood_not_the_person() {
    // Four entries per kind.
    let store = Arc::new(MemoryStore::new(4));
    let f = fixture_with(TicketMode::SingleUse, store.clone());
    let flood = |i: usize| QUERY.replace("121.14.96.121", &format!("10.0.0.{i}"));
    // A session of the person, answered wrong once (one record) ...
    let mine = query_challenge(&f, QUERY);
    let resp = json(&f.service.handle_verify(&form(&mine, "XXXX"), CLIENT));
    let mine_next = resp["challenge"].as_str().unwrap().to_owned();
    // ... then a flood of wrong answers from one network fills the table.
    let mut first = None;
    for i in 1..=20 {
        let c = query_challenge(&f, &flood(i));
        let resp = f.service.handle_verify(&form(&c, "XXXX"), CLIENT);
        assert_eq!(json(&resp)["code"], 5100);
        first.get_or_insert(c);
        assert!(store.len_of(RecordKind::Session) <= 4);
    }
    // The person goes on and gets a ticket that checks.
    let ticket = solve(&f, &mine_next);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    // The flood's oldest session, pushed out, is not answerable again.
    let first = first.unwrap();
    let resp = f.service.handle_verify(&form(&first, "XXXX"), CLIENT);
    assert!(
        matches!(
            resp.error,
            Some(ServiceError::Challenge(ChallengeError::Used))
        ),
        "{:?}",
        resp.error
    );
}

#[test]
fn wrong_answers_keep_one_record_per_session() {
    let store = Arc::new(MemoryStore::new(1000));
    let f = fixture_with(TicketMode::SingleUse, store.clone());
    let before = solve(&f, &query_challenge(&f, QUERY));
    // 5 sessions, every picture answered wrong until the session ends.
    for _ in 0..5 {
        let mut c = query_challenge(&f, QUERY);
        let mut answered = 0;
        loop {
            let body = json(&f.service.handle_verify(&form(&c, "XXXX"), CLIENT));
            answered += 1;
            match body["challenge"].as_str() {
                Some(next) => c = next.to_owned(),
                None => {
                    assert_eq!(body["code"], 4400, "{body}");
                    break;
                }
            }
        }
        assert_eq!(answered, 10, "the default: 10 pictures per session");
    }
    // 50 wrong answers, 6 session records (the solved one included).
    assert_eq!(store.len_of(RecordKind::Session), 6);
    assert_eq!(json(&check(&f, &before, CHECK_FIELDS))["code"], 0);
}

#[test]
fn limits_with_the_memory_store() {
    let make = |clock: &Arc<ManualClock>, limits: Limits| {
        CaptchaService::builder("/cap")
            .keys(KeyRing::new(1, [0x42; 32]))
            .store(Arc::new(MemoryStore::new(10_000)))
            .clock(clock.clone())
            .limits(limits)
            // The scenarios answer without proofs of work (tests/pow.rs).
            .pow(qcaptcha::pow::PowPolicy::off())
            .build()
            .unwrap()
    };
    common::scenario_every_limit(&make, 5);
    // A limit of 0 is refused.
    assert_eq!(
        CaptchaService::builder("/cap")
            .limits(Limits::default().session_pictures(0))
            .build()
            .unwrap_err(),
        qcaptcha::ConfigError::Limits
    );
}

#[test]
fn a_used_ticket_stays_used_when_the_wall_clock_jumps() {
    let f = fixture();
    let t1 = solve(&f, &query_challenge(&f, QUERY));
    f.clock.advance(10);
    assert_eq!(json(&check(&f, &t1, CHECK_FIELDS))["code"], 0);
    // The clock jumps an hour ahead; a check there purges what the store
    // thinks expired ...
    f.clock.advance(3600);
    let t2 = solve(&f, &query_challenge(&f, QUERY));
    assert_eq!(json(&check(&f, &t2, CHECK_FIELDS))["code"], 0);
    assert_eq!(
        check_error(&check(&f, &t1, CHECK_FIELDS)),
        Some(CheckFailure::Expired)
    );
    // ... and jumps back: t1 looks unexpired again, and must stay used.
    f.clock.set(T0 + 20);
    let again = check(&f, &t1, CHECK_FIELDS);
    assert_eq!(check_error(&again), Some(CheckFailure::Reused));
}

#[test]
fn tokens_from_the_future_are_refused() {
    let f = fixture();
    // A node sharing the key ring whose clock runs ahead.
    let ahead = Arc::new(ManualClock::new(T0 + MAX_CLOCK_SKEW_SECS + 1));
    let other = CaptchaService::builder("/cap")
        .keys(KeyRing::new(1, [0x42; 32]))
        .clock(ahead.clone())
        .build()
        .unwrap();
    let js = json(&other.handle_query(ApiRequest::from_params(QUERY)));
    let c = challenge_in(js["script"].as_str().unwrap());
    let img = f
        .service
        .handle_image(&format!("c={}", urlencode(&c)), CLIENT);
    assert_eq!(img.status, 400);
    assert_eq!(
        img.error,
        Some(ServiceError::Challenge(ChallengeError::IssuedInFuture))
    );
    let resp = f.service.handle_verify(
        &form(&c, other.answer_for_challenge(&c).unwrap().as_str()),
        CLIENT,
    );
    assert_eq!(
        (resp.status, json(&resp)["code"].as_u64()),
        (400, Some(4000))
    );
    let ticket = common::solve(&other, &c);
    assert_eq!(
        check_error(&check(&f, &ticket, CHECK_FIELDS)),
        Some(CheckFailure::IssuedInFuture)
    );
    // Within the skew: accepted.
    ahead.set(T0 + MAX_CLOCK_SKEW_SECS);
    let js = json(&other.handle_query(ApiRequest::from_params(QUERY)));
    let c = challenge_in(js["script"].as_str().unwrap());
    let ticket = common::solve(&other, &c);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
}

#[test]
fn invalid_utf8_is_refused_naming_the_parameter() {
    let f = fixture();
    // A ticket for uid %C0%AF would have matched uid %FF%FE once both
    // were "repaired" to U+FFFD.
    for bad in ["%C0%AF", "%FF%FE"] {
        let q = QUERY.replace("uid=u1", &format!("uid={bad}"));
        let body = json(&f.service.handle_query(ApiRequest::from_params(&q)));
        assert_eq!(body["code"], 4000);
        assert_eq!(body["message"], "parameter uid is not valid UTF-8");
    }
    let ticket = solve(&f, &query_challenge(&f, QUERY));
    let fields = CHECK_FIELDS.replace("uid=u1", "uid=u1%FF");
    let resp = check(&f, &ticket, &fields);
    assert_eq!(json(&resp)["code"], 4000);
    assert!(json(&resp)["message"].as_str().unwrap().contains("uid"));
    // The ticket was not used by the refused check.
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    // The widget routes too.
    let c = query_challenge(&f, QUERY);
    let resp = f
        .service
        .handle_verify(&format!("c={}&answer=%FF", urlencode(&c)), CLIENT);
    assert_eq!(resp.status, 400);
    assert_eq!(
        json(&resp)["message"],
        "parameter answer is not valid UTF-8"
    );
    assert_eq!(f.service.handle_image("c=%FE", CLIENT).status, 400);
}

#[test]
fn signed_requests() {
    let creds = Credentials::new("AKIDtest", "s3cret-key");
    let clock = Arc::new(ManualClock::new(T0));
    let service = CaptchaService::builder("/cap")
        .credentials(creds)
        .clock(clock.clone())
        .build()
        .unwrap();
    let signed = common::signed_query;
    let call = |params: &str| {
        json(&service.handle_query(ApiRequest {
            method: "GET",
            host: "captcha.example",
            path: "/v2/index.php",
            params,
        }))
    };
    let ok = signed(SignatureMethod::HmacSha1, T0, 1, "");
    assert_eq!(call(&ok)["code"], 0);
    assert_eq!(call(&ok)["code"], 4500, "Nonce reuse");
    assert_eq!(
        call(&signed(SignatureMethod::HmacSha256, T0, 2, ""))["code"],
        0
    );
    assert_eq!(
        call(&signed(SignatureMethod::HmacSha1, T0 - 7201, 3, ""))["code"],
        4500,
        "a Timestamp outside the window is a replay in the spec's table"
    );
    assert_eq!(
        call(&signed(SignatureMethod::HmacSha1, T0 + 7201, 4, ""))["code"],
        4500
    );
    // Tampering after signing.
    let tampered =
        signed(SignatureMethod::HmacSha1, T0, 5, "").replace("businessId=1", "businessId=2");
    assert_eq!(call(&tampered)["code"], 4100);
    // Unsigned.
    assert_eq!(call(QUERY)["code"], 4000);
    // Signed but invalid parameter: signature passes, validation fails.
    let body = call(&signed(SignatureMethod::HmacSha1, T0, 6, "&accountType=3"));
    assert_eq!(body["code"], 4000);
    assert!(body["message"].as_str().unwrap().contains("accountType"));
    // Wrong host in the signed string.
    let resp = service.handle_query(ApiRequest {
        method: "GET",
        host: "other.example",
        path: "/v2/index.php",
        params: &signed(SignatureMethod::HmacSha1, T0, 7, ""),
    });
    assert_eq!(json(&resp)["code"], 4100);
}

#[test]
fn service_config_is_validated() {
    assert!(CaptchaService::builder("javascript:alert(1)")
        .build()
        .is_err());
    assert!(CaptchaService::builder("/c")
        .challenge_ttl_secs(0)
        .build()
        .is_err());
    assert!(CaptchaService::builder("/c")
        .challenge_ttl_secs(100)
        .session_ttl_secs(50)
        .build()
        .is_err());
    let s = CaptchaService::builder("/c/").build().unwrap();
    assert_eq!(s.routes().image(), "/c/image");
    // Debug output shows no key material or secret.
    let s = CaptchaService::builder("/c")
        .credentials(Credentials::new("id", "topsecret"))
        .build()
        .unwrap();
    assert!(!format!("{s:?}").contains("topsecret"));
}

#[test]
fn one_api_path_dispatches_on_action() {
    let f = fixture();
    let call = |params: &str| {
        let resp = f.service.handle_api(ApiRequest::from_params(params));
        assert_eq!(resp.status, 200, "the API always answers 200: {params}");
        json(&resp)
    };
    let query = call(&format!("Action=CaptchaQuery&{QUERY}"));
    assert_eq!(query["code"], 0, "{query}");
    let ticket = solve(&f, &challenge_in(query["script"].as_str().unwrap()));
    let checked = call(&format!(
        "Action=CaptchaCheck&ticket={}&{CHECK_FIELDS}",
        urlencode(&ticket)
    ));
    assert_eq!(checked["code"], 0, "{checked}");
    assert_eq!(
        call(&format!("Action=DescribeInstances&{QUERY}"))["code"],
        5000
    );
    let missing = call(QUERY);
    assert_eq!(missing["code"], 4000);
    assert!(missing["message"].as_str().unwrap().contains("Action"));
    let twice = format!("Action=CaptchaQuery&Action=CaptchaCheck&{QUERY}");
    assert_eq!(call(&twice)["code"], 4000);
}

#[test]
fn the_audio_route_speaks_the_same_challenge_and_takes_no_attempt() {
    let f = fixture();
    let challenge = query_challenge(&f, QUERY);
    let q = format!("c={}", urlencode(&challenge));
    let clip = f.service.handle_audio(&q, CLIENT);
    assert_eq!(clip.status, 200);
    assert_eq!(clip.content_type, "audio/wav");
    assert_eq!(&clip.body[..4], b"RIFF");
    // The clip of the sealed seed and type, with the picture's answer.
    let sealed = f.ring.open_challenge(&challenge).unwrap();
    let audio = qcaptcha::generate_audio(sealed.binding.captcha_type, sealed.seed).unwrap();
    assert_eq!(clip.body, audio.wav());
    let picture = qcaptcha::generate(sealed.binding.captcha_type, sealed.seed).unwrap();
    assert_eq!(audio.answer(), picture.answer());
    // Listening twice uses nothing: the one attempt is still there.
    assert_eq!(f.service.handle_audio(&q, CLIENT).body, clip.body);
    let ticket = solve(&f, &challenge);
    assert_eq!(json(&check(&f, &ticket, CHECK_FIELDS))["code"], 0);
    // Once answered, the challenge is used, heard or seen alike.
    let again = json(
        &f.service
            .handle_verify(&form(&challenge, audio.answer().as_str()), CLIENT),
    );
    assert_eq!(again["code"], 5100);
    // Broken and expired challenges, as for the picture.
    assert_eq!(f.service.handle_audio("c=garbage", CLIENT).status, 400);
    f.clock.advance(3600);
    assert_eq!(f.service.handle_audio(&q, CLIENT).status, 410);
}
