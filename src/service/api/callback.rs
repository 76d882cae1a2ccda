//! The `callBack` parameter: a JavaScript function name that the service
//! writes into a script, so it is validated as a plain identifier or
//! dotted path and nothing else.

use crate::service::api::params::ParamError;

/// A validated `callBack`: a JavaScript identifier or dotted path
/// (`onCaptcha`, `app.captcha.failed`), ASCII letters, digits, `_` and `$`
/// only, no reserved word, at most [`Callback::MAX_LEN`] bytes and 8
/// segments. Safe to write into JavaScript as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Callback(String);

const RESERVED: &[&str] = &[
    "arguments",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "constructor",
    "__proto__",
    "prototype",
];

impl Callback {
    /// The longest accepted callBack.
    pub const MAX_LEN: usize = 128;

    /// Validates a callBack value.
    ///
    /// ```
    /// use qcaptcha::api::Callback;
    /// assert!(Callback::parse("app.onCaptcha").is_ok());
    /// assert!(Callback::parse("alert(1)//").is_err());
    /// assert!(Callback::parse("</script>").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Callback, ParamError> {
        if value.is_empty() || value.len() > Callback::MAX_LEN {
            return Err(ParamError::InvalidCallback);
        }
        let segments: Vec<&str> = value.split('.').collect();
        if segments.len() > 8 {
            return Err(ParamError::InvalidCallback);
        }
        for seg in segments {
            let mut bytes = seg.bytes();
            let first_ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$');
            let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
            if !first_ok || !rest_ok || RESERVED.contains(&seg) {
                return Err(ParamError::InvalidCallback);
            }
        }
        Ok(Callback(value.to_owned()))
    }

    /// The callBack text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
