//! Proof-of-work bound to a sealed challenge, after ALTCHA's PoW v2.
//!
//! A challenge sealed at a non-zero level carries a [`Puzzle`]: a number
//! of leading zero bits, a PBKDF2 iteration count and a random salt. The
//! client must find a 32-bit `counter` such that
//!
//! ```text
//! key = PBKDF2-HMAC-SHA-256(password = token || counter (4 bytes, big endian),
//!                           salt = puzzle.salt, iterations = puzzle.iterations,
//!                           length = 32 bytes)
//! ```
//!
//! starts with `puzzle.bits` zero bits, where `token` is the whole sealed
//! challenge token as sent (its ASCII bytes). So a proof is worth nothing
//! for any other challenge (the lesson of CVE-2025-68113, where proofs were
//! spliced onto other challenges): the password is the token itself, which
//! holds a fresh random nonce and id. The service reads the puzzle from
//! the sealed token, never from the client, and records the challenge's
//! one attempt before it checks the proof, so a wrong or missing proof
//! burns the challenge like a wrong answer.
//!
//! A browser derives with `crypto.subtle.deriveBits` (native code, off the
//! main thread); a bot with a native solver ([`solve`]) pays about as much
//! CPU per attempt, which is the point: the work is the same for both, and
//! a person pays it once while the bot pays it per ticket. The expected
//! work is `2^bits` derivations of `iterations` rounds; the server checks
//! one derivation ([`verify`]).
//!
//! [`PowPolicy`] chooses the level of each new challenge from the pressure
//! a [`PressureSource`] reports (by default a [`PressureTracker`] in
//! memory): 0 (no proof, no work) while calm, rising with the client's
//! failures and request rate and with the overall load.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use pbkdf2::pbkdf2_hmac;
use sha2::Sha256;

use crate::service::defence::baseline::Surge;
use crate::service::defence::prefix::Prefixes;
use crate::service::defence::price::{Floor, DEFAULT_TICKET_HALF_LIFE_SECS};

/// Bytes of a puzzle's salt.
pub const SALT_LEN: usize = 16;
/// The most leading zero bits a level may ask for (2^24 derivations
/// expected: beyond any sensible page).
pub const MAX_BITS: u8 = 24;
/// The most PBKDF2 iterations a level may ask for (the server derives
/// once per checked proof, so this bounds the cost of a check).
pub const MAX_ITERATIONS: u32 = 100_000;

/// One difficulty: leading zero bits and PBKDF2 iterations per attempt.
/// `bits == 0` means no proof at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PowLevel {
    /// Leading zero bits the derived key must have (0..=[`MAX_BITS`]);
    /// 2^bits attempts are expected.
    pub bits: u8,
    /// PBKDF2-HMAC-SHA-256 iterations per attempt (1..=[`MAX_ITERATIONS`]).
    pub iterations: u32,
}

impl PowLevel {
    /// No proof of work.
    pub const NONE: PowLevel = PowLevel {
        bits: 0,
        iterations: 1,
    };

    /// A level; checked by [`ServiceBuilder::build`](crate::ServiceBuilder::build)
    /// (or [`PowLevel::validate`]).
    pub const fn new(bits: u8, iterations: u32) -> PowLevel {
        PowLevel { bits, iterations }
    }

    /// Whether this level asks for no proof.
    pub fn is_none(&self) -> bool {
        self.bits == 0
    }

    /// Expected PBKDF2 iterations to solve: `2^bits * iterations`.
    pub fn expected_iterations(&self) -> f64 {
        if self.is_none() {
            0.0
        } else {
            f64::from(self.iterations) * 2f64.powi(i32::from(self.bits))
        }
    }

    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), PowError> {
        if self.bits > MAX_BITS || self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            Err(PowError::InvalidLevel {
                bits: self.bits,
                iterations: self.iterations,
            })
        } else {
            Ok(())
        }
    }
}

/// The puzzle of one challenge, sealed in its token: a level and a random
/// salt. The widget gets a copy to solve; the server trusts only the
/// sealed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Puzzle {
    /// Leading zero bits (0: no proof needed).
    pub bits: u8,
    /// PBKDF2 iterations per attempt.
    pub iterations: u32,
    /// Random salt from the OS CSPRNG.
    pub salt: [u8; SALT_LEN],
}

impl Puzzle {
    /// A puzzle (for example read back from the widget JSON by a client).
    pub const fn new(bits: u8, iterations: u32, salt: [u8; SALT_LEN]) -> Puzzle {
        Puzzle {
            bits,
            iterations,
            salt,
        }
    }

