//! The widget routes' one parser: the form body (refresh, verify) or the
//! query string (image, audio), parsed once into its fields with the
//! API's parameter rules (the same decoding and count bound, no field
//! twice). The decoded values are moved into the form, not copied, and
//! borrow from the request where nothing was percent-decoded.

use std::borrow::Cow;

use crate::service::api::params::{parse_pairs, ParamError, MAX_PARAMS};
use crate::service::errors::{ChallengeError, ServiceError};

/// The fields a widget request may carry, in [`WidgetForm::parse`]'s
/// order; any other field is ignored.
const FIELDS: [&str; 4] = ["c", "answer", "pow", "s"];

/// What a widget request carries. Each field may appear once: a second
/// `answer` (or `c`, `pow`, `s`) is refused, never "the first one wins".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WidgetForm<'a> {
    /// `c`: the sealed challenge token (never empty).
    pub(crate) challenge: Cow<'a, str>,
    /// `answer`: the typed text (`""` when absent).
    pub(crate) answer: Cow<'a, str>,
    /// `pow`: the proof-of-work counter as sent.
    pub(crate) pow: Option<Cow<'a, str>>,
    /// `s`: the picture scale as sent.
    scale: Option<Cow<'a, str>>,
}

impl<'a> WidgetForm<'a> {
    /// Parses a query string or form body: a [`ParamError`] for bad
    /// encoding, too many fields or a field twice (4000), then
    /// [`ChallengeError::Missing`] without a `c`.
    pub(crate) fn parse(form: &'a str) -> Result<WidgetForm<'a>, ServiceError> {
        let pairs = parse_pairs(form)?;
        if pairs.len() > MAX_PARAMS {
            return Err(ParamError::TooManyParameters.into());
        }
        let mut fields: [Option<Cow<'a, str>>; FIELDS.len()] = Default::default();
        for (name, value) in pairs {
            let Some(i) = FIELDS.iter().position(|f| *f == name) else {
                continue;
            };
            if fields[i].replace(value).is_some() {
                return Err(ParamError::Duplicate(FIELDS[i]).into());
            }
        }
        let [challenge, answer, pow, scale] = fields;
        let challenge = challenge
            .filter(|c| !c.is_empty())
            .ok_or(ChallengeError::Missing)?;
        Ok(WidgetForm {
            challenge,
            answer: answer.unwrap_or_default(),
            pow,
            scale,
        })
    }

    /// The `v` of a request for the cached widget script, if it has
    /// exactly one (its only field).
    pub(crate) fn version(query: &str) -> Option<Cow<'_, str>> {
        let mut found = parse_pairs(query)
            .ok()?
            .into_iter()
            .filter(|(k, _)| k == "v");
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }

    /// The scale asked for by `s`: absent is 1, else 1 to
    /// [`MAX_SCALE`](crate::service::widget::pictures::MAX_SCALE)
    /// in plain digits.
    pub(crate) fn scale(&self) -> Result<u32, ParamError> {
        match self.scale.as_deref() {
            None | Some("1") => Ok(1),
            Some("2") => Ok(2),
            Some("3") => Ok(3),
            Some(_) => Err(ParamError::OutOfRange {
                name: "s",
                allowed: "1, 2 or 3",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(form: &str) -> Result<WidgetForm<'_>, ServiceError> {
        WidgetForm::parse(form)
    }

    #[test]
    fn fields_are_read_once_and_decoded() {
        let f = parse("c=tok%2B1&answer=ab+c&pow=12&s=2&other=x").unwrap();
        assert_eq!(f.challenge, "tok+1");
        assert_eq!(f.answer, "ab c");
        assert_eq!(f.pow.as_deref(), Some("12"));
        assert_eq!(f.scale(), Ok(2));
        let f = parse("c=x").unwrap();
        assert_eq!(
            (f.answer.as_ref(), f.pow.as_deref(), f.scale()),
            ("", None, Ok(1))
        );
    }

    #[test]
    fn a_field_given_twice_is_refused_by_name() {
        for (form, name) in [
            ("c=x&answer=a&answer=b", "answer"),
            ("c=x&answer=&answer=b", "answer"),
            ("c=x&c=y", "c"),
            ("c=x&pow=1&pow=2", "pow"),
            ("c=x&s=2&s=2", "s"),
        ] {
            assert_eq!(
                parse(form),
                Err(ServiceError::Param(ParamError::Duplicate(name))),
                "{form}"
            );
        }
    }

    #[test]
    fn no_challenge_and_bad_scales_are_errors() {
        for form in ["", "c=", "answer=x", "c"] {
            assert_eq!(parse(form), Err(ChallengeError::Missing.into()), "{form}");
        }
        for bad in ["s=0", "s=4", "s=+2", "s=2.0", "s="] {
            let form = format!("c=x&{bad}");
            let f = parse(&form).unwrap();
            assert!(f.scale().is_err(), "{bad}");
        }
        assert!(parse("c=%FF").is_err());
    }
}
