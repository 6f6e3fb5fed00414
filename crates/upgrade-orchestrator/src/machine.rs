//! The pure upgrade state machine: [`step`] takes a [`FlowState`], an [`Event`] and the current
//! time and returns the next state plus the [`Effect`]s the driver must perform.
//!
//! Nothing here does I/O or reads the clock, so every transition, timeout and guard is unit- and
//! property-testable. Each transition emits notifications plus **at most one** action; the
//! action's result comes back as the next event. [`Event::Tick`] (and [`Event::Resumed`]) mean
//! "do the next thing for the current state"; that next thing is always safe to repeat because
//! it re-attaches by id (or by listing) before starting anything in VCF.
//!
//! # Layout
//! This file is the table of contents: the state, the [`Event`] and [`Effect`] tables, the one
//! guard that decides whether an event is valid for the current phase (`guard`), and the
//! dispatch that hands each phase's events to its handler:
//! - `machine/downloads.rs`: `Preparing`, `DownloadingBundles`, `SettingTarget`;
//! - `machine/sddc_manager.rs`: `InspectingUpgradables`, `DownloadingSddcManagerBundle`,
//!   `UpgradingSddcManager`;
//! - `machine/prechecks.rs`: `InitializingPrechecks` through `AlertsAcknowledged`;
//! - `machine/upgrades.rs`: `StartingUpgrades` (the component upgrade loop);
//! - `machine/blocked.rs`: why no upgradable is AVAILABLE (`phase_detail` `blocked`);
//! - `machine/retry.rs`: a failed upgrade task remembered with the failed flow, and Retry
//!   Upgrade running it again (`PATCH /v1/tasks/{id}`);
//! - `machine/validation.rs`: `Validating` and `Completed`;
//! - `machine/commands.rs`: the buttons that are not tied to one phase (Start, Abort, Ignore
//!   Alerts, Plan Upgrade);
//! - `machine/common.rs`: transitions, failure, the one retry rule and time helpers;
//! - `machine/window.rs`: the component loop waiting for the domain's maintenance window
//!   (`phase_detail` `waiting_for_window`) and the windows set from Home Assistant;
//! - `machine/view.rs`: the [`FlowView`](crate::notify::FlowView) published for a state.

mod blocked;
mod commands;
mod common;
mod downloads;
mod prechecks;
mod retry;
mod sddc_manager;
mod upgrades;
mod validation;
mod view;
mod window;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{
    ApiResult, BundleInfo, CheckQuery, CheckRunReport, DownloadState, FailedTask, Finding,
    FoundUpgrade, OpState, TargetRelease, UpgradablesSnapshot, UpgradeRequest, ValidationReport,
};
use crate::config::OrchestratorConfig;
use crate::history::{self, ComponentTiming, RunResult, UpgradeRecord};
use crate::logbook::{LogLevel, Logbook};
use crate::notify::{DomainRef, Notification};
use crate::phase::{FailedUpgrade, Phase, SddcStep, TargetCheck, UpgradeStep};
use crate::windows::Window;

pub use common::humantime_str;
pub(crate) use common::{MAX_SDDC_UPGRADES, first_candidate, remaining};
pub(crate) use sddc_manager::sddc_manager_request;
pub(crate) use upgrades::{cluster_images, component_request, vcenter_input};

