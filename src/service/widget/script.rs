//! The captcha widget: self-contained JavaScript, made fresh for each
//! CaptchaQuery.
//!
//! The script defines four globals, in the spirit of the original service:
//!
//! - `capInit(element, {callback, onError, lang})`: draws the widget
//!   (picture, refresh button, input, submit button, message line) into
//!   `element` (a DOM element or its id). `callback({ret: 0, ticket})` is
//!   called when the user typed the right answer; `onError({code,
//!   message})`, if given, when the widget cannot go on (session over).
//!   `lang` may be `"en"` (default) or `"zh"`.
//! - `capRefresh()`: a new picture.
//! - `capGetTicket()`: `{ret: 0, ticket}` once solved, else `{ret: 1,
//!   ticket: ""}`.
//! - `capDestroy()`: removes the widget.
//!
//! It embeds one sealed challenge, the seconds it stays answerable and the
//! three route URLs, nothing else: no answer, no hash of it, no seed. It
//! uses no external library and no inline event handlers (listeners are
//! attached from the script and styles set through the CSSOM), so it runs
//! under a strict Content-Security-Policy that allows the script itself.
//!
//! Routes, under the host-given base URL:
//! - `GET {base}/image?c=<challenge>`: the PNG;
//! - `POST {base}/refresh` with `c=<challenge>`: `{code, message,
//!   challenge, ttl, pow, letters}`;
//! - `POST {base}/verify` with `c=<challenge>&answer=<text>` (and
//!   `&pow=<counter>` when the challenge asks for a proof of work):
//!   `{code: 0, message, ticket}` or `{code: 5100, message, challenge,
//!   ttl, pow, letters}`.
//!
//! **Letter count.** The config and every new challenge carry `letters`,
//! the number of letters in the picture: the prompt says "Type the 5
//! letters in the picture" and the box takes no more. The picture shows
//! the count anyway; said aloud, it stops the misread that blind readers
//! made most (a letter too many or too few).
//!
//! **Proof of work.** The embedded config and every new challenge carry
//! `pow`: `null` (level 0: nothing to do, no delay) or `{bits, iterations,
//! salt}` (see [`crate::pow`]). The widget starts solving as soon as a
//! challenge arrives, while the person reads the picture, with a few
//! `crypto.subtle.deriveBits` calls in flight at once (native PBKDF2, run
//! off the main thread by the browser; the page's thread only starts the
//! next call), so no Web Worker and no CSP change is needed. If the
//! person submits first, the message line shows the progress until the
//! proof is found. A refresh, a new picture or `capDestroy()` cancels the
//! solving. WebCrypto needs a secure context (HTTPS, or `localhost`); on a
//! plain-HTTP page a non-zero level cannot be solved and the widget says
//! so. The server reads the level from the sealed token, never from the
//! client.
//!
//! Over a limit the routes answer code 4400: with `retryAfter` (and HTTP
//! 429) for the per-minute limits of one address, and the widget asks the
//! user to wait that long, keeping the picture; without it when the
//! session used all its pictures, and the widget asks for a page reload
//! (and calls `onError({code: 4400, ...})`).

use serde_json::{json, Value};

use crate::service::api::callback::Callback;
use crate::service::api::codes::ErrorCode;
use crate::service::defence::pow::Puzzle;

/// Path of the image route under the base URL.
pub const IMAGE_ROUTE: &str = "image";
/// Path of the audio route under the base URL.
pub const AUDIO_ROUTE: &str = "audio";
/// Path of the refresh route under the base URL.
pub const REFRESH_ROUTE: &str = "refresh";
/// Path of the verify route under the base URL.
pub const VERIFY_ROUTE: &str = "verify";

/// The longest accepted base URL.
pub const MAX_BASE_URL_LEN: usize = 512;

/// A base URL that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base URL: must start with '/', 'http://' or 'https://', hold no spaces, control characters, '?' or '#', and be at most 512 bytes")]
pub struct BaseUrlError;

/// The widget's three routes, from a base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    base: String,
}

