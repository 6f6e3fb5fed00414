//! Upgradable models: what a domain can upgrade now for its target version.

use serde::{Deserialize, Serialize};

use super::{ApiError, Resource};
use crate::Status;

/// The spec's `Upgradable`. Only one is `AVAILABLE` at a time (SDDC Manager first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Upgradable {
    /// Bundle to apply.
    pub bundle_id: String,
    /// `SDDC_MANAGER`, `VMWARE_SOFTWARE`, ...
    pub bundle_type: Option<String>,
    /// Resource to upgrade (usually the domain).
    pub resource: Option<Resource>,
    /// Components the bundle touches.
    pub software_components: Vec<SoftwareComponent>,
    /// `AVAILABLE` = can be upgraded now.
    pub status: Option<Status>,
    /// Errors.
    pub errors: Vec<ApiError>,
}

/// The spec's `SoftwareComponent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SoftwareComponent {
    /// Component id.
    pub id: Option<String>,
    /// `SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `HOST`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The spec's `UpgradablesClusterResource` (from `GET /v1/upgradables/domains/{id}/clusters`):
/// a cluster's image and hardware-support details, needed for ESXi upgrades.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterUpgradable {
    /// Cluster id.
    pub resource_id: String,
    /// Resource type, `CLUSTER`.
    pub resource_type: Option<String>,
    /// Primary cluster of the domain?
    pub primary_cluster: Option<bool>,
    /// vLCM image managed?
    pub vlcm_enabled: Option<bool>,
    /// Software (base image, add-on, components) as received.
    pub software_info: Option<serde_json::Value>,
    /// Configured hardware support managers, as received.
    pub configured_hardware_support_managers: Vec<serde_json::Value>,
    /// Available hardware support managers, as received.
    pub available_hardware_support_managers: Vec<serde_json::Value>,
}
