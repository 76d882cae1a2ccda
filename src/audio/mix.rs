//! Laying out a clip and mixing it: the spoken letters on one track, the
//! babble and noise on another, summed into 16-bit samples.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::voice::{resample_add_into, resampled_len, Voice, BABBLE_RATES, NOISE_LEN};
use super::SAMPLE_RATE;
use crate::render::{Look, MAX_LETTERS};

/// Samples in `secs` seconds.
const fn samples(secs: f32) -> usize {
    (secs * SAMPLE_RATE as f32) as usize
}

/// Clear types: silence before the first letter, between letters, after the last.
const CLEAR_LEAD: usize = samples(0.35);
const CLEAR_GAP: usize = samples(0.45);
const TAIL: usize = samples(0.3);

/// Interference types: the lead-in and the gaps are drawn from these ranges.
const LEAD: (usize, usize) = (samples(0.2), samples(0.6));
const GAP: (usize, usize) = (samples(0.25), samples(0.7));
/// Per-letter playback rate (speed and pitch together, by resampling).
const RATE: (f32, f32) = (0.8, 1.25);
/// Per-letter level change, in dB.
const LETTER_DB: (f32, f32) = (-2.0, 2.0);

/// The longest recording the layout allows for (the embedded longest is
/// 0.45 s; a unit test keeps it under this).
const LONGEST_LETTER: usize = samples(0.5);

/// The most samples a clip can have (under 8 s at [`super::SAMPLE_RATE`]):
/// the longest lead-in, six of the longest letter at the slowest rate, the
/// longest gaps and the tail.
pub const MAX_SAMPLES: usize = LEAD.1
    + MAX_LETTERS * ((LONGEST_LETTER as f32 / RATE.0) as usize + 1)
    + (MAX_LETTERS - 1) * GAP.1
    + TAIL;

/// Level of the babble under each letter of an interference clip: the
/// letter's energy over the babble's and the noise's in the letter's span,
/// in dB, on average. Each babble piece's level varies by +-3 dB around it;
/// a unit test measures the per-letter ratio (1st to 99th percentile about
/// -1.5 to +8 dB).
///
/// Why there: listeners identify consonants before a vowel in noise with
/// few errors of voicing or manner down to about -6 dB, and begin to
/// confuse places of articulation (the B / D / V / Z kind of mix-up of the
/// letter names) below about +6 dB (Miller and Nicely, JASA 27, 1955,
/// -18 to +12 dB); in babble, consonants are hardest to identify with six
/// or more talkers and easier with a few (Simpson and Cooke, JASA 118,
/// 2005). So the ratio stays positive, and the babble has three streams
/// whose gaps leave glimpses of the letter, and is reversed, so that it
/// cannot be followed as words. It is a trade, measured: at +6 dB, or with
/// babble always lower-pitched than the letters, PocketSphinx read the
/// interference clips about as well as clear ones (see the README). No listening test of these clips has been made: the
/// level is chosen from those figures and the recogniser, not measured on
/// people.
pub const BABBLE_SNR_DB: f32 = 3.0;

/// Streams of reversed letters that make the babble.
const BABBLE_STREAMS: usize = 3;
/// Silence between two pieces of one stream.
const BABBLE_GAP: (usize, usize) = (0, samples(0.12));
/// Share of time a stream is voiced (a piece lasts ~0.3 s, gaps ~0.06 s).
const BABBLE_DUTY: f32 = 0.83;
/// Per-piece level change around the babble level, in dB.
const BABBLE_DB: (f32, f32) = (-3.0, 3.0);
/// Level of the white noise under the letters, in dB below their level.
const NOISE_SNR_DB: f32 = 24.0;
/// RMS of the recordings (they are normalised to -18 dBFS).
const LETTER_RMS: f32 = 0.125_9;
/// Output gain of interference clips, so that the sum rarely clips.
const INTERFERENCE_GAIN: f32 = 0.8;

/// A stretch of silence: always the same, or drawn from a range.
#[derive(Clone, Copy)]
enum Span {
    Fixed(usize),
    Drawn(usize, usize),
}

impl Span {
    fn pick(self, rng: &mut ChaCha20Rng) -> usize {
        match self {
            Span::Fixed(n) => n,
            Span::Drawn(low, high) => rng.random_range(low..=high),
        }
    }
}

