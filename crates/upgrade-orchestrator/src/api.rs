//! [`VcfApi`]: the SDDC Manager operations the driver needs, in orchestrator terms.
//!
//! The state machine never sees `vcf_client` models; it works on the small types here. The
//! production implementation over [`vcf_client::VcfClient`] lives in `vcf`; tests use fakes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Why an API operation failed, reduced to what the flow decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFailure {
    /// Human-readable reason (endpoint, status, VCF message).
    pub message: String,
    /// Connection error / 5xx / no answer: worth retrying at the next poll.
    pub transient: bool,
}

impl ApiFailure {
    /// A failure worth retrying later.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }

    /// A failure that will not go away by retrying.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Result of one [`VcfApi`] operation.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// One entry of the target release's bill of materials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BomItem {
    /// Component name, e.g. `NSX_T_MANAGER`.
    pub name: String,
    /// Component version with build, e.g. `4.2.1.0.0-24304122`; empty when VCF 9.x leaves it out.
    pub version: String,
    /// Build of the component (`changeId`, VCF 9.x), identifying it when `version` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// The 9.x `ProductVersion.lifecycleManagedBy` (e.g. `SDDC_MANAGER_VCF`), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

impl BomItem {
    /// True when the 9.x BOM says something other than SDDC Manager manages the component's
    /// lifecycle: VCF Operations upgrades it, and SDDC Manager waits for that.
    pub fn managed_outside_sddc_manager(&self) -> bool {
        self.managed_by
            .as_deref()
            .is_some_and(|m| !m.to_ascii_uppercase().starts_with("SDDC_MANAGER"))
    }
}

/// The release a flow installs (picked with `vcf_client::select_next_release`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRelease {
    /// VCF version, e.g. `5.2.1.0`.
    pub version: String,
    /// The domain's current VCF version.
    pub current_version: String,
    /// Release date as sent by VCF.
    pub release_date: Option<String>,
    /// Bill of materials.
    pub bom: Vec<BomItem>,
}

/// Result of looking for the next release of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseCheck {
    /// The domain's current VCF version.
    pub current_version: String,
    /// The release to install next, if any.
    pub next: Option<TargetRelease>,
}

/// A bundle's download state, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadState {
    /// Not downloaded and not being downloaded (`PENDING`, never requested).
    NotStarted,
    /// `SCHEDULED`, `IN_PROGRESS`, `VALIDATING`.
    InProgress,
    /// `SUCCESSFUL`.
    Done,
    /// `FAILED`, `CANCELLED`, `RECALLED`.
    Failed,
}

/// A bundle of the target release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// Bundle id.
    pub id: String,
    /// Component(s) it carries, e.g. `VCENTER`.
    pub component: String,
    /// Bundle version.
    pub version: String,
    /// A fallback bundle (same version and release date as the release, not the one VCF
    /// applies): downloaded, never applied.
    pub fallback: bool,
    /// Download state when listed.
    pub state: DownloadState,
}

/// An entry of `GET /v1/upgradables/domains/{id}?targetVersion=V`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradableInfo {
    /// Bundle to apply.
    pub bundle_id: String,
    /// `SDDC_MANAGER`, `VMWARE_SOFTWARE`, …
    pub bundle_type: String,
    /// Component type from `softwareComponents[].type` (e.g. `NSX_T_MANAGER`, `VCENTER`, `HOST`).
    pub component: String,
    /// True when `status` is `AVAILABLE`.
    pub available: bool,
    /// True when VCF reports it done (`COMPLETED`, `UPGRADED`, `SUCCESSFUL`).
    pub completed: bool,
    /// True when VCF reports it `IN_PROGRESS`: an upgrade of it runs.
    #[serde(default)]
    pub in_progress: bool,
    /// The spec's `Upgradable.errors` ("errors found during computation of upgrade
    /// availability"): why it is not AVAILABLE, one line each.
    #[serde(default)]
    pub errors: Vec<String>,
    /// For an available vCenter upgradable: the vCenter's resource id and the versions its
    /// bundle goes from and to (to tell a major upgrade, 8 → 9, that needs a temporary network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcenter: Option<VcenterUpgradeInfo>,
}

