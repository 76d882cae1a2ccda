//! [`ServiceBuilder`]: the configuration of a [`CaptchaService`].

use std::sync::{Arc, RwLock};

use crate::service::api::signature::Credentials;
use crate::service::captcha_service::{
    CaptchaService, DEFAULT_CHALLENGE_TTL_SECS, DEFAULT_SESSION_TTL_SECS,
};
use crate::service::clock::{Clock, SystemClock};
use crate::service::defence::limits::Limits;
use crate::service::defence::pow::{PowPolicy, PressureSource};
use crate::service::errors::ConfigError;
use crate::service::metrics;
use crate::service::store::{MemoryStore, ReplayStore};
use crate::service::tokens::check::TicketMode;
use crate::service::tokens::keys::KeyRing;
use crate::service::widget::script::Routes;
use crate::service::widget::template::{WidgetDelivery, WidgetTemplate};

/// Builds a [`CaptchaService`]; start with [`CaptchaService::builder`].
pub struct ServiceBuilder {
    base_url: String,
    keys: Option<KeyRing>,
    store: Option<Arc<dyn ReplayStore>>,
    credentials: Option<Credentials>,
    ticket_mode: TicketMode,
    challenge_ttl_secs: u64,
    session_ttl_secs: u64,
    clock: Arc<dyn Clock>,
    pow: PowPolicy,
    pressure: Option<Arc<dyn PressureSource>>,
    limits: Limits,
    widget_delivery: WidgetDelivery,
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("base_url", &self.base_url)
            .field("keys", &self.keys)
            .field("credentials", &self.credentials)
            .field("ticket_mode", &self.ticket_mode)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl CaptchaService {
    /// A builder whose widget routes live under `base_url` (for example
    /// `/captcha` or `https://captcha.example.com/captcha`).
    pub fn builder(base_url: impl Into<String>) -> ServiceBuilder {
        ServiceBuilder {
            base_url: base_url.into(),
            keys: None,
            store: None,
            credentials: None,
            ticket_mode: TicketMode::default(),
            challenge_ttl_secs: DEFAULT_CHALLENGE_TTL_SECS,
            session_ttl_secs: DEFAULT_SESSION_TTL_SECS,
            clock: Arc::new(SystemClock),
            pow: PowPolicy::default(),
            pressure: None,
            limits: Limits::default(),
            widget_delivery: WidgetDelivery::default(),
        }
    }
}

impl ServiceBuilder {
    /// The key ring (default: one fresh key from the OS CSPRNG, fine for a
    /// single process; a cluster needs the same ring everywhere).
    pub fn keys(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The replay store (default: a [`MemoryStore`] of default capacity,
    /// fine for a single process; a cluster needs a shared store).
    pub fn store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Requires v2 signatures on CaptchaQuery and CaptchaCheck with these
    /// credentials (default: no signing, for in-process callers).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The ticket rule (default [`TicketMode::SingleUse`]).
    pub fn ticket_mode(mut self, mode: TicketMode) -> Self {
        self.ticket_mode = mode;
        self
    }

    /// Seconds one picture stays answerable (default 300).
    pub fn challenge_ttl_secs(mut self, secs: u64) -> Self {
        self.challenge_ttl_secs = secs;
        self
    }

    /// Seconds one widget may keep refreshing (default 1800).
    pub fn session_ttl_secs(mut self, secs: u64) -> Self {
        self.session_ttl_secs = secs;
        self
    }

    /// The proof-of-work policy (default [`PowPolicy::default`]: none
    /// while calm, up to about one native CPU-second per ticket under
    /// attack; [`PowPolicy::off`] for none ever).
    pub fn pow(mut self, policy: PowPolicy) -> Self {
        self.pow = policy;
        self
    }

    /// Where the proof-of-work policy reads the pressure (default: a
    /// [`PressureTracker`](crate::service::defence::pow::PressureTracker) in this process, with the policy's half-lives
    /// and bound: [`PowPolicy::tracker`]).
    pub fn pressure(mut self, source: Arc<dyn PressureSource>) -> Self {
        self.pressure = Some(source);
        self
    }

    /// How many tries a client gets (default [`Limits::default`]; see
    /// there for the values and the reasons).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How CaptchaQuery delivers the widget (default
    /// [`WidgetDelivery::Inline`], the whole script in every answer).
    pub fn widget_delivery(mut self, delivery: WidgetDelivery) -> Self {
        self.widget_delivery = delivery;
        self
    }

    /// Builds the service.
    pub fn build(self) -> Result<CaptchaService, ConfigError> {
        let routes = Routes::new(&self.base_url)?;
        if self.challenge_ttl_secs == 0 || self.challenge_ttl_secs > self.session_ttl_secs {
            return Err(ConfigError::Lifetimes);
        }
        self.pow.validate()?;
        if !self.limits.is_valid() {
            return Err(ConfigError::Limits);
        }
        let keys = match self.keys {
            Some(k) => k,
            None => KeyRing::generate(1)?,
        };
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));
        let pressure = match self.pressure {
            Some(p) => p,
            None => Arc::new(self.pow.tracker()),
        };
        Ok(CaptchaService {
            widget: WidgetTemplate::new(&routes, self.widget_delivery),
            routes,
            keys: RwLock::new(keys),
            store: metrics::wrap_store(store),
            credentials: self.credentials,
            ticket_mode: self.ticket_mode,
            challenge_ttl_secs: self.challenge_ttl_secs,
            session_ttl_secs: self.session_ttl_secs,
            clock: self.clock,
            pow: self.pow,
            pressure,
            limits: self.limits,
            local_rates: MemoryStore::default(),
        })
    }
}
