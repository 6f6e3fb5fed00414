//! Phase `StartingUpgrades`: the component upgrade loop. Each round lists the upgradables,
//! starts the next AVAILABLE one with `upgradeNow: true` and polls it to the end; when none is
//! left, the final validation follows. With `per_upgrade_precheck` the upgrade is created as a
//! draft instead, VCF's per-upgrade precheck runs on it, and the draft is committed.

use crate::names::component_name;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::common::{Budget, MAX_SDDC_UPGRADES, after, wait_until};
use super::{Effect, Event, Machine};
use crate::api::{
    CheckRunReport, FindingSeverity, OpState, TargetRelease, UpgradableInfo, UpgradablesSnapshot,
    UpgradeRequest, VcenterInput,
};
use crate::config::OrchestratorConfig;
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::{Phase, UpgradeStep};

/// The BOM entry of ESXi.
const ESXI_BOM_NAME: &str = "ESX_HOST";

/// True when a vLCM base image version (`8.0.3-0.35.24280767`) is the BOM's ESXi version
/// (`8.0.3-24280767`): the same version and the same build number.
fn esxi_matches(bom: &str, image: &str) -> bool {
    if bom == image {
        return true;
    }
    let (bom_version, bom_build) = bom.split_once('-').unwrap_or((bom, ""));
    let (image_version, image_rest) = image.split_once('-').unwrap_or((image, ""));
    bom_version == image_version
        && (bom_build.is_empty() || image_rest.rsplit('.').next() == Some(bom_build))
}

/// One component upgrade that exists in VCF (as a draft or running), with what it runs.
pub(super) struct Upgrade {
    pub(super) upgrade_id: String,
    pub(super) request: UpgradeRequest,
    pub(super) component: String,
    pub(super) target: TargetRelease,
}

/// The stages an [`Upgrade`] goes through after it exists in VCF.
enum Stage {
    /// VCF's per-upgrade precheck on the draft.
    Precheck,
    /// `upgradeNow` on the draft.
    Commit,
    /// Polling until it ends.
    Run,
}

/// What the flow calls the component an upgradable upgrades, and the `POST /v1/upgrades` it
/// sends for it: ESXi per cluster (every cluster VCF lists), everything else on the domain.
/// The plan ([`crate::plan`]) calls this too, so it shows exactly what the flow would send.
///
/// # Errors
/// Why the flow cannot start it (an ESXi upgrade without a cluster to upgrade).
pub(crate) fn component_request(
    domain_id: &str,
    u: &UpgradableInfo,
    snap: &UpgradablesSnapshot,
    draft: bool,
    personalities: BTreeMap<String, String>,
    vcenter_input: Option<Box<VcenterInput>>,
) -> Result<(String, UpgradeRequest), String> {
    let component = if u.component.is_empty() {
        u.bundle_type.clone()
    } else {
        u.component.clone()
    };
    let request = if u.is_esxi() {
        if snap.cluster_ids.is_empty() {
            return Err(format!(
                "VCF offers the {component} upgrade but lists no cluster to upgrade",
                component = component_name(&component),
            ));
        }
        UpgradeRequest {
            bundle_id: u.bundle_id.clone(),
            resource_type: "CLUSTER".to_owned(),
            resource_ids: snap.cluster_ids.clone(),
            draft,
            personalities,
            vcenter_input: None,
        }
    } else {
        UpgradeRequest {
            bundle_id: u.bundle_id.clone(),
            resource_type: "DOMAIN".to_owned(),
            resource_ids: vec![domain_id.to_owned()],
            draft,
            personalities: BTreeMap::new(),
            vcenter_input,
        }
    };
    Ok((component, request))
}

