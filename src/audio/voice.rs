//! The embedded voice: one recording per letter of [`ALPHABET`], made once by
//! `scripts/make-voice` (flite, see `voice/README.md`) and stored as 8-bit
//! G.711 mu-law at [`SAMPLE_RATE`], and the tables built from it once per
//! process: the letters as `f32` samples, and reversed, resampled copies for
//! the babble.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::SAMPLE_RATE;
use crate::render::ALPHABET;

/// The recordings, in [`ALPHABET`] order.
const RECORDINGS: [&[u8]; 17] = [
    include_bytes!("../../voice/A.ul"),
    include_bytes!("../../voice/B.ul"),
    include_bytes!("../../voice/D.ul"),
    include_bytes!("../../voice/E.ul"),
    include_bytes!("../../voice/J.ul"),
    include_bytes!("../../voice/K.ul"),
    include_bytes!("../../voice/L.ul"),
    include_bytes!("../../voice/M.ul"),
    include_bytes!("../../voice/N.ul"),
    include_bytes!("../../voice/R.ul"),
    include_bytes!("../../voice/S.ul"),
    include_bytes!("../../voice/T.ul"),
    include_bytes!("../../voice/U.ul"),
    include_bytes!("../../voice/V.ul"),
    include_bytes!("../../voice/X.ul"),
    include_bytes!("../../voice/Y.ul"),
    include_bytes!("../../voice/Z.ul"),
];

/// Playback rates of the babble copies: a reversed letter is slowed down or
/// sped up (and so lowered or raised in pitch, by 3 semitones) by one of
/// these, around the letters' own 0.8 to 1.25. (Babble always lower than
/// the letters, at 0.73 to 0.89, let PocketSphinx read twice as many
/// letters: see the README.)
pub(crate) const BABBLE_RATES: [f32; 3] = [0.84, 1.0, 1.19];

/// Length of the noise table (a power of two), about 0.74 s.
pub(crate) const NOISE_LEN: usize = 8192;

/// Everything derived from the recordings, built once per process.
pub(crate) struct Voice {
    /// Each letter, forward, as samples in -1..1 (RMS about -18 dBFS).
    pub(crate) letters: Vec<Vec<f32>>,
    /// Each letter reversed, at each of [`BABBLE_RATES`]:
    /// `babble[letter * BABBLE_RATES.len() + rate]`.
    pub(crate) babble: Vec<Vec<f32>>,
    /// White noise in -1..1 from a fixed seed, read at a random offset.
    pub(crate) noise: Vec<f32>,
    /// The longest letter, in samples.
    #[cfg(test)]
    pub(crate) longest: usize,
}

/// The voice tables, built on first use.
pub(crate) fn voice() -> &'static Voice {
    static VOICE: OnceLock<Voice> = OnceLock::new();
    VOICE.get_or_init(Voice::build)
}

impl Voice {
    fn build() -> Voice {
        debug_assert_eq!(RECORDINGS.len(), ALPHABET.len());
        let letters: Vec<Vec<f32>> = RECORDINGS
            .iter()
            .map(|bytes| bytes.iter().map(|&b| mu_law(b)).collect())
            .collect();
        let mut babble = Vec::with_capacity(letters.len() * BABBLE_RATES.len());
        for letter in &letters {
            let reversed: Vec<f32> = letter.iter().rev().copied().collect();
            for &rate in &BABBLE_RATES {
                let mut out = Vec::new();
                resample_add(&reversed, rate, 1.0, &mut out);
                babble.push(out);
            }
        }
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(SAMPLE_RATE));
        let noise = (0..NOISE_LEN)
            .map(|_| rng.random_range(-1.0..1.0f32))
            .collect();
        Voice {
            #[cfg(test)]
            longest: letters_longest(&letters),
            letters,
            babble,
            noise,
        }
    }
}

#[cfg(test)]
fn letters_longest(letters: &[Vec<f32>]) -> usize {
    letters.iter().map(Vec::len).max().unwrap_or(0)
}

/// Decodes one G.711 mu-law byte (as sox writes it) to a sample in -1..1.
pub(crate) fn mu_law(byte: u8) -> f32 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let linear = if u & 0x80 != 0 { -magnitude } else { magnitude };
    linear as f32 / 32768.0
}

/// The number of samples `source` lasts when played at `rate` (1 = as
/// recorded, 2 = twice as fast and an octave higher).
pub(crate) fn resampled_len(source: usize, rate: f32) -> usize {
    if source < 2 {
        return 0;
    }
    ((source - 1) as f32 / rate) as usize
}

/// Plays `source` at `rate` with linear interpolation, scaled by `gain`,
/// added onto `out` from its start (`out` is grown with zeros if shorter;
/// callers on the hot path pass a slice that is long enough, see
/// [`resample_add_into`]).
fn resample_add(source: &[f32], rate: f32, gain: f32, out: &mut Vec<f32>) {
    let n = resampled_len(source.len(), rate);
    if out.len() < n {
        out.resize(n, 0.0);
    }
    resample_add_into(source, rate, gain, &mut out[..n]);
}

/// Plays `source` at `rate` (linear interpolation), scaled by `gain`, added
/// onto `out`, for `out.len()` samples at most [`resampled_len`].
pub(crate) fn resample_add_into(source: &[f32], rate: f32, gain: f32, out: &mut [f32]) {
    let n = out.len().min(resampled_len(source.len(), rate));
    // The position in 16.16 fixed point: integer steps, no float-to-index
    // conversion per sample. resampled_len keeps the position within
    // len - 1, so i + 1 is in bounds; the min only guards against rounding.
    let step = (rate * 65536.0) as u32;
    let last = source.len().saturating_sub(2);
    let mut pos = 0u32;
    for dst in &mut out[..n] {
        let i = ((pos >> 16) as usize).min(last);
        let frac = (pos & 0xffff) as f32 * (1.0 / 65536.0);
        let (a, b) = (source[i], source[i + 1]);
        *dst += gain * (a + frac * (b - a));
        pos = pos.wrapping_add(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mu_law_decodes_like_g711() {
        // 0xff and 0x7f are the two zeros; 0x80 and 0x00 the extremes.
        assert_eq!(mu_law(0xff), 0.0);
        assert_eq!(mu_law(0x7f), 0.0);
        assert_eq!(mu_law(0x80), 32124.0 / 32768.0);
        assert_eq!(mu_law(0x00), -32124.0 / 32768.0);
        // Monotonic within each sign.
        for b in 0x80u8..0xff {
            assert!(mu_law(b) > mu_law(b + 1));
        }
    }

    #[test]
    fn every_letter_is_recorded_at_a_similar_loudness() {
        let v = voice();
        assert_eq!(v.letters.len(), ALPHABET.len());
        for (letter, samples) in ALPHABET.iter().zip(&v.letters) {
            let secs = samples.len() as f32 / SAMPLE_RATE as f32;
            assert!((0.15..0.6).contains(&secs), "{}: {secs} s", *letter as char);
            let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
            let db = 20.0 * rms.log10();
            assert!(
                (-20.0..-16.0).contains(&db),
                "{}: {db} dBFS",
                *letter as char
            );
        }
    }

    #[test]
    fn resampling_changes_length_by_the_rate() {
        let src: Vec<f32> = (0..1001).map(|i| i as f32).collect();
        let mut out = Vec::new();
        resample_add(&src, 2.0, 1.0, &mut out);
        assert_eq!(out.len(), 500);
        assert_eq!(out[10], 20.0);
        let mut slow = vec![0.0; 2000];
        resample_add_into(&src, 0.5, 1.0, &mut slow);
        assert_eq!(slow[3], 1.5);
    }
}
