//! The generic parameter parser both API requests use: decoded pairs,
//! bounded in count, no duplicates, an empty value counts as absent, plain
//! decimal integers, bounded strings without control characters, IP
//! addresses in canonical form. Every failure is a [`ParamError`] that
//! names the parameter (wire code 4000).

use std::borrow::Cow;
use std::net::IpAddr;

/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// A request parameter that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A required parameter is absent or empty.
    #[error("missing required parameter {0}")]
    Missing(&'static str),
    /// The parameter appears more than once.
    #[error("parameter {0} given more than once")]
    Duplicate(&'static str),
    /// Not a number of the parameter's type.
    #[error("parameter {0} is not a valid number")]
    NotANumber(&'static str),
    /// A number outside the parameter's allowed values.
    #[error("parameter {name} is out of range (allowed: {allowed})")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The allowed values, for the message.
        allowed: &'static str,
    },
    /// A string longer than the parameter allows.
    #[error("parameter {name} is longer than {max} bytes")]
    TooLong {
        /// The parameter.
        name: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// A string holding control characters.
    #[error("parameter {0} contains control characters")]
    ControlCharacters(&'static str),
    /// `userIp` is not an IPv4 or IPv6 address.
    #[error("parameter {0} is not a valid IPv4 or IPv6 address")]
    InvalidIp(&'static str),
    /// `callBack` is not a plain JavaScript identifier or dotted path.
    #[error(
        "parameter callBack must be a JavaScript identifier or dotted path such as app.onCaptcha"
    )]
    InvalidCallback,
    /// `appId` is required because `accountType` is 1 or 2.
    #[error("parameter appId is required when accountType is 1 or 2")]
    AppIdRequired,
    /// More than 64 parameters.
    #[error("too many parameters (at most {max})", max = MAX_PARAMS)]
    TooManyParameters,
    /// `Action` names another API call.
    #[error("parameter Action must be {0}")]
    WrongAction(&'static str),
    /// A name or value is not UTF-8 once percent-decoded. It is refused,
    /// not repaired: two different byte strings must never read as the
    /// same text (`%C0%AF` and `%FF%FE` would both become U+FFFD).
    #[error("parameter {0} is not valid UTF-8")]
    InvalidUtf8(String),
}

impl ParamError {
    /// The wire name of the parameter at fault (`""` for
    /// [`ParamError::TooManyParameters`]; for
    /// [`ParamError::InvalidUtf8`] the name as far as it decodes).
    pub fn parameter(&self) -> &str {
        match self {
            ParamError::InvalidUtf8(n) => n,
            ParamError::Missing(n)
            | ParamError::Duplicate(n)
            | ParamError::NotANumber(n)
            | ParamError::ControlCharacters(n)
            | ParamError::InvalidIp(n) => n,
            ParamError::OutOfRange { name, .. } | ParamError::TooLong { name, .. } => name,
            ParamError::InvalidCallback => "callBack",
            ParamError::AppIdRequired => "appId",
            ParamError::TooManyParameters => "",
            ParamError::WrongAction(_) => "Action",
        }
    }
}

/// Parameter pairs, checked for count and duplicates.
pub(crate) struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    pub(crate) fn new<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Params<'a>, ParamError>
    where
        K: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let pairs = pairs.into_iter();
        let mut out = Vec::with_capacity(pairs.size_hint().0.min(MAX_PARAMS));
        for (k, v) in pairs {
            if out.len() == MAX_PARAMS {
                return Err(ParamError::TooManyParameters);
            }
            out.push((k.into(), v.into()));
        }
        Ok(Params { pairs: out })
    }

    /// The value of `name`, `None` when absent or empty.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, ParamError> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(ParamError::Duplicate(name));
                }
                found = Some(v.as_ref());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    pub(crate) fn string(
        &self,
        name: &'static str,
        max: usize,
    ) -> Result<Option<String>, ParamError> {
        match self.get(name)? {
            None => Ok(None),
            Some(v) => {
                if v.len() > max {
                    return Err(ParamError::TooLong { name, max });
                }
                if v.chars().any(char::is_control) {
                    return Err(ParamError::ControlCharacters(name));
                }
                Ok(Some(v.to_owned()))
            }
        }
    }

    pub(crate) fn uint(&self, name: &'static str) -> Result<Option<u64>, ParamError> {
        self.get(name)?.map(|v| parse_uint(name, v)).transpose()
    }

    pub(crate) fn int(&self, name: &'static str) -> Result<Option<i64>, ParamError> {
        self.get(name)?.map(|v| parse_int(name, v)).transpose()
    }

    pub(crate) fn required<T>(name: &'static str, v: Option<T>) -> Result<T, ParamError> {
        v.ok_or(ParamError::Missing(name))
    }

    pub(crate) fn ip(&self, name: &'static str) -> Result<Option<IpAddr>, ParamError> {
        match self.get(name)? {
            None => Ok(None),
            Some(v) if v.len() > 45 => Err(ParamError::TooLong { name, max: 45 }),
            Some(v) => v
                .parse::<IpAddr>()
                .map(|ip| Some(ip.to_canonical()))
                .map_err(|_| ParamError::InvalidIp(name)),
        }
    }
}