    /// The puzzle of level 0: nothing to solve.
    pub const NONE: Puzzle = Puzzle {
        bits: 0,
        iterations: 1,
        salt: [0; SALT_LEN],
    };

    /// Whether no proof is needed.
    pub fn is_none(&self) -> bool {
        self.bits == 0
    }

    /// Its level (without the salt).
    pub fn level(&self) -> PowLevel {
        PowLevel::new(self.bits, self.iterations)
    }
}

/// Why a puzzle could not be solved or a level is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PowError {
    /// Bits or iterations out of bounds.
    #[error("invalid proof-of-work level: {bits} bits, {iterations} iterations (need bits <= 24, 1 <= iterations <= 100000)")]
    InvalidLevel {
        /// The bits asked for.
        bits: u8,
        /// The iterations asked for.
        iterations: u32,
    },
    /// No counter in the whole 32-bit range works (for bits <= 24 this
    /// happens with probability below e^-256).
    #[error("no counter solves this puzzle")]
    Unsolvable,
    /// The policy is inconsistent (thresholds not increasing, or more
    /// thresholds than levels).
    #[error("invalid proof-of-work policy: {0}")]
    InvalidPolicy(&'static str),
}

/// The derived key for one attempt (what the browser's `deriveBits`
/// computes).
pub fn derive(token: &str, puzzle: &Puzzle, counter: u32) -> [u8; 32] {
    let mut password = Vec::with_capacity(token.len() + 4);
    password.extend_from_slice(token.as_bytes());
    password.extend_from_slice(&counter.to_be_bytes());
    let mut key = [0u8; 32];
    pbkdf2_hmac::<Sha256>(&password, &puzzle.salt, puzzle.iterations.max(1), &mut key);
    key
}

/// Whether `key` starts with `bits` zero bits. Not secret (the key is
/// public work), so no constant time is needed.
pub fn leading_zero_bits(key: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    if key.len() < full + usize::from(rest > 0) {
        return false;
    }
    key[..full].iter().all(|&b| b == 0) && (rest == 0 || key[full] >> (8 - rest) == 0)
}

/// The server's check: whether `counter` solves the puzzle of `token`.
/// One derivation; a level-0 puzzle accepts anything (no work is asked).
pub fn verify(token: &str, puzzle: &Puzzle, counter: u32) -> bool {
    puzzle.is_none() || leading_zero_bits(&derive(token, puzzle, counter), puzzle.bits)
}

/// The native solver: the first counter from 0 that solves the puzzle of
/// `token` (0 at once for level 0). What a bot without a browser runs;
/// used by the tests and the calibration.
pub fn solve(token: &str, puzzle: &Puzzle) -> Result<u32, PowError> {
    solve_from(token, puzzle, 0, 1).map(|(counter, _)| counter)
}

/// The native solver, counting: tries `start`, `start + step`, ... and
/// returns the solving counter and the number of derivations made. Run
/// `n` threads with `start = 0..n` and `step = n` to split the work.
pub fn solve_from(
    token: &str,
    puzzle: &Puzzle,
    start: u32,
    step: u32,
) -> Result<(u32, u64), PowError> {
    if puzzle.is_none() {
        return Ok((start, 0));
    }
    puzzle.level().validate()?;
    let step = u64::from(step.max(1));
    let mut password = Vec::with_capacity(token.len() + 4);
    password.extend_from_slice(token.as_bytes());
    let head = password.len();
    let mut key = [0u8; 32];
    let mut tries = 0u64;
    let mut counter = u64::from(start);
    while counter <= u64::from(u32::MAX) {
        password.truncate(head);
        password.extend_from_slice(&(counter as u32).to_be_bytes());
        pbkdf2_hmac::<Sha256>(&password, &puzzle.salt, puzzle.iterations, &mut key);
        tries += 1;
        if leading_zero_bits(&key, puzzle.bits) {
            return Ok((counter as u32, tries));
        }
        counter += step;
    }
    Err(PowError::Unsolvable)
}

// ---- pressure ----

/// Something that happened for a client, as the pressure tracker counts
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PressureEvent {
    /// A challenge was issued to the client (CaptchaQuery, refresh, or the
    /// next picture after an attempt).
    Challenge,
    /// A failed attempt: wrong answer, missing or wrong proof, a used
    /// challenge.
    Failure,
    /// A right answer (a ticket).
    Success,
}