/// Everything persisted about one domain's flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    /// The domain.
    pub domain: DomainRef,
    /// Where the flow is (an active phase carries the release it installs).
    pub phase: Phase,
    /// Download Bundles flow (no upgrade).
    pub download_only: bool,
    /// Version of the release of the latest flow, shown until the next flow starts.
    #[serde(default)]
    pub target_version: Option<String>,
    /// When the flow started.
    pub started_at: Option<DateTime<Utc>>,
    /// Why the last flow failed.
    pub last_error: Option<String>,
    /// Ignore Alerts switch.
    pub ignore_alerts: bool,
    /// Fallback bundle ids: downloaded, never applied.
    pub fallback_bundles: BTreeSet<String>,
    /// Every release bundle seen in this flow.
    pub known_bundles: BTreeSet<String>,
    /// Bundles applied by this flow, in order.
    pub applied_bundles: Vec<String>,
    /// SDDC Manager upgrades done in this flow.
    pub sddc_upgrades: u32,
    /// The check-set run finished and its alerts were handled.
    pub prechecks_passed: bool,
    /// Component upgrades finished.
    pub upgrades_done: u32,
    /// Component upgrades expected (grows if VCF offers more).
    pub upgrades_total: u32,
    /// Consecutive transient failures in the current phase.
    pub retries: u32,
    /// The component upgrade whose VCF task failed this flow (Retry Upgrade runs it again).
    #[serde(default)]
    pub failed_upgrade: Option<FailedUpgrade>,
    /// Why the upgradables left are not AVAILABLE, while the loop waits for one (empty
    /// otherwise).
    #[serde(default)]
    pub blocked: Vec<String>,
    /// Maintenance windows set from Home Assistant for this domain (`None`: the configured
    /// ones; `Some(vec![])`: always open). Kept across flows, like Ignore Alerts.
    #[serde(default)]
    pub windows: Option<Vec<Window>>,
    /// The log.
    pub logbook: Logbook,
    /// The domain's VCF version when the flow started.
    #[serde(default)]
    pub from_version: Option<String>,
    /// The findings of this flow's check-set run, errors first (the Precheck Findings entity).
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// When the flow started and finished each component upgrade.
    #[serde(default)]
    pub timings: Vec<ComponentTiming>,
    /// Finished flows, newest first, at most [`history::MAX_HISTORY`]; kept when a new flow
    /// starts or a completed one returns to idle.
    #[serde(default)]
    pub history: Vec<UpgradeRecord>,
}

/// Inputs of the machine: commands, action results, and time passing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Start (or Download Bundles) with the release the driver found.
    Start {
        /// Release to install.
        release: TargetRelease,
        /// Download Bundles instead of a full upgrade.
        download_only: bool,
    },
    /// Start pressed but the domain is up to date.
    NoUpdate {
        /// The domain's version, if known.
        current_version: Option<String>,
    },
    /// Start pressed but looking for the next release failed.
    UpdateCheckFailed(String),
    /// Acknowledge Alerts pressed.
    Acknowledge,
    /// Retry Upgrade pressed: run the failed VCF task again.
    Retry,
    /// Abort Upgrade pressed.
    Abort,
    /// Ignore Alerts switched.
    SetIgnoreAlerts(bool),
    /// A line for the upgrade log from outside the flow (e.g. the bridge's readiness override).
    Note(String),
    /// The domain's maintenance windows were set from Home Assistant (`None`: back to the
    /// configured ones).
    SetWindows(Option<Vec<Window>>),
    /// Plan Upgrade pressed: the plan's sections to log, or why no plan could be made.
    Planned(Result<Vec<String>, String>),
    /// The driver loaded this state after a restart.
    Resumed,
    /// A wait finished: do the next thing.
    Tick,
    /// Result of [`Effect::ListReleaseBundles`].
    BundlesListed(ApiResult<Vec<BundleInfo>>),
    /// Result of [`Effect::CheckBundles`].
    BundleStates(Vec<(String, ApiResult<DownloadState>)>),
    /// Result of [`Effect::StartDownload`].
    DownloadRequested {
        /// Bundle.
        bundle_id: String,
        /// Outcome.
        result: ApiResult<()>,
    },
    /// Result of [`Effect::SetTargetVersion`].
    TargetSet(ApiResult<()>),
    /// Result of [`Effect::ListUpgradables`].
    Upgradables(ApiResult<UpgradablesSnapshot>),
    /// Result of [`Effect::StartUpgrade`].
    UpgradeRequested(ApiResult<String>),
    /// Result of [`Effect::FindUpgrade`].
    UpgradeFound(ApiResult<Option<FoundUpgrade>>),
    /// Result of [`Effect::PollUpgrade`].
    UpgradeState(ApiResult<OpState>),
    /// Result of [`Effect::StartUpgradePrecheck`].
    UpgradePrecheckStarted(ApiResult<String>),
    /// Result of [`Effect::PollUpgradePrecheck`].
    UpgradePrecheck(ApiResult<CheckRunReport>),
    /// Result of [`Effect::CommitUpgrade`].
    UpgradeCommitted(ApiResult<()>),
    /// Result of [`Effect::ReadFailedTask`].
    TaskFailed(ApiResult<FailedTask>),
    /// Result of [`Effect::RetryTask`].
    TaskRetried(ApiResult<()>),
    /// Result of [`Effect::ReadTask`].
    TaskState(ApiResult<OpState>),
    /// Result of [`Effect::ProbeApi`].
    ApiReady(bool),
    /// Result of [`Effect::QueryCheckSets`].
    CheckSetsQueried(ApiResult<CheckQuery>),
    /// Result of [`Effect::StartCheckRun`].
    CheckRunStarted(ApiResult<String>),
    /// Result of [`Effect::FindCheckRun`].
    CheckRunFound(ApiResult<Option<String>>),
    /// Result of [`Effect::PollCheckRun`].
    CheckRun(ApiResult<CheckRunReport>),
    /// Result of [`Effect::StartValidation`] or [`Effect::PollValidation`].
    Validation(ApiResult<ValidationReport>),
}

