//! The two API requests, parsed and validated from URL query (or form)
//! pairs with the spec's exact parameter names: [`CaptchaQuery`] and
//! [`CaptchaCheck`]. Every failure is a [`ParamError`] that names the
//! parameter (wire code 4000).
//!
//! Rules common to both:
//! - a parameter given twice is rejected; at most [`MAX_PARAMS`] pairs;
//!   unknown parameters are ignored (they still count for the signature);
//! - an empty value counts as absent (so a required one is then missing);
//! - `UInt` values are plain decimal digits fitting `u64`; `Int` values an
//!   optional `-` and digits; no signs, spaces or hex;
//! - every string is bounded in length and may not hold control
//!   characters.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::render::CaptchaType;
use crate::service::tokens::sealed::{Binding, MAX_TOKEN_LEN, MAX_UID_LEN};

use crate::service::api::callback::Callback;
pub use crate::service::api::params::parse_pairs;
use crate::service::api::params::{ParamError, Params};

/// `accountType`: the kind of user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// 0: other.
    Other,
    /// 1: QQ open account.
    QqOpen,
    /// 2: WeChat open account.
    WeChatOpen,
    /// 4: phone number.
    Phone,
    /// 6: phone one-time code.
    PhoneOneTimeCode,
    /// 7: e-mail.
    Email,
}

impl AccountType {
    /// The wire value.
    pub fn code(self) -> u64 {
        match self {
            AccountType::Other => 0,
            AccountType::QqOpen => 1,
            AccountType::WeChatOpen => 2,
            AccountType::Phone => 4,
            AccountType::PhoneOneTimeCode => 6,
            AccountType::Email => 7,
        }
    }

    /// The type for a wire value, if valid.
    pub fn from_code(code: u64) -> Option<AccountType> {
        Some(match code {
            0 => AccountType::Other,
            1 => AccountType::QqOpen,
            2 => AccountType::WeChatOpen,
            4 => AccountType::Phone,
            6 => AccountType::PhoneOneTimeCode,
            7 => AccountType::Email,
            _ => return None,
        })
    }

    /// Whether `appId` is required (QQ and WeChat open accounts).
    pub fn needs_app_id(self) -> bool {
        matches!(self, AccountType::QqOpen | AccountType::WeChatOpen)
    }
}

/// `script`: how CaptchaQuery answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptMode {
    /// 0: JSON `{"code","message","script"}`.
    Json,
    /// 1: the JavaScript itself.
    JavaScript,
}

/// The v2 common parameters (`Action`, `Region`, `Timestamp`, `Nonce`,
/// `SecretId`, `Signature`, `SignatureMethod`), all optional here: the
/// service requires them only when v2 signing is configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CommonParams {
    /// `Action`: `CaptchaQuery` or `CaptchaCheck`.
    pub action: Option<String>,
    /// `Region`.
    pub region: Option<String>,
    /// `Timestamp`, Unix seconds.
    pub timestamp: Option<u64>,
    /// `Nonce`, a positive integer.
    pub nonce: Option<u64>,
    /// `SecretId`.
    pub secret_id: Option<String>,
    /// `Signature` (base64).
    pub signature: Option<String>,
    /// `SignatureMethod` as given.
    pub signature_method: Option<String>,
}

