//! Seeds for [`crate::generate`], from the OS CSPRNG.

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::render::error::Error;

/// A fresh random seed from the operating system's CSPRNG.
///
/// The seed determines the answer, so it must be unpredictable and kept on
/// the server: this is the seed to pass to [`crate::generate`] or
/// [`crate::Generator::render`] (the service draws its seeds here too).
///
/// ```
/// let seed = qcaptcha::random_seed()?;
/// let captcha = qcaptcha::generate(qcaptcha::CaptchaType::Interference4, seed)?;
/// assert_eq!(captcha.answer().len(), 4);
/// # Ok::<(), qcaptcha::Error>(())
/// ```
pub fn random_seed() -> Result<u64, Error> {
    OsRng
        .try_next_u64()
        .map_err(|e| Error::Random(e.to_string()))
}
