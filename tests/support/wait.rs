//! Waiting on conditions with deadlines instead of sleeping.
//!
//! A test never sleeps as a substitute for a condition: it polls the condition (MQTT messages,
//! simulator state, Home Assistant states) until it holds or a deadline passes. Deadlines are
//! generous because the suite runs in parallel on small CI machines; `DCA_TEST_TIMEOUT_SCALE`
//! multiplies all of them.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often [`until`] re-checks its condition.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// `base` multiplied by `DCA_TEST_TIMEOUT_SCALE` (default 1).
pub fn timeout(base: Duration) -> Duration {
    let scale = std::env::var("DCA_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    base.mul_f64(scale)
}

/// `secs` seconds, scaled like [`timeout`].
pub fn secs(secs: u64) -> Duration {
    timeout(Duration::from_secs(secs))
}

/// Polls `check` until it returns `Some`, or fails after `limit` with a message naming `what`.
///
/// # Errors
/// When the deadline passes; the error names `what` and the time waited.
pub async fn until<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if started.elapsed() >= limit {
            anyhow::bail!("timed out after {:?} waiting for {what}", started.elapsed());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Like [`until`] for a fallible check: errors count as "not yet" and the last one is reported.
///
/// # Errors
/// When the deadline passes; the error names `what` and the last error seen.
pub async fn until_ok<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let started = Instant::now();
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if started.elapsed() >= limit {
            match last_error {
                Some(e) => anyhow::bail!(
                    "timed out after {:?} waiting for {what}; last error: {e:#}",
                    started.elapsed()
                ),
                None => anyhow::bail!("timed out after {:?} waiting for {what}", started.elapsed()),
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
