//! The JavaScript widget and its routes. The folder holds the script
//! (`widget.js`), the session CaptchaQuery starts, the one parser of the
//! routes' forms, and the routes themselves.

pub(crate) mod cached;
pub(crate) mod form;
pub(crate) mod media;
pub(crate) mod pictures;
pub(crate) mod routes;
pub(crate) mod script;
pub(crate) mod session;
pub(crate) mod template;

pub use crate::service::errors::ChallengeError;
pub use script::{BaseUrlError, Routes};
pub use session::Widget;
pub use template::WidgetDelivery;
