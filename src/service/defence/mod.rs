//! Defences against floods and bots: per-address rate limits, proof of
//! work, the price of a new session (a business's surge against its
//! normal and its hold at the top, a network's ticket rate, budgets and floors), the fair-share
//! bookkeeping that keeps a full table from refusing a newcomer, and the
//! service's use of them all.

pub(crate) mod admit;
pub mod baseline;
pub mod decaying;
pub(crate) mod fair_table;
pub(crate) mod gate;
pub(crate) mod hold;
pub(crate) mod limits;
pub mod pow;
pub mod prefix;
pub mod price;
pub(crate) mod proof;
