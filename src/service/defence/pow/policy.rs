//! The policy that picks a new challenge's proof-of-work level from the
//! pressure.

use super::pressure::{
    Pressure, PressureTracker, DEFAULT_FAILURE_HALF_LIFE_SECS, DEFAULT_MAX_CLIENTS,
    DEFAULT_RATE_HALF_LIFE_SECS,
};
use super::puzzle::{PowError, PowLevel};
use crate::service::defence::baseline::Surge;
use crate::service::defence::prefix::Prefixes;

/// Default half-life of a client network's ticket-rate counter: 2 minutes.
pub const DEFAULT_TICKET_HALF_LIFE_SECS: f64 = 120.0;

/// An always-on least level for a business, or for one scene of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Floor {
    /// The `businessId`.
    pub business_id: u64,
    /// The `sceneId`, or `None` for every scene of the business.
    pub scene_id: Option<u64>,
    /// The index of the least level (into [`PowPolicy::levels`]).
    pub level: usize,
}

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
/// | 3 | 13 | 2,000 | 8,192 | 12 | 60 | 1,000 |
///
/// One derivation of 1,500 iterations costs about 0.17 CPU-ms natively
/// (RustCrypto with SHA-NI) and a little more wall time in headless
/// Chromium, so level 3 (2,000 iterations) costs a native solver about
/// 1.9 CPU-seconds per challenge on average while the widget's median
/// solve stays at about 2 s, under 3 s (see docs/security.md's
/// calibration table). The top level is where a bot is held
/// ([`Surge::hold_ratio`]), so it carries the price of a ticket; the
/// levels below are what a person meets in a milder surge.
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
    /// Surge settings of single businesses, in place of `surge` for them
    /// (default none).
    pub business_surges: Vec<(u64, Surge)>,
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
                PowLevel::new(13, 2_000),
            ],
            failure_thresholds: vec![3.0, 6.0, 12.0],
            client_rate_thresholds: vec![12.0, 30.0, 60.0],
            overall_rate_thresholds: vec![50.0, 200.0, 1_000.0],
            failure_half_life_secs: DEFAULT_FAILURE_HALF_LIFE_SECS,
            rate_half_life_secs: DEFAULT_RATE_HALF_LIFE_SECS,
            max_clients: DEFAULT_MAX_CLIENTS,
            surge: Surge::default(),
            business_surges: Vec::new(),
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
            business_surges: Vec::new(),
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
        let surges = std::iter::once(&self.surge).chain(self.business_surges.iter().map(|b| &b.1));
        for t in [
            &self.failure_thresholds,
            &self.client_rate_thresholds,
            &self.overall_rate_thresholds,
            &self.ticket_rate_thresholds,
        ]
        .into_iter()
        .chain(surges.map(|s| &s.thresholds))
        {
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
    use crate::service::defence::pow::puzzle::MAX_ITERATIONS;
    use crate::service::defence::pow::{solve_from, Puzzle};

    const TOKEN: &str = "AQEAAAAHsomeSealedChallengeToken_-";

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
}