/// How a look speaks its letters: the mixer's one reading of the look.
struct Delivery {
    /// Silence before the first letter.
    lead: Span,
    /// Silence between letters.
    gap: Span,
    /// Each letter at its own pace ([`RATE`]) and level ([`LETTER_DB`]),
    /// or as recorded.
    varied: bool,
    /// Under babble and noise, or alone.
    masked: bool,
}

impl Delivery {
    fn of(look: Look) -> Delivery {
        match look {
            Look::Clear => Delivery {
                lead: Span::Fixed(CLEAR_LEAD),
                gap: Span::Fixed(CLEAR_GAP),
                varied: false,
                masked: false,
            },
            Look::Interference => Delivery {
                lead: Span::Drawn(LEAD.0, LEAD.1),
                gap: Span::Drawn(GAP.0, GAP.1),
                varied: true,
                masked: true,
            },
        }
    }
}

fn db(gain_db: f32) -> f32 {
    10f32.powf(gain_db / 20.0)
}

/// The mixing buffers, sized once for the longest clip.
pub(crate) struct Mixer {
    voice: &'static Voice,
    /// The spoken letters.
    speech: Vec<f32>,
    /// Babble and noise.
    masker: Vec<f32>,
    /// The mix as 16-bit samples.
    pcm: Vec<i16>,
    /// Samples in the current clip.
    len: usize,
    /// Output gain of the current clip.
    gain: f32,
    /// Where each letter of the current clip starts and ends.
    pub(crate) spans: [(usize, usize); MAX_LETTERS],
}

impl Mixer {
    pub(crate) fn new(voice: &'static Voice) -> Mixer {
        Mixer {
            voice,
            speech: vec![0.0; MAX_SAMPLES],
            masker: vec![0.0; MAX_SAMPLES],
            pcm: vec![0; MAX_SAMPLES],
            len: 0,
            gain: 1.0,
            spans: [(0, 0); MAX_LETTERS],
        }
    }

    /// Lays out and mixes the clip of `letters` (indices into the alphabet),
    /// drawing every choice from `rng`. Read the result with [`Mixer::pcm`].
    pub(crate) fn mix(&mut self, letters: &[usize], look: Look, rng: &mut ChaCha20Rng) {
        let voice = self.voice;
        let delivery = Delivery::of(look);
        let mut at = delivery.lead.pick(rng);
        // Lay out the letters first, so the length is known.
        let mut plan = [(0usize, 1.0f32, 1.0f32); MAX_LETTERS];
        for (i, (&letter, step)) in letters.iter().zip(&mut plan).enumerate() {
            let (rate, gain) = if delivery.varied {
                (
                    rng.random_range(RATE.0..=RATE.1),
                    db(rng.random_range(LETTER_DB.0..=LETTER_DB.1)),
                )
            } else {
                (1.0, 1.0)
            };
            if i > 0 {
                at += delivery.gap.pick(rng);
            }
            let n = resampled_len(voice.letters[letter].len(), rate);
            *step = (letter, rate, gain);
            self.spans[i] = (at, at + n);
            at += n;
        }
        self.len = (at + TAIL).min(MAX_SAMPLES);
        let len = self.len;

        let speech = &mut self.speech[..len];
        speech.fill(0.0);
        for (&(letter, rate, gain), &(start, end)) in
            plan.iter().zip(&self.spans).take(letters.len())
        {
            let end = end.min(len);
            if start < end {
                resample_add_into(&voice.letters[letter], rate, gain, &mut speech[start..end]);
            }
        }

        let masker = &mut self.masker[..len];
        masker.fill(0.0);
        self.gain = 1.0;
        if !delivery.masked {
            return;
        }
        self.gain = INTERFERENCE_GAIN;
        let babble_gain = db(-BABBLE_SNR_DB) / (BABBLE_STREAMS as f32 * BABBLE_DUTY).sqrt();
        for _ in 0..BABBLE_STREAMS {
            // Streams start at different points of a piece.
            let mut at = -(rng.random_range(0..samples(0.3)) as isize);
            while at < len as isize {
                let letter = rng.random_range(0..voice.letters.len());
                let rate = rng.random_range(0..BABBLE_RATES.len());
                let gain = babble_gain * db(rng.random_range(BABBLE_DB.0..=BABBLE_DB.1));
                let piece = &voice.babble[letter * BABBLE_RATES.len() + rate];
                // A piece that starts before the clip is cut at its start.
                let heard = piece.get((-at).max(0) as usize..).unwrap_or_default();
                let start = at.max(0) as usize;
                for (dst, src) in masker[start..].iter_mut().zip(heard) {
                    *dst += gain * src;
                }
                at += piece.len() as isize + rng.random_range(BABBLE_GAP.0..=BABBLE_GAP.1) as isize;
            }
        }
        // White noise from the table, from a random offset, wrapping round.
        let noise_gain = LETTER_RMS * db(-NOISE_SNR_DB) * 3f32.sqrt();
        let mut from = rng.random_range(0..NOISE_LEN);
        let mut rest = &mut masker[..];
        while !rest.is_empty() {
            let n = rest.len().min(NOISE_LEN - from);
            let (now, later) = rest.split_at_mut(n);
            for (dst, src) in now.iter_mut().zip(&voice.noise[from..from + n]) {
                *dst += noise_gain * src;
            }
            rest = later;
            from = 0;
        }
    }

