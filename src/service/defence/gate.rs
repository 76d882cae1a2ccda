//! The gate of a new widget session (CaptchaQuery): the limits that may
//! refuse it, cheapest first, and the price it then pays.
//!
//! Nothing here refuses a newcomer because others filled something: the
//! per-userIp limit refuses only that address; a business over its
//! budget makes its new sessions pay the top level, and refuses only a
//! client network that alone holds more than its share
//! ([`Limits::prefix_sessions_per_minute`](crate::Limits::prefix_sessions_per_minute)).
//! When the shared store is unreachable, CaptchaQuery counts in this
//! process's own store instead and keeps serving (answers and ticket
//! checks still fail closed: they need the shared store).

use crate::service::captcha_service::CaptchaService;
use crate::service::defence::admit::refuse;
use crate::service::defence::baseline::SurgeReading;
use crate::service::defence::decaying::per_minute;
use crate::service::defence::limits::{self, LimitError, RATE_WINDOW_SECS};
use crate::service::defence::price::{self, PriceInputs};
use crate::service::errors::ServiceError;
use crate::service::store::key::{store_key, StoreKey};
use crate::service::store::{ReplayStore, StoreError};
use crate::service::tokens::sealed::Binding;

impl CaptchaService {
    /// A store call of CaptchaQuery: on the shared store, or on this
    /// process's own when the shared one is unreachable or does not offer
    /// the call. A CaptchaQuery replayed meanwhile on another node can
    /// only start one more session, which pays its proof like any other;
    /// answers and checks never fall back.
    pub(crate) fn on_query_store<T>(
        &self,
        call: impl Fn(&dyn ReplayStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match call(self.store.as_ref()) {
            Err(StoreError::Unavailable(_) | StoreError::Unsupported(_)) => call(&self.local_rates),
            other => other,
        }
    }

    /// Counts a CaptchaQuery hit on the rate counter `id`: the seconds to
    /// wait once it is over `limit`, `None` within it (`u32::MAX`: off, no
    /// store call).
    fn query_hit(&self, id: &str, limit: u32, now: u64) -> Result<Option<u64>, ServiceError> {
        if limit == u32::MAX {
            return Ok(None);
        }
        let count = self.on_query_store(|s| s.count_hit(id, RATE_WINDOW_SECS, now))?;
        Ok(limits::sliding_window(count, u64::from(limit), now).err())
    }

    /// The limits of a new session, cheapest first: the userIp's sessions
    /// a minute (4400), then the business's budget. Returns whether the
    /// business is over its budget (its new sessions then pay the top
    /// level); refuses (4400) only a client network that, while its
    /// business is over budget, holds more than its own share.
    pub(crate) fn admit_session(&self, binding: &Binding, now: u64) -> Result<bool, ServiceError> {
        let l = &self.limits;
        let user = store_key!("q:u:{}", limits::client_key(binding.user_ip));
        if let Some(retry_after) = self.query_hit(&user, l.user_ip_sessions_per_minute, now)? {
            return Err(refuse(LimitError::UserIpSessions {
                limit: l.user_ip_sessions_per_minute,
                retry_after,
            }));
        }
        let business = store_key!("q:b:{}", binding.business_id);
        let over = self.query_hit(&business, l.business_sessions_per_minute, now)?;
        if over.is_none() {
            return Ok(false);
        }
        let network = self.pow.prefixes.network(binding.user_ip);
        let share = store_key!("q:p:{}:{network}", binding.business_id);
        if let Some(retry_after) = self.query_hit(&share, l.prefix_sessions_per_minute, now)? {
            return Err(refuse(LimitError::BusinessSessions {
                limit: l.prefix_sessions_per_minute,
                retry_after,
            }));
        }
        Ok(true)
    }

    /// The level index of a new session of `binding`, counting it in its
    /// business's volume. A store that cannot answer at all prices at the
    /// top level (the price never fails open).
    pub(crate) fn session_price(&self, binding: &Binding, over_budget: bool, now: u64) -> usize {
        let p = &self.pow;
        if p.is_off() {
            return 0;
        }
        let (Ok(surge), Ok(tickets)) = (self.surge_of(binding, now), self.tickets_of(binding, now))
        else {
            return p.levels.len().saturating_sub(1);
        };
        let Ok(surge_held) = self.surge_held(binding, &surge, now) else {
            return p.levels.len().saturating_sub(1);
        };
        let inputs = PriceInputs {
            local: p.level_index(&self.pressure.pressure(binding.user_ip, now)),
            surge,
            surge_held,
            tickets_per_minute: tickets,
            over_budget,
        };
        price::level_index(p, &inputs, binding.business_id, binding.scene_id)
    }

    /// Counts a new session in its business's volume and reads the surge
    /// (no store call when the surge is off).
    fn surge_of(&self, binding: &Binding, now: u64) -> Result<SurgeReading, StoreError> {
        let surge = self.pow.surge_of(binding.business_id);
        if surge.thresholds.is_empty() {
            return Ok(SurgeReading::default());
        }
        let id = store_key!("v:b:{}", binding.business_id);
        let counters =
            self.on_query_store(|s| s.decay_add(&id, 1.0, &surge.half_lives_secs(), now))?;
        Ok(surge.reading(&counters))
    }

    /// The tickets a minute of `binding`'s client network (no store call
    /// when they do not count).
    fn tickets_of(&self, binding: &Binding, now: u64) -> Result<f64, StoreError> {
        let half_life = self.pow.ticket_half_life_secs;
        if self.pow.ticket_rate_thresholds.is_empty() {
            return Ok(0.0);
        }
        let id = self.ticket_counter(binding);
        let counters = self.on_query_store(|s| s.decay_add(&id, 0.0, &[half_life], now))?;
        Ok(per_minute(
            counters.first().copied().unwrap_or(0.0),
            half_life,
        ))
    }

    /// The ticket-rate counter of `binding`'s client network.
    fn ticket_counter(&self, binding: &Binding) -> StoreKey {
        store_key!("v:t:{}", self.pow.prefixes.network(binding.user_ip))
    }

    /// Counts a ticket in its client network's ticket rate. Best effort:
    /// the ticket is already earned, and a store that cannot count it
    /// leaves that network's price where it was.
    pub(crate) fn count_ticket(&self, binding: &Binding, now: u64) {
        if self.pow.is_off() || self.pow.ticket_rate_thresholds.is_empty() {
            return;
        }
        let half_life = [self.pow.ticket_half_life_secs];
        let counter = self.ticket_counter(binding);
        let _ = self.on_query_store(|s| s.decay_add(&counter, 1.0, &half_life, now));
    }

    /// Who holds the records of `binding`'s sessions and tickets: its
    /// business and client network (the fair-share key of a bounded
    /// store).
    pub(crate) fn holder(&self, scope: impl std::fmt::Display, binding: &Binding) -> StoreKey {
        store_key!("{scope}/{}", self.pow.prefixes.network(binding.user_ip))
    }
}
