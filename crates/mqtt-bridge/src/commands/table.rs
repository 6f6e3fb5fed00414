//! Every command topic the bridge listens on, one row each.
//!
//! A row drives everything about its command: the topic it is parsed from
//! ([`crate::topics::Topics::parse_command`]), the payloads accepted on it
//! ([`super::validate`]), what each payload does, and, for a button, the button entity Home
//! Assistant shows ([`crate::ha::entities`] announces one per row with a [`ButtonEntity`]).
//! Adding a button is adding a row here, plus its handler when it is a new action.

use super::UpgradeAction;
use crate::ha::discovery::EntityCategory;

/// Which unit a command belongs to, and so where its topic lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandUnit {
    /// `<b>/<i>/bridge/<leaf>`.
    Bridge,
    /// `<b>/<i>/domain/<d>/<leaf>`.
    Domain,
}

/// An action the bridge performs itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeAction {
    /// Poll for updates now.
    CheckUpdates,
    /// Log in to SDDC Manager again.
    RefreshToken,
    /// Upgrade All Domains: the management domain first, then each VI domain.
    UpgradeAll,
    /// Retry Upgrade All: continue a failed or aborted Upgrade All Domains.
    RetryAll,
    /// Abort Upgrade All.
    AbortAll,
}

/// A readiness action (see [`crate::readiness`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadinessAction {
    /// Back Up Now: `POST /v1/backups/tasks`, then follow the task.
    BackUpNow,
    /// Retry the failed task whose id is the payload (`PATCH /v1/tasks/{id}`).
    RetryTask,
    /// The Override Readiness switch of the topic's domain.
    Override(bool),
}
/// The payload entry of a command that takes free text (the text entity's value).
pub const ANY_TEXT: &str = "*";

/// What an accepted payload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Does {
    /// A bridge action.
    Bridge(BridgeAction),
    /// An upgrade orchestrator command on the topic's domain.
    Orchestrator(UpgradeAction),
    /// A readiness action (only subscribed and announced with `readiness.enabled`).
    Readiness(ReadinessAction),
    /// New maintenance windows for the topic's domain (the payload is the text).
    SetWindows,
}

/// The payload placeholder of a command that takes a VCF task id as its payload.
pub const TASK_ID: &str = "<task id>";

/// The button entity announced for a command row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonEntity {
    /// Entity key: the end of its `unique_id` and `object_id` (`start_upgrade`).
    pub key: &'static str,
    /// Entity category, if any.
    pub category: Option<EntityCategory>,
}

/// One command topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// The unit whose topic root the leaf hangs under.
    pub unit: CommandUnit,
    /// Topic below the unit's root (`check_updates/set`, `upgrade/start/set`).
    pub leaf: &'static str,
    /// Accepted payloads (matched case-insensitively, surrounding whitespace ignored) and what
    /// each does; a switch lists its on payload first, then its off payload.
    pub payloads: &'static [(&'static str, Does)],
    /// What users know the command by (button name, refusal messages).
    pub label: &'static str,
    /// MDI icon of its button.
    pub icon: &'static str,
    /// The button entity to announce; `None` for the commands of the switch and update entities,
    /// which are rows of the entity tables.
    pub button: Option<ButtonEntity>,
}

use BridgeAction::{AbortAll, CheckUpdates, RefreshToken, RetryAll, UpgradeAll};
use CommandUnit::{Bridge, Domain};
use EntityCategory::Diagnostic;
use ReadinessAction::{BackUpNow, Override, RetryTask};
use UpgradeAction::{
    Abort, Acknowledge, DownloadBundles, Install, Plan, Retry, SetIgnoreAlerts, Start,
};

/// A button without an entity category.
const fn button(key: &'static str) -> Option<ButtonEntity> {
    Some(ButtonEntity {
        key,
        category: None,
    })
}

