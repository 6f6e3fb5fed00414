//! [`Phase`]: where a domain's upgrade flow is, with the data that phase needs to continue
//! (ids of downloads, check runs and upgrades; deadlines as wall-clock times) so a restarted
//! bridge can re-attach instead of starting again. Every active phase carries the
//! [`TargetRelease`] it installs, so no step of a flow can lack it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{CheckQuery, DownloadState, TargetRelease, UpgradeRequest};

/// Why bundles are being downloaded; decides what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadPurpose {
    /// First step of an upgrade flow; then the target version is set.
    Upgrade,
    /// Bundles only the new SDDC Manager lists; then the upgradables are inspected again.
    AfterSddcManager,
    /// Download Bundles button; then back to idle.
    DownloadOnly,
}

/// Whether this flow asked VCF to download a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadRequest {
    /// Not asked (VCF had it, or it was already downloading).
    None,
    /// The PATCH was (perhaps) sent, no answer persisted yet.
    Sent,
    /// VCF accepted the PATCH.
    Confirmed,
}

/// One bundle followed during a download phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleTrack {
    /// Bundle id.
    pub id: String,
    /// Component it carries.
    pub component: String,
    /// Fallback bundle (downloaded, never applied).
    pub fallback: bool,
    /// Last known download state.
    pub state: DownloadState,
    /// What this flow asked.
    pub request: DownloadRequest,
}

/// Steps of the SDDC Manager self-upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SddcStep {
    /// `POST /v1/upgrades` sent or about to be; id unknown.
    Starting,
    /// Polling the upgrade.
    Running,
    /// The API stopped answering or the upgrade reported done: waiting for `GET /v1/domains`.
    WaitingForApi,
    /// API is back; waiting a little more before trusting it.
    Settling {
        /// End of the settle wait.
        until: DateTime<Utc>,
    },
    /// Reading the upgrade's final status.
    ReadingFinal,
}

/// Steps of the component upgrade loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum UpgradeStep {
    /// Listing the upgradables to pick the next AVAILABLE one.
    Listing,
    /// The ESXi upgrade of vLCM image-managed clusters waits until SDDC Manager has an image
    /// (`GET /v1/personalities`) of the target ESXi version; the upgradables and images are
    /// listed again at every upgrade poll.
    WaitingForImage {
        /// Names of the image-managed clusters without a matching image.
        clusters: Vec<String>,
        /// The target BOM's ESXi version the image must carry.
        esxi_version: String,
    },
    /// The next component upgrade waits for the domain's maintenance window (nothing runs in
    /// VCF meanwhile); when it opens, the upgradables are listed again.
    WaitingForWindow {
        /// When the next window opens.
        opens_at: DateTime<Utc>,
    },
    /// `POST /v1/upgrades` sent or about to be; id unknown.
    Starting {
        /// What is being started.
        request: UpgradeRequest,
        /// Component name.
        component: String,
        /// Following an upgrade VCF already runs that this flow did not start (its state was
        /// lost or moved aside): it is looked up, never posted.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        adopt: bool,
    },
    /// The upgrade exists as a draft; VCF's per-upgrade precheck runs on it.
    Prechecking {
        /// Upgrade id.
        upgrade_id: String,
        /// What it will run.
        request: UpgradeRequest,
        /// Component name.
        component: String,
        /// Precheck id once known.
        precheck_id: Option<String>,
        /// When the precheck times out.
        deadline: DateTime<Utc>,
    },
    /// Committing the draft (`PATCH /v1/upgrades/{id}` upgradeNow).
    Committing {
        /// Upgrade id.
        upgrade_id: String,
        /// What it runs.
        request: UpgradeRequest,
        /// Component name.
        component: String,
    },
    /// `PATCH /v1/tasks/{id}` on the failed upgrade task (Retry Upgrade); then it is polled
    /// again as [`Self::Running`].
    Retrying {
        /// Upgrade id (= its task id).
        upgrade_id: String,
        /// What it runs.
        request: UpgradeRequest,
        /// Component name.
        component: String,
    },
    /// Polling one upgrade.
    Running {
        /// Upgrade id.
        upgrade_id: String,
        /// What runs.
        request: UpgradeRequest,
        /// Component name.
        component: String,
        /// When it times out.
        deadline: DateTime<Utc>,
    },
}

