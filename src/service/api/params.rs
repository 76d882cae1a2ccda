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

/// The parameters the API's requests read, each with a slot in
/// [`Params`]'s index (see [`known`]).
const KNOWN: [&str; 22] = [
    "Action",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "captchaType",
    "userIp",
    "businessId",
    "registerTime",
    "sceneId",
    "uid",
    "accountType",
    "appId",
    "associateAccount",
    "xForwardedFor",
    "macAddress",
    "imei",
    "script",
    "callBack",
    "ticket",
];

/// The slot of a [`KNOWN`] name. A `match` on the text (the compiler
/// switches on the length first) instead of a search of the list: every
/// pair of a request is looked up once.
fn known(name: &str) -> Option<usize> {
    Some(match name {
        "Action" => 0,
        "Region" => 1,
        "Timestamp" => 2,
        "Nonce" => 3,
        "SecretId" => 4,
        "Signature" => 5,
        "SignatureMethod" => 6,
        "captchaType" => 7,
        "userIp" => 8,
        "businessId" => 9,
        "registerTime" => 10,
        "sceneId" => 11,
        "uid" => 12,
        "accountType" => 13,
        "appId" => 14,
        "associateAccount" => 15,
        "xForwardedFor" => 16,
        "macAddress" => 17,
        "imei" => 18,
        "script" => 19,
        "callBack" => 20,
        "ticket" => 21,
        _ => return None,
    })
}

/// An index slot: no pair of that name.
const ABSENT: u8 = 0;
/// An index slot: the name was given more than once.
const TWICE: u8 = u8::MAX;

/// Parameter pairs, checked for count and duplicates, with the pair of
/// each [`KNOWN`] name found in one pass.
pub(crate) struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Per known name: [`ABSENT`], [`TWICE`], or its pair's index plus 1
    /// (at most [`MAX_PARAMS`], so it fits).
    index: [u8; KNOWN.len()],
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
        let mut index = [ABSENT; KNOWN.len()];
        for (k, v) in pairs {
            if out.len() == MAX_PARAMS {
                return Err(ParamError::TooManyParameters);
            }
            let (k, v) = (k.into(), v.into());
            if let Some(slot) = known(&k) {
                index[slot] = match index[slot] {
                    ABSENT => u8::try_from(out.len() + 1).unwrap_or(TWICE),
                    _ => TWICE,
                };
            }
            out.push((k, v));
        }
        Ok(Params { pairs: out, index })
    }

    /// The value of `name`, `None` when absent or empty.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, ParamError> {
        let found = match known(name) {
            Some(slot) => match self.index[slot] {
                ABSENT => None,
                TWICE => return Err(ParamError::Duplicate(name)),
                i => self.pairs.get(usize::from(i) - 1).map(|(_, v)| v.as_ref()),
            },
            None => self.scan(name)?,
        };
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The value of a name that has no slot, looked for pair by pair.
    fn scan(&self, name: &'static str) -> Result<Option<&str>, ParamError> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(ParamError::Duplicate(name));
                }
                found = Some(v.as_ref());
            }
        }
        Ok(found)
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
                if has_control(v) {
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

/// Whether `v` holds a control character (`char::is_control`: C0, DEL and
/// C1). ASCII text, the usual case, is checked byte by byte without
/// decoding characters; C1 controls are not ASCII.
fn has_control(v: &str) -> bool {
    if v.is_ascii() {
        v.bytes().any(|b| b.is_ascii_control())
    } else {
        v.chars().any(char::is_control)
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
    // Room for the API's usual dozen or so parameters; more grow it.
    let mut out = Vec::with_capacity(16);
    for piece in Pieces::new(query) {
        match (piece.name(query), piece.value(query)) {
            (Some(name), Some(value)) => out.push((name, value)),
            _ => {
                let name = percent_decode(piece.raw_name(query));
                let lossy = String::from_utf8_lossy(&name);
                let quoted = lossy.chars().take(MAX_QUOTED_NAME).collect();
                return Err(ParamError::InvalidUtf8(quoted));
            }
        }
    }
    Ok(out)
}

/// One `name=value` piece of a query: where its parts are and whether
/// they hold anything to decode, found in one pass over its bytes.
struct Piece {
    start: usize,
    /// Where `=` is (the piece's end when it has none).
    eq: usize,
    end: usize,
    name_encoded: bool,
    value_encoded: bool,
}

impl Piece {
    fn raw_name<'q>(&self, query: &'q str) -> &'q str {
        &query[self.start..self.eq]
    }

    fn name<'q>(&self, query: &'q str) -> Option<Cow<'q, str>> {
        decode_if(self.raw_name(query), self.name_encoded)
    }

    fn value<'q>(&self, query: &'q str) -> Option<Cow<'q, str>> {
        let raw = query.get(self.eq + 1..self.end).unwrap_or("");
        decode_if(raw, self.value_encoded)
    }
}