/// Outputs of the machine, performed by the driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Tell the user.
    Notify(Notification),
    /// Wait, then feed [`Event::Tick`].
    Wait(Duration),
    /// List the target release's bundles (fallback bundles included).
    ListReleaseBundles(TargetRelease),
    /// Read the download state of these bundles.
    CheckBundles(Vec<String>),
    /// `PATCH /v1/bundles/{id}` downloadNow.
    StartDownload(String),
    /// `PATCH /v1/releases/domains/{id}` targetVersion.
    SetTargetVersion(String),
    /// Upgradables for this target version.
    ListUpgradables(String),
    /// `POST /v1/upgrades`.
    StartUpgrade(UpgradeRequest),
    /// Find an already started upgrade of this bundle.
    FindUpgrade {
        /// Bundle.
        bundle_id: String,
        /// Resources it targets.
        resource_ids: Vec<String>,
    },
    /// `GET /v1/upgrades/{id}`.
    PollUpgrade(String),
    /// `POST /v1/upgrades/{id}/prechecks`.
    StartUpgradePrecheck(String),
    /// `GET /v1/upgrades/{id}/prechecks/{precheckId}`.
    PollUpgradePrecheck {
        /// Upgrade.
        upgrade_id: String,
        /// Precheck.
        precheck_id: String,
    },
    /// `PATCH /v1/upgrades/{id}` upgradeNow.
    CommitUpgrade(String),
    /// `GET /v1/tasks/{id}` of a failed upgrade: its errors and `isRetryable`.
    ReadFailedTask(String),
    /// `PATCH /v1/tasks/{id}`: retry the failed task.
    RetryTask(String),
    /// `GET /v1/tasks/{id}` of a running operation whose own answers could not be read.
    ReadTask(String),
    /// `GET /v1/domains` with a fresh login.
    ProbeApi,
    /// `POST /v1/system/check-sets/queries` (discovery, then with the target versions).
    QueryCheckSets(TargetRelease),
    /// `POST /v1/system/check-sets`.
    StartCheckRun {
        /// Query to run.
        query: CheckQuery,
        /// Release (BOM gives resource target versions).
        target: TargetRelease,
    },
    /// Find a check-set run started since `since`.
    FindCheckRun {
        /// Lower bound.
        since: DateTime<Utc>,
    },
    /// `GET /v1/system/check-sets/{id}`.
    PollCheckRun(String),
    /// `POST /v1/releases/domains/{id}/validations`.
    StartValidation(String),
    /// `GET /v1/releases/domains/validations/{id}`.
    PollValidation(String),
}

impl Effect {
    /// True for everything but [`Effect::Notify`].
    pub fn is_action(&self) -> bool {
        !matches!(self, Self::Notify(_))
    }

    /// True for a request that starts or changes something in VCF (a download, the target
    /// version, an upgrade, its precheck or commit, a task retry, a check-set run, a
    /// validation). The driver performs one only once the state that asked for it is saved.
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Self::StartDownload(_)
                | Self::SetTargetVersion(_)
                | Self::StartUpgrade(_)
                | Self::StartUpgradePrecheck(_)
                | Self::CommitUpgrade(_)
                | Self::RetryTask(_)
                | Self::StartCheckRun { .. }
                | Self::StartValidation(_)
        )
    }
}

/// Result of [`step`].
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Next state (to be persisted before effects run).
    pub state: FlowState,
    /// Notifications plus at most one action.
    pub effects: Vec<Effect>,
    /// Set when the event was a command that was refused.
    pub rejected: Option<String>,
}

// === impl FlowState ===

impl FlowState {
    /// A fresh, idle flow.
    pub fn new(domain: DomainRef) -> Self {
        Self {
            domain,
            phase: Phase::Idle,
            download_only: false,
            target_version: None,
            started_at: None,
            last_error: None,
            ignore_alerts: false,
            fallback_bundles: BTreeSet::new(),
            known_bundles: BTreeSet::new(),
            applied_bundles: Vec::new(),
            sddc_upgrades: 0,
            prechecks_passed: false,
            upgrades_done: 0,
            upgrades_total: 0,
            retries: 0,
            failed_upgrade: None,
            blocked: Vec::new(),
            windows: None,
            logbook: Logbook::new(),
            from_version: None,
            findings: Vec::new(),
            timings: Vec::new(),
            history: Vec::new(),
        }
    }