/// What a vCenter upgradable says about the upgrade it offers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VcenterUpgradeInfo {
    /// The vCenter's resource id (`softwareComponents[].id`).
    pub resource_id: Option<String>,
    /// Version before the upgrade (the bundle component's `fromVersion`).
    pub from_version: Option<String>,
    /// Version after the upgrade (the bundle component's `toVersion`, else the bundle version).
    pub to_version: Option<String>,
}

impl VcenterUpgradeInfo {
    /// True when the target's major version is above the current one (8 → 9). When VCF does
    /// not say where the vCenter comes from, the VCF versions of the flow decide
    /// (`current` → `target`, e.g. 5.2 → 9.0).
    pub fn is_major(&self, current_vcf: &str, target_vcf: &str) -> bool {
        let major = |v: Option<&str>| v.and_then(vcf_client::major_version);
        match (
            major(self.from_version.as_deref()),
            major(self.to_version.as_deref()),
        ) {
            (Some(from), Some(to)) => to > from,
            _ => major(Some(target_vcf)) > major(Some(current_vcf)),
        }
    }
}

impl UpgradableInfo {
    /// True for the SDDC Manager itself.
    pub fn is_sddc_manager(&self) -> bool {
        let norm = |s: &str| s.to_ascii_uppercase().replace(['_', ' ', '-'], "");
        norm(&self.bundle_type) == "SDDCMANAGER" || norm(&self.component).starts_with("SDDCMANAGER")
    }

    /// True for ESXi hosts (upgraded per cluster).
    pub fn is_esxi(&self) -> bool {
        let c = self.component.to_ascii_uppercase();
        c == "HOST" || c.starts_with("ESX")
    }
}

/// The upgradables for the target version plus the cluster ids ESXi upgrades need.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpgradablesSnapshot {
    /// In VCF's order.
    pub upgradables: Vec<UpgradableInfo>,
    /// Cluster ids from `GET /v1/upgradables/domains/{id}/clusters` (only fetched when an ESXi
    /// upgradable is available).
    pub cluster_ids: Vec<String>,
    /// How each of [`Self::cluster_ids`] is managed (from `GET /v1/clusters`).
    #[serde(default)]
    pub clusters: Vec<ClusterInfo>,
    /// The vLCM images in `GET /v1/personalities` (only fetched when one of the clusters is
    /// image-managed).
    #[serde(default)]
    pub personalities: Vec<PersonalityInfo>,
}

/// A cluster an ESXi upgrade covers, and how vSphere Lifecycle Manager manages it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Cluster id.
    pub id: String,
    /// Cluster name.
    pub name: String,
    /// Spec `Cluster.isImageBased`: managed by vLCM images (true) or baselines (false).
    pub image_based: bool,
}

/// A vLCM image (spec `Personality`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalityInfo {
    /// `personalityId`.
    pub id: String,
    /// `personalityName` (or `displayName`).
    pub name: String,
    /// ESXi version of its base image (`softwareInfo.baseImage.version`).
    pub esxi_version: String,
}

/// A VCF task that ended in failure, read with `GET /v1/tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedTask {
    /// The task's errors (and its sub-tasks'), one line each; the status when it has none.
    pub message: String,
    /// The spec's `Task.isRetryable`: `PATCH /v1/tasks/{id}` may run it again.
    pub retryable: bool,
}

/// Body of `POST /v1/upgrades`, reduced to what varies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeRequest {
    /// Bundle to apply (never a fallback bundle).
    pub bundle_id: String,
    /// `DOMAIN` or `CLUSTER`.
    pub resource_type: String,
    /// The domain id, or the cluster ids.
    pub resource_ids: Vec<String>,
    /// Create it as a draft so VCF's per-upgrade precheck can run before it is committed.
    #[serde(default)]
    pub draft: bool,
    /// vLCM image per image-managed cluster id, sent as that resource's
    /// `personalitySpec.personalityId`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub personalities: BTreeMap<String, String>,
    /// A vCenter major upgrade's user input (`vcenterUpgradeUserInputSpecs`); boxed, as it is
    /// rare and the request travels inside every upgrade phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcenter_input: Option<Box<VcenterInput>>,
}