/// The pressure a [`PressureSource`] reports for one client.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Pressure {
    /// Recent failed attempts of this client (decayed; a success halves
    /// it).
    pub client_failures: f64,
    /// This client's recent challenges per minute (decayed estimate).
    pub client_per_minute: f64,
    /// All clients' recent challenges per second (decayed estimate).
    pub overall_per_second: f64,
}

impl Pressure {
    /// A reading with these values (for outside [`PressureSource`]s).
    pub fn new(client_failures: f64, client_per_minute: f64, overall_per_second: f64) -> Pressure {
        Pressure {
            client_failures,
            client_per_minute,
            overall_per_second,
        }
    }
}

/// Where the policy learns the pressure: records events and reports
/// readings. [`PressureTracker`] keeps it in memory; a limiter that
/// already counts per client can implement this instead.
pub trait PressureSource: Send + Sync {
    /// Records `event` for `client` at `now` (Unix seconds).
    fn record(&self, client: IpAddr, event: PressureEvent, now: u64);
    /// The pressure for `client` at `now`.
    fn pressure(&self, client: IpAddr, now: u64) -> Pressure;
}

/// Default half-life of a client's failure count: 10 minutes.
pub const DEFAULT_FAILURE_HALF_LIFE_SECS: f64 = 600.0;
/// Default half-life of the request-rate estimates: 60 seconds.
pub const DEFAULT_RATE_HALF_LIFE_SECS: f64 = 60.0;
/// Default number of client addresses tracked at most.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

const SHARDS: usize = 16;

/// An exponentially decaying counter.
#[derive(Debug, Clone, Copy, Default)]
struct Decaying {
    value: f64,
    at: u64,
}

impl Decaying {
    fn at(&self, now: u64, half_life: f64) -> f64 {
        let dt = now.saturating_sub(self.at) as f64;
        self.value * (-dt / half_life).exp2()
    }
    fn add(&mut self, now: u64, half_life: f64, amount: f64) {
        self.value = self.at(now, half_life) + amount;
        self.at = self.at.max(now);
    }
    fn scale(&mut self, now: u64, half_life: f64, factor: f64) {
        self.value = self.at(now, half_life) * factor;
        self.at = self.at.max(now);
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct ClientEntry {
    failures: Decaying,
    rate: Decaying,
}

/// The default [`PressureSource`]: decaying counters per client address
/// (IPv6 grouped by /64, the block one subscriber usually gets) and
/// overall, in memory, thread-safe (sharded locks), with at most
/// `max_clients` addresses tracked: a full shard first drops its calmest
/// eighth, so memory stays bounded (about 100 bytes per tracked address)
/// and busy clients are the last forgotten.
#[derive(Debug)]
pub struct PressureTracker {
    shards: Vec<Mutex<HashMap<IpAddr, ClientEntry>>>,
    hasher: RandomState,
    overall: Mutex<Decaying>,
    shard_cap: usize,
    failure_half_life: f64,
    rate_half_life: f64,
}

impl Default for PressureTracker {
    fn default() -> Self {
        PressureTracker::new(DEFAULT_MAX_CLIENTS)
    }
}

impl PressureTracker {
    /// A tracker of at most `max_clients` addresses (at least 16), with
    /// the default half-lives.
    pub fn new(max_clients: usize) -> PressureTracker {
        PressureTracker::with_half_lives(
            max_clients,
            DEFAULT_FAILURE_HALF_LIFE_SECS,
            DEFAULT_RATE_HALF_LIFE_SECS,
        )
    }

    /// A tracker with its own half-lives (seconds, at least 1): how fast
    /// failures are forgotten, and the window of the rate estimates.
    pub fn with_half_lives(
        max_clients: usize,
        failure_half_life_secs: f64,
        rate_half_life_secs: f64,
    ) -> PressureTracker {
        let shard_cap = max_clients.div_ceil(SHARDS).max(1);
        PressureTracker {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_capacity(shard_cap.min(1024))))
                .collect(),
            hasher: RandomState::new(),
            overall: Mutex::new(Decaying::default()),
            shard_cap,
            failure_half_life: failure_half_life_secs.max(1.0),
            rate_half_life: rate_half_life_secs.max(1.0),
        }
    }

    /// The most addresses this tracker keeps.
    pub fn capacity(&self) -> usize {
        self.shard_cap * SHARDS
    }

    /// How many addresses it tracks now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether it tracks no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &IpAddr) -> &Mutex<HashMap<IpAddr, ClientEntry>> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Counts per second from a decayed count: the decayed sum of a steady
    /// rate r is r * half_life / ln 2.
    fn per_second(&self, value: f64) -> f64 {
        value * std::f64::consts::LN_2 / self.rate_half_life
    }

