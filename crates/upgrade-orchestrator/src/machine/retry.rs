//! Retry instead of restart: a component upgrade whose VCF task failed is remembered with the
//! failed flow; when VCF marks the task retryable (`Task.isRetryable`), Retry Upgrade (or Start
//! Upgrade) runs that task again with `PATCH /v1/tasks/{id}`, as admins and VMware's KB fixes
//! do, and the flow continues at that component instead of posting a new upgrade.

use super::upgrades::Upgrade;
use super::{Effect, Event, Machine};
use crate::api::{ApiResult, FailedTask, OpState};
use crate::logbook::LogLevel;
use crate::names::component_name;
use crate::notify::NotificationKind;
use crate::phase::{FailedUpgrade, Phase, UpgradeStep};

impl Machine<'_> {
    /// The upgrade's VCF task failed: the flow fails, remembers the upgrade, and reads the task
    /// for its errors and whether VCF can retry it.
    pub(super) fn upgrade_failed(&mut self, upgrade: Upgrade, status: &str) {
        let Upgrade {
            upgrade_id,
            request,
            component,
            target,
        } = upgrade;
        self.fail(format!(
            "{component} upgrade `{upgrade_id}` failed: {status}",
            component = component_name(&component),
        ));
        self.act(Effect::ReadFailedTask(upgrade_id.clone()));
        self.s.failed_upgrade = Some(FailedUpgrade {
            upgrade_id,
            request,
            component,
            target,
            retryable: false,
        });
    }

    /// The answer to [`Effect::ReadFailedTask`]: the failure now carries the task's errors and,
    /// when VCF can retry it, the flow offers Retry Upgrade.
    pub(super) fn failed_task_read(&mut self, result: ApiResult<FailedTask>) {
        let Some(failed) = self.s.failed_upgrade.as_mut() else {
            return;
        };
        let task = match result {
            Ok(task) => task,
            Err(e) => {
                let text = format!("The failed upgrade task could not be read ({e})");
                self.log(LogLevel::Warning, &text);
                return;
            }
        };
        failed.retryable = task.retryable;
        let reason = format!(
            "{} upgrade `{}` failed: {}",
            component_name(&failed.component),
            failed.upgrade_id,
            task.message
        );
        let hint = if task.retryable {
            format!(
                "VCF can retry the {} upgrade task: fix the cause, then press **Retry Upgrade** \
                 (or Start Upgrade) to run it again and continue from there",
                component_name(&failed.component)
            )
        } else {
            "VCF does not offer to retry this task; Start Upgrade begins a new flow".to_owned()
        };
        self.log(
            LogLevel::Error,
            &format!("VCF task error: {}", task.message),
        );
        self.log(LogLevel::Info, &hint);
        self.s.last_error = Some(reason.clone());
        self.s.phase = Phase::Failed { reason };
    }

    /// Retry Upgrade (or Start Upgrade) on a flow whose failed task VCF can retry.
    pub(super) fn retry_failed_upgrade(&mut self) {
        let Some(FailedUpgrade {
            upgrade_id,
            request,
            component,
            target,
            ..
        }) = self.s.failed_upgrade.take()
        else {
            return;
        };
        self.s.last_error = None;
        let msg = format!(
            "Retrying the failed {component} upgrade task `{upgrade_id}` of {} in VCF",
            self.s.domain.name,
            component = component_name(&component),
        );
        self.log(LogLevel::Info, &msg);
        self.notify(NotificationKind::UpgradeStarted, msg);
        let effect = Effect::RetryTask(upgrade_id.clone());
        self.enter(Phase::StartingUpgrades {
            step: UpgradeStep::Retrying {
                upgrade_id,
                request,
                component,
            },
            target,
        });
        self.act(effect);
    }

    /// Step `Retrying`: the `PATCH` was (perhaps) sent. Sending it again is harmless (a task
    /// that runs again answers 409), so a tick after a restart simply sends it again.
    pub(super) fn retrying_task(&mut self, upgrade: Upgrade, ev: Event) {
        let component = upgrade.component.clone();
        match ev {
            Event::Tick => self.act(Effect::RetryTask(upgrade.upgrade_id)),
            Event::TaskRetried(Ok(())) => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "VCF runs the {component} upgrade task again",
                        component = component_name(&component)
                    ),
                );
                self.upgrade_running(upgrade);
            }
            Event::TaskRetried(Err(e)) if e.transient => self.retry_or_fail(
                &format!(
                    "Retrying the {component} upgrade task",
                    component = component_name(&component)
                ),
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            // 409: the task is no longer failed (the retry went through before a restart, or
            // someone retried it in the SDDC Manager UI). The upgrade's state says which.
            Event::TaskRetried(Err(e)) => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "VCF did not take the retry ({e}); reading the {component} upgrade",
                        component = component_name(&component)
                    ),
                );
                self.act(Effect::PollUpgrade(upgrade.upgrade_id));
            }
            Event::UpgradeState(Ok(OpState::Failed(msg))) => self.upgrade_failed(upgrade, &msg),
            Event::UpgradeState(Ok(_)) => self.upgrade_running(upgrade),
            Event::UpgradeState(Err(e)) => self.retry_or_fail(
                &format!(
                    "Reading the {component} upgrade",
                    component = component_name(&component)
                ),
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            _ => {}
        }
    }
}
