//! The pure upgrade state machine: [`step`] takes a [`FlowState`], an [`Event`] and the current
//! time and returns the next state plus the [`Effect`]s the driver must perform.
//!
//! Nothing here does I/O or reads the clock, so every transition, timeout and guard is unit- and
//! property-testable. Each transition emits notifications plus **at most one** action; the
//! action's result comes back as the next event. [`Event::Tick`] (and [`Event::Resumed`]) mean
//! "do the next thing for the current state"; that next thing is always safe to repeat because
//! it re-attaches by id (or by listing) before starting anything in VCF.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::{
    ApiFailure, ApiResult, BundleInfo, CheckQuery, CheckRunReport, DownloadState, Finding,
    FindingSeverity, FoundUpgrade, OpState, TargetRelease, UpgradablesSnapshot, UpgradeRequest,
    ValidationReport,
};
use crate::config::OrchestratorConfig;
use crate::logbook::{LogLevel, Logbook};
use crate::notify::{DomainRef, FlowView, Notification, NotificationKind};
use crate::phase::{BundleTrack, DownloadPurpose, DownloadRequest, Phase, SddcStep, UpgradeStep};

/// How many times a transient failure of a one-shot request is retried before the flow fails.
const MAX_RETRIES: u32 = 5;
/// At most this many SDDC Manager upgrades (upgrade + drift bundles) per flow.
const MAX_SDDC_UPGRADES: u32 = 3;

/// Everything persisted about one domain's flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    /// The domain.
    pub domain: DomainRef,
    /// Where the flow is.
    pub phase: Phase,
    /// Download Bundles flow (no upgrade).
    pub download_only: bool,
    /// Release being installed.
    pub target: Option<TargetRelease>,
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
    /// The log.
    pub logbook: Logbook,
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
    /// Abort Upgrade pressed.
    Abort,
    /// Ignore Alerts switched.
    SetIgnoreAlerts(bool),
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
    /// `GET /v1/domains` with a fresh login.
    ProbeApi,
    /// `POST /v1/system/check-sets/queries`.
    QueryCheckSets,
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
            target: None,
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
            logbook: Logbook::new(),
        }
    }

    /// True while a flow runs.
    pub fn is_active(&self) -> bool {
        self.phase.is_active()
    }

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
            Phase::DownloadingSddcManagerBundle { bundle, .. } => {
                (Some(bundle.component.clone()), None, None)
            }
            Phase::UpgradingSddcManager { .. } => (Some("SDDC_MANAGER".to_owned()), None, None),
            Phase::StartingUpgrades { step } => {
                let comp = match step {
                    UpgradeStep::Listing => None,
                    UpgradeStep::Starting { component, .. }
                    | UpgradeStep::Prechecking { component, .. }
                    | UpgradeStep::Committing { component, .. }
                    | UpgradeStep::Running { component, .. } => Some(component.clone()),
                };
                (comp, Some(self.upgrades_done), Some(self.upgrades_total))
            }
            Phase::Validating { .. } => (None, Some(self.upgrades_done), Some(self.upgrades_total)),
            _ => (None, None, None),
        };
        FlowView {
            domain_id: self.domain.id.clone(),
            domain_name: self.domain.name.clone(),
            status: self.phase.status().to_owned(),
            phase_detail: self.phase.detail().map(str::to_owned),
            mode: self.download_only.then(|| "download_only".to_owned()),
            target_version: self.target.as_ref().map(|t| t.version.clone()),
            component,
            progress_done: done,
            progress_total: total,
            progress_percent: self.percent(),
            started_at: self.started_at,
            deadline: self.phase.deadline(),
            last_error: self.last_error.clone(),
            ignore_alerts: self.ignore_alerts,
            in_progress: self.is_active(),
            logs_markdown: self.logbook.render(),
            log_entries: self.logbook.len(),
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
            Phase::SettingTarget | Phase::InspectingUpgradables => 15,
            Phase::DownloadingSddcManagerBundle { .. } => 18,
            Phase::UpgradingSddcManager { .. } => 20,
            Phase::InitializingPrechecks | Phase::RunningPrechecks { .. } => 30,
            Phase::EvaluatingPrechecks { percent, .. } => {
                30 + usize::from(percent.unwrap_or(0)) / 10
            }
            Phase::PrechecksDone { .. }
            | Phase::WaitingForAck { .. }
            | Phase::AlertsAcknowledged => 40,
            Phase::StartingUpgrades { .. } => {
                let total = self.upgrades_total.max(1) as usize;
                40 + (self.upgrades_done as usize).min(total) * 55 / total
            }
            Phase::Validating { .. } => 95,
            Phase::Completed { .. } => 100,
        };
        u8::try_from(p.min(100)).ok()
    }

    fn log(&mut self, now: DateTime<Utc>, level: LogLevel, text: &str, cfg: &OrchestratorConfig) {
        self.logbook.push(now, level, text, cfg.max_log_entries);
    }
}

fn count<'a, T: 'a>(it: impl Iterator<Item = &'a T>) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX / 4)
}

/// How long to wait: the poll interval, but never past the deadline (plus a hair so the tick
/// lands after it).
fn wait_until(now: DateTime<Utc>, interval: Duration, deadline: DateTime<Utc>) -> Effect {
    let left = (deadline - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(1);
    Effect::Wait(interval.min(left))
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
    Transition {
        state: m.s,
        effects: m.fx,
        rejected: m.rejected,
    }
}

struct Machine<'a> {
    s: FlowState,
    fx: Vec<Effect>,
    rejected: Option<String>,
    now: DateTime<Utc>,
    cfg: &'a OrchestratorConfig,
}

