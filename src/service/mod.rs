//! The service: CaptchaQuery and CaptchaCheck, the widget's routes, sealed
//! challenges and tickets, replay stores.

pub mod codes;
pub mod handlers;
pub mod requests;
pub mod signature;
pub mod store;
pub mod tokens;
pub mod widget;
