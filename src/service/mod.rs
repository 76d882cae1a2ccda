//! The service: CaptchaQuery and CaptchaCheck, the widget's routes, sealed
//! challenges and tickets, replay stores.

pub mod api;
pub mod builder;
pub mod clock;
pub mod defence;
pub mod errors;
pub mod handlers;
pub mod metrics;
pub mod store;
pub mod tokens;
pub mod widget;
