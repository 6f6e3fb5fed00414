//! The bridge's own view of one SDDC Manager: inventory, update information, upgrade flows and
//! connectivity. The monitor loops and the orchestrator observer write it; [`crate::ha::entities`]
//! renders it into discovery configs and states. It is independent of the `vcf-client` wire types
//! so rendering can be tested without a server.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A used/total pair with its unit (as VCF reports it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    /// Used amount.
    pub used: f64,
    /// Total amount.
    pub total: f64,
    /// Unit (`GHz`, `GB`, `MHz`, `MB`, ...).
    pub unit: String,
}

impl Usage {
    /// Used / total in percent (0–100), or `None` when total is zero or not a number.
    pub fn percent(&self) -> Option<f64> {
        if self.total > 0.0 && self.total.is_finite() && self.used.is_finite() && self.used >= 0.0 {
            Some((self.used / self.total * 100.0).clamp(0.0, 100.0))
        } else {
            None
        }
    }
}

/// CPU, memory and storage usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Capacity {
    /// CPU.
    pub cpu: Option<Usage>,
    /// Memory.
    pub memory: Option<Usage>,
    /// Storage.
    pub storage: Option<Usage>,
}

/// A workload domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainInfo {
    /// VCF UUID.
    pub id: String,
    /// Name (`sfo-m01`).
    pub name: String,
    /// `MANAGEMENT` / `VI`.
    pub kind: Option<String>,
    /// Capacity, when the resources loop has seen it.
    pub capacity: Capacity,
}

/// A cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInfo {
    /// VCF UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owning domain.
    pub domain_id: Option<String>,
    /// Number of hosts.
    pub host_count: usize,
}

/// An ESXi host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostInfo {
    /// VCF UUID.
    pub id: String,
    /// FQDN.
    pub fqdn: String,
    /// Owning domain.
    pub domain_id: Option<String>,
    /// Cluster name.
    pub cluster_name: Option<String>,
    /// ESXi version.
    pub esxi_version: Option<String>,
    /// Hardware vendor.
    pub vendor: Option<String>,
    /// Hardware model.
    pub model: Option<String>,
    /// CPU in MHz.
    pub cpu: Option<Usage>,
    /// Memory in MB.
    pub memory: Option<Usage>,
    /// Storage in MB.
    pub storage: Option<Usage>,
}

/// One BOM entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BomItem {
    /// Component name (`VCENTER`).
    pub name: String,
    /// Version.
    pub version: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_name: Option<String>,
}

/// The next release for a domain (seed-001 rule over future releases).
#[derive(Debug, Clone, PartialEq)]
pub struct NextRelease {
    /// VCF version (`5.2.1.0`).
    pub version: String,
    /// Release date.
    pub release_date: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Its BOM.
    pub bom: Vec<BomItem>,
    /// The whole future-release object, as SDDC Manager returned it.
    pub raw: serde_json::Value,
}

/// Where the "components to update" list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentsSource {
    /// `GET /v1/upgradables/domains/{id}?targetVersion=` (only populated once a target is set).
    Upgradables,
    /// Next release BOM compared with the current release BOM.
    Bom,
}

/// A component that the next release updates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentUpdate {
    /// Component (`VCENTER`, `NSX_T_MANAGER`, ...).
    pub name: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_name: Option<String>,
    /// Current version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    /// Target version, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// Upgradable status (`AVAILABLE`, `PENDING`), for upgradables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A future release the domain cannot move to (yet), and why: the spec's
/// `DomainFutureRelease.applicabilityStatus` and `reasonsNotApplicable`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotApplicable {
    /// VCF version (`5.2.2.0`).
    pub version: String,
    /// `applicabilityStatus` as sent (`NOT_APPLICABLE`), if sent.
    pub applicability_status: Option<String>,
    /// The reasons' messages (message key when a reason has no message).
    pub reasons: Vec<String>,
}

/// Update information for one domain (the updates loop).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateInfo {
    /// Current VCF version.
    pub current_version: Option<String>,
    /// Next release, if any.
    pub next: Option<NextRelease>,
    /// Components the next release updates.
    pub components: Vec<ComponentUpdate>,
    /// Where `components` came from.
    pub components_source: ComponentsSource,
    /// Error of the last check for this domain.
    pub error: Option<String>,
    /// Newer releases that are not applicable to the domain, and why.
    pub not_applicable: Vec<NotApplicable>,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
}

