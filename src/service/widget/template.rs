//! The widget script, built once per service: its static part (the code
//! and the service's routes) is split at the per-challenge configuration,
//! both as JavaScript and as the inside of CaptchaQuery's `script=0` JSON
//! string, so that each CaptchaQuery only copies the halves around a small
//! configuration instead of rebuilding and re-escaping the whole script.
//!
//! Two deliveries ([`WidgetDelivery`]): the whole script in every
//! CaptchaQuery answer (the default), or a small per-challenge script that
//! hands its configuration to the static widget, served once as a
//! cacheable `{base}/widget.js?v=<version>`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::service::api::codes::to_bytes;
use crate::service::widget::script::{js_literal, Routes};
use crate::ErrorCode;

/// Where the per-challenge configuration goes in `widget.js` and
/// `loader.js`.
const CONFIG_MARK: &str = "__QCAPTCHA_CONFIG__";
/// Where the routes go in `widget.js`.
const ROUTES_MARK: &str = "__QCAPTCHA_ROUTES__";
/// Where the cached widget's URL goes in `loader.js`.
const SRC_MARK: &str = "__QCAPTCHA_SRC__";
/// What the cached widget reads its first configuration from.
const CONFIG_GLOBAL: &str = "window.qcaptchaConfig || null";

/// The widget's JavaScript, with the marks.
const WIDGET_JS: &str = include_str!("widget.js");
/// The per-challenge script of the cached delivery, with the marks.
const LOADER_JS: &str = include_str!("loader.js");

/// Path of the cached widget script under the base URL.
pub(crate) const WIDGET_JS_ROUTE: &str = "widget.js";

/// How CaptchaQuery delivers the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WidgetDelivery {
    /// The whole widget script (about 16 KB) in every answer, as the
    /// original service does: the page needs nothing else.
    #[default]
    Inline,
    /// A small script (under 1 KB) with the challenge, which loads the
    /// static widget from `{base}/widget.js?v=<version>` (served by
    /// [`CaptchaService::handle_widget_js`](crate::CaptchaService::handle_widget_js),
    /// cacheable for a year: a new version has a new URL) unless the page
    /// loaded it already. The page may call `capInit` at once: calls made
    /// before the widget arrived run when it does.
    Cached,
}

/// A text split at the configuration: `head` + configuration + `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Halves {
    head: String,
    tail: String,
}

impl Halves {
    /// Splits `text` at the one [`CONFIG_MARK`] in it.
    fn split(text: &str) -> Halves {
        let (head, tail) = text
            .split_once(CONFIG_MARK)
            .unwrap_or_else(|| unreachable!("the scripts hold the configuration mark once"));
        Halves {
            head: head.to_owned(),
            tail: tail.to_owned(),
        }
    }

    /// `head` + `middle` + `tail`, in one allocation.
    fn join(&self, middle: &str) -> String {
        let mut out = String::with_capacity(self.head.len() + middle.len() + self.tail.len());
        out.push_str(&self.head);
        out.push_str(middle);
        out.push_str(&self.tail);
        out
    }

    /// `head` + `middle` escaped as the inside of a JSON string + `tail`,
    /// in one allocation.
    fn join_escaped(&self, middle: &str) -> Vec<u8> {
        // Escaping at most doubles a configuration (it holds no control
        // characters: `\uXXXX` escapes are already in it).
        let mut out = Vec::with_capacity(self.head.len() + 2 * middle.len() + self.tail.len());
        out.extend_from_slice(self.head.as_bytes());
        let start = out.len();
        // serde_json writes a quoted string; the quotes go, the escaped
        // text goes inside the script's string.
        if serde_json::to_writer(&mut out, middle).is_err() {
            unreachable!("writing a string into a Vec cannot fail");
        }
        out.pop();
        out.remove(start);
        out.extend_from_slice(self.tail.as_bytes());
        out
    }
}

/// One script as CaptchaQuery sends it: itself (`script=1`), and the
/// whole `script=0` answer `{"code":0,...,"script":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answers {
    script: Halves,
    query_json: Halves,
}

impl Answers {
    /// `script` holds the configuration mark once.
    fn new(script: &str) -> Answers {
        // The mark is plain ASCII, so it survives JSON escaping as it is.
        let answer = to_bytes(&json!({
            "code": ErrorCode::Success.code(),
            "message": ErrorCode::Success.message(),
            "script": script,
        }));
        let answer = String::from_utf8(answer).unwrap_or_default();
        Answers {
            script: Halves::split(script),
            query_json: Halves::split(&answer),
        }
    }
}

