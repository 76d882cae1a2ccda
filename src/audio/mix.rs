//! Laying out a clip and mixing it: the spoken letters on one track, the
//! babble and noise on another, summed into 16-bit samples.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::echo::Echoes;
use super::playback::{
    play_add_into, played_len, resample_add_into, resampled_len, Playback, BLOCK,
};
use super::voice::{Voice, NOISE_LEN};
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
/// Per-letter mean playback rate (speed and pitch together, by resampling).
const RATE: (f32, f32) = (0.8, 1.25);
/// The wow (the rate wavering around its mean), per letter or babble
/// stretch: a slow sine and a faster one, each of a depth (a fraction of
/// the rate) and a frequency (per second) drawn from these ranges. The
/// faster goes through two to four cycles in a letter, so a steady rate
/// cannot follow it.
const WOW_SLOW: [(f32, f32); 2] = [(0.03, 0.05), (2.5, 4.5)];
const WOW_FAST: [(f32, f32); 2] = [(0.025, 0.04), (6.0, 10.0)];
/// The deepest the two together reach.
const WOW_MAX: f32 = WOW_SLOW[0].1 + WOW_FAST[0].1;
/// The equaliser's taps after the first, before normalising: a tilt of up
/// to about +-9 dB between low and high frequencies, and a mild broad peak
/// or dip in the middle.
const EQ_TILT: (f32, f32) = (-0.5, 0.5);
const EQ_BEND: (f32, f32) = (-0.3, 0.3);
/// Per-letter change of the letter-to-masker ratio, in dB.
const LETTER_DB: (f32, f32) = (-2.0, 2.0);

/// The longest recording the layout allows for (the embedded longest is
/// 0.48 s; a unit test keeps it under this).
const LONGEST_LETTER: usize = samples(0.5);

/// The longest a letter lasts when played: at the slowest mean rate with
/// the deepest wow (whose rate never falls below `rate * (1 - depth)`), and
/// one block of rounding.
const LONGEST_PLAYED: usize = (LONGEST_LETTER as f32 / (RATE.0 * (1.0 - WOW_MAX))) as usize + BLOCK;

/// The most samples a clip can have (under 8 s at [`super::SAMPLE_RATE`]):
/// the longest lead-in, six of the longest played letter, the longest gaps
/// and the tail.
pub const MAX_SAMPLES: usize =
    LEAD.1 + MAX_LETTERS * LONGEST_PLAYED + (MAX_LETTERS - 1) * GAP.1 + TAIL;

/// Level of the babble under each letter of an interference clip: the
/// letter's energy over the babble's and the noise's in the letter's span,
/// in dB, on average. Each letter is set to it +-2 dB against the babble
/// actually under it; a unit test measures the per-letter ratio.
///
/// Why there: listeners identify consonants before a vowel in noise with
/// few errors of voicing or manner down to about -6 dB, and begin to
/// confuse places of articulation (the B / D / V / Z kind of mix-up of the
/// letter names) below about +6 dB (Miller and Nicely, JASA 27, 1955,
/// -18 to +12 dB); in babble, consonants are hardest to identify with six
/// or more talkers and easier with a few (Simpson and Cooke, JASA 118,
/// 2005). So the ratio stays positive, and the babble has three talkers
/// whose gaps leave glimpses of the letter, played backwards so that it
/// cannot be followed as words. No listening test of these clips has been
/// made: `scripts/audio-attack` measures ESTOI, an objective proxy, and
/// docs/audio.md has the figures.
pub const BABBLE_SNR_DB: f32 = 3.0;

