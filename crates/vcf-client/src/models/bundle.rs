//! Bundle models: upgrade bundles in the depot and the download request.

use serde::{Deserialize, Serialize};

use crate::Status;

/// The spec's `Bundle`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Bundle {
    /// Bundle id.
    pub id: String,
    /// `SDDC_MANAGER`, `VMWARE_SOFTWARE`, `VXRAIL`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Bundle version, e.g. `5.2.1.0-24307856`.
    pub version: Option<String>,
    /// `CRITICAL`, `IMPORTANT`, `MODERATE`, `LOW`.
    pub severity: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Release date (ISO 8601).
    pub released_date: Option<String>,
    /// Cumulative bundle?
    pub is_cumulative: Option<bool>,
    /// Compliant?
    pub is_compliant: Option<bool>,
    /// Size in MB.
    #[serde(rename = "sizeMB")]
    pub size_mb: Option<f64>,
    /// `PENDING`, `SCHEDULED`, `IN_PROGRESS`, `SUCCESSFUL`, `FAILED`, `RECALLED`.
    pub download_status: Option<Status>,
    /// Components the bundle upgrades.
    pub components: Vec<BundleComponent>,
    /// Applicability status.
    pub applicability_status: Option<String>,
    /// Applicability order.
    pub applicability_order: Option<i64>,
    /// Partially upgraded?
    pub is_partially_upgraded: Option<bool>,
}

/// The spec's `BundleComponent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BundleComponent {
    /// Component id.
    pub id: Option<String>,
    /// `SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Release date (ISO 8601).
    pub released_date: Option<String>,
    /// Version the component goes to.
    pub to_version: Option<String>,
    /// Version the component comes from.
    pub from_version: Option<String>,
    /// `PATCH` or `INSTALL`.
    pub image_type: Option<String>,
}

/// The spec's `BundleUpdateSpec`: body of `PATCH /v1/bundles/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleUpdateSpec {
    /// Download request.
    pub bundle_download_spec: BundleDownloadSpec,
}

/// The spec's `BundleDownloadSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleDownloadSpec {
    /// Start now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_now: Option<bool>,
    /// Cancel a running download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_now: Option<bool>,
    /// Start later, at this time (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_timestamp: Option<String>,
}
