//! CaptchaQuery and CaptchaCheck on the wire: the validated requests,
//! their parameters and the limit errors. The folder holds the wire
//! format (parameters, requests, callbacks, codes, HTTP answers, v2
//! signatures) and the dispatch by `Action`.

pub(crate) mod callback;
pub(crate) mod codes;
mod dispatch;
pub(crate) mod http;
pub(crate) mod params;
pub(crate) mod requests;
pub(crate) mod signature;

pub use crate::service::defence::limits::LimitError;
pub use callback::Callback;
pub use params::ParamError;
pub use requests::{AccountType, CaptchaCheck, CaptchaQuery, CommonParams, ScriptMode, UserFields};
