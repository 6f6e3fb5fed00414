//! Upgrade models: the upgrade request and the upgrade record.

use serde::{Deserialize, Serialize};

use super::Bundle;
use crate::Status;

/// The spec's `UpgradeSpec`: body of `POST /v1/upgrades`. Empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeSpec {
    /// Bundle of the AVAILABLE upgradable.
    pub bundle_id: String,
    /// `DOMAIN`, `CLUSTER`, `UNASSIGNED_HOST`.
    pub resource_type: String,
    /// Upgrade resources in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_upgrade: Option<bool>,
    /// Create as DRAFT (for per-upgrade prechecks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_mode: Option<bool>,
    /// What to upgrade.
    #[serde(default)]
    pub resource_upgrade_specs: Vec<ResourceUpgradeSpec>,
    /// NSX options, passed through as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nsxt_upgrade_user_input_specs: Vec<serde_json::Value>,
    /// vCenter options, passed through as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vcenter_upgrade_user_input_specs: Vec<serde_json::Value>,
}

/// The spec's `ResourceUpgradeSpec`. Empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUpgradeSpec {
    /// Resource id (domain or cluster).
    pub resource_id: String,
    /// Start now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_now: Option<bool>,
    /// Start later, at this time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_timestamp: Option<String>,
    /// Shut down VMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_vms: Option<bool>,
    /// Target version of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// Use quick boot (ESXi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_quickboot: Option<bool>,
    /// Evacuate offline VMs (ESXi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evacuate_offline_vms: Option<bool>,
    /// vLCM personality, passed through as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality_spec: Option<serde_json::Value>,
    /// ESXi upgrade options, passed through as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esx_upgrade_options_spec: Option<serde_json::Value>,
}

/// The 9.0.2 spec's `VcenterUpgradeUserInputSpec`: user input of a vCenter upgrade, sent in
/// `UpgradeSpec.vcenterUpgradeUserInputSpecs`. A vCenter major upgrade (8 → 9) needs the
/// `temporaryNetwork` its new appliance uses while the data is migrated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcenterUpgradeUserInputSpec {
    /// Resource id of the vCenter being upgraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Temporary network of the new appliance (required by the schema).
    pub temporary_network: TemporaryNetwork,
}

/// The 9.0.2 spec's `TemporaryNetwork`. Empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryNetwork {
    /// `STATIC` or `AUTOMATIC` (the spec's example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Temporary IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Subnet mask, e.g. `255.255.255.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<String>,
    /// Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// The spec's `Upgrade`: an upgrade record (`GET /v1/upgrades/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Upgrade {
    /// Upgrade id.
    pub id: String,
    /// Bundle applied.
    pub bundle_id: Option<String>,
    /// `DOMAIN`, `CLUSTER`, ...
    pub resource_type: Option<String>,
    /// Parallel?
    pub parallel_upgrade: Option<bool>,
    /// What is upgraded.
    pub resource_upgrade_specs: Vec<ResourceUpgradeSpec>,
    /// `PENDING`, `SCHEDULED`, `INPROGRESS`, `COMPLETED_WITH_SUCCESS`, `COMPLETED_WITH_FAILURE`, ...
    pub status: Option<Status>,
    /// Task id of the upgrade.
    pub task_id: Option<String>,
    /// The bundle.
    pub bundle: Option<Bundle>,
    /// End time, epoch milliseconds.
    pub end_time: Option<i64>,
}

/// The spec's `UpgradeCommitSpec`: body of `PATCH /v1/upgrades/{id}` (start a draft upgrade,
/// reschedule, or cancel). Empty fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeCommitSpec {
    /// Start now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_now: Option<bool>,
    /// Start at this time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_timestamp: Option<String>,
    /// Cancel the scheduled upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_for_cancellation: Option<bool>,
}