/// Every command, in the order buttons are announced.
// One row a command, kept compact so the table reads as one.
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command { unit: Bridge, leaf: "check_updates/set", label: "Check for updates",
        icon: "mdi:cloud-refresh", button: button("check_for_updates"),
        payloads: &[("PRESS", Does::Bridge(CheckUpdates))] },
    Command { unit: Bridge, leaf: "refresh_token/set", label: "Refresh Token",
        icon: "mdi:key-change",
        button: Some(ButtonEntity { key: "refresh_token", category: Some(Diagnostic) }),
        payloads: &[("PRESS", Does::Bridge(RefreshToken))] },
    // Upgrade All Domains (`upgrade_orchestrator::sequence`): management domain first, then
    // each VI domain; Retry continues where it stopped; Abort stops it.
    Command { unit: Bridge, leaf: "upgrade_all/start/set", label: "Upgrade All Domains",
        icon: "mdi:playlist-play", button: button("upgrade_all_domains"),
        payloads: &[("PRESS", Does::Bridge(UpgradeAll))] },
    Command { unit: Bridge, leaf: "upgrade_all/retry/set", label: "Retry Upgrade All",
        icon: "mdi:playlist-check", button: button("retry_upgrade_all"),
        payloads: &[("PRESS", Does::Bridge(RetryAll))] },
    Command { unit: Bridge, leaf: "upgrade_all/abort/set", label: "Abort Upgrade All",
        icon: "mdi:playlist-remove", button: button("abort_upgrade_all"),
        payloads: &[("PRESS", Does::Bridge(AbortAll))] },
    Command { unit: Domain, leaf: "upgrade/start/set", label: "Start Upgrade",
        icon: "mdi:play-circle", button: button("start_upgrade"),
        payloads: &[("PRESS", Does::Orchestrator(Start))] },
    Command { unit: Domain, leaf: "upgrade/acknowledge/set", label: "Acknowledge Alerts",
        icon: "mdi:check-decagram", button: button("acknowledge_alerts"),
        payloads: &[("PRESS", Does::Orchestrator(Acknowledge))] },
    Command { unit: Domain, leaf: "upgrade/download_bundles/set", label: "Download Bundles",
        icon: "mdi:download", button: button("download_bundles"),
        payloads: &[("PRESS", Does::Orchestrator(DownloadBundles))] },
    Command { unit: Domain, leaf: "upgrade/abort/set", label: "Abort Upgrade",
        icon: "mdi:stop-circle", button: button("abort_upgrade"),
        payloads: &[("PRESS", Does::Orchestrator(Abort))] },
    // What an upgrade would do, into the Upgrade Logs; reads SDDC Manager, changes nothing.
    Command { unit: Domain, leaf: "upgrade/plan/set", label: "Plan Upgrade",
        icon: "mdi:clipboard-list", button: button("plan_upgrade"),
        payloads: &[("PRESS", Does::Orchestrator(Plan))] },
    // Retries the VCF task that failed the flow (`PATCH /v1/tasks/{id}`) and continues there.
    Command { unit: Domain, leaf: "upgrade/retry/set", label: "Retry Upgrade",
        icon: "mdi:restart", button: button("retry_upgrade"),
        payloads: &[("PRESS", Does::Orchestrator(Retry))] },
    // The Ignore Alerts switch (a row of the UPGRADE entity table): past precheck alerts without
    // waiting for an acknowledgement.
    Command { unit: Domain, leaf: "ignore_alerts/set", label: "Ignore Alerts",
        icon: "mdi:alert-remove", button: None,
        payloads: &[("ON", Does::Orchestrator(SetIgnoreAlerts(true))),
                    ("OFF", Does::Orchestrator(SetIgnoreAlerts(false)))] },
    // Back Up Now: an SDDC Manager backup (`POST /v1/backups/tasks`), followed like any task.
    Command { unit: Bridge, leaf: "backup/set", label: "Back Up Now",
        icon: "mdi:backup-restore", button: button("back_up_now"),
        payloads: &[("PRESS", Does::Readiness(BackUpNow))] },
    // Retries one failed VCF task (`PATCH /v1/tasks/{id}`): the payload is the task id, as
    // listed in the Failed Tasks attributes. No button: one topic serves every task.
    Command { unit: Bridge, leaf: "task_retry/set", label: "Retry Task",
        icon: "mdi:restart", button: None,
        payloads: &[(TASK_ID, Does::Readiness(RetryTask))] },
    // The Override Readiness switch (a row of the READINESS_DOMAIN entity table): Start Upgrade
    // on a `blocked` domain goes ahead, and the upgrade log says so.
    Command { unit: Domain, leaf: "override_readiness/set", label: "Override Readiness",
        icon: "mdi:shield-off", button: None,
        payloads: &[("ON", Does::Readiness(Override(true))),
                    ("OFF", Does::Readiness(Override(false)))] },
    // The Maintenance Windows text (a row of the UPGRADE entity table): any text, read as
    // windows by `upgrade_orchestrator::windows::parse_list`.
    Command { unit: Domain, leaf: "upgrade/windows/set", label: "Maintenance Windows",
        icon: "mdi:calendar-clock", button: None,
        payloads: &[(ANY_TEXT, Does::SetWindows)] },
    // Install on the update entity (a row of the UPGRADE entity table): Start Upgrade, when
    // `upgrade.allow_update_install` is set.
    Command { unit: Domain, leaf: "update/install", label: "Install",
        icon: "mdi:update", button: None,
        payloads: &[("install", Does::Orchestrator(Install))] },
];

impl Command {
    /// True for the readiness commands (Back Up Now, Retry Task, Override Readiness): they
    /// exist only with `readiness.enabled`.
    pub fn is_readiness(&self) -> bool {
        self.payloads
            .iter()
            .any(|(_, does)| matches!(does, Does::Readiness(_)))
    }
}

/// The command whose topic leaf is `leaf` (`upgrade/start/set`).
pub fn command(leaf: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.leaf == leaf)
}
