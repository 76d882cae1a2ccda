//! [`Limits`]: how many tries a client gets, and the error when it has
//! had them ([`LimitError`], wire code 4400).

use std::net::IpAddr;

use crate::service::defence::prefix::V4Text;
use crate::service::store::RateCount;

/// The length of every rate window, in seconds.
pub const RATE_WINDOW_SECS: u64 = 60;

/// How many tries a client gets, counted in the replay store.
///
/// No text picture stops a solver trained on it; what stops a bot is how
/// many tries it gets. The service counts, in the replay store (so every
/// node of a cluster counts together):
///
/// | limit | counted per | default | over it |
/// |---|---|---|---|
/// | [`session_pictures`](Limits::session_pictures) | widget session (one CaptchaQuery) | 10 | HTTP 429 and 4400 without `Retry-After` or a next picture: the page must start a new session |
/// | [`client_pictures_per_minute`](Limits::client_pictures_per_minute) | client address at `image`, per node | 60 | HTTP 429 + `Retry-After` |
/// | [`client_answers_per_minute`](Limits::client_answers_per_minute) | client address at `verify` + `refresh` | 20 | HTTP 429 + `Retry-After` |
/// | [`user_ip_sessions_per_minute`](Limits::user_ip_sessions_per_minute) | `userIp` at CaptchaQuery | 20 | 4400 |
/// | [`business_sessions_per_minute`](Limits::business_sessions_per_minute) | `businessId` at CaptchaQuery | 6,000 | new sessions of the business ask for the top proof-of-work level |
/// | [`prefix_sessions_per_minute`](Limits::prefix_sessions_per_minute) | client network (/24, /64) and `businessId`, only while the business is over its budget | 1,000 | 4400: the last resort |
///
/// The per-minute limits count a sliding minute: the hits of the current
/// calendar minute plus the share of the previous minute's hits that
/// still falls in the last 60 seconds (two counters per client, the
/// estimate that Cloudflare and others use). A client that keeps going
/// thus gets the limit per minute, not twice that across a minute
/// boundary (the estimate takes the last minute's hits as spread evenly,
/// so a burst can let a few more through in its first minute), and
/// refused requests count too, so one that hammers stays refused. `Retry-After` is the time until one more request would
/// pass. An IPv6 client is counted by its /64
/// network (one host usually holds a whole /64), an IPv4 one by its
/// address.
///
/// Why these defaults:
///
/// - **10 pictures per session.** A person who misreads one or two
///   pictures, or asks for a new one a few times, finishes well within 10
///   (readers got 94 % of pictures right, so 10 misses in a row are
///   practically never a person). Every picture of a session is one
///   answer or one refresh, and a session yields at most one ticket, so a
///   bot gains nothing by staying in a session and must go back to
///   CaptchaQuery, where the next limits apply.
/// - **20 answers and 60 pictures a minute per address.** A person needs
///   5 to 10 s to read and type a picture, so one person stays under 12
///   answers and refreshes a minute, and as many picture loads (a reload
///   or a high-density screen may double them); the rest is headroom for
///   a few people behind one address (an office, a family). So a bot that
///   reads every picture gets at most 20 tickets a minute per address,
///   instead of thousands. Sites whose users sit behind large NATs (mobile
///   carriers, campuses) should raise them.
/// - **20 sessions a minute per userIp.** Each session is one page view of
///   the host's protected page; 20 a minute is more than a handful of
///   people behind one address reload. Bounded so that one address cannot
///   mint sessions (and fill the session table) at will.
/// - **6,000 sessions a minute per businessId** (100 a second): the
///   business's budget. A budget is never an off-switch: over it, new
///   sessions of that business pay the top proof-of-work level, and only a
///   client network that alone opens more than 1,000 sessions a minute is
///   refused. Large sites raise it.
///
/// Start from [`Limits::default`] and change what you need:
///
/// ```
/// use qcaptcha::{CaptchaService, Limits};
/// let service = CaptchaService::builder("/captcha")
///     .limits(Limits::default().client_answers_per_minute(60)) // big NATs
///     .build()?;
/// assert_eq!(service.limits().client_answers_per_minute, 60);
/// # Ok::<(), qcaptcha::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Pictures one widget session may use, the first included: every
    /// answer and every refresh uses one (default 10). Also one ticket per
    /// session at most.
    pub session_pictures: u32,
    /// `image` requests per client address per minute (default 60),
    /// counted by each process on its own: the limit guards a node's
    /// rendering, and a picture never waits for the shared store.
    pub client_pictures_per_minute: u32,
    /// `verify` and `refresh` requests (each uses a picture of a session
    /// up) per client address per minute (default 20).
    pub client_answers_per_minute: u32,
    /// CaptchaQuery sessions per `userIp` per minute (default 20).
    pub user_ip_sessions_per_minute: u32,
    /// CaptchaQuery sessions per `businessId` per minute (default 6,000):
    /// the business's budget. Over it nobody is refused for it: new
    /// sessions of the business ask for the top proof-of-work level.
    pub business_sessions_per_minute: u32,
    /// CaptchaQuery sessions per client network (a /24 or /64, see
    /// [`crate::pow::Prefixes`]) and `businessId` per minute, counted only
    /// while the business is over its budget (default 1,000): the last
    /// resort, refusing (4400) only the networks that hold more than
    /// their share.
    pub prefix_sessions_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_pictures: 10,
            client_pictures_per_minute: 60,
            client_answers_per_minute: 20,
            user_ip_sessions_per_minute: 20,
            business_sessions_per_minute: 6_000,
            prefix_sessions_per_minute: 1_000,
        }
    }
}