/// The `vcenterUpgradeUserInputSpecs` entry of a vCenter major upgrade (8 → 9): the domain's
/// configured temporary network. `Err` names the key to set when there is none; nothing may be
/// started for vCenter then.
pub(crate) fn vcenter_input(
    u: &UpgradableInfo,
    target: &TargetRelease,
    domain: &str,
    cfg: &OrchestratorConfig,
) -> Result<Option<Box<VcenterInput>>, String> {
    let Some(vc) = u
        .vcenter
        .as_ref()
        .filter(|vc| vc.is_major(&target.current_version, &target.version))
    else {
        return Ok(None);
    };
    let Some(net) = cfg.temporary_network.get(domain) else {
        return Err(format!(
            "the vCenter upgrade of {domain} to {} is a major upgrade and needs a temporary \
             network for the new appliance: set `[upgrade.temporary_network.\"{domain}\"]` \
             (ip_address, subnet_mask, gateway) and start the upgrade again; nothing was \
             started for vCenter",
            vc.to_version.as_deref().unwrap_or(&target.version)
        ));
    };
    Ok(Some(Box::new(VcenterInput {
        resource_id: vc.resource_id.clone(),
        temporary_network: net.clone(),
    })))
}

/// The vLCM images of the image-managed clusters VCF lists for the ESXi upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClusterImages {
    /// Cluster id → the personality whose ESXi version is the target BOM's.
    pub found: BTreeMap<String, String>,
    /// Names of the image-managed clusters with no such image in SDDC Manager.
    pub missing: Vec<String>,
    /// The target BOM's ESXi version, when it names one.
    pub esxi_version: Option<String>,
}

/// Finds the image for each image-managed cluster of the ESXi upgrade: the personality whose
/// ESXi version is the target BOM's.
pub(crate) fn cluster_images(snap: &UpgradablesSnapshot, target: &TargetRelease) -> ClusterImages {
    let esxi_version = target
        .bom
        .iter()
        .find(|b| b.name == ESXI_BOM_NAME)
        .map(|b| b.version.clone());
    let mut images = ClusterImages {
        esxi_version,
        ..ClusterImages::default()
    };
    for c in snap
        .clusters
        .iter()
        .filter(|c| c.image_based && snap.cluster_ids.contains(&c.id))
    {
        let image = images.esxi_version.as_deref().and_then(|v| {
            snap.personalities
                .iter()
                .find(|p| esxi_matches(v, &p.esxi_version))
        });
        match image {
            Some(p) => {
                images.found.insert(c.id.clone(), p.id.clone());
            }
            None => images.missing.push(c.name.clone()),
        }
    }
    images
}