/// The `vcenterUpgradeUserInputSpecs` entry of a vCenter major upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcenterInput {
    /// The vCenter's resource id, when VCF named it.
    pub resource_id: Option<String>,
    /// The temporary network of the new appliance, from `[upgrade.temporary_network.<domain>]`.
    pub temporary_network: crate::config::TemporaryNetwork,
}

/// Progress of a VCF operation (upgrade, check run, validation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpState {
    /// Still running (or pending/scheduled).
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished otherwise; the text says how.
    Failed(String),
    /// An upgrade created in draft mode: nothing runs until it is committed.
    Draft,
}

/// An upgrade found by listing `GET /v1/upgrades` (re-attach after a crash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundUpgrade {
    /// Upgrade id (= task id).
    pub id: String,
    /// Its state.
    pub state: OpState,
}

/// One resource of a check-set query, as sent back in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResource {
    /// Resource id.
    pub resource_id: String,
    /// Resource name.
    pub resource_name: String,
    /// Resource type, e.g. `VCENTER`.
    pub resource_type: String,
    /// Its upgrade target from the release BOM (sent as `resourceTargetVersion`).
    #[serde(default)]
    pub target_version: Option<String>,
    /// Check sets offered for it.
    pub check_set_ids: Vec<String>,
    /// The query result entry as received (domain block etc.), passed back verbatim.
    pub raw: serde_json::Value,
}

/// Result of `POST /v1/system/check-sets/queries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckQuery {
    /// Query id.
    pub query_id: String,
    /// Resources to check.
    pub resources: Vec<CheckResource>,
}

/// Severity of a precheck finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    /// Blocks the upgrade in VCF's eyes (`ERROR`, `CRITICAL`).
    Error,
    /// Needs attention (`WARNING`).
    Warning,
}

/// One error or warning of a check-set run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: FindingSeverity,
    /// Resource the check ran on.
    pub resource: String,
    /// Check name.
    pub check: String,
    /// What was found.
    pub message: String,
    /// What to do about it.
    pub remediation: Option<String>,
}

/// A polled check-set run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunReport {
    /// Running / finished.
    pub state: OpState,
    /// Percentage reported by VCF.
    pub percent: Option<u8>,
    /// Errors and warnings (complete once finished).
    pub findings: Vec<Finding>,
}

/// A final-validation result.
///
/// The spec's `Validation` says whether it ran (`executionStatus`) and what it found
/// (`resultStatus`); success needs both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Validation id.
    pub id: String,
    /// `executionStatus` as sent.
    pub execution_status: String,
    /// `resultStatus` as sent (`UNKNOWN` when absent).
    #[serde(default)]
    pub result_status: String,
    /// `IN_PROGRESS` / `CANCELLATION_IN_PROGRESS` → still running.
    pub running: bool,
    /// Ran to the end (`COMPLETED`) and passed: `resultStatus` `SUCCEEDED`, or
    /// `FAILED_WITH_WARNINGS` (9.x: `WARNING`), whose warnings are in [`Self::warnings`].
    pub completed: bool,
    /// Failed checks, for the log: description, severity, error message and remediation.
    pub problems: Vec<String>,
    /// Checks that passed with a warning, for the log (same form as `problems`).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The SDDC Manager operations the flow needs. Every method is a few requests at most and maps
