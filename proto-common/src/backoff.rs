//! The reconnect schedule and the seeded random source behind its jitter.

use std::time::Duration;

/// Reconnect backoff settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Upper bound for any delay.
    pub max: Duration,
    /// Growth factor per failed attempt (at least 1).
    pub multiplier: f64,
    /// Fraction (0 to 1) of each delay that is randomly taken off, so that
    /// many clients do not reconnect in step.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl BackoffConfig {
    /// The delay before retry number `attempt` (0-based), given a random
    /// `unit` in `[0, 1)`: `min(max, initial * multiplier^attempt)`, less up to
    /// `jitter` of it.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let grown =
            self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let capped = grown.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::try_from_secs_f64((capped * (1.0 - jitter)).max(0.0)).unwrap_or(self.max)
    }
}

/// SplitMix64: small, fast, and exactly replayable from its seed.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A fresh seed for a [`SeededRng`], different for every call and every
/// process (std's randomly keyed hasher: no clock, no I/O), so that ids two
/// clients generate do not collide.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(0x41_53_54u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_within_jitter() {
        let b = BackoffConfig::default();
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(250));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(b.delay(30, 0.0), Duration::from_secs(30));
        let low = b.delay(30, 0.999_999);
        assert!(
            low >= Duration::from_secs(24) && low < Duration::from_secs(30),
            "{low:?}"
        );
    }

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        for _ in 0..100 {
            let x = a.next_unit();
            assert_eq!(x, b.next_unit());
            assert!((0.0..1.0).contains(&x));
        }
    }
}