/// Length of one stretch of the babble bed, in samples; each stretch is
/// read from a random place at its own speed, wow and equaliser.
const BABBLE_STRETCH: (usize, usize) = (samples(0.5), samples(1.2));
/// Mean playback rate of a babble stretch.
const BABBLE_RATE: (f32, f32) = (0.85, 1.2);
/// Cross-fade between two stretches (10 ms).
const BABBLE_FADE: usize = samples(0.01);
/// Per-stretch level change around the babble level, in dB.
const BABBLE_DB: (f32, f32) = (-2.0, 2.0);
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
    /// One of the voices, each letter at its own wavering pace
    /// ([`RATE`], the wow), equaliser, early reflections (`echo.rs`) and
    /// level ([`LETTER_DB`]); or the first voice as recorded.
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

/// A random wow and equaliser at mean rate `rate`.
fn random_playback(rate: f32, rng: &mut ChaCha20Rng) -> Playback {
    let (tilt, bend) = (
        rng.random_range(EQ_TILT.0..=EQ_TILT.1),
        rng.random_range(EQ_BEND.0..=EQ_BEND.1),
    );
    // Normalised to unit gain on white noise, so the level stays put.
    let norm = (1.0 + tilt * tilt + bend * bend).sqrt().recip();
    let mut wave = |[depth, hz]: [(f32, f32); 2]| {
        (
            rng.random_range(depth.0..=depth.1),
            rng.random_range(hz.0..=hz.1),
            rng.random_range(0.0..std::f32::consts::TAU),
        )
    };
    let waves = [wave(WOW_SLOW), wave(WOW_FAST)];
    Playback::new(rate, waves, [norm, tilt * norm, bend * norm])
}

/// How one letter is played: as recorded for clear clips.
#[derive(Clone, Copy)]
struct Step {
    letter: usize,
    play: Option<Playback>,
    /// Interference clips: the letter's reflections.
    echoes: Echoes,
    /// Clear clips: the gain. Interference clips: the letter's energy over
    /// the masker's in its span.
    gain: f32,
}

/// The gain that puts `letter` at `ratio` (of energies) over `masker`,
/// within +-6 dB of as recorded: the babble is running speech whose level
/// rises and falls, and a fixed gain left some letters 8 dB under it.
fn level_over(letter: &[f32], masker: &[f32], ratio: f32) -> f32 {
    let gain = (ratio * energy(masker) / energy(letter).max(f32::MIN_POSITIVE)).sqrt();
    gain.clamp(0.5, 2.0)
}