/// The request-specific rules on top of the generic parser.
impl Params<'_> {
    fn captcha_type(&self) -> Result<CaptchaType, ParamError> {
        let v = Params::required("captchaType", self.int("captchaType")?)?;
        CaptchaType::try_from(v).map_err(|_| ParamError::OutOfRange {
            name: "captchaType",
            allowed: "1 to 8",
        })
    }

    fn account(&self) -> Result<(Option<AccountType>, Option<String>), ParamError> {
        let account_type = match self.uint("accountType")? {
            None => None,
            Some(v) => Some(AccountType::from_code(v).ok_or(ParamError::OutOfRange {
                name: "accountType",
                allowed: "0, 1, 2, 4, 6, 7",
            })?),
        };
        let app_id = self.string("appId", 64)?;
        if account_type.is_some_and(AccountType::needs_app_id) && app_id.is_none() {
            return Err(ParamError::AppIdRequired);
        }
        Ok((account_type, app_id))
    }

    fn common(&self) -> Result<CommonParams, ParamError> {
        let nonce = self.uint("Nonce")?;
        if nonce == Some(0) {
            return Err(ParamError::OutOfRange {
                name: "Nonce",
                allowed: "a positive integer",
            });
        }
        Ok(CommonParams {
            action: self.string("Action", 32)?,
            region: self.string("Region", 32)?,
            timestamp: self.uint("Timestamp")?,
            nonce,
            secret_id: self.string("SecretId", 128)?,
            signature: self.string("Signature", 128)?,
            signature_method: self.string("SignatureMethod", 16)?,
        })
    }

    fn check_action(common: &CommonParams, expected: &'static str) -> Result<(), ParamError> {
        match common.action.as_deref() {
            None => Ok(()),
            Some(a) if a == expected => Ok(()),
            Some(_) => Err(ParamError::WrongAction(expected)),
        }
    }
}

/// The fields CaptchaQuery and CaptchaCheck share: who the user is and
/// where they come from, and which business and captcha type the request
/// is for. Both requests parse them by the same rules.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserFields {
    /// `captchaType` (required), 1..=8.
    pub captcha_type: CaptchaType,
    /// `userIp` (required), canonical form.
    pub user_ip: IpAddr,
    /// `businessId` (required).
    pub business_id: u64,
    /// `registerTime` (required), Unix seconds.
    pub register_time: u64,
    /// `sceneId`.
    pub scene_id: Option<u64>,
    /// `uid`, at most 128 bytes.
    pub uid: Option<String>,
    /// `accountType`.
    pub account_type: Option<AccountType>,
    /// `appId` (required when `accountType` is 1 or 2), at most 64 bytes.
    pub app_id: Option<String>,
    /// `associateAccount`, at most 128 bytes.
    pub associate_account: Option<String>,
    /// `xForwardedFor`, at most 512 bytes.
    pub x_forwarded_for: Option<String>,
    /// `macAddress`, at most 64 bytes.
    pub mac_address: Option<String>,
    /// `imei`, at most 32 bytes.
    pub imei: Option<String>,
}

impl UserFields {
    fn parse(p: &Params<'_>) -> Result<UserFields, ParamError> {
        let (account_type, app_id) = p.account()?;
        Ok(UserFields {
            captcha_type: p.captcha_type()?,
            user_ip: Params::required("userIp", p.ip("userIp")?)?,
            business_id: Params::required("businessId", p.uint("businessId")?)?,
            register_time: Params::required("registerTime", p.uint("registerTime")?)?,
            scene_id: p.uint("sceneId")?,
            uid: p.string("uid", MAX_UID_LEN)?,
            account_type,
            app_id,
            associate_account: p.string("associateAccount", 128)?,
            x_forwarded_for: p.string("xForwardedFor", 512)?,
            mac_address: p.string("macAddress", 64)?,
            imei: p.string("imei", 32)?,
        })
    }

    /// The fields a challenge and its ticket are bound to.
    pub fn binding(&self) -> Binding {
        Binding {
            user_ip: self.user_ip,
            business_id: self.business_id,
            captcha_type: self.captcha_type,
            uid: self.uid.clone(),
            scene_id: self.scene_id,
        }
    }
}

/// A validated CaptchaQuery request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptchaQuery {
    /// The user, business and captcha type fields.
    pub user: UserFields,
    /// `script` (required): 0 JSON, 1 JavaScript.
    pub script: ScriptMode,
    /// `callBack`, validated.
    pub call_back: Option<Callback>,
    /// The v2 common parameters.
    pub common: CommonParams,
}

