//! The renderer's error type.

/// Everything that can go wrong when building a generator or rendering a
/// captcha. Bad input is always reported here, never by a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The captcha type is not one of 1..=8.
    #[error("invalid captcha type {0}: expected an integer from 1 to 8")]
    InvalidCaptchaType(i64),
    /// The requested picture size is outside the supported range.
    #[error(
        "invalid image size {width}x{height}: width must be {min_w}..={max_w}, height {min_h}..={max_h}, and width at least 2 x height",
        min_w = crate::render::size::MIN_WIDTH,
        max_w = crate::render::size::MAX_WIDTH,
        min_h = crate::render::size::MIN_HEIGHT,
        max_h = crate::render::size::MAX_HEIGHT
    )]
    InvalidSize {
        /// The requested width in pixels.
        width: u32,
        /// The requested height in pixels.
        height: u32,
    },
    /// The operating system's random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Random(String),
    /// The PNG encoder failed (this indicates a bug, not bad input).
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// The WAV writer failed (this indicates a bug, not bad input).
    #[error("WAV encoding failed: {0}")]
    Wav(String),
}
