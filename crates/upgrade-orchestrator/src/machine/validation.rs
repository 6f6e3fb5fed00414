//! Phases `Validating` (VCF's final validation of the domain) and `Completed` (shown for a
//! while, then back to idle).

use chrono::{DateTime, Utc};

use super::common::{Budget, after, wait_for, wait_until};
use super::{Effect, Event, FlowState, Machine};
use crate::api::TargetRelease;
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::{Phase, TargetCheck};

/// What VCF's validation of a target found.
pub(super) enum Checked {
    /// It ran and passed (perhaps with warnings, which are logged).
    Passed,
    /// It did not pass; why.
    Failed(String),
}

impl Machine<'_> {
    pub(super) fn start_validation(&mut self, target: TargetRelease) {
        let version = target.version.clone();
        self.enter(Phase::Validating {
            validation_id: None,
            deadline: after(self.now, self.cfg.validation_timeout),
            target,
        });
        self.act(Effect::StartValidation(version));
    }

    pub(super) fn validating(
        &mut self,
        validation_id: Option<String>,
        deadline: DateTime<Utc>,
        target: &TargetRelease,
        ev: Event,
    ) {
        match self.validation_result(validation_id, deadline, target, "final validation", ev) {
            Some(Checked::Passed) => {
                let msg = format!(
                    "{} upgraded to VCF {} successfully",
                    self.s.domain.name, target.version
                );
                self.log(LogLevel::Success, &msg);
                self.enter(Phase::Completed {
                    hold_until: after(self.now, self.cfg.completed_hold),
                });
                self.notify(NotificationKind::Completed, msg);
                self.act(Effect::Wait(self.cfg.completed_hold));
            }
            Some(Checked::Failed(reason)) => self.fail(format!("final validation {reason}")),
            None => {}
        }
    }

    /// Runs one VCF validation of `target` for the domain (`POST /v1/releases/domains/{id}/
    /// validations`, then polls it): a tick starts or polls it, an answer records its id. Once
    /// VCF has finished it, every warning and failed check is in the log and the verdict is
    /// returned: passed only when it ran to the end (`executionStatus` `COMPLETED`) and found
    /// nothing worse than warnings (`resultStatus` `SUCCEEDED`, `FAILED_WITH_WARNINGS`, or 9.x
    /// `WARNING`). `what` names it in errors ("final validation").
    pub(super) fn validation_result(
        &mut self,
        validation_id: Option<String>,
        deadline: DateTime<Utc>,
        target: &TargetRelease,
        what: &str,
        ev: Event,
    ) -> Option<Checked> {
        let r = match ev {
            Event::Tick => {
                self.act(match validation_id {
                    Some(id) => Effect::PollValidation(id),
                    None => Effect::StartValidation(target.version.clone()),
                });
                return None;
            }
            Event::Validation(r) => r,
            _ => return None,
        };
        let poll = wait_until(self.now, self.cfg.validation_poll_interval, deadline);
        match r {
            Ok(v) if v.running => {
                self.record_validation_id(&v.id);
                self.act(poll);
                None
            }
            Ok(v) => {
                self.record_validation_id(&v.id);
                for warning in &v.warnings {
                    self.log(LogLevel::Warning, &format!("Validation warning: {warning}"));
                }
                for problem in &v.problems {
                    self.log(
                        LogLevel::Error,
                        &format!("Validation check failed: {problem}"),
                    );
                }
                if v.completed {
                    return Some(Checked::Passed);
                }
                let mut reason = format!("ended with {} / {}", v.execution_status, v.result_status);
                if !v.problems.is_empty() {
                    reason.push_str(": ");
                    reason.push_str(&v.problems.join("; "));
                }
                Some(Checked::Failed(reason))
            }
            // A running validation is polled until its deadline; starting one is retried.
            Err(e) if validation_id.is_some() => {
                self.retry(
                    e.transient,
                    Budget::Deadline,
                    poll,
                    None,
                    format!("{what} failed: {e}"),
                );
                None
            }
            Err(e) => {
                self.retry_or_fail(
                    &format!("Starting the {what}"),
                    &e,
                    self.cfg.validation_poll_interval,
                );
                None
            }
        }
    }

    /// Keeps the id of the validation the current phase runs, so a restart polls it again.
    fn record_validation_id(&mut self, id: &str) {
        match &mut self.s.phase {
            Phase::Validating { validation_id, .. }
            | Phase::SettingTarget {
                check: TargetCheck::Validating { validation_id, .. },
                ..
            } => *validation_id = Some(id.to_owned()),
            _ => {}
        }
    }

    /// Shows the success until `hold_until`, then returns to idle (keeping Ignore Alerts).
    pub(super) fn completed(&mut self, hold_until: DateTime<Utc>) {
        if self.now >= hold_until {
            let keep_ignore = self.s.ignore_alerts;
            let keep_windows = self.s.windows.take();
            self.s = FlowState::new(self.s.domain.clone());
            self.s.ignore_alerts = keep_ignore;
            self.s.windows = keep_windows;
        } else {
            self.act(wait_for(self.now, hold_until));
        }
    }
}