impl CaptchaQuery {
    /// Parses and validates decoded `(name, value)` pairs.
    ///
    /// ```
    /// use qcaptcha::api::CaptchaQuery;
    /// let q = CaptchaQuery::from_pairs([("userIp", "121.14.96.121"), ("businessId", "1"),
    ///     ("captchaType", "1"), ("uid", "1"), ("script", "1"), ("registerTime", "0")])?;
    /// assert_eq!(q.user.business_id, 1);
    /// # Ok::<(), qcaptcha::api::ParamError>(())
    /// ```
    pub fn from_pairs<'a, K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<CaptchaQuery, ParamError>
    where
        K: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let p = Params::new(pairs)?;
        let common = p.common()?;
        Params::check_action(&common, "CaptchaQuery")?;
        let user = UserFields::parse(&p)?;
        let script = match Params::required("script", p.int("script")?)? {
            0 => ScriptMode::Json,
            1 => ScriptMode::JavaScript,
            _ => {
                return Err(ParamError::OutOfRange {
                    name: "script",
                    allowed: "0 or 1",
                })
            }
        };
        let call_back = p
            .string("callBack", Callback::MAX_LEN)
            .map_err(|_| ParamError::InvalidCallback)?
            .map(|v| Callback::parse(&v))
            .transpose()?;
        Ok(CaptchaQuery {
            user,
            script,
            call_back,
            common,
        })
    }

    /// Parses and validates a URL query string (with or without the
    /// leading `?`).
    pub fn from_query_string(query: &str) -> Result<CaptchaQuery, ParamError> {
        CaptchaQuery::from_pairs(parse_pairs(query)?)
    }
}

/// Where a failed `script=1` query can report: the `callBack`, if the
/// request asked for JavaScript and the callBack itself is valid (used to
/// answer requests whose other parameters are invalid).
pub fn failure_callback<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Callback> {
    let mut script = None;
    let mut call_back = None;
    for (k, v) in pairs {
        match k {
            "script" => script = Some(v),
            "callBack" => call_back = Some(v),
            _ => {}
        }
    }
    if script != Some("1") {
        return None;
    }
    Callback::parse(call_back?).ok()
}

/// A validated CaptchaCheck request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptchaCheck {
    /// `ticket` (required), at most 2048 bytes.
    pub ticket: String,
    /// The user, business and captcha type fields the ticket must be bound to.
    pub user: UserFields,
    /// The v2 common parameters.
    pub common: CommonParams,
}