impl Routes {
    /// Routes under `base`, e.g. `/captcha` or `https://example.com/captcha`
    /// (a trailing `/` is dropped).
    ///
    /// ```
    /// let r = qcaptcha::widget::Routes::new("https://example.com/captcha/")?;
    /// assert_eq!(r.image(), "https://example.com/captcha/image");
    /// # Ok::<(), qcaptcha::widget::BaseUrlError>(())
    /// ```
    pub fn new(base: &str) -> Result<Routes, BaseUrlError> {
        let trimmed = base.trim_end_matches('/');
        let scheme_ok =
            base.starts_with('/') || base.starts_with("https://") || base.starts_with("http://");
        let chars_ok = !base
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '\\'));
        if !scheme_ok || !chars_ok || base.len() > MAX_BASE_URL_LEN || base.starts_with("//") {
            return Err(BaseUrlError);
        }
        Ok(Routes {
            base: trimmed.to_owned(),
        })
    }

    /// The base URL without a trailing `/` (empty for `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/image`.
    pub fn image(&self) -> String {
        format!("{}/{IMAGE_ROUTE}", self.base)
    }

    /// `{base}/audio`.
    pub fn audio(&self) -> String {
        format!("{}/{AUDIO_ROUTE}", self.base)
    }

    /// `{base}/refresh`.
    pub fn refresh(&self) -> String {
        format!("{}/{REFRESH_ROUTE}", self.base)
    }

    /// `{base}/verify`.
    pub fn verify(&self) -> String {
        format!("{}/{VERIFY_ROUTE}", self.base)
    }
}

/// A JSON value as a JavaScript literal that is also safe inside an HTML
/// `<script>` element: `serde_json` output with `<`, `>`, `&`, U+2028 and
/// U+2029 written as `\u` escapes (so `</script>` or `<!--` cannot appear).
pub fn js_literal(value: &Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// What one widget script embeds.
#[derive(Debug, Clone, Copy)]
pub struct WidgetParams<'a> {
    /// The sealed challenge token.
    pub challenge: &'a str,
    /// Seconds the challenge stays answerable.
    pub ttl_secs: u64,
    /// The proof of work the challenge asks for.
    pub puzzle: &'a Puzzle,
    /// How many letters the challenge's picture shows: the widget says so
    /// in its prompt. Not a secret (the picture shows it), and in blind
    /// readings most misreads of interference pictures were a letter too
    /// many or too few.
    pub letters: usize,
}

/// The `pow` value of the widget's config and JSON answers: `null` for
/// level 0, else `{"bits", "iterations", "salt"}` (salt in hex).
pub fn puzzle_value(puzzle: &Puzzle) -> Value {
    if puzzle.is_none() {
        return Value::Null;
    }
    let salt: String = puzzle.salt.iter().map(|b| format!("{b:02x}")).collect();
    json!({ "bits": puzzle.bits, "iterations": puzzle.iterations, "salt": salt })
}

