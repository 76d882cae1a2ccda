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
//!   closed (wire code 6000) until it is back.
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

use redis::{Client, Connection, RedisError, RedisResult, Script};

use super::{check_id, ReplayStore, StoreError, UseRecord};

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

/// One use of `KEYS[1]`, atomically: count it, make sure the key lives at
/// least `ARGV[1]` more milliseconds (a new key gets exactly that; a known
/// key keeps the later of its expiry and this one; a key without expiry,
/// which this script never creates, gets one), and return the count.
const RECORD_USE_LUA: &str = r"
local uses = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return uses
";

/// A [`ReplayStore`] in Redis, for services that run on several nodes
/// (cargo feature `redis`).
///
/// Each [`record_use`](ReplayStore::record_use) is one Lua script run
/// (`EVALSHA`, one round trip; the script is loaded again by itself after
/// a Redis restart) that `INCR`s the key `prefix + id`, gives it a
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
/// **Failures fail closed.** When Redis cannot be reached, does not answer
/// within the [timeout](RedisStore::with_timeout) (500 ms by default) or
/// answers with an error, `record_use` returns
/// [`StoreError::Unavailable`] and the service refuses the request with
/// code 6000 (HTTP 500 on the widget routes); it never treats an unchecked
/// id as unused. Nothing needs restarting afterwards: a connection that
/// failed is dropped and the next call connects anew. A use whose answer
/// timed out may still have been counted by Redis, so retrying it can be
/// refused as a reuse (again failing closed).
///
/// **Durability.** A Redis that loses its data (a restart without
/// persistence, a failover to a replica that lagged) forgets the uses it
/// held, so tokens still live then (at most the ticket or challenge
/// lifetime, 5 to 30 minutes) could be used once more. Enable AOF
/// (`appendonly yes`) where that matters.
///
/// **Connections.** `RedisStore` is `Send + Sync`; share one per process
/// (the service holds it in an `Arc`). It keeps up to 16 idle connections
/// for reuse and opens another when all are busy, so threads never wait
/// for each other. [`open`](RedisStore::open) only parses the URL: it does
/// not connect, so a node can start while Redis is down (use
/// [`ping`](RedisStore::ping) to check at start-up or for health checks).
/// Plain TCP (`redis://`) and Unix sockets (`redis+unix://`) are
/// supported; TLS (`rediss://`) and Redis Cluster are not.
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
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisStore {
    client: Client,
    prefix: String,
    timeout: Duration,
    script: Script,
    /// Connections not in use. A connection is taken out for one call and
    /// put back only if the call succeeded.
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: the connection info holds the password.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &format_args!("{}", info.addr))
            .field("db", &info.redis.db)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store using the Redis at `url`, such as `redis://127.0.0.1:6379/0`
    /// or `redis://:password@host:6379/2` (see the [`redis` crate's URL
    /// format](https://docs.rs/redis/latest/redis/#connection-parameters)),
    /// with key prefix `qcaptcha:` and a 500 ms timeout.
    ///
    /// It does not connect: Redis need not be up yet. Connections are made
    /// when the store is first used (and again after any failure). An URL
    /// that does not parse, or needs a feature this build lacks (such as
    /// `rediss://`), is a [`StoreError::Config`].
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let client =
            Client::open(url).map_err(|e| StoreError::Config(format!("invalid Redis URL: {e}")))?;
        Ok(RedisStore {
            client,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            script: Script::new(RECORD_USE_LUA),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sets the prefix of every key (default `qcaptcha:`); a key is the
    /// prefix followed by the id (`qcaptcha:t:<ticket id>`,
    /// `qcaptcha:c:<challenge id>`, `qcaptcha:n:<SecretId>:<Nonce>`). Nodes
    /// that must see each other's uses need the same prefix and database;
    /// separate services sharing one Redis need different prefixes.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the timeout for connecting, and for sending a command and
    /// reading its answer (default 500 ms; at least 1 ms). Past it the call
    /// fails with [`StoreError::Unavailable`]. Keep it short: a request
    /// waits this long before being refused while Redis hangs.
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

    /// Checks that Redis answers (`PING`), for start-up and health checks.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.run(|con| redis::cmd("PING").query::<String>(con).map(drop))
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let con = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| self.unavailable(&e))?;
        con.set_read_timeout(Some(self.timeout))
            .and_then(|()| con.set_write_timeout(Some(self.timeout)))
            .map_err(|e| self.unavailable(&e))?;
        Ok(con)
    }

    fn unavailable(&self, e: &RedisError) -> StoreError {
        let addr = &self.client.get_connection_info().addr;
        StoreError::Unavailable(format!("redis at {addr}: {e}"))
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Only push, pop and clear run under the lock, so a poisoned list
        // is still a list of good connections.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put_back(&self, con: Connection) {
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(con);
        }
    }

    /// Runs `call` on an idle connection or a new one. After any error the
    /// connection is dropped (its state is unknown: an answer may still be
    /// on its way). If a reused connection turns out to be closed (Redis
    /// restarted, or closed it as idle), the other idle ones are dropped
    /// too and the call is tried once more on a new connection; the
    /// command then never reached a live server, so nothing is counted
    /// twice (and if it were, the second count would only refuse).
    fn run<T>(&self, call: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, StoreError> {
        let reused = self.idle().pop();
        let was_reused = reused.is_some();
        let mut con = match reused {
            Some(con) => con,
            None => self.connect()?,
        };
        match call(&mut con) {
            Ok(value) => {
                self.put_back(con);
                Ok(value)
            }
            Err(e) if was_reused && e.is_connection_dropped() => {
                drop(con);
                self.idle().clear();
                let mut con = self.connect()?;
                let value = call(&mut con).map_err(|e| self.unavailable(&e))?;
                self.put_back(con);
                Ok(value)
            }
            Err(e) => Err(self.unavailable(&e)),
        }
    }
}

impl ReplayStore for RedisStore {
    /// Records one use of `prefix + id` in Redis, kept for `expires_at -
    /// now` seconds (at least 1 ms, so an already expired id is counted
    /// against any live entry and then forgotten at once). `now` is the
    /// caller's clock; the Redis server's clock is not used.
    fn record_use(
        &self,
        id: &str,
        expires_at: u64,
        max_uses: u64,
        now: u64,
    ) -> Result<UseRecord, StoreError> {
        check_id(id)?;
        let ttl_ms = expires_at
            .saturating_sub(now)
            .min(MAX_TTL_SECS)
            .saturating_mul(1000)
            .max(1);
        let key = format!("{}{}", self.prefix, id);
        let uses: u64 = self.run(|con| self.script.key(&key).arg(ttl_ms).invoke(con))?;
        Ok(UseRecord {
            uses,
            allowed: uses <= max_uses,
        })
    }
}
