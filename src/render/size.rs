//! Picture sizes: the default and the accepted range, which
//! [`Options`](super::Options) checks and [`Error`](super::Error) quotes.

/// Default picture width: the size of the original service's pictures.
pub const DEFAULT_WIDTH: u32 = 130;
/// Default picture height.
pub const DEFAULT_HEIGHT: u32 = 53;
/// Smallest accepted width.
pub const MIN_WIDTH: u32 = 48;
/// Largest accepted width: bounds the memory one generator can take.
pub const MAX_WIDTH: u32 = 1024;
/// Smallest accepted height (smaller letters are not readable).
pub const MIN_HEIGHT: u32 = 24;
/// Largest accepted height.
pub const MAX_HEIGHT: u32 = 512;
