//! [`RedisStore`]: a [`ReplayStore`] shared by every node of a cluster,
//! kept in Redis (cargo feature `redis`).
//!
//! # Which store
//!
//! - [`MemoryStore`](crate::MemoryStore) (the default) is right for **one
//!   process**: it needs nothing else, answers in nanoseconds and can never
//!   be unreachable. Its uses are known to that process only, so behind a
//!   load balancer a ticket checked on one node could be checked again on
//!   another.
//! - [`RedisStore`] is for **several processes or machines**: every node
//!   points at the same Redis, so a challenge answered or a ticket checked
//!   on one node counts on all of them. It costs one round trip to Redis
//!   per answer, ticket check and signed request, and makes Redis a
//!   dependency of verification: when Redis is down, verification fails
//!   closed (wire code 6000) until it is back, while CaptchaQuery keeps
//!   serving on the node's own counters.
//!
//! # Cluster setup
//!
//! Tokens are sealed, so any node renders and verifies any challenge or
//! ticket **as long as every node holds the same
//! [`KeyRing`](crate::KeyRing)**; the replay store is the only state they
//! share at run time. Rotate a key in three steps, each finished on every
//! node before the next begins (for example by rolling restarts with the
//! ring built from configuration):
//!
//! 1. **add** the new key for opening only ([`KeyRing::add_key`]), so that
//!    every node can open what any node will seal with it;
//! 2. **seal** with it: make it the current key, with the old one kept for
//!    opening ([`KeyRing::new`] with the new key, then
//!    [`KeyRing::add_key`] of the old one);
//! 3. **retire** the old key ([`KeyRing::retire`],
//!    [`CaptchaService::retire_key`]) once every token it sealed has
//!    expired: the session lifetime (30 minutes by default) after step 2.
//!
//! Sealing with a key that some node does not hold yet makes that node
//! refuse the new tokens (5100, or 400 for a challenge) until it does;
//! that is why [`CaptchaService::rotate_key`], which adds a key and seals
//! with it at once, suits a single node only.
//!
//! [`KeyRing::add_key`]: crate::KeyRing::add_key
//! [`KeyRing::new`]: crate::KeyRing::new
//! [`KeyRing::retire`]: crate::KeyRing::retire
//! [`CaptchaService::rotate_key`]: crate::CaptchaService::rotate_key
//! [`CaptchaService::retire_key`]: crate::CaptchaService::retire_key

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::cluster::ClusterClientBuilder;
use redis::{Client, ConnectionLike, IntoConnectionInfo, RedisError, RedisResult, Script};

use super::{check_id, RateCount, RecordKind, ReplayStore, StoreError, UseRecord};

mod conn;
mod held;
mod lua;
mod persistence;
#[cfg(feature = "redis-tls")]
mod tls;

use conn::{Backend, Conn};
use held::Step;
use held::DEFAULT_HOLDER_SHARE;
use lua::{ADVANCE_LUA, COUNT_HIT_LUA, DECAY_ADD_LUA, HELD_USE_LUA, RECORD_USE_LUA};
pub use persistence::Persistence;
#[cfg(feature = "redis-tls")]
pub use tls::RedisTls;

/// The default key prefix.
const DEFAULT_PREFIX: &str = "qcaptcha:";
/// The default connect, read and write timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// The shortest timeout used (a zero timeout would mean "none" to some
/// socket APIs and is refused by others).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// How many idle connections are kept for reuse.
const MAX_IDLE: usize = 16;
/// The longest time-to-live set, in seconds (about 34 years; Redis refuses
/// absurd expiries, and no token lives anywhere near this long).
const MAX_TTL_SECS: u64 = 1 << 30;
/// How often a Cluster call is retried after a redirect (`MOVED`, `ASK`)
/// or a lost connection, within one `record_use`. Low, so that a call
/// during an outage fails within a few timeouts instead of the redis
/// crate's default of 16 retries with exponential back-off.
const CLUSTER_RETRIES: u32 = 2;
/// The longest pause between two such retries, in milliseconds.
const CLUSTER_MAX_RETRY_WAIT_MS: u64 = 50;

