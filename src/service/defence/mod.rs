//! Defences against floods: per-address rate limits and proof of work
//! that rises under attack.

pub mod limits;
pub mod pow;
