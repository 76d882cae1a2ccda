//! Decaying counters: the shared pressure readings (a business's volume,
//! a client network's ticket rate), as
//! [`ReplayStore::decay_add`](crate::ReplayStore::decay_add) keeps them.
//!
//! A counter with half-life `h` holds `sum(2^(-(now - t_i) / h))` over
//! its hits `t_i`: a steady rate `r` per second reads `r * h / ln 2`, so
//! [`per_minute`] turns a reading back into a rate. One id holds one
//! counter per half-life asked for, sharing the time of their last
//! update: a business's short (about a minute) and long (hours) counters
//! are one record, updated in one call.

use crate::service::keyed_hash::KeyedMap;
use crate::service::short_id::ShortId;

/// A value below this is treated as zero when a full table sweeps.
const NEGLIGIBLE: f64 = 1e-3;
/// How many entries a full table looks at to pick the calmest to drop.
const SAMPLE: usize = 32;

/// The rate per minute that a counter of half-life `half_life_secs`
/// reading `value` stands for.
pub fn per_minute(value: f64, half_life_secs: f64) -> f64 {
    value * std::f64::consts::LN_2 / half_life_secs.max(1.0) * 60.0
}

/// `value`, written at `at`, decayed to `now` with half-life `half_life`
/// (a clock that went back decays nothing).
pub(crate) fn decayed(value: f64, at: u64, now: u64, half_life: f64) -> f64 {
    let dt = now.saturating_sub(at) as f64;
    value * (-dt / half_life.max(1.0)).exp2()
}

#[derive(Debug, Clone)]
struct Counters {
    at: u64,
    values: Vec<f64>,
}

impl Counters {
    fn read(&self, half_lives: &[f64], now: u64) -> Vec<f64> {
        half_lives
            .iter()
            .enumerate()
            .map(|(i, h)| decayed(self.values.get(i).copied().unwrap_or(0.0), self.at, now, *h))
            .collect()
    }
}

/// A bounded in-memory table of decaying counters. When it is full, the
/// calmest of a sample of entries is dropped: losing a counter helps only
/// its holder, so the calmest (the one that helps least) goes, and a busy
/// client keeps its reading.
#[derive(Debug)]
pub(crate) struct DecayTable {
    capacity: usize,
    counters: KeyedMap<ShortId, Counters>,
    swept_at: Option<u64>,
}

impl DecayTable {
    /// A table of at most `capacity` ids (at least 1).
    pub(crate) fn new(capacity: usize) -> DecayTable {
        DecayTable {
            capacity: capacity.max(1),
            counters: KeyedMap::default(),
            swept_at: None,
        }
    }

    /// How many ids it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.counters.len()
    }

    /// Adds `amount` to the counters of `id` (one per half-life) and
    /// returns their values at `now`. An `amount` of 0 only reads (and
    /// stores nothing for an unknown id).
    pub(crate) fn add(&mut self, id: &str, amount: f64, half_lives: &[f64], now: u64) -> Vec<f64> {
        if let Some(c) = self.counters.get_mut(id) {
            // Decayed and added in place (a counter not kept yet reads 0),
            // so the only allocation is the answer's.
            c.values.resize(half_lives.len(), 0.0);
            for (value, half_life) in c.values.iter_mut().zip(half_lives) {
                *value = decayed(*value, c.at, now, *half_life) + amount;
            }
            c.at = c.at.max(now);
            return c.values.clone();
        }
        // Not `vec![amount; n]`: for 0.0 that is a zeroed allocation,
        // which glibc serves without its thread cache (a tenth of a
        // CaptchaQuery went to `calloc` here).
        let values: Vec<f64> = std::iter::repeat_n(amount, half_lives.len()).collect();
        if amount == 0.0 {
            return values;
        }
        if self.counters.len() >= self.capacity {
            self.make_room(half_lives, now);
        }
        self.counters.insert(
            ShortId::from(id),
            Counters {
                at: now,
                values: values.clone(),
            },
        );
        values
    }

    /// Drops the negligible counters (at most once a second: the sweep
    /// walks the table), else the calmest of a sample.
    fn make_room(&mut self, half_lives: &[f64], now: u64) {
        if self.swept_at != Some(now) {
            self.swept_at = Some(now);
            self.counters
                .retain(|_, c| c.read(half_lives, now).iter().any(|v| *v > NEGLIGIBLE));
        }
        if self.counters.len() < self.capacity {
            return;
        }
        let calmest = self
            .counters
            .iter()
            .take(SAMPLE)
            .map(|(id, c)| (id, c.read(half_lives, now).first().copied().unwrap_or(0.0)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, _)| id.clone());
        if let Some(id) = calmest {
            self.counters.remove(id.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_reads_back_as_itself() {
        let mut t = DecayTable::new(10);
        let mut v = vec![];
        // 30 a minute (one every 2 s) for 20 minutes.
        for s in (0..1200).step_by(2) {
            v = t.add("b", 1.0, &[60.0, 3600.0], s);
        }
        let short = per_minute(v[0], 60.0);
        assert!((short - 30.0).abs() < 1.0, "{short}");
        // The long counter has learnt only part of it yet.
        let long = per_minute(v[1], 3600.0);
        assert!(long > 5.0 && long < 30.0, "{long}");
        // Reading adds nothing; an hour of quiet and the short one is 0.
        let later = t.add("b", 0.0, &[60.0, 3600.0], 4800);
        assert!(later[0] < 1e-6 && later[1] > 0.0);
        assert_eq!(t.add("unknown", 0.0, &[60.0], 0), vec![0.0]);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_full_table_drops_the_calmest_and_keeps_the_busy() {
        let mut t = DecayTable::new(64);
        for _ in 0..100 {
            t.add("busy", 1.0, &[60.0], 10);
        }
        for i in 0..10_000 {
            t.add(&format!("c{i}"), 1.0, &[60.0], 10);
            assert!(t.len() <= 64);
        }
        assert!(t.add("busy", 0.0, &[60.0], 10)[0] >= 100.0);
        // Negligible counters are swept first.
        let v = t.add("new", 1.0, &[60.0], 10 + 3600);
        assert_eq!(v, vec![1.0]);
        assert!(t.len() <= 2, "{}", t.len());
    }

    #[test]
    fn a_clock_going_back_decays_nothing() {
        let mut t = DecayTable::new(4);
        t.add("x", 4.0, &[60.0], 1000);
        assert_eq!(t.add("x", 0.0, &[60.0], 900), vec![4.0]);
        assert!((t.add("x", 0.0, &[60.0], 1060)[0] - 2.0).abs() < 1e-9);
    }
}
