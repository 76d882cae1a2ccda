//! The widget script, built once per service: its static part (the code
//! and the service's routes) is split at the per-challenge configuration,
//! both as JavaScript and as the inside of CaptchaQuery's `script=0` JSON
//! string, so that each CaptchaQuery only copies the halves around a small
//! configuration instead of rebuilding and re-escaping the whole script.

use serde_json::json;

use crate::service::api::codes::to_bytes;
use crate::service::widget::script::{js_literal, Routes};
use crate::ErrorCode;

/// Where the per-challenge configuration goes in `widget.js`.
const CONFIG_MARK: &str = "__QCAPTCHA_CONFIG__";
/// Where the routes go in `widget.js`.
const ROUTES_MARK: &str = "__QCAPTCHA_ROUTES__";

/// The widget's JavaScript, with the two marks.
const WIDGET_JS: &str = include_str!("widget.js");

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
            .unwrap_or_else(|| unreachable!("widget.js holds the configuration mark once"));
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
}

/// The widget of one service, ready to be completed by a challenge's
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WidgetTemplate {
    /// The script (`script=1`).
    script: Halves,
    /// The whole `script=0` answer, `{"code":0,...,"script":"..."}`, with
    /// the script escaped as a JSON string.
    query_json: Halves,
}

impl WidgetTemplate {
    /// The widget with `routes` built in.
    pub(crate) fn new(routes: &Routes) -> WidgetTemplate {
        let routes = js_literal(&json!({
            "image": routes.image(),
            "audio": routes.audio(),
            "refresh": routes.refresh(),
            "verify": routes.verify(),
        }));
        let script = WIDGET_JS.replacen(ROUTES_MARK, &routes, 1);
        // The mark is plain ASCII, so it survives JSON escaping as it is.
        let answer = to_bytes(&json!({
            "code": ErrorCode::Success.code(),
            "message": ErrorCode::Success.message(),
            "script": script,
        }));
        let answer = String::from_utf8(answer).unwrap_or_default();
        WidgetTemplate {
            script: Halves::split(&script),
            query_json: Halves::split(&answer),
        }
    }

    /// The script for one challenge's configuration (a [`js_literal`]).
    pub(crate) fn script(&self, config: &str) -> String {
        self.script.join(config)
    }

    /// CaptchaQuery's `script=0` answer for one challenge's configuration
    /// (a [`js_literal`]).
    pub(crate) fn query_json(&self, config: &str) -> Vec<u8> {
        let halves = &self.query_json;
        // Escaping at most doubles a configuration (it holds no control
        // characters: `\uXXXX` escapes are already in it).
        let mut out = Vec::with_capacity(halves.head.len() + 2 * config.len() + halves.tail.len());
        out.extend_from_slice(halves.head.as_bytes());
        let start = out.len();
        // serde_json writes a quoted string; the quotes go, the escaped
        // text goes inside the script's string.
        if serde_json::to_writer(&mut out, config).is_err() {
            unreachable!("writing a string into a Vec cannot fail");
        }
        out.pop();
        out.remove(start);
        out.extend_from_slice(halves.tail.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn both_answers_hold_the_whole_script() {
        let routes = Routes::new("https://h.example/cap").unwrap();
        let template = WidgetTemplate::new(&routes);
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
}
