//! Phase `StartingUpgrades`: the component upgrade loop. Each round lists the upgradables,
//! starts the next AVAILABLE one as a draft, runs VCF's per-upgrade precheck on it, commits it
//! and polls it to the end; when none is left, the final validation follows.

use super::common::{Budget, MAX_SDDC_UPGRADES, after, wait_until};
use super::{Effect, Event, Machine};
use crate::api::{
    CheckRunReport, FindingSeverity, OpState, TargetRelease, UpgradablesSnapshot, UpgradeRequest,
};
use crate::logbook::LogLevel;
use crate::phase::{Phase, UpgradeStep};

impl Machine<'_> {
    /// Starts (or continues) the loop by listing the upgradables.
    pub(super) fn start_upgrade_loop(&mut self, target: TargetRelease) {
        let version = target.version.clone();
        self.enter_step(UpgradeStep::Listing, target);
        self.act(Effect::ListUpgradables(version));
    }

    fn enter_step(&mut self, step: UpgradeStep, target: TargetRelease) {
        self.enter(Phase::StartingUpgrades { step, target });
    }

    pub(super) fn starting_upgrades(
        &mut self,
        step: UpgradeStep,
        target: TargetRelease,
        ev: Event,
    ) {
        match (step, ev) {
            (UpgradeStep::Listing, Event::Tick) => {
                self.act(Effect::ListUpgradables(target.version));
            }
            (UpgradeStep::Listing, Event::Upgradables(r)) => match r {
                Ok(snap) => self.pick_next_upgrade(&snap, target),
                Err(e) => self.retry_or_fail(
                    "Listing the upgradables",
                    &e,
                    self.cfg.upgrade_poll_interval,
                ),
            },
            (UpgradeStep::Starting { request, .. }, Event::Tick) => {
                self.act(Effect::FindUpgrade {
                    bundle_id: request.bundle_id,
                    resource_ids: request.resource_ids,
                });
            }
            (UpgradeStep::Starting { request, component }, Event::UpgradeRequested(r)) => match r {
                Ok(id) if request.draft => self.upgrade_precheck(id, request, component, target),
                Ok(id) => self.upgrade_running(id, request, component, target),
                // The upgrade may have been created although the answer was lost: look first.
                Err(e) => {
                    let note =
                        format!("Starting the {component} upgrade failed ({e}); looking for it");
                    let wait = Effect::Wait(self.cfg.upgrade_poll_interval);
                    if !self.retry(e.transient, Budget::Attempts, wait, Some(note)) {
                        self.fail(format!("starting the {component} upgrade failed: {e}"));
                    }
                }
            },
            (UpgradeStep::Starting { request, component }, Event::UpgradeFound(r)) => match r {
                Ok(Some(found)) => {
                    self.log(
                        LogLevel::Info,
                        &format!("Re-attached to the {component} upgrade `{}`", found.id),
                    );
                    if found.state == OpState::Draft {
                        self.upgrade_precheck(found.id, request, component, target);
                    } else {
                        self.upgrade_running(found.id, request, component, target);
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
                UpgradeStep::Prechecking {
                    upgrade_id,
                    precheck_id,
                    ..
                },
                Event::Tick,
            ) => match precheck_id {
                Some(precheck_id) => self.act(Effect::PollUpgradePrecheck {
                    upgrade_id,
                    precheck_id,
                }),
                None => self.act(Effect::StartUpgradePrecheck(upgrade_id)),
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
                        ..
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
                    self.commit(upgrade_id, request, component, target);
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
            ) => {
                let poll = wait_until(self.now, self.cfg.precheck_poll_interval, deadline);
                match r {
                    Ok(report) if report.state == OpState::Running => self.act(poll),
                    Ok(report) => {
                        self.upgrade_precheck_done(upgrade_id, request, component, target, &report);
                    }
                    Err(e) => {
                        if !self.retry(e.transient, Budget::Deadline, poll, None) {
                            self.fail(format!(
                                "reading the {component} upgrade precheck failed: {e}"
                            ));
                        }
                    }
                }
            }
            (
                UpgradeStep::Committing { upgrade_id, .. }
                | UpgradeStep::Running { upgrade_id, .. },
                Event::Tick,
            ) => self.act(Effect::PollUpgrade(upgrade_id)),
            (
                UpgradeStep::Committing {
                    upgrade_id,
                    request,
                    component,
                },
                Event::UpgradeCommitted(r),
            ) => match r {
                Ok(()) => self.upgrade_running(upgrade_id, request, component, target),
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
                    self.upgrade_running(upgrade_id, request, component, target);
                }
                Err(e) => self.retry_or_fail(
                    &format!("Reading the {component} upgrade"),
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
            ) => {
                let poll = wait_until(self.now, self.cfg.upgrade_poll_interval, deadline);
                match r {
                    Ok(OpState::Running) => self.act(poll),
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
                        self.start_upgrade_loop(target);
                    }
                    Ok(OpState::Failed(msg)) => {
                        self.fail(format!("{component} upgrade `{upgrade_id}` failed: {msg}"));
                    }
                    Ok(OpState::Draft) => self.commit(upgrade_id, request, component, target),
                    Err(e) => {
                        if !self.retry(e.transient, Budget::Deadline, poll, None) {
                            self.fail(format!("reading the {component} upgrade failed: {e}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn pick_next_upgrade(&mut self, snap: &UpgradablesSnapshot, target: TargetRelease) {
        let remaining = self.remaining(snap).count();
        self.s.upgrades_total = self
            .s
            .upgrades_total
            .max(self.s.upgrades_done + u32::try_from(remaining).unwrap_or(0));
        let Some(u) = self.first_candidate(snap) else {
            if remaining > 0 {
                // The next component becomes AVAILABLE once VCF has digested the last one.
                let wait = Effect::Wait(self.cfg.upgrade_poll_interval);
                if !self.retry(true, Budget::Attempts, wait, None) {
                    self.fail(format!(
                        "{remaining} upgradable(s) remain but none is AVAILABLE"
                    ));
                }
            } else {
                self.log(
                    LogLevel::Success,
                    "No upgradables left; running the final validation",
                );
                self.start_validation(target);
            }
            return;
        };
        if u.is_sddc_manager() && self.s.sddc_upgrades < MAX_SDDC_UPGRADES {
            self.begin_sddc_manager(&u.bundle_id, &u.component, target);
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
        self.enter_step(
            UpgradeStep::Starting {
                request: request.clone(),
                component,
            },
            target,
        );
        self.act(Effect::StartUpgrade(request));
    }

    fn upgrade_precheck(
        &mut self,
        upgrade_id: String,
        request: UpgradeRequest,
        component: String,
        target: TargetRelease,
    ) {
        self.log(
            LogLevel::Info,
            &format!("Running VCF's precheck for the {component} upgrade"),
        );
        let step = UpgradeStep::Prechecking {
            upgrade_id: upgrade_id.clone(),
            request,
            component,
            precheck_id: None,
            deadline: after(self.now, self.cfg.precheck_timeout),
        };
        self.enter_step(step, target);
        self.act(Effect::StartUpgradePrecheck(upgrade_id));
    }

    fn upgrade_precheck_done(
        &mut self,
        upgrade_id: String,
        request: UpgradeRequest,
        component: String,
        target: TargetRelease,
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
            self.commit(upgrade_id, request, component, target);
        } else if self.s.ignore_alerts && !self.cfg.fail_on_precheck_errors {
            self.log(
                LogLevel::Warning,
                &format!(
                    "Precheck of the {component} upgrade reported errors, ignored because Ignore Alerts is on"
                ),
            );
            self.commit(upgrade_id, request, component, target);
        } else {
            self.fail(format!(
                "the precheck of the {component} upgrade `{upgrade_id}` failed; the draft upgrade was not started"
            ));
        }
    }

    fn commit(
        &mut self,
        upgrade_id: String,
        request: UpgradeRequest,
        component: String,
        target: TargetRelease,
    ) {
        let step = UpgradeStep::Committing {
            upgrade_id: upgrade_id.clone(),
            request,
            component,
        };
        self.enter_step(step, target);
        self.act(Effect::CommitUpgrade(upgrade_id));
    }

    fn upgrade_running(
        &mut self,
        id: String,
        request: UpgradeRequest,
        component: String,
        target: TargetRelease,
    ) {
        let step = UpgradeStep::Running {
            upgrade_id: id.clone(),
            request,
            component,
            deadline: after(self.now, self.cfg.component_timeout),
        };
        self.enter_step(step, target);
        self.act(Effect::PollUpgrade(id));
    }
}
