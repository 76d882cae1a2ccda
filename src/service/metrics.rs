//! What the service does, as counters and a histogram, through the
//! [`metrics`](https://docs.rs/metrics) crate's facade (cargo feature
//! `metrics`). The library installs no exporter: the host picks one (the
//! example server serves them at `/metrics` with
//! `metrics-exporter-prometheus`). Without the feature every function here
//! is empty and compiles away.
//!
//! One function per event, called by the handlers; the names follow the
//! Prometheus conventions and are listed in [`METRICS`] (and the README).

#[cfg(feature = "metrics")]
use std::time::Instant;

use crate::render::CaptchaType;
use crate::service::errors::ServiceError;
use crate::service::store::ReplayStore;
#[cfg(feature = "metrics")]
use crate::service::store::{RateCount, RecordKind, StoreError, UseRecord};
#[cfg(feature = "metrics")]
use crate::service::tokens::check::CheckFailure;

/// Pictures rendered and served, by captcha type (label `type`, 1..8).
pub(crate) const PICTURES: &str = "qcaptcha_pictures_total";
/// Widget sessions started (successful CaptchaQuery calls).
pub(crate) const SESSIONS: &str = "qcaptcha_sessions_total";
/// Answers to pictures, by `result`: `right`, `wrong`, `reused` (the
/// challenge had its attempt already), `expired`.
pub(crate) const ANSWERS: &str = "qcaptcha_answers_total";
/// Tickets issued (right answers).
pub(crate) const TICKETS: &str = "qcaptcha_tickets_issued_total";
/// CaptchaCheck calls by `outcome` (`pass`, `fail`, `error`) and `reason`
/// (`ok`, `malformed`, `unknown_key`, `forged`, `expired`, `reused`,
/// `mismatch`, `store`, `signature`, `bad_request`).
pub(crate) const CHECKS: &str = "qcaptcha_checks_total";
/// Requests refused by a limit, by `limit` (recorded by the limiter).
pub(crate) const LIMITS: &str = "qcaptcha_limits_triggered_total";
/// Proof-of-work challenges handed out, by `level` (recorded by the
/// proof-of-work step).
pub(crate) const POW: &str = "qcaptcha_pow_challenges_total";
/// Replay-store calls that failed, by `kind` (`session`, `ticket`,
/// `nonce`, `rate`) and `error` (`unavailable`, `full`, `invalid_id`,
/// `config`). Each one refused a request (fail closed).
pub(crate) const STORE_ERRORS: &str = "qcaptcha_store_errors_total";
/// Replay-store call latency in seconds, by `kind`, failures included.
pub const STORE_SECONDS: &str = "qcaptcha_store_seconds";

/// Every metric the service records: name, kind and meaning (what
/// [`describe`] registers with the recorder as help text).
pub const METRICS: [(&str, &str, &str); 9] = [
    (
        PICTURES,
        "counter",
        "Captcha pictures rendered and served, by type.",
    ),
    (
        SESSIONS,
        "counter",
        "Widget sessions started (CaptchaQuery answered).",
    ),
    (
        ANSWERS,
        "counter",
        "Answers to pictures, by result (right, wrong, reused, expired).",
    ),
    (TICKETS, "counter", "Tickets issued for right answers."),
    (
        CHECKS,
        "counter",
        "CaptchaCheck calls by outcome (pass, fail, error) and reason.",
    ),
    (
        LIMITS,
        "counter",
        "Requests refused by a rate or attempt limit, by limit.",
    ),
    (
        POW,
        "counter",
        "Proof-of-work challenges handed out, by level.",
    ),
    (
        STORE_ERRORS,
        "counter",
        "Replay store calls that failed (request refused), by kind and error.",
    ),
    (
        STORE_SECONDS,
        "histogram",
        "Replay store call latency in seconds, by kind.",
    ),
];

/// Registers the help text and unit of every metric with the installed
/// recorder (call once after installing an exporter; optional).
#[cfg(feature = "metrics")]
pub fn describe() {
    for (name, kind, help) in METRICS {
        if kind == "histogram" {
            ::metrics::describe_histogram!(name, ::metrics::Unit::Seconds, help);
        } else {
            ::metrics::describe_counter!(name, help);
        }
    }
}

/// The label value of a captcha type.
#[cfg(feature = "metrics")]
fn type_label(kind: CaptchaType) -> &'static str {
    const LABELS: [&str; 9] = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];
    LABELS
        .get(usize::from(kind.code()))
        .copied()
        .unwrap_or("other")
}

/// A picture was served.
#[inline]
pub(crate) fn picture_served(kind: CaptchaType) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(PICTURES, "type" => type_label(kind)).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = kind;
}

/// A CaptchaQuery was answered with a widget.
#[inline]
pub(crate) fn session_started() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(SESSIONS).increment(1);
}

/// How an answer to a picture went.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answered {
    Right,
    Wrong,
    Reused,
    Expired,
}

