//! The price of a new session: which proof-of-work level it asks for,
//! from every signal the service has.
//!
//! The highest of these wins (each capped at the top level):
//!
//! 1. the client's own pressure on this node (failures, challenges a
//!    minute) and the node's overall load: [`PowPolicy::level_index`];
//! 2. the business's surge, its volume against its learnt normal, shared
//!    by every node through the store ([`Surge`](crate::pow::Surge)),
//!    held at the top once there until the volume falls under
//!    [`Surge::hold_ratio`](crate::pow::Surge::hold_ratio); per business
//!    with [`PowPolicy::surge_for`];
//! 3. the client network's tickets a minute, shared through the store: an
//!    accurate bot fails nothing, so its many right answers are what give
//!    it away ([`PowPolicy::ticket_rate_thresholds`]);
//! 4. the business over its budget
//!    ([`Limits::business_sessions_per_minute`](crate::Limits::business_sessions_per_minute)):
//!    the top level, instead of refusing;
//! 5. an always-on floor set for the business, or one of its scenes
//!    ([`PowPolicy::floor`]).

use crate::service::defence::baseline::{Surge, SurgeReading};
use crate::service::defence::pow::policy::Floor;
use crate::service::defence::pow::{PowError, PowLevel, PowPolicy};
use crate::service::defence::prefix::Prefixes;

impl PowPolicy {
    /// Replaces how a business's volume raises the level.
    pub fn surge(mut self, surge: Surge) -> Self {
        self.surge = surge;
        self
    }

    /// Sets how `business_id`'s volume raises the level, in place of
    /// [`surge`](PowPolicy::surge) for it: a business that expects a
    /// surge (a sale, a launch) can raise its normal's floor or its
    /// thresholds, or switch its surge off ([`Surge::off`]), without
    /// changing the others'. The last setting for a business wins.
    pub fn surge_for(mut self, business_id: u64, surge: Surge) -> Self {
        self.business_surges.retain(|(b, _)| *b != business_id);
        self.business_surges.push((business_id, surge));
        self
    }

    /// The surge settings of `business_id`.
    pub(crate) fn surge_of(&self, business_id: u64) -> &Surge {
        self.business_surges
            .iter()
            .find(|(b, _)| *b == business_id)
            .map_or(&self.surge, |(_, s)| s)
    }

    /// Replaces the ticket-rate thresholds (a client network's tickets a
    /// minute at which levels 1, 2, ... start).
    pub fn ticket_rate_thresholds(mut self, t: Vec<f64>) -> Self {
        self.ticket_rate_thresholds = t;
        self
    }

    /// Adds an always-on least level (an index into the levels) for
    /// `business_id`, or only for its scene `scene_id`: for high-value
    /// actions (a payment, a password reset) that should cost every
    /// visitor a little, calm or not.
    pub fn floor(mut self, business_id: u64, scene_id: Option<u64>, level: usize) -> Self {
        self.floors.push(Floor {
            business_id,
            scene_id,
            level,
        });
        self
    }

    /// Replaces the client network's prefix lengths.
    pub fn prefixes(mut self, prefixes: Prefixes) -> Self {
        self.prefixes = prefixes;
        self
    }

    /// The index of `level` among the levels (0 if it is none of them):
    /// the next picture of a session keeps the session's price.
    pub(crate) fn index_of(&self, level: PowLevel) -> usize {
        self.levels.iter().position(|l| *l == level).unwrap_or(0)
    }

    /// Checks the pricing knobs (the thresholds are checked with the
    /// others).
    pub(crate) fn validate_pricing(&self) -> Result<(), PowError> {
        if !self.surge.is_valid() || self.business_surges.iter().any(|(_, s)| !s.is_valid()) {
            return Err(PowError::InvalidPolicy(
                "surge: half-lives at least 1 s (the normal's at least the volume's), floor above 0, ceiling at least the floor, hold ratio above 0",
            ));
        }
        if !(self.ticket_half_life_secs.is_finite() && self.ticket_half_life_secs >= 1.0) {
            return Err(PowError::InvalidPolicy(
                "ticket half-life must be at least 1 s",
            ));
        }
        if self.floors.iter().any(|f| f.level >= self.levels.len()) {
            return Err(PowError::InvalidPolicy(
                "a floor names a level the policy does not have",
            ));
        }
        Ok(())
    }
}

/// Everything the price of a new session is read from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct PriceInputs {
    /// The level index from the client's and the node's own pressure.
    pub local: usize,
    /// The business's volume and normal.
    pub surge: SurgeReading,
    /// Whether the business is held at the surge's top level
    /// ([`Surge::hold_ratio`](crate::pow::Surge::hold_ratio)).
    pub surge_held: bool,
    /// The client network's tickets a minute.
    pub tickets_per_minute: f64,
    /// Whether the business is over its sessions budget.
    pub over_budget: bool,
}

