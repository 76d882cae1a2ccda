//! Early reflections on each letter of an interference clip: a few delayed,
//! scaled copies of the letter added to it, drawn per letter.
//!
//! Why: with the wow and the equaliser alone, the matched filter built from
//! the crate's recordings still found about 4 letters in 10, and a
//! four-letter answer (type 5) was read whole 4 times in 60. Reflections
//! change the letter's waveform: the filter correlates with the direct
//! sound only, about half of the letter's energy, and the comb of the
//! reflections breaks the fine structure it matches on; on the design seed
//! its letters in place fell from 40 % to 22 % (docs/audio.md).
//!
//! For a listener, reflections that all arrive within 25 ms fuse with the
//! direct sound (the precedence effect: a small room colours a voice, it
//! does not repeat it); in room-acoustic terms all the energy comes within
//! the first 50 ms, the part counted as useful for speech. The clean
//! reference ESTOI compares with has the same reflections, so ESTOI does
//! not measure what they do to a listener; no listening test was made.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::SAMPLE_RATE;

/// Reflections per letter.
pub(crate) const TAPS: usize = 6;
/// Their delays, in samples: 1.5 to 25 ms.
const DELAY: (usize, usize) = (SAMPLE_RATE as usize * 3 / 2000, SAMPLE_RATE as usize / 40);
/// Their gains' magnitudes (random sign), before the decay with delay.
const GAIN: (f32, f32) = (0.35, 0.7);

/// The reflections of one letter: (delay in samples, gain).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Echoes([(usize, f32); TAPS]);

impl Echoes {
    /// No reflections (clear clips).
    pub(crate) const NONE: Echoes = Echoes([(0, 0.0); TAPS]);

    /// Random reflections, weaker the later they come.
    pub(crate) fn random(rng: &mut ChaCha20Rng) -> Echoes {
        Echoes(std::array::from_fn(|_| {
            let delay = rng.random_range(DELAY.0..=DELAY.1);
            let decay = 1.0 - 0.5 * (delay - DELAY.0) as f32 / (DELAY.1 - DELAY.0) as f32;
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            (delay, sign * decay * rng.random_range(GAIN.0..=GAIN.1))
        }))
    }

    /// Adds the reflections of `letter` onto it (those that fall past its
    /// end are cut), using `scratch` (at least as long) for the dry copy.
    pub(crate) fn apply(&self, letter: &mut [f32], scratch: &mut [f32]) {
        let n = letter.len();
        let dry = &mut scratch[..n];
        dry.copy_from_slice(letter);
        for &(delay, gain) in &self.0 {
            if gain != 0.0 && delay < n {
                for (out, &x) in letter[delay..].iter_mut().zip(&dry[..n - delay]) {
                    *out += gain * x;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn an_impulse_comes_back_as_its_reflections() {
        let echoes = Echoes([
            (20, 0.5),
            (30, -0.25),
            (0, 0.0),
            (0, 0.0),
            (0, 0.0),
            (0, 0.0),
        ]);
        let mut letter = vec![0.0f32; 40];
        letter[5] = 1.0;
        echoes.apply(&mut letter, &mut [0.0; 64]);
        let mut want = vec![0.0f32; 40];
        (want[5], want[25], want[35]) = (1.0, 0.5, -0.25);
        assert_eq!(letter, want);
        let mut none = vec![1.0f32; 10];
        Echoes::NONE.apply(&mut none, &mut [0.0; 10]);
        assert_eq!(none, vec![1.0; 10]);
    }

    #[test]
    fn reflections_stay_early_and_under_the_direct_sound() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let Echoes(taps) = Echoes::random(&mut rng);
            for (delay, gain) in taps {
                // Within 25 ms, each weaker than the direct sound.
                assert!(delay >= 16 && delay as u32 * 1000 <= 25 * SAMPLE_RATE);
                assert!(gain.abs() <= GAIN.1 && gain.abs() >= 0.5 * GAIN.0);
            }
        }
    }
}
