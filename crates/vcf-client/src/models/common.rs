//! Shapes shared by many endpoints: the page wrapper, the error body, resources, messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The spec's `PageOf<T>` wrapper around list answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageOf<T> {
    /// The items of this page. Required: an answer without it is not an empty list (the spec
    /// marks nothing required here, but every page it documents carries `elements`, and
    /// reading `{}` as "no domains" would clear every entity).
    pub elements: Vec<T>,
    /// Paging information; absent on some servers.
    #[serde(default)]
    pub page_metadata: Option<PageMetadata>,
}

/// The spec's `PageMetadata`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMetadata {
    /// Number of this page (0- or 1-based: the spec does not say).
    pub page_number: Option<i64>,
    /// Items per page.
    pub page_size: Option<i64>,
    /// Items over all pages.
    pub total_elements: Option<i64>,
    /// Number of pages.
    pub total_pages: Option<i64>,
}

/// The spec's `Error` body: returned with 4xx/5xx answers and nested in tasks and check runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiError {
    /// Minor error code, e.g. `BUNDLE_NOT_FOUND`.
    pub error_code: Option<String>,
    /// Error type.
    pub error_type: Option<String>,
    /// Values used to localise the message.
    pub arguments: Vec<String>,
    /// Free-form context, e.g. `{"severity": "ERROR"}` in check-set results.
    pub context: BTreeMap<String, serde_json::Value>,
    /// Localised message.
    pub message: Option<String>,
    /// What to do about it.
    pub remediation_message: Option<String>,
    /// Underlying causes.
    pub causes: Vec<ErrorCause>,
    /// Nested errors (recursive).
    pub nested_errors: Vec<ApiError>,
    /// Short token for log correlation.
    pub reference_token: Option<String>,
}

/// The spec's `ErrorCause`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorCause {
    /// Cause type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Cause message.
    pub message: Option<String>,
}

/// The spec's `Resource` (in tasks and upgradables).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    /// Resource id.
    pub resource_id: Option<String>,
    /// FQDN, if any.
    pub fqdn: Option<String>,
    /// Resource type, e.g. `DOMAIN`, `SDDC_MANAGER`, `ESXI`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Subject alternative names.
    pub sans: Vec<String>,
}

/// The spec's `MessagePack`: a localisable message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessagePack {
    /// Component that produced the message.
    pub component: Option<String>,
    /// Message key.
    pub message_key: Option<String>,
    /// Message arguments.
    pub arguments: Vec<String>,
    /// Rendered message.
    pub message: Option<String>,
    /// Message bundle.
    pub bundle: Option<String>,
}

// === impl ApiError ===

impl ApiError {
    /// One line: code, message and remediation, followed by the nested errors' messages.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        if let Some(code) = &self.error_code {
            out.push_str(code);
        }
        if let Some(msg) = &self.message {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(msg);
        }
        if let Some(fix) = &self.remediation_message {
            out.push_str(" (remediation: ");
            out.push_str(fix);
            out.push(')');
        }
        for nested in &self.nested_errors {
            out.push_str("; ");
            out.push_str(&nested.summary());
        }
        if out.is_empty() {
            out.push_str("(no message)");
        }
        out
    }

    /// The `context.severity` value, upper-cased (`INFO`, `WARNING`, `ERROR`, `CRITICAL`).
    pub fn severity(&self) -> Option<String> {
        self.context
            .get("severity")
            .and_then(|v| v.as_str())
            .map(str::to_ascii_uppercase)
    }
}