/// How many of `thresholds` `value` reaches.
pub(crate) fn reached(thresholds: &[f64], value: f64) -> usize {
    thresholds.iter().take_while(|&&x| value >= x).count()
}

/// The floor for `business_id` and `scene_id`: the highest that applies.
pub(crate) fn floor_of(floors: &[Floor], business_id: u64, scene_id: Option<u64>) -> usize {
    floors
        .iter()
        .filter(|f| {
            f.business_id == business_id && (f.scene_id.is_none() || f.scene_id == scene_id)
        })
        .map(|f| f.level)
        .max()
        .unwrap_or(0)
}

/// The level index of a new session of `business_id`/`scene_id`.
pub(crate) fn level_index(
    policy: &PowPolicy,
    inputs: &PriceInputs,
    business_id: u64,
    scene_id: Option<u64>,
) -> usize {
    let top = policy.levels.len().saturating_sub(1);
    let budget = if inputs.over_budget { top } else { 0 };
    inputs
        .local
        .max(
            policy
                .surge_of(business_id)
                .level(&inputs.surge, inputs.surge_held),
        )
        .max(reached(
            &policy.ticket_rate_thresholds,
            inputs.tickets_per_minute,
        ))
        .max(budget)
        .max(floor_of(&policy.floors, business_id, scene_id))
        .min(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surge(volume: f64, normal: f64) -> SurgeReading {
        SurgeReading {
            volume_per_minute: volume,
            normal_per_minute: normal,
        }
    }

    #[test]
    fn the_highest_signal_wins() {
        let p = PowPolicy::default();
        let pick = |i: PriceInputs| level_index(&p, &i, 1, None);
        assert_eq!(pick(PriceInputs::default()), 0);
        let base = PriceInputs {
            surge: surge(10.0, 10.0),
            ..PriceInputs::default()
        };
        assert_eq!(pick(base), 0);
        assert_eq!(
            pick(PriceInputs {
                surge: surge(16.0, 10.0),
                ..base
            }),
            1
        );
        assert_eq!(
            pick(PriceInputs {
                surge: surge(60.0, 10.0),
                ..base
            }),
            3
        );
        assert_eq!(
            pick(PriceInputs {
                tickets_per_minute: 4.5,
                ..base
            }),
            2
        );
        assert_eq!(
            pick(PriceInputs {
                over_budget: true,
                ..base
            }),
            3
        );
        assert_eq!(
            pick(PriceInputs {
                surge: surge(25.0, 10.0),
                ..base
            }),
            2
        );
        assert_eq!(
            pick(PriceInputs {
                surge: surge(25.0, 10.0),
                surge_held: true,
                ..base
            }),
            3
        );
        assert_eq!(pick(PriceInputs { local: 2, ..base }), 2);
        assert_eq!(pick(PriceInputs { local: 9, ..base }), 3);
    }

    #[test]
    fn pricing_knobs_are_validated() {
        assert!(PowPolicy::default().floor(1, None, 3).validate().is_ok());
        assert!(PowPolicy::default().floor(1, None, 4).validate().is_err());
        let bad = PowPolicy::default().surge(Surge::default().normal_bounds(5.0, 1.0));
        assert!(bad.validate().is_err());
        let bad = PowPolicy::default().ticket_rate_thresholds(vec![4.0, 2.0]);
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_business_can_have_its_own_surge() {
        let calm_sale = Surge::default().normal_bounds(100.0, 3_000.0);
        let p = PowPolicy::default()
            .surge_for(7, calm_sale.clone())
            .surge_for(8, Surge::off());
        assert_eq!(p.surge_of(7), &calm_sale);
        assert_eq!(p.surge_of(9), &Surge::default());
        let busy = PriceInputs {
            surge: surge(60.0, 10.0),
            ..PriceInputs::default()
        };
        assert_eq!(level_index(&p, &busy, 9, None), 3);
        assert_eq!(level_index(&p, &busy, 8, None), 0);
        assert!(p.validate().is_ok());
        let bad = PowPolicy::default().surge_for(7, Surge::default().thresholds(vec![3.0, 2.0]));
        assert!(bad.validate().is_err());
        let bad = PowPolicy::default().surge_for(7, Surge::default().hold(-1.0));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn floors_apply_to_their_business_and_scene() {
        let p = PowPolicy::default().floor(7, None, 1).floor(7, Some(3), 2);
        let calm = PriceInputs::default();
        assert_eq!(level_index(&p, &calm, 7, None), 1);
        assert_eq!(level_index(&p, &calm, 7, Some(4)), 1);
        assert_eq!(level_index(&p, &calm, 7, Some(3)), 2);
        assert_eq!(level_index(&p, &calm, 8, Some(3)), 0);
    }
}