/// The component upgrade whose VCF task failed, kept with the failed flow so Retry Upgrade can
/// run that task again (`PATCH /v1/tasks/{id}`) and continue the flow there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedUpgrade {
    /// Upgrade id (= its task id).
    pub upgrade_id: String,
    /// What it runs.
    pub request: UpgradeRequest,
    /// Component name.
    pub component: String,
    /// Release the flow installs.
    pub target: TargetRelease,
    /// The task's `isRetryable`, once read (`false` until then).
    pub retryable: bool,
}

/// The two steps of [`Phase::SettingTarget`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TargetCheck {
    /// `POST /v1/releases/domains/{id}/validations`: can the domain go to the target at all?
    /// Nothing in VCF has changed yet.
    Validating {
        /// Validation id once VCF has accepted it.
        validation_id: Option<String>,
        /// When the validation times out.
        deadline: DateTime<Utc>,
    },
    /// `PATCH /v1/releases/domains/{id}` with the validated target.
    #[default]
    Setting,
}

/// Where a flow is. Each variant maps to one status string (see [`Phase::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// `waiting_for_initiation`.
    Idle,
    /// `update_process_started` (or `downloading_bundles` for the other purposes): listing the
    /// release's bundles.
    Preparing {
        /// Release being installed.
        target: TargetRelease,
        /// Why.
        purpose: DownloadPurpose,
    },
    /// `downloading_bundles`.
    DownloadingBundles {
        /// Release being installed.
        target: TargetRelease,
        /// Why.
        purpose: DownloadPurpose,
        /// Every bundle followed.
        bundles: Vec<BundleTrack>,
        /// When the downloads time out.
        deadline: DateTime<Utc>,
    },
    /// `setting_new_vcf_version_target`: VCF validates the target for the domain first, then it
    /// is set.
    SettingTarget {
        /// Release being installed.
        target: TargetRelease,
        /// Validating the target, or setting it. Flows saved before the validation existed
        /// resume by setting it.
        #[serde(default)]
        check: TargetCheck,
    },
    /// `setting_new_vcf_version_target` (detail `inspecting_upgradables`): is SDDC Manager first?
    InspectingUpgradables {
        /// Release being installed.
        target: TargetRelease,
    },
    /// `downloading_sddcManager_bundle`.
    DownloadingSddcManagerBundle {
        /// Release being installed.
        target: TargetRelease,
        /// The SDDC Manager bundle.
        bundle: BundleTrack,
        /// When the download times out.
        deadline: DateTime<Utc>,
    },
    /// `upgrading_sddcManager`.
    UpgradingSddcManager {
        /// Release being installed.
        target: TargetRelease,
        /// The SDDC Manager bundle being applied.
        bundle_id: String,
        /// Upgrade id once known.
        upgrade_id: Option<String>,
        /// Where in the self-upgrade.
        step: SddcStep,
        /// Upper bound for the whole self-upgrade.
        deadline: DateTime<Utc>,
        /// The API was seen unavailable during this upgrade.
        outage_seen: bool,
    },
    /// `initializing_prechecks`: querying the check sets.
    InitializingPrechecks {
        /// Release being installed.
        target: TargetRelease,
    },
    /// `running_prechecks`: starting the check-set run.
    RunningPrechecks {
        /// Release being installed.
        target: TargetRelease,
        /// The query result to run.
        query: CheckQuery,
        /// When the run was requested (re-attach window).
        requested_at: DateTime<Utc>,
    },
    /// `evaluating_prechecks`: polling the run.
    EvaluatingPrechecks {
        /// Release being installed.
        target: TargetRelease,
        /// Check-set run id.
        run_id: String,
        /// When the run times out.
        deadline: DateTime<Utc>,
        /// Last progress reported.
        percent: Option<u8>,
    },
    /// `prechecks_done`.
    PrechecksDone {
        /// Release being installed.
        target: TargetRelease,
        /// Errors found.
        errors: u32,
        /// Warnings found.
        warnings: u32,
    },
    /// `waiting_for_alert_acknowledgement` (no timeout).
    WaitingForAck {
        /// Release being installed.
        target: TargetRelease,
        /// Errors found.
        errors: u32,
        /// Warnings found.
        warnings: u32,
    },
    /// `alerts_were_acknowledged`.
    AlertsAcknowledged {
        /// Release being installed.
        target: TargetRelease,
    },
    /// `starting_upgrades`.
    StartingUpgrades {
        /// Release being installed.
        target: TargetRelease,
        /// Where in the loop.
        step: UpgradeStep,
    },
    /// `starting_upgrades` with detail `final_validation`.
    Validating {
        /// Release being installed.
        target: TargetRelease,
        /// Validation id once known.
        validation_id: Option<String>,
        /// When it times out.
        deadline: DateTime<Utc>,
    },
    /// `successfully_completed`, shown until `hold_until`.
    Completed {
        /// When the flow returns to idle.
        hold_until: DateTime<Utc>,
    },
    /// `failed`.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Every status string, in flow order.
