//! The public types a host meets only as fields, arguments or errors of
//! the main calls: each read here the way a host would, so that none is
//! public without a use.

use qcaptcha::api::{AccountType, CaptchaQuery, ScriptMode};
use qcaptcha::pow::{PowError, PowLevel, PowPolicy, Pressure, Puzzle, SALT_LEN};
use qcaptcha::tokens::{TokenError, KEY_LEN};
use qcaptcha::{CaptchaType, KeyRing};

#[test]
fn a_validated_query_exposes_its_fields_and_binding() {
    let q = CaptchaQuery::from_query_string(
        "userIp=192.0.2.7&businessId=9&captchaType=6&registerTime=1400000000\
         &uid=u1&accountType=4&script=1&Action=CaptchaQuery&Nonce=42",
    )
    .unwrap();
    assert_eq!(q.script, ScriptMode::JavaScript);
    assert_eq!(q.user.account_type, Some(AccountType::Phone));
    assert_eq!(q.user.business_id, 9);
    assert_eq!(q.common.action.as_deref(), Some("CaptchaQuery"));
    assert_eq!(q.common.nonce, Some(42));
    // What a ticket is bound to: the fields CaptchaCheck must repeat.
    let binding = q.user.binding();
    assert_eq!(binding.user_ip.to_string(), "192.0.2.7");
    assert_eq!(binding.captcha_type, CaptchaType::Interference5);
    assert_eq!(binding.uid.as_deref(), Some("u1"));
}

#[test]
fn keys_and_salts_have_their_fixed_sizes_and_bad_tokens_say_why() {
    let ring = KeyRing::new(1, [7; KEY_LEN]);
    assert!(matches!(
        ring.open_ticket("not a token"),
        Err(TokenError::Malformed)
    ));
    let puzzle = Puzzle::new(4, 10, [1; SALT_LEN]);
    assert_eq!(puzzle.level(), PowLevel::new(4, 10));
}

#[test]
fn pow_levels_are_checked_and_picked_from_the_pressure() {
    assert!(matches!(
        PowLevel::new(25, 1).validate(),
        Err(PowError::InvalidLevel { .. })
    ));
    let policy = PowPolicy::default();
    assert_eq!(policy.level_for(&Pressure::default()), PowLevel::NONE);
    assert_ne!(
        policy.level_for(&Pressure::new(100.0, 0.0, 0.0)),
        PowLevel::NONE
    );
}
