//! [`Surge`]: a business's volume against its learned normal.
//!
//! Every CaptchaQuery adds one to two decaying counters of its business
//! in the replay store (so every node of a cluster sees the same): a
//! short one (half-life a minute: the volume now) and a long one
//! (half-life hours: the learned normal, an exponentially weighted
//! average). The ratio of the two, the normal held between a configured
//! floor and ceiling, is the business's surge; like mCaptcha's site-wide
//! levels, the level of new sessions rises at each threshold the ratio
//! reaches, for every visitor of that business, and falls back as the
//! short counter decays once the surge is over.
//!
//! The top level, once reached, **holds** until the volume falls well
//! below its threshold (to [`Surge::hold_ratio`]): a bot whose one core
//! affords about the top threshold's volume at the top level would
//! otherwise settle on the threshold, meet the level below half of the
//! time and pay a quarter of the price there (issue 21). With the hold,
//! paying less means keeping the whole business's volume under the hold
//! ratio, not just under the top threshold. Where the hold is kept:
//! [`hold`](crate::service::defence::hold).

use crate::service::defence::decaying::per_minute;

/// How a business's volume raises the level of its new sessions.
///
/// | knob | default | meaning |
/// |---|---|---|
/// | [`thresholds`](Surge::thresholds) | 1.5, 2, 3 | volume / normal at which levels 1, 2, 3 start |
/// | [`short_half_life_secs`](Surge::short_half_life_secs) | 60 | the "now" of the volume |
/// | [`normal_half_life_secs`](Surge::normal_half_life_secs) | 21,600 (6 h) | how fast the normal is learnt |
/// | [`normal_floor_per_minute`](Surge::normal_floor_per_minute) | 6 | the least normal assumed (a quiet business, or one just started) |
/// | [`normal_ceiling_per_minute`](Surge::normal_ceiling_per_minute) | 3,000 | the most normal learnt (so a long flood is not learnt as normal) |
/// | [`hold_ratio`](Surge::hold_ratio) | 1.5 | once the top level is reached, it holds while volume / normal stays at or above this |
///
/// So a business that normally serves 100 sessions a minute starts asking
/// for level 1 at 150 a minute, level 2 at 200 and level 3 at 300; one
/// with no history yet at 9, 12 and 18 a minute. The top level starts low
/// on purpose: a bot that stays just under a threshold pays the level
/// below it, so the top must start where a bot's tickets are still few
/// (three times the normal), and a genuine surge pays it for a median of
/// about 2 s in Chromium, mostly while the person reads the picture. Once reached, the
/// top level holds until the volume is back under 1.5 times the normal.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Surge {
    /// Volume-to-normal ratios at which levels 1, 2, ... start
    /// (increasing; empty: the volume never raises the level).
    pub thresholds: Vec<f64>,
    /// Half-life of the volume counter, seconds (at least 1).
    pub short_half_life_secs: f64,
    /// Half-life of the normal, seconds (at least the short one).
    pub normal_half_life_secs: f64,
    /// The normal is at least this many sessions a minute (above 0).
    pub normal_floor_per_minute: f64,
    /// The normal is at most this many sessions a minute (at least the
    /// floor).
    pub normal_ceiling_per_minute: f64,
    /// Once the top level is reached, it holds while the volume-to-normal
    /// ratio stays at or above this (above 0; at the top threshold or
    /// above: no hold). The hold is shared by every node through the
    /// store and lapses about a short half-life after the ratio falls
    /// under it.
    pub hold_ratio: f64,
}

impl Default for Surge {
    fn default() -> Self {
        Surge {
            thresholds: vec![1.5, 2.0, 3.0],
            short_half_life_secs: 60.0,
            normal_half_life_secs: 6.0 * 3600.0,
            normal_floor_per_minute: 6.0,
            normal_ceiling_per_minute: 3_000.0,
            hold_ratio: 1.5,
        }
    }
}

impl Surge {
    /// Never raises the level.
    pub fn off() -> Surge {
        Surge {
            thresholds: Vec::new(),
            ..Surge::default()
        }
    }

    /// Replaces the thresholds.
    pub fn thresholds(mut self, t: Vec<f64>) -> Self {
        self.thresholds = t;
        self
    }

    /// Replaces the floor and ceiling of the normal (sessions a minute).
    pub fn normal_bounds(mut self, floor_per_minute: f64, ceiling_per_minute: f64) -> Self {
        self.normal_floor_per_minute = floor_per_minute;
        self.normal_ceiling_per_minute = ceiling_per_minute;
        self
    }

    /// Replaces the half-lives (seconds) of the volume and of the normal.
    pub fn half_lives(mut self, short_secs: f64, normal_secs: f64) -> Self {
        self.short_half_life_secs = short_secs;
        self.normal_half_life_secs = normal_secs;
        self
    }

    /// Replaces the ratio down to which the top level, once reached,
    /// holds (the top threshold or more: no hold).
    pub fn hold(mut self, ratio: f64) -> Self {
        self.hold_ratio = ratio;
        self
    }

    /// The level index the surge alone asks for: the thresholds `reading`
    /// reaches, or the top one while `held`.
    pub(crate) fn level(&self, reading: &SurgeReading, held: bool) -> usize {
        if held {
            return self.thresholds.len();
        }
        self.thresholds
            .iter()
            .take_while(|&&x| reading.ratio() >= x)
            .count()
    }

    /// Whether the top level holds at all: a hold ratio under the top
    /// threshold.
    pub(crate) fn holds(&self) -> bool {
        self.thresholds.last().is_some_and(|t| self.hold_ratio < *t)
    }