pub const STATUSES: [&str; 15] = [
    "waiting_for_initiation",
    "update_process_started",
    "downloading_bundles",
    "setting_new_vcf_version_target",
    "downloading_sddcManager_bundle",
    "upgrading_sddcManager",
    "initializing_prechecks",
    "running_prechecks",
    "evaluating_prechecks",
    "prechecks_done",
    "waiting_for_alert_acknowledgement",
    "alerts_were_acknowledged",
    "starting_upgrades",
    "successfully_completed",
    "failed",
];

// === impl Phase ===

impl Phase {
    /// The Upgrade Status string of this phase.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Idle => "waiting_for_initiation",
            Self::Preparing {
                purpose: DownloadPurpose::Upgrade,
                ..
            } => "update_process_started",
            Self::Preparing { .. } | Self::DownloadingBundles { .. } => "downloading_bundles",
            Self::SettingTarget { .. } | Self::InspectingUpgradables { .. } => {
                "setting_new_vcf_version_target"
            }
            Self::DownloadingSddcManagerBundle { .. } => "downloading_sddcManager_bundle",
            Self::UpgradingSddcManager { .. } => "upgrading_sddcManager",
            Self::InitializingPrechecks { .. } => "initializing_prechecks",
            Self::RunningPrechecks { .. } => "running_prechecks",
            Self::EvaluatingPrechecks { .. } => "evaluating_prechecks",
            Self::PrechecksDone { .. } => "prechecks_done",
            Self::WaitingForAck { .. } => "waiting_for_alert_acknowledgement",
            Self::AlertsAcknowledged { .. } => "alerts_were_acknowledged",
            Self::StartingUpgrades { .. } | Self::Validating { .. } => "starting_upgrades",
            Self::Completed { .. } => "successfully_completed",
            Self::Failed { .. } => "failed",
        }
    }

    /// Finer detail for the `phase_detail` attribute.
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            Self::Preparing {
                purpose: DownloadPurpose::AfterSddcManager,
                ..
            }
            | Self::DownloadingBundles {
                purpose: DownloadPurpose::AfterSddcManager,
                ..
            } => Some("after_sddc_manager"),
            Self::InspectingUpgradables { .. } => Some("inspecting_upgradables"),
            Self::SettingTarget {
                check: TargetCheck::Validating { .. },
                ..
            } => Some("validating_target"),
            Self::UpgradingSddcManager { step, .. } => Some(match step {
                SddcStep::Starting => "starting",
                SddcStep::Running => "running",
                SddcStep::WaitingForApi => "waiting_for_api",
                SddcStep::Settling { .. } => "settling",
                SddcStep::ReadingFinal => "reading_final_status",
            }),
            Self::StartingUpgrades { step, .. } => Some(match step {
                UpgradeStep::Listing => "listing_upgradables",
                UpgradeStep::WaitingForImage { .. } => "waiting_for_cluster_image",
                UpgradeStep::WaitingForWindow { .. } => "waiting_for_window",
                UpgradeStep::Starting { .. } => "starting_upgrade",
                UpgradeStep::Prechecking { .. } => "upgrade_precheck",
                UpgradeStep::Committing { .. } => "committing_upgrade",
                UpgradeStep::Retrying { .. } => "retrying_task",
                UpgradeStep::Running { .. } => "upgrading",
            }),
            Self::Validating { .. } => Some("final_validation"),
            _ => None,
        }
    }

    /// True while a flow runs (not idle, failed or completed).
    pub fn is_active(&self) -> bool {
        !matches!(
            self,
            Self::Idle | Self::Failed { .. } | Self::Completed { .. }
        )
    }

    /// True while a VCF upgrade task may be running (Abort is refused then).
    pub fn upgrade_task_running(&self) -> bool {
        matches!(
            self,
            Self::UpgradingSddcManager { .. }
                | Self::StartingUpgrades {
                    step: UpgradeStep::Starting { .. }
                        | UpgradeStep::Prechecking { .. }
                        | UpgradeStep::Committing { .. }
                        | UpgradeStep::Retrying { .. }
                        | UpgradeStep::Running { .. },
                    ..
                }
        )
    }

    /// The current wait's deadline, if the phase has one.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::DownloadingBundles { deadline, .. }
            | Self::DownloadingSddcManagerBundle { deadline, .. }
            | Self::UpgradingSddcManager { deadline, .. }
            | Self::EvaluatingPrechecks { deadline, .. }
            | Self::Validating { deadline, .. }
            | Self::SettingTarget {
                check: TargetCheck::Validating { deadline, .. },
                ..
            }
            | Self::StartingUpgrades {
                step:
                    UpgradeStep::Running { deadline, .. } | UpgradeStep::Prechecking { deadline, .. },
                ..
            } => Some(*deadline),
            _ => None,
        }
    }

    /// The release an active phase installs; `None` when idle, failed or completed.
    pub fn target(&self) -> Option<&TargetRelease> {
        match self {
            Self::Idle | Self::Completed { .. } | Self::Failed { .. } => None,
            Self::Preparing { target, .. }
            | Self::DownloadingBundles { target, .. }
            | Self::SettingTarget { target, .. }
            | Self::InspectingUpgradables { target }
            | Self::DownloadingSddcManagerBundle { target, .. }
            | Self::UpgradingSddcManager { target, .. }
            | Self::InitializingPrechecks { target }
            | Self::RunningPrechecks { target, .. }
            | Self::EvaluatingPrechecks { target, .. }
            | Self::PrechecksDone { target, .. }
            | Self::WaitingForAck { target, .. }
            | Self::AlertsAcknowledged { target }
            | Self::StartingUpgrades { target, .. }
            | Self::Validating { target, .. } => Some(target),
        }
    }

    /// A short name of the variant, for comparing "did the phase change".
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Preparing { .. } => "preparing",
            Self::DownloadingBundles { .. } => "downloading_bundles",
            Self::SettingTarget { .. } => "setting_target",
            Self::InspectingUpgradables { .. } => "inspecting_upgradables",
            Self::DownloadingSddcManagerBundle { .. } => "downloading_sddc_manager_bundle",
            Self::UpgradingSddcManager { .. } => "upgrading_sddc_manager",
            Self::InitializingPrechecks { .. } => "initializing_prechecks",
            Self::RunningPrechecks { .. } => "running_prechecks",
            Self::EvaluatingPrechecks { .. } => "evaluating_prechecks",
            Self::PrechecksDone { .. } => "prechecks_done",
            Self::WaitingForAck { .. } => "waiting_for_ack",
            Self::AlertsAcknowledged { .. } => "alerts_acknowledged",
            Self::StartingUpgrades { .. } => "starting_upgrades",
            Self::Validating { .. } => "validating",
            Self::Completed { .. } => "completed",
            Self::Failed { .. } => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CheckQuery, DownloadState};

    /// One phase of each kind a flow can be in.
    fn every_phase() -> Vec<Phase> {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let target = TargetRelease {
            version: "5.2.1.0".into(),
            current_version: "5.2.0.0".into(),
            release_date: None,
            bom: vec![],
        };
        let t = || target.clone();
        let bundle = BundleTrack {
            id: "b".into(),
            component: "SDDC_MANAGER".into(),
            fallback: false,
            state: DownloadState::InProgress,
            request: DownloadRequest::None,
        };
        let purposes = [
            DownloadPurpose::Upgrade,
            DownloadPurpose::AfterSddcManager,
            DownloadPurpose::DownloadOnly,
        ];
        let mut phases: Vec<Phase> = purposes
            .iter()
            .flat_map(|&purpose| {
                [
                    Phase::Preparing {
                        target: t(),
                        purpose,
                    },
                    Phase::DownloadingBundles {
                        target: t(),
                        purpose,
                        bundles: vec![bundle.clone()],
                        deadline: at,
                    },
                ]
            })
            .collect();
        phases.extend([
            Phase::Idle,
            Phase::SettingTarget {
                target: t(),
                check: TargetCheck::Validating {
                    validation_id: None,
                    deadline: at,
                },
            },
            Phase::SettingTarget {
                target: t(),
                check: TargetCheck::Setting,
            },
            Phase::InspectingUpgradables { target: t() },
            Phase::DownloadingSddcManagerBundle {
                target: t(),
                bundle: bundle.clone(),
                deadline: at,
            },
            Phase::UpgradingSddcManager {
                target: t(),
                bundle_id: "b".into(),
                upgrade_id: None,
                step: SddcStep::WaitingForApi,
                deadline: at,
                outage_seen: true,
            },
            Phase::InitializingPrechecks { target: t() },
            Phase::RunningPrechecks {
                target: t(),
                query: CheckQuery {
                    query_id: "q".into(),
                    resources: vec![],
                },
                requested_at: at,
            },
            Phase::EvaluatingPrechecks {
                target: t(),
                run_id: "r".into(),
                deadline: at,
                percent: None,
            },
            Phase::PrechecksDone {
                target: t(),
                errors: 0,
                warnings: 1,
            },
            Phase::WaitingForAck {
                target: t(),
                errors: 1,
                warnings: 0,
            },
            Phase::AlertsAcknowledged { target: t() },
            Phase::StartingUpgrades {
                target: t(),
                step: UpgradeStep::Listing,
            },
            Phase::Validating {
                target: t(),
                validation_id: None,
                deadline: at,
            },
            Phase::Completed { hold_until: at },
            Phase::Failed { reason: "x".into() },
        ]);
        for p in &phases {
            // Exhaustive on purpose: a new phase does not compile here until it is listed above.
            match p {
                Phase::Idle
                | Phase::Preparing { .. }
                | Phase::DownloadingBundles { .. }
                | Phase::SettingTarget { .. }
                | Phase::InspectingUpgradables { .. }
                | Phase::DownloadingSddcManagerBundle { .. }
                | Phase::UpgradingSddcManager { .. }
                | Phase::InitializingPrechecks { .. }
                | Phase::RunningPrechecks { .. }
                | Phase::EvaluatingPrechecks { .. }
                | Phase::PrechecksDone { .. }
                | Phase::WaitingForAck { .. }
                | Phase::AlertsAcknowledged { .. }
                | Phase::StartingUpgrades { .. }
                | Phase::Validating { .. }
                | Phase::Completed { .. }
                | Phase::Failed { .. } => {}
            }
        }
        phases
    }

    #[test]
    fn every_status_a_phase_reports_is_in_the_status_list() {
        for phase in every_phase() {
            let status = phase.status();
            assert!(
                STATUSES.contains(&status),
                "{status} ({phase:?}) missing from STATUSES {STATUSES:?}"
            );
        }
    }

    #[test]
    fn a_target_phase_saved_before_the_validation_step_resumes_by_setting_the_target() {
        let old = serde_json::json!({
            "phase": "setting_target",
            "target": {"version": "5.2.1.0", "current_version": "5.2.0.0", "release_date": null, "bom": []}
        });
        let phase: Phase = serde_json::from_value(old).expect("an old target phase loads");
        assert!(matches!(
            phase,
            Phase::SettingTarget {
                check: TargetCheck::Setting,
                ..
            }
        ));
        assert_eq!(phase.deadline(), None);
    }
}
