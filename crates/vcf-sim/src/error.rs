//! The API error: an HTTP status plus the spec's `Error` body (`errorCode`, `message`,
//! `remediationMessage`, `arguments`, `referenceToken`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ids;

static REFERENCES: AtomicU64 = AtomicU64::new(1);

/// An error answer of the simulated API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Minor error code, e.g. `DOMAIN_NOT_FOUND`.
    pub code: String,
    /// Message.
    pub message: String,
    /// Remediation message.
    pub remediation: Option<String>,
    /// Message arguments.
    pub arguments: Vec<String>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            remediation: None,
            arguments: Vec::new(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 Not Found for an object of a kind (`Domain`, `Bundle`, ...).
    pub fn not_found(kind: &str, id: &str) -> Self {
        let code = format!("{}_NOT_FOUND", kind.to_uppercase().replace(' ', "_"));
        Self::new(
            StatusCode::NOT_FOUND,
            &code,
            format!("{kind} with ID {id} not found"),
        )
        .with_args(&[id])
        .with_remediation(&format!("Provide a valid {} ID", kind.to_lowercase()))
    }

    /// Adds a remediation message.
    pub fn with_remediation(mut self, text: &str) -> Self {
        self.remediation = Some(text.to_string());
        self
    }

    /// Adds message arguments.
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.arguments = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The spec's `Error` body.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "errorCode": self.code,
            "errorType": if self.status.is_server_error() { "SERVER_ERROR" } else { "CLIENT_ERROR" },
            "arguments": self.arguments,
            "message": self.message,
            "referenceToken": ids::reference_token(REFERENCES.fetch_add(1, Ordering::Relaxed)),
        });
        if let Some(r) = &self.remediation {
            v["remediationMessage"] = json!(r);
        }
        v
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
