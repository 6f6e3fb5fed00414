//! What the orchestrator tells the outside world: commands it accepts, the [`FlowView`] it
//! publishes after every transition, and one-off [`Notification`]s, both delivered through a
//! [`FlowObserver`] the bridge implements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::Finding;
use crate::history::UpgradeRecord;

/// A workload domain as the bridge knows it: VCF id plus display name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DomainRef {
    /// VCF domain id (UUID).
    pub id: String,
    /// Domain name, e.g. `sfo-m01`.
    pub name: String,
}

/// A button press or switch change for one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Start Upgrade: run the whole flow to the next applicable release.
    Start,
    /// Acknowledge Alerts: continue after precheck warnings/errors.
    Acknowledge,
    /// Abort Upgrade: end a waiting flow as `failed` ("aborted").
    Abort,
    /// Retry Upgrade: run the VCF task that failed the flow again (`PATCH /v1/tasks/{id}`)
    /// and continue the flow at that component.
    Retry,
    /// Download Bundles: download every bundle of the next release, nothing else.
    DownloadBundles,
    /// Ignore Alerts switch.
    SetIgnoreAlerts(bool),
    /// Plan Upgrade: log what an upgrade would do, changing nothing in VCF.
    Plan,
}

impl Command {
    /// True for the commands that change something in VCF or in a flow (all but Plan).
    pub fn is_mutating(self) -> bool {
        !matches!(self, Self::Plan)
    }
}

/// The answer to a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CommandOutcome {
    /// The command was acted upon.
    Accepted,
    /// The command was refused; `reason` is suitable for a user-facing message.
    Rejected {
        /// Why, in one sentence.
        reason: String,
    },
}

impl CommandOutcome {
    /// True for [`CommandOutcome::Accepted`].
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted)
    }
}

/// Everything a dashboard needs about one domain's upgrade flow; published (retained) as JSON on
/// `<domain>/upgrade/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowView {
    /// VCF domain id.
    pub domain_id: String,
    /// Domain name.
    pub domain_name: String,
    /// One of the status strings (`waiting_for_initiation` … `failed`).
    pub status: String,
    /// Finer detail inside a status, e.g. `final_validation`, `api_unavailable`, `settling`.
    pub phase_detail: Option<String>,
    /// `download_only` for a Download Bundles flow.
    pub mode: Option<String>,
    /// The VCF version being installed.
    pub target_version: Option<String>,
    /// The component being upgraded, by its public name ([`crate::names::component_name`]:
    /// `NSX`, `vCenter`, `ESXi`, `SDDC Manager`).
    pub component: Option<String>,
    /// Items finished in this phase (bundles or component upgrades).
    pub progress_done: Option<u32>,
    /// Items in this phase.
    pub progress_total: Option<u32>,
    /// Overall progress of the flow, 0–100.
    pub progress_percent: Option<u8>,
    /// When the flow started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the current wait times out (`timeout` attribute of `evaluating_prechecks`).
    pub deadline: Option<DateTime<Utc>>,
    /// Why the flow failed (status `failed`).
    pub last_error: Option<String>,
    /// Why the flow's state could not be saved in `state_dir` (read-only, full, gone), while
    /// it cannot; the flow starts nothing new in VCF meanwhile. `None` when the state is safe.
    #[serde(default)]
    pub state_error: Option<String>,
    /// The failed flow's VCF task can be retried (Retry Upgrade).
    #[serde(default)]
    pub retryable: bool,
    /// Why no upgradable is AVAILABLE (`phase_detail` `blocked`), one line each.
    #[serde(default)]
    pub blocked_reasons: Vec<String>,
    /// The domain's Ignore Alerts switch.
    pub ignore_alerts: bool,
    /// When the maintenance window the next component upgrade waits for opens
    /// (`phase_detail` `waiting_for_window`).
    #[serde(default)]
    pub next_window_start: Option<DateTime<Utc>>,
    /// The domain's maintenance windows in effect (`Sat 22:00-Sun 04:00`; empty: any time).
    #[serde(default)]
    pub maintenance_windows: Vec<String>,
    /// True while a flow runs (anything but idle, failed, successfully completed).
    pub in_progress: bool,
    /// The markdown log (`No Messages` style default).
    pub logs_markdown: String,
    /// Entries in the log.
    pub log_entries: usize,
    /// The domain's VCF version when the flow started.
    #[serde(default)]
    pub from_version: Option<String>,
    /// The findings of this flow's check-set run, errors first.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Finished flows, newest first (bounded).
    #[serde(default)]
    pub history: Vec<UpgradeRecord>,
}

