//! The JavaScript widget: its script and the pictures its routes serve.

pub mod pictures;
pub mod script;