/// The widget of one service, ready to be completed by a challenge's
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WidgetTemplate {
    delivery: WidgetDelivery,
    /// The whole widget, per challenge.
    inline: Answers,
    /// The small script of the cached delivery, per challenge.
    loader: Answers,
    /// The static widget of the cached delivery.
    cached: String,
    /// Its version: part of a hash of it.
    version: String,
}

impl WidgetTemplate {
    /// The widget with `routes` built in, delivered as `delivery` says.
    pub(crate) fn new(routes: &Routes, delivery: WidgetDelivery) -> WidgetTemplate {
        let routes_literal = js_literal(&json!({
            "image": routes.image(),
            "audio": routes.audio(),
            "refresh": routes.refresh(),
            "verify": routes.verify(),
        }));
        let script = WIDGET_JS.replacen(ROUTES_MARK, &routes_literal, 1);
        let cached = script.replacen(CONFIG_MARK, CONFIG_GLOBAL, 1);
        let version = URL_SAFE_NO_PAD.encode(&Sha256::digest(cached.as_bytes())[..9]);
        let src = format!("{}/{WIDGET_JS_ROUTE}?v={version}", routes.base());
        let loader = LOADER_JS.replacen(SRC_MARK, &js_literal(&json!(src)), 1);
        WidgetTemplate {
            delivery,
            inline: Answers::new(&script),
            loader: Answers::new(&loader),
            cached,
            version,
        }
    }

    fn answers(&self) -> &Answers {
        match self.delivery {
            WidgetDelivery::Inline => &self.inline,
            WidgetDelivery::Cached => &self.loader,
        }
    }

    /// CaptchaQuery's `script=1` answer for one challenge's configuration
    /// (a [`js_literal`]).
    pub(crate) fn script(&self, config: &str) -> String {
        self.answers().script.join(config)
    }

    /// CaptchaQuery's `script=0` answer for one challenge's configuration
    /// (a [`js_literal`]).
    pub(crate) fn query_json(&self, config: &str) -> Vec<u8> {
        self.answers().query_json.join_escaped(config)
    }

    /// The static widget script of the cached delivery.
    pub(crate) fn cached_script(&self) -> &str {
        &self.cached
    }

    /// The cached widget's version (its URL's `v`).
    pub(crate) fn version(&self) -> &str {
        &self.version
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn both_answers_hold_the_whole_script() {
        let routes = Routes::new("https://h.example/cap").unwrap();
        let template = WidgetTemplate::new(&routes, WidgetDelivery::Inline);
        let config = js_literal(&json!({"challenge": "T</script>\"", "ttl": 5}));
        let script = template.script(&config);
        assert!(script.contains(&config));
        assert!(script.contains(r#""verify":"https://h.example/cap/verify""#));
        assert!(!script.contains(CONFIG_MARK) && !script.contains(ROUTES_MARK));
        // script=0 is the same script inside the API's JSON.
        let json: Value = serde_json::from_slice(&template.query_json(&config)).unwrap();
        assert_eq!(json["code"], 0);
        assert_eq!(json["message"], "No Error");
        assert_eq!(json["script"], script.as_str());
    }

    #[test]
    fn the_cached_delivery_sends_a_small_loader_of_a_versioned_widget() {
        let routes = Routes::new("/cap").unwrap();
        let template = WidgetTemplate::new(&routes, WidgetDelivery::Cached);
        let config = js_literal(&json!({"challenge": "T", "ttl": 5, "pow": null, "letters": 4}));
        let loader = template.script(&config);
        assert!(loader.len() < 1024, "{} bytes", loader.len());
        assert!(loader.contains(&config));
        let src = format!("\"/cap/widget.js?v={}\"", template.version());
        assert!(loader.contains(&src), "{loader}");
        let json: Value = serde_json::from_slice(&template.query_json(&config)).unwrap();
        assert_eq!(json["script"], loader.as_str());
        // The static widget has the routes, reads its configuration from
        // the loader, and has no marks left.
        let widget = template.cached_script();
        assert!(widget.contains(CONFIG_GLOBAL) && widget.contains("/cap/verify"));
        for mark in [CONFIG_MARK, ROUTES_MARK, SRC_MARK] {
            assert!(!widget.contains(mark) && !loader.contains(mark), "{mark}");
        }
        // Another base is another widget, another version.
        let other = WidgetTemplate::new(&Routes::new("/x").unwrap(), WidgetDelivery::Cached);
        assert_ne!(other.version(), template.version());
        // The inline delivery's whole script is the same either way.
        let inline = WidgetTemplate::new(&routes, WidgetDelivery::Inline);
        assert_eq!(inline.script(&config), template.inline.script.join(&config));
    }
}