/// A [`ReplayStore`] in Redis, for services that run on several nodes
/// (cargo feature `redis`): a single server ([`open`](RedisStore::open)),
/// over TLS (`open_tls`, feature `redis-tls`) or a
/// Redis Cluster ([`open_cluster`](RedisStore::open_cluster)).
///
/// Each [`record_use`](ReplayStore::record_use) is one Lua script run
/// (`EVALSHA`, one round trip; the script is loaded again by itself after
/// a Redis restart) that `INCR`s the key `prefix{id}`, gives it a
/// time-to-live equal to the token's remaining life (`PEXPIRE`, only ever
/// lengthened) and returns the count. So:
///
/// - it is atomic across every thread and node: of `n` racing uses of one
///   id, exactly one sees count 1, one sees 2, and so on (which is how
///   [`TicketMode::Compatibility`](crate::TicketMode) allows two checks);
/// - Redis holds no dead entries: a key disappears when its token expires;
/// - the time-to-live is computed from the calling node's clock (`expires_at
///   - now`), so the Redis server's clock does not matter, but the nodes'
///   clocks should agree (NTP): a node whose clock lags by `d` seconds
///   treats a token as live `d` seconds after its key has gone.
///
/// ## Keys, hash tags and Redis Cluster
///
/// Every key is `prefix` + `{tag}` + an optional suffix. The service's
/// records are held: each session, ticket and Nonce belongs to a
/// *holder*, its business (or SecretId) and the user's network (/24 or
/// /64), and lives among that holder's ids: `qcaptcha:{ht:<holder>}` (a
/// sorted set of live ticket ids by expiry), `qcaptcha:{ht:<holder>}:uses`
/// (their use counts) and, once the holder lost ids to its fair share,
/// `qcaptcha:{ht:<holder>}:mark` (`hs` for sessions, `hn` for Nonces; see
/// [`with_holder_share`](RedisStore::with_holder_share)). Plain
/// [`record_use`](ReplayStore::record_use) writes `qcaptcha:{t:<id>}`,
/// and rate counters `qcaptcha:{r:<counter>}:<window>`. Redis Cluster
/// hashes only the part between the first `{` and the next `}` (the
/// *hash tag*) to choose a slot, so every key made from one tag lives in
/// one slot, on one master, whatever its suffix. Each Lua script this
/// crate runs touches the keys of a single tag, which is what Cluster
/// requires of a script (`CROSSSLOT` otherwise); holders and counters
/// have different tags, so the keys spread over all masters (one holder's
/// records sit on one master). Braces inside a tag or the prefix are
/// written `%7B` / `%7D` (and `%` as `%25`), so only the tag decides the
/// slot.
///
/// ## What bounds Redis's memory
///
/// Each holder keeps at most its share (20,000 by default) of live ids of
/// each kind, about 250 bytes an id in Redis (5 MB for a full share); a holder over its share
/// loses its ids that expire first, and any unknown id of it that expires
/// no later counts as used, so nothing dropped can be replayed and other
/// holders are untouched. Rate counters live two minutes, price counters
/// ten half-lives. So Redis holds at most share × 3 kinds × the holders
/// live within a session's life (30 minutes), and the holders a flood can
/// make are bounded by the networks it sends from and the limits in front
/// (a refused request stores nothing). Configure `maxmemory` with
/// `maxmemory-policy noeviction`: a Redis out of memory then fails closed
/// (6000) instead of evicting live ids.
///
/// ## TLS
///
/// With the cargo feature `redis-tls`, `rediss://` URLs connect over TLS
/// (rustls with the *ring* provider; no OpenSSL). [`RedisStore::open`]
/// trusts the system's root certificates; `RedisStore::open_tls` and
/// `RedisStore::open_cluster_tls` trust the CA certificate you give
/// (`RedisTls::ca_pem`) and can present a client certificate (mutual
/// TLS, `RedisTls::client_auth`). The server's certificate must name the
/// host of the URL (a DNS name, or an IP address in its subjectAltName).
///
/// **Failures fail closed.** When Redis cannot be reached, does not answer
/// within the [timeout](RedisStore::with_timeout) (500 ms by default) or
/// answers with an error (a Cluster whose slots are not all served answers
/// `CLUSTERDOWN`), `record_use` returns [`StoreError::Unavailable`] and
/// the service refuses the request with code 6000 (HTTP 500 on the widget
/// routes); it never treats an unchecked id as unused. Nothing needs
/// restarting afterwards: a connection that failed is dropped and the next
/// call connects anew. A use whose answer timed out may still have been
/// counted by Redis, so retrying it can be refused as a reuse (again
/// failing closed). In a Cluster a call follows up to two redirects or
/// reconnects (slots that moved, a master replaced), each within the
/// timeout.
///
/// **Durability.** A Redis that loses its data (a restart without
/// persistence, a failover to a replica that lagged) forgets the uses it
/// held, so tokens still live then (at most the ticket or challenge
/// lifetime, 5 to 30 minutes) could be used once more. Enable AOF
/// (`appendonly yes`) where that matters, and check it at start-up with
/// [`persistence`](RedisStore::persistence).
///
/// **Connections.** `RedisStore` is `Send + Sync`; share one per process
/// (the service holds it in an `Arc`). It keeps up to 16 idle connections
/// (in a Cluster: connection sets, one connection per master) for reuse
/// and opens another when all are busy, so threads never wait for each
/// other. The constructors only parse the URLs: they do not connect, so a
/// node can start while Redis is down (use [`ping`](RedisStore::ping) to
/// check at start-up or for health checks). Plain TCP (`redis://`), TLS
/// (`rediss://`, feature `redis-tls`) and Unix sockets (`redis+unix://`)
/// are supported.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use qcaptcha::{CaptchaService, KeyRing, RedisStore};
///
/// # fn key_from_config() -> [u8; 32] { [7; 32] }
/// let store = RedisStore::open("redis://10.0.0.5:6379/0")?
///     .with_prefix("shop-captcha:")
///     .with_timeout(Duration::from_millis(300));
/// store.ping()?; // optional: fail fast at start-up
/// let service = CaptchaService::builder("/captcha")
///     .keys(KeyRing::new(1, key_from_config())) // the same ring on every node
///     .store(Arc::new(store))
///     .build()?;
///
/// // A Redis Cluster: any masters as seeds, the rest is discovered.
/// let cluster = RedisStore::open_cluster(["redis://10.0.0.6:6379", "redis://10.0.0.7:6379"])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisStore {
    backend: Backend,
    /// The servers, for Debug and error messages (never the password).
    addrs: Vec<String>,
    prefix: String,
    timeout: Duration,
    script: Script,
    advance_script: Script,
    hit_script: Script,
    decay_script: Script,
    held_script: Script,
    /// Live ids per holder and kind (see `with_holder_share`).
    holder_share: u64,
    /// Connections not in use. A connection is taken out for one call and
    /// put back only if the call succeeded.
    idle: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("RedisStore");
        match &self.backend {
            Backend::Single(client) => s
                .field("addr", &self.addrs[0])
                .field("db", &client.get_connection_info().redis.db),
            Backend::Cluster(_) => s.field("cluster", &self.addrs),
        };
        s.field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn config_error(what: &str, e: &RedisError) -> StoreError {
    StoreError::Config(format!("{what}: {e}"))
}

