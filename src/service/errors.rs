//! Every way the service can fail, as typed errors: building it, a widget
//! request, an API request. Only a result code and a generic message reach
//! the client; the typed error is for the host's logs.

use crate::service::api::codes::ErrorCode;
use crate::service::api::params::ParamError;
use crate::service::api::signature::SignError;
use crate::service::defence::limits::LimitError;
use crate::service::defence::pow::PowError;
use crate::service::store::StoreError;
use crate::service::tokens::check::CheckFailure;
use crate::service::tokens::keys::KeyError;
use crate::service::tokens::sealed::TokenError;
use crate::service::widget::script::BaseUrlError;

/// Why the service could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL of the widget routes is not acceptable.
    #[error(transparent)]
    BaseUrl(#[from] BaseUrlError),
    /// No key ring was given and none could be generated.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A time-to-live is zero or the challenge one exceeds the session.
    #[error("invalid lifetimes: need 0 < challenge_ttl <= session_ttl")]
    Lifetimes,
    /// The proof-of-work policy is not acceptable.
    #[error(transparent)]
    Pow(#[from] PowError),
    /// A limit is zero.
    #[error("invalid limits: every limit must be at least 1")]
    Limits,
}

/// Why a widget request (image, refresh, verify) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The `c` parameter is missing.
    #[error("missing challenge")]
    Missing,
    /// The challenge token does not open.
    #[error("invalid challenge: {0}")]
    Invalid(TokenError),
    /// The challenge is past its answer deadline.
    #[error("challenge expired")]
    Expired,
    /// The challenge was issued more than
    /// [`MAX_CLOCK_SKEW_SECS`](crate::tokens::MAX_CLOCK_SKEW_SECS) in the
    /// future (a node's clock is wrong, or a key leaked).
    #[error("challenge issued in the future")]
    IssuedInFuture,
    /// The widget session is over; the page must fetch new JavaScript.
    #[error("captcha session over")]
    SessionOver,
    /// The challenge had its one attempt already (an answer or a refresh),
    /// or a later picture of its session did.
    #[error("challenge already used")]
    Used,
    /// The answer is wrong.
    #[error("wrong answer")]
    WrongAnswer,
    /// The challenge asks for a proof of work and the `pow` counter is
    /// missing, malformed or does not solve it (nothing is stored: the
    /// picture stays answerable with its proof).
    #[error("missing or wrong proof of work")]
    WrongProof,
}

/// Every way a request can fail, for the host's logs. Only the
/// [`code`](ServiceError::code) and a generic message reach the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// A parameter is missing or invalid (4000).
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The v2 signature check failed (4000/4100/4500/6000).
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A ticket check failed (5100; 6000 for a store failure).
    #[error(transparent)]
    Check(#[from] CheckFailure),
    /// A widget request failed.
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    /// The replay store could not answer (6000).
    #[error("replay store: {0}")]
    Store(#[from] StoreError),
    /// Sealing a token failed (6000).
    #[error("sealing failed: {0}")]
    Seal(TokenError),
    /// Rendering failed (6000).
    #[error("render failed: {0}")]
    Render(#[from] crate::render::Error),
    /// The `Action` is neither CaptchaQuery nor CaptchaCheck (5000).
    #[error("unknown Action: expected CaptchaQuery or CaptchaCheck")]
    UnknownAction,
    /// A limit was reached (4400; HTTP 429 on the widget routes for the
    /// per-minute limits).
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl ServiceError {
    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Param(_) => ErrorCode::InvalidParameter,
            ServiceError::Sign(e) => e.code(),
            ServiceError::Check(CheckFailure::Store(_)) => ErrorCode::Internal,
            ServiceError::Check(_) => ErrorCode::CheckFailed,
            ServiceError::Challenge(
                ChallengeError::Missing
                | ChallengeError::Invalid(_)
                | ChallengeError::IssuedInFuture,
            ) => ErrorCode::InvalidParameter,
            ServiceError::Limit(_) => ErrorCode::QuotaExceeded,
            ServiceError::Challenge(ChallengeError::Expired | ChallengeError::SessionOver) => {
                ErrorCode::RequestExpired
            }
            ServiceError::Challenge(
                ChallengeError::Used | ChallengeError::WrongAnswer | ChallengeError::WrongProof,
            ) => ErrorCode::CheckFailed,
            ServiceError::Store(_) | ServiceError::Seal(_) | ServiceError::Render(_) => {
                ErrorCode::Internal
            }
            ServiceError::UnknownAction => ErrorCode::NotFound,
        }
    }

    /// Seconds the client should wait before trying again: set for the
    /// per-minute [`LimitError`]s only.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::Limit(l) => l.retry_after(),
            _ => None,
        }
    }

    /// The message sent to the client: the parameter error for 4000 (it
    /// names the parameter), otherwise the code's generic message (the
    /// reason of a failed check stays in the logs).
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Param(e) => e.to_string(),
            ServiceError::Sign(SignError::Parameter(p)) => {
                format!("missing or invalid parameter {p}")
            }
            ServiceError::Challenge(ChallengeError::Missing) => "missing challenge".into(),
            ServiceError::Challenge(
                ChallengeError::Invalid(_) | ChallengeError::IssuedInFuture,
            ) => "invalid challenge".into(),
            ServiceError::Limit(e) => e.public_message().into(),
            ServiceError::Challenge(ChallengeError::WrongAnswer) => "wrong answer".into(),
            ServiceError::Challenge(ChallengeError::WrongProof) => {
                "missing or wrong proof of work".into()
            }
            ServiceError::Challenge(ChallengeError::Used) => "challenge already used".into(),
            ServiceError::Challenge(ChallengeError::Expired) => "challenge expired".into(),
            ServiceError::Challenge(ChallengeError::SessionOver) => {
                "captcha expired, reload the page".into()
            }
            ServiceError::UnknownAction => self.to_string(),
            other => other.code().message().into(),
        }
    }
}
