//! [`Clock`]: the wall clock the driver hands the machine as `now`, and how long a wait of the
//! machine's takes in real time.
//!
//! In production it is the system clock. End-to-end tests of maintenance windows need a flow to
//! reach a window's start without waiting days, so the bridge can be given a *simulated* clock
//! with the environment variable [`TEST_CLOCK_ENV`] (`<RFC 3339 start> x<speed>`, e.g.
//! `2026-12-03T12:00:00Z x60`): it starts at that instant and runs `speed` times faster than
//! real time, and every wait of the flow is shortened by the same factor. It is for tests only:
//! the bridge logs an error-level warning at start when it is set, and it changes no VCF timing
//! (the SDDC Manager's own clock is untouched).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The environment variable that gives the bridge a simulated clock (tests only).
pub const TEST_CLOCK_ENV: &str = "VCF_MQTT_BRIDGE_TEST_CLOCK";

/// The time source of the upgrade flows.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    simulated: Option<Simulated>,
}

#[derive(Debug, Clone, Copy)]
struct Simulated {
    real_origin: Instant,
    origin: DateTime<Utc>,
    speed: f64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { simulated: None }
    }

    /// A clock that reads `start` now and runs `speed` times faster than real time (tests only).
    pub fn simulated(start: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self {
            simulated: Some(Simulated {
                real_origin: Instant::now(),
                origin: start,
                speed,
            }),
        }
    }

    /// Reads a [`TEST_CLOCK_ENV`] value: `<RFC 3339 instant> x<speed>` (the speed is optional,
    /// default 1).
    ///
    /// # Errors
    /// What is wrong with the value, naming it.
    pub fn parse_test_setting(value: &str) -> Result<Self, String> {
        let mut parts = value.split_whitespace();
        let start = parts
            .next()
            .ok_or_else(|| format!("{TEST_CLOCK_ENV} is empty"))?;
        let start = DateTime::parse_from_rfc3339(start)
            .map_err(|e| format!("{TEST_CLOCK_ENV}: {start:?} is not an RFC 3339 instant ({e})"))?
            .with_timezone(&Utc);
        let speed = match parts.next() {
            None => 1.0,
            Some(s) => s
                .strip_prefix('x')
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n > 0.0)
                .ok_or_else(|| format!("{TEST_CLOCK_ENV}: {s:?} is not a speed such as \"x60\""))?,
        };
        if let Some(extra) = parts.next() {
            return Err(format!("{TEST_CLOCK_ENV}: unexpected {extra:?}"));
        }
        Ok(Self::simulated(start, speed))
    }

    /// True for a simulated clock.
    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.simulated {
            None => Utc::now(),
            Some(s) => {
                let real = s.real_origin.elapsed().mul_f64(s.speed);
                s.origin + chrono::Duration::from_std(real).unwrap_or(chrono::Duration::MAX / 4)
            }
        }
    }

    /// How long a wait of `d` on this clock takes in real time.
    pub fn real(&self, d: Duration) -> Duration {
        match self.simulated {
            None => d,
            Some(s) => d.div_f64(s.speed),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_setting_is_read_and_bad_values_are_named() {
        let c = Clock::parse_test_setting("2026-12-03T12:00:00Z x60").expect("valid");
        assert!(c.is_simulated());
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_secs(1));
        let now = c.now();
        assert!(now >= DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").expect("t"));
        assert!(now < DateTime::parse_from_rfc3339("2026-12-03T12:10:00Z").expect("t"));
        let e = Clock::parse_test_setting("tomorrow").expect_err("bad instant");
        assert!(e.contains(TEST_CLOCK_ENV) && e.contains("tomorrow"), "{e}");
        let e = Clock::parse_test_setting("2026-12-03T12:00:00Z fast").expect_err("bad speed");
        assert!(e.contains("fast"), "{e}");
        assert!(!Clock::system().is_simulated());
        assert_eq!(
            Clock::system().real(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
    }
}