/// An answer was judged.
#[inline]
pub(crate) fn answered(result: Answered) {
    #[cfg(feature = "metrics")]
    {
        let result = match result {
            Answered::Right => "right",
            Answered::Wrong => "wrong",
            Answered::Reused => "reused",
            Answered::Expired => "expired",
        };
        ::metrics::counter!(ANSWERS, "result" => result).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = result;
}

/// A ticket was issued.
#[inline]
pub(crate) fn ticket_issued() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(TICKETS).increment(1);
}

/// A CaptchaCheck was answered: `Ok` (passed) or why not.
#[inline]
pub(crate) fn checked(result: Result<(), &ServiceError>) {
    #[cfg(feature = "metrics")]
    {
        let (outcome, reason) = match result {
            Ok(()) => ("pass", "ok"),
            Err(ServiceError::Check(failure)) => match failure {
                CheckFailure::Malformed => ("fail", "malformed"),
                CheckFailure::UnknownKey(_) => ("fail", "unknown_key"),
                CheckFailure::Forged => ("fail", "forged"),
                CheckFailure::Expired => ("fail", "expired"),
                CheckFailure::IssuedInFuture => ("fail", "future"),
                CheckFailure::Reused => ("fail", "reused"),
                CheckFailure::Mismatch(_) => ("fail", "mismatch"),
                CheckFailure::Store(_) => ("error", "store"),
            },
            Err(ServiceError::Sign(_)) => ("fail", "signature"),
            Err(e) if e.code() == crate::service::api::codes::ErrorCode::Internal => {
                ("error", "internal")
            }
            Err(_) => ("fail", "bad_request"),
        };
        ::metrics::counter!(CHECKS, "outcome" => outcome, "reason" => reason).increment(1);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = result;
}

/// A limit refused a request. For the per-client and per-session limits
/// (issue 11): `limit` names which one.
#[inline]
pub(crate) fn limit_triggered(limit: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(LIMITS, "limit" => limit).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = limit;
}

/// A proof-of-work challenge of `level` was handed out.
#[inline]
#[allow(dead_code)] // called by the proof-of-work step once it lands
pub(crate) fn pow_issued(level: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(POW, "level" => level).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = level;
}

/// A [`ReplayStore`] that times every call of the store it wraps and
/// counts its errors ([`STORE_SECONDS`], [`STORE_ERRORS`]), labelled by
/// the kind of record (`session`, `ticket`, `nonce`, or `rate`). The
/// builder wraps the service's store in it when the feature is on.
#[cfg(feature = "metrics")]
pub(crate) struct Metered(pub(crate) std::sync::Arc<dyn ReplayStore>);

#[cfg(feature = "metrics")]
impl Metered {
    fn timed<T>(
        &self,
        kind: &'static str,
        call: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call();
        ::metrics::histogram!(STORE_SECONDS, "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        // A call the store does not offer is done in process: no failure.
        if let Some(e) = result
            .as_ref()
            .err()
            .filter(|e| !matches!(e, StoreError::Unsupported(_)))
        {
            store_failed(kind, e);
        }
        result
    }
}

/// The metrics label of a record kind.
#[cfg(feature = "metrics")]
fn kind_label(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Session => "session",
        RecordKind::Ticket => "ticket",
        RecordKind::Nonce => "nonce",
    }
}

#[cfg(feature = "metrics")]
impl ReplayStore for Metered {
    fn record_use(
        &self,
        kind: RecordKind,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        self.timed(kind_label(kind), || {
            self.0.record_use(kind, id, expires_at, max_uses, now)
        })
    }

    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.timed(kind_label(kind), || {
            self.0.advance(kind, id, from, expires_at, now)
        })
    }

    fn count_hit(&self, id: &str, window_secs: u64, now: u64) -> Result<RateCount, StoreError> {
        self.timed("rate", || self.0.count_hit(id, window_secs, now))
    }

    fn record_held_use(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        self.timed(kind_label(kind), || {
            self.0
                .record_held_use(kind, holder, id, expires_at, max_uses, now)
        })
    }

    fn advance_held(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.timed(kind_label(kind), || {
            self.0.advance_held(kind, holder, id, from, expires_at, now)
        })
    }

    fn decay_add(
        &self,
        id: &str,
        amount: f64,
        half_lives_secs: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        self.timed("pressure", || {
            self.0.decay_add(id, amount, half_lives_secs, now)
        })
    }
}

/// A replay-store call failed.
#[cfg(feature = "metrics")]
fn store_failed(kind: &'static str, e: &StoreError) {
    let error = match e {
        StoreError::Full { .. } => "full",
        StoreError::InvalidId { .. } => "invalid_id",
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Config(_) => "config",
        StoreError::Unsupported(_) => "unsupported",
    };
    ::metrics::counter!(STORE_ERRORS, "kind" => kind, "error" => error).increment(1);
}

/// The store the service uses: `store`, metered when the feature is on.
pub(crate) fn wrap_store(
    store: std::sync::Arc<dyn ReplayStore>,
) -> std::sync::Arc<dyn ReplayStore> {
    #[cfg(feature = "metrics")]
    return std::sync::Arc::new(Metered(store));
    #[cfg(not(feature = "metrics"))]
    store
}
