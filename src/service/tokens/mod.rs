//! Sealed challenges and tickets, the keys that seal them, the ticket
//! check and the random numbers they draw.

pub mod check;
pub mod keys;
pub mod random;
pub mod sealed;
