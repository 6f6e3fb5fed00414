//! Phases `Validating` (VCF's final validation of the domain) and `Completed` (shown for a
//! while, then back to idle).

use chrono::{DateTime, Utc};

use super::common::{Budget, after, wait_for, wait_until};
use super::{Effect, Event, FlowState, Machine};
use crate::api::TargetRelease;
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::Phase;

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
        let r = match ev {
            Event::Tick => {
                return match validation_id {
                    Some(id) => self.act(Effect::PollValidation(id)),
                    None => self.act(Effect::StartValidation(target.version.clone())),
                };
            }
            Event::Validation(r) => r,
            _ => return,
        };
        let poll = wait_until(self.now, self.cfg.validation_poll_interval, deadline);
        match r {
            Ok(v) => {
                if let Phase::Validating { validation_id, .. } = &mut self.s.phase {
                    *validation_id = Some(v.id.clone());
                }
                if v.running {
                    self.act(poll);
                } else if v.completed {
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
                } else {
                    let mut reason = format!("final validation ended with {}", v.execution_status);
                    if !v.problems.is_empty() {
                        reason.push_str(": ");
                        reason.push_str(&v.problems.join("; "));
                    }
                    self.fail(reason);
                }
            }
            // A running validation is polled until its deadline; starting one is retried.
            Err(e) if validation_id.is_some() => self.retry(
                e.transient,
                Budget::Deadline,
                poll,
                None,
                format!("final validation failed: {e}"),
            ),
            Err(e) if e.transient => self.retry_or_fail(
                "Starting the final validation",
                &e,
                self.cfg.validation_poll_interval,
            ),
            Err(e) => self.fail(format!("final validation failed: {e}")),
        }
    }

    /// Shows the success until `hold_until`, then returns to idle (keeping Ignore Alerts).
    pub(super) fn completed(&mut self, hold_until: DateTime<Utc>) {
        if self.now >= hold_until {
            let keep_ignore = self.s.ignore_alerts;
            self.s = FlowState::new(self.s.domain.clone());
            self.s.ignore_alerts = keep_ignore;
        } else {
            self.act(wait_for(self.now, hold_until));
        }
    }
}
