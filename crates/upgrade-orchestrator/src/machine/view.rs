//! The [`FlowView`] published for a [`FlowState`]: status, detail, component and progress.

use super::FlowState;
use super::common::count;
use crate::api::DownloadState;
use crate::names::component_name;
use crate::notify::FlowView;
use crate::phase::{Phase, UpgradeStep};

// === impl FlowState ===

impl FlowState {
    /// The published view of this state.
    pub fn view(&self) -> FlowView {
        let (component, done, total) = match &self.phase {
            Phase::DownloadingBundles { bundles, .. } => (
                None,
                Some(count(
                    bundles.iter().filter(|b| b.state == DownloadState::Done),
                )),
                Some(count(bundles.iter())),
            ),
            Phase::DownloadingSddcManagerBundle { .. } | Phase::UpgradingSddcManager { .. } => {
                (Some("SDDC Manager".to_owned()), None, None)
            }
            Phase::StartingUpgrades { step, .. } => {
                let comp = match step {
                    UpgradeStep::Listing | UpgradeStep::WaitingForWindow { .. } => None,
                    UpgradeStep::WaitingForImage { .. } => Some("ESXi".to_owned()),
                    UpgradeStep::Starting { component, .. }
                    | UpgradeStep::Prechecking { component, .. }
                    | UpgradeStep::Committing { component, .. }
                    | UpgradeStep::Retrying { component, .. }
                    | UpgradeStep::Running { component, .. } => {
                        Some(component_name(component).into_owned())
                    }
                };
                (comp, Some(self.upgrades_done), Some(self.upgrades_total))
            }
            Phase::Validating { .. } => (None, Some(self.upgrades_done), Some(self.upgrades_total)),
            _ => (None, None, None),
        };
        let blocked = matches!(
            self.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Listing,
                ..
            }
        ) && !self.blocked.is_empty();
        let phase_detail = if blocked {
            Some("blocked")
        } else {
            self.phase.detail()
        };
        FlowView {
            domain_id: self.domain.id.clone(),
            domain_name: self.domain.name.clone(),
            status: self.phase.status().to_owned(),
            phase_detail: phase_detail.map(str::to_owned),
            mode: self.download_only.then(|| "download_only".to_owned()),
            target_version: self.target_version.clone(),
            component,
            progress_done: done,
            progress_total: total,
            progress_percent: self.percent(),
            started_at: self.started_at,
            deadline: self.phase.deadline(),
            last_error: self.last_error.clone(),
            state_error: None,
            retryable: self.retryable().is_some(),
            blocked_reasons: if blocked {
                self.blocked.clone()
            } else {
                Vec::new()
            },
            ignore_alerts: self.ignore_alerts,
            next_window_start: match &self.phase {
                Phase::StartingUpgrades {
                    step: UpgradeStep::WaitingForWindow { opens_at },
                    ..
                } => Some(*opens_at),
                _ => None,
            },
            maintenance_windows: Vec::new(),
            in_progress: self.is_active(),
            logs_markdown: self.logbook.render(),
            log_entries: self.logbook.len(),
            from_version: self.from_version.clone(),
            findings: self.findings.clone(),
            history: self.history.clone(),
        }
    }

    /// Rough overall progress of the flow.
    fn percent(&self) -> Option<u8> {
        let p = match &self.phase {
            Phase::Idle | Phase::Failed { .. } => return None,
            Phase::Preparing { .. } => 0,
            Phase::DownloadingBundles { bundles, .. } => {
                let total = bundles.len().max(1);
                let done = bundles
                    .iter()
                    .filter(|b| b.state == DownloadState::Done)
                    .count();
                if self.download_only {
                    done * 100 / total
                } else {
                    done * 15 / total
                }
            }
            Phase::SettingTarget { .. } | Phase::InspectingUpgradables { .. } => 15,
            Phase::DownloadingSddcManagerBundle { .. } => 18,
            Phase::UpgradingSddcManager { .. } => 20,
            Phase::InitializingPrechecks { .. } | Phase::RunningPrechecks { .. } => 30,
            Phase::EvaluatingPrechecks { percent, .. } => {
                30 + usize::from(percent.unwrap_or(0)) / 10
            }
            Phase::PrechecksDone { .. }
            | Phase::WaitingForAck { .. }
            | Phase::AlertsAcknowledged { .. } => 40,
            Phase::StartingUpgrades { .. } => {
                let total = self.upgrades_total.max(1) as usize;
                40 + (self.upgrades_done as usize).min(total) * 55 / total
            }
            Phase::Validating { .. } => 95,
            Phase::Completed { .. } => 100,
        };
        u8::try_from(p.min(100)).ok()
    }
}