    fn weight(&self, e: &ClientEntry, now: u64) -> f64 {
        e.failures.at(now, self.failure_half_life) + e.rate.at(now, self.rate_half_life)
    }

    /// Frees room in a full shard: drops the calmest eighth (at least one).
    fn evict(&self, map: &mut HashMap<IpAddr, ClientEntry>, now: u64) {
        let mut weights: Vec<f64> = map.values().map(|e| self.weight(e, now)).collect();
        let n = (weights.len() / 8).max(1);
        let (_, cut, _) = weights.select_nth_unstable_by(n - 1, f64::total_cmp);
        let cut = *cut;
        let mut removed = 0;
        map.retain(|_, e| {
            if removed < n && self.weight(e, now) <= cut {
                removed += 1;
                false
            } else {
                true
            }
        });
    }
}

/// The address a client is counted under: IPv4 as is, IPv6 by its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::from(o)
        }
        v4 => v4,
    }
}

impl PressureSource for PressureTracker {
    fn record(&self, client: IpAddr, event: PressureEvent, now: u64) {
        let key = client_key(client);
        if event == PressureEvent::Challenge {
            self.overall
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(now, self.rate_half_life, 1.0);
        }
        let mut map = self
            .shard(&key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if event == PressureEvent::Success && !map.contains_key(&key) {
            return; // nothing to lower
        }
        if !map.contains_key(&key) && map.len() >= self.shard_cap {
            self.evict(&mut map, now);
        }
        let e = map.entry(key).or_default();
        match event {
            PressureEvent::Challenge => e.rate.add(now, self.rate_half_life, 1.0),
            PressureEvent::Failure => e.failures.add(now, self.failure_half_life, 1.0),
            PressureEvent::Success => e.failures.scale(now, self.failure_half_life, 0.5),
        }
    }

    fn pressure(&self, client: IpAddr, now: u64) -> Pressure {
        let key = client_key(client);
        let overall = self
            .overall
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .at(now, self.rate_half_life);
        let entry = self
            .shard(&key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .copied()
            .unwrap_or_default();
        Pressure {
            client_failures: entry.failures.at(now, self.failure_half_life),
            client_per_minute: self.per_second(entry.rate.at(now, self.rate_half_life)) * 60.0,
            overall_per_second: self.per_second(overall),
        }
    }
}

// ---- policy ----

/// Which level a new challenge gets: `levels[0]` while calm (normally
/// [`PowLevel::NONE`]), `levels[i]` once any of the pressures reaches its
/// `i`-th threshold (the highest such `i` of the three wins).
///
/// Defaults (see the README for the calibration behind them):
///
/// | level | bits | iterations | expected derivations | from client failures | or client challenges/min | or all challenges/s |
/// |---|---|---|---|---|---|---|
/// | 0 | 0 | - | 0 | below 3 | below 12 | below 50 |
/// | 1 | 8 | 1,500 | 256 | 3 | 12 | 50 |
/// | 2 | 11 | 1,500 | 2,048 | 6 | 30 | 200 |
/// | 3 | 13 | 1,500 | 8,192 | 12 | 60 | 1,000 |
///
/// One derivation of 1,500 iterations costs about 0.17 CPU-ms natively
/// (RustCrypto with SHA-NI) and a little more wall time in headless
/// Chromium, so level 3 costs a native solver about 1.4 CPU-seconds per
/// challenge on average while the widget's median solve stays under 3 s
/// (see the README's calibration table).
///
/// Failures decay with a 10-minute half-life and a right answer halves
/// them: a person who mistypes twice stays at 0, one who keeps failing
/// climbs, and comes back down by succeeding or waiting. The rates are
/// estimated over about a minute. Half-lives and the tracker's bound are
/// fields too ([`PowPolicy::half_lives`], [`PowPolicy::max_clients`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PowPolicy {
    /// The levels, calmest first (at least one).
    pub levels: Vec<PowLevel>,
    /// Failure counts at which levels 1, 2, ... start (increasing; may be
    /// shorter than `levels - 1`, then the last levels are never reached
    /// this way).
    pub failure_thresholds: Vec<f64>,
    /// A client's challenges per minute at which levels 1, 2, ... start.
    pub client_rate_thresholds: Vec<f64>,
    /// All clients' challenges per second at which levels 1, 2, ... start
    /// (a floor for everyone when the whole site is under load).
    pub overall_rate_thresholds: Vec<f64>,
    /// Half-life of a client's failure count, seconds (default 600): how
    /// fast a failing client comes back down by waiting. Used by the
    /// default [`PressureTracker`] the builder makes.
    pub failure_half_life_secs: f64,
    /// Half-life of the rate estimates, seconds (default 60): about the
    /// window over which challenges per minute and per second are counted.
    pub rate_half_life_secs: f64,
    /// Most client addresses the default tracker keeps (default
    /// 100,000, about 10 MB).
    pub max_clients: usize,
    /// How a business's volume against its normal raises the level
    /// (shared by every node through the store).
    pub surge: Surge,
    /// A client network's tickets a minute at which levels 1, 2, ...
    /// start (default 2, 4, 8; shared through the store).
    pub ticket_rate_thresholds: Vec<f64>,
    /// Half-life of the ticket-rate counters, seconds (default 120).
    pub ticket_half_life_secs: f64,
    /// Always-on least levels per business or scene (default none).
    pub floors: Vec<Floor>,
    /// The client network of fair shares, ticket rates and last-resort
    /// refusals (default /24 and /64).
    pub prefixes: Prefixes,
}

impl Default for PowPolicy {
    fn default() -> Self {
        PowPolicy {
            levels: vec![
                PowLevel::NONE,
                PowLevel::new(8, 1_500),
                PowLevel::new(11, 1_500),
                PowLevel::new(13, 1_500),
            ],
            failure_thresholds: vec![3.0, 6.0, 12.0],
            client_rate_thresholds: vec![12.0, 30.0, 60.0],
            overall_rate_thresholds: vec![50.0, 200.0, 1_000.0],
            failure_half_life_secs: DEFAULT_FAILURE_HALF_LIFE_SECS,
            rate_half_life_secs: DEFAULT_RATE_HALF_LIFE_SECS,
            max_clients: DEFAULT_MAX_CLIENTS,
            surge: Surge::default(),
            ticket_rate_thresholds: vec![2.0, 4.0, 8.0],
            ticket_half_life_secs: DEFAULT_TICKET_HALF_LIFE_SECS,
            floors: Vec::new(),
            prefixes: Prefixes::default(),
        }
    }
}

impl PowPolicy {
    /// No proof of work ever (one level, 0).
    pub fn off() -> PowPolicy {
        PowPolicy {
            levels: vec![PowLevel::NONE],
            failure_thresholds: Vec::new(),
            client_rate_thresholds: Vec::new(),
            overall_rate_thresholds: Vec::new(),
            surge: Surge::off(),
            ticket_rate_thresholds: Vec::new(),
            ..PowPolicy::default()
        }
    }