impl CaptchaCheck {
    /// Parses and validates decoded `(name, value)` pairs.
    pub fn from_pairs<'a, K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<CaptchaCheck, ParamError>
    where
        K: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let p = Params::new(pairs)?;
        let common = p.common()?;
        Params::check_action(&common, "CaptchaCheck")?;
        Ok(CaptchaCheck {
            ticket: Params::required("ticket", p.string("ticket", MAX_TOKEN_LEN)?)?,
            user: UserFields::parse(&p)?,
            common,
        })
    }

    /// Parses and validates a URL query string or form body.
    pub fn from_query_string(query: &str) -> Result<CaptchaCheck, ParamError> {
        CaptchaCheck::from_pairs(parse_pairs(query)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::api::params::MAX_PARAMS;

    const GOOD: &[(&str, &str)] = &[
        ("userIp", "121.14.96.121"),
        ("businessId", "1"),
        ("captchaType", "1"),
        ("uid", "1"),
        ("script", "1"),
        ("registerTime", "1408704141"),
    ];

    fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut p: Vec<_> = GOOD
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .copied()
            .collect();
        p.extend(changes.iter().filter(|(_, v)| *v != "<absent>").copied());
        p
    }

    #[test]
    fn both_requests_read_the_user_fields_alike() {
        let pairs = with(&[
            ("userIp", "::ffff:10.1.2.3"),
            ("sceneId", "9"),
            ("accountType", "1"),
            ("appId", "app"),
            ("imei", "3567"),
            ("ticket", "t"),
        ]);
        let q = CaptchaQuery::from_pairs(pairs.clone()).unwrap();
        let c = CaptchaCheck::from_pairs(pairs).unwrap();
        assert_eq!(q.user, c.user);
        assert_eq!(c.user.user_ip, "10.1.2.3".parse::<IpAddr>().unwrap());
        assert_eq!(c.user.scene_id, Some(9));
        assert_eq!(q.user.binding(), c.user.binding());
        // And reject a bad one alike.
        let long: &'static str = "m".repeat(65).leak();
        let bad = with(&[("macAddress", long), ("ticket", "t")]);
        let q = CaptchaQuery::from_pairs(bad.clone()).unwrap_err();
        let c = CaptchaCheck::from_pairs(bad).unwrap_err();
        assert_eq!(q, c);
        assert!(matches!(
            q,
            ParamError::TooLong {
                name: "macAddress",
                max: 64
            }
        ));
    }

    #[test]
    fn spec_example_parses() {
        let q = CaptchaQuery::from_query_string(
            "?Action=CaptchaQuery&userIp=121.14.96.121&businessId=1&captchaType=1&uid=1&script=1&registerTime=0&callBack=app.cb",
        )
        .unwrap();
        assert_eq!(q.user.user_ip, "121.14.96.121".parse::<IpAddr>().unwrap());
        assert_eq!(q.user.captcha_type, CaptchaType::Clear4);
        assert_eq!(q.script, ScriptMode::JavaScript);
        assert_eq!(q.user.uid.as_deref(), Some("1"));
        assert_eq!(q.call_back.as_ref().map(Callback::as_str), Some("app.cb"));
        assert_eq!(q.common.action.as_deref(), Some("CaptchaQuery"));
    }

    #[test]
    fn every_rule_rejects_a_bad_value() {
        use ParamError::*;
        let cases: Vec<(Vec<(&str, &str)>, ParamError)> = vec![
            (
                with(&[("registerTime", "<absent>")]),
                Missing("registerTime"),
            ),
            (with(&[("userIp", "<absent>")]), Missing("userIp")),
            (with(&[("userIp", "")]), Missing("userIp")),
            (with(&[("captchaType", "<absent>")]), Missing("captchaType")),
            (with(&[("script", "<absent>")]), Missing("script")),
            (with(&[("businessId", "<absent>")]), Missing("businessId")),
            (with(&[("registerTime", "-1")]), NotANumber("registerTime")),
            (with(&[("registerTime", "+1")]), NotANumber("registerTime")),
            (with(&[("registerTime", "1e3")]), NotANumber("registerTime")),
            (
                with(&[("registerTime", "18446744073709551616")]),
                NotANumber("registerTime"),
            ),
            (with(&[("businessId", "0x1")]), NotANumber("businessId")),
            (with(&[("businessId", " 1")]), NotANumber("businessId")),
            (with(&[("sceneId", "abc")]), NotANumber("sceneId")),
            (
                with(&[("captchaType", "0")]),
                OutOfRange {
                    name: "captchaType",
                    allowed: "1 to 8",
                },
            ),
            (
                with(&[("captchaType", "9")]),
                OutOfRange {
                    name: "captchaType",
                    allowed: "1 to 8",
                },
            ),
            (
                with(&[("captchaType", "-3")]),
                OutOfRange {
                    name: "captchaType",
                    allowed: "1 to 8",
                },
            ),
            (with(&[("captchaType", "one")]), NotANumber("captchaType")),
            (
                with(&[("script", "2")]),
                OutOfRange {
                    name: "script",
                    allowed: "0 or 1",
                },
            ),
            (
                with(&[("script", "-1")]),
                OutOfRange {
                    name: "script",
                    allowed: "0 or 1",
                },
            ),
            (
                with(&[("accountType", "3")]),
                OutOfRange {
                    name: "accountType",
                    allowed: "0, 1, 2, 4, 6, 7",
                },
            ),
            (
                with(&[("accountType", "5")]),
                OutOfRange {
                    name: "accountType",
                    allowed: "0, 1, 2, 4, 6, 7",
                },
            ),
            (
                with(&[("accountType", "8")]),
                OutOfRange {
                    name: "accountType",
                    allowed: "0, 1, 2, 4, 6, 7",
                },
            ),
            (with(&[("accountType", "1")]), AppIdRequired),
            (with(&[("accountType", "2")]), AppIdRequired),
            (with(&[("userIp", "300.1.1.1")]), InvalidIp("userIp")),
            (with(&[("userIp", "localhost")]), InvalidIp("userIp")),
            (with(&[("userIp", "1.2.3.4:80")]), InvalidIp("userIp")),
            (with(&[("uid", "a\nb")]), ControlCharacters("uid")),
            (
                with(&[("Nonce", "0")]),
                OutOfRange {
                    name: "Nonce",
                    allowed: "a positive integer",
                },
            ),
            (with(&[("Timestamp", "soon")]), NotANumber("Timestamp")),
            (
                with(&[("Action", "CaptchaCheck")]),
                WrongAction("CaptchaQuery"),
            ),
            (with(&[("callBack", "alert(1)//")]), InvalidCallback),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                CaptchaQuery::from_pairs(pairs.clone()),
                Err(expected.clone()),
                "{pairs:?}"
            );
            // The message names the parameter (the client sees it).
            assert!(
                expected.to_string().contains(expected.parameter()),
                "{expected}"
            );
        }
        let long = "x".repeat(200);
        let bounds: [(&str, usize); 10] = [
            ("appId", 64),
            ("uid", 128),
            ("associateAccount", 128),
            ("xForwardedFor", 512),
            ("macAddress", 64),
            ("imei", 32),
            ("Action", 32),
            ("Region", 32),
            ("SecretId", 128),
            ("Signature", 128),
        ];
        for (name, max) in bounds {
            let value = "y".repeat(max + 1);
            let mut p: Vec<(&str, &str)> =
                GOOD.iter().filter(|(k, _)| *k != name).copied().collect();
            p.push((name, &value));
            let err = CaptchaQuery::from_pairs(p).unwrap_err();
            assert_eq!(err.parameter(), name);
            assert!(matches!(err, TooLong { .. }), "{name}: {err:?}");
            // At the bound it is accepted (Action must be exact, so skip it).
            if name != "Action" {
                let value = "y".repeat(max);
                let mut p: Vec<(&str, &str)> =
                    GOOD.iter().filter(|(k, _)| *k != name).copied().collect();
                p.push((name, &value));
                assert!(CaptchaQuery::from_pairs(p).is_ok(), "{name}");
            }
        }
        let mut p: Vec<(&str, &str)> = GOOD.to_vec();
        p.push(("userIp", &long));
        assert_eq!(CaptchaQuery::from_pairs(p), Err(Duplicate("userIp")));
        let many: Vec<(String, String)> = (0..=MAX_PARAMS)
            .map(|i| (format!("x{i}"), "1".into()))
            .collect();
        assert_eq!(CaptchaQuery::from_pairs(many), Err(TooManyParameters));
    }

    #[test]
    fn good_values_pass() {
        for t in 1..=8 {
            let s = t.to_string();
            let p = with(&[("captchaType", Box::leak(s.into_boxed_str()))]);
            assert!(CaptchaQuery::from_pairs(p).is_ok());
        }
        for a in ["0", "4", "6", "7"] {
            assert!(CaptchaQuery::from_pairs(with(&[("accountType", a)])).is_ok());
        }
        let mut p = with(&[("accountType", "1")]);
        p.push(("appId", "wx123"));
        let q = CaptchaQuery::from_pairs(p).unwrap();
        assert_eq!(q.user.account_type, Some(AccountType::QqOpen));
        let q =
            CaptchaQuery::from_pairs(with(&[("userIp", "2001:db8::1"), ("script", "0")])).unwrap();
        assert_eq!(q.script, ScriptMode::Json);
        assert!(q.user.user_ip.is_ipv6());
        let q = CaptchaQuery::from_pairs(with(&[("userIp", "::ffff:1.2.3.4")])).unwrap();
        assert_eq!(q.user.user_ip, "1.2.3.4".parse::<IpAddr>().unwrap());
        // Empty optional values count as absent; unknown names are ignored.
        let q =
            CaptchaQuery::from_pairs(with(&[("uid", ""), ("sceneId", ""), ("zzz", "?")])).unwrap();
        assert_eq!((q.user.uid, q.user.scene_id), (None, None));
    }

    #[test]
    fn callback_injection_is_rejected() {
        for bad in [
            "alert(1)//",
            "a;b",
            "</script>",
            "a b",
            "a..b",
            ".a",
            "a.",
            "1abc",
            "a[0]",
            "a-b",
            "a\u{2028}b",
            "caf\u{e9}",
            "this.x",
            "x.constructor",
            "__proto__",
            "eval",
            "a.b.c.d.e.f.g.h.i",
            "",
        ] {
            assert_eq!(
                Callback::parse(bad),
                Err(ParamError::InvalidCallback),
                "{bad:?}"
            );
            let mut p: Vec<(&str, &str)> = GOOD.to_vec();
            p.push(("callBack", bad));
            if !bad.is_empty() {
                assert_eq!(
                    CaptchaQuery::from_pairs(p),
                    Err(ParamError::InvalidCallback),
                    "{bad:?}"
                );
            }
        }
        assert!(Callback::parse(&"a".repeat(129)).is_err());
        for good in [
            "cb",
            "_cb",
            "$",
            "app.onCaptcha",
            "a1.b2.$c",
            "window.myApp.fail",
        ] {
            assert_eq!(Callback::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn failure_callback_needs_script_1_and_valid_name() {
        let p = [("script", "1"), ("callBack", "app.fail"), ("userIp", "x")];
        assert_eq!(failure_callback(p).unwrap().as_str(), "app.fail");
        assert!(failure_callback([("script", "0"), ("callBack", "app.fail")]).is_none());
        assert!(failure_callback([("script", "1"), ("callBack", "a;b")]).is_none());
        assert!(failure_callback([("script", "1")]).is_none());
    }

    #[test]
    fn check_request_rules() {
        let good = [
            ("ticket", "abc"),
            ("userIp", "1.2.3.4"),
            ("businessId", "3"),
            ("captchaType", "6"),
            ("registerTime", "5"),
        ];
        let c = CaptchaCheck::from_pairs(good).unwrap();
        assert_eq!(c.user.binding().business_id, 3);
        for (name, _) in good {
            let p: Vec<_> = good.iter().filter(|(k, _)| *k != name).copied().collect();
            assert_eq!(CaptchaCheck::from_pairs(p), Err(ParamError::Missing(name)));
        }
        let mut p = good.to_vec();
        p.push(("accountType", "2"));
        assert_eq!(CaptchaCheck::from_pairs(p), Err(ParamError::AppIdRequired));
        let mut p = good.to_vec();
        p.push(("Action", "CaptchaQuery"));
        assert_eq!(
            CaptchaCheck::from_pairs(p),
            Err(ParamError::WrongAction("CaptchaCheck"))
        );
        let long = "t".repeat(MAX_TOKEN_LEN + 1);
        let mut p: Vec<(&str, &str)> = good[1..].to_vec();
        p.push(("ticket", &long));
        assert!(matches!(
            CaptchaCheck::from_pairs(p),
            Err(ParamError::TooLong { name: "ticket", .. })
        ));
        let c = CaptchaCheck::from_query_string(
            "ticket=a%2Bb&userIp=1.2.3.4&businessId=3&captchaType=6&registerTime=5",
        )
        .unwrap();
        assert_eq!(c.ticket, "a+b");
    }
}
