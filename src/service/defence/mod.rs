//! Defences against floods: per-address rate limits and proof of work
//! that rises under attack, and the service's use of both.

pub(crate) mod admit;
pub mod limits;
pub mod pow;
pub(crate) mod proof;