    /// An idle flow for the same domain that keeps what outlives a flow: the Ignore Alerts
    /// switch and the history.
    pub fn fresh(&self) -> Self {
        let mut s = Self::new(self.domain.clone());
        s.ignore_alerts = self.ignore_alerts;
        s.history = self.history.clone();
        s.windows = self.windows.clone();
        s
    }

    /// The component whose upgrade the flow is working on (SDDC Manager included), if any.
    pub fn upgrading_component(&self) -> Option<&str> {
        match &self.phase {
            Phase::UpgradingSddcManager { .. } => Some("SDDC_MANAGER"),
            Phase::StartingUpgrades { step, .. } => match step {
                UpgradeStep::Listing
                | UpgradeStep::WaitingForWindow { .. }
                | UpgradeStep::WaitingForImage { .. } => None,
                UpgradeStep::Starting { component, .. }
                | UpgradeStep::Prechecking { component, .. }
                | UpgradeStep::Committing { component, .. }
                | UpgradeStep::Retrying { component, .. }
                | UpgradeStep::Running { component, .. } => Some(component),
            },
            _ => None,
        }
    }

    /// Adds the flow that just ended (`was_download_only` tells a Download Bundles flow) to
    /// the history.
    fn record_run(&mut self, was_download_only: bool, now: DateTime<Utc>) {
        let (result, error) = match &self.phase {
            Phase::Failed { reason } if reason == "aborted" => {
                (RunResult::Aborted, Some(reason.clone()))
            }
            Phase::Failed { reason } => (RunResult::Failed, Some(reason.clone())),
            _ if was_download_only => (RunResult::Downloaded, None),
            _ => (RunResult::Completed, None),
        };
        let record = UpgradeRecord {
            started_at: self.started_at,
            finished_at: now,
            mode: if was_download_only {
                "download_only"
            } else {
                "upgrade"
            }
            .to_owned(),
            from_version: self.from_version.clone(),
            to_version: self.target_version.clone(),
            result,
            duration_seconds: self.started_at.map(|s| (now - s).num_seconds().max(0)),
            components: history::durations(&self.timings, now),
            error,
        };
        history::push(&mut self.history, record);
    }

    /// True while a flow runs.
    pub fn is_active(&self) -> bool {
        self.phase.is_active()
    }

    /// The failed flow's VCF task that Retry Upgrade (or Start Upgrade) would run again.
    pub fn retryable(&self) -> Option<&FailedUpgrade> {
        match self.phase {
            Phase::Failed { .. } => self.failed_upgrade.as_ref().filter(|f| f.retryable),
            _ => None,
        }
    }

    /// The release the running flow installs (`None` unless a flow is active).
    pub fn target(&self) -> Option<&TargetRelease> {
        self.phase.target()
    }
}

// === step ===

/// Computes the next state and effects. Pure: `now` is the only clock.
pub fn step(
    state: &FlowState,
    event: Event,
    now: DateTime<Utc>,
    cfg: &OrchestratorConfig,
) -> Transition {
    let mut m = Machine {
        s: state.clone(),
        fx: Vec::new(),
        rejected: None,
        now,
        cfg,
    };
    m.handle(event);
    let current = m.s.upgrading_component().map(str::to_owned);
    history::track(&mut m.s.timings, current.as_deref(), now);
    if state.is_active() && !m.s.is_active() {
        m.s.record_run(state.download_only, now);
    }
    Transition {
        state: m.s,
        effects: m.fx,
        rejected: m.rejected,
    }
}

/// One transition in the making; the phase modules add their handlers to it.
struct Machine<'a> {
    s: FlowState,
    fx: Vec<Effect>,
    rejected: Option<String>,
    now: DateTime<Utc>,
    cfg: &'a OrchestratorConfig,
}

// === guard ===

/// What [`guard`] decided about an event.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Valid here: handle it.
    Handle,
    /// A stale result (e.g. an answer to a request from before an Abort), or a tick with
    /// nothing to do: drop it without a trace.
    Ignore,
    /// Start (or No Update) while a flow runs.
    AlreadyRunning,
    /// A command that is not valid now, with the reason shown to the user.
    Refuse(String),
    /// A tick after the current wait's deadline: the flow fails with a timeout.
    Expired,
}

