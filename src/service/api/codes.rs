//! The wire answers of the API: the error code table and the JSON bodies,
//! built with `serde_json` (so every string is escaped correctly).
//!
//! | code | meaning | when |
//! |---|---|---|
//! | 0 | success (`"No Error"`) | |
//! | 4000 | invalid parameter | a parameter is missing, malformed, out of range or too long; the message names it |
//! | 4100 | authentication failed | v2 signing is on and SecretId or Signature is wrong |
//! | 4200 | request expired | a widget session past its end, or a challenge past its deadline |
//! | 4300 | access denied | an unsigned call to an API that requires signatures |
//! | 4400 | quota exceeded | a limit was reached: sessions per userIp or businessId at CaptchaQuery, pictures per widget session, requests per client address at the widget routes (HTTP 429 there) |
//! | 4500 | replay | a signed request's `Nonce` was used before, or its `Timestamp` is more than 2 hours from the server clock |
//! | 5000 | resource not found | an unknown `Action` or route |
//! | 5100 | captcha check failed | CaptchaCheck: the ticket is forged, expired, used up or bound to other fields; widget: wrong answer |
//! | 6000 | internal error | the replay store is full or down, or the OS random generator failed; the request is refused (fails closed) |

use serde_json::{json, Value};

/// The error codes of the original service's v2 API that this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: success.
    Success,
    /// 4000: a parameter is missing or invalid.
    InvalidParameter,
    /// 4100: authentication (signature) failed.
    AuthFailed,
    /// 4200: the request expired (the widget session is over, or the
    /// challenge's deadline passed).
    RequestExpired,
    /// 4300: access denied.
    AccessDenied,
    /// 4400: quota exceeded.
    QuotaExceeded,
    /// 4500: replay (Nonce reused, or Timestamp too far off).
    Replay,
    /// 5000: resource not found (unknown Action or route).
    NotFound,
    /// 5100: the captcha check failed.
    CheckFailed,
    /// 6000: internal error.
    Internal,
}

impl ErrorCode {
    /// Every code, in table order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::Success,
        ErrorCode::InvalidParameter,
        ErrorCode::AuthFailed,
        ErrorCode::RequestExpired,
        ErrorCode::AccessDenied,
        ErrorCode::QuotaExceeded,
        ErrorCode::Replay,
        ErrorCode::NotFound,
        ErrorCode::CheckFailed,
        ErrorCode::Internal,
    ];

    /// The number on the wire.
    pub fn code(self) -> u32 {
        match self {
            ErrorCode::Success => 0,
            ErrorCode::InvalidParameter => 4000,
            ErrorCode::AuthFailed => 4100,
            ErrorCode::RequestExpired => 4200,
            ErrorCode::AccessDenied => 4300,
            ErrorCode::QuotaExceeded => 4400,
            ErrorCode::Replay => 4500,
            ErrorCode::NotFound => 5000,
            ErrorCode::CheckFailed => 5100,
            ErrorCode::Internal => 6000,
        }
    }

    /// The default message (`"No Error"` for success).
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::Success => "No Error",
            ErrorCode::InvalidParameter => "invalid parameter",
            ErrorCode::AuthFailed => "authentication failed",
            ErrorCode::RequestExpired => "request expired",
            ErrorCode::AccessDenied => "access denied",
            ErrorCode::QuotaExceeded => "quota exceeded",
            ErrorCode::Replay => "replay attack: Nonce already used",
            ErrorCode::NotFound => "resource not found",
            ErrorCode::CheckFailed => "captcha check failed",
            ErrorCode::Internal => "internal error",
        }
    }

    /// The code for a wire number, if it is one of the table.
    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

/// `{"code": .., "message": ..}` as a JSON value.
pub fn status_value(code: ErrorCode, message: &str) -> Value {
    json!({ "code": code.code(), "message": message })
}

/// `{"code": .., "message": ..}` as bytes: a refusal of the tower layer.
#[cfg(any(test, feature = "tower"))]
pub fn status_json(code: ErrorCode, message: &str) -> Vec<u8> {
    to_bytes(&status_value(code, message))
}

/// `{"code":0,"message":"No Error"}`, what [`status_json`] makes of
/// success: the answer of every accepted CaptchaCheck, written once.
pub(crate) const SUCCESS_JSON: &[u8] = br#"{"code":0,"message":"No Error"}"#;

/// The success answer with one string field more,
/// `{"code":0,"message":"No Error","<name>":"<value>"}` (a right answer's
/// ticket), written straight into its buffer, the strings escaped by
/// `serde_json`, instead of built as a [`Value`] first.
pub(crate) fn success_with(name: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(SUCCESS_JSON.len() + name.len() + value.len() + 8);
    out.extend_from_slice(&SUCCESS_JSON[..SUCCESS_JSON.len() - 1]);
    out.push(b',');
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, name);
    out.push(b':');
    let _ = serde_json::to_writer(&mut out, value);
    out.push(b'}');
    out
}

/// Serializes a JSON value. Serializing a `Value` cannot fail.
pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json_is_code_then_message() {
        assert_eq!(
            status_json(ErrorCode::Success, "No Error"),
            br#"{"code":0,"message":"No Error"}"#
        );
    }

    #[test]
    fn the_written_answers_are_the_values_answers() {
        assert_eq!(
            SUCCESS_JSON,
            status_json(ErrorCode::Success, ErrorCode::Success.message())
        );
        for ticket in ["t-1_x", "a\"b\\c\u{1}\u{4e2d}"] {
            let written: Value = serde_json::from_slice(&success_with("ticket", ticket)).unwrap();
            assert_eq!(
                written,
                json!({"code": 0, "message": "No Error", "ticket": ticket})
            );
        }
        assert_eq!(
            success_with("ticket", "T"),
            br#"{"code":0,"message":"No Error","ticket":"T"}"#
        );
    }

    #[test]
    fn table() {
        let codes: Vec<u32> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [0, 4000, 4100, 4200, 4300, 4400, 4500, 5000, 5100, 6000]
        );
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ErrorCode::from_code(4600), None);
    }

    #[test]
    fn bodies_escape_strings() {
        let body = status_json(ErrorCode::InvalidParameter, "bad \"x\"\n");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], 4000);
        assert_eq!(v["message"], "bad \"x\"\n");
    }
}
