//! [`CaptchaService`]: the framework-neutral captcha service. It owns the
//! key ring, the replay store and the configuration, and turns requests
//! (their query string or form body, plus method, host and path where a
//! signature covers them) into plain [`HttpResponse`]s that any web
//! framework can send.
//!
//! Endpoints a host exposes:
//!
//! | route | handler | for |
//! |---|---|---|
//! | CaptchaQuery (any path) | [`CaptchaService::handle_query`] | business servers: the widget JavaScript |
//! | CaptchaCheck (any path) | [`CaptchaService::handle_check`] | business servers: is this ticket good |
//! | `GET {base}/image` | [`CaptchaService::handle_image`] | the widget: the picture |
//! | `POST {base}/refresh` | [`CaptchaService::handle_refresh`] | the widget: a new picture |
//! | `POST {base}/verify` | [`CaptchaService::handle_verify`] | the widget: answer -> ticket |
//!
//! CaptchaQuery and CaptchaCheck always answer HTTP 200 with the result
//! `code` in the body, as the original service does. The widget routes use
//! HTTP status codes for broken requests (400 bad token, 410 expired, 429
//! too many requests, 500 internal) and otherwise answer 200 with a JSON
//! `code`.
//!
//! The widget routes take the client's address, which the
//! [`Limits`](crate::Limits) count. Pass the TCP peer address; behind a
//! reverse proxy or load balancer, the address that proxy reports (for
//! example the last entry of `X-Forwarded-For` that your own proxy wrote),
//! and only if every request reaches you through that proxy: a header the
//! client wrote itself lets a bot pick a new address per request.

use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::json;

use crate::generate_audio;
use crate::render::answer::{draw_word, word_length};
use crate::service::api::codes::{self, ErrorCode};
use crate::service::api::http::{
    http_status, ApiRequest, HttpResponse, Route, CONTENT_TYPE_JS, CONTENT_TYPE_JSON,
    CONTENT_TYPE_PNG, CONTENT_TYPE_TEXT, CONTENT_TYPE_WAV,
};
use crate::service::api::params::{parse_pairs, ParamError};
use crate::service::api::requests::{failure_callback, CaptchaCheck, CaptchaQuery, ScriptMode};
use crate::service::api::signature::{self, Credentials, RequestLine, SignError, SignedNonce};
use crate::service::builder::ServiceBuilder;
use crate::service::clock::{Clock, SystemClock};
use crate::service::defence::gate::refuse;
use crate::service::defence::limits::{self, LimitError, Limits, RATE_WINDOW_SECS};
use crate::service::defence::pow::{
    self, PowPolicy, PressureEvent, PressureSource, Puzzle, SALT_LEN,
};
use crate::service::errors::{ChallengeError, ServiceError};
use crate::service::metrics::{self, Answered};
use crate::service::store::{MemoryStore, RecordKind, ReplayStore, StoreError};
use crate::service::tokens::check::{self, CheckFailure, TicketMode};
use crate::service::tokens::keys::{KeyError, KeyRing, KEY_LEN};
use crate::service::tokens::random::{os_random, random_id, random_seed};
use crate::service::tokens::sealed::{Binding, Challenge, Ticket, MAX_CLOCK_SKEW_SECS};
use crate::service::widget::pictures;
use crate::service::widget::script::{self as widget, Routes, WidgetParams};
#[cfg(feature = "test-util")]
use crate::Answer;

/// Default seconds a challenge (one picture) stays answerable: 5 minutes.
pub const DEFAULT_CHALLENGE_TTL_SECS: u64 = 5 * 60;
/// Default seconds a widget (one CaptchaQuery) may refresh: 30 minutes.
/// After that the page must fetch new JavaScript.
pub const DEFAULT_SESSION_TTL_SECS: u64 = 30 * 60;
/// The longest answer text looked at; longer input is simply wrong.
pub const MAX_ANSWER_LEN: usize = 64;

