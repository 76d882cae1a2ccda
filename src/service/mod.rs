//! The service: CaptchaQuery and CaptchaCheck, the widget's routes, sealed
//! challenges and tickets, replay stores.

pub mod builder;
pub mod callback;
pub mod check;
pub mod clock;
pub mod codes;
pub mod defence;
pub mod errors;
pub mod handlers;
pub mod http;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod params;
pub mod pictures;
pub mod pow;
pub mod random;
pub mod requests;
pub mod signature;
pub mod store;
pub mod tokens;
pub mod widget;