    /// The current clip as 16-bit samples.
    pub(crate) fn pcm(&mut self) -> &[i16] {
        let gain = self.gain * 32767.0;
        let len = self.len;
        for (out, (s, m)) in self.pcm[..len]
            .iter_mut()
            .zip(self.speech[..len].iter().zip(&self.masker[..len]))
        {
            // Rounded to the nearest integer by adding 1.5 x 2^23 and reading
            // the mantissa: one vector add and subtract, where `as i16`
            // compiles to a scalar conversion per sample.
            let v = ((s + m) * gain).clamp(-32767.0, 32767.0) + 12_582_912.0;
            *out = (v.to_bits() as i32 - 0x4b40_0000) as i16;
        }
        &self.pcm[..len]
    }

    /// The current clip's length in samples.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Letter-to-masker ratio of each letter of the current clip, in dB.
    #[cfg(test)]
    pub(crate) fn letter_snr_db(&self, count: usize) -> Vec<f32> {
        self.spans[..count]
            .iter()
            .map(|&(a, b)| {
                let energy = |x: &[f32]| x[a..b].iter().map(|v| v * v).sum::<f32>();
                10.0 * (energy(&self.speech) / energy(&self.masker)).log10()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::voice::voice;
    use rand::SeedableRng;

    #[test]
    fn the_longest_letter_fits_the_layout() {
        assert!(voice().longest <= LONGEST_LETTER);
    }

    #[test]
    fn letters_stand_above_the_babble_by_the_stated_ratio() {
        let mut mixer = Mixer::new(voice());
        let mut all = Vec::new();
        for seed in 0..200u64 {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let letters: Vec<usize> = (0..5).map(|i| (seed as usize * 7 + i * 3) % 17).collect();
            mixer.mix(&letters, Look::Interference, &mut rng);
            all.extend(mixer.letter_snr_db(letters.len()));
        }
        all.sort_by(f32::total_cmp);
        let mean = all.iter().sum::<f32>() / all.len() as f32;
        let (lo, hi) = (all[all.len() / 100], all[all.len() * 99 / 100]);
        eprintln!("letter-to-masker: mean {mean:.1} dB, 1st percentile {lo:.1}, 99th {hi:.1}");
        assert!((mean - BABBLE_SNR_DB).abs() < 2.5, "mean {mean}");
        assert!(
            lo > BABBLE_SNR_DB - 6.0 && hi < BABBLE_SNR_DB + 9.0,
            "{lo}..{hi}"
        );
    }

    #[test]
    fn clips_stay_within_bounds() {
        let mut mixer = Mixer::new(voice());
        for seed in 0..100u64 {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let look = if seed % 2 == 0 {
                Look::Interference
            } else {
                Look::Clear
            };
            mixer.mix(&[9; MAX_LETTERS], look, &mut rng);
            assert!(mixer.len() <= MAX_SAMPLES);
            assert!(mixer.spans[MAX_LETTERS - 1].1 < mixer.len());
        }
    }
}