    /// Always this level (for tests and for sites that want a fixed cost).
    pub fn fixed(level: PowLevel) -> PowPolicy {
        PowPolicy {
            levels: vec![level],
            ..PowPolicy::off()
        }
    }

    /// Replaces the levels.
    pub fn levels(mut self, levels: Vec<PowLevel>) -> Self {
        self.levels = levels;
        self
    }

    /// Replaces the failure thresholds.
    pub fn failure_thresholds(mut self, t: Vec<f64>) -> Self {
        self.failure_thresholds = t;
        self
    }

    /// Replaces the per-client rate thresholds (challenges per minute).
    pub fn client_rate_thresholds(mut self, t: Vec<f64>) -> Self {
        self.client_rate_thresholds = t;
        self
    }

    /// Replaces the overall rate thresholds (challenges per second).
    pub fn overall_rate_thresholds(mut self, t: Vec<f64>) -> Self {
        self.overall_rate_thresholds = t;
        self
    }

    /// Replaces the half-lives (seconds) of the failure count and of the
    /// rate estimates.
    pub fn half_lives(mut self, failure_secs: f64, rate_secs: f64) -> Self {
        self.failure_half_life_secs = failure_secs;
        self.rate_half_life_secs = rate_secs;
        self
    }

    /// Replaces the most client addresses tracked.
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
        self
    }

    /// The default pressure tracker for this policy's half-lives and
    /// bound.
    pub fn tracker(&self) -> PressureTracker {
        PressureTracker::with_half_lives(
            self.max_clients,
            self.failure_half_life_secs,
            self.rate_half_life_secs,
        )
    }

