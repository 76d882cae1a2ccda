//! CaptchaQuery and CaptchaCheck on the wire: parameters, validated
//! requests, result codes, callbacks, HTTP answers and v2 signatures.

pub mod callback;
pub mod codes;
mod dispatch;
pub mod http;
pub mod params;
pub mod requests;
pub mod signature;
