//! The service's rate limits at work: which counter each request hits and
//! the refusal once it is over (the numbers are
//! [`Limits`](crate::service::defence::limits::Limits)).

use std::net::IpAddr;

use crate::service::captcha_service::CaptchaService;
use crate::service::defence::limits::{self, LimitError, RATE_WINDOW_SECS};
use crate::service::errors::ServiceError;
use crate::service::metrics;
use crate::service::store::key::store_key;
use crate::service::store::ReplayStore;

/// How many answers a wrong proof of work weighs on its client's
/// [`client_answers_per_minute`](crate::service::defence::limits::Limits::client_answers_per_minute).
pub(crate) const WRONG_PROOF_WEIGHT: u32 = 5;

impl CaptchaService {
    /// Counts one hit on the shared rate counter `id`; once it is over
    /// `limit`, the refusal `over` makes from the seconds to wait. A limit
    /// of `u32::MAX` is off and costs no store call.
    fn hit(
        &self,
        id: &str,
        limit: u32,
        over: impl FnOnce(u64) -> LimitError,
    ) -> Result<(), ServiceError> {
        if limit == u32::MAX {
            return Ok(());
        }
        let now = self.now();
        let count = self.store.count_hit(id, RATE_WINDOW_SECS, now)?;
        limits::sliding_window(count, u64::from(limit), now).map_err(|wait| refuse(over(wait)))
    }

    /// A wrong proof weighs [`WRONG_PROOF_WEIGHT`] answers on its
    /// client's answer limit (the hit of its request included): its check
    /// costs the server a derivation (about 0.2 ms, more than serving a
    /// picture), so a client sending garbage proofs gets a fifth as many
    /// checks a minute (4 within the default 20), and costs the server
    /// less than the 60 pictures a minute it may load meanwhile. A widget never sends a wrong proof. Best effort: a
    /// store that cannot count only leaves the usual limit.
    pub(crate) fn charge_wrong_proof(&self, client: IpAddr) {
        let limit = self.limits.client_answers_per_minute;
        if limit == u32::MAX {
            return;
        }
        let id = store_key!("w:a:{}", limits::client_key(client));
        for _ in 1..WRONG_PROOF_WEIGHT {
            let _ = self.store.count_hit(&id, RATE_WINDOW_SECS, self.now());
        }
    }

    /// The per-client-address limits of the widget routes: attempts
    /// (`verify` and `refresh`, each uses up a picture; counted in the
    /// shared store, so every node counts together) or pictures (`image`,
    /// counted in this process only: the limit guards this node's
    /// rendering, and a picture never waits for the shared store).
    pub(crate) fn admit_client(&self, client: IpAddr, attempt: bool) -> Result<(), ServiceError> {
        let l = &self.limits;
        let key = limits::client_key(client);
        if attempt {
            let limit = l.client_answers_per_minute;
            return self.hit(&store_key!("w:a:{key}"), limit, |retry_after| {
                LimitError::ClientAnswers { limit, retry_after }
            });
        }
        let limit = l.client_pictures_per_minute;
        if limit == u32::MAX {
            return Ok(());
        }
        let now = self.now();
        // The local store never fails but when poisoned; then the picture
        // is served uncounted (it needs no store).
        let Ok(count) = self
            .local_rates
            .count_hit(&store_key!("{key}"), RATE_WINDOW_SECS, now)
        else {
            return Ok(());
        };
        limits::sliding_window(count, u64::from(limit), now)
            .map_err(|retry_after| refuse(LimitError::ClientPictures { limit, retry_after }))
    }
}

/// A limit refused a request: counted, then the error.
pub(crate) fn refuse(e: LimitError) -> ServiceError {
    metrics::limit_triggered(e.name());
    e.into()
}