/// The per-challenge configuration the widget script embeds, as a
/// [`js_literal`]: the challenge, its seconds to live, its proof of work
/// and its letter count (the routes are in the static part).
///
/// Written out directly, as every CaptchaQuery makes one: the numbers
/// and the hex salt need no escaping, and neither does a sealed challenge
/// (URL-safe base64); anything else goes through [`js_literal`].
pub(crate) fn config_literal(params: &WidgetParams<'_>) -> String {
    let challenge = params.challenge;
    if !challenge
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return js_literal(&json!({
            "challenge": challenge,
            "ttl": params.ttl_secs,
            "pow": puzzle_value(params.puzzle),
            "letters": params.letters,
        }));
    }
    // Written piece by piece, the integers with `itoa`: the formatter
    // cost more than the rest of the configuration.
    let mut out = String::with_capacity(challenge.len() + 128);
    let mut digits = itoa::Buffer::new();
    let p = params.puzzle;
    out.push_str(r#"{"challenge":""#);
    out.push_str(challenge);
    out.push_str(r#"","letters":"#);
    out.push_str(digits.format(params.letters));
    out.push_str(r#","pow":"#);
    if p.is_none() {
        out.push_str("null");
    } else {
        out.push_str(r#"{"bits":"#);
        out.push_str(digits.format(p.bits));
        out.push_str(r#","iterations":"#);
        out.push_str(digits.format(p.iterations));
        out.push_str(r#","salt":""#);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in p.salt {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out.push_str("\"}");
    }
    out.push_str(r#","ttl":"#);
    out.push_str(digits.format(params.ttl_secs));
    out.push('}');
    out
}

/// JavaScript that reports a failed CaptchaQuery to the page's `callBack`:
/// `callBack({code, message})`, guarded so that a missing function does
/// not throw.
pub fn callback_script(callback: &Callback, code: ErrorCode, message: &str) -> String {
    let arg = js_literal(&json!({ "code": code.code(), "message": message }));
    let name = callback.as_str();
    format!("try{{if(typeof {name}===\"function\"){{{name}({arg});}}}}catch(e){{}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::widget::template::{WidgetDelivery, WidgetTemplate};

    #[test]
    fn callback_scripts_call_the_named_function_guarded() {
        let cb = Callback::parse("app.fail").unwrap();
        let js = callback_script(&cb, ErrorCode::InvalidParameter, "missing userIp");
        assert!(js.contains("app.fail({\"code\":4000"));
    }

    #[test]
    fn puzzle_values_are_null_or_bits_iterations_and_hex_salt() {
        let v = puzzle_value(&Puzzle::new(10, 1000, [0xab; 16]));
        assert_eq!(v["bits"], 10);
        assert_eq!(v["salt"], "ab".repeat(16));
        assert!(puzzle_value(&Puzzle::NONE).is_null());
    }

    #[test]
    fn the_config_literal_is_the_json_of_its_fields() {
        for (challenge, puzzle) in [
            ("AbC-_9", Puzzle::NONE),
            ("AbC-_9", Puzzle::new(10, 1000, [0xab; 16])),
            (
                "x",
                Puzzle::new(20, 123_456, std::array::from_fn(|i| (i * 37 + 5) as u8)),
            ),
            ("not</script>base64", Puzzle::new(3, 7, [1; 16])),
        ] {
            let params = WidgetParams {
                challenge,
                ttl_secs: 300,
                puzzle: &puzzle,
                letters: 5,
            };
            let written: Value = serde_json::from_str(&config_literal(&params)).unwrap();
            let expected = json!({
                "challenge": challenge,
                "ttl": 300,
                "pow": puzzle_value(&puzzle),
                "letters": 5,
            });
            assert_eq!(written, expected);
            assert!(!config_literal(&params).contains('<'));
        }
    }

    #[test]
    fn js_literals_cannot_close_a_script_element() {
        let s = js_literal(&serde_json::json!("</script>"));
        assert_eq!(s, r#""\u003c/script\u003e""#);
    }

    #[test]
    fn literal_escapes_html_breakers() {
        let v = json!({"a": "</script><!-- & \u{2028}\u{2029} \"q\""});
        let s = js_literal(&v);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!s.contains(bad), "{bad:?} in {s}");
        }
        // Still the same value when read back as JSON.
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn routes_validate_the_base() {
        for good in [
            "/",
            "/captcha",
            "/captcha/",
            "https://a.example/c",
            "http://127.0.0.1:8080/x",
        ] {
            assert!(Routes::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "captcha",
            "//evil.example",
            "javascript:alert(1)",
            "/a b",
            "/a?x=1",
            "/a#x",
            "/a\n",
            "/a\\b",
        ] {
            assert_eq!(Routes::new(bad), Err(BaseUrlError), "{bad:?}");
        }
        assert_eq!(Routes::new("/").unwrap().verify(), "/verify");
        assert_eq!(Routes::new("/c/").unwrap().refresh(), "/c/refresh");
    }

    #[test]
    fn script_embeds_config_and_defines_the_api() {
        let routes = Routes::new("https://h.example/cap").unwrap();
        let js = WidgetTemplate::new(&routes, WidgetDelivery::Inline).script(&config_literal(
            &WidgetParams {
                challenge: "TOKEN-abc_1",
                ttl_secs: 300,
                puzzle: &Puzzle::new(4, 100, [1; 16]),
                letters: 5,
            },
        ));
        assert!(js.contains(r#""pow":{"bits":4,"iterations":100,"salt":"01010101"#));
        assert!(js.contains(r#""letters":5"#));
        assert!(js.contains("deriveBits"));
        assert!(!js.contains("__QCAPTCHA_CONFIG__"));
        assert!(js.contains(r#""challenge":"TOKEN-abc_1""#));
        assert!(js.contains(r#""ttl":300"#));
        assert!(js.contains(r#""verify":"https://h.example/cap/verify""#));
        for api in [
            "window.capInit",
            "window.capRefresh",
            "window.capGetTicket",
            "window.capDestroy",
        ] {
            assert!(js.contains(api), "{api}");
        }
        // No inline handlers or string-eval.
        for bad in [
            "onclick",
            "innerHTML",
            "eval(",
            "setAttribute(\"on",
            "new Function",
        ] {
            assert!(!js.contains(bad), "{bad}");
        }
    }

    #[test]
    fn callback_script_is_a_guarded_call() {
        let cb = Callback::parse("my.cb").unwrap();
        let js = callback_script(&cb, ErrorCode::CheckFailed, "</script>");
        assert_eq!(
            js,
            "try{if(typeof my.cb===\"function\"){my.cb({\"code\":5100,\"message\":\"\\u003c/script\\u003e\"});}}catch(e){}\n"
        );
    }
}
