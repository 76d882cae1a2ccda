//! The JavaScript widget: its script, the session CaptchaQuery starts,
//! the form its routes read, and the routes themselves.

pub(crate) mod form;
pub mod media;
pub mod pictures;
pub mod routes;
pub mod script;
pub mod session;
