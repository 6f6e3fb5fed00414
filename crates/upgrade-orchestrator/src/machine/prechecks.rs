//! Phases of the check-set prechecks: `InitializingPrechecks` (querying the check sets),
//! `RunningPrechecks` (starting the run, or re-attaching to it), `EvaluatingPrechecks`
//! (polling it), `PrechecksDone`, `WaitingForAck` and `AlertsAcknowledged`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::common::{Budget, after, count, humantime_str, wait_until};
use super::{Effect, Event, Machine};
use crate::api::{
    ApiResult, CheckQuery, CheckRunReport, Finding, FindingSeverity, OpState, TargetRelease,
};
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::Phase;

impl Machine<'_> {
    pub(super) fn initializing_prechecks(&mut self, target: TargetRelease, ev: Event) {
        match ev {
            Event::Tick => self.act(Effect::QueryCheckSets(target)),
            Event::CheckSetsQueried(Ok(query)) => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "Prechecks cover {} resource(s); starting the check-set run",
                        query.resources.len()
                    ),
                );
                self.enter(Phase::RunningPrechecks {
                    query: query.clone(),
                    requested_at: self.now,
                    target: target.clone(),
                });
                self.act(Effect::StartCheckRun { query, target });
            }
            Event::CheckSetsQueried(Err(e)) => self.retry_or_fail(
                "Querying the check sets",
                &e,
                self.cfg.precheck_poll_interval,
            ),
            _ => {}
        }
    }

    pub(super) fn running_prechecks(
        &mut self,
        query: CheckQuery,
        requested_at: DateTime<Utc>,
        target: TargetRelease,
        ev: Event,
    ) {
        match ev {
            Event::Tick => self.act(Effect::FindCheckRun {
                since: requested_at,
            }),
            Event::CheckRunStarted(Ok(run_id)) => self.evaluate(run_id, target),
            // The run may have been created although the answer was lost: look first.
            Event::CheckRunStarted(Err(e)) => self.look_again_or_fail(
                "Starting the check-set run",
                "Starting the prechecks",
                &e,
                Effect::Wait(self.cfg.precheck_poll_interval),
            ),
            Event::CheckRunFound(Ok(Some(run_id))) => {
                self.log(LogLevel::Info, "Re-attached to the running check-set run");
                self.evaluate(run_id, target);
            }
            Event::CheckRunFound(Ok(None)) => {
                if let Phase::RunningPrechecks { requested_at, .. } = &mut self.s.phase {
                    *requested_at = self.now;
                }
                self.act(Effect::StartCheckRun { query, target });
            }
            Event::CheckRunFound(Err(e)) => self.retry_or_fail(
                "Looking for the check-set run",
                &e,
                self.cfg.precheck_poll_interval,
            ),
            _ => {}
        }
    }

    fn evaluate(&mut self, run_id: String, target: TargetRelease) {
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
            target,
        });
        self.act(Effect::PollCheckRun(run_id));
    }

    pub(super) fn evaluating_prechecks(
        &mut self,
        run_id: String,
        deadline: DateTime<Utc>,
        target: TargetRelease,
        ev: Event,
    ) {
        match ev {
            Event::Tick => self.act(Effect::PollCheckRun(run_id)),
            Event::CheckRun(r) => self.check_run(&run_id, deadline, r, target),
            // The run's own answers could not be read: its task is VCF's word.
            Event::TaskState(result) => {
                let poll = wait_until(self.now, self.cfg.precheck_poll_interval, deadline);
                match self.task_read("the precheck run", result, poll.clone()) {
                    // Its findings come with the run's own answer: read it again.
                    Some(OpState::Succeeded) => self.act(poll),
                    Some(OpState::Failed(msg)) => self.fail(format!(
                        "VCF reports the precheck run `{run_id}` ended {msg}"
                    )),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn check_run(
        &mut self,
        run_id: &str,
        deadline: DateTime<Utc>,
        r: ApiResult<CheckRunReport>,
        target: TargetRelease,
    ) {
        let poll = wait_until(self.now, self.cfg.precheck_poll_interval, deadline);
        match r {
            Ok(report) => match report.state {
                OpState::Running | OpState::Draft => {
                    self.poll_answered();
                    if let Phase::EvaluatingPrechecks { percent, .. } = &mut self.s.phase {
                        *percent = report.percent;
                    }
                    self.act(poll);
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
                    self.prechecks_finished(&findings, target);
                }
            },
            Err(e) if e.transient => {
                let note = format!("Reading the precheck run failed ({e}); retrying");
                self.retry(
                    true,
                    Budget::Deadline,
                    poll,
                    Some(note),
                    format!("reading the precheck run failed: {e}"),
                );
            }
            Err(e) => self.poll_failed("the precheck run", &e, poll, Some(run_id)),
        }
    }

    fn prechecks_finished(&mut self, findings: &[Finding], target: TargetRelease) {
        // Errors first, then warnings, each in VCF's order.
        let mut findings = findings.to_vec();
        findings.sort_by_key(|f| f.severity != FindingSeverity::Error);
        let errors = count(
            findings
                .iter()
                .filter(|f| f.severity == FindingSeverity::Error),
        );
        let warnings = count(findings.iter()) - errors;
        for f in &findings {
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
        self.s.findings = findings;
        self.enter(Phase::PrechecksDone {
            errors,
            warnings,
            target,
        });
        self.act(Effect::Wait(Duration::ZERO));
    }

    /// Decides what the findings mean: fail, go on, or wait for the user.
    pub(super) fn prechecks_done(&mut self, errors: u32, warnings: u32, target: TargetRelease) {
        if errors > 0 && self.cfg.fail_on_precheck_errors {
            self.fail(format!(
                "prechecks reported {errors} error(s) and fail_on_precheck_errors is set"
            ));
        } else if errors + warnings == 0 {
            self.s.prechecks_passed = true;
            self.start_upgrade_loop(target);
        } else if self.s.ignore_alerts {
            self.log(
                LogLevel::Warning,
                &format!(
                    "{errors} error(s) and {warnings} warning(s) ignored because Ignore Alerts is on. Continuing"
                ),
            );
            self.s.prechecks_passed = true;
            self.start_upgrade_loop(target);
        } else {
            let msg = format!(
                "Prechecks of {} reported {errors} error(s) and {warnings} warning(s); press Acknowledge Alerts to continue",
                self.s.domain.name
            );
            self.log(LogLevel::Warning, &msg);
            self.enter(Phase::WaitingForAck {
                errors,
                warnings,
                target,
            });
            self.notify(NotificationKind::AcknowledgementNeeded, msg);
        }
    }

    /// No timeout: only Acknowledge Alerts (or Abort) moves on.
    pub(super) fn waiting_for_ack(&mut self, target: TargetRelease, ev: Event) {
        if ev == Event::Acknowledge {
            self.log(LogLevel::Success, "Alerts were acknowledged. Continuing");
            self.enter(Phase::AlertsAcknowledged { target });
            self.act(Effect::Wait(Duration::ZERO));
        }
    }

    pub(super) fn alerts_acknowledged(&mut self, target: TargetRelease) {
        self.s.prechecks_passed = true;
        self.start_upgrade_loop(target);
    }
}