/// The addresses of `urls` (parsed, so no password is kept).
fn addrs_of(urls: &[&str]) -> Result<Vec<String>, StoreError> {
    urls.iter()
        .map(|url| {
            url.into_connection_info()
                .map(|info| info.addr.to_string())
                .map_err(|e| config_error("invalid Redis URL", &e))
        })
        .collect()
}

/// Escapes the characters that would change a key's hash tag.
fn push_escaped(key: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '{' => key.push_str("%7B"),
            '}' => key.push_str("%7D"),
            '%' => key.push_str("%25"),
            c => key.push(c),
        }
    }
}

impl RedisStore {
    fn new(backend: Backend, addrs: Vec<String>) -> RedisStore {
        RedisStore {
            backend,
            addrs,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            script: Script::new(RECORD_USE_LUA),
            advance_script: Script::new(ADVANCE_LUA),
            hit_script: Script::new(COUNT_HIT_LUA),
            decay_script: Script::new(DECAY_ADD_LUA),
            held_script: Script::new(HELD_USE_LUA),
            holder_share: DEFAULT_HOLDER_SHARE,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A store using the Redis at `url`, such as `redis://127.0.0.1:6379/0`,
    /// `redis://:password@host:6379/2` or (feature `redis-tls`, trusting
    /// the system's root certificates) `rediss://host:6380/0` (see the
    /// [`redis` crate's URL
    /// format](https://docs.rs/redis/latest/redis/#connection-parameters)),
    /// with key prefix `qcaptcha:` and a 500 ms timeout.
    ///
    /// It does not connect: Redis need not be up yet. Connections are made
    /// when the store is first used (and again after any failure). An URL
    /// that does not parse, or needs a feature this build lacks (such as
    /// `rediss://` without `redis-tls`), is a [`StoreError::Config`].
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let client = Client::open(url).map_err(|e| config_error("invalid Redis URL", &e))?;
        let addrs = vec![client.get_connection_info().addr.to_string()];
        Ok(RedisStore::new(Backend::Single(client), addrs))
    }

    /// A store using the Redis at the `rediss://` `url`, trusting the CA
    /// and presenting the client certificate of `tls` (cargo feature
    /// `redis-tls`). Like [`open`](RedisStore::open) it does not connect;
    /// a `redis://` URL or a PEM that does not parse is a
    /// [`StoreError::Config`].
    #[cfg(feature = "redis-tls")]
    pub fn open_tls(url: &str, tls: &RedisTls) -> Result<RedisStore, StoreError> {
        let client = Client::build_with_tls(url, tls.certificates())
            .map_err(|e| config_error("invalid Redis TLS setup", &e))?;
        let addrs = vec![client.get_connection_info().addr.to_string()];
        Ok(RedisStore::new(Backend::Single(client), addrs))
    }

    /// A store using the Redis Cluster reached through the seed `nodes`
    /// (URLs like `redis://10.0.0.6:6379`, or `rediss://` with feature
    /// `redis-tls`; a password is taken from the first). One reachable
    /// seed is enough: the store asks it for the slot map and then talks
    /// to each master directly, following `MOVED` and `ASK` redirects when
    /// slots move. Keys are placed by hash tag (see
    /// [`RedisStore`]). Like [`open`](RedisStore::open) it does not connect.
    pub fn open_cluster<I, S>(nodes: I) -> Result<RedisStore, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RedisStore::cluster(nodes, |builder| builder)
    }

