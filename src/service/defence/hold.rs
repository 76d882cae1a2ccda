//! The hold of a business's top surge level, shared by every node
//! through the store (see [`Surge::hold_ratio`](crate::pow::Surge::hold_ratio)).
//!
//! The state "this business is held at the top" is a decaying counter of
//! its sessions priced at the top by the surge (half-life: the volume's).
//! Every such session feeds it, so it stays alive while the business is
//! held; once the volume falls under the hold ratio no session is priced
//! at the top by the surge any more, the counter decays, and the hold
//! lapses. A business that never reached the top has no counter, so
//! volume between the hold ratio and the top threshold alone never holds
//! it there. Below the hold ratio nothing is looked up: a calm business
//! pays no store call for the hold.

use crate::service::captcha_service::CaptchaService;
use crate::service::defence::baseline::SurgeReading;
use crate::service::store::StoreError;
use crate::service::tokens::sealed::Binding;

/// A hold counter at or above this is alive: a session priced at the
/// top within about the last half-life.
const ALIVE: f64 = 0.5;

impl CaptchaService {
    /// Whether the business of `binding`, reading `reading`, is held at
    /// the surge's top for this new session: it reaches the top threshold,
    /// or it was there and its volume stays at or above the hold ratio.
    /// Such a session feeds the hold. Always `false` when the hold is off
    /// (the thresholds alone price then, with no store call).
    pub(crate) fn surge_held(
        &self,
        binding: &Binding,
        reading: &SurgeReading,
        now: u64,
    ) -> Result<bool, StoreError> {
        let surge = self.pow.surge_of(binding.business_id);
        if !surge.holds() || !surge.may_hold(reading) {
            return Ok(false);
        }
        let id = format!("v:h:{}", binding.business_id);
        let half_life = [surge.short_half_life_secs];
        let reached = surge.level(reading, false) >= surge.thresholds.len();
        let held = reached || {
            let hold = self.on_query_store(|s| s.decay_add(&id, 0.0, &half_life, now))?;
            hold.first().is_some_and(|v| *v >= ALIVE)
        };
        if held {
            self.on_query_store(|s| s.decay_add(&id, 1.0, &half_life, now))?;
        }
        Ok(held)
    }
}