impl Machine<'_> {
    fn log(&mut self, level: LogLevel, text: &str) {
        self.s.log(self.now, level, text, self.cfg);
    }

    fn notify(&mut self, kind: NotificationKind, message: impl Into<String>) {
        self.fx
            .push(Effect::Notify(Notification::new(kind, message)));
    }

    fn act(&mut self, effect: Effect) {
        self.fx.push(effect);
    }

    fn reject(&mut self, reason: impl Into<String>) {
        self.rejected = Some(reason.into());
    }

    fn enter(&mut self, phase: Phase) {
        if phase.kind() != self.s.phase.kind() {
            self.s.retries = 0;
        }
        self.s.phase = phase;
    }

    fn fail(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        self.log(LogLevel::Error, &format!("Upgrade failed: {reason}"));
        self.s.last_error = Some(reason.clone());
        self.enter(Phase::Failed {
            reason: reason.clone(),
        });
        let what = if self.s.download_only {
            "Bundle download"
        } else {
            "Upgrade"
        };
        self.notify(
            NotificationKind::Failed,
            format!("{what} of {} failed: {reason}", self.s.domain.name),
        );
    }

    fn target(&self) -> Option<TargetRelease> {
        self.s.target.clone()
    }

    fn version(&self) -> String {
        self.s
            .target
            .as_ref()
            .map(|t| t.version.clone())
            .unwrap_or_default()
    }

    /// A transient failure of a one-shot request: retry after `interval`, bounded.
    fn retry_or_fail(&mut self, what: &str, err: &ApiFailure, interval: Duration) {
        if err.transient && self.s.retries < MAX_RETRIES {
            self.s.retries += 1;
            self.log(
                LogLevel::Warning,
                &format!(
                    "{what} failed ({err}); retrying ({}/{MAX_RETRIES})",
                    self.s.retries
                ),
            );
            self.act(Effect::Wait(interval));
        } else {
            self.fail(format!("{what} failed: {err}"));
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Start {
                release,
                download_only,
            } => self.on_start(release, download_only),
            Event::NoUpdate { current_version } => {
                if self.s.is_active() {
                    self.already_running();
                    return;
                }
                let msg = match current_version {
                    Some(v) => format!(
                        "No VCF update available for {}: it runs {v}, the newest applicable release",
                        self.s.domain.name
                    ),
                    None => format!("No VCF update available for {}", self.s.domain.name),
                };
                self.log(LogLevel::Info, &msg);
                self.notify(NotificationKind::NoUpdateAvailable, msg.clone());
                self.reject(msg);
            }
            Event::UpdateCheckFailed(reason) => {
                let msg = format!("Could not check for VCF updates: {reason}");
                self.log(LogLevel::Error, &msg);
                self.notify(NotificationKind::Info, msg.clone());
                self.reject(msg);
            }
            Event::Acknowledge => {
                if matches!(self.s.phase, Phase::WaitingForAck { .. }) {
                    self.log(LogLevel::Success, "Alerts were acknowledged. Continuing");
                    self.enter(Phase::AlertsAcknowledged);
                    self.act(Effect::Wait(Duration::ZERO));
                } else {
                    self.reject("No precheck alerts are waiting for acknowledgement");
                }
            }
            Event::Abort => self.on_abort(),
            Event::SetIgnoreAlerts(on) => {
                if self.s.ignore_alerts != on {
                    self.s.ignore_alerts = on;
                    if self.s.is_active() {
                        let text = if on {
                            "Ignore Alerts switched on"
                        } else {
                            "Ignore Alerts switched off"
                        };
                        self.log(LogLevel::Info, text);
                    }
                }
            }
            Event::Resumed => {
                if self.s.is_active() {
                    self.log(
                        LogLevel::Info,
                        &format!(
                            "Bridge restarted; resuming at `{}` without repeating started work",
                            self.s.phase.status()
                        ),
                    );
                }
                self.on_tick();
            }
            Event::Tick => self.on_tick(),
            other => {
                if self.s.is_active() {
                    self.on_result(other);
                }
            }
        }
    }

    fn already_running(&mut self) {
        let msg = format!(
            "An upgrade flow is already running for {} ({})",
            self.s.domain.name,
            self.s.phase.status()
        );
        self.notify(NotificationKind::AlreadyRunning, msg.clone());
        self.reject(msg);
    }

    fn on_start(&mut self, release: TargetRelease, download_only: bool) {
        if self.s.is_active() {
            self.already_running();
            return;
        }
        let ignore = self.s.ignore_alerts;
        let domain = self.s.domain.clone();
        self.s = FlowState::new(domain);
        self.s.ignore_alerts = ignore;
        self.s.download_only = download_only;
        self.s.started_at = Some(self.now);
        let msg = if download_only {
            format!(
                "Downloading every bundle of VCF {} for {} (no upgrade is started)",
                release.version, self.s.domain.name
            )
        } else {
            format!(
                "Upgrade of {} from {} to VCF {} started",
                self.s.domain.name, release.current_version, release.version
            )
        };
        self.s.target = Some(release.clone());
        self.log(LogLevel::Info, &msg);
        self.notify(NotificationKind::UpgradeStarted, msg);
        let purpose = if download_only {
            DownloadPurpose::DownloadOnly
        } else {
            DownloadPurpose::Upgrade
        };
        self.enter(Phase::Preparing { purpose });
        self.act(Effect::ListReleaseBundles(release));
    }

    fn on_abort(&mut self) {
        if !self.s.is_active() {
            self.reject("No upgrade flow is running");
            return;
        }
        if self.s.phase.upgrade_task_running() {
            let msg = format!(
                "An upgrade task is running in VCF for {} and cannot be stopped safely; \
                 Abort is possible while waiting for downloads, prechecks or acknowledgement",
                self.s.domain.name
            );
            self.reject(msg);
            return;
        }
        self.log(LogLevel::Error, "Upgrade aborted by the user");
        self.s.last_error = Some("aborted".to_owned());
        self.enter(Phase::Failed {
            reason: "aborted".to_owned(),
        });
        self.notify(
            NotificationKind::Aborted,
            format!("Upgrade flow of {} aborted", self.s.domain.name),
        );
    }

    /// "Do the next thing": after a wait, after a restart, after a retry delay.
    fn on_tick(&mut self) {
        if let Some(deadline) = self.s.phase.deadline() {
            if self.now >= deadline && self.s.phase.is_active() {
                let what = self.timeout_text();
                self.fail(what);
                return;
            }
        }
        let version = self.version();
        match self.s.phase.clone() {
            Phase::Idle | Phase::Failed { .. } | Phase::WaitingForAck { .. } => {}
            Phase::Completed { hold_until } => {
                if self.now >= hold_until {
                    let keep_ignore = self.s.ignore_alerts;
                    self.s = FlowState::new(self.s.domain.clone());
                    self.s.ignore_alerts = keep_ignore;
                } else {
                    self.act(Effect::Wait(
                        (hold_until - self.now).to_std().unwrap_or(Duration::ZERO),
                    ));
                }
            }
            Phase::Preparing { .. } => match self.target() {
                Some(t) => self.act(Effect::ListReleaseBundles(t)),
                None => self.fail("no target release recorded"),
            },
            Phase::DownloadingBundles { bundles, .. } => {
                let ids = bundles
                    .iter()
                    .filter(|b| b.state != DownloadState::Done)
                    .map(|b| b.id.clone())
                    .collect();
                self.act(Effect::CheckBundles(ids));
            }
            Phase::SettingTarget => self.act(Effect::SetTargetVersion(version)),
            Phase::InspectingUpgradables => self.act(Effect::ListUpgradables(version)),
            Phase::DownloadingSddcManagerBundle { bundle, .. } => {
                self.act(Effect::CheckBundles(vec![bundle.id]));
            }
            Phase::UpgradingSddcManager {
                bundle_id,
                upgrade_id,
                step,
                ..
            } => match (upgrade_id, step) {
                (None, _) => self.act(Effect::FindUpgrade {
                    bundle_id,
                    resource_ids: vec![self.s.domain.id.clone()],
                }),
                (Some(_), SddcStep::WaitingForApi) => self.act(Effect::ProbeApi),
                (Some(id), SddcStep::Settling { until }) => {
                    if self.now >= until {
                        self.set_sddc_step(SddcStep::ReadingFinal);
                        self.act(Effect::PollUpgrade(id));
                    } else {
                        self.act(Effect::Wait(
                            (until - self.now).to_std().unwrap_or(Duration::ZERO),
                        ));
                    }
                }
                (Some(id), _) => self.act(Effect::PollUpgrade(id)),
            },
            Phase::InitializingPrechecks => self.act(Effect::QueryCheckSets),
            Phase::RunningPrechecks { requested_at, .. } => {
                self.act(Effect::FindCheckRun {
                    since: requested_at,
                });
            }
            Phase::EvaluatingPrechecks { run_id, .. } => self.act(Effect::PollCheckRun(run_id)),
            Phase::PrechecksDone { errors, warnings } => self.after_prechecks(errors, warnings),
            Phase::AlertsAcknowledged => {
                self.s.prechecks_passed = true;
                self.start_upgrade_loop();
            }
            Phase::StartingUpgrades { step } => match step {
                UpgradeStep::Listing => self.act(Effect::ListUpgradables(version)),
                UpgradeStep::Starting { request, .. } => self.act(Effect::FindUpgrade {
                    bundle_id: request.bundle_id,
                    resource_ids: request.resource_ids,
                }),
                UpgradeStep::Prechecking {
                    upgrade_id,
                    precheck_id,
                    ..
                } => match precheck_id {
                    Some(precheck_id) => self.act(Effect::PollUpgradePrecheck {
                        upgrade_id,
                        precheck_id,
                    }),
                    None => self.act(Effect::StartUpgradePrecheck(upgrade_id)),
                },
                UpgradeStep::Committing { upgrade_id, .. }
                | UpgradeStep::Running { upgrade_id, .. } => {
                    self.act(Effect::PollUpgrade(upgrade_id));
                }
            },
            Phase::Validating { validation_id, .. } => match validation_id {
                Some(id) => self.act(Effect::PollValidation(id)),
                None => self.act(Effect::StartValidation(version)),
            },
        }
    }

    fn timeout_text(&self) -> String {
        let d = |d: Duration| humantime_str(d);
        match &self.s.phase {
            Phase::DownloadingBundles { .. } | Phase::DownloadingSddcManagerBundle { .. } => {
                format!(
                    "bundle downloads did not finish within {}",
                    d(self.cfg.download_timeout)
                )
            }
            Phase::UpgradingSddcManager { .. } => format!(
                "SDDC Manager upgrade did not finish within {}",
                d(self.cfg.sddc_manager_timeout)
            ),
            Phase::EvaluatingPrechecks { .. } => format!(
                "prechecks did not finish within {} (timeout)",
                d(self.cfg.precheck_timeout)
            ),
            Phase::StartingUpgrades {
                step: UpgradeStep::Running { component, .. },
            } => format!(
                "{component} upgrade did not finish within {} (timeout)",
                d(self.cfg.component_timeout)
            ),
            Phase::StartingUpgrades {
                step: UpgradeStep::Prechecking { component, .. },
            } => format!(
                "the {component} upgrade precheck did not finish within {}",
                d(self.cfg.precheck_timeout)
            ),
            Phase::Validating { .. } => format!(
                "final validation did not finish within {}",
                d(self.cfg.validation_timeout)
            ),
            _ => "timeout".to_owned(),
        }
    }

    fn set_sddc_step(&mut self, new_step: SddcStep) {
        if let Phase::UpgradingSddcManager { step, .. } = &mut self.s.phase {
            *step = new_step;
        }
    }

    // === results ===

    fn on_result(&mut self, event: Event) {
        let phase = self.s.phase.clone();
        match (phase, event) {
            (Phase::Preparing { purpose }, Event::BundlesListed(r)) => match r {
                Ok(bundles) => self.bundles_listed(purpose, bundles),
                Err(e) => self.retry_or_fail(
                    "Listing the release bundles",
                    &e,
                    self.cfg.bundle_poll_interval,
                ),
            },
            (Phase::DownloadingBundles { .. }, Event::BundleStates(states)) => {
                self.bundle_states(states);
            }
            (Phase::DownloadingBundles { .. }, Event::DownloadRequested { bundle_id, result }) => {
                self.download_requested(&bundle_id, result);
            }
            (Phase::DownloadingSddcManagerBundle { .. }, Event::BundleStates(states)) => {
                self.sddc_bundle_states(states);
            }
            (
                Phase::DownloadingSddcManagerBundle { .. },
                Event::DownloadRequested { bundle_id, result },
            ) => self.download_requested(&bundle_id, result),
            (Phase::SettingTarget, Event::TargetSet(r)) => match r {
                Ok(()) => {
                    self.log(
                        LogLevel::Success,
                        &format!("Target version set to VCF {}", self.version()),
                    );
                    self.enter(Phase::InspectingUpgradables);
                    self.act(Effect::ListUpgradables(self.version()));
                }
                Err(e) => self.retry_or_fail(
                    "Setting the target version",
                    &e,
                    self.cfg.bundle_poll_interval,
                ),
            },
            (Phase::InspectingUpgradables, Event::Upgradables(r)) => match r {
                Ok(snap) => self.inspect(&snap),
                Err(e) => self.retry_or_fail(
                    "Listing the upgradables",
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            (Phase::UpgradingSddcManager { .. }, ev) => self.sddc_result(ev),
            (Phase::InitializingPrechecks, Event::CheckSetsQueried(r)) => match r {
                Ok(query) => {
                    self.log(
                        LogLevel::Info,
                        &format!(
                            "Prechecks cover {} resource(s); starting the check-set run",
                            query.resources.len()
                        ),
                    );
                    let target = self.target();
                    self.enter(Phase::RunningPrechecks {
                        query: query.clone(),
                        requested_at: self.now,
                    });
                    match target {
                        Some(target) => self.act(Effect::StartCheckRun { query, target }),
                        None => self.fail("no target release recorded"),
                    }
                }
                Err(e) => self.retry_or_fail(
                    "Querying the check sets",
                    &e,
                    self.cfg.precheck_poll_interval,
                ),
            },
            (Phase::RunningPrechecks { .. }, Event::CheckRunStarted(r)) => match r {
                Ok(run_id) => self.evaluate(run_id),
                // The run may have been created although the answer was lost: look first.
                Err(e) if e.transient && self.s.retries < MAX_RETRIES => {
                    self.s.retries += 1;
                    self.log(
                        LogLevel::Warning,
                        &format!("Starting the check-set run failed ({e}); looking for it"),
                    );
                    self.act(Effect::Wait(self.cfg.precheck_poll_interval));
                }
                Err(e) => self.fail(format!("Starting the prechecks failed: {e}")),
            },
            (Phase::RunningPrechecks { query, .. }, Event::CheckRunFound(r)) => match r {
                Ok(Some(run_id)) => {
                    self.log(LogLevel::Info, "Re-attached to the running check-set run");
                    self.evaluate(run_id);
                }
                Ok(None) => match self.target() {
                    Some(target) => {
                        if let Phase::RunningPrechecks { requested_at, .. } = &mut self.s.phase {
                            *requested_at = self.now;
                        }
                        self.act(Effect::StartCheckRun { query, target });
                    }
                    None => self.fail("no target release recorded"),
                },
                Err(e) => self.retry_or_fail(
                    "Looking for the check-set run",
                    &e,
                    self.cfg.precheck_poll_interval,
                ),
            },
            (Phase::EvaluatingPrechecks { deadline, .. }, Event::CheckRun(r)) => {
                self.check_run(deadline, r);
            }
            (Phase::StartingUpgrades { step }, ev) => self.upgrade_result(step, ev),
            (Phase::Validating { deadline, .. }, Event::Validation(r)) => {
                self.validation(deadline, r);
            }
            // A result that does not belong to the current phase is stale (e.g. an answer to a
            // request from before an Abort): ignore it.
            _ => {}
        }
    }

    fn bundles_listed(&mut self, purpose: DownloadPurpose, bundles: Vec<BundleInfo>) {
        let mut tracks = Vec::new();
        for b in bundles {
            if b.fallback {
                self.s.fallback_bundles.insert(b.id.clone());
            }
            let new = self.s.known_bundles.insert(b.id.clone());
            if purpose == DownloadPurpose::AfterSddcManager && !new {
                continue;
            }
            tracks.push(BundleTrack {
                id: b.id,
                component: b.component,
                fallback: b.fallback,
                state: b.state,
                request: DownloadRequest::None,
            });
        }
        let fallbacks = tracks.iter().filter(|b| b.fallback).count();
        let text = match purpose {
            DownloadPurpose::AfterSddcManager => format!(
                "The new SDDC Manager lists {} more bundle(s) for VCF {}",
                tracks.len(),
                self.version()
            ),
            _ => format!(
                "VCF {} has {} bundle(s), {fallbacks} of them fallback bundle(s) (downloaded, never applied)",
                self.version(),
                tracks.len()
            ),
        };
        self.log(LogLevel::Info, &text);
        let ids: Vec<String> = tracks
            .iter()
            .filter(|b| b.state != DownloadState::Done)
            .map(|b| b.id.clone())
            .collect();
        self.enter(Phase::DownloadingBundles {
            purpose,
            bundles: tracks,
            deadline: after(self.now, self.cfg.download_timeout),
        });
        if ids.is_empty() {
            self.downloads_done();
        } else {
            self.act(Effect::CheckBundles(ids));
        }
    }

    fn bundle_states(&mut self, states: Vec<(String, ApiResult<DownloadState>)>) {
        let Phase::DownloadingBundles { bundles, .. } = &mut self.s.phase else {
            return;
        };
        let mut failure = None;
        let mut transient = None;
        for (id, r) in states {
            let Some(track) = bundles.iter_mut().find(|b| b.id == id) else {
                continue;
            };
            match r {
                Ok(state) => {
                    if let Some(msg) = apply_download_state(track, state) {
                        failure = Some(msg);
                    }
                }
                Err(e) if e.transient => transient = Some(e),
                Err(e) => failure = Some(format!("reading bundle {id} failed: {e}")),
            }
        }
        if let Some(msg) = failure {
            self.fail(msg);
            return;
        }
        if let Some(e) = transient {
            self.log(
                LogLevel::Warning,
                &format!("Reading bundle download status failed ({e}); retrying"),
            );
        }
        self.next_download_action();
    }

    /// Either request the next bundle, finish, or wait for the next poll.
    fn next_download_action(&mut self) {
        let Phase::DownloadingBundles {
            bundles, deadline, ..
        } = &mut self.s.phase
        else {
            return;
        };
        let deadline = *deadline;
        if let Some(track) = bundles.iter_mut().find(|b| needs_request(b)) {
            track.request = DownloadRequest::Sent;
            let id = track.id.clone();
            self.act(Effect::StartDownload(id));
            return;
        }
        if bundles.iter().all(|b| b.state == DownloadState::Done) {
            self.downloads_done();
        } else {
            self.act(wait_until(
                self.now,
                self.cfg.bundle_poll_interval,
                deadline,
            ));
        }
    }

    fn download_requested(&mut self, bundle_id: &str, result: ApiResult<()>) {
        let track = match &mut self.s.phase {
            Phase::DownloadingBundles { bundles, .. } => {
                bundles.iter_mut().find(|b| b.id == bundle_id)
            }
            Phase::DownloadingSddcManagerBundle { bundle, .. } if bundle.id == bundle_id => {
                Some(bundle)
            }
            _ => None,
        };
        let Some(track) = track else { return };
        let component = track.component.clone();
        match result {
            Ok(()) => {
                track.request = DownloadRequest::Confirmed;
                if track.state != DownloadState::Done {
                    track.state = DownloadState::InProgress;
                }
                let fallback = if track.fallback { " (fallback)" } else { "" };
                self.log(
                    LogLevel::Info,
                    &format!("Download of {component} bundle `{bundle_id}`{fallback} started"),
                );
            }
            // The PATCH may or may not have arrived: the next status read decides (a bundle
            // still not downloading is requested again, one that is downloading is not).
            Err(e) if e.transient => self.log(
                LogLevel::Warning,
                &format!("Requesting the download of `{bundle_id}` failed ({e}); checking again"),
            ),
            Err(e) => {
                self.fail(format!(
                    "download of {component} bundle {bundle_id} could not be started: {e}"
                ));
                return;
            }
        }
        match &self.s.phase {
            Phase::DownloadingBundles { .. } => self.next_download_action(),
            Phase::DownloadingSddcManagerBundle { deadline, .. } => {
                let deadline = *deadline;
                self.act(wait_until(
                    self.now,
                    self.cfg.bundle_poll_interval,
                    deadline,
                ));
            }
            _ => {}
        }
    }

    fn downloads_done(&mut self) {
        let Phase::DownloadingBundles { purpose, .. } = &self.s.phase else {
            return;
        };
        let purpose = *purpose;
        self.log(LogLevel::Success, "All bundles are downloaded");
        match purpose {
            DownloadPurpose::DownloadOnly => {
                let msg = format!(
                    "Every bundle of VCF {} is downloaded for {}",
                    self.version(),
                    self.s.domain.name
                );
                self.notify(NotificationKind::DownloadsCompleted, msg);
                self.enter(Phase::Idle);
                self.s.download_only = false;
            }
            DownloadPurpose::Upgrade => {
                self.enter(Phase::SettingTarget);
                self.act(Effect::SetTargetVersion(self.version()));
            }
            DownloadPurpose::AfterSddcManager => {
                self.enter(Phase::InspectingUpgradables);
                self.act(Effect::ListUpgradables(self.version()));
            }
        }
    }

    /// Candidates VCF offers now, in its order, never fallback or already applied bundles.
    fn candidates<'s>(&self, snap: &'s UpgradablesSnapshot) -> Vec<&'s crate::api::UpgradableInfo> {
        snap.upgradables
            .iter()
            .filter(|u| u.available && !u.completed)
            .filter(|u| !self.s.fallback_bundles.contains(&u.bundle_id))
            // ESXi offers the same bundle once per cluster, so only an SDDC Manager bundle
            // already applied by this flow is treated as done.
            .filter(|u| !(u.is_sddc_manager() && self.s.applied_bundles.contains(&u.bundle_id)))
            .collect()
    }

    fn inspect(&mut self, snap: &UpgradablesSnapshot) {
        let first = self.candidates(snap).first().map(|u| (*u).clone());
        match first {
            Some(u) if u.is_sddc_manager() && self.s.sddc_upgrades < MAX_SDDC_UPGRADES => {
                self.begin_sddc_manager(&u.bundle_id, &u.component);
            }
            _ if self.s.prechecks_passed => self.start_upgrade_loop(),
            _ => {
                self.enter(Phase::InitializingPrechecks);
                self.act(Effect::QueryCheckSets);
            }
        }
    }

    fn begin_sddc_manager(&mut self, bundle_id: &str, component: &str) {
        let n = self.s.sddc_upgrades + 1;
        self.log(
            LogLevel::Info,
            &format!("SDDC Manager goes first (SDDC Manager bundle {n}: `{bundle_id}`)"),
        );
        let component = if component.is_empty() {
            "SDDC_MANAGER".to_owned()
        } else {
            component.to_owned()
        };
        self.enter(Phase::DownloadingSddcManagerBundle {
            bundle: BundleTrack {
                id: bundle_id.to_owned(),
                component,
                fallback: false,
                state: DownloadState::NotStarted,
                request: DownloadRequest::None,
            },
            deadline: after(self.now, self.cfg.download_timeout),
        });
        self.act(Effect::CheckBundles(vec![bundle_id.to_owned()]));
    }

    fn sddc_bundle_states(&mut self, states: Vec<(String, ApiResult<DownloadState>)>) {
        let Phase::DownloadingSddcManagerBundle { bundle, deadline } = &mut self.s.phase else {
            return;
        };
        let deadline = *deadline;
        let mut failure = None;
        for (id, r) in states {
            if id != bundle.id {
                continue;
            }
            match r {
                Ok(state) => failure = apply_download_state(bundle, state),
                Err(e) if e.transient => {}
                Err(e) => failure = Some(format!("reading bundle {id} failed: {e}")),
            }
        }
        if let Some(msg) = failure {
            self.fail(msg);
            return;
        }
        if needs_request(bundle) {
            bundle.request = DownloadRequest::Sent;
            let id = bundle.id.clone();
            self.act(Effect::StartDownload(id));
        } else if bundle.state == DownloadState::Done {
            let bundle_id = bundle.id.clone();
            self.log(LogLevel::Success, "SDDC Manager bundle is downloaded");
            self.log(LogLevel::Info, "Starting the SDDC Manager upgrade");
            self.enter(Phase::UpgradingSddcManager {
                bundle_id: bundle_id.clone(),
                upgrade_id: None,
                step: SddcStep::Starting,
                deadline: after(self.now, self.cfg.sddc_manager_timeout),
                outage_seen: false,
            });
            self.act(Effect::StartUpgrade(UpgradeRequest {
                bundle_id,
                resource_type: "DOMAIN".to_owned(),
                resource_ids: vec![self.s.domain.id.clone()],
                draft: false,
            }));
        } else {
            self.act(wait_until(
                self.now,
                self.cfg.bundle_poll_interval,
                deadline,
            ));
        }
    }

    fn sddc_result(&mut self, event: Event) {
        let Phase::UpgradingSddcManager {
            bundle_id,
            upgrade_id,
            step,
            deadline,
            ..
        } = self.s.phase.clone()
        else {
            return;
        };
        let poll = wait_until(self.now, self.cfg.sddc_manager_poll_interval, deadline);
        match (event, upgrade_id) {
            (Event::UpgradeRequested(Ok(id)), None) => {
                self.log(
                    LogLevel::Info,
                    &format!("SDDC Manager upgrade `{id}` started; the API will be unavailable for a while"),
                );
                self.set_sddc_upgrade(Some(id), SddcStep::Running);
                self.act(poll);
            }
            (Event::UpgradeRequested(Err(e)), None) => {
                if e.transient && self.s.retries < MAX_RETRIES {
                    // Possibly created: the next tick looks it up by bundle before retrying.
                    self.s.retries += 1;
                    self.log(
                        LogLevel::Warning,
                        &format!("Starting the SDDC Manager upgrade failed ({e}); looking for it"),
                    );
                    self.act(poll);
                } else {
                    self.fail(format!("starting the SDDC Manager upgrade failed: {e}"));
                }
            }
            (Event::UpgradeFound(Ok(Some(found))), None) => {
                self.log(
                    LogLevel::Info,
                    &format!("Re-attached to SDDC Manager upgrade `{}`", found.id),
                );
                self.set_sddc_upgrade(Some(found.id), SddcStep::Running);
                self.act(poll);
            }
            (Event::UpgradeFound(Ok(None)), None) => {
                self.act(Effect::StartUpgrade(UpgradeRequest {
                    bundle_id,
                    resource_type: "DOMAIN".to_owned(),
                    resource_ids: vec![self.s.domain.id.clone()],
                    draft: false,
                }));
            }
            (Event::UpgradeFound(Err(_)), None) => {
                // SDDC Manager may be restarting: keep looking until the deadline.
                self.act(poll);
            }
            (Event::UpgradeState(r), Some(id)) => match (step, r) {
                (SddcStep::Running, Ok(OpState::Running)) => self.act(poll),
                // The SDDC Manager upgrade is never created as a draft; commit one found so.
                (_, Ok(OpState::Draft)) => self.act(Effect::CommitUpgrade(id)),
                (SddcStep::Running, Ok(OpState::Succeeded)) => {
                    self.set_sddc_step(SddcStep::WaitingForApi);
                    self.act(Effect::ProbeApi);
                }
                (SddcStep::ReadingFinal, Ok(OpState::Succeeded)) => self.sddc_done(&bundle_id),
                (SddcStep::ReadingFinal, Ok(OpState::Running)) => {
                    self.set_sddc_step(SddcStep::Running);
                    self.act(poll);
                }
                (_, Ok(OpState::Failed(msg))) => {
                    self.fail(format!("SDDC Manager upgrade `{id}` failed: {msg}"));
                }
                (_, Err(e)) => {
                    // Connection errors, 5xx, invalidated tokens: SDDC Manager is restarting.
                    if let Phase::UpgradingSddcManager { outage_seen, .. } = &mut self.s.phase {
                        if !*outage_seen {
                            *outage_seen = true;
                            self.s.logbook.push(
                                self.now,
                                LogLevel::Info,
                                &format!(
                                    "SDDC Manager API unavailable ({e}); riding out the restart"
                                ),
                                self.cfg.max_log_entries,
                            );
                        }
                    }
                    self.set_sddc_step(SddcStep::WaitingForApi);
                    self.act(poll);
                }
                (_, Ok(OpState::Running | OpState::Succeeded)) => self.act(poll),
            },
            (Event::UpgradeCommitted(_), Some(_)) => self.act(poll),
            (Event::ApiReady(ready), Some(_)) => {
                if step != SddcStep::WaitingForApi {
                    return;
                }
                if ready {
                    let until = after(self.now, self.cfg.sddc_manager_settle);
                    self.log(
                        LogLevel::Info,
                        &format!(
                            "SDDC Manager API answers again; waiting {} before trusting it",
                            humantime_str(self.cfg.sddc_manager_settle)
                        ),
                    );
                    self.set_sddc_step(SddcStep::Settling { until });
                    self.act(Effect::Wait(self.cfg.sddc_manager_settle));
                } else {
                    self.act(poll);
                }
            }
            _ => {}
        }
    }

    fn set_sddc_upgrade(&mut self, id: Option<String>, new_step: SddcStep) {
        if let Phase::UpgradingSddcManager {
            upgrade_id, step, ..
        } = &mut self.s.phase
        {
            *upgrade_id = id;
            *step = new_step;
        }
    }

    fn sddc_done(&mut self, bundle_id: &str) {
        self.s.applied_bundles.push(bundle_id.to_owned());
        self.s.sddc_upgrades += 1;
        self.log(LogLevel::Success, "SDDC Manager upgrade completed");
        self.enter(Phase::Preparing {
            purpose: DownloadPurpose::AfterSddcManager,
        });
        match self.target() {
            Some(t) => self.act(Effect::ListReleaseBundles(t)),
            None => self.fail("no target release recorded"),
        }
    }

    fn evaluate(&mut self, run_id: String) {
        let deadline = after(self.now, self.cfg.precheck_timeout);
        self.log(
            LogLevel::Info,
            &format!(
                "Evaluating prechecks (run `{run_id}`, timeout {})",
                humantime_str(self.cfg.precheck_timeout)
            ),
        );
        self.enter(Phase::EvaluatingPrechecks {
            run_id: run_id.clone(),
            deadline,
            percent: None,
        });
        self.act(Effect::PollCheckRun(run_id));
    }

    fn check_run(&mut self, deadline: DateTime<Utc>, r: ApiResult<CheckRunReport>) {
        match r {
            Ok(report) => match report.state {
                OpState::Running | OpState::Draft => {
                    if let Phase::EvaluatingPrechecks { percent, .. } = &mut self.s.phase {
                        *percent = report.percent;
                    }
                    self.act(wait_until(
                        self.now,
                        self.cfg.precheck_poll_interval,
                        deadline,
                    ));
                }
                OpState::Succeeded | OpState::Failed(_) => {
                    let mut findings = report.findings;
                    if let OpState::Failed(msg) = &report.state {
                        if !findings
                            .iter()
                            .any(|f| f.severity == FindingSeverity::Error)
                        {
                            findings.push(Finding {
                                severity: FindingSeverity::Error,
                                resource: self.s.domain.name.clone(),
                                check: "Check-set run".to_owned(),
                                message: format!("The run ended with {msg}"),
                                remediation: None,
                            });
                        }
                    }
                    self.prechecks_finished(&findings);
                }
            },
            Err(e) if e.transient => {
                self.log(
                    LogLevel::Warning,
                    &format!("Reading the precheck run failed ({e}); retrying"),
                );
                self.act(wait_until(
                    self.now,
                    self.cfg.precheck_poll_interval,
                    deadline,
                ));
            }
            Err(e) => self.fail(format!("reading the precheck run failed: {e}")),
        }
    }

    fn prechecks_finished(&mut self, findings: &[Finding]) {
        let errors = count(
            findings
                .iter()
                .filter(|f| f.severity == FindingSeverity::Error),
        );
        let warnings = count(findings.iter()) - errors;
        for f in findings {
            let (level, label) = match f.severity {
                FindingSeverity::Error => (LogLevel::Error, "ERROR"),
                FindingSeverity::Warning => (LogLevel::Warning, "WARNING"),
            };
            let mut text = format!(
                "**{label}** · `{}` · *{}*: {}",
                f.resource, f.check, f.message
            );
            if let Some(r) = f.remediation.as_deref().filter(|r| !r.is_empty()) {
                text.push_str(&format!("\n_Remediation:_ {r}"));
            }
            self.log(level, &text);
        }
        let level = if errors > 0 {
            LogLevel::Error
        } else if warnings > 0 {
            LogLevel::Warning
        } else {
            LogLevel::Success
        };
        self.log(
            level,
            &format!("Prechecks done: {errors} error(s), {warnings} warning(s)"),
        );
        self.enter(Phase::PrechecksDone { errors, warnings });
        self.act(Effect::Wait(Duration::ZERO));
    }

    fn after_prechecks(&mut self, errors: u32, warnings: u32) {
        if errors > 0 && self.cfg.fail_on_precheck_errors {
            self.fail(format!(
                "prechecks reported {errors} error(s) and fail_on_precheck_errors is set"
            ));
        } else if errors + warnings == 0 {
            self.s.prechecks_passed = true;
            self.start_upgrade_loop();
        } else if self.s.ignore_alerts {
            self.log(
                LogLevel::Warning,
                &format!(
                    "{errors} error(s) and {warnings} warning(s) ignored because Ignore Alerts is on. Continuing"
                ),
            );
            self.s.prechecks_passed = true;
            self.start_upgrade_loop();
        } else {
            let msg = format!(
                "Prechecks of {} reported {errors} error(s) and {warnings} warning(s); press Acknowledge Alerts to continue",
                self.s.domain.name
            );
            self.log(LogLevel::Warning, &msg);
            self.enter(Phase::WaitingForAck { errors, warnings });
            self.notify(NotificationKind::AcknowledgementNeeded, msg);
        }
    }

    fn start_upgrade_loop(&mut self) {
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Listing,
        });
        self.act(Effect::ListUpgradables(self.version()));
    }

    fn upgrade_result(&mut self, step: UpgradeStep, event: Event) {
        match (step, event) {
            (UpgradeStep::Listing, Event::Upgradables(r)) => match r {
                Ok(snap) => self.pick_next_upgrade(&snap),
                Err(e) => self.retry_or_fail(
                    "Listing the upgradables",
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            (UpgradeStep::Starting { request, component }, Event::UpgradeRequested(r)) => match r {
                Ok(id) if request.draft => self.upgrade_precheck(id, request, component),
                Ok(id) => self.upgrade_running(id, request, component),
                Err(e) if e.transient && self.s.retries < MAX_RETRIES => {
                    self.s.retries += 1;
                    self.log(
                        LogLevel::Warning,
                        &format!("Starting the {component} upgrade failed ({e}); looking for it"),
                    );
                    self.act(Effect::Wait(self.cfg.upgrade_poll_interval));
                }
                Err(e) => self.fail(format!("starting the {component} upgrade failed: {e}")),
            },
            (UpgradeStep::Starting { request, component }, Event::UpgradeFound(r)) => match r {
                Ok(Some(found)) => {
                    self.log(
                        LogLevel::Info,
                        &format!("Re-attached to the {component} upgrade `{}`", found.id),
                    );
                    if found.state == OpState::Draft {
                        self.upgrade_precheck(found.id, request, component);
                    } else {
                        self.upgrade_running(found.id, request, component);
                    }
                }
                Ok(None) => self.act(Effect::StartUpgrade(request)),
                Err(e) => self.retry_or_fail(
                    "Looking for the started upgrade",
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            (
                UpgradeStep::Running {
                    upgrade_id,
                    request,
                    component,
                    deadline,
                },
                Event::UpgradeState(r),
            ) => match r {
                Ok(OpState::Running) => self.act(wait_until(
                    self.now,
                    self.cfg.upgrade_poll_interval,
                    deadline,
                )),
                Ok(OpState::Succeeded) => {
                    self.s.applied_bundles.push(request.bundle_id.clone());
                    self.s.upgrades_done += 1;
                    self.s.upgrades_total = self.s.upgrades_total.max(self.s.upgrades_done);
                    self.log(
                        LogLevel::Success,
                        &format!(
                            "{component} upgraded ({}/{})",
                            self.s.upgrades_done, self.s.upgrades_total
                        ),
                    );
                    self.start_upgrade_loop();
                }
                Ok(OpState::Failed(msg)) => {
                    self.fail(format!("{component} upgrade `{upgrade_id}` failed: {msg}"));
                }
                Err(e) if e.transient => self.act(wait_until(
                    self.now,
                    self.cfg.upgrade_poll_interval,
                    deadline,
                )),
                Ok(OpState::Draft) => self.commit(upgrade_id, request, component),
                Err(e) => self.fail(format!("reading the {component} upgrade failed: {e}")),
            },
            (
                UpgradeStep::Prechecking {
                    upgrade_id,
                    request,
                    component,
                    ..
                },
                Event::UpgradePrecheckStarted(r),
            ) => match r {
                Ok(precheck_id) => {
                    if let Phase::StartingUpgrades {
                        step: UpgradeStep::Prechecking { precheck_id: p, .. },
                    } = &mut self.s.phase
                    {
                        *p = Some(precheck_id.clone());
                    }
                    self.act(Effect::PollUpgradePrecheck {
                        upgrade_id,
                        precheck_id,
                    });
                }
                // VCF does not offer the per-upgrade precheck here: go on without it.
                Err(e) if !e.transient => {
                    self.log(
                        LogLevel::Info,
                        &format!("No per-upgrade precheck for {component} ({e})"),
                    );
                    self.commit(upgrade_id, request, component);
                }
                Err(e) => self.retry_or_fail(
                    "Starting the per-upgrade precheck",
                    &e,
                    self.cfg.precheck_poll_interval,
                ),
            },
            (
                UpgradeStep::Prechecking {
                    upgrade_id,
                    request,
                    component,
                    deadline,
                    ..
                },
                Event::UpgradePrecheck(r),
            ) => match r {
                Ok(report) if report.state == OpState::Running => self.act(wait_until(
                    self.now,
                    self.cfg.precheck_poll_interval,
                    deadline,
                )),
                Ok(report) => self.upgrade_precheck_done(upgrade_id, request, component, &report),
                Err(e) if e.transient => self.act(wait_until(
                    self.now,
                    self.cfg.precheck_poll_interval,
                    deadline,
                )),
                Err(e) => self.fail(format!(
                    "reading the {component} upgrade precheck failed: {e}"
                )),
            },
            (
                UpgradeStep::Committing {
                    upgrade_id,
                    request,
                    component,
                },
                Event::UpgradeCommitted(r),
            ) => match r {
                Ok(()) => self.upgrade_running(upgrade_id, request, component),
                Err(e) => self.retry_or_fail(
                    &format!("Starting the {component} upgrade"),
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            (
                UpgradeStep::Committing {
                    upgrade_id,
                    request,
                    component,
                },
                Event::UpgradeState(r),
            ) => match r {
                Ok(OpState::Draft) => self.act(Effect::CommitUpgrade(upgrade_id)),
                Ok(OpState::Failed(msg)) => {
                    self.fail(format!("{component} upgrade `{upgrade_id}` failed: {msg}"));
                }
                Ok(OpState::Running | OpState::Succeeded) => {
                    self.upgrade_running(upgrade_id, request, component);
                }
                Err(e) => self.retry_or_fail(
                    &format!("Reading the {component} upgrade"),
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            _ => {}
        }
    }

    fn upgrade_precheck(&mut self, upgrade_id: String, request: UpgradeRequest, component: String) {
        self.log(
            LogLevel::Info,
            &format!("Running VCF's precheck for the {component} upgrade"),
        );
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Prechecking {
                upgrade_id: upgrade_id.clone(),
                request,
                component,
                precheck_id: None,
                deadline: after(self.now, self.cfg.precheck_timeout),
            },
        });
        self.act(Effect::StartUpgradePrecheck(upgrade_id));
    }

    fn upgrade_precheck_done(
        &mut self,
        upgrade_id: String,
        request: UpgradeRequest,
        component: String,
        report: &CheckRunReport,
    ) {
        for f in &report.findings {
            let level = match f.severity {
                FindingSeverity::Error => LogLevel::Error,
                FindingSeverity::Warning => LogLevel::Warning,
            };
            let mut text = format!("**{component} precheck** · *{}*: {}", f.check, f.message);
            if let Some(r) = f.remediation.as_deref().filter(|r| !r.is_empty()) {
                text.push_str(&format!("\n_Remediation:_ {r}"));
            }
            self.log(level, &text);
        }
        let failed = matches!(report.state, OpState::Failed(_))
            || report
                .findings
                .iter()
                .any(|f| f.severity == FindingSeverity::Error);
        if !failed {
            self.log(
                LogLevel::Success,
                &format!("Precheck of the {component} upgrade passed"),
            );
            self.commit(upgrade_id, request, component);
        } else if self.s.ignore_alerts && !self.cfg.fail_on_precheck_errors {
            self.log(
                LogLevel::Warning,
                &format!(
                    "Precheck of the {component} upgrade reported errors, ignored because Ignore Alerts is on"
                ),
            );
            self.commit(upgrade_id, request, component);
        } else {
            self.fail(format!(
                "the precheck of the {component} upgrade `{upgrade_id}` failed; the draft upgrade was not started"
            ));
        }
    }

    fn commit(&mut self, upgrade_id: String, request: UpgradeRequest, component: String) {
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Committing {
                upgrade_id: upgrade_id.clone(),
                request,
                component,
            },
        });
        self.act(Effect::CommitUpgrade(upgrade_id));
    }

    fn pick_next_upgrade(&mut self, snap: &UpgradablesSnapshot) {
        let remaining = snap
            .upgradables
            .iter()
            .filter(|u| !u.completed)
            .filter(|u| !self.s.fallback_bundles.contains(&u.bundle_id))
            // ESXi offers the same bundle once per cluster, so only an SDDC Manager bundle
            // already applied by this flow is treated as done.
            .filter(|u| !(u.is_sddc_manager() && self.s.applied_bundles.contains(&u.bundle_id)))
            .count();
        self.s.upgrades_total = self
            .s
            .upgrades_total
            .max(self.s.upgrades_done + u32::try_from(remaining).unwrap_or(0));
        let next = self.candidates(snap).first().map(|u| (*u).clone());
        let Some(u) = next else {
            if remaining > 0 && self.s.retries < MAX_RETRIES {
                // The next component becomes AVAILABLE once VCF has digested the last one.
                self.s.retries += 1;
                self.act(Effect::Wait(self.cfg.upgrade_poll_interval));
            } else if remaining > 0 {
                self.fail(format!(
                    "{remaining} upgradable(s) remain but none is AVAILABLE"
                ));
            } else {
                self.log(
                    LogLevel::Success,
                    "No upgradables left; running the final validation",
                );
                self.enter(Phase::Validating {
                    validation_id: None,
                    deadline: after(self.now, self.cfg.validation_timeout),
                });
                self.act(Effect::StartValidation(self.version()));
            }
            return;
        };
        if u.is_sddc_manager() && self.s.sddc_upgrades < MAX_SDDC_UPGRADES {
            self.begin_sddc_manager(&u.bundle_id, &u.component);
            return;
        }
        let component = if u.component.is_empty() {
            u.bundle_type.clone()
        } else {
            u.component.clone()
        };
        let request = if u.is_esxi() {
            if snap.cluster_ids.is_empty() {
                self.fail(format!(
                    "VCF offers the {component} upgrade but lists no cluster to upgrade"
                ));
                return;
            }
            UpgradeRequest {
                bundle_id: u.bundle_id.clone(),
                resource_type: "CLUSTER".to_owned(),
                resource_ids: snap.cluster_ids.clone(),
                draft: true,
            }
        } else {
            UpgradeRequest {
                bundle_id: u.bundle_id.clone(),
                resource_type: "DOMAIN".to_owned(),
                resource_ids: vec![self.s.domain.id.clone()],
                draft: true,
            }
        };
        self.log(
            LogLevel::Info,
            &format!(
                "Starting the {component} upgrade ({}/{})",
                self.s.upgrades_done + 1,
                self.s.upgrades_total
            ),
        );
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Starting {
                request: request.clone(),
                component,
            },
        });
        self.act(Effect::StartUpgrade(request));
    }

    fn upgrade_running(&mut self, id: String, request: UpgradeRequest, component: String) {
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Running {
                upgrade_id: id.clone(),
                request,
                component,
                deadline: after(self.now, self.cfg.component_timeout),
            },
        });
        self.act(Effect::PollUpgrade(id));
    }

    fn validation(&mut self, deadline: DateTime<Utc>, r: ApiResult<ValidationReport>) {
        match r {
            Ok(v) => {
                if let Phase::Validating { validation_id, .. } = &mut self.s.phase {
                    *validation_id = Some(v.id.clone());
                }
                if v.running {
                    self.act(wait_until(
                        self.now,
                        self.cfg.validation_poll_interval,
                        deadline,
                    ));
                } else if v.completed {
                    let msg = format!(
                        "{} upgraded to VCF {} successfully",
                        self.s.domain.name,
                        self.version()
                    );
                    self.log(LogLevel::Success, &msg);
                    self.enter(Phase::Completed {
                        hold_until: after(self.now, self.cfg.completed_hold),
                    });
                    self.notify(NotificationKind::Completed, msg);
                    self.act(Effect::Wait(self.cfg.completed_hold));
                } else {
                    let mut reason = format!("final validation ended with {}", v.execution_status);
                    if !v.problems.is_empty() {
                        reason.push_str(": ");
                        reason.push_str(&v.problems.join("; "));
                    }
                    self.fail(reason);
                }
            }
            Err(e) if e.transient => {
                let is_started = matches!(
                    self.s.phase,
                    Phase::Validating {
                        validation_id: Some(_),
                        ..
                    }
                );
                if is_started {
                    self.act(wait_until(
                        self.now,
                        self.cfg.validation_poll_interval,
                        deadline,
                    ));
                } else {
                    self.retry_or_fail(
                        "Starting the final validation",
                        &e,
                        self.cfg.validation_poll_interval,
                    );
                }
            }
            Err(e) => self.fail(format!("final validation failed: {e}")),
        }
    }
}

