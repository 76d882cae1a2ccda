//! The renderer: a captcha type and a seed in, a PNG and its answer out.
//!
//! The pipeline, one concern per file:
//! - `policy`: the type table (letters, look) and the alphabet;
//! - `style`: every number that shapes a picture, with why;
//! - `seed`: seeds from the OS CSPRNG;
//! - `answer`: the word a seed draws, and the constant-time check of input;
//! - `glyphs`: embedded fonts and the outline glyph cache;
//! - `raster`: the exact-area polygon rasterizer (ink and erase; even-odd,
//!   and the bands of reversed contrast computed per pixel);
//! - `warp`: the smooth global warp (tabulated Perlin noise);
//! - `png`: 2-bit indexed PNG output;
//! - `generator`: options, [`Generator`] and [`generate`]: the pipeline;
//! - `error`: the renderer's error type.

pub(crate) mod answer;
mod error;
mod generator;
mod glyphs;
mod png;
mod policy;
pub(crate) mod raster;
mod seed;
mod size;
mod style;
mod warp;

pub use answer::{answer_matches, Answer, MAX_LETTERS};
pub use error::Error;
pub use generator::{generate, Captcha, Generator, Options};
pub use png::Compression;
pub use policy::{CaptchaType, Look, Policy, ALPHABET, INTERFERENCE_ALPHABET};
pub use seed::random_seed;
pub use size::{DEFAULT_HEIGHT, DEFAULT_WIDTH};