/// The captcha service: CaptchaQuery, CaptchaCheck and the widget routes.
/// Share one per process (`Arc<CaptchaService>`); every method takes
/// `&self` and is thread-safe.
///
/// ```
/// use qcaptcha::{ApiRequest, CaptchaService};
///
/// let service = CaptchaService::builder("/captcha").build()?;
/// // CaptchaQuery, e.g. from GET /v2/captcha?userIp=...:
/// let resp = service.handle_query(ApiRequest::from_params(
///     "userIp=121.14.96.121&businessId=1&captchaType=1&script=0&registerTime=0",
/// ));
/// assert_eq!(resp.status, 200);
/// let json: serde_json::Value = serde_json::from_slice(&resp.body)?;
/// assert_eq!(json["code"], 0);
/// // CaptchaCheck with a bad ticket: code 5100, the reason in resp.error.
/// let resp = service.handle_check(ApiRequest::from_params(
///     "ticket=nope&userIp=121.14.96.121&businessId=1&captchaType=1&registerTime=0",
/// ));
/// assert!(resp.text().contains("5100"));
/// assert!(resp.error.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CaptchaService {
    pub(crate) routes: Routes,
    pub(crate) keys: RwLock<KeyRing>,
    pub(crate) store: Arc<dyn ReplayStore>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) ticket_mode: TicketMode,
    pub(crate) challenge_ttl_secs: u64,
    pub(crate) session_ttl_secs: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pow: PowPolicy,
    pub(crate) pressure: Arc<dyn PressureSource>,
    pub(crate) limits: Limits,
    /// This process's counters of the picture limit.
    pub(crate) local_rates: MemoryStore,
}

impl std::fmt::Debug for CaptchaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaService")
            .field("routes", &self.routes)
            .field("credentials", &self.credentials)
            .field("ticket_mode", &self.ticket_mode)
            .field("challenge_ttl_secs", &self.challenge_ttl_secs)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("pow", &self.pow)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Where a new challenge goes: a new session, or the next picture of one.
struct Slot {
    session: [u8; 16],
    picture: u32,
    session_expires_at: u64,
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
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The widget routes.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Whether API calls must carry v2 signatures (credentials are set).
    pub fn requires_signatures(&self) -> bool {
        self.credentials.is_some()
    }

    /// The proof-of-work policy in force.
    pub fn pow_policy(&self) -> &PowPolicy {
        &self.pow
    }

    /// Records a pressure event for the client of `binding` (its userIp),
    /// unless proof of work is off.
    fn pressure_event(&self, binding: &Binding, event: PressureEvent) {
        if !self.pow.is_off() {
            self.pressure.record(binding.user_ip, event, self.now());
        }
    }

    /// The puzzle for a new challenge of `binding`'s client: the policy's
    /// level for the pressure now, at least level index `least` (the
    /// session's price), with a fresh salt (none at level 0).
    fn new_puzzle(
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
        let level = self.pow.levels[local.max(least).min(self.pow.levels.len() - 1)];
        self.pressure
            .record(binding.user_ip, PressureEvent::Challenge, now);
        if level.is_none() {
            return Ok(Puzzle::NONE);
        }
        let mut salt = [0u8; SALT_LEN];
        os_random(&mut salt).map_err(ServiceError::Seal)?;
        Ok(Puzzle::new(level.bits, level.iterations, salt))
    }

    /// The ticket rule in force.
    pub fn ticket_mode(&self) -> TicketMode {
        self.ticket_mode
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, KeyRing> {
        // A KeyRing is replaced whole, so a poisoned lock still holds a
        // consistent ring.
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `key` the sealing key; older keys keep opening their tokens
    /// until [`retire_key`](CaptchaService::retire_key).
    pub fn rotate_key(&self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .rotate(key_id, key)
    }

    /// Adds `key` for opening only: the first step of a rotation across
    /// nodes (add the key on every node, then [`set_current_key`]
    /// everywhere, then [`retire_key`] the old one once its tokens expired).
    ///
    /// [`set_current_key`]: CaptchaService::set_current_key
    /// [`retire_key`]: CaptchaService::retire_key
    pub fn add_key(&self, key_id: u32, key: [u8; KEY_LEN]) -> Result<(), KeyError> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .add_key(key_id, key)
    }

    /// Makes a key already added the sealing key.
    pub fn set_current_key(&self, key_id: u32) -> Result<(), KeyError> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .set_current(key_id)
    }

