//! Audio captchas: the same answer as the picture of `(type, seed)`, spoken
//! letter by letter, as a mono 16-bit PCM WAV at [`SAMPLE_RATE`].
//!
//! Clear types (1-4) are spoken plainly: every letter as recorded, evenly
//! spaced. Interference types (5-8) speak in one of three voices, play each
//! letter at its own speed and pitch with the rate wavering (a two-sine
//! wow) through a random equaliser and with a few random early reflections
//! (within 25 ms, as in a small room), space the letters by random gaps, and
//! lay under them three-talker babble of other sentences played backwards
//! (stretches of it at varying speed, wow and equaliser) and a little white
//! noise: meant to make a speech recogniser, and a matched filter built
//! from the crate's own recordings, fail while a person, who hears the
//! forward letters stand out of the reversed talk, still follows (not
//! tested with people; ESTOI is the objective proxy). The babble level is
//! [`BABBLE_SNR_DB`]; docs/audio.md has the figures.
//!
//! Like the picture, a clip is a pure function of its type and seed, and an
//! [`AudioGenerator`] renders into a caller's buffer without allocating.

mod echo;
mod mix;
mod playback;
mod voice;
mod wav;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::render::answer::draw_word;
use crate::render::{Answer, CaptchaType, Error};
use crate::render::{ALPHABET, MAX_LETTERS};

pub use mix::{BABBLE_SNR_DB, MAX_SAMPLES};

/// Samples per second of every clip: 11,025 Hz.
///
/// Spelled letters are told apart by their consonants, and the cues of the
/// ones in [`ALPHABET`] that sound most alike (the bursts and frication of
/// B, D, T, V, Z, S and X) lie between 3 and 5.5 kHz, above the 3.4 kHz of
/// telephone speech at 8 kHz. 11,025 Hz keeps them up to 5.5 kHz for a
/// third less time and size than 16 kHz, and every browser plays it.
pub const SAMPLE_RATE: u32 = 11_025;

/// A spoken captcha: the WAV file and the answer a person must type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioCaptcha {
    wav: Vec<u8>,
    answer: Answer,
}

impl AudioCaptcha {
    /// The WAV file (RIFF, mono, 16-bit PCM, [`SAMPLE_RATE`]).
    pub fn wav(&self) -> &[u8] {
        &self.wav
    }

    /// The WAV file, by value.
    pub fn into_wav(self) -> Vec<u8> {
        self.wav
    }

    /// The answer (upper-case letters), the same as the picture's for the
    /// same type and seed. Keep it on the server.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// Whether `input` is the answer (case-insensitive, trimmed, look-alikes
    /// folded, constant time; see [`crate::picture::answer_matches`]).
    pub fn matches(&self, input: &str) -> bool {
        self.answer.matches(input)
    }
}

/// A reusable audio renderer: owns the mixing buffers, so that
/// [`AudioGenerator::render_into`] allocates nothing after its first call.
///
/// The voice tables it reads are built once per process (about 3.3 MB) on
/// first use and shared. `AudioGenerator` is `Send`; keep one per worker.
///
/// ```
/// use qcaptcha::{generate, AudioGenerator, CaptchaType};
/// let mut audio = AudioGenerator::new();
/// let mut wav = Vec::new();
/// let answer = audio.render_into(CaptchaType::Interference5, 7, &mut wav)?;
/// assert!(wav.starts_with(b"RIFF"));
/// assert_eq!(&answer, generate(CaptchaType::Interference5, 7)?.answer());
/// # Ok::<(), qcaptcha::Error>(())
/// ```
pub struct AudioGenerator {
    mixer: mix::Mixer,
}

impl Default for AudioGenerator {
    fn default() -> Self {
        AudioGenerator::new()
    }
}

impl std::fmt::Debug for AudioGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioGenerator").finish_non_exhaustive()
    }
}

impl AudioGenerator {
    /// A generator with its buffers sized for the longest clip.
    pub fn new() -> AudioGenerator {
        AudioGenerator {
            mixer: mix::Mixer::new(voice::voice()),
        }
    }

    /// Renders the clip of `(kind, seed)` as a WAV file into `wav` (cleared
    /// first) and returns its answer, the same as the picture's of
    /// `generate(kind, seed)`. The same inputs give the same bytes.
    ///
    /// Makes no heap allocation once `wav` has grown to the longest clip
    /// (44 + 2 x [`MAX_SAMPLES`] bytes; reserve that up front to allocate
    /// nothing at all).
    pub fn render_into(
        &mut self,
        kind: CaptchaType,
        seed: u64,
        wav: &mut Vec<u8>,
    ) -> Result<Answer, Error> {
        self.render_track_into(kind, seed, true, wav)
    }

    /// Renders the letters of the clip of `(kind, seed)` alone: the same
    /// voice, timing, speed, pitch and level as [`AudioGenerator::render_into`]
    /// gives, without the babble and noise. Not for serving (it gives the
    /// answer away): it is the clean reference that intelligibility measures
    /// such as ESTOI compare a clip with (`scripts/audio-attack`).
    pub fn render_letters_into(
        &mut self,
        kind: CaptchaType,
        seed: u64,
        wav: &mut Vec<u8>,
    ) -> Result<Answer, Error> {
        self.render_track_into(kind, seed, false, wav)
    }

    fn render_track_into(
        &mut self,
        kind: CaptchaType,
        seed: u64,
        with_masker: bool,
        wav: &mut Vec<u8>,
    ) -> Result<Answer, Error> {
        let (mut drawn, answer) = draw_word(kind, seed);
        // The audio's own choices come from a stream forked off the one that
        // drew the letters, so the picture's layout and the clip's are unrelated.
        let mut rng = ChaCha20Rng::from_rng(&mut drawn);
        let mut letters = [0usize; MAX_LETTERS];
        for (index, &byte) in letters.iter_mut().zip(answer.as_bytes()) {
            *index = ALPHABET.iter().position(|&a| a == byte).unwrap_or(0);
        }
        self.mixer
            .mix(&letters[..answer.len()], kind.policy().look, &mut rng);
        wav::write(self.mixer.pcm(with_masker), wav)?;
        Ok(answer)
    }

    /// Renders the clip of `(kind, seed)` into a new [`AudioCaptcha`].
    pub fn render(&mut self, kind: CaptchaType, seed: u64) -> Result<AudioCaptcha, Error> {
        let mut wav = Vec::new();
        let answer = self.render_into(kind, seed, &mut wav)?;
        Ok(AudioCaptcha { wav, answer })
    }
}

thread_local! {
    static DEFAULT_AUDIO: std::cell::RefCell<Option<AudioGenerator>> =
        const { std::cell::RefCell::new(None) };
}

/// Renders the spoken captcha of `(kind, seed)` with a generator kept per
/// thread: the same answer as [`crate::generate`]`(kind, seed)`, the same
/// WAV bytes on any thread, in any process.
///
/// ```
/// use qcaptcha::{generate, generate_audio, CaptchaType};
/// let clip = generate_audio(CaptchaType::Clear4, 42)?;
/// assert_eq!(clip.answer(), generate(CaptchaType::Clear4, 42)?.answer());
/// assert_eq!(clip, generate_audio(CaptchaType::Clear4, 42)?);
/// # Ok::<(), qcaptcha::Error>(())
/// ```
pub fn generate_audio(kind: CaptchaType, seed: u64) -> Result<AudioCaptcha, Error> {
    DEFAULT_AUDIO.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(AudioGenerator::new)
            .render(kind, seed)
    })
}
