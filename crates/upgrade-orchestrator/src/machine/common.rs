//! What every phase handler uses: logging, notifying, entering a phase, failing the flow, the
//! one retry rule, the timeout texts, and time helpers.

use crate::names::component_name;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Effect, FlowState, Machine};
use crate::api::{ApiFailure, ApiResult, OpState, UpgradableInfo, UpgradablesSnapshot};
use crate::logbook::LogLevel;
use crate::notify::{Notification, NotificationKind};
use crate::phase::{Phase, UpgradeStep};

/// How many times a failed one-shot request is retried before the flow fails.
pub(super) const MAX_RETRIES: u32 = 5;
/// At most this many SDDC Manager upgrades (upgrade + drift bundles) per flow.
pub(crate) const MAX_SDDC_UPGRADES: u32 = 3;

/// What bounds the retries of a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Budget {
    /// One-shot requests: at most [`MAX_RETRIES`] consecutive attempts in a phase.
    Attempts,
    /// Polls of something already running: as often as needed; the phase deadline ends them.
    Deadline,
}

impl Machine<'_> {
    pub(super) fn log(&mut self, level: LogLevel, text: &str) {
        self.s
            .logbook
            .push(self.now, level, text, self.cfg.max_log_entries);
    }

    pub(super) fn notify(&mut self, kind: NotificationKind, message: impl Into<String>) {
        self.fx
            .push(Effect::Notify(Notification::new(kind, message)));
    }

    pub(super) fn act(&mut self, effect: Effect) {
        self.fx.push(effect);
    }

    pub(super) fn reject(&mut self, reason: impl Into<String>) {
        self.rejected = Some(reason.into());
    }

    /// Moves to `phase`; a new kind of phase starts with a fresh retry budget.
    pub(super) fn enter(&mut self, phase: Phase) {
        if phase.kind() != self.s.phase.kind() {
            self.s.retries = 0;
        }
        self.s.phase = phase;
    }

    pub(super) fn fail(&mut self, reason: impl Into<String>) {
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

    /// The one retry rule for every failed attempt: when the failure is transient and the
    /// budget allows, logs `note` (if any) and schedules `wait`, after which the tick makes the
    /// next attempt; otherwise the flow fails with `failure`.
    pub(super) fn retry(
        &mut self,
        transient: bool,
        budget: Budget,
        wait: Effect,
        note: Option<String>,
        failure: String,
    ) {
        let allowed = transient
            && match budget {
                Budget::Attempts => self.s.retries < MAX_RETRIES,
                Budget::Deadline => true,
            };
        if !allowed {
            return self.fail(failure);
        }
        if budget == Budget::Attempts {
            self.s.retries += 1;
        }
        if let Some(note) = note {
            self.log(LogLevel::Warning, &note);
        }
        self.act(wait);
    }

    /// [`Self::retry`] for a one-shot request that is simply sent again: "`what` failed".
    pub(super) fn retry_or_fail(&mut self, what: &str, err: &ApiFailure, interval: Duration) {
        let note = format!(
            "{what} failed ({err}); retrying ({}/{MAX_RETRIES})",
            self.s.retries + 1
        );
        self.retry(
            err.transient,
            Budget::Attempts,
            Effect::Wait(interval),
            Some(note),
            format!("{what} failed: {err}"),
        );
    }

    /// [`Self::retry`] for a request VCF may have carried out although its answer was lost:
    /// the next tick looks for what it created before sending it again.
    pub(super) fn look_again_or_fail(
        &mut self,
        what: &str,
        failed: &str,
        err: &ApiFailure,
        wait: Effect,
    ) {
        self.retry(
            err.transient,
            Budget::Attempts,
            wait,
            Some(format!("{what} failed ({err}); looking for it")),
            format!("{failed} failed: {err}"),
        );
    }

    /// A poll of an operation running in VCF failed. No answer (unreachable, 5xx) is polled
    /// again until the phase deadline; an answer that could not be read is asked for again up
    /// to `poll_error_budget` times in a row. Then, before the flow fails, the operation's own
    /// task (`task_id`, `GET /v1/tasks/{id}`) is asked; [`Self::task_read`] takes its answer.
    /// `what` names the operation (`the NSX upgrade`).
    pub(super) fn poll_failed(
        &mut self,
        what: &str,
        err: &ApiFailure,
        poll: Effect,
        task_id: Option<&str>,
    ) {
        if err.transient {
            return self.act(poll);
        }
        let budget = self.cfg.poll_error_budget;
        if self.s.retries < budget {
            self.s.retries += 1;
            self.log(
                LogLevel::Warning,
                &format!(
                    "Reading {what} failed ({err}); asking again ({}/{budget})",
                    self.s.retries
                ),
            );
            return self.act(poll);
        }
        match task_id {
            Some(id) => {
                self.log(
                    LogLevel::Warning,
                    &format!(
                        "Reading {what} failed {budget} times in a row ({err}); asking VCF for \
                         its task `{id}`"
                    ),
                );
                self.act(Effect::ReadTask(id.to_owned()));
            }
            None => self.fail(format!(
                "reading {what} failed {budget} times in a row: {err}"
            )),
        }
    }

    /// A poll of a running operation answered: the unreadable answers before it are forgiven.
    pub(super) fn poll_answered(&mut self) {
        self.s.retries = 0;
    }

    /// The answer of `GET /v1/tasks/{id}` after polls of `what` could not be read: VCF's word
    /// decides. Still running → polled again with a fresh budget; finished → returned for the
    /// caller to act on; no answer → polled again (the deadline bounds it); an unreadable task
    /// too → the flow fails, naming both.
    pub(super) fn task_read(
        &mut self,
        what: &str,
        result: ApiResult<OpState>,
        poll: Effect,
    ) -> Option<OpState> {
        match result {
            Ok(OpState::Running | OpState::Draft) => {
                self.s.retries = 0;
                self.log(
                    LogLevel::Info,
                    &format!("VCF reports {what} still running; following it"),
                );
                self.act(poll);
                None
            }
            Ok(done) => {
                self.s.retries = 0;
                Some(done)
            }
            Err(e) if e.transient => {
                self.act(poll);
                None
            }
            Err(e) => {
                self.fail(format!("{what} could not be read, nor its VCF task: {e}"));
                None
            }
        }
    }

    /// Why the current phase's deadline failed the flow.
    pub(super) fn timeout_text(&self) -> String {
        let d = humantime_str;
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
                ..
            } => format!(
                "{component} upgrade did not finish within {} (timeout)",
                d(self.cfg.component_timeout),
                component = component_name(component),
            ),
            Phase::StartingUpgrades {
                step: UpgradeStep::Prechecking { component, .. },
                ..
            } => format!(
                "the {component} upgrade precheck did not finish within {}",
                d(self.cfg.precheck_timeout),
                component = component_name(component),
            ),
            Phase::Validating { .. } => format!(
                "final validation did not finish within {}",
                d(self.cfg.validation_timeout)
            ),
            Phase::SettingTarget { target, .. } => format!(
                "the validation of VCF {} as the target did not finish within {}; nothing was \
                 changed in VCF",
                target.version,
                d(self.cfg.validation_timeout)
            ),
            _ => "timeout".to_owned(),
        }
    }

    /// Upgradables this flow has not done yet (see [`remaining`]).
    pub(super) fn remaining<'s>(
        &'s self,
        snap: &'s UpgradablesSnapshot,
    ) -> impl Iterator<Item = &'s UpgradableInfo> {
        remaining(&self.s, snap)
    }

    /// The first upgradable VCF offers now (see [`first_candidate`]).
    pub(super) fn first_candidate(&self, snap: &UpgradablesSnapshot) -> Option<UpgradableInfo> {
        first_candidate(&self.s, snap)
    }
}