    /// Drops an old key (not the current one). Returns whether one was
    /// removed.
    pub fn retire_key(&self, key_id: u32) -> bool {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retire(key_id)
    }

    /// The ids of the keys in the ring.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys().key_ids()
    }

    // ---- typed, in-process API ----

    /// A fresh sealed challenge for `binding`: picture 0 of a new session
    /// (`slot` `None`), or the given picture of a session. Returns the
    /// token and its seconds to live.
    fn new_challenge(
        &self,
        binding: Binding,
        slot: Option<Slot>,
        least: usize,
    ) -> Result<Issued, ServiceError> {
        let now = self.now();
        let slot = match slot {
            Some(slot) => slot,
            None => Slot {
                session: random_id().map_err(ServiceError::Seal)?,
                picture: 0,
                session_expires_at: now.saturating_add(self.session_ttl_secs),
            },
        };
        let expires_at = now
            .saturating_add(self.challenge_ttl_secs)
            .min(slot.session_expires_at);
        let puzzle = self.new_puzzle(&binding, now, least)?;
        let seed = random_seed().map_err(ServiceError::Seal)?;
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
            .seal_challenge(&challenge)
            .map_err(ServiceError::Seal)?;
        Ok(Issued {
            token,
            ttl_secs: expires_at.saturating_sub(now),
            puzzle,
            letters,
        })
    }

    /// Counts one hit on the rate counter `id`; `Err` with the seconds to
    /// wait once it is over `limit`. A limit of `u32::MAX` is off and costs
    /// no store call.
    fn hit(&self, id: &str, limit: u32) -> Result<Result<(), u64>, ServiceError> {
        if limit == u32::MAX {
            return Ok(Ok(()));
        }
        let now = self.now();
        let count = self.store.count_hit(id, RATE_WINDOW_SECS, now)?;
        Ok(limits::sliding_window(count, u64::from(limit), now))
    }

    /// CaptchaQuery, typed: a new widget session for a validated query
    /// (signature checks are the HTTP handler's job): its JavaScript, and
    /// the first challenge it embeds as a value of its own. The per-userIp
    /// and per-businessId [`Limits`] apply (4400), and the session is
    /// priced (see [`PowPolicy`]).
    pub fn widget(&self, query: &CaptchaQuery) -> Result<Widget, ServiceError> {
        self.widget_signed(query, None)
    }

    /// [`widget`](Self::widget) for a signed request: its Nonce is
    /// recorded once the limits let the request in, before the session is
    /// priced and sealed.
    fn widget_signed(
        &self,
        query: &CaptchaQuery,
        nonce: Option<SignedNonce>,
    ) -> Result<Widget, ServiceError> {
        let binding = query.user.binding();
        let now = self.now();
        let over_budget = self.admit_session(&binding, now)?;
        if let Some(nonce) = nonce {
            self.record_nonce(&nonce, &binding, now)?;
        }
        let least = self.session_price(&binding, over_budget, now);
        let issued = self.new_challenge(binding, None, least)?;
        let script = widget::widget_script(WidgetParams {
            challenge: &issued.token,
            ttl_secs: issued.ttl_secs,
            routes: &self.routes,
            puzzle: &issued.puzzle,
            letters: issued.letters,
        });
        Ok(Widget {
            script,
            challenge: issued.token,
            ttl_secs: issued.ttl_secs,
            puzzle: issued.puzzle,
            letters: issued.letters,
        })
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

    /// The v2 signature's checks that need no store (`None`: the API is
    /// unsigned).
    fn verify_signature(
        &self,
        req: &ApiRequest<'_>,
        pairs: &[(String, String)],
    ) -> Result<Option<SignedNonce>, SignError> {
        let Some(creds) = &self.credentials else {
            return Ok(None);
        };
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let line = RequestLine {
            method: req.method,
            host: req.host,
            path: req.path,
        };
        signature::check_signature(creds, line, &borrowed, self.now()).map(Some)
    }

    /// The SecretId, the holder scope of Nonces ("" when unsigned).
    fn secret_scope(&self) -> &str {
        self.credentials.as_ref().map_or("", Credentials::secret_id)
    }

    /// Records an accepted request's Nonce, held by its SecretId and the
    /// user's network (CaptchaQuery falls back to this process's store
    /// when the shared one is unreachable; see [`Self::on_query_store`]).
    fn record_nonce(
        &self,
        nonce: &SignedNonce,
        binding: &Binding,
        now: u64,
    ) -> Result<(), ServiceError> {
        let holder = self.holder(self.secret_scope(), binding);
        match nonce.record(self.store.as_ref(), &holder, now) {
            Err(SignError::Store(StoreError::Unavailable(_))) => {
                Ok(nonce.record(&self.local_rates, &holder, now)?)
            }
            other => Ok(other?),
        }
    }

    // ---- HTTP handlers ----

    /// The API endpoint as the original service has it: one path, and the
    /// `Action` parameter says which call. `CaptchaQuery` and
    /// `CaptchaCheck` go to [`handle_query`](Self::handle_query) and
    /// [`handle_check`](Self::handle_check); a missing (or repeated)
    /// `Action` answers 4000 and any other 5000 (resource not found), in
    /// the API's JSON with HTTP 200.
    pub fn handle_api(&self, req: ApiRequest<'_>) -> HttpResponse {
        let pairs = match parse_pairs(req.params) {
            Ok(p) => p,
            Err(e) => return api_failure(e.into()),
        };
        let mut actions = pairs.iter().filter(|(k, _)| k == "Action");
        match (actions.next(), actions.next()) {
            (Some((_, a)), None) if a == "CaptchaQuery" => self.handle_query(req),
            (Some((_, a)), None) if a == "CaptchaCheck" => self.handle_check(req),
            (Some((_, a)), None) if !a.is_empty() => api_failure(ServiceError::UnknownAction),
            (_, None) => api_failure(ParamError::Missing("Action").into()),
            (_, Some(_)) => api_failure(ParamError::Duplicate("Action").into()),
        }
    }

    /// An API call's parameters, its v2 signature checked first (when
    /// credentials are set), then parsed into request `T` by `parse`; with
    /// the Nonce to record once the request is accepted.
    fn signed<T>(
        &self,
        req: &ApiRequest<'_>,
        pairs: &[(String, String)],
        parse: impl FnOnce(&[(String, String)]) -> Result<T, ParamError>,
    ) -> Result<(T, Option<SignedNonce>), ServiceError> {
        let nonce = self.verify_signature(req, pairs)?;
        Ok((parse(pairs)?, nonce))
    }

    /// CaptchaQuery. Verifies the v2 signature when credentials are
    /// configured, validates the parameters and answers with the widget:
    /// `script=0` JSON `{"code":0,"message":"No Error","script":"..."}`,
    /// `script=1` the JavaScript itself. A failure answers JSON
    /// `{"code","message"}`, or, with `script=1` and a valid `callBack`,
    /// JavaScript calling `callBack({code, message})`.
    pub fn handle_query(&self, req: ApiRequest<'_>) -> HttpResponse {
        let pairs = match parse_pairs(req.params) {
            Ok(p) => p,
            Err(e) => return api_failure(e.into()),
        };
        let result = self
            .signed(&req, &pairs, |p| {
                CaptchaQuery::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|(q, nonce)| Ok((q.script, self.widget_signed(&q, nonce)?.script)));
        if result.is_ok() {
            metrics::session_started();
        }
        match result {
            Ok((ScriptMode::JavaScript, js)) => {
                HttpResponse::new(200, CONTENT_TYPE_JS, js.into_bytes())
            }
            Ok((ScriptMode::Json, js)) => {
                HttpResponse::new(200, CONTENT_TYPE_JSON, codes::query_json(&js))
            }
            Err(e) => {
                let (code, message) = (e.code(), e.public_message());
                let cb = failure_callback(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let resp = match cb {
                    Some(cb) => HttpResponse::new(
                        http_status(Route::Api, code),
                        CONTENT_TYPE_JS,
                        widget::callback_script(&cb, code, &message).into_bytes(),
                    ),
                    None => api_failure(e.clone()),
                };
                resp.with_error(e)
            }
        }
    }

    /// CaptchaCheck. Verifies the v2 signature when configured, validates
    /// the parameters and checks the ticket: `{"code":0,"message":"No
    /// Error"}`, or 5100 (the reason is in [`HttpResponse::error`]), or
    /// another code for a bad request.
    pub fn handle_check(&self, req: ApiRequest<'_>) -> HttpResponse {
        let pairs = match parse_pairs(req.params) {
            Ok(p) => p,
            Err(e) => return api_failure(e.into()),
        };
        let result = self
            .signed(&req, &pairs, |p| {
                CaptchaCheck::from_pairs(p.iter().map(pair_ref))
            })
            .and_then(|(c, nonce)| {
                if let Some(nonce) = nonce {
                    let holder = self.holder(self.secret_scope(), &c.user.binding());
                    nonce.record(self.store.as_ref(), &holder, self.now())?;
                }
                self.check(&c).map_err(ServiceError::from)
            });
        metrics::checked(result.as_ref().map(|_| ()));
        match result {
            Ok(_) => HttpResponse::new(
                200,
                CONTENT_TYPE_JSON,
                codes::status_json(ErrorCode::Success, ErrorCode::Success.message()),
            ),
            Err(e) => api_failure(e),
        }
    }

    fn open_challenge_param(&self, pairs: &[(String, String)]) -> Result<Challenge, ServiceError> {
        self.open_challenge_pairs(pairs).map(|(_, c)| c)
    }

    /// The `c` parameter, and the challenge it opens to: a challenge of
    /// this ring, not issued in the future.
    fn open_challenge_pairs<'p>(
        &self,
        pairs: &'p [(String, String)],
    ) -> Result<(&'p str, Challenge), ServiceError> {
        let mut tokens = pairs.iter().filter(|(k, _)| k == "c");
        let token = match (tokens.next(), tokens.next()) {
            (Some((_, t)), None) if !t.is_empty() => t,
            _ => return Err(ChallengeError::Missing.into()),
        };
        let challenge = self
            .keys()
            .open_challenge(token)
            .map_err(ChallengeError::Invalid)?;
        if challenge.issued_at > self.now().saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(ChallengeError::IssuedInFuture.into());
        }
        Ok((token, challenge))
    }

    /// The per-client-address limits of the widget routes: attempts
    /// (`verify` and `refresh`, each uses up a picture; counted in the
    /// shared store, so every node counts together) or pictures (`image`,
    /// counted in this process only: the limit guards this node's
    /// rendering, and a picture never waits for the shared store).
    fn admit_client(&self, client: IpAddr, attempt: bool) -> Result<(), ServiceError> {
        let l = &self.limits;
        let key = limits::client_key(client);
        if attempt {
            let limit = l.client_answers_per_minute;
            return match self.hit(&format!("w:a:{key}"), limit)? {
                Ok(()) => Ok(()),
                Err(retry_after) => Err(refuse(LimitError::ClientAnswers { limit, retry_after })),
            };
        }
        let limit = l.client_pictures_per_minute;
        if limit == u32::MAX {
            return Ok(());
        }
        let now = self.now();
        // The local store never fails but when poisoned; then the picture
        // is served uncounted (it needs no store).
        let Ok(count) = self.local_rates.count_hit(&key, RATE_WINDOW_SECS, now) else {
            return Ok(());
        };
        match limits::sliding_window(count, u64::from(limit), now) {
            Ok(()) => Ok(()),
            Err(retry_after) => Err(refuse(LimitError::ClientPictures { limit, retry_after })),
        }
    }

    /// `GET {base}/image?c=<challenge>[&s=1|2|3]`: the PNG of the
    /// challenge, rendered from its sealed seed (stateless: any node with
    /// the key ring can serve it), at `s` times 130x53 (the widget asks for
    /// its display size and the screen's density). `client` is the
    /// client's address, for [`Limits::client_pictures_per_minute`]
    /// (counted in this process, never in the shared store). 400
    /// for a bad token or scale, 410 once expired, 429 (with
    /// `Retry-After`) over the limit.
    pub fn handle_image(&self, query: &str, client: IpAddr) -> HttpResponse {
        self.image(query, client).unwrap_or_else(|e| {
            let status = http_status(Route::Picture, e.code());
            HttpResponse::new(status, CONTENT_TYPE_TEXT, e.public_message().into_bytes())
                .with_error(e)
        })
    }

    fn image(&self, query: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        self.admit_client(client, false)?;
        let pairs = parse_pairs(query)?;
        let challenge = self.open_challenge_param(&pairs)?;
        let scale = pictures::scale_param(&pairs)?;
        if self.now() >= challenge.expires_at {
            return Err(ChallengeError::Expired.into());
        }
        let png = pictures::render(challenge.binding.captcha_type, challenge.seed, scale)?;
        metrics::picture_served(challenge.binding.captcha_type);
        Ok(HttpResponse::new(200, CONTENT_TYPE_PNG, png))
    }

    /// `GET {base}/audio?c=<challenge>`: the same challenge spoken, a WAV
    /// rendered from the sealed seed like the picture, with the picture's
    /// answer. Listening takes no attempt: the challenge's one attempt is
    /// its answer, whether read or heard. `client` is the client's
    /// address: a clip counts as a picture for
    /// [`Limits::client_pictures_per_minute`]. 400 for a bad token, 410
    /// once expired, 429 (with `Retry-After`) over the limit.
    pub fn handle_audio(&self, query: &str, client: IpAddr) -> HttpResponse {
        self.audio(query, client).unwrap_or_else(|e| {
            let status = http_status(Route::Picture, e.code());
            HttpResponse::new(status, CONTENT_TYPE_TEXT, e.public_message().into_bytes())
                .with_error(e)
        })
    }

    fn audio(&self, query: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        self.admit_client(client, false)?;
        let pairs = parse_pairs(query)?;
        let (token, challenge) = self.open_challenge_pairs(&pairs)?;
        if self.now() >= challenge.expires_at {
            return Err(ChallengeError::Expired.into());
        }
        // A clip costs ten times a picture to render and is what a speech
        // recogniser attacks: it asks for the same proof as the answer
        // (checked, not spent: the attempt is the answer's).
        if !proof_ok(token, &challenge, &pairs) {
            return Err(ChallengeError::WrongProof.into());
        }
        let clip = generate_audio(challenge.binding.captcha_type, challenge.seed)?;
        Ok(HttpResponse::new(200, CONTENT_TYPE_WAV, clip.into_wav()))
    }

    /// Uses picture `old` of its session: atomically moves the session's
    /// counter from `old.picture` to the next, or fails with
    /// [`ChallengeError::Used`] when the counter is elsewhere (this picture,
    /// or a later one, was used already; a replay changes nothing). One
    /// record per session.
    fn use_picture(&self, old: &Challenge) -> Result<(), ServiceError> {
        let moved = self.store.advance_held(
            RecordKind::Session,
            &self.holder(old.binding.business_id, &old.binding),
            &old.session_id(),
            u64::from(old.picture),
            old.session_expires_at,
            self.now(),
        )?;
        if moved {
            Ok(())
        } else {
            Err(ChallengeError::Used.into())
        }
    }

    /// The next picture of `old`'s session, as the widget JSON with `code`
    /// and `message`; [`LimitError::SessionPictures`] when the session has
    /// used all its pictures, [`ChallengeError::SessionOver`] after its
    /// end.
    fn next_challenge_json(
        &self,
        old: &Challenge,
        code: ErrorCode,
        message: &str,
    ) -> Result<HttpResponse, ServiceError> {
        if self.now() >= old.session_expires_at {
            return Err(ChallengeError::SessionOver.into());
        }
        let next = old.picture.saturating_add(1);
        if next >= self.limits.session_pictures {
            return Err(refuse(LimitError::SessionPictures {
                limit: self.limits.session_pictures,
            }));
        }
        let slot = Slot {
            session: old.session,
            picture: next,
            session_expires_at: old.session_expires_at,
        };
        let least = self.pow.index_of(old.puzzle.level());
        let issued = self.new_challenge(old.binding.clone(), Some(slot), least)?;
        Ok(HttpResponse::json(&json!({
            "code": code.code(),
            "message": message,
            "challenge": issued.token,
            "ttl": issued.ttl_secs,
            "pow": widget::puzzle_value(&issued.puzzle),
            "letters": issued.letters,
        })))
    }

    /// The answer to a failed attempt that the widget handles itself: the
    /// error's code and message, and the next challenge of the session.
    fn next_after(
        &self,
        old: &Challenge,
        why: ChallengeError,
    ) -> Result<HttpResponse, ServiceError> {
        if matches!(
            why,
            ChallengeError::WrongAnswer | ChallengeError::WrongProof | ChallengeError::Used
        ) {
            self.pressure_event(&old.binding, PressureEvent::Failure);
        }
        let why = ServiceError::from(why);
        self.next_challenge_json(old, why.code(), &why.public_message())
            .map(|r| r.with_error(why))
    }

    /// A widget route's failure as JSON `{code, message}`, with
    /// `retryAfter` for a per-minute limit (and `Retry-After` with the
    /// 429).
    fn widget_error(e: ServiceError) -> HttpResponse {
        let mut body = codes::status_value(e.code(), &e.public_message());
        if let Some(secs) = e.retry_after() {
            body["retryAfter"] = json!(secs);
        }
        HttpResponse::new(
            http_status(Route::Widget, e.code()),
            CONTENT_TYPE_JSON,
            codes::to_bytes(&body),
        )
        .with_error(e)
    }

    /// `POST {base}/refresh` with form `c=<challenge>`: the next picture of
    /// the session, `{"code":0,"message":"No Error","challenge":..,
    /// "ttl":..,"pow":..,"letters":..}`. It uses up the old picture. The session ends when its
    /// pictures are used up (4400, [`Limits::session_pictures`]) or its time
    /// is over (4200); the page must then fetch new JavaScript. `client` is
    /// the client's address, for [`Limits::client_answers_per_minute`]
    /// (a refresh uses a picture up like an answer; 429 with `Retry-After`
    /// over it, and the picture is then not used up).
    pub fn handle_refresh(&self, form: &str, client: IpAddr) -> HttpResponse {
        self.refresh(form, client)
            .unwrap_or_else(CaptchaService::widget_error)
    }

    fn refresh(&self, form: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        self.admit_client(client, true)?;
        let challenge = self.open_challenge_param(&parse_pairs(form)?)?;
        if self.now() >= challenge.session_expires_at {
            return Err(ChallengeError::SessionOver.into());
        }
        self.use_picture(&challenge)?;
        self.next_challenge_json(&challenge, ErrorCode::Success, ErrorCode::Success.message())
    }

    /// `POST {base}/verify` with form `c=<challenge>&answer=<text>`, and
    /// `&pow=<counter>` when the challenge asks for a proof of work.
    /// One attempt per picture, recorded in the replay store (the session's
    /// counter moves past it) before the proof is checked (one derivation,
    /// see [`crate::pow`]) and the answer compared (in constant time); a
    /// missing or wrong proof uses the picture up like a wrong answer:
    /// - right: `{"code":0,"message":"No Error","ticket":..}`; the session
    ///   is then over (one ticket per session);
    /// - wrong: `{"code":5100,..,"challenge":<next>,"ttl":..}`;
    /// - expired: `{"code":4200,..,"challenge":<next>,"ttl":..}`;
    /// - the picture used already: 5100 without a next picture;
    /// - the session's pictures used up: HTTP 429, 4400 without a next
    ///   picture and without `retryAfter`;
    /// - session over: 4200 without a next picture;
    /// - over [`Limits::client_answers_per_minute`] for `client`: HTTP 429,
    ///   `{"code":4400,..,"retryAfter":..}`, the picture not used up.
    pub fn handle_verify(&self, form: &str, client: IpAddr) -> HttpResponse {
        self.verify(form, client)
            .unwrap_or_else(CaptchaService::widget_error)
    }

    fn verify(&self, form: &str, client: IpAddr) -> Result<HttpResponse, ServiceError> {
        self.admit_client(client, true)?;
        let pairs = parse_pairs(form)?;
        let (token, challenge) = self.open_challenge_pairs(&pairs)?;
        let now = self.now();
        if now >= challenge.session_expires_at {
            return Err(ChallengeError::SessionOver.into());
        }
        // The proof first (one derivation, no store): a request without
        // its work stores nothing and gets no next picture.
        if !proof_ok(token, &challenge, &pairs) {
            self.pressure_event(&challenge.binding, PressureEvent::Failure);
            return Err(ChallengeError::WrongProof.into());
        }
        if let Err(e) = self.use_picture(&challenge) {
            if matches!(e, ServiceError::Challenge(ChallengeError::Used)) {
                metrics::answered(Answered::Reused);
                self.pressure_event(&challenge.binding, PressureEvent::Failure);
            }
            return Err(e);
        }
        if now >= challenge.expires_at {
            metrics::answered(Answered::Expired);
            return self.next_after(&challenge, ChallengeError::Expired);
        }
        let answer = pairs
            .iter()
            .find(|(k, _)| k == "answer")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        // The seed draws the word; no need to render the picture for it.
        let (_, expected) = draw_word(challenge.binding.captcha_type, challenge.seed);
        let right = answer.len() <= MAX_ANSWER_LEN && expected.matches(answer);
        if !right {
            metrics::answered(Answered::Wrong);
            return self.next_after(&challenge, ChallengeError::WrongAnswer);
        }
        self.pressure_event(&challenge.binding, PressureEvent::Success);
        self.count_ticket(&challenge.binding, now);
        let ticket = Ticket {
            id: random_id().map_err(ServiceError::Seal)?,
            issued_at: now,
            expires_at: now.saturating_add(self.ticket_mode.ttl_secs()),
            max_uses: self.ticket_mode.max_uses(),
            binding: challenge.binding,
        };
        let token = self
            .keys()
            .seal_ticket(&ticket)
            .map_err(ServiceError::Seal)?;
        metrics::answered(Answered::Right);
        metrics::ticket_issued();
        Ok(HttpResponse::json(&json!({
            "code": ErrorCode::Success.code(),
            "message": ErrorCode::Success.message(),
            "ticket": token,
        })))
    }
}