/// The sum of squares of `x`, in eight running sums: one sum would be a
/// chain of dependent additions, the slowest loop of a clip.
fn energy(x: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, v) in sums.iter_mut().zip(chunk) {
            *sum += v * v;
        }
    }
    sums.iter().sum::<f32>() + rest.iter().map(|v| v * v).sum::<f32>()
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
    /// A letter's dry copy while its reflections are added.
    scratch: Vec<f32>,
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
            scratch: vec![0.0; LONGEST_PLAYED],
        }
    }

    /// Lays out and mixes the clip of `letters` (indices into the alphabet),
    /// drawing every choice from `rng`. Read the result with [`Mixer::pcm`].
    pub(crate) fn mix(&mut self, letters: &[usize], look: Look, rng: &mut ChaCha20Rng) {
        let delivery = Delivery::of(look);
        let which = match delivery.varied {
            true => rng.random_range(0..self.voice.letters.len()),
            false => 0,
        };
        let (voice, pairs) = (&self.voice.letters[which], &self.voice.letter_pairs[which]);
        let plan = self.lay_out(voice, letters, &delivery, rng);
        let len = self.len;
        self.speech[..len].fill(0.0);
        self.masker[..len].fill(0.0);
        self.gain = 1.0;
        if delivery.masked {
            self.gain = INTERFERENCE_GAIN;
            self.add_babble(rng);
            self.add_noise(rng);
        }
        for (step, &(start, end)) in plan.iter().zip(&self.spans).take(letters.len()) {
            let (start, end) = (start.min(len), end.min(len));
            let out = &mut self.speech[start..end];
            match step.play {
                Some(play) => {
                    play_add_into(&pairs[step.letter], 0, &play, 1.0, 0, out);
                    step.echoes.apply(out, &mut self.scratch);
                    let gain = level_over(out, &self.masker[start..end], step.gain);
                    out.iter_mut().for_each(|x| *x *= gain);
                }
                None => resample_add_into(&voice[step.letter], 1.0, step.gain, out),
            }
        }
    }

    /// Draws each letter's playback and place in `voice`, fills `spans` and
    /// the length.
    fn lay_out(
        &mut self,
        voice: &[Vec<f32>],
        letters: &[usize],
        delivery: &Delivery,
        rng: &mut ChaCha20Rng,
    ) -> [Step; MAX_LETTERS] {
        let mut plan = [Step {
            letter: 0,
            play: None,
            echoes: Echoes::NONE,
            gain: 1.0,
        }; MAX_LETTERS];
        let mut at = delivery.lead.pick(rng);
        for (i, (&letter, step)) in letters.iter().zip(&mut plan).enumerate() {
            if delivery.varied {
                let rate = rng.random_range(RATE.0..=RATE.1);
                let snr_db = BABBLE_SNR_DB + rng.random_range(LETTER_DB.0..=LETTER_DB.1);
                let gain = db(snr_db) * db(snr_db);
                *step = Step {
                    letter,
                    play: Some(random_playback(rate, rng)),
                    echoes: Echoes::random(rng),
                    gain,
                };
            } else {
                step.letter = letter;
            }
            if i > 0 {
                at += delivery.gap.pick(rng);
            }
            let n = match &step.play {
                Some(play) => played_len(voice[letter].len(), play),
                None => resampled_len(voice[letter].len(), 1.0),
            };
            self.spans[i] = (at, at + n);
            at += n;
        }
        self.len = (at + TAIL).min(MAX_SAMPLES);
        plan
    }

    /// The babble: stretches of the three-talker bed, each from a random
    /// place, at its own rate, wow, equaliser and level, cross-faded.
    fn add_babble(&mut self, rng: &mut ChaCha20Rng) {
        let bed = &self.voice.bed;
        let masker = &mut self.masker[..self.len];
        let level = LETTER_RMS * db(-BABBLE_SNR_DB);
        let mut at = 0;
        while at < masker.len() {
            let n = rng.random_range(BABBLE_STRETCH.0..=BABBLE_STRETCH.1) + 2 * BABBLE_FADE;
            let rate = rng.random_range(BABBLE_RATE.0..=BABBLE_RATE.1);
            let play = random_playback(rate, rng);
            let gain = level * db(rng.random_range(BABBLE_DB.0..=BABBLE_DB.1));
            // Room for n samples at the fastest instantaneous rate.
            let need = (n as f32 * rate * (1.0 + WOW_MAX)) as usize + 2;
            let from = rng.random_range(0..bed.len() - need);
            let end = (at + n).min(masker.len());
            play_add_into(bed, from, &play, gain, BABBLE_FADE, &mut masker[at..end]);
            at += n - BABBLE_FADE;
        }
    }

    /// White noise from the table, from a random offset, wrapping round.
    fn add_noise(&mut self, rng: &mut ChaCha20Rng) {
        let noise_gain = LETTER_RMS * db(-NOISE_SNR_DB) * 3f32.sqrt();
        let mut from = rng.random_range(0..NOISE_LEN);
        let mut rest = &mut self.masker[..self.len];
        while !rest.is_empty() {
            let n = rest.len().min(NOISE_LEN - from);
            let (now, later) = rest.split_at_mut(n);
            for (dst, src) in now.iter_mut().zip(&self.voice.noise[from..from + n]) {
                *dst += noise_gain * src;
            }
            rest = later;
            from = 0;
        }
    }

    /// The current clip as 16-bit samples: the letters with the babble and
    /// noise, or (`with_masker` false) the letters alone at the same gain.
    pub(crate) fn pcm(&mut self, with_masker: bool) -> &[i16] {
        let gain = self.gain * 32767.0;
        let len = self.len;
        if !with_masker {
            self.masker[..len].fill(0.0);
        }
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