/// Kinds of one-off messages; serialised snake_case as the HA `event_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A flow started.
    UpgradeStarted,
    /// Start pressed but the domain is on the newest applicable release.
    NoUpdateAvailable,
    /// Start pressed while a flow runs on this SDDC Manager.
    AlreadyRunning,
    /// Prechecks reported alerts and Ignore Alerts is off.
    AcknowledgementNeeded,
    /// The upgrade finished successfully.
    Completed,
    /// The flow failed.
    Failed,
    /// The flow was aborted by the user.
    Aborted,
    /// A Download Bundles flow finished.
    DownloadsCompleted,
    /// Anything else worth telling the user (e.g. a refused command).
    Info,
}

impl NotificationKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::UpgradeStarted,
        Self::NoUpdateAvailable,
        Self::AlreadyRunning,
        Self::AcknowledgementNeeded,
        Self::Completed,
        Self::Failed,
        Self::Aborted,
        Self::DownloadsCompleted,
        Self::Info,
    ];

    /// The wire name of every kind: the `event_types` an event entity announces.
    pub const NAMES: [&'static str; 9] = {
        let mut names = [""; 9];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The snake_case name used on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UpgradeStarted => "upgrade_started",
            Self::NoUpdateAvailable => "no_update_available",
            Self::AlreadyRunning => "already_running",
            Self::AcknowledgementNeeded => "acknowledgement_needed",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::DownloadsCompleted => "downloads_completed",
            Self::Info => "info",
        }
    }
}

/// A one-off message for the HA `event` entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// What happened.
    pub kind: NotificationKind,
    /// Human-readable text.
    pub message: String,
}

impl Notification {
    /// Builds a notification.
    pub fn new(kind: NotificationKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Receives flow updates; implemented by the bridge. Called from the orchestrator's tasks, so
/// implementations must not block for long (queue the publish instead).
pub trait FlowObserver: Send + Sync + 'static {
    /// The flow of `view.domain_id` changed (called after every transition).
    fn flow_changed(&self, view: &FlowView);
    /// A one-off notification for `domain`.
    fn notify(&self, domain: &DomainRef, notification: &Notification);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_with_its_wire_name() {
        // Exhaustive on purpose: a new kind does not compile here until it is in `ALL`.
        let position = |k: NotificationKind| match k {
            NotificationKind::UpgradeStarted
            | NotificationKind::NoUpdateAvailable
            | NotificationKind::AlreadyRunning
            | NotificationKind::AcknowledgementNeeded
            | NotificationKind::Completed
            | NotificationKind::Failed
            | NotificationKind::Aborted
            | NotificationKind::DownloadsCompleted
            | NotificationKind::Info => NotificationKind::ALL.iter().position(|a| *a == k),
        };
        for (i, kind) in NotificationKind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), Some(i));
            let wire = serde_json::to_value(kind).expect("serialises");
            assert_eq!(wire, NotificationKind::NAMES[i]);
        }
    }

    #[test]
    fn kinds_serialise_snake_case() {
        for kind in [
            NotificationKind::UpgradeStarted,
            NotificationKind::NoUpdateAvailable,
            NotificationKind::AlreadyRunning,
            NotificationKind::AcknowledgementNeeded,
            NotificationKind::DownloadsCompleted,
        ] {
            let json = serde_json::to_string(&kind).expect("serialise");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
