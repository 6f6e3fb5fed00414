//! Simulated time: an origin `Instant` and a scale. Simulated seconds since the origin are
//! `real elapsed / time_scale`; timestamps shown in API bodies are the real wall-clock
//! moments at which simulated events happen, so clients can compare them with their clock.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Seconds of simulated time since the clock's origin.
pub type SimTime = f64;

/// The simulator's clock.
#[derive(Debug, Clone)]
pub struct Clock {
    origin: Instant,
    origin_utc: DateTime<Utc>,
    scale: f64,
}

impl Clock {
    /// A clock starting now; `scale` multiplies every simulated duration (0.001 turns
    /// one simulated hour into 3.6 real seconds).
    pub fn new(scale: f64) -> Self {
        Clock {
            origin: Instant::now(),
            origin_utc: Utc::now(),
            scale,
        }
    }

    /// The time scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Simulated seconds elapsed since the origin.
    pub fn now(&self) -> SimTime {
        self.origin.elapsed().as_secs_f64() / self.scale
    }

    /// Real duration of a simulated span.
    pub fn real(&self, sim_secs: f64) -> Duration {
        Duration::from_secs_f64((sim_secs * self.scale).max(0.0))
    }

    /// The real instant of a simulated time.
    pub fn instant_at(&self, t: SimTime) -> Instant {
        self.origin + self.real(t)
    }

    /// The wall-clock time of a simulated time.
    pub fn utc_at(&self, t: SimTime) -> DateTime<Utc> {
        let real = self.real(t);
        // chrono::Duration::from_std fails only beyond ~292 billion years.
        self.origin_utc + chrono::Duration::from_std(real).unwrap_or(chrono::Duration::zero())
    }

    /// ISO-8601 timestamp (`2024-11-21T10:15:30.123Z`) of a simulated time.
    pub fn iso_at(&self, t: SimTime) -> String {
        iso(self.utc_at(t))
    }

    /// Epoch milliseconds of a simulated time.
    pub fn millis_at(&self, t: SimTime) -> i64 {
        self.utc_at(t).timestamp_millis()
    }

    /// The simulated time of a wall-clock time (negative when before the origin).
    pub fn sim_of_utc(&self, at: DateTime<Utc>) -> SimTime {
        let real = (at - self.origin_utc).num_milliseconds() as f64 / 1000.0;
        real / self.scale
    }
}

/// Formats a UTC time as the API does: milliseconds and a `Z` suffix.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scale_multiplies_durations() {
        let c = Clock::new(0.001);
        assert_eq!(c.real(3600.0), Duration::from_millis(3600));
        let t = c.utc_at(3600.0) - c.utc_at(0.0);
        assert_eq!(t.num_milliseconds(), 3600);
        assert!((c.sim_of_utc(c.utc_at(1000.0)) - 1000.0).abs() < 1.0);
    }
}
