//! Defence against floods and bots: limits, proof of work, and what
//! prices a new session.

pub mod baseline;
pub mod decaying;
pub(crate) mod fair_table;
pub(crate) mod gate;
pub mod prefix;
pub mod price;