    /// [`open_cluster`](RedisStore::open_cluster) over TLS: `rediss://`
    /// seeds, trusting the CA and presenting the client certificate of
    /// `tls` (cargo feature `redis-tls`).
    #[cfg(feature = "redis-tls")]
    pub fn open_cluster_tls<I, S>(nodes: I, tls: &RedisTls) -> Result<RedisStore, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let certs = tls.certificates();
        RedisStore::cluster(nodes, |builder| builder.certs(certs))
    }

    fn cluster<I, S>(
        nodes: I,
        configure: impl FnOnce(ClusterClientBuilder) -> ClusterClientBuilder,
    ) -> Result<RedisStore, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        if nodes.is_empty() {
            return Err(StoreError::Config(
                "no Redis Cluster seed node given".into(),
            ));
        }
        let urls: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let addrs = addrs_of(&urls)?;
        let builder = ClusterClientBuilder::new(urls)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(1)
            .max_retry_wait(CLUSTER_MAX_RETRY_WAIT_MS);
        let client = configure(builder)
            .build()
            .map_err(|e| config_error("invalid Redis Cluster setup", &e))?;
        Ok(RedisStore::new(Backend::Cluster(client), addrs))
    }

    /// Sets the prefix of every key (default `qcaptcha:`); a key is the
    /// prefix followed by its hash tag in braces
    /// (`qcaptcha:{ht:<business>/<network>}`, `qcaptcha:{hs:...}`,
    /// `qcaptcha:{hn:<SecretId>/<network>}` and their suffixes,
    /// `qcaptcha:{r:<counter>}:<minute>`). Nodes that must see each other's
    /// uses need the same prefix and database; separate services sharing
    /// one Redis need different prefixes. Braces and `%` in the prefix are
    /// escaped (`%7B`, `%7D`, `%25`) so that they cannot become the hash
    /// tag; [`prefix`](RedisStore::prefix) returns the escaped form.
    pub fn with_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        let mut escaped = String::new();
        push_escaped(&mut escaped, prefix.as_ref());
        self.prefix = escaped;
        self
    }

    /// Sets the timeout for connecting, and for sending a command and
    /// reading its answer (default 500 ms; at least 1 ms). Past it the call
    /// fails with [`StoreError::Unavailable`]. Keep it short: a request
    /// waits this long before being refused while Redis hangs (in a
    /// Cluster, up to three times as long when it also retries).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(MIN_TIMEOUT);
        // Idle connections carry the old timeouts.
        self.idle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connect, read and write timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
    }

    /// The key for `tag` and `suffix`: `prefix{tag}suffix`, braces and `%`
    /// in `tag` escaped. Every key with the same tag lands in the same
    /// Cluster slot, so one Lua script may touch all of them; keys of
    /// different tags spread over the masters. `tag` must not be empty
    /// (the replay store's ids never are).
    pub(crate) fn key(&self, tag: &str, suffix: &str) -> String {
        debug_assert!(!tag.is_empty(), "an empty hash tag hashes the whole key");
        let mut key = String::with_capacity(self.prefix.len() + tag.len() + suffix.len() + 2);
        key.push_str(&self.prefix);
        key.push('{');
        push_escaped(&mut key, tag);
        key.push('}');
        key.push_str(suffix);
        key
    }

    /// The key of record `id` of `kind`: `prefix{<tag>:<id>}`.
    fn record_key(&self, kind: RecordKind, id: &str) -> String {
        self.key(&format!("{}:{id}", kind.tag()), "")
    }

    /// The key of rate counter `id` in window `window`:
    /// `prefix{r:<id>}:<window>`. The windows of one counter share the hash
    /// tag, so the script that reads two of them touches one slot.
    fn rate_key(&self, id: &str, window: u64) -> String {
        self.key(&format!("r:{id}"), &format!(":{window}"))
    }

    /// What the server does to keep its data across a restart (`CONFIG GET
    /// appendonly`, `appendfsync` and `save`; in a Cluster, as one node
    /// answers). Call it at start-up, after [`ping`](RedisStore::ping), and
    /// warn the operator unless [`Persistence::is_durable`]: without AOF a
    /// Redis restart lets every token still live be used once more. A
    /// server that refuses `CONFIG` gives [`Persistence::Unknown`], not an
    /// error; an unreachable one gives [`StoreError::Unavailable`]. The
    /// library logs nothing; what to do with the answer is the host's
    /// choice.
    pub fn persistence(&self) -> Result<Persistence, StoreError> {
        self.run(|con| {
            let get = |con: &mut dyn ConnectionLike, name: &str| -> RedisResult<Option<String>> {
                let pairs: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con)?;
                Ok(pairs.get(1).cloned())
            };
            let appendonly = match get(con, "appendonly") {
                Ok(v) => v,
                // The server answered, with an error (unknown command,
                // no permission): it will not say.
                Err(e)
                    if !(e.is_io_error()
                        || e.is_timeout()
                        || e.is_connection_dropped()
                        || e.is_connection_refusal()) =>
                {
                    return Ok(Persistence::Unknown(e.to_string()));
                }
                Err(e) => return Err(e),
            };
            let snapshots = get(con, "save")?.unwrap_or_default();
            Ok(match appendonly.as_deref() {
                Some("yes") => Persistence::AppendOnly {
                    fsync: get(con, "appendfsync")?.unwrap_or_default(),
                    snapshots,
                },
                Some(_) if !snapshots.trim().is_empty() => Persistence::SnapshotsOnly { snapshots },
                Some(_) => Persistence::None,
                None => Persistence::Unknown("no appendonly setting".into()),
            })
        })
    }

    /// Checks that Redis answers (`PING`; in a Cluster, every master), for
    /// start-up and health checks.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.run(|con| redis::cmd("PING").query::<String>(con).map(drop))
    }

    fn connect(&self) -> Result<Conn, StoreError> {
        match &self.backend {
            Backend::Single(client) => {
                let con = client
                    .get_connection_with_timeout(self.timeout)
                    .map_err(|e| self.unavailable(&e))?;
                con.set_read_timeout(Some(self.timeout))
                    .and_then(|()| con.set_write_timeout(Some(self.timeout)))
                    .map_err(|e| self.unavailable(&e))?;
                Ok(Conn::Single(con))
            }
            Backend::Cluster(client) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout);
                let con = client
                    .get_connection_with_config(config)
                    .map_err(|e| self.unavailable(&e))?;
                con.set_write_timeout(Some(self.timeout))
                    .map_err(|e| self.unavailable(&e))?;
                Ok(Conn::Cluster(Box::new(con)))
            }
        }
    }

    fn unavailable(&self, e: &RedisError) -> StoreError {
        match &self.backend {
            Backend::Single(_) => {
                StoreError::Unavailable(format!("redis at {}: {e}", self.addrs[0]))
            }
            Backend::Cluster(_) => {
                StoreError::Unavailable(format!("redis cluster ({}): {e}", self.addrs.join(", ")))
            }
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        // Only push, pop and clear run under the lock, so a poisoned list
        // is still a list of good connections.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put_back(&self, con: Conn) {
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(con);
        }
    }

    /// Whether an error on a reused connection means the pooled
    /// connections are stale rather than that Redis is down: the server
    /// closed it (restarted, or idle timeout); in a Cluster also a refused
    /// connection, which is what a pooled slot map that still names a
    /// failed-over master gets (a fresh connection asks for the new map).
    fn stale(&self, e: &RedisError) -> bool {
        e.is_connection_dropped() || (self.is_cluster() && e.is_connection_refusal())
    }

    /// Runs `call` on an idle connection or a new one. After any error the
    /// connection is dropped (its state is unknown: an answer may still be
    /// on its way). If a reused connection turns out to be [stale](Self::stale)
    /// (Redis restarted or closed it as idle; a Cluster master failed over),
    /// the other idle ones are dropped too and the call is tried once more
    /// on a new connection; the command then never reached a live server,
    /// so nothing is counted twice (and if it were, the second count would
    /// only refuse).
    fn run<T>(
        &self,
        call: impl Fn(&mut dyn ConnectionLike) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let reused = self.idle().pop();
        let was_reused = reused.is_some();
        let mut con = match reused {
            Some(con) => con,
            None => self.connect()?,
        };
        match call(con.as_dyn()) {
            Ok(value) => {
                self.put_back(con);
                Ok(value)
            }
            Err(e) if was_reused && self.stale(&e) => {
                drop(con);
                self.idle().clear();
                let mut con = self.connect()?;
                let value = call(con.as_dyn()).map_err(|e| self.unavailable(&e))?;
                self.put_back(con);
                Ok(value)
            }
            Err(e) => Err(self.unavailable(&e)),
        }
    }
}

