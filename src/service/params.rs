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
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters (at most {max})", max = MAX_PARAMS)]
    TooManyParameters,
    /// `Action` names another API call.
    #[error("parameter Action must be {0}")]
    WrongAction(&'static str),
}

impl ParamError {
    /// The wire name of the parameter at fault (`""` for
    /// [`ParamError::TooManyParameters`]).
    pub fn parameter(&self) -> &'static str {
        match self {
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
        let mut out = Vec::new();
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

/// Splits a URL query string or form body into decoded pairs.
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
