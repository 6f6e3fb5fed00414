//! The one error type of the crate, [`VcfError`], and how HTTP answers map onto it.
//!
//! The variants separate what a caller reacts to differently: the SDDC Manager could not be
//! reached at all, it answered but is not ready, it refused our credentials, it rejected the
//! request with its documented error body, or it answered something we could not read.

use crate::models::ApiError;

/// Result alias used by every fallible call of this crate.
pub type Result<T, E = VcfError> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to an SDDC Manager.
#[derive(Debug, thiserror::Error)]
pub enum VcfError {
    /// No HTTP answer: connection refused, DNS failure, TLS handshake failure or timeout.
    #[error("{endpoint}: SDDC Manager unreachable ({})", describe_transport(.source))]
    Unreachable {
        /// Method and path of the call, e.g. `GET /v1/domains`.
        endpoint: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// An answer that says "not ready": 502/503/504, or a body that is not JSON (a proxy page).
    #[error("{endpoint}: SDDC Manager unavailable{}: {detail}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Unavailable {
        /// Method and path of the call.
        endpoint: String,
        /// The HTTP status, when there was one.
        status: Option<u16>,
        /// A short excerpt of what came back.
        detail: String,
    },
    /// Credentials refused, or a 401/403 that persisted after one token renewal and retry.
    #[error("{endpoint}: authentication failed (HTTP {status}): {message}")]
    Auth {
        /// Method and path of the call.
        endpoint: String,
        /// The HTTP status (401, 403, or 400 for a rejected login).
        status: u16,
        /// The server's message, or a short excerpt of its body.
        message: String,
    },
    /// The SDDC Manager rejected the call with its documented error body.
    #[error("{endpoint}: HTTP {status}: {}", .error.summary())]
    Api {
        /// Method and path of the call.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The spec's `Error` body (boxed: it is large, and errors travel by value).
        error: Box<ApiError>,
    },
    /// A JSON answer whose shape does not match the model; `detail` names the field path.
    #[error("{endpoint}: unexpected response: {detail}")]
    Parse {
        /// Method and path of the call.
        endpoint: String,
        /// Field path and what was wrong with it, e.g. `elements[0].status: invalid type`.
        detail: String,
    },
    /// The client configuration is unusable (bad URL, CA file, pin, ...).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn describe_transport(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    // reqwest's own message only names the URL; the innermost cause says what happened
    // (connection refused, certificate not trusted, ...).
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{kind}: {cause}")
}

// === impl VcfError ===

impl VcfError {
    /// True for errors that may go away by themselves (unreachable or unavailable SDDC Manager).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Unavailable { .. })
            || self.is_inventory_cache_not_seeded()
    }

    /// True for VCF 9.x's `409` "inventory cache is not seeded" (spec 9.0.2,
    /// `GET /v1/system/upgradables`): the SDDC Manager is still starting up.
    pub fn is_inventory_cache_not_seeded(&self) -> bool {
        let Self::Api {
            status: 409, error, ..
        } = self
        else {
            return false;
        };
        let text = format!(
            "{} {}",
            error.error_code.as_deref().unwrap_or_default(),
            error.message.as_deref().unwrap_or_default()
        )
        .to_ascii_lowercase()
        .replace(['_', '-'], " ");
        text.contains("inventory cache") || text.contains("not seeded")
    }

    /// The HTTP status of the answer that caused the error, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Unreachable { .. } | Self::Parse { .. } | Self::Config(_) => None,
            Self::Unavailable { status, .. } => *status,
            Self::Auth { status, .. } | Self::Api { status, .. } => Some(*status),
        }
    }

    /// The endpoint (method and path) the error relates to, if any.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Self::Unreachable { endpoint, .. }
            | Self::Unavailable { endpoint, .. }
            | Self::Auth { endpoint, .. }
            | Self::Api { endpoint, .. }
            | Self::Parse { endpoint, .. } => Some(endpoint),
            Self::Config(_) => None,
        }
    }
}

/// Cuts a response body down to something fit for a log line.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX {
        let cut: String = collapsed.chars().take(MAX).collect();
        format!("{cut}...")
    } else if collapsed.is_empty() {
        "(empty body)".to_owned()
    } else {
        collapsed
    }
}
