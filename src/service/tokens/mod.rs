//! Sealed challenges and tickets and the keys that seal them. The folder
//! also holds the service's issuing, key rotation, the ticket check and
//! the random numbers they draw.

pub(crate) mod check;
pub(crate) mod issue;
pub(crate) mod keys;
pub(crate) mod random;
mod rotation;
pub(crate) mod sealed;

pub use keys::{KeyError, KEY_LEN};
pub use sealed::{Binding, BindingField, Challenge, Ticket, TokenError, MAX_CLOCK_SKEW_SECS};