impl Limits {
    /// No rate limits (every per-minute limit at `u32::MAX`, which skips
    /// its store round trip) and [`u32::MAX`] pictures per session: for
    /// benchmarks and tests, or a host that limits by other means. A
    /// session still yields one ticket at most, and each picture one
    /// attempt.
    pub fn unlimited() -> Limits {
        Limits {
            session_pictures: u32::MAX,
            client_pictures_per_minute: u32::MAX,
            client_answers_per_minute: u32::MAX,
            user_ip_sessions_per_minute: u32::MAX,
            business_sessions_per_minute: u32::MAX,
            prefix_sessions_per_minute: u32::MAX,
        }
    }

    /// Sets [`Limits::session_pictures`].
    pub fn session_pictures(mut self, n: u32) -> Self {
        self.session_pictures = n;
        self
    }

    /// Sets [`Limits::client_pictures_per_minute`].
    pub fn client_pictures_per_minute(mut self, n: u32) -> Self {
        self.client_pictures_per_minute = n;
        self
    }

    /// Sets [`Limits::client_answers_per_minute`].
    pub fn client_answers_per_minute(mut self, n: u32) -> Self {
        self.client_answers_per_minute = n;
        self
    }

    /// Sets [`Limits::user_ip_sessions_per_minute`].
    pub fn user_ip_sessions_per_minute(mut self, n: u32) -> Self {
        self.user_ip_sessions_per_minute = n;
        self
    }

    /// Sets [`Limits::business_sessions_per_minute`].
    pub fn business_sessions_per_minute(mut self, n: u32) -> Self {
        self.business_sessions_per_minute = n;
        self
    }

    /// Sets [`Limits::prefix_sessions_per_minute`].
    pub fn prefix_sessions_per_minute(mut self, n: u32) -> Self {
        self.prefix_sessions_per_minute = n;
        self
    }

    /// Whether every limit is at least 1.
    pub(crate) fn is_valid(&self) -> bool {
        [
            self.session_pictures,
            self.client_pictures_per_minute,
            self.client_answers_per_minute,
            self.user_ip_sessions_per_minute,
            self.business_sessions_per_minute,
            self.prefix_sessions_per_minute,
        ]
        .iter()
        .all(|n| *n >= 1)
    }
}

/// A limit that was reached (wire code 4400). The host may log it; the
/// client gets the code, a generic message and, for the per-minute limits,
/// the seconds to wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The widget session used all its pictures; the page must start a new
    /// session (fetch new JavaScript).
    #[error("widget session used all its {limit} pictures")]
    SessionPictures {
        /// The limit.
        limit: u32,
    },
    /// Too many `image` or `refresh` requests from this client address.
    #[error("more than {limit} pictures a minute from this client address")]
    ClientPictures {
        /// The limit.
        limit: u32,
        /// Seconds until the next window.
        retry_after: u64,
    },
    /// Too many `verify` requests from this client address.
    #[error("more than {limit} answers a minute from this client address")]
    ClientAnswers {
        /// The limit.
        limit: u32,
        /// Seconds until the next window.
        retry_after: u64,
    },
    /// Too many CaptchaQuery sessions for this `userIp`.
    #[error("more than {limit} captcha sessions a minute for this userIp")]
    UserIpSessions {
        /// The limit.
        limit: u32,
        /// Seconds until the next window.
        retry_after: u64,
    },
    /// The `businessId` is over its budget and this client network holds
    /// more than its share of it
    /// ([`Limits::prefix_sessions_per_minute`]).
    #[error("business over its budget, and more than {limit} captcha sessions a minute from this client network")]
    BusinessSessions {
        /// The limit.
        limit: u32,
        /// Seconds until the next window.
        retry_after: u64,
    },
}