    /// Checks the levels and thresholds.
    pub fn validate(&self) -> Result<(), PowError> {
        if self.levels.is_empty() {
            return Err(PowError::InvalidPolicy("no levels"));
        }
        if !(self.failure_half_life_secs.is_finite()
            && self.failure_half_life_secs >= 1.0
            && self.rate_half_life_secs.is_finite()
            && self.rate_half_life_secs >= 1.0)
        {
            return Err(PowError::InvalidPolicy("half-lives must be at least 1 s"));
        }
        if self.max_clients == 0 {
            return Err(PowError::InvalidPolicy("max_clients must be at least 1"));
        }
        for l in &self.levels {
            l.validate()?;
        }
        self.validate_pricing()?;
        for t in [
            &self.failure_thresholds,
            &self.client_rate_thresholds,
            &self.overall_rate_thresholds,
            &self.surge.thresholds,
            &self.ticket_rate_thresholds,
        ] {
            if t.len() >= self.levels.len() {
                return Err(PowError::InvalidPolicy("more thresholds than levels"));
            }
            if t.iter().any(|x| !x.is_finite() || *x <= 0.0) || t.windows(2).any(|w| w[0] >= w[1]) {
                return Err(PowError::InvalidPolicy(
                    "thresholds must be positive, finite and increasing",
                ));
            }
        }
        Ok(())
    }

    /// The index of the level for this pressure.
    pub fn level_index(&self, p: &Pressure) -> usize {
        let reached = |t: &[f64], v: f64| t.iter().take_while(|&&x| v >= x).count();
        reached(&self.failure_thresholds, p.client_failures)
            .max(reached(&self.client_rate_thresholds, p.client_per_minute))
            .max(reached(&self.overall_rate_thresholds, p.overall_per_second))
            .min(self.levels.len().saturating_sub(1))
    }

    /// The level for this pressure.
    pub fn level_for(&self, p: &Pressure) -> PowLevel {
        self.levels
            .get(self.level_index(p))
            .copied()
            .unwrap_or(PowLevel::NONE)
    }