/// The non-empty pieces of a query, cut at `&`, each with its first `=`
/// and whether its name or value holds `+` or `%`: found with SIMD scans
/// (`memchr`), not byte by byte (all four are ASCII, so every cut is at a
/// character boundary).
struct Pieces<'q> {
    bytes: &'q [u8],
    at: usize,
}

impl<'q> Pieces<'q> {
    fn new(query: &'q str) -> Pieces<'q> {
        Pieces {
            bytes: query.as_bytes(),
            at: 0,
        }
    }
}

/// Below this many bytes a plain loop beats a SIMD scan's call.
const SHORT: usize = 32;

/// Whether `bytes` hold anything to decode.
fn encoded(bytes: &[u8]) -> bool {
    if bytes.len() < SHORT {
        bytes.iter().any(|b| matches!(b, b'+' | b'%'))
    } else {
        memchr::memchr2(b'+', b'%', bytes).is_some()
    }
}

impl Iterator for Pieces<'_> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        while let Some(rest) = self.bytes.get(self.at..).filter(|r| !r.is_empty()) {
            let start = self.at;
            let end = start + memchr::memchr(b'&', rest).unwrap_or(rest.len());
            self.at = end + 1;
            let piece = &self.bytes[start..end];
            if piece.is_empty() {
                continue;
            }
            // A name is short: its `=` is found sooner byte by byte.
            let eq = piece
                .iter()
                .take(SHORT)
                .position(|b| *b == b'=')
                .or_else(|| memchr::memchr(b'=', piece))
                .map_or(end, |i| start + i);
            return Some(Piece {
                start,
                eq,
                end,
                name_encoded: encoded(&self.bytes[start..eq]),
                value_encoded: encoded(self.bytes.get(eq + 1..end).unwrap_or_default()),
            });
        }
        None
    }
}

/// `raw` borrowed as it is when it holds nothing to decode (a piece of
/// the query cut at ASCII bytes is valid UTF-8 already), else decoded.
fn decode_if(raw: &str, encoded: bool) -> Option<Cow<'_, str>> {
    if encoded {
        decode_text(raw)
    } else {
        Some(Cow::Borrowed(raw))
    }
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
    fn cuts_like_form_urlencoded_on_many_strings() {
        // Every string of these bytes up to length 6 (after an `x`, so no
        // leading `?`): one pass must cut and decode as the reference does.
        let alphabet = b"a=&+%2F";
        let mut text = vec![b'x'];
        for n in 0..=6u32 {
            for code in 0..alphabet.len().pow(n) {
                text.truncate(1);
                let mut c = code;
                for _ in 0..n {
                    text.push(alphabet[c % alphabet.len()]);
                    c /= alphabet.len();
                }
                let q = std::str::from_utf8(&text).unwrap();
                let reference: Vec<(String, String)> =
                    form_urlencoded::parse(q.as_bytes()).into_owned().collect();
                match parse_pairs(q) {
                    // Refused, where the reference repairs the bytes.
                    Err(ParamError::InvalidUtf8(_)) => {
                        assert!(format!("{reference:?}").contains('\u{fffd}'), "{q}")
                    }
                    _ => assert_eq!(pairs(q), reference, "{q}"),
                }
            }
        }
    }

    #[test]
    fn control_characters_are_found_as_char_is_control_finds_them() {
        for c in (0..0x250u32).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!("ab{c}"), format!("\u{4e2d}{c}x")] {
                assert_eq!(
                    has_control(&text),
                    text.chars().any(char::is_control),
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn long_names_and_values_cut_alike() {
        let long = "n".repeat(40);
        for q in [
            format!("{long}=v&{long}%41={long}+{long}%2B"),
            format!("a={long}%26{long}&{long}&=x&{long}{long}==="),
            format!("{}&b=1", "%41".repeat(20)),
        ] {
            let reference: Vec<(String, String)> =
                form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(pairs(&q), reference, "{q}");
        }
    }

    #[test]
    fn every_known_name_has_its_own_slot() {
        for (i, name) in KNOWN.iter().enumerate() {
            assert_eq!(known(name), Some(i), "{name}");
        }
        assert_eq!(known("action"), None);
        let p = Params::new([("uid", "1"), ("x", "a"), ("x", "b"), ("uid", "2")]).unwrap();
        assert_eq!(p.get("uid"), Err(ParamError::Duplicate("uid")));
        assert_eq!(p.get("x"), Err(ParamError::Duplicate("x")));
        let p = Params::new([("imei", ""), ("ticket", "t"), ("other", "o")]).unwrap();
        assert_eq!(p.get("imei"), Ok(None));
        assert_eq!(p.get("ticket"), Ok(Some("t")));
        assert_eq!(p.get("other"), Ok(Some("o")));
        assert_eq!(p.get("appId"), Ok(None));
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