impl LimitError {
    /// Seconds until the limit lets the client in again (`None` for
    /// [`LimitError::SessionPictures`]: that session is over for good).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            LimitError::SessionPictures { .. } => None,
            LimitError::ClientPictures { retry_after, .. }
            | LimitError::ClientAnswers { retry_after, .. }
            | LimitError::UserIpSessions { retry_after, .. }
            | LimitError::BusinessSessions { retry_after, .. } => Some(*retry_after),
        }
    }

    /// The limit's name, for metrics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            LimitError::SessionPictures { .. } => "session_pictures",
            LimitError::ClientPictures { .. } => "client_pictures",
            LimitError::ClientAnswers { .. } => "client_answers",
            LimitError::UserIpSessions { .. } => "user_ip_sessions",
            LimitError::BusinessSessions { .. } => "business_sessions",
        }
    }

    /// The message sent to the client (one per limit; the widget shows its
    /// own translation, chosen by code and `retryAfter`).
    pub(crate) fn public_message(&self) -> &'static str {
        match self {
            LimitError::SessionPictures { .. } => {
                "too many tries with this captcha, reload the page"
            }
            LimitError::ClientPictures { .. } | LimitError::ClientAnswers { .. } => {
                "too many tries from your network, wait a minute"
            }
            LimitError::UserIpSessions { .. } | LimitError::BusinessSessions { .. } => {
                "quota exceeded: too many captcha sessions, try again later"
            }
        }
    }
}

/// The sliding-window decision for a hit counted in `count` at `now`:
/// the hits of the last [`RATE_WINDOW_SECS`] are estimated as this
/// window's plus the previous window's share still inside the last
/// minute (`previous * (60 - elapsed) / 60`), and the hit passes while
/// that is at most `limit`. So a client that keeps going gets `limit` a
/// minute, not twice that across a window boundary. `Err`
/// holds the seconds until a next hit would pass (if nothing else came).
pub(crate) fn sliding_window(count: RateCount, limit: u64, now: u64) -> Result<(), u64> {
    let w = RATE_WINDOW_SECS;
    let elapsed = now % w;
    let (cur, prev) = (count.current, count.previous);
    // cur + prev * (w - elapsed) / w <= limit, in integers.
    let weighted = |cur: u64, prev: u64, elapsed: u64| {
        cur.saturating_mul(w)
            .saturating_add(prev.saturating_mul(w - elapsed))
    };
    if weighted(cur, prev, elapsed) <= limit.saturating_mul(w) {
        return Ok(());
    }
    // When would one more hit pass? In this window, once the previous
    // window's share has shrunk enough ...
    let next = cur.saturating_add(1);
    for e in elapsed + 1..w {
        if weighted(next, prev, e) <= limit.saturating_mul(w) {
            return Err(e - elapsed);
        }
    }
    // ... or in the next one, where this window is the previous.
    for e in 0..w {
        if weighted(1, cur, e) <= limit.saturating_mul(w) {
            return Err(w - elapsed + e);
        }
    }
    Err(2 * w - elapsed)
}

/// The rate-counter key of a client address: an IPv4 address (also when
/// mapped into IPv6) as it is, an IPv6 address by its /64 network. Written
/// where it is used (into a [`StoreKey`](crate::service::store::key::StoreKey)),
/// never allocated.
pub(crate) fn client_key(ip: IpAddr) -> ClientKey {
    ClientKey(ip.to_canonical())
}

/// A client address as its rate counters name it: see [`client_key`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientKey(IpAddr);

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => f.write_str(V4Text::new(v4).as_str()),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                write!(f, "{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("1.2.3.4"), "1.2.3.4");
        assert_eq!(key("::ffff:1.2.3.4"), "1.2.3.4");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::9"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn sliding_window_counts_the_last_minute() {
        let c = RateCount::new;
        // Within the limit, this window alone.
        assert_eq!(sliding_window(c(3, 0), 3, 120), Ok(()));
        // Over it at 20 s into the window: one more hit passes only in the
        // next window, once 4 * (60 - e) / 60 + 1 <= 3, at e = 30: 40 + 30.
        assert_eq!(sliding_window(c(4, 0), 3, 140), Err(70));
        // Early in a window the previous one still weighs: 3 hits just
        // before, 1 now; a second passes once 2 + 3 * (60 - e) / 60 <= 3.
        assert_eq!(sliding_window(c(1, 3), 3, 180), Err(40));
        assert_eq!(sliding_window(c(1, 3), 3, 200), Ok(()));
        // A steady client: 3 a minute pass across a boundary, 6 do not.
        assert_eq!(sliding_window(c(3, 3), 3, 239), Err(21));
        assert_eq!(sliding_window(c(2, 3), 3, 220), Ok(()));
    }

    #[test]
    fn defaults_are_valid_and_zero_is_not() {
        assert!(Limits::default().is_valid());
        assert!(Limits::unlimited().is_valid());
        assert!(!Limits::default().session_pictures(0).is_valid());
        assert!(!Limits::default().client_answers_per_minute(0).is_valid());
    }
}