    /// Whether every level is 0 (then nothing is tracked).
    pub fn is_off(&self) -> bool {
        self.levels.iter().all(PowLevel::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const TOKEN: &str = "AQEAAAAHsomeSealedChallengeToken_-";

    fn puzzle(bits: u8) -> Puzzle {
        Puzzle::new(bits, 10, [7; SALT_LEN])
    }

    #[test]
    fn zero_bits_checks() {
        assert!(leading_zero_bits(&[0x00, 0x0f], 12));
        assert!(!leading_zero_bits(&[0x00, 0x1f], 12));
        assert!(leading_zero_bits(&[0x7f], 1));
        assert!(!leading_zero_bits(&[0x80], 1));
        assert!(leading_zero_bits(&[0xff], 0));
        assert!(!leading_zero_bits(&[0x00], 9));
        assert!(leading_zero_bits(&[0, 0, 0], 24));
    }

    #[test]
    fn solved_counter_verifies_and_others_do_not() {
        let p = puzzle(8);
        let c = solve(TOKEN, &p).unwrap();
        assert!(verify(TOKEN, &p, c));
        // The first solution: every smaller counter fails.
        assert!((0..c).all(|x| !verify(TOKEN, &p, x)));
        // Bound to the token, the salt and the iterations.
        let other = format!("{TOKEN}A");
        let c2 = solve(&other, &p).unwrap();
        assert!(verify(&other, &p, c2));
        let both = [c, c2];
        let mismatched = both.iter().filter(|&&x| verify(&other, &p, x)).count()
            + both.iter().filter(|&&x| verify(TOKEN, &p, x)).count();
        assert!(mismatched < 4, "a counter solved both tokens twice");
        let salted = Puzzle::new(8, 10, [8; SALT_LEN]);
        let iters = Puzzle::new(8, 11, [7; SALT_LEN]);
        // A given counter rarely (1/256) solves another puzzle too; find one
        // counter that solves p but not the variants.
        let mut found = false;
        let mut start = 0;
        for _ in 0..8 {
            let (c, _) = solve_from(TOKEN, &p, start, 1).unwrap();
            if !verify(TOKEN, &salted, c) && !verify(TOKEN, &iters, c) {
                found = true;
                break;
            }
            start = c + 1;
        }
        assert!(found);
    }

    #[test]
    fn derive_matches_pbkdf2_reference() {
        // RFC 7914 section 11 test vector for PBKDF2-HMAC-SHA-256:
        // P="passwd", S="salt", c=1, dkLen=64; first 32 bytes.
        let mut key = [0u8; 32];
        pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut key);
        assert_eq!(key[..4], [0x55, 0xac, 0x04, 0x6e]);
        // And `derive` appends the counter big endian.
        let p = Puzzle::new(1, 3, *b"0123456789abcdef");
        let mut want = [0u8; 32];
        pbkdf2_hmac::<Sha256>(b"tok\x00\x00\x01\x02", b"0123456789abcdef", 3, &mut want);
        assert_eq!(derive("tok", &p, 0x0102), want);
    }

    #[test]
    fn level_zero_needs_nothing() {
        assert!(verify(TOKEN, &Puzzle::NONE, 0));
        assert!(verify(TOKEN, &Puzzle::NONE, u32::MAX));
        assert_eq!(solve(TOKEN, &Puzzle::NONE), Ok(0));
        assert_eq!(PowLevel::NONE.expected_iterations(), 0.0);
    }

    #[test]
    fn split_solving_finds_a_valid_counter() {
        let p = puzzle(6);
        let (c0, _) = solve_from(TOKEN, &p, 0, 2).unwrap();
        let (c1, _) = solve_from(TOKEN, &p, 1, 2).unwrap();
        assert_eq!(c0 % 2, 0);
        assert_eq!(c1 % 2, 1);
        assert!(verify(TOKEN, &p, c0) && verify(TOKEN, &p, c1));
        assert_eq!(solve(TOKEN, &p).unwrap(), c0.min(c1));
    }

    #[test]
    fn levels_and_policies_are_validated() {
        assert!(PowLevel::new(25, 1).validate().is_err());
        assert!(PowLevel::new(4, 0).validate().is_err());
        assert!(PowLevel::new(4, MAX_ITERATIONS + 1).validate().is_err());
        assert!(PowPolicy::default().validate().is_ok());
        assert!(PowPolicy::off().validate().is_ok());
        assert!(PowPolicy::default()
            .failure_thresholds(vec![3.0, 2.0])
            .validate()
            .is_err());
        assert!(PowPolicy::default()
            .client_rate_thresholds(vec![1.0, 2.0, 3.0, 4.0])
            .validate()
            .is_err());
        assert!(PowPolicy::default().levels(vec![]).validate().is_err());
        assert!(PowPolicy::default()
            .half_lives(0.5, 60.0)
            .validate()
            .is_err());
        assert!(PowPolicy::default()
            .half_lives(600.0, f64::INFINITY)
            .validate()
            .is_err());
        assert!(PowPolicy::default().max_clients(0).validate().is_err());
        assert_eq!(
            PowPolicy::default().max_clients(160).tracker().capacity(),
            160
        );
        assert!(PowPolicy::default()
            .overall_rate_thresholds(vec![f64::NAN])
            .validate()
            .is_err());
        assert!(solve_from(TOKEN, &Puzzle::new(30, 1, [0; 16]), 0, 1).is_err());
    }

    #[test]
    fn policy_maps_pressure_to_levels() {
        let p = PowPolicy::default();
        let calm = Pressure::default();
        assert_eq!(p.level_index(&calm), 0);
        assert_eq!(p.level_for(&calm), PowLevel::NONE);
        assert_eq!(p.level_index(&Pressure::new(3.0, 0.0, 0.0)), 1);
        assert_eq!(p.level_index(&Pressure::new(0.0, 31.0, 0.0)), 2);
        assert_eq!(p.level_index(&Pressure::new(0.0, 0.0, 5_000.0)), 3);
        assert_eq!(p.level_index(&Pressure::new(100.0, 100.0, 1e9)), 3);
        assert_eq!(p.level_index(&Pressure::new(2.9, 11.9, 49.0)), 0);
    }

    const IP: &str = "198.51.100.7";

    #[test]
    fn failures_climb_successes_and_time_bring_it_down() {
        let t = PressureTracker::new(1000);
        let policy = PowPolicy::default();
        let ip: IpAddr = IP.parse().unwrap();
        let mut now = 1_000_000;
        let level = |t: &PressureTracker, now| policy.level_index(&t.pressure(ip, now));
        assert_eq!(level(&t, now), 0);
        let mut seen = vec![];
        for _ in 0..20 {
            // One wrong answer every 20 s (a slow, failing bot).
            t.record(ip, PressureEvent::Challenge, now);
            t.record(ip, PressureEvent::Failure, now);
            now += 20;
            seen.push(level(&t, now));
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen[0], 0);
        assert_eq!(*seen.last().unwrap(), 3, "{seen:?}");
        // Successes halve the failures: two bring it down a level or more.
        t.record(ip, PressureEvent::Success, now);
        t.record(ip, PressureEvent::Success, now);
        assert!(level(&t, now) <= 2);
        // And time alone: an hour later it is calm.
        assert_eq!(level(&t, now + 3600), 0);
        // Another client is unaffected.
        let other: IpAddr = "198.51.100.8".parse().unwrap();
        assert_eq!(policy.level_index(&t.pressure(other, now)), 0);
    }

    #[test]
    fn request_rate_climbs_and_decays() {
        let t = PressureTracker::new(1000);
        let policy = PowPolicy::default();
        let ip: IpAddr = IP.parse().unwrap();
        let now = 5_000;
        // A person: a few challenges a minute stays at 0.
        for i in 0..5 {
            t.record(ip, PressureEvent::Challenge, now + i * 12);
        }
        assert_eq!(policy.level_index(&t.pressure(ip, now + 60)), 0);
        // A bot: 2 a second for a minute from one address.
        for i in 0..120 {
            t.record(ip, PressureEvent::Challenge, now + 60 + i / 2);
        }
        let p = t.pressure(ip, now + 120);
        assert!(p.client_per_minute > 60.0, "{p:?}");
        assert_eq!(policy.level_index(&p), 3);
        // Successes do not erase a rate.
        t.record(ip, PressureEvent::Success, now + 120);
        assert_eq!(policy.level_index(&t.pressure(ip, now + 120)), 3);
        // Ten minutes of quiet and it is calm again.
        assert_eq!(policy.level_index(&t.pressure(ip, now + 720)), 0);
    }

    #[test]
    fn overall_load_raises_everyone() {
        let t = PressureTracker::new(100_000);
        let policy = PowPolicy::default();
        let now = 10_000;
        // 3 minutes at 300 challenges a second from 54,000 addresses.
        for s in 0..180u64 {
            for i in 0..300u32 {
                let ip = IpAddr::from((s as u32 * 300 + i).to_be_bytes());
                t.record(ip, PressureEvent::Challenge, now + s);
            }
        }
        let newcomer: IpAddr = "203.0.113.1".parse().unwrap();
        let p = t.pressure(newcomer, now + 180);
        assert!(p.overall_per_second > 200.0, "{p:?}");
        assert_eq!(p.client_per_minute, 0.0);
        assert_eq!(policy.level_index(&p), 2);
    }

    #[test]
    fn ipv6_counts_by_slash_64() {
        let t = PressureTracker::new(1000);
        for i in 0..5u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            t.record(ip, PressureEvent::Failure, 100);
        }
        let p = t.pressure("2001:db8:1:2:ffff::1".parse().unwrap(), 100);
        assert!((p.client_failures - 5.0).abs() < 1e-9);
        assert_eq!(t.len(), 1);
        // IPv4-mapped IPv6 is the IPv4 address.
        t.record(
            "::ffff:1.2.3.4".parse().unwrap(),
            PressureEvent::Failure,
            100,
        );
        let p = t.pressure("1.2.3.4".parse().unwrap(), 100);
        assert!((p.client_failures - 1.0).abs() < 1e-9);
    }