/// The one place that decides whether an event is valid for the current phase: commands that
/// do not apply now, results that do not belong to the phase, and expired deadlines. Handlers
/// only ever see events this returns [`Verdict::Handle`] for.
fn guard(s: &FlowState, event: &Event, now: DateTime<Utc>) -> Verdict {
    use Verdict::{AlreadyRunning, Expired, Handle, Ignore, Refuse};
    let active = s.is_active();
    match event {
        Event::Start { .. } | Event::NoUpdate { .. } if active => AlreadyRunning,
        Event::Retry if s.retryable().is_some() => Handle,
        Event::Retry if active => Refuse(format!(
            "The upgrade flow of {} is running ({}); there is nothing to retry",
            s.domain.name,
            s.phase.status()
        )),
        Event::Retry => Refuse(format!(
            "No failed VCF task of {} can be retried; Start Upgrade begins a new flow",
            s.domain.name
        )),
        // The answer to the read of the task that failed the flow.
        Event::TaskFailed(_) => match (&s.phase, &s.failed_upgrade) {
            (Phase::Failed { .. }, Some(f)) if !f.retryable => Handle,
            _ => Ignore,
        },
        Event::Start { .. }
        | Event::NoUpdate { .. }
        | Event::UpdateCheckFailed(_)
        | Event::SetIgnoreAlerts(_)
        | Event::Note(_)
        | Event::SetWindows(_) => Handle,
        Event::Acknowledge => match s.phase {
            Phase::WaitingForAck { .. } => Handle,
            _ => Refuse("No precheck alerts are waiting for acknowledgement".to_owned()),
        },
        Event::Abort if !active => Refuse("No upgrade flow is running".to_owned()),
        Event::Abort if s.phase.upgrade_task_running() => Refuse(format!(
            "An upgrade task is running in VCF for {} and cannot be stopped safely; \
             Abort is possible while waiting for downloads, prechecks or acknowledgement",
            s.domain.name
        )),
        Event::Abort => Handle,
        // The plan would interleave with the running flow's log entries and its reads with the
        // flow's requests; the flow's own log says what it does.
        Event::Planned(_) if active => Refuse(format!(
            "An upgrade flow is running for {} ({}); its log shows what it does",
            s.domain.name,
            s.phase.status()
        )),
        Event::Planned(_) => Handle,
        Event::Resumed | Event::Tick => match s.phase.deadline() {
            Some(deadline) if active && now >= deadline => Expired,
            _ => Handle,
        },
        result if active && belongs_to(&s.phase, result) => Handle,
        _ => Ignore,
    }
}

/// The results each phase waits for (every other result is stale there).
fn belongs_to(phase: &Phase, result: &Event) -> bool {
    use Event as E;
    match phase {
        Phase::Preparing { .. } => matches!(result, E::BundlesListed(_)),
        Phase::DownloadingBundles { .. } | Phase::DownloadingSddcManagerBundle { .. } => {
            matches!(result, E::BundleStates(_) | E::DownloadRequested { .. })
        }
        Phase::SettingTarget { check, .. } => match check {
            TargetCheck::Validating { .. } => matches!(result, E::Validation(_)),
            TargetCheck::Setting => matches!(result, E::TargetSet(_)),
        },
        Phase::InspectingUpgradables { .. } => matches!(result, E::Upgradables(_)),
        Phase::UpgradingSddcManager {
            upgrade_id: None, ..
        } => matches!(result, E::UpgradeRequested(_) | E::UpgradeFound(_)),
        Phase::UpgradingSddcManager { step, .. } => match result {
            E::UpgradeState(_) | E::UpgradeCommitted(_) => true,
            E::ApiReady(_) => *step == SddcStep::WaitingForApi,
            _ => false,
        },
        Phase::InitializingPrechecks { .. } => matches!(result, E::CheckSetsQueried(_)),
        Phase::RunningPrechecks { .. } => {
            matches!(result, E::CheckRunStarted(_) | E::CheckRunFound(_))
        }
        Phase::EvaluatingPrechecks { .. } => matches!(result, E::CheckRun(_) | E::TaskState(_)),
        Phase::StartingUpgrades { step, .. } => match step {
            UpgradeStep::Listing | UpgradeStep::WaitingForImage { .. } => {
                matches!(result, E::Upgradables(_))
            }
            UpgradeStep::WaitingForWindow { .. } => false,
            UpgradeStep::Starting { .. } => {
                matches!(result, E::UpgradeRequested(_) | E::UpgradeFound(_))
            }
            UpgradeStep::Prechecking { .. } => matches!(
                result,
                E::UpgradePrecheckStarted(_) | E::UpgradePrecheck(_) | E::TaskState(_)
            ),
            UpgradeStep::Committing { .. } => {
                matches!(result, E::UpgradeCommitted(_) | E::UpgradeState(_))
            }
            UpgradeStep::Retrying { .. } => {
                matches!(result, E::TaskRetried(_) | E::UpgradeState(_))
            }
            UpgradeStep::Running { .. } => matches!(result, E::UpgradeState(_) | E::TaskState(_)),
        },
        Phase::Validating { .. } => matches!(result, E::Validation(_)),
        Phase::Idle
        | Phase::PrechecksDone { .. }
        | Phase::WaitingForAck { .. }
        | Phase::AlertsAcknowledged { .. }
        | Phase::Completed { .. }
        | Phase::Failed { .. } => false,
    }
}

