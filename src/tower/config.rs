//! [`RouterConfig`]: what the router accepts and how much work it queues.

use std::time::Duration;

use crate::tower::ClientIp;

/// How the router reads requests and bounds its work. Start from
/// [`RouterConfig::default`] and change what you need.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouterConfig {
    pub(crate) api_path: String,
    pub(crate) allow_unsigned_api: bool,
    pub(crate) client_ip: ClientIp,
    pub(crate) max_query_bytes: usize,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) blocking_permits: usize,
    pub(crate) queue_timeout: Duration,
}

impl Default for RouterConfig {
    /// The API at `/v2/index.php` (the original service's path), signed
    /// calls only, the client address from the connection, 4 KiB query
    /// strings, 8 KiB bodies, 10 s for a whole request, 32 store calls at
    /// once, each waiting at most 2 s for its turn.
    fn default() -> Self {
        RouterConfig {
            api_path: "/v2/index.php".into(),
            allow_unsigned_api: false,
            client_ip: ClientIp::Peer,
            max_query_bytes: 4096,
            max_body_bytes: 8192,
            request_timeout: Duration::from_secs(10),
            blocking_permits: 32,
            queue_timeout: Duration::from_secs(2),
        }
    }
}

impl RouterConfig {
    /// The path of the API (CaptchaQuery and CaptchaCheck).
    pub fn api_path(mut self, path: impl Into<String>) -> Self {
        self.api_path = path.into();
        self
    }

    /// Serves the API to unsigned calls when the service has no
    /// credentials. Off by default: an open API lets anyone mint sessions
    /// for any `userIp` or burn someone else's ticket. Turn it on only for
    /// a local demo, or behind a network boundary that does the job.
    pub fn allow_unsigned_api(mut self, allow: bool) -> Self {
        self.allow_unsigned_api = allow;
        self
    }

    /// Where the client's address comes from (see [`ClientIp`]).
    pub fn client_ip(mut self, client_ip: ClientIp) -> Self {
        self.client_ip = client_ip;
        self
    }

    /// The longest query string accepted (longer: 414).
    pub fn max_query_bytes(mut self, bytes: usize) -> Self {
        self.max_query_bytes = bytes;
        self
    }

    /// The largest form body accepted (larger: 413), enforced by a
    /// `tower_http` body-limit layer.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How long a whole request may take, body included (longer: 408), a
    /// `tower_http` timeout layer. Bodies are read before any work is queued
    /// for them, so a slow client holds no permit while it sends.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many store-touching calls may run at once on the blocking pool
    /// (at least 1), and how long a call waits for its turn before it is
    /// refused with 503 and code 6000.
    pub fn blocking(mut self, permits: usize, queue_timeout: Duration) -> Self {
        self.blocking_permits = permits.max(1);
        self.queue_timeout = queue_timeout;
        self
    }
}