/// Applies a polled download state to a tracked bundle; returns a failure message when the
/// download this flow requested failed.
fn apply_download_state(track: &mut BundleTrack, state: DownloadState) -> Option<String> {
    match state {
        DownloadState::Failed if track.request != DownloadRequest::None => {
            track.state = DownloadState::Failed;
            Some(format!(
                "download of {} bundle {} failed",
                track.component, track.id
            ))
        }
        // Confirmed requests are never repeated: VCF may still show PENDING for a moment.
        DownloadState::NotStarted if track.request == DownloadRequest::Confirmed => {
            track.state = DownloadState::InProgress;
            None
        }
        _ => {
            track.state = state;
            None
        }
    }
}

/// A bundle this flow must ask VCF to download: not downloaded, not downloading, and not
/// already asked (an unconfirmed ask is repeated only when VCF shows nothing happening).
fn needs_request(track: &BundleTrack) -> bool {
    matches!(
        track.state,
        DownloadState::NotStarted | DownloadState::Failed
    ) && track.request != DownloadRequest::Confirmed
}

/// `1h 30m`-style rendering of a duration for log lines.
pub fn humantime_str(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = Vec::new();
    if h > 0 {
        out.push(format!("{h}h"));
    }
    if m > 0 {
        out.push(format!("{m}m"));
    }
    if s > 0 {
        out.push(format!("{s}s"));
    }
    out.join(" ")
}