/// Upgradables flow `s` has not done yet: never fallback bundles, and no SDDC Manager bundle
/// it already applied (ESXi offers the same bundle once per cluster, so only an SDDC Manager
/// bundle already applied is treated as done).
pub(crate) fn remaining<'s>(
    s: &'s FlowState,
    snap: &'s UpgradablesSnapshot,
) -> impl Iterator<Item = &'s UpgradableInfo> {
    snap.upgradables
        .iter()
        .filter(|u| !u.completed)
        .filter(|u| !s.fallback_bundles.contains(&u.bundle_id))
        .filter(|u| !(u.is_sddc_manager() && s.applied_bundles.contains(&u.bundle_id)))
}

/// The first upgradable VCF offers now (AVAILABLE), in its order: what flow `s` starts next.
pub(crate) fn first_candidate(s: &FlowState, snap: &UpgradablesSnapshot) -> Option<UpgradableInfo> {
    remaining(s, snap).find(|u| u.available).cloned()
}

pub(super) fn count<'a, T: 'a>(it: impl Iterator<Item = &'a T>) -> u32 {
    u32::try_from(it.count()).unwrap_or(u32::MAX)
}

pub(super) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX / 4)
}

/// How long to wait: the poll interval, but never past the deadline (plus a hair so the tick
/// lands after it).
pub(super) fn wait_until(
    now: DateTime<Utc>,
    interval: Duration,
    deadline: DateTime<Utc>,
) -> Effect {
    let left = (deadline - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(1);
    Effect::Wait(interval.min(left))
}

/// The wait until `until` (nothing if it has passed).
pub(super) fn wait_for(now: DateTime<Utc>, until: DateTime<Utc>) -> Effect {
    Effect::Wait((until - now).to_std().unwrap_or(Duration::ZERO))
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