// === dispatch ===

impl Machine<'_> {
    fn handle(&mut self, event: Event) {
        if event == Event::Resumed && self.s.is_active() {
            self.log(
                LogLevel::Info,
                &format!(
                    "Bridge restarted; resuming at `{}` without repeating started work",
                    self.s.phase.status()
                ),
            );
        }
        match guard(&self.s, &event, self.now) {
            Verdict::Handle => {}
            Verdict::Ignore => return,
            Verdict::AlreadyRunning => return self.already_running(),
            Verdict::Refuse(reason) => return self.reject(reason),
            Verdict::Expired => {
                let what = self.timeout_text();
                return self.fail(what);
            }
        }
        match event {
            // Start on a flow whose VCF task failed and can be retried retries it, instead of
            // posting the upgrade again.
            Event::Start {
                download_only: false,
                ..
            }
            | Event::Retry
                if self.s.retryable().is_some() =>
            {
                self.retry_failed_upgrade();
            }
            Event::Start {
                release,
                download_only,
            } => self.start(release, download_only),
            Event::TaskFailed(result) => self.failed_task_read(result),
            Event::NoUpdate { current_version } => self.no_update(current_version),
            Event::UpdateCheckFailed(reason) => self.update_check_failed(&reason),
            Event::Abort => self.abort(),
            Event::SetIgnoreAlerts(on) => self.set_ignore_alerts(on),
            Event::Note(text) => self.log(LogLevel::Warning, &text),
            Event::SetWindows(windows) => self.set_windows(windows),
            Event::Planned(plan) => self.planned(plan),
            Event::Resumed => self.dispatch(Event::Tick),
            other => self.dispatch(other),
        }
    }

    /// Hands a tick, an acknowledgement or a result to the handler of the current phase.
    fn dispatch(&mut self, ev: Event) {
        match self.s.phase.clone() {
            Phase::Idle | Phase::Failed { .. } => {}
            Phase::Preparing { purpose, target } => self.preparing(purpose, target, ev),
            Phase::DownloadingBundles { .. } => self.downloading_bundles(ev),
            Phase::SettingTarget { target, check } => self.setting_target(target, check, ev),
            Phase::InspectingUpgradables { target } => self.inspecting_upgradables(target, ev),
            Phase::DownloadingSddcManagerBundle { .. } => self.downloading_sddc_manager_bundle(ev),
            Phase::UpgradingSddcManager { .. } => self.upgrading_sddc_manager(ev),
            Phase::InitializingPrechecks { target } => self.initializing_prechecks(target, ev),
            Phase::RunningPrechecks {
                query,
                requested_at,
                target,
            } => self.running_prechecks(query, requested_at, target, ev),
            Phase::EvaluatingPrechecks {
                run_id,
                deadline,
                target,
                ..
            } => self.evaluating_prechecks(run_id, deadline, target, ev),
            Phase::PrechecksDone {
                errors,
                warnings,
                target,
            } => self.prechecks_done(errors, warnings, target),
            Phase::WaitingForAck { target, .. } => self.waiting_for_ack(target, ev),
            Phase::AlertsAcknowledged { target } => self.alerts_acknowledged(target),
            Phase::StartingUpgrades { step, target } => self.starting_upgrades(step, target, ev),
            Phase::Validating {
                validation_id,
                deadline,
                target,
            } => self.validating(validation_id, deadline, &target, ev),
            Phase::Completed { hold_until } => self.completed(hold_until),
        }
    }
}
