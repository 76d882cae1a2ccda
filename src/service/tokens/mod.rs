//! Sealed challenges and tickets, the keys that seal them, the ticket
//! check and the random numbers they draw; the service's issuing and key
//! rotation.

pub mod check;
pub(crate) mod issue;
pub mod keys;
pub mod random;
mod rotation;
pub mod sealed;