impl ReplayStore for RedisStore {
    /// Records one use of `prefix{<tag>:<id>}` in Redis, kept for
    /// `expires_at - now` seconds (at least 1 ms, so an already expired id
    /// is counted against any live entry and then forgotten at once). `now`
    /// is the caller's clock; the Redis server's clock is not used.
    fn record_use(
        &self,
        kind: RecordKind,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        check_id(id)?;
        let key = self.record_key(kind, id);
        let ttl_ms = ttl_ms(expires_at, now);
        let uses: u64 = self.run(|con| self.script.key(&key).arg(ttl_ms).invoke(con))?;
        Ok(UseRecord::new(uses, max_uses))
    }

    /// Moves `prefix{<tag>:<id>}` from `from` to `from + 1` in one script
    /// run (`GET`, compare, `SET ... PX`).
    fn advance(
        &self,
        kind: RecordKind,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        check_id(id)?;
        let key = self.record_key(kind, id);
        let ttl_ms = ttl_ms(expires_at, now);
        let moved: u64 = self.run(|con| {
            self.advance_script
                .key(&key)
                .arg(from)
                .arg(ttl_ms)
                .invoke(con)
        })?;
        Ok(moved == 1)
    }

    /// Counts one hit in `prefix{r:<id>}:<window index>` and reads the
    /// window before; a window's key expires a second after the next
    /// window ends (by the caller's clock).
    fn count_hit(&self, id: &str, window_secs: u64, now: u64) -> Result<RateCount, StoreError> {
        check_id(id)?;
        let len = window_secs.clamp(1, MAX_TTL_SECS);
        let window = now / len;
        let left = (window + 1) * len - now;
        let ttl_ms = (left + len + 1).saturating_mul(1000);
        let current = self.rate_key(id, window);
        // (Window 0 has no window before; any other key of the tag does.)
        let previous = self.rate_key(id, window.checked_sub(1).unwrap_or(u64::MAX));
        let (hits, before): (u64, u64) = self.run(|con| {
            self.hit_script
                .key(&current)
                .key(&previous)
                .arg(ttl_ms)
                .invoke(con)
        })?;
        Ok(RateCount::new(hits, before))
    }