    #[test]
    fn memory_is_bounded_and_the_busiest_stay() {
        let t = PressureTracker::new(1_600);
        let bad: IpAddr = "192.0.2.66".parse().unwrap();
        for _ in 0..20 {
            t.record(bad, PressureEvent::Failure, 50);
        }
        for i in 0..50_000u32 {
            let ip = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            t.record(ip, PressureEvent::Challenge, 50 + u64::from(i / 1000));
            assert!(t.len() <= t.capacity());
        }
        assert!(t.len() > t.capacity() / 2);
        assert!(t.pressure(bad, 100).client_failures > 10.0);
        // A success for an unknown client stores nothing.
        let before = t.len();
        t.record("192.0.2.200".parse().unwrap(), PressureEvent::Success, 100);
        assert_eq!(t.len(), before);
    }

    #[test]
    fn racing_threads_count_every_event_and_stay_bounded() {
        let t = Arc::new(PressureTracker::new(2_000));
        let shared: IpAddr = "192.0.2.1".parse().unwrap();
        let handles: Vec<_> = (0..8u32)
            .map(|n| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for i in 0..2_000u32 {
                        t.record(shared, PressureEvent::Failure, 10);
                        let ip = IpAddr::from((n << 24 | i).to_be_bytes());
                        t.record(ip, PressureEvent::Challenge, 10);
                        let _ = t.pressure(ip, 10);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let p = t.pressure(shared, 10);
        assert!((p.client_failures - 16_000.0).abs() < 1e-6, "{p:?}");
        assert!(t.len() <= t.capacity());
        // Overall: 16,000 challenges at one instant.
        let want = 16_000.0 * std::f64::consts::LN_2 / DEFAULT_RATE_HALF_LIFE_SECS;
        assert!((p.overall_per_second - want).abs() < 1e-6);
    }
}
