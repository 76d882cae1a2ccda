//! The service's side of proof of work: the puzzle each new challenge
//! gets from the pressure, the pressure events it records, and the check
//! of a client's proof (the puzzle itself is in [`pow`]).

use crate::service::captcha_service::CaptchaService;
use crate::service::defence::pow::{self, PressureEvent, Puzzle, SALT_LEN};
use crate::service::errors::ServiceError;
use crate::service::tokens::random::os_random;
use crate::service::tokens::sealed::{Binding, Challenge};

impl CaptchaService {
    /// Records a pressure event for the client of `binding` (its userIp),
    /// unless proof of work is off.
    pub(crate) fn pressure_event(&self, binding: &Binding, event: PressureEvent) {
        if !self.pow.is_off() {
            self.pressure.record(binding.user_ip, event, self.now());
        }
    }

    /// The puzzle for a new challenge of `binding`'s client: the policy's
    /// level for the pressure now, at least level index `least` (the
    /// session's price), with a fresh salt (none at level 0).
    pub(crate) fn new_puzzle(
        &self,
        binding: &Binding,
        now: u64,
        least: usize,
    ) -> Result<Puzzle, ServiceError> {
        if self.pow.is_off() {
            return Ok(Puzzle::NONE);
        }
        let local = self
            .pow
            .level_index(&self.pressure.pressure(binding.user_ip, now));
        let top = self.pow.levels.len().saturating_sub(1);
        let level = self.pow.levels[local.max(least).min(top)];
        self.pressure
            .record(binding.user_ip, PressureEvent::Challenge, now);
        if level.is_none() {
            return Ok(Puzzle::NONE);
        }
        let mut salt = [0u8; SALT_LEN];
        os_random(&mut salt).map_err(|e| ServiceError::Seal(e.into()))?;
        Ok(Puzzle::new(level.bits, level.iterations, salt))
    }
}

/// Whether `counter` (the request's `pow` field) is the proof of work the
/// sealed `challenge` (whose token is `token`) asks for; anything passes
/// when it asks for none.
pub(crate) fn proof_ok(token: &str, challenge: &Challenge, counter: Option<&str>) -> bool {
    if challenge.puzzle.is_none() {
        return true;
    }
    counter
        .and_then(parse_counter)
        .is_some_and(|c| pow::verify(token, &challenge.puzzle, c))
}

/// A proof-of-work counter as the widget sends it: 1 to 10 ASCII digits,
/// at most `u32::MAX`; anything else is no proof.
fn parse_counter(v: &str) -> Option<u32> {
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}