    /// Whether `reading` is where the top level may hold (at or above the
    /// hold ratio, or the top threshold): only then is the hold looked up.
    pub(crate) fn may_hold(&self, reading: &SurgeReading) -> bool {
        self.thresholds
            .last()
            .is_some_and(|top| reading.ratio() >= self.hold_ratio.min(*top))
    }

    /// The half-lives of the two counters, as the store keeps them.
    pub(crate) fn half_lives_secs(&self) -> [f64; 2] {
        [self.short_half_life_secs, self.normal_half_life_secs]
    }

    /// Whether the bounds and half-lives make sense.
    pub(crate) fn is_valid(&self) -> bool {
        let ok = |x: f64| x.is_finite() && x > 0.0;
        ok(self.short_half_life_secs)
            && self.short_half_life_secs >= 1.0
            && ok(self.normal_half_life_secs)
            && self.normal_half_life_secs >= self.short_half_life_secs
            && ok(self.normal_floor_per_minute)
            && ok(self.normal_ceiling_per_minute)
            && self.normal_ceiling_per_minute >= self.normal_floor_per_minute
            && ok(self.hold_ratio)
    }

    /// The reading of a business from its two counters (`[short, long]`
    /// as the store returns them).
    pub fn reading(&self, counters: &[f64]) -> SurgeReading {
        let short = counters.first().copied().unwrap_or(0.0);
        let long = counters.get(1).copied().unwrap_or(0.0);
        let volume = per_minute(short, self.short_half_life_secs);
        let learnt = per_minute(long, self.normal_half_life_secs);
        let normal = learnt.clamp(self.normal_floor_per_minute, self.normal_ceiling_per_minute);
        SurgeReading {
            volume_per_minute: volume,
            normal_per_minute: normal,
        }
    }
}

/// A business's volume and normal, sessions a minute.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct SurgeReading {
    /// Sessions a minute now (decayed estimate over about a minute).
    pub volume_per_minute: f64,
    /// The learnt normal, between the floor and the ceiling.
    pub normal_per_minute: f64,
}

impl SurgeReading {
    /// Volume over normal.
    pub fn ratio(&self) -> f64 {
        if self.normal_per_minute > 0.0 {
            self.volume_per_minute / self.normal_per_minute
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::defence::decaying::DecayTable;

    /// Runs `per_minute` sessions a minute for `minutes` from `start`
    /// through a table, and returns the reading at the end.
    fn run(
        t: &mut DecayTable,
        s: &Surge,
        per_minute: u64,
        minutes: u64,
        start: u64,
    ) -> SurgeReading {
        let mut last = vec![0.0, 0.0];
        for m in 0..minutes {
            for i in 0..per_minute {
                let now = start + m * 60 + i * 60 / per_minute.max(1);
                last = t.add("b", 1.0, &s.half_lives_secs(), now);
            }
        }
        s.reading(&last)
    }

    #[test]
    fn a_surge_reads_high_and_the_normal_is_learnt_slowly() {
        let s = Surge::default();
        let mut t = DecayTable::new(8);
        // A day at 100 a minute: the normal is learnt.
        let calm = run(&mut t, &s, 100, 24 * 60, 0);
        assert!((calm.normal_per_minute - 100.0).abs() < 10.0, "{calm:?}");
        assert!(calm.ratio() < s.thresholds[0], "{calm:?}");
        // Five minutes at 1,000 a minute: a surge of about 10, the normal
        // barely moved.
        let surge = run(&mut t, &s, 1_000, 5, 24 * 3600);
        assert!(surge.ratio() > 5.0, "{surge:?}");
        assert!(surge.normal_per_minute < 130.0, "{surge:?}");
    }

    #[test]
    fn the_normal_stays_between_floor_and_ceiling() {
        let s = Surge::default().normal_bounds(10.0, 50.0);
        assert_eq!(s.reading(&[0.0, 0.0]).normal_per_minute, 10.0);
        assert_eq!(s.reading(&[0.0, 1e9]).normal_per_minute, 50.0);
        assert!(s.is_valid());
        assert!(!Surge::default().normal_bounds(10.0, 5.0).is_valid());
        assert!(!Surge::default().half_lives(60.0, 30.0).is_valid());
        assert!(!Surge::default().normal_bounds(0.0, 5.0).is_valid());
        assert!(!Surge::default().hold(0.0).is_valid());
        assert!(!Surge::default().hold(f64::NAN).is_valid());
    }

    #[test]
    fn the_top_level_holds_down_to_the_hold_ratio_only() {
        let s = Surge::default();
        let at = |ratio: f64| SurgeReading {
            volume_per_minute: ratio * 10.0,
            normal_per_minute: 10.0,
        };
        // Not held: the thresholds alone.
        assert_eq!(s.level(&at(1.4), false), 0);
        assert_eq!(s.level(&at(2.5), false), 2);
        assert_eq!(s.level(&at(3.0), false), 3);
        // Held: the top.
        assert_eq!(s.level(&at(2.5), true), 3);
        // The hold is looked up from the hold ratio up, never below it.
        assert!(!s.may_hold(&at(1.4)));
        assert!(s.may_hold(&at(1.5)));
        assert!(s.may_hold(&at(5.0)));
        // A hold ratio above the top threshold: only at the top.
        let no_hold = Surge::default().hold(10.0);
        assert!(s.holds() && !no_hold.holds() && !Surge::off().holds());
        assert!(!no_hold.may_hold(&at(2.9)));
        assert!(!Surge::off().may_hold(&at(100.0)));
    }
}