/// A widget session, as CaptchaQuery starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Widget {
    /// The JavaScript to send (CaptchaQuery's `script`).
    pub script: String,
    /// The sealed first challenge the script embeds.
    pub challenge: String,
    /// Seconds that challenge stays answerable.
    pub ttl_secs: u64,
    /// The proof of work that challenge asks for ([`Puzzle::NONE`]: none).
    pub puzzle: Puzzle,
    /// How many letters that challenge's picture shows (the widget's
    /// prompt says so).
    pub letters: usize,
}

/// A challenge just sealed, with what the widget is told about it.
struct Issued {
    token: String,
    ttl_secs: u64,
    puzzle: Puzzle,
    letters: usize,
}

/// Whether `pairs` carry the proof of work the sealed `challenge` (whose
/// token is `token`) asks for: one `pow` counter that verifies, or nothing
/// when it asks for none.
fn proof_ok(token: &str, challenge: &Challenge, pairs: &[(String, String)]) -> bool {
    if challenge.puzzle.is_none() {
        return true;
    }
    let mut proofs = pairs.iter().filter(|(k, _)| k == "pow");
    let counter = match (proofs.next(), proofs.next()) {
        (Some((_, v)), None) => parse_counter(v),
        _ => None,
    };
    counter.is_some_and(|c| pow::verify(token, &challenge.puzzle, c))
}

/// A proof-of-work counter as the widget sends it: 1 to 10 ASCII digits,
/// at most `u32::MAX`; anything else is no proof.
fn parse_counter(v: &str) -> Option<u32> {
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A 4400 from a per-minute limit also says when to try again:
/// `"retryAfter"` (seconds), a field the original service does not have.
fn api_failure(e: ServiceError) -> HttpResponse {
    let mut body = codes::status_value(e.code(), &e.public_message());
    if let Some(secs) = e.retry_after() {
        body["retryAfter"] = json!(secs);
    }
    HttpResponse::new(
        http_status(Route::Api, e.code()),
        CONTENT_TYPE_JSON,
        codes::to_bytes(&body),
    )
    .with_error(e)
}

/// A parameter pair, borrowed.
fn pair_ref((k, v): &(String, String)) -> (&str, &str) {
    (k.as_str(), v.as_str())
}
