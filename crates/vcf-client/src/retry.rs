//! [`RetryPolicy`]: exponential backoff with jitter for calls that are safe to repeat.
//!
//! Only GETs, token calls and the idempotent target-version PATCH are retried on transient
//! errors. Other writes are retried only when the connection was never established, so a POST
//! that may have taken effect is never sent twice.

use std::time::Duration;

use rand::Rng;

/// How often and how patiently safe calls are retried on transient errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub base_delay: Duration,
    /// Upper bound of a single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

// === impl RetryPolicy ===

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1-based): `base * 2^(retry-1)`, capped at
    /// `max_delay`, then drawn uniformly from its upper half so that many clients recovering
    /// from the same outage do not retry in lock-step.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let nominal = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let half = nominal / 2;
        let jitter_range = nominal.saturating_sub(half);
        if jitter_range.is_zero() {
            return nominal;
        }
        let jitter = rand::thread_rng().gen_range(Duration::ZERO..=jitter_range);
        half + jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for retry in 1..12 {
            let d = p.delay(retry);
            let nominal = (Duration::from_millis(100) * 2u32.pow(retry - 1)).min(p.max_delay);
            assert!(d >= nominal / 2 && d <= nominal, "retry {retry}: {d:?}");
        }
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }
}
