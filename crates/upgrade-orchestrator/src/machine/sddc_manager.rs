//! Phases `InspectingUpgradables` (does SDDC Manager go first?),
//! `DownloadingSddcManagerBundle` and `UpgradingSddcManager` (the self-upgrade, riding out the
//! API outage while SDDC Manager restarts).

use std::collections::BTreeMap;

use super::common::{MAX_SDDC_UPGRADES, after, humantime_str, wait_for, wait_until};
use super::downloads::{apply_download_state, needs_request};
use super::{Effect, Event, Machine};
use crate::api::{
    ApiResult, DownloadState, OpState, TargetRelease, UpgradablesSnapshot, UpgradeRequest,
};
use crate::logbook::LogLevel;
use crate::phase::{BundleTrack, DownloadPurpose, DownloadRequest, Phase, SddcStep};

impl Machine<'_> {
    pub(super) fn inspecting_upgradables(&mut self, target: TargetRelease, ev: Event) {
        match ev {
            Event::Tick => self.act(Effect::ListUpgradables(target.version)),
            Event::Upgradables(Ok(snap)) => self.inspect(&snap, target),
            Event::Upgradables(Err(e)) => self.retry_or_fail(
                "Listing the upgradables",
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            _ => {}
        }
    }

    fn inspect(&mut self, snap: &UpgradablesSnapshot, target: TargetRelease) {
        match self.first_candidate(snap) {
            Some(u) if u.is_sddc_manager() && self.s.sddc_upgrades < MAX_SDDC_UPGRADES => {
                self.begin_sddc_manager(&u.bundle_id, &u.component, target);
            }
            _ if self.s.prechecks_passed => self.start_upgrade_loop(target),
            _ => {
                self.enter(Phase::InitializingPrechecks {
                    target: target.clone(),
                });
                self.act(Effect::QueryCheckSets(target));
            }
        }
    }

    /// SDDC Manager goes first: download its bundle, then upgrade it.
    pub(super) fn begin_sddc_manager(
        &mut self,
        bundle_id: &str,
        component: &str,
        target: TargetRelease,
    ) {
        let n = self.s.sddc_upgrades + 1;
        self.log(
            LogLevel::Info,
            &format!("SDDC Manager goes first (SDDC Manager bundle {n}, `{bundle_id}`)"),
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
            target,
        });
        self.act(Effect::CheckBundles(vec![bundle_id.to_owned()]));
    }

    pub(super) fn downloading_sddc_manager_bundle(&mut self, ev: Event) {
        match ev {
            Event::Tick => {
                if let Phase::DownloadingSddcManagerBundle { bundle, .. } = &self.s.phase {
                    let id = bundle.id.clone();
                    self.act(Effect::CheckBundles(vec![id]));
                }
            }
            Event::BundleStates(states) => self.sddc_bundle_states(states),
            Event::DownloadRequested { bundle_id, result } => {
                self.download_requested(&bundle_id, result);
            }
            _ => {}
        }
    }

    fn sddc_bundle_states(&mut self, states: Vec<(String, ApiResult<DownloadState>)>) {
        let Phase::DownloadingSddcManagerBundle {
            bundle,
            deadline,
            target,
        } = &mut self.s.phase
        else {
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
            let target = target.clone();
            self.log(LogLevel::Success, "SDDC Manager bundle is downloaded");
            self.log(LogLevel::Info, "Starting the SDDC Manager upgrade");
            self.enter(Phase::UpgradingSddcManager {
                bundle_id: bundle_id.clone(),
                upgrade_id: None,
                step: SddcStep::Starting,
                deadline: after(self.now, self.cfg.sddc_manager_timeout),
                outage_seen: false,
                target,
            });
            // Look before posting: VCF may have it already (a lost state).
            self.act(Effect::FindUpgrade {
                bundle_id,
                resource_ids: vec![self.s.domain.id.clone()],
            });
        } else {
            self.act(wait_until(
                self.now,
                self.cfg.bundle_poll_interval,
                deadline,
            ));
        }
    }

    fn sddc_request(&self, bundle_id: String) -> UpgradeRequest {
        sddc_manager_request(&self.s.domain.id, bundle_id)
    }

    pub(super) fn upgrading_sddc_manager(&mut self, ev: Event) {
        let Phase::UpgradingSddcManager {
            bundle_id,
            upgrade_id,
            step,
            deadline,
            outage_seen,
            target,
        } = self.s.phase.clone()
        else {
            return;
        };
        let poll = wait_until(self.now, self.cfg.sddc_manager_poll_interval, deadline);
        match (ev, upgrade_id) {
            (Event::Tick, None) => self.act(Effect::FindUpgrade {
                bundle_id,
                resource_ids: vec![self.s.domain.id.clone()],
            }),
            (Event::Tick, Some(id)) => match step {
                SddcStep::WaitingForApi => self.act(Effect::ProbeApi),
                SddcStep::Settling { until } if self.now >= until => {
                    self.set_sddc_step(SddcStep::ReadingFinal);
                    self.act(Effect::PollUpgrade(id));
                }
                SddcStep::Settling { until } => self.act(wait_for(self.now, until)),
                _ => self.act(Effect::PollUpgrade(id)),
            },
            (Event::UpgradeRequested(Ok(id)), None) => {
                self.log(
                    LogLevel::Info,
                    &format!("SDDC Manager upgrade `{id}` started; the API will be unavailable for a while"),
                );
                self.set_sddc_upgrade(Some(id), SddcStep::Running);
                self.act(poll);
            }
            // Possibly created: the next tick looks it up by bundle before retrying.
            (Event::UpgradeRequested(Err(e)), None) => self.look_again_or_fail(
                "Starting the SDDC Manager upgrade",
                "starting the SDDC Manager upgrade",
                &e,
                poll,
            ),
            (Event::UpgradeFound(Ok(Some(found))), None) => {
                self.log(
                    LogLevel::Info,
                    &format!("Re-attached to SDDC Manager upgrade `{}`", found.id),
                );
                self.set_sddc_upgrade(Some(found.id), SddcStep::Running);
                self.act(poll);
            }
            (Event::UpgradeFound(Ok(None)), None) => {
                self.act(Effect::StartUpgrade(self.sddc_request(bundle_id)));
            }
            // SDDC Manager may be restarting: keep looking until the deadline.
            (Event::UpgradeFound(Err(_)), None) => self.act(poll),
            (Event::UpgradeState(r), Some(id)) => match (step, r) {
                (SddcStep::Running, Ok(OpState::Running)) => self.act(poll),
                // The SDDC Manager upgrade is never created as a draft; commit one found so.
                (_, Ok(OpState::Draft)) => self.act(Effect::CommitUpgrade(id)),
                (SddcStep::Running, Ok(OpState::Succeeded)) => {
                    self.set_sddc_step(SddcStep::WaitingForApi);
                    self.act(Effect::ProbeApi);
                }
                (SddcStep::ReadingFinal, Ok(OpState::Succeeded)) => {
                    self.sddc_done(&bundle_id, target);
                }
                (SddcStep::ReadingFinal, Ok(OpState::Running)) => {
                    self.set_sddc_step(SddcStep::Running);
                    self.act(poll);
                }
                (_, Ok(OpState::Failed(msg))) => {
                    self.fail(format!("SDDC Manager upgrade `{id}` failed: {msg}"));
                }
                (_, Err(e)) => {
                    // Connection errors, 5xx, invalidated tokens: SDDC Manager is restarting.
                    if !outage_seen {
                        if let Phase::UpgradingSddcManager { outage_seen, .. } = &mut self.s.phase {
                            *outage_seen = true;
                        }
                        self.log(
                            LogLevel::Info,
                            &format!("SDDC Manager API unavailable ({e}); riding out the restart"),
                        );
                    }
                    self.set_sddc_step(SddcStep::WaitingForApi);
                    self.act(poll);
                }
                (_, Ok(OpState::Running | OpState::Succeeded)) => self.act(poll),
            },
            (Event::UpgradeCommitted(_), Some(_)) => self.act(poll),
            (Event::ApiReady(true), Some(_)) => {
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
            }
            (Event::ApiReady(false), Some(_)) => self.act(poll),
            _ => {}
        }
    }

    fn set_sddc_step(&mut self, new_step: SddcStep) {
        if let Phase::UpgradingSddcManager { step, .. } = &mut self.s.phase {
            *step = new_step;
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

    fn sddc_done(&mut self, bundle_id: &str, target: TargetRelease) {
        self.s.applied_bundles.push(bundle_id.to_owned());
        self.s.sddc_upgrades += 1;
        self.log(LogLevel::Success, "SDDC Manager upgrade completed");
        self.enter(Phase::Preparing {
            purpose: DownloadPurpose::AfterSddcManager,
            target: target.clone(),
        });
        self.act(Effect::ListReleaseBundles(target));
    }
}

/// The `POST /v1/upgrades` of an SDDC Manager bundle: on the domain, started at once (never a
/// draft: SDDC Manager restarts during it). The plan ([`crate::plan`]) calls this too.
pub(crate) fn sddc_manager_request(domain_id: &str, bundle_id: String) -> UpgradeRequest {
    UpgradeRequest {
        bundle_id,
        resource_type: "DOMAIN".to_owned(),
        resource_ids: vec![domain_id.to_owned()],
        draft: false,
        personalities: BTreeMap::new(),
        vcenter_input: None,
    }
}