/// What the bridge shows of a domain's upgrade flow (from the orchestrator's `FlowView`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInfo {
    /// Upgrade status string.
    pub status: String,
    /// A flow is running.
    pub in_progress: bool,
    /// Ignore Alerts switch.
    pub ignore_alerts: bool,
    /// Target version.
    pub target_version: Option<String>,
    /// Progress percentage.
    pub progress_percent: Option<u8>,
    /// Markdown log.
    pub logs_markdown: String,
    /// Number of log entries.
    pub log_entries: usize,
    /// Status attributes (phase detail, component, progress, times, last error).
    pub attributes: serde_json::Value,
    /// Why the flow's state cannot be saved in `state_dir` (`None` while it is safe).
    pub state_error: Option<String>,
    /// The whole `FlowView` JSON (for `upgrade/state`).
    pub view: serde_json::Value,
    /// The findings of the flow's check-set run, errors first (Precheck Findings).
    pub findings: Vec<upgrade_orchestrator::api::Finding>,
    /// Finished flows, newest first (Upgrade History).
    pub history: Vec<upgrade_orchestrator::UpgradeRecord>,
}

/// Connectivity to SDDC Manager and token information.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Connectivity {
    /// `None` until the first request finished.
    pub reachable: Option<bool>,
    /// SDDC Manager URL.
    pub url: String,
    /// Last successful request.
    pub last_success: Option<DateTime<Utc>>,
    /// Last error (one line).
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Access token expiry.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// When the current token was obtained (login or automatic refresh).
    pub token_obtained_at: Option<DateTime<Utc>>,
    /// Last Refresh Token press.
    pub last_token_refresh: Option<DateTime<Utc>>,
    /// Its result (`ok` or the error).
    pub last_token_refresh_result: Option<String>,
    /// The SDDC Manager's version with build (`GET /v1/sddc-managers`), once read.
    pub sddc_manager_version: Option<String>,
    /// The last authentication failure (refused login, or a token refused as not a JWT with
    /// an expiry), naming the endpoint; absent until there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_auth_error: Option<String>,
    /// When it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_auth_error_at: Option<DateTime<Utc>>,
}

/// A Back Up Now backup task, as last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRun {
    /// VCF task id.
    pub task_id: String,
    /// Task status (`IN_PROGRESS`, `SUCCESSFUL`, `FAILED`).
    pub status: String,
    /// When it was started.
    pub started_at: DateTime<Utc>,
    /// When it was seen finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its first error, if it failed.
    pub error: Option<String>,
}

/// Upgrade readiness as the hub renders it.
#[derive(Debug, Clone, Default)]
pub struct ReadinessInfo {
    /// The latest evaluation.
    pub report: Option<crate::readiness::Report>,
    /// Domain ids whose Override Readiness switch is on.
    pub overrides: std::collections::BTreeSet<String>,
    /// The latest Back Up Now task.
    pub backup_run: Option<BackupRun>,
}

/// Everything the bridge knows about one SDDC Manager.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Domains by id.
    pub domains: BTreeMap<String, DomainInfo>,
    /// Clusters by id.
    pub clusters: BTreeMap<String, ClusterInfo>,
    /// Hosts by id.
    pub hosts: BTreeMap<String, HostInfo>,
    /// Update info by domain id.
    pub updates: BTreeMap<String, UpdateInfo>,
    /// Upgrade flows by domain id.
    pub flows: BTreeMap<String, FlowInfo>,
    /// Connectivity.
    pub connectivity: Connectivity,
    /// Upgrade readiness.
    pub readiness: ReadinessInfo,
    /// Upgrade All Domains (the sequence's JSON view), once the sequence has been loaded.
    pub upgrade_all: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        let u = |used, total| Usage {
            used,
            total,
            unit: "GB".into(),
        };
        assert_eq!(u(25.0, 100.0).percent(), Some(25.0));
        assert_eq!(u(1.0, 0.0).percent(), None);
        assert_eq!(u(f64::NAN, 10.0).percent(), None);
        assert_eq!(u(200.0, 100.0).percent(), Some(100.0));
    }
}