    /// Records a use of `id` among `holder`'s ids (`prefix{h<kind>:<holder>}`
    /// and its `:uses` and `:mark` keys), in one script run, within the
    /// holder's fair share (see [`RedisStore::with_holder_share`]).
    fn record_held_use(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        let uses = self.held_step(kind, holder, id, expires_at, now, Step::Use)?;
        Ok(UseRecord::new(uses, max_uses))
    }

    /// [`advance`](ReplayStore::advance) among `holder`'s ids, in one
    /// script run, within the holder's fair share.
    fn advance_held(
        &self,
        kind: RecordKind,
        holder: &str,
        id: &str,
        from: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let moved = self.held_step(kind, holder, id, expires_at, now, Step::Advance(from))?;
        Ok(moved == 1)
    }

    /// Adds to the decaying counters in the hash `prefix{p:<id>}`, in one
    /// script run, so every node reads the same business volume and ticket
    /// rates.
    fn decay_add(
        &self,
        id: &str,
        amount: f64,
        half_lives_secs: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        self.decay(id, amount, half_lives_secs, now)
    }
}

impl RedisStore {
    /// Adds to the decaying counters `prefix{p:<id>}` (a hash), kept ten
    /// times the longest half-life after the last write (the values are
    /// then below a thousandth of what they were).
    fn decay(
        &self,
        id: &str,
        amount: f64,
        half_lives_secs: &[f64],
        now: u64,
    ) -> Result<Vec<f64>, StoreError> {
        check_id(id)?;
        let key = self.key(&format!("p:{id}"), "");
        let longest = half_lives_secs.iter().copied().fold(1.0, f64::max);
        let ttl_ms = (longest * 10_000.0).min(MAX_TTL_SECS as f64 * 1000.0) as u64;
        let values: Vec<String> = self.run(|con| {
            let mut call = self.decay_script.key(&key);
            call.arg(now).arg(amount).arg(ttl_ms);
            for h in half_lives_secs {
                call.arg(h.max(1.0));
            }
            call.invoke(con)
        })?;
        Ok(values.iter().map(|v| v.parse().unwrap_or(0.0)).collect())
    }
}

