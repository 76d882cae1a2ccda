//! The embedded voices: one recording per letter of [`ALPHABET`] in each of
//! three voices, and four sentences for the babble, made once by
//! `scripts/make-voice` (flite, see `voice/README.md`) and stored as 8-bit
//! G.711 mu-law at [`SAMPLE_RATE`]; and the tables built from them once per
//! process: the letters as `f32` samples (and as pairs of a sample and the
//! step to the next, which the interpolation reads), and the babble bed.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};

use rand_chacha::ChaCha20Rng;

use super::playback::{pairs, Pair};
use super::SAMPLE_RATE;
use crate::render::ALPHABET;

/// The recordings of one voice, in [`ALPHABET`] order.
type Letters = [&'static [u8]; 17];

macro_rules! letters {
    ($dir:literal) => {
        [
            include_bytes!(concat!("../../voice/", $dir, "A.ul")),
            include_bytes!(concat!("../../voice/", $dir, "B.ul")),
            include_bytes!(concat!("../../voice/", $dir, "D.ul")),
            include_bytes!(concat!("../../voice/", $dir, "E.ul")),
            include_bytes!(concat!("../../voice/", $dir, "J.ul")),
            include_bytes!(concat!("../../voice/", $dir, "K.ul")),
            include_bytes!(concat!("../../voice/", $dir, "L.ul")),
            include_bytes!(concat!("../../voice/", $dir, "M.ul")),
            include_bytes!(concat!("../../voice/", $dir, "N.ul")),
            include_bytes!(concat!("../../voice/", $dir, "R.ul")),
            include_bytes!(concat!("../../voice/", $dir, "S.ul")),
            include_bytes!(concat!("../../voice/", $dir, "T.ul")),
            include_bytes!(concat!("../../voice/", $dir, "U.ul")),
            include_bytes!(concat!("../../voice/", $dir, "V.ul")),
            include_bytes!(concat!("../../voice/", $dir, "X.ul")),
            include_bytes!(concat!("../../voice/", $dir, "Y.ul")),
            include_bytes!(concat!("../../voice/", $dir, "Z.ul")),
        ]
    };
}

/// The letter voices: flite `rms` first (the clear clips speak only it),
/// then `slt` and `awb`; an interference clip draws one of them.
const VOICES: [Letters; 3] = [letters!(""), letters!("slt/"), letters!("awb/")];

/// Sentences in four voices (none of them letters), the babble's material.
const SENTENCES: [&[u8]; 4] = [
    include_bytes!("../../voice/babble/kal16.ul"),
    include_bytes!("../../voice/babble/awb.ul"),
    include_bytes!("../../voice/babble/slt.ul"),
    include_bytes!("../../voice/babble/rms.ul"),
];

/// Talkers in the babble bed: each reads all the sentences backwards, one
/// after another, starting at a different one, so that at any moment three
/// different voices overlap.
const BED_TALKERS: usize = 3;

/// Length of the noise table (a power of two), about 0.74 s.
pub(crate) const NOISE_LEN: usize = 8192;

/// Everything derived from the recordings, built once per process.
pub(crate) struct Voice {
    /// Each voice's letters, forward, as samples in -1..1 (RMS about -18
    /// dBFS): `letters[voice][letter]`; voice 0 is the clear clips'.
    pub(crate) letters: Vec<Vec<Vec<f32>>>,
    /// The same as [`Pair`]s, as the interference clips play them.
    pub(crate) letter_pairs: Vec<Vec<Vec<Pair>>>,
    /// Three-talker babble: the sentences reversed, overlapped, at RMS 1,
    /// as [`Pair`]s.
    pub(crate) bed: Vec<Pair>,
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

fn decode(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| mu_law(b)).collect()
}

impl Voice {
    fn build() -> Voice {
        debug_assert!(VOICES.iter().all(|v| v.len() == ALPHABET.len()));
        let letters: Vec<Vec<Vec<f32>>> = VOICES
            .iter()
            .map(|voice| voice.iter().map(|bytes| decode(bytes)).collect())
            .collect();
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(SAMPLE_RATE));
        let noise = (0..NOISE_LEN)
            .map(|_| rng.random_range(-1.0..1.0f32))
            .collect();
        Voice {
            #[cfg(test)]
            longest: letters.iter().flatten().map(Vec::len).max().unwrap_or(0),
            letter_pairs: letters
                .iter()
                .map(|voice| voice.iter().map(|x| pairs(x)).collect())
                .collect(),
            letters,
            bed: pairs(&babble_bed()),
            noise,
        }
    }
}

/// The babble bed: [`BED_TALKERS`] streams, each every sentence reversed in
/// turn, started at different sentences and offsets, summed and scaled to
/// RMS 1. A clip reads stretches of it at varying speed (`mix.rs`).
fn babble_bed() -> Vec<f32> {
    let reversed: Vec<Vec<f32>> = SENTENCES
        .iter()
        .map(|bytes| decode(bytes).into_iter().rev().collect())
        .collect();
    let stream: Vec<f32> = reversed.concat();
    let mut bed = vec![0.0f32; stream.len()];
    for talker in 0..BED_TALKERS {
        // Each talker starts a sentence and a third later than the last.
        let shift = talker * (reversed[0].len() + stream.len() / 3 / BED_TALKERS);
        for (i, b) in bed.iter_mut().enumerate() {
            *b += stream[(i + shift) % stream.len()];
        }
    }
    let rms = (bed.iter().map(|x| x * x).sum::<f32>() / bed.len() as f32).sqrt();
    bed.iter_mut().for_each(|x| *x /= rms);
    bed
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
        assert_eq!(v.letters.len(), VOICES.len());
        for (n, letters) in v.letters.iter().enumerate() {
            assert_eq!(letters.len(), ALPHABET.len());
            for (letter, samples) in ALPHABET.iter().zip(letters) {
                let secs = samples.len() as f32 / SAMPLE_RATE as f32;
                let name = format!("voice {n} {}", *letter as char);
                assert!((0.12..0.6).contains(&secs), "{name}: {secs} s");
                let db = 20.0 * rms(samples).log10();
                assert!((-21.0..-16.0).contains(&db), "{name}: {db} dBFS");
            }
        }
    }

    #[test]
    fn the_babble_bed_is_three_voices_at_every_moment() {
        let bed: Vec<f32> = voice().bed.iter().map(|&[x, _]| x).collect();
        assert!((rms(&bed) - 1.0).abs() < 1e-3);
        // Three talkers with pauses between words: no 0.1 s stretch of it
        // is near silence.
        let quietest = bed
            .chunks(SAMPLE_RATE as usize / 10)
            .map(rms)
            .fold(f32::INFINITY, f32::min);
        assert!(quietest > 0.1, "quietest 0.1 s at RMS {quietest}");
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
    }
}
