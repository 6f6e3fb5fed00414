//! [`RequestObserver`]: a hook that sees every HTTP exchange, for metrics.

use std::time::Duration;

/// Receives one call per HTTP exchange the client makes (including token calls and retries).
pub trait RequestObserver: Send + Sync + 'static {
    /// `endpoint` is the method and path template, e.g. `GET /v1/hosts` or
    /// `PATCH /v1/bundles/{id}`; `status` is `None` when no HTTP answer arrived.
    fn on_response(&self, endpoint: &str, status: Option<u16>, elapsed: Duration);
}