/// Milliseconds from `now` to `expires_at` (at least 1, at most about 34
/// years).
fn ttl_ms(expires_at: u64, now: u64) -> u64 {
    expires_at
        .saturating_sub(now)
        .min(MAX_TTL_SECS)
        .saturating_mul(1000)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hash_tagged_and_escaped() {
        let store = RedisStore::open("redis://127.0.0.1:1/").unwrap();
        assert_eq!(store.key("t:abc", ""), "qcaptcha:{t:abc}");
        assert_eq!(store.key("1.2.3.4", ":rate"), "qcaptcha:{1.2.3.4}:rate");
        assert_eq!(store.key("a}b{c%", "x"), "qcaptcha:{a%7Db%7Bc%25}x");
        let store = store.with_prefix("shop{1}%:");
        assert_eq!(store.prefix(), "shop%7B1%7D%25:");
        assert_eq!(store.key("t:x", ""), "shop%7B1%7D%25:{t:x}");
        assert_eq!(
            store.record_key(RecordKind::Session, "ab"),
            "shop%7B1%7D%25:{s:ab}"
        );
        assert_eq!(
            store.rate_key("w:a:1.2.3.4", 7),
            "shop%7B1%7D%25:{r:w:a:1.2.3.4}:7"
        );
    }
}
