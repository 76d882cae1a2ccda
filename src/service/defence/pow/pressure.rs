//! The pressure on the service: events per client, decayed counts and
//! rates, kept in bounded memory by [`PressureTracker`].

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use crate::service::keyed_hash::{keyed_map, KeyedMap, KeyedState};

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
    shards: Vec<Mutex<KeyedMap<IpAddr, ClientEntry>>>,
    hasher: KeyedState,
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
                .map(|_| Mutex::new(keyed_map(shard_cap.min(1024))))
                .collect(),
            hasher: KeyedState::default(),
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

    fn shard(&self, key: &IpAddr) -> &Mutex<KeyedMap<IpAddr, ClientEntry>> {
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
    fn evict(&self, map: &mut KeyedMap<IpAddr, ClientEntry>, now: u64) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::defence::pow::PowPolicy;
    use std::sync::Arc;

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