/// errors to [`ApiFailure`].
#[async_trait]
pub trait VcfApi: Send + Sync + 'static {
    /// The domain's current version and its next applicable release (`None` when up to date).
    async fn next_release(&self, domain_id: &str) -> ApiResult<ReleaseCheck>;
    /// Every bundle of `target` including fallback bundles, with download state.
    async fn release_bundles(&self, target: &TargetRelease) -> ApiResult<Vec<BundleInfo>>;
    /// Current download state of one bundle.
    async fn bundle_state(&self, bundle_id: &str) -> ApiResult<DownloadState>;
    /// `PATCH /v1/bundles/{id}` with `downloadNow`.
    async fn start_download(&self, bundle_id: &str) -> ApiResult<()>;
    /// `PATCH /v1/releases/domains/{id}` with only the target version (not sent when
    /// `GET /v1/releases/domains/{id}` already shows it).
    async fn set_target_version(&self, domain_id: &str, version: &str) -> ApiResult<()>;
    /// Upgradables for the target version (plus cluster ids when ESXi is available).
    async fn upgradables(&self, domain_id: &str, version: &str) -> ApiResult<UpgradablesSnapshot>;
    /// `POST /v1/upgrades`; returns the upgrade id.
    async fn start_upgrade(&self, request: &UpgradeRequest) -> ApiResult<String>;
    /// The JSON body [`Self::start_upgrade`] sends for `request` (nothing is sent). The plan
    /// shows it; the default is the request itself, for operations without a wire format.
    fn upgrade_body(&self, request: &UpgradeRequest) -> serde_json::Value {
        serde_json::to_value(request).unwrap_or_default()
    }
    /// `GET /v1/upgrades/{id}`.
    async fn upgrade_state(&self, upgrade_id: &str) -> ApiResult<OpState>;
    /// `POST /v1/upgrades/{id}/prechecks`; returns the precheck id.
    async fn start_upgrade_precheck(&self, upgrade_id: &str) -> ApiResult<String>;
    /// `GET /v1/upgrades/{id}/prechecks/{precheckId}`.
    async fn upgrade_precheck(
        &self,
        upgrade_id: &str,
        precheck_id: &str,
    ) -> ApiResult<CheckRunReport>;
    /// `PATCH /v1/upgrades/{id}` with `upgradeNow`: starts a draft upgrade.
    async fn commit_upgrade(&self, upgrade_id: &str) -> ApiResult<()>;
    /// `GET /v1/tasks/{id}` of a task that failed: its errors and whether VCF can retry it.
    async fn failed_task(&self, task_id: &str) -> ApiResult<FailedTask>;
    /// `GET /v1/tasks/{id}`: the state of the task behind an operation (an upgrade, a
    /// per-upgrade precheck, a check-set run), read when the operation's own answers could
    /// not be.
    async fn task_state(&self, task_id: &str) -> ApiResult<OpState>;
    /// `PATCH /v1/tasks/{id}`: runs a failed, retryable task again.
    async fn retry_task(&self, task_id: &str) -> ApiResult<()>;
    /// A non-failed upgrade of `bundle_id` on one of `resource_ids` (re-attach after a crash
    /// between the request and persisting its id).
    async fn find_upgrade(
        &self,
        bundle_id: &str,
        resource_ids: &[String],
    ) -> ApiResult<Option<FoundUpgrade>>;
    /// `GET /v1/domains` answers with a fresh login (SDDC Manager is back).
    async fn api_ready(&self) -> bool;
    /// `POST /v1/system/check-sets/queries` for the domain (UPGRADE), twice: once to discover
    /// the resources, then with each resource's `resourceTargetVersion` from `target`'s BOM.
    async fn query_check_sets(
        &self,
        domain_id: &str,
        target: &TargetRelease,
    ) -> ApiResult<CheckQuery>;
    /// `POST /v1/system/check-sets`; returns the run id.
    async fn start_check_run(
        &self,
        query: &CheckQuery,
        target: &TargetRelease,
    ) -> ApiResult<String>;
    /// A check-set run started for this domain since `since` (re-attach after a crash).
    async fn find_check_run(
        &self,
        domain_id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<Option<String>>;
    /// `GET /v1/system/check-sets/{runId}`.
    async fn check_run(&self, run_id: &str) -> ApiResult<CheckRunReport>;
    /// `POST /v1/releases/domains/{id}/validations` with only the target version.
    async fn start_validation(&self, domain_id: &str, version: &str)
    -> ApiResult<ValidationReport>;
    /// `GET /v1/releases/domains/validations/{id}`.
    async fn validation(&self, validation_id: &str) -> ApiResult<ValidationReport>;
    /// `GET /v1/domains`: every domain, with whether it is the management domain (Upgrade All
    /// Domains upgrades that one first). The default says the operation is not available.
    async fn domains(&self) -> ApiResult<Vec<(crate::notify::DomainRef, bool)>> {
        Err(ApiFailure::permanent(
            "listing the domains is not available",
        ))
    }
}
