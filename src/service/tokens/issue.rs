//! Issuing and opening tokens as the service does it: a new challenge (the
//! first picture of a session, or the next one), a ticket for a right
//! answer, a challenge a client sends back, and the ticket check.

use crate::render::answer::word_length;
#[cfg(feature = "test-util")]
use crate::render::{answer::draw_word, Answer};
use crate::service::api::requests::CaptchaCheck;
use crate::service::captcha_service::CaptchaService;
use crate::service::defence::pow::Puzzle;
use crate::service::errors::{ChallengeError, ServiceError};
use crate::service::tokens::check::{self, CheckFailure};
use crate::service::tokens::random::os_random;
use crate::service::tokens::sealed::{
    Binding, Challenge, Ticket, TokenError, MAX_CLOCK_SKEW_SECS, NONCE_LEN,
};

/// Where a new challenge goes: a new session, or the next picture of one.
pub(crate) struct Slot {
    pub(crate) session: [u8; 16],
    pub(crate) picture: u32,
    pub(crate) session_expires_at: u64,
}

/// A challenge just sealed, with what the widget is told about it.
pub(crate) struct Issued {
    pub(crate) token: String,
    pub(crate) ttl_secs: u64,
    pub(crate) puzzle: Puzzle,
    pub(crate) letters: usize,
}

impl CaptchaService {
    /// A fresh sealed challenge for `binding`: picture 0 of a new session
    /// (`slot` `None`), or the given picture of a session, at proof-of-work
    /// level index `least` or above. Returns the token and its seconds to
    /// live.
    pub(crate) fn new_challenge(
        &self,
        binding: Binding,
        slot: Option<Slot>,
        least: usize,
    ) -> Result<Issued, ServiceError> {
        let now = self.now();
        // Every random byte of a challenge in one call to the OS: the
        // token's nonce, the picture's seed and a new session's id.
        let (nonce, seed, session) = random_parts::<NONCE_LEN, 8, 16>()?;
        let seed = u64::from_le_bytes(seed);
        let slot = match slot {
            Some(slot) => slot,
            None => Slot {
                session,
                picture: 0,
                session_expires_at: now.saturating_add(self.session_ttl_secs),
            },
        };
        let expires_at = now
            .saturating_add(self.challenge_ttl_secs)
            .min(slot.session_expires_at);
        let puzzle = self.new_puzzle(&binding, now, least)?;
        let letters = word_length(binding.captcha_type, seed);
        let challenge = Challenge {
            session: slot.session,
            picture: slot.picture,
            seed,
            issued_at: now,
            expires_at,
            session_expires_at: slot.session_expires_at,
            binding,
            puzzle,
        };
        let token = self
            .keys()
            .seal_challenge_with(&challenge, nonce)
            .map_err(ServiceError::Seal)?;
        Ok(Issued {
            token,
            ttl_secs: expires_at.saturating_sub(now),
            puzzle,
            letters,
        })
    }

    /// A sealed ticket for `binding`, issued `now` under the ticket rule
    /// in force.
    pub(crate) fn new_ticket(&self, binding: Binding, now: u64) -> Result<String, ServiceError> {
        let (nonce, id, _) = random_parts::<NONCE_LEN, 16, 0>()?;
        let ticket = Ticket {
            id,
            issued_at: now,
            expires_at: now.saturating_add(self.ticket_mode.ttl_secs()),
            max_uses: self.ticket_mode.max_uses(),
            binding,
        };
        self.keys()
            .seal_ticket_with(&ticket, nonce)
            .map_err(ServiceError::Seal)
    }

    /// The challenge `token` opens to: a challenge of this ring, not issued
    /// in the future.
    pub(crate) fn open_challenge(&self, token: &str) -> Result<Challenge, ServiceError> {
        let challenge = self
            .keys()
            .open_challenge(token)
            .map_err(ChallengeError::Invalid)?;
        if challenge.issued_at > self.now().saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(ChallengeError::IssuedInFuture.into());
        }
        Ok(challenge)
    }

    /// CaptchaCheck, typed: `Ok` only if the ticket is authentic,
    /// unexpired, bound to the request's fields and not used up (this call
    /// counts as a use).
    pub fn check(&self, check: &CaptchaCheck) -> Result<Ticket, CheckFailure> {
        self.check_ticket(&check.ticket, &check.user.binding())
    }

    /// Checks a ticket token against the binding it must have.
    pub fn check_ticket(&self, ticket: &str, expected: &Binding) -> Result<Ticket, CheckFailure> {
        let keys = self.keys();
        check::check_ticket_in(
            &keys,
            self.store.as_ref(),
            ticket,
            expected,
            self.pow.prefixes,
            self.now(),
        )
    }
}

/// Three random arrays.
type Parts<const A: usize, const B: usize, const C: usize> = ([u8; A], [u8; B], [u8; C]);

/// Three fresh random arrays from one call to the OS CSPRNG.
fn random_parts<const A: usize, const B: usize, const C: usize>(
) -> Result<Parts<A, B, C>, ServiceError> {
    let mut all = [0u8; 64];
    let bytes = all
        .get_mut(..A + B + C)
        .ok_or(ServiceError::Seal(TokenError::TooLarge("random parts")))?;
    os_random(bytes).map_err(|e| ServiceError::Seal(e.into()))?;
    let mut parts = ([0u8; A], [0u8; B], [0u8; C]);
    parts.0.copy_from_slice(&bytes[..A]);
    parts.1.copy_from_slice(&bytes[A..A + B]);
    parts.2.copy_from_slice(&bytes[A + B..]);
    Ok(parts)
}

impl CaptchaService {
    #[cfg(feature = "test-util")]
    /// **For tests and admin tools only; never send the result to a
    /// client.** The answer of a challenge token, learnt the way only the
    /// server can: by opening it with the service's keys.
    pub fn answer_for_challenge(&self, challenge: &str) -> Result<Answer, ServiceError> {
        let c = self
            .keys()
            .open_challenge(challenge)
            .map_err(ChallengeError::Invalid)?;
        Ok(draw_word(c.binding.captcha_type, c.seed).1)
    }
}