impl Machine<'_> {
    /// Starts (or continues) the loop by listing the upgradables.
    pub(super) fn start_upgrade_loop(&mut self, target: TargetRelease) {
        let version = target.version.clone();
        self.enter_step(UpgradeStep::Listing, target);
        self.act(Effect::ListUpgradables(version));
    }

    pub(super) fn enter_step(&mut self, step: UpgradeStep, target: TargetRelease) {
        self.enter(Phase::StartingUpgrades { step, target });
    }

    /// Hands the event to the handler of the loop's current step.
    pub(super) fn starting_upgrades(
        &mut self,
        step: UpgradeStep,
        target: TargetRelease,
        ev: Event,
    ) {
        // The steps after the upgrade exists in VCF all hand on the same record.
        let upgrade = |upgrade_id, request, component| Upgrade {
            upgrade_id,
            request,
            component,
            target: target.clone(),
        };
        match step {
            UpgradeStep::Listing | UpgradeStep::WaitingForImage { .. } => {
                self.listing_upgradables(target, ev);
            }
            UpgradeStep::WaitingForWindow { opens_at } => {
                self.waiting_for_window(opens_at, target, ev);
            }
            UpgradeStep::Starting {
                request,
                component,
                adopt,
            } => {
                self.starting_upgrade(request, component, adopt, target, ev);
            }
            UpgradeStep::Prechecking {
                upgrade_id,
                request,
                component,
                precheck_id,
                deadline,
            } => {
                let upgrade = upgrade(upgrade_id, request, component);
                self.upgrade_prechecking(upgrade, precheck_id, deadline, ev);
            }
            UpgradeStep::Committing {
                upgrade_id,
                request,
                component,
            } => self.committing_upgrade(upgrade(upgrade_id, request, component), ev),
            UpgradeStep::Retrying {
                upgrade_id,
                request,
                component,
            } => self.retrying_task(upgrade(upgrade_id, request, component), ev),
            UpgradeStep::Running {
                upgrade_id,
                request,
                component,
                deadline,
            } => {
                let upgrade = upgrade(upgrade_id, request, component);
                self.running_upgrade(upgrade, deadline, ev);
            }
        }
    }

    fn listing_upgradables(&mut self, target: TargetRelease, ev: Event) {
        match ev {
            Event::Tick => self.act(Effect::ListUpgradables(target.version)),
            Event::Upgradables(Ok(snap)) => self.pick_next_upgrade(&snap, target),
            Event::Upgradables(Err(e)) => self.retry_or_fail(
                "Listing the upgradables",
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            _ => {}
        }
    }

    fn starting_upgrade(
        &mut self,
        request: UpgradeRequest,
        component: String,
        adopt: bool,
        target: TargetRelease,
        ev: Event,
    ) {
        let made = |upgrade_id| Upgrade {
            upgrade_id,
            request: request.clone(),
            component: component.clone(),
            target: target.clone(),
        };
        match ev {
            Event::Tick => self.act(Effect::FindUpgrade {
                bundle_id: request.bundle_id,
                resource_ids: request.resource_ids,
            }),
            Event::UpgradeRequested(Ok(id)) if request.draft => self.upgrade_precheck(made(id)),
            Event::UpgradeRequested(Ok(id)) => self.upgrade_running(made(id)),
            // The upgrade may have been created although the answer was lost: look first.
            Event::UpgradeRequested(Err(e)) => self.look_again_or_fail(
                &format!(
                    "Starting the {component} upgrade",
                    component = component_name(&component)
                ),
                &format!(
                    "starting the {component} upgrade",
                    component = component_name(&component)
                ),
                &e,
                Effect::Wait(self.cfg.upgrade_poll_interval),
            ),
            Event::UpgradeFound(Ok(Some(found))) => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "Re-attached to the {component} upgrade `{}`",
                        found.id,
                        component = component_name(&component)
                    ),
                );
                if found.state == OpState::Draft && self.cfg.per_upgrade_precheck {
                    self.upgrade_precheck(made(found.id));
                } else if found.state == OpState::Draft {
                    self.commit(made(found.id));
                } else {
                    self.upgrade_running(made(found.id));
                }
            }
            // VCF lists it in progress but no upgrade of it runs (any more): list again; it
            // becomes AVAILABLE (or done) once VCF has digested it.
            Event::UpgradeFound(Ok(None)) if adopt => {
                self.enter_step(UpgradeStep::Listing, target);
                self.retry(
                    true,
                    Budget::Attempts,
                    Effect::Wait(self.cfg.upgrade_poll_interval),
                    None,
                    format!(
                        "VCF lists the {component} upgrade in progress but has no running \
                         upgrade of it"
                    ),
                );
            }
            Event::UpgradeFound(Ok(None)) => self.act(Effect::StartUpgrade(request)),
            Event::UpgradeFound(Err(e)) => self.retry_or_fail(
                "Looking for the started upgrade",
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            _ => {}
        }
    }

    fn upgrade_prechecking(
        &mut self,
        draft: Upgrade,
        precheck_id: Option<String>,
        deadline: DateTime<Utc>,
        ev: Event,
    ) {
        let poll = wait_until(self.now, self.cfg.precheck_poll_interval, deadline);
        let component = draft.component.clone();
        match ev {
            Event::Tick => self.act(match precheck_id {
                Some(precheck_id) => Effect::PollUpgradePrecheck {
                    upgrade_id: draft.upgrade_id,
                    precheck_id,
                },
                None => Effect::StartUpgradePrecheck(draft.upgrade_id),
            }),
            Event::UpgradePrecheckStarted(Ok(precheck_id)) => {
                if let Phase::StartingUpgrades {
                    step: UpgradeStep::Prechecking { precheck_id: p, .. },
                    ..
                } = &mut self.s.phase
                {
                    *p = Some(precheck_id.clone());
                }
                self.act(Effect::PollUpgradePrecheck {
                    upgrade_id: draft.upgrade_id,
                    precheck_id,
                });
            }
            // VCF does not offer the per-upgrade precheck here: go on without it.
            Event::UpgradePrecheckStarted(Err(e)) if !e.transient => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "No per-upgrade precheck for {component} ({e})",
                        component = component_name(&component)
                    ),
                );
                self.commit(draft);
            }
            Event::UpgradePrecheckStarted(Err(e)) => self.retry_or_fail(
                "Starting the per-upgrade precheck",
                &e,
                self.cfg.precheck_poll_interval,
            ),
            Event::UpgradePrecheck(Ok(report)) if report.state == OpState::Running => {
                self.poll_answered();
                self.act(poll);
            }
            Event::UpgradePrecheck(Ok(report)) => {
                self.poll_answered();
                self.upgrade_precheck_done(draft, &report);
            }
            Event::UpgradePrecheck(Err(e)) => self.poll_failed(
                &format!("the {} upgrade precheck", component_name(&component)),
                &e,
                poll,
                precheck_id.as_deref(),
            ),
            Event::TaskState(result) => {
                let what = format!("the {} upgrade precheck", component_name(&component));
                match self.task_read(&what, result, poll.clone()) {
                    // Its findings come with the precheck's own answer: read it again.
                    Some(OpState::Succeeded) => self.act(poll),
                    Some(OpState::Failed(msg)) => self.fail(format!(
                        "VCF reports {what} `{}` ended {msg}; the draft upgrade was not started",
                        precheck_id.unwrap_or_default()
                    )),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn committing_upgrade(&mut self, draft: Upgrade, ev: Event) {
        let Upgrade { component, .. } = &draft;
        match ev {
            Event::Tick => self.act(Effect::PollUpgrade(draft.upgrade_id)),
            Event::UpgradeCommitted(Ok(()))
            | Event::UpgradeState(Ok(OpState::Running | OpState::Succeeded)) => {
                self.upgrade_running(draft);
            }
            Event::UpgradeCommitted(Err(e)) => self.retry_or_fail(
                &format!(
                    "Starting the {component} upgrade",
                    component = component_name(component)
                ),
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            Event::UpgradeState(Ok(OpState::Draft)) => {
                self.act(Effect::CommitUpgrade(draft.upgrade_id));
            }
            Event::UpgradeState(Ok(OpState::Failed(msg))) => self.upgrade_failed(draft, &msg),
            Event::UpgradeState(Err(e)) => self.retry_or_fail(
                &format!(
                    "Reading the {component} upgrade",
                    component = component_name(component)
                ),
                &e,
                self.cfg.upgrade_poll_interval,
            ),
            _ => {}
        }
    }

    fn running_upgrade(&mut self, running: Upgrade, deadline: DateTime<Utc>, ev: Event) {
        let poll = wait_until(self.now, self.cfg.upgrade_poll_interval, deadline);
        let Upgrade {
            request, component, ..
        } = &running;
        match ev {
            Event::Tick => self.act(Effect::PollUpgrade(running.upgrade_id)),
            Event::UpgradeState(Ok(OpState::Running)) => {
                self.poll_answered();
                self.act(poll);
            }
            Event::UpgradeState(Ok(OpState::Succeeded)) => {
                self.poll_answered();
                self.s.applied_bundles.push(request.bundle_id.clone());
                self.s.upgrades_done += 1;
                self.s.upgrades_total = self.s.upgrades_total.max(self.s.upgrades_done);
                self.log(
                    LogLevel::Success,
                    &format!(
                        "{component} upgraded ({}/{})",
                        self.s.upgrades_done,
                        self.s.upgrades_total,
                        component = component_name(component),
                    ),
                );
                self.start_upgrade_loop(running.target);
            }
            Event::UpgradeState(Ok(OpState::Failed(msg))) => self.upgrade_failed(running, &msg),
            Event::UpgradeState(Ok(OpState::Draft)) => self.commit(running),
            Event::UpgradeState(Err(e)) => {
                let id = running.upgrade_id.clone();
                self.poll_failed(
                    &format!("the {} upgrade", component_name(component)),
                    &e,
                    poll,
                    Some(&id),
                );
            }
            // The upgrade's own answers could not be read: its task is VCF's word.
            Event::TaskState(result) => {
                let what = format!("the {} upgrade", component_name(component));
                if let Some(done) = self.task_read(&what, result, poll) {
                    self.running_upgrade(running, deadline, Event::UpgradeState(Ok(done)));
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
            if self.adopt_running(snap, &target) {
                return;
            }
            if remaining > 0 {
                // The next component becomes AVAILABLE once VCF has digested the last one;
                // meanwhile the flow shows what VCF says blocks the rest.
                let why = self.note_blocked(snap, &target);
                let wait = Effect::Wait(self.cfg.upgrade_poll_interval);
                self.retry(
                    true,
                    Budget::Attempts,
                    wait,
                    None,
                    format!("{remaining} upgradable(s) remain but none is AVAILABLE{why}"),
                );
            } else {
                self.log(
                    LogLevel::Success,
                    "No upgradables left; running the final validation",
                );
                self.start_validation(target);
            }
            return;
        };
        self.s.blocked.clear();
        if u.is_sddc_manager() && self.s.sddc_upgrades < MAX_SDDC_UPGRADES {
            self.begin_sddc_manager(&u.bundle_id, &u.component, target);
            return;
        }
        if !self.window_open_for(&u.component, &target) {
            return;
        }
        let (personalities, vcenter_input) = if u.is_esxi() {
            match self.images_or_wait(snap, &target) {
                Some(found) => (found, None),
                None => return,
            }
        } else {
            match vcenter_input(&u, &target, &self.s.domain.name, self.cfg) {
                Ok(Some(input)) => {
                    let net = &input.temporary_network;
                    self.log(
                        LogLevel::Info,
                        &format!(
                            "vCenter major upgrade: temporary network {} ({})",
                            net.ip_address.as_deref().unwrap_or("assigned by DHCP"),
                            net.mode()
                        ),
                    );
                    (BTreeMap::new(), Some(input))
                }
                Ok(None) => (BTreeMap::new(), None),
                Err(why) => return self.fail(why),
            }
        };
        let draft = self.cfg.per_upgrade_precheck;
        let (component, request) = match component_request(
            &self.s.domain.id,
            &u,
            snap,
            draft,
            personalities,
            vcenter_input,
        ) {
            Ok(built) => built,
            Err(reason) => return self.fail(reason),
        };
        self.log(
            LogLevel::Info,
            &format!(
                "Starting the {component} upgrade ({}/{})",
                self.s.upgrades_done + 1,
                self.s.upgrades_total,
                component = component_name(&component),
            ),
        );
        // VCF may already have this upgrade, running or as a draft (a state lost or moved
        // aside, a crash before its id was saved): look before posting, never post twice.
        let find = Effect::FindUpgrade {
            bundle_id: request.bundle_id.clone(),
            resource_ids: request.resource_ids.clone(),
        };
        self.enter_step(
            UpgradeStep::Starting {
                request,
                component,
                adopt: false,
            },
            target,
        );
        self.act(find);
    }

    /// When VCF lists an upgradable of this domain `IN_PROGRESS` that this flow did not start
    /// (its state was lost or moved aside), looks for that upgrade to follow it instead of
    /// waiting for the next AVAILABLE one. False when there is none to look for (SDDC Manager
    /// has its own phase; an ESXi upgrade needs the cluster list VCF gives only for an
    /// AVAILABLE one).
    fn adopt_running(&mut self, snap: &UpgradablesSnapshot, target: &TargetRelease) -> bool {
        let Some(u) = self
            .remaining(snap)
            .find(|u| u.in_progress && !u.is_sddc_manager())
            .cloned()
        else {
            return false;
        };
        let Ok((component, request)) =
            component_request(&self.s.domain.id, &u, snap, false, BTreeMap::new(), None)
        else {
            return false;
        };
        self.log(
            LogLevel::Info,
            &format!(
                "VCF is upgrading {} already; looking for that upgrade to follow it",
                component_name(&component)
            ),
        );
        let find = Effect::FindUpgrade {
            bundle_id: request.bundle_id.clone(),
            resource_ids: request.resource_ids.clone(),
        };
        self.enter_step(
            UpgradeStep::Starting {
                request,
                component,
                adopt: true,
            },
            target.clone(),
        );
        self.act(find);
        true
    }

    /// The personalities of the ESXi upgrade's image-managed clusters; when an image is
    /// missing, the flow waits for it instead (told once, looked at again every poll interval).
    fn images_or_wait(
        &mut self,
        snap: &UpgradablesSnapshot,
        target: &TargetRelease,
    ) -> Option<BTreeMap<String, String>> {
        let ClusterImages {
            found,
            missing,
            esxi_version: esxi,
        } = cluster_images(snap, target);
        if missing.is_empty() {
            return Some(found);
        }
        let esxi_version = esxi.unwrap_or_else(|| "of the target release".to_owned());
        let step = UpgradeStep::WaitingForImage {
            clusters: missing.clone(),
            esxi_version: esxi_version.clone(),
        };
        let already =
            matches!(&self.s.phase, Phase::StartingUpgrades { step: s, .. } if *s == step);
        self.enter_step(step, target.clone());
        if !already {
            let msg = format!(
                "The ESXi upgrade of {} waits for a vLCM image with ESXi {esxi_version}: import \
                 one into SDDC Manager (Lifecycle Management > Image Management); the upgrade \
                 continues by itself once the image is there",
                missing.join(", ")
            );
            self.log(LogLevel::Warning, &msg);
            self.notify(NotificationKind::AcknowledgementNeeded, msg);
        }
        self.act(Effect::Wait(self.cfg.upgrade_poll_interval));
        None
    }

    fn upgrade_precheck(&mut self, upgrade: Upgrade) {
        self.log(
            LogLevel::Info,
            &format!(
                "Running VCF's precheck for the {} upgrade",
                component_name(&upgrade.component)
            ),
        );
        self.follow(upgrade, Stage::Precheck);
    }

    fn upgrade_precheck_done(&mut self, upgrade: Upgrade, report: &CheckRunReport) {
        let component = upgrade.component.clone();
        for f in &report.findings {
            let level = match f.severity {
                FindingSeverity::Error => LogLevel::Error,
                FindingSeverity::Warning => LogLevel::Warning,
            };
            let mut text = format!(
                "**{component} precheck** · *{}*: {}",
                f.check,
                f.message,
                component = component_name(&component)
            );
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
                &format!(
                    "Precheck of the {component} upgrade passed",
                    component = component_name(&component)
                ),
            );
            self.commit(upgrade);
        } else if self.s.ignore_alerts && !self.cfg.fail_on_precheck_errors {
            self.log(
                LogLevel::Warning,
                &format!(
                    "Precheck of the {component} upgrade reported errors, ignored because Ignore Alerts is on", component = component_name(&component),
                ),
            );
            self.commit(upgrade);
        } else {
            self.fail(format!(
                "the precheck of the {component} upgrade `{}` failed; the draft upgrade was not started",
                upgrade.upgrade_id, component = component_name(&component),
            ));
        }
    }

    fn commit(&mut self, upgrade: Upgrade) {
        self.follow(upgrade, Stage::Commit);
    }

    pub(super) fn upgrade_running(&mut self, upgrade: Upgrade) {
        self.follow(upgrade, Stage::Run);
    }

    /// Moves the upgrade to its next stage and asks VCF for what that stage starts with.
    fn follow(&mut self, upgrade: Upgrade, stage: Stage) {
        let Upgrade {
            upgrade_id,
            request,
            component,
            target,
        } = upgrade;
        let id = upgrade_id.clone();
        let (step, effect) = match stage {
            Stage::Precheck => (
                UpgradeStep::Prechecking {
                    upgrade_id,
                    request,
                    component,
                    precheck_id: None,
                    deadline: after(self.now, self.cfg.precheck_timeout),
                },
                Effect::StartUpgradePrecheck(id),
            ),
            Stage::Commit => (
                UpgradeStep::Committing {
                    upgrade_id,
                    request,
                    component,
                },
                Effect::CommitUpgrade(id),
            ),
            Stage::Run => (
                UpgradeStep::Running {
                    upgrade_id,
                    request,
                    component,
                    deadline: after(self.now, self.cfg.component_timeout),
                },
                Effect::PollUpgrade(id),
            ),
        };
        self.enter_step(step, target);
        self.act(effect);
    }
}

#[cfg(test)]
mod tests {
    use super::esxi_matches;

    #[test]
    fn base_image_versions_match_bom_versions_by_version_and_build() {
        assert!(esxi_matches("8.0.3-24280767", "8.0.3-0.35.24280767"));
        assert!(esxi_matches("8.0.3-24280767", "8.0.3-24280767"));
        assert!(!esxi_matches("8.0.3-24280767", "8.0.3-0.0.24022510"));
        assert!(!esxi_matches("8.0.3-24280767", "8.0.2-0.35.24280767"));
        assert!(esxi_matches("8.0.3", "8.0.3-0.35.24280767"));
    }
}
