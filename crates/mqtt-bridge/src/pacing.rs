//! How fast the bridge publishes, and the slow refresh that repairs a value a subscriber missed.
//!
//! A broker queues a bounded number of messages per subscriber (Mosquitto by default 1,000 QoS 1/2
//! messages beyond 20 in flight) and drops the rest, silently for the publisher. Home Assistant
//! reads its queue only as fast as it processes messages, so a burst of thousands of configs and
//! states (start, Home Assistant's birth message, a broker reconnect at 1,000 hosts) would
//! overrun it. The hub therefore sends through a [`Pacer`] (at most `mqtt.publish_rate` messages
//! a second, bursts of one second's worth), and a [`Refresh`] re-sends every retained state
//! within `mqtt.state_refresh` of when it was last sent, spread evenly, so whatever a subscriber
//! missed anyway is repaired within that bound.
//!
//! Both are pure: the caller passes the current instant, so tests drive them with a made-up clock.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `rate` messages per second on average, bursts of up to `rate` messages.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl Pacer {
    /// At most `rate` messages per second (at least 1).
    pub fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            tokens: rate,
            at: None,
        }
    }

    /// Takes one message's turn at `now` and says how long to wait before sending it.
    pub fn take(&mut self, now: Instant) -> Duration {
        if let Some(at) = self.at {
            let elapsed = now.saturating_duration_since(at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        }
        self.at = Some(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// How often the refresh runs a step.
pub const REFRESH_TICK: Duration = Duration::from_secs(1);

/// The slow refresh: after a quiet `period` since everything was last sent, it walks the units
/// (bridge, domains, hosts) in order, a few per [`REFRESH_TICK`], so one walk takes `period` and
/// every state is re-sent at most about `period` after it was last sent.
#[derive(Debug, Clone)]
pub struct Refresh {
    period: Duration,
    /// When the next walk may begin (reset by every full publish).
    start_at: Option<Instant>,
    /// Index of the next unit of the current walk.
    cursor: usize,
    /// Units owed to the current walk (fractions carry over between ticks).
    credit: f64,
}

impl Refresh {
    /// A refresh with this period; `Duration::ZERO` turns it off.
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            start_at: None,
            cursor: 0,
            credit: 0.0,
        }
    }

    /// Whether it runs at all.
    pub fn enabled(&self) -> bool {
        !self.period.is_zero()
    }

    /// Everything was just sent (connect, Home Assistant's birth message): start over a full
    /// period from `now`.
    pub fn everything_sent(&mut self, now: Instant) {
        self.start_at = Some(now + self.period);
        self.cursor = 0;
        self.credit = 0.0;
    }

    /// One tick at `now` with `units` units: the range of unit indices to re-send now (empty
    /// while the quiet period runs, or when off or nothing was sent yet).
    pub fn step(&mut self, now: Instant, units: usize) -> std::ops::Range<usize> {
        let Some(start) = self.start_at else {
            return 0..0;
        };
        if !self.enabled() || now < start || units == 0 {
            return 0..0;
        }
        let per_tick = units as f64 * REFRESH_TICK.as_secs_f64() / self.period.as_secs_f64();
        self.credit += per_tick;
        // Whole units only; what is left carries over to the next tick.
        let n = self.credit.floor() as usize;
        self.credit -= n as f64;
        let from = self.cursor.min(units);
        let to = (from + n).min(units);
        self.cursor = to;
        if to >= units {
            // The walk is done: the next one follows right away, so each unit comes round again
            // one period after this walk reached it.
            self.cursor = 0;
        }
        from..to
    }

    /// Messages per second the refresh sends with `messages` retained states in total.
    pub fn rate(&self, messages: usize) -> f64 {
        if self.enabled() {
            messages as f64 / self.period.as_secs_f64()
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_lets_a_second_through_then_keeps_the_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100);
        let mut now = t0;
        let mut sent = 0u32;
        // Sends as fast as the pacer allows for 10 simulated seconds.
        while now < t0 + Duration::from_secs(10) {
            let wait = p.take(now);
            now += wait;
            sent += 1;
        }
        // A burst of 100, then 100 a second: about 1,100 in 10 s, never more.
        assert!((1_095..=1_101).contains(&sent), "{sent}");
        // In any one second after the burst, at most 100 (+1 for the edge).
        let mut p = Pacer::new(100);
        let mut now = t0;
        let mut times = Vec::new();
        for _ in 0..1_000 {
            now += p.take(now);
            times.push(now);
        }
        for w in times.windows(102).skip(100) {
            assert!(
                w[101] - w[0] >= Duration::from_millis(999),
                "{:?}",
                w[101] - w[0]
            );
        }
    }

    #[test]
    fn the_pacer_refills_while_idle_but_never_beyond_one_second() {
        let t0 = Instant::now();
        let mut p = Pacer::new(50);
        for _ in 0..50 {
            assert_eq!(p.take(t0), Duration::ZERO);
        }
        assert!(p.take(t0) > Duration::ZERO, "the burst is spent");
        // A long pause refills one second's worth only.
        let later = t0 + Duration::from_secs(3600);
        let free = (0..200).take_while(|_| p.take(later).is_zero()).count();
        assert_eq!(free, 50, "one second's worth");
    }

    #[test]
    fn the_refresh_waits_a_period_then_walks_every_unit_once_per_period() {
        let t0 = Instant::now();
        let period = Duration::from_secs(600);
        let mut r = Refresh::new(period);
        assert_eq!(r.step(t0, 1_159), 0..0, "nothing sent yet");
        r.everything_sent(t0);
        let mut now = t0;
        let mut seen = vec![0u32; 1_159];
        let mut first_at = None;
        // Two periods of ticks.
        while now < t0 + 2 * period {
            now += REFRESH_TICK;
            let range = r.step(now, 1_159);
            if !range.is_empty() && first_at.is_none() {
                first_at = Some(now);
            }
            for i in range {
                seen[i] += 1;
            }
        }
        let first_at = first_at.expect("the refresh ran");
        assert!(
            first_at >= t0 + period,
            "quiet for a period after a full publish"
        );
        // The one walk of the second period reached every unit exactly once.
        assert!(seen.iter().all(|&n| n == 1), "{:?}", &seen[..10]);
        // Spread: never more than 2 units a tick at 1,159 units over 600 s.
        let mut r = Refresh::new(period);
        r.everything_sent(t0);
        let max = (1..=1_200)
            .map(|s| r.step(t0 + period + Duration::from_secs(s), 1_159).len())
            .max();
        assert_eq!(max, Some(2));
    }

    #[test]
    fn a_full_publish_restarts_the_quiet_period_and_zero_turns_it_off() {
        let t0 = Instant::now();
        let mut r = Refresh::new(Duration::from_secs(60));
        r.everything_sent(t0);
        assert!(!r.step(t0 + Duration::from_secs(61), 600).is_empty());
        r.everything_sent(t0 + Duration::from_secs(61));
        assert!(r.step(t0 + Duration::from_secs(62), 600).is_empty());
        let mut off = Refresh::new(Duration::ZERO);
        off.everything_sent(t0);
        assert!(!off.enabled());
        assert!(off.step(t0 + Duration::from_secs(3600), 600).is_empty());
        assert!(off.rate(4_000).abs() < f64::EPSILON);
        assert!((Refresh::new(Duration::from_secs(900)).rate(4_800) - 5.33).abs() < 0.01);
    }
}