pub(crate) fn parse_uint(name: &'static str, v: &str) -> Result<u64, ParamError> {
    if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::NotANumber(name));
    }
    v.parse().map_err(|_| ParamError::NotANumber(name))
}

pub(crate) fn parse_int(name: &'static str, v: &str) -> Result<i64, ParamError> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::NotANumber(name));
    }
    v.parse().map_err(|_| ParamError::NotANumber(name))
}

/// The longest parameter name quoted in an [`ParamError::InvalidUtf8`].
const MAX_QUOTED_NAME: usize = 64;

/// One decoded `name=value` pair, borrowed from the request where no
/// decoding was needed.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Splits a URL query string or form body into decoded pairs
/// (`application/x-www-form-urlencoded`: `&`-separated, `+` is a space,
/// `%XX` a byte). A name or value whose bytes are not UTF-8 is refused
/// with [`ParamError::InvalidUtf8`] naming the parameter. Names and values
/// without `+` or `%` are borrowed from `query`, not copied.
pub fn parse_pairs(query: &str) -> Result<Vec<Pair<'_>>, ParamError> {
    let query = query.trim_start_matches('?');
    let mut out = Vec::with_capacity(query.bytes().filter(|b| *b == b'&').count() + 1);
    for piece in query.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        match (decode_text(raw_name), decode_text(raw_value)) {
            (Some(name), Some(value)) => out.push((name, value)),
            _ => {
                let name = percent_decode(raw_name);
                let lossy = String::from_utf8_lossy(&name);
                let quoted = lossy.chars().take(MAX_QUOTED_NAME).collect();
                return Err(ParamError::InvalidUtf8(quoted));
            }
        }
    }
    Ok(out)
}

/// Decoded text, or `None` if the decoded bytes are not UTF-8. Text with
/// nothing to decode is borrowed as it is: a piece of the query cut at
/// ASCII `&` and `=` is already valid UTF-8, so it is not checked again.
fn decode_text(s: &str) -> Option<Cow<'_, str>> {
    match percent_decode(s) {
        Cow::Borrowed(_) => Some(Cow::Borrowed(s)),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

/// Decodes `+` and `%XX`; a `%` not followed by two hex digits stays as it
/// is (as browsers and `form_urlencoded` do). Text with neither is
/// returned as it is.
fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'+' | b'%')) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse_pairs(q)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn decodes_like_a_form() {
        assert_eq!(
            pairs("?a=1&b=x+y&c=%41%62%e4%b8%ad&&d&e=%zz&f=100%"),
            [
                ("a", "1"),
                ("b", "x y"),
                ("c", "Ab\u{4e2d}"),
                ("d", ""),
                ("e", "%zz"),
                ("f", "100%"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        // The same as form_urlencoded for valid input.
        let q = "x=%2B%26%3D&y=%20+%25&z=a%2Fb";
        let reference: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        assert_eq!(pairs(q), reference);
    }

    #[test]
    fn refuses_invalid_utf8_naming_the_parameter() {
        for (q, name) in [
            ("uid=%C0%AF", "uid"),
            ("uid=%FF%FE", "uid"),
            ("a=1&userIp=%ED%A0%80", "userIp"),
            ("%FFx=1", "\u{fffd}x"),
        ] {
            let err = parse_pairs(q).unwrap_err();
            assert_eq!(err, ParamError::InvalidUtf8(name.to_owned()), "{q}");
            assert_eq!(err.parameter(), name);
        }
    }
}
