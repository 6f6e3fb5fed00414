//! Transition tests of the pure state machine with an injected clock and a scripted VCF.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use upgrade_orchestrator::OrchestratorConfig;
use upgrade_orchestrator::api::{
    ApiFailure, BomItem, BundleInfo, CheckQuery, CheckRunReport, ClusterInfo, DownloadState,
    FailedTask, Finding, FindingSeverity, FoundUpgrade, OpState, PersonalityInfo, TargetRelease,
    UpgradableInfo, UpgradablesSnapshot, UpgradeRequest, ValidationReport,
};
use upgrade_orchestrator::machine::{Effect, Event, FlowState, step};
use upgrade_orchestrator::notify::{DomainRef, NotificationKind};
use upgrade_orchestrator::phase::{Phase, SddcStep, UpgradeStep};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

fn domain() -> DomainRef {
    DomainRef {
        id: "dom-1".into(),
        name: "sfo-m01".into(),
    }
}

fn release() -> TargetRelease {
    TargetRelease {
        version: "5.2.1.0".into(),
        current_version: "5.2.0.0".into(),
        release_date: Some("2024-10-09T00:00:00.000Z".into()),
        bom: vec![BomItem {
            name: "VCENTER".into(),
            version: "8.0.3.00300-24305161".into(),
            managed_by: None,
            change_id: None,
        }],
    }
}

fn upg(bundle: &str, ty: &str, comp: &str, available: bool) -> UpgradableInfo {
    UpgradableInfo {
        bundle_id: bundle.into(),
        bundle_type: ty.into(),
        component: comp.into(),
        available,
        completed: false,
        in_progress: false,
        errors: vec![],
        vcenter: None,
    }
}

/// A scripted SDDC Manager: answers every action of the machine.
#[derive(Clone)]
struct World {
    bundles: Vec<BundleInfo>,
    /// Upgradables still to do, in order (the first is AVAILABLE).
    todo: Vec<UpgradableInfo>,
    /// Fallback upgradable VCF (wrongly) offers as AVAILABLE first.
    offer_fallback: bool,
    findings: Vec<Finding>,
    /// Polls before a check run finishes (`usize::MAX` = never).
    check_polls: usize,
    /// Polls before an upgrade finishes.
    upgrade_polls: usize,
    /// Component whose upgrade fails.
    failing_component: Option<String>,
    /// Download that fails.
    failing_download: Option<String>,
    /// SDDC Manager outage: this many failed polls/probes.
    outage: usize,
    /// The validation after the target is set passes (the one before always does).
    validation_ok: bool,
    /// The target version was set.
    target_set: bool,
    /// VCF answers the per-upgrade precheck with 403 (not offered).
    no_upgrade_prechecks: bool,
    /// Findings of every per-upgrade precheck.
    upgrade_precheck_findings: Vec<Finding>,
    /// How `cl-1` and `cl-2` are managed (none listed: baselines).
    clusters: Vec<ClusterInfo>,
    /// The vLCM images SDDC Manager has.
    personalities: Vec<PersonalityInfo>,
    // --- recorded ---
    drafts: Vec<String>,
    upgrade_prechecks: usize,
    commits: usize,
    polls: usize,
    started_upgrades: Vec<(String, String, Vec<String>)>,
    /// Every `POST /v1/upgrades` request as the machine asked for it.
    upgrade_requests: Vec<UpgradeRequest>,
    downloads: Vec<String>,
    check_runs: usize,
    /// `isRetryable` of a failed upgrade task.
    task_retryable: bool,
    /// Tasks retried (`PATCH /v1/tasks/{id}`).
    retried: Vec<String>,
}

impl World {
    fn default_world() -> Self {
        Self {
            bundles: vec![
                bundle("b-sddc", "SDDC_MANAGER", false),
                bundle("b-nsx", "NSX_T_MANAGER", false),
                bundle("b-vc", "VCENTER", false),
                bundle("b-esx", "ESX_HOST", false),
                bundle("b-fallback", "VCENTER", true),
            ],
            todo: vec![
                upg("b-sddc", "SDDC_MANAGER", "SDDC_MANAGER", true),
                upg("b-nsx", "VMWARE_SOFTWARE", "NSX_T_MANAGER", false),
                upg("b-vc", "VMWARE_SOFTWARE", "VCENTER", false),
                upg("b-esx", "VMWARE_SOFTWARE", "HOST", false),
            ],
            offer_fallback: false,
            findings: vec![],
            check_polls: 2,
            upgrade_polls: 2,
            failing_component: None,
            failing_download: None,
            outage: 2,
            validation_ok: true,
            target_set: false,
            no_upgrade_prechecks: false,
            upgrade_precheck_findings: vec![],
            clusters: vec![],
            personalities: vec![],
            drafts: vec![],
            upgrade_prechecks: 0,
            commits: 0,
            polls: 0,
            started_upgrades: vec![],
            upgrade_requests: vec![],
            downloads: vec![],
            check_runs: 0,
            task_retryable: true,
            retried: vec![],
        }
    }

    fn snapshot(&self) -> UpgradablesSnapshot {
        let mut ups: Vec<UpgradableInfo> = self.todo.clone();
        if let Some(first) = ups.first_mut() {
            first.available = true;
        }
        if self.offer_fallback {
            ups.insert(0, upg("b-fallback", "VMWARE_SOFTWARE", "VCENTER", true));
        }
        UpgradablesSnapshot {
            upgradables: ups,
            cluster_ids: vec!["cl-1".into(), "cl-2".into()],
            clusters: self.clusters.clone(),
            personalities: self.personalities.clone(),
        }
    }

    /// Answers one action.
    fn answer(&mut self, effect: &Effect) -> Option<Event> {
        Some(match effect {
            Effect::Notify(_) | Effect::Wait(_) => return None,
            Effect::ListReleaseBundles(_) => Event::BundlesListed(Ok(self.bundles.clone())),
            Effect::CheckBundles(ids) => Event::BundleStates(
                ids.iter()
                    .map(|id| {
                        let st = if self.failing_download.as_deref() == Some(id.as_str())
                            && self.downloads.contains(id)
                        {
                            DownloadState::Failed
                        } else if self.downloads.contains(id) {
                            DownloadState::Done
                        } else {
                            self.bundles
                                .iter()
                                .find(|b| &b.id == id)
                                .map_or(DownloadState::NotStarted, |b| b.state)
                        };
                        (id.clone(), Ok(st))
                    })
                    .collect(),
            ),
            Effect::StartDownload(id) => {
                self.downloads.push(id.clone());
                Event::DownloadRequested {
                    bundle_id: id.clone(),
                    result: Ok(()),
                }
            }
            Effect::SetTargetVersion(_) => {
                self.target_set = true;
                Event::TargetSet(Ok(()))
            }
            Effect::ListUpgradables(_) => Event::Upgradables(Ok(self.snapshot())),
            Effect::StartUpgrade(req) => {
                let comp = self
                    .todo
                    .iter()
                    .find(|u| u.bundle_id == req.bundle_id)
                    .map(|u| u.component.clone())
                    .unwrap_or_default();
                self.upgrade_requests.push(req.clone());
                self.started_upgrades.push((
                    req.bundle_id.clone(),
                    req.resource_type.clone(),
                    req.resource_ids.clone(),
                ));
                self.polls = 0;
                let _ = comp;
                if req.draft {
                    self.drafts.push(req.bundle_id.clone());
                }
                Event::UpgradeRequested(Ok(format!("up-{}", req.bundle_id)))
            }
            // Like VCF's list: a finished or failed upgrade is not one to re-attach to.
            Effect::FindUpgrade { bundle_id, .. } => Event::UpgradeFound(Ok(self
                .started_upgrades
                .iter()
                .filter(|(b, _, _)| self.todo.iter().any(|u| u.bundle_id == *b))
                .filter(|(b, _, _)| {
                    let comp = self.todo.iter().find(|u| u.bundle_id == *b);
                    comp.map(|u| &u.component) != self.failing_component.as_ref()
                })
                .find(|(b, _, _)| b == bundle_id)
                .map(|(b, _, _)| FoundUpgrade {
                    id: format!("up-{b}"),
                    state: if self.drafts.contains(b) {
                        OpState::Draft
                    } else {
                        OpState::Running
                    },
                }))),
            Effect::StartUpgradePrecheck(id) => {
                if self.no_upgrade_prechecks {
                    Event::UpgradePrecheckStarted(Err(ApiFailure::permanent(
                        "403 Operation not allowed",
                    )))
                } else {
                    self.upgrade_prechecks += 1;
                    Event::UpgradePrecheckStarted(Ok(format!("pc-{id}")))
                }
            }
            Effect::PollUpgradePrecheck { .. } => Event::UpgradePrecheck(Ok(CheckRunReport {
                state: OpState::Succeeded,
                percent: None,
                findings: self.upgrade_precheck_findings.clone(),
            })),
            Effect::CommitUpgrade(id) => {
                let bundle = id.trim_start_matches("up-").to_owned();
                self.drafts.retain(|b| *b != bundle);
                self.commits += 1;
                self.polls = 0;
                Event::UpgradeCommitted(Ok(()))
            }
            Effect::PollUpgrade(id) => {
                let bundle = id.trim_start_matches("up-").to_owned();
                if self.drafts.contains(&bundle) {
                    return Some(Event::UpgradeState(Ok(OpState::Draft)));
                }
                let is_sddc = bundle == "b-sddc";
                if is_sddc && self.outage > 0 && self.polls >= 1 {
                    self.outage -= 1;
                    return Some(Event::UpgradeState(Err(ApiFailure::transient(
                        "connection refused",
                    ))));
                }
                self.polls += 1;
                if self.upgrade_polls != usize::MAX && self.polls > self.upgrade_polls {
                    let comp = self
                        .todo
                        .iter()
                        .find(|u| u.bundle_id == bundle)
                        .map(|u| u.component.clone())
                        .unwrap_or_default();
                    if self.failing_component.as_deref() == Some(comp.as_str()) {
                        return Some(Event::UpgradeState(Ok(OpState::Failed(
                            "COMPLETED_WITH_FAILURE".into(),
                        ))));
                    }
                    self.todo.retain(|u| u.bundle_id != bundle);
                    Event::UpgradeState(Ok(OpState::Succeeded))
                } else {
                    Event::UpgradeState(Ok(OpState::Running))
                }
            }
            Effect::ReadFailedTask(_) => Event::TaskFailed(Ok(FailedTask {
                message: "VCENTER_UPGRADE_FAILED: vCenter upgrade failed".into(),
                retryable: self.task_retryable,
            })),
            Effect::ReadTask(_) => Event::TaskState(Ok(OpState::Running)),
            Effect::RetryTask(id) => {
                // the retried attempt succeeds
                self.retried.push(id.clone());
                self.failing_component = None;
                self.polls = 0;
                Event::TaskRetried(Ok(()))
            }
            Effect::ProbeApi => {
                if self.outage > 0 {
                    self.outage -= 1;
                    Event::ApiReady(false)
                } else {
                    Event::ApiReady(true)
                }
            }
            Effect::QueryCheckSets(_) => Event::CheckSetsQueried(Ok(CheckQuery {
                query_id: "q-1".into(),
                resources: vec![],
            })),
            Effect::StartCheckRun { .. } => {
                self.check_runs += 1;
                self.polls = 0;
                Event::CheckRunStarted(Ok("run-1".into()))
            }
            Effect::FindCheckRun { .. } => {
                Event::CheckRunFound(Ok((self.check_runs > 0).then(|| "run-1".to_owned())))
            }
            Effect::PollCheckRun(_) => {
                self.polls += 1;
                let done = self.check_polls != usize::MAX && self.polls > self.check_polls;
                Event::CheckRun(Ok(CheckRunReport {
                    state: if done {
                        OpState::Succeeded
                    } else {
                        OpState::Running
                    },
                    percent: Some(50),
                    findings: if done { self.findings.clone() } else { vec![] },
                }))
            }
            Effect::StartValidation(_) | Effect::PollValidation(_) => {
                let ok = self.validation_ok || !self.target_set;
                Event::Validation(Ok(ValidationReport {
                    id: "val-1".into(),
                    execution_status: if ok {
                        "COMPLETED".into()
                    } else {
                        "FAILED".into()
                    },
                    result_status: if ok {
                        "SUCCEEDED".into()
                    } else {
                        "FAILED".into()
                    },
                    running: false,
                    completed: ok,
                    problems: vec![],
                    warnings: vec![],
                }))
            }
        })
    }
}

fn bundle(id: &str, comp: &str, fallback: bool) -> BundleInfo {
    BundleInfo {
        id: id.into(),
        component: comp.into(),
        version: "5.2.1.0".into(),
        fallback,
        state: DownloadState::NotStarted,
    }
}

struct Run {
    state: FlowState,
    now: DateTime<Utc>,
    cfg: OrchestratorConfig,
    statuses: Vec<String>,
    notifications: Vec<NotificationKind>,
}

impl Run {
    fn new(cfg: OrchestratorConfig) -> Self {
        Self {
            state: FlowState::new(domain()),
            now: t0(),
            cfg,
            statuses: vec!["waiting_for_initiation".into()],
            notifications: vec![],
        }
    }

    /// Feeds one event and keeps following actions (and waits, advancing the clock) until the
    /// machine stops asking or `max` steps are done.
    fn drive(&mut self, world: &mut World, first: Event, max: usize) {
        let mut next = Some(first);
        let mut steps = 0;
        while let Some(ev) = next.take() {
            steps += 1;
            if steps > max {
                break;
            }
            let t = step(&self.state, ev, self.now, &self.cfg);
            self.state = t.state;
            let status = self.state.phase.status().to_owned();
            if self.statuses.last() != Some(&status) {
                self.statuses.push(status);
            }
            for e in &t.effects {
                match e {
                    Effect::Notify(n) => self.notifications.push(n.kind),
                    Effect::Wait(d) => {
                        self.now += chrono::Duration::from_std(*d).expect("small");
                        next = Some(Event::Tick);
                    }
                    other => next = world.answer(other),
                }
            }
        }
    }
}

impl Run {
    /// Like `drive`, but stops (returning the pending event) once `pred` holds.
    fn drive_until(
        &mut self,
        world: &mut World,
        first: Event,
        pred: impl Fn(&FlowState) -> bool,
    ) -> Option<Event> {
        let mut next = Some(first);
        for _ in 0..2000 {
            let ev = next.take()?;
            let t = step(&self.state, ev, self.now, &self.cfg);
            self.state = t.state;
            for e in &t.effects {
                match e {
                    Effect::Notify(n) => self.notifications.push(n.kind),
                    Effect::Wait(d) => {
                        self.now += chrono::Duration::from_std(*d).expect("small");
                        next = Some(Event::Tick);
                    }
                    other => next = world.answer(other),
                }
            }
            if pred(&self.state) {
                return next;
            }
        }
        next
    }
}

/// The draft + per-upgrade precheck + commit path (`per_upgrade_precheck = true`).
fn drafts() -> OrchestratorConfig {
    OrchestratorConfig {
        per_upgrade_precheck: true,
        ..OrchestratorConfig::default()
    }
}

fn start() -> Event {
    Event::Start {
        release: release(),
        download_only: false,
    }
}

#[test]
fn happy_path_walks_every_status_sddc_manager_first() {
    let mut w = World::default_world();
    let mut r = Run::new(drafts());
    r.drive(&mut w, start(), 500);
    let expected = [
        "waiting_for_initiation",
        "update_process_started",
        "downloading_bundles",
        "setting_new_vcf_version_target",
        "downloading_sddcManager_bundle",
        "upgrading_sddcManager",
        "downloading_bundles",
        "setting_new_vcf_version_target",
        "initializing_prechecks",
        "running_prechecks",
        "evaluating_prechecks",
        "prechecks_done",
        "starting_upgrades",
        "successfully_completed",
        "waiting_for_initiation",
    ];
    assert_eq!(r.statuses, expected);
    // every bundle incl. the fallback downloaded exactly once, fallback never applied
    let mut d = w.downloads.clone();
    d.sort();
    assert_eq!(d, ["b-esx", "b-fallback", "b-nsx", "b-sddc", "b-vc"]);
    let applied: Vec<_> = w.started_upgrades.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(applied, ["b-sddc", "b-nsx", "b-vc", "b-esx"]);
    // bodies per type
    assert_eq!(w.started_upgrades[1].1, "DOMAIN");
    assert_eq!(w.started_upgrades[1].2, ["dom-1"]);
    assert_eq!(w.started_upgrades[3].1, "CLUSTER");
    assert_eq!(w.started_upgrades[3].2, ["cl-1", "cl-2"]);
    assert_eq!(w.check_runs, 1);
    // NSX, vCenter, ESXi: created as drafts, prechecked by VCF, then committed
    assert_eq!((w.upgrade_prechecks, w.commits), (3, 3));
    assert!(w.drafts.is_empty());
    assert!(r.notifications.contains(&NotificationKind::UpgradeStarted));
    assert!(r.notifications.contains(&NotificationKind::Completed));
    // back to idle with the default log
    assert!(r.state.view().logs_markdown.contains("No Messages"));
}

#[test]
fn logs_carry_progress_while_running() {
    let mut w = World::default_world();
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 60);
    let v = r.state.view();
    assert!(v.in_progress);
    assert!(v.logs_markdown.contains("✅"), "{}", v.logs_markdown);
    assert!(v.logs_markdown.contains("ℹ️"));
    assert_eq!(v.target_version.as_deref(), Some("5.2.1.0"));
}

#[test]
fn sddc_manager_outage_is_ridden_out_and_settle_wait_is_respected() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.outage = 3;
    let mut r = Run::new(cfg.clone());
    let mut settle_start = None;
    let mut ev = Some(start());
    for _ in 0..400 {
        let Some(e) = ev.take() else { break };
        let t = step(&r.state, e, r.now, &cfg);
        r.state = t.state;
        if let Phase::UpgradingSddcManager {
            step: SddcStep::Settling { until },
            outage_seen,
            ..
        } = &r.state.phase
        {
            assert!(*outage_seen);
            if settle_start.is_none() {
                settle_start = Some(r.now);
                assert_eq!(*until - r.now, chrono::Duration::minutes(5));
            }
        }
        if let (
            Some(s),
            Phase::UpgradingSddcManager {
                step: SddcStep::ReadingFinal,
                ..
            },
        ) = (settle_start, &r.state.phase)
        {
            assert!(r.now - s >= chrono::Duration::minutes(5));
        }
        for fx in &t.effects {
            match fx {
                Effect::Wait(d) => {
                    r.now += chrono::Duration::from_std(*d).expect("small");
                    ev = Some(Event::Tick);
                }
                Effect::Notify(_) => {}
                other => ev = w.answer(other),
            }
        }
        if matches!(r.state.phase, Phase::InitializingPrechecks { .. }) {
            break;
        }
    }
    assert!(settle_start.is_some(), "settle wait never happened");
    assert!(matches!(r.state.phase, Phase::InitializingPrechecks { .. }));
}

#[test]
fn sddc_manager_timeout_fails_the_flow() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.outage = usize::MAX;
    let mut r = Run::new(cfg);
    r.drive(&mut w, start(), 2000);
    assert_eq!(r.state.phase.status(), "failed");
    let err = r.state.last_error.clone().expect("error");
    assert!(
        err.contains("SDDC Manager upgrade did not finish within 4h"),
        "{err}"
    );
}

#[test]
fn precheck_timeout_is_40_minutes() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.todo.remove(0);
    w.check_polls = usize::MAX;
    let mut r = Run::new(cfg);
    r.drive(&mut w, start(), 40);
    let Phase::EvaluatingPrechecks { deadline, .. } = r.state.phase.clone() else {
        panic!("expected evaluating_prechecks, got {:?}", r.state.phase);
    };
    let entered = r.now;
    assert_eq!(
        r.state.view().deadline,
        Some(deadline),
        "deadline exposed as the timeout attribute"
    );
    r.drive(&mut w, Event::Tick, 500);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(r.now >= deadline);
    assert!(r.now - entered <= chrono::Duration::minutes(41));
    assert!(r.state.last_error.as_deref().unwrap_or("").contains("40m"));
}

#[test]
fn component_timeout_is_3_hours_each() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.todo.remove(0);
    w.upgrade_polls = usize::MAX;
    let mut r = Run::new(cfg);
    let next = r.drive_until(&mut w, start(), |s| {
        matches!(
            s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Running { .. },
                ..
            }
        )
    });
    let Phase::StartingUpgrades {
        step: UpgradeStep::Running { deadline, .. },
        ..
    } = r.state.phase.clone()
    else {
        panic!("expected a running upgrade, got {:?}", r.state.phase);
    };
    let before = r.now;
    assert_eq!(deadline - before, chrono::Duration::hours(3));
    r.drive(&mut w, next.expect("polling"), 1000);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(r.now - before >= chrono::Duration::hours(3));
    assert!(r.now - before < chrono::Duration::hours(3) + chrono::Duration::minutes(2));
    assert!(
        r.state
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("NSX upgrade")
    );
}

fn warning() -> Finding {
    Finding {
        severity: FindingSeverity::Warning,
        resource: "sfo-m01-vc01".into(),
        check: "vSAN HCL database up to date".into(),
        message: "vSAN HCL database is older than 90 days".into(),
        remediation: Some("Update the HCL database".into()),
    }
}

fn error() -> Finding {
    Finding {
        severity: FindingSeverity::Error,
        resource: "esx02".into(),
        check: "ESXi host can enter maintenance mode".into(),
        message: "Host cannot enter maintenance mode".into(),
        remediation: Some("Set DRS to fully automated".into()),
    }
}

#[test]
fn warnings_wait_for_acknowledgement_then_continue() {
    let mut w = World::default_world();
    w.findings = vec![warning(), error()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "waiting_for_alert_acknowledgement");
    assert!(
        r.notifications
            .contains(&NotificationKind::AcknowledgementNeeded)
    );
    let md = r.state.view().logs_markdown;
    assert!(
        md.contains("**WARNING** · `sfo-m01-vc01` · *vSAN HCL database up to date*"),
        "{md}"
    );
    assert!(md.contains("_Remediation:_ Set DRS to fully automated"));
    assert!(md.contains("⚠️") && md.contains("❌"));
    // waiting has no timeout: a day later still waiting
    r.now += chrono::Duration::days(1);
    let t = step(&r.state, Event::Tick, r.now, &r.cfg);
    assert!(t.effects.is_empty());
    assert_eq!(t.state.phase.status(), "waiting_for_alert_acknowledgement");
    r.drive(&mut w, Event::Acknowledge, 500);
    assert!(r.statuses.contains(&"alerts_were_acknowledged".to_owned()));
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
    assert_eq!(w.started_upgrades.len(), 4);
}

#[test]
fn acknowledge_logs_the_exact_text() {
    let mut w = World::default_world();
    w.findings = vec![warning()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    let t = step(&r.state, Event::Acknowledge, r.now, &r.cfg);
    assert_eq!(t.state.phase.status(), "alerts_were_acknowledged");
    assert!(
        t.state
            .view()
            .logs_markdown
            .contains("Alerts were acknowledged. Continuing")
    );
}

#[test]
fn ignore_alerts_continues_and_says_so() {
    let mut w = World::default_world();
    w.findings = vec![warning()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.state.ignore_alerts = true;
    r.drive_until(&mut w, start(), |s| {
        matches!(
            s.phase,
            Phase::StartingUpgrades { .. } | Phase::WaitingForAck { .. }
        )
    });
    assert!(matches!(r.state.phase, Phase::StartingUpgrades { .. }));
    assert!(
        !r.statuses
            .contains(&"waiting_for_alert_acknowledgement".to_owned())
    );
    assert!(
        r.state
            .view()
            .logs_markdown
            .contains("ignored because Ignore Alerts is on")
    );
}

#[test]
fn fail_on_precheck_errors_fails_even_with_ignore_alerts() {
    let mut w = World::default_world();
    w.findings = vec![error()];
    let cfg = OrchestratorConfig {
        fail_on_precheck_errors: true,
        ..OrchestratorConfig::default()
    };
    let mut r = Run::new(cfg);
    r.state.ignore_alerts = true;
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(w.started_upgrades.iter().all(|u| u.0 == "b-sddc"));
}

#[test]
fn fallback_bundle_is_downloaded_but_never_applied() {
    let mut w = World::default_world();
    w.offer_fallback = true;
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert!(w.downloads.contains(&"b-fallback".to_owned()));
    assert!(w.started_upgrades.iter().all(|u| u.0 != "b-fallback"));
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
}

#[test]
fn failing_download_fails_the_flow() {
    let mut w = World::default_world();
    w.failing_download = Some("b-nsx".into());
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(
        r.state
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("b-nsx")
    );
    assert!(w.started_upgrades.is_empty());
    assert!(r.notifications.contains(&NotificationKind::Failed));
}

#[test]
fn already_downloaded_bundles_are_not_requested_again() {
    let mut w = World::default_world();
    for b in &mut w.bundles {
        b.state = DownloadState::Done;
    }
    w.bundles[1].state = DownloadState::InProgress;
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 8);
    assert!(w.downloads.is_empty(), "{:?}", w.downloads);
}

#[test]
fn failing_component_and_failing_validation_fail() {
    let mut w = World::default_world();
    w.failing_component = Some("VCENTER".into());
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(
        r.state
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("VCENTER")
    );

    let mut w = World::default_world();
    w.validation_ok = false;
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    assert!(
        r.state
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("validation")
    );
    // a fresh Start begins a new attempt
    let t = step(&r.state, start(), r.now, &r.cfg);
    assert_eq!(t.state.phase.status(), "update_process_started");
    assert!(t.state.last_error.is_none());
}

#[test]
fn no_update_and_double_press() {
    let cfg = OrchestratorConfig::default();
    let s = FlowState::new(domain());
    let t = step(
        &s,
        Event::NoUpdate {
            current_version: Some("5.2.1.0".into()),
        },
        t0(),
        &cfg,
    );
    assert_eq!(t.state.phase, Phase::Idle);
    assert!(t.rejected.is_some());
    assert_eq!(t.effects.len(), 1);
    assert!(
        matches!(&t.effects[0], Effect::Notify(n) if n.kind == NotificationKind::NoUpdateAvailable)
    );
    assert!(
        t.state
            .view()
            .logs_markdown
            .contains("No VCF update available")
    );

    let running = step(&s, start(), t0(), &cfg).state;
    let t = step(&running, start(), t0(), &cfg);
    assert_eq!(t.state.phase, running.phase);
    assert!(t.rejected.is_some());
    assert_eq!(t.effects.len(), 1);
    assert!(
        matches!(&t.effects[0], Effect::Notify(n) if n.kind == NotificationKind::AlreadyRunning)
    );
}

#[test]
fn abort_ends_waiting_flows_but_not_running_upgrades() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.findings = vec![warning()];
    let mut r = Run::new(cfg.clone());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "waiting_for_alert_acknowledgement");
    let t = step(&r.state, Event::Abort, r.now, &cfg);
    assert_eq!(t.state.phase.status(), "failed");
    assert_eq!(t.state.last_error.as_deref(), Some("aborted"));
    assert!(t.effects.iter().all(|e| !e.is_action()));

    let mut w = World::default_world();
    w.upgrade_polls = usize::MAX;
    let mut r = Run::new(cfg.clone());
    r.drive(&mut w, start(), 30);
    assert_eq!(r.state.phase.status(), "upgrading_sddcManager");
    let t = step(&r.state, Event::Abort, r.now, &cfg);
    assert_eq!(t.state.phase, r.state.phase);
    assert!(
        t.rejected
            .as_deref()
            .unwrap_or("")
            .contains("cannot be stopped")
    );
}

#[test]
fn download_only_flow_returns_to_idle() {
    let mut w = World::default_world();
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(
        &mut w,
        Event::Start {
            release: release(),
            download_only: true,
        },
        200,
    );
    assert_eq!(
        r.statuses,
        [
            "waiting_for_initiation",
            "downloading_bundles",
            "waiting_for_initiation"
        ]
    );
    assert_eq!(w.downloads.len(), 5);
    assert!(w.started_upgrades.is_empty());
    assert!(
        r.notifications
            .contains(&NotificationKind::DownloadsCompleted)
    );
}

#[test]
fn resume_reattaches_by_id_and_by_listing() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    w.todo.remove(0);
    w.check_polls = usize::MAX;
    let mut r = Run::new(cfg.clone());
    r.drive(&mut w, start(), 40);
    assert!(matches!(r.state.phase, Phase::EvaluatingPrechecks { .. }));
    let t = step(&r.state, Event::Resumed, r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::PollCheckRun("run-1".into())]);

    // crash between POST check-sets and persisting the id: look it up, never re-POST blindly
    let mut s = r.state.clone();
    s.phase = Phase::RunningPrechecks {
        query: CheckQuery {
            query_id: "q".into(),
            resources: vec![],
        },
        requested_at: r.now,
        target: release(),
    };
    let t = step(&s, Event::Resumed, r.now, &cfg);
    assert!(matches!(t.effects[..], [Effect::FindCheckRun { .. }]));
    let t = step(
        &t.state,
        Event::CheckRunFound(Ok(Some("run-9".into()))),
        r.now,
        &cfg,
    );
    assert_eq!(t.effects, vec![Effect::PollCheckRun("run-9".into())]);

    // crash around POST /v1/upgrades
    let mut s = r.state.clone();
    s.phase = Phase::UpgradingSddcManager {
        bundle_id: "b-sddc".into(),
        upgrade_id: None,
        step: SddcStep::Starting,
        deadline: r.now + chrono::Duration::hours(4),
        outage_seen: false,
        target: release(),
    };
    let t = step(&s, Event::Resumed, r.now, &cfg);
    assert!(
        matches!(&t.effects[..], [Effect::FindUpgrade { bundle_id, .. }] if bundle_id == "b-sddc")
    );
}

#[test]
fn resumed_download_is_not_requested_twice() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    // stop right after the first download request was confirmed
    r.drive(&mut w, start(), 4);
    assert!(matches!(r.state.phase, Phase::DownloadingBundles { .. }));
    let requested: BTreeSet<String> = w.downloads.iter().cloned().collect();
    let t = step(&r.state, Event::Resumed, r.now, &cfg);
    let Effect::CheckBundles(ids) = &t.effects[0] else {
        panic!("{:?}", t.effects)
    };
    // b-sddc was confirmed but VCF still shows PENDING: it must not be PATCHed again;
    // b-nsx was sent but its answer never persisted, and VCF is downloading it.
    assert!(requested.contains("b-sddc") && requested.contains("b-nsx"));
    let states = ids
        .iter()
        .map(|id| {
            let st = if id == "b-nsx" {
                DownloadState::InProgress
            } else {
                DownloadState::NotStarted
            };
            (id.clone(), Ok(st))
        })
        .collect();
    let mut state = step(&t.state, Event::BundleStates(states), r.now, &cfg);
    let mut patched = vec![];
    for _ in 0..20 {
        match state.effects.iter().find(|e| e.is_action()) {
            Some(Effect::StartDownload(id)) => {
                patched.push(id.clone());
                let ev = Event::DownloadRequested {
                    bundle_id: id.clone(),
                    result: Ok(()),
                };
                state = step(&state.state, ev, r.now, &cfg);
            }
            _ => break,
        }
    }
    for id in &patched {
        assert!(!requested.contains(id), "{id} requested twice");
    }
}

// === properties ===

fn arb_event() -> impl Strategy<Value = Event> {
    let fail = prop_oneof![
        Just(ApiFailure::transient("503")),
        Just(ApiFailure::permanent("404"))
    ];
    let op = prop_oneof![
        Just(OpState::Running),
        Just(OpState::Succeeded),
        Just(OpState::Failed("x".into()))
    ];
    let snap = (any::<bool>(), any::<bool>(), 0usize..4).prop_map(|(fb, sddc, n)| {
        let mut ups = vec![];
        if fb {
            ups.push(upg("b-fallback", "VMWARE_SOFTWARE", "VCENTER", true));
        }
        if sddc {
            ups.push(upg("b-sddc", "SDDC_MANAGER", "SDDC_MANAGER", true));
        }
        for i in 0..n {
            ups.push(upg(&format!("b-{i}"), "VMWARE_SOFTWARE", "HOST", i == 0));
        }
        UpgradablesSnapshot {
            upgradables: ups,
            cluster_ids: vec!["cl".into()],
            ..UpgradablesSnapshot::default()
        }
    });
    let ds = prop_oneof![
        Just(DownloadState::NotStarted),
        Just(DownloadState::InProgress),
        Just(DownloadState::Done),
        Just(DownloadState::Failed)
    ];
    prop_oneof![
        Just(start()),
        Just(Event::Start {
            release: release(),
            download_only: true
        }),
        Just(Event::NoUpdate {
            current_version: None
        }),
        Just(Event::Acknowledge),
        Just(Event::Abort),
        Just(Event::Retry),
        any::<bool>().prop_map(|retryable| Event::TaskFailed(Ok(FailedTask {
            message: "VCENTER_UPGRADE_FAILED".into(),
            retryable
        }))),
        Just(Event::TaskRetried(Ok(()))),
        fail.clone().prop_map(|f| Event::TaskRetried(Err(f))),
        any::<bool>().prop_map(Event::SetIgnoreAlerts),
        Just(Event::Resumed),
        Just(Event::Tick),
        Just(Event::Tick),
        Just(Event::Tick),
        Just(Event::BundlesListed(Ok(vec![
            bundle("b-sddc", "SDDC_MANAGER", false),
            bundle("b-fallback", "VCENTER", true),
        ]))),
        ds.prop_map(|s| Event::BundleStates(vec![
            ("b-sddc".into(), Ok(s)),
            ("b-fallback".into(), Ok(s))
        ])),
        Just(Event::DownloadRequested {
            bundle_id: "b-fallback".into(),
            result: Ok(())
        }),
        Just(Event::TargetSet(Ok(()))),
        snap.prop_map(|s| Event::Upgradables(Ok(s))),
        fail.clone().prop_map(|f| Event::Upgradables(Err(f))),
        Just(Event::UpgradeRequested(Ok("up-1".into()))),
        fail.clone().prop_map(|f| Event::UpgradeRequested(Err(f))),
        Just(Event::UpgradeFound(Ok(None))),
        op.clone().prop_map(|o| Event::UpgradeState(Ok(o))),
        fail.clone().prop_map(|f| Event::UpgradeState(Err(f))),
        any::<bool>().prop_map(Event::ApiReady),
        Just(Event::CheckSetsQueried(Ok(CheckQuery {
            query_id: "q".into(),
            resources: vec![]
        }))),
        Just(Event::CheckRunStarted(Ok("run".into()))),
        Just(Event::CheckRunFound(Ok(None))),
        (op.clone(), any::<bool>()).prop_map(|(o, warn)| Event::CheckRun(Ok(CheckRunReport {
            state: o,
            percent: None,
            findings: if warn { vec![warning()] } else { vec![] }
        }))),
        any::<bool>().prop_map(|ok| Event::Validation(Ok(ValidationReport {
            id: "v".into(),
            execution_status: if ok {
                "COMPLETED".into()
            } else {
                "FAILED".into()
            },
            result_status: if ok {
                "SUCCEEDED".into()
            } else {
                "FAILED".into()
            },
            running: false,
            completed: ok,
            problems: vec![],
            warnings: vec![]
        }))),
        fail.prop_map(|f| Event::CheckRun(Err(f))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_for_random_event_sequences(
        events in proptest::collection::vec((arb_event(), 0u64..20_000), 1..120)
    ) {
        let cfg = OrchestratorConfig::default();
        let mut s = FlowState::new(domain());
        let mut now = t0();
        for (ev, secs) in events {
            now += chrono::Duration::seconds(secs as i64);
            let was_failed = matches!(s.phase, Phase::Failed { .. });
            let is_start = matches!(ev, Event::Start { .. });
            let t = step(&s, ev, now, &cfg);
            // at most one action per transition
            prop_assert!(t.effects.iter().filter(|e| e.is_action()).count() <= 1);
            for e in &t.effects {
                // never an upgrade of a fallback bundle
                if let Effect::StartUpgrade(req) = e {
                    prop_assert!(!t.state.fallback_bundles.contains(&req.bundle_id));
                    prop_assert!(req.bundle_id != "b-fallback");
                }
                // nothing but notifications after failed, until a new Start
                if was_failed && !is_start {
                    prop_assert!(!e.is_action(), "action after failed: {:?}", e);
                }
            }
            // failed is reachable from every active phase (Abort or a timeout)
            if t.state.is_active() {
                let aborted = step(&t.state, Event::Abort, now, &cfg);
                let timed_out = step(&t.state, Event::Tick, now + chrono::Duration::days(3650), &cfg);
                let task_failed = [
                    Event::UpgradeRequested(Err(ApiFailure::permanent("400"))),
                    Event::UpgradeState(Ok(OpState::Failed("COMPLETED_WITH_FAILURE".into()))),
                ]
                .into_iter()
                .any(|ev| matches!(step(&t.state, ev, now, &cfg).state.phase, Phase::Failed { .. }));
                let by_error = matches!(aborted.state.phase, Phase::Failed { .. })
                    || matches!(timed_out.state.phase, Phase::Failed { .. })
                    || (t.state.phase.upgrade_task_running() && task_failed);
                prop_assert!(by_error, "no way to failed from {:?}", t.state.phase);
            }
            // the view is always consistent and bounded
            let v = t.state.view();
            prop_assert!(v.logs_markdown.len() < 16 * 1024);
            prop_assert_eq!(v.in_progress, t.state.is_active());
            prop_assert!(upgrade_orchestrator::phase::STATUSES.contains(&v.status.as_str()));
            s = t.state;
        }
    }

    #[test]
    fn running_upgrade_tasks_fail_on_permanent_errors_or_timeout(secs in 0i64..100_000) {
        // every phase with a running VCF task still reaches failed (timeout), never hangs
        let cfg = OrchestratorConfig::default();
        let mut s = FlowState::new(domain());
        s.phase = Phase::StartingUpgrades { step: UpgradeStep::Running {
            upgrade_id: "u".into(),
            request: upgrade_orchestrator::api::UpgradeRequest {
                bundle_id: "b".into(), resource_type: "DOMAIN".into(), resource_ids: vec!["dom-1".into()], draft: false,
                personalities: Default::default(),
                vcenter_input: None,
            },
            component: "VCENTER".into(),
            deadline: t0() + chrono::Duration::hours(3),
        }, target: release() };
        let now = t0() + chrono::Duration::seconds(secs);
        let t = step(&s, Event::Tick, now, &cfg);
        if now >= t0() + chrono::Duration::hours(3) {
            prop_assert_eq!(t.state.phase.status(), "failed");
        } else {
            prop_assert_eq!(t.effects, vec![Effect::PollUpgrade("u".into())]);
        }
    }
}

#[test]
fn per_upgrade_precheck_errors_fail_unless_ignored_and_missing_prechecks_are_skipped() {
    let mut w = World::default_world();
    w.upgrade_precheck_findings = vec![error()];
    let mut r = Run::new(drafts());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    let err = r.state.last_error.clone().unwrap_or_default();
    assert!(err.contains("precheck of the NSX upgrade"), "{err}");
    assert_eq!(
        w.commits, 0,
        "a draft that failed its precheck is never started"
    );

    let mut w = World::default_world();
    w.upgrade_precheck_findings = vec![error()];
    let mut r = Run::new(drafts());
    r.state.ignore_alerts = true;
    r.drive(&mut w, start(), 500);
    assert_eq!(w.commits, 3);
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");

    let mut w = World::default_world();
    w.no_upgrade_prechecks = true;
    let mut r = Run::new(drafts());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Running { .. },
                ..
            }
        )
    });
    assert!(
        r.state
            .view()
            .logs_markdown
            .contains("No per-upgrade precheck for NSX")
    );
    assert_eq!(w.commits, 1);
}

#[test]
fn resume_during_per_upgrade_precheck_and_commit_never_posts_again() {
    let cfg = drafts();
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Prechecking { .. },
                ..
            }
        )
    });
    let posts = w.started_upgrades.len();
    // Abort is refused: a draft upgrade exists in VCF
    assert!(step(&r.state, Event::Abort, r.now, &cfg).rejected.is_some());
    // crash before the precheck id was saved: the precheck is simply started again
    let mut s = r.state.clone();
    if let Phase::StartingUpgrades {
        step: UpgradeStep::Prechecking { precheck_id, .. },
        ..
    } = &mut s.phase
    {
        *precheck_id = None;
    }
    let t = step(&s, Event::Resumed, r.now, &cfg);
    assert!(matches!(&t.effects[..], [Effect::StartUpgradePrecheck(id)] if id == "up-b-nsx"));
    // crash while committing: read the upgrade, commit only a draft
    let mut s = r.state.clone();
    let Phase::StartingUpgrades {
        step:
            UpgradeStep::Prechecking {
                upgrade_id,
                request,
                component,
                ..
            },
        target,
    } = s.phase.clone()
    else {
        panic!("{:?}", s.phase)
    };
    s.phase = Phase::StartingUpgrades {
        step: UpgradeStep::Committing {
            upgrade_id,
            request,
            component,
        },
        target,
    };
    let t = step(&s, Event::Resumed, r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::PollUpgrade("up-b-nsx".into())]);
    let t2 = step(
        &t.state,
        Event::UpgradeState(Ok(OpState::Draft)),
        r.now,
        &cfg,
    );
    assert_eq!(t2.effects, vec![Effect::CommitUpgrade("up-b-nsx".into())]);
    let t3 = step(
        &t.state,
        Event::UpgradeState(Ok(OpState::Running)),
        r.now,
        &cfg,
    );
    assert!(matches!(
        t3.state.phase,
        Phase::StartingUpgrades {
            step: UpgradeStep::Running { .. },
            ..
        }
    ));
    // crash right after the draft POST: found as a draft by listing → precheck, no new POST
    let mut s = r.state.clone();
    let Phase::StartingUpgrades {
        step: UpgradeStep::Prechecking {
            request, component, ..
        },
        target,
    } = s.phase.clone()
    else {
        panic!()
    };
    s.phase = Phase::StartingUpgrades {
        step: UpgradeStep::Starting {
            request,
            component,
            adopt: false,
        },
        target,
    };
    let mut r2 = Run {
        state: s,
        now: r.now,
        cfg: cfg.clone(),
        statuses: vec![],
        notifications: vec![],
    };
    r2.drive(&mut w, Event::Resumed, 500);
    assert_eq!(r2.state.phase.status(), "waiting_for_initiation");
    assert!(w.started_upgrades.iter().filter(|u| u.0 == "b-nsx").count() == 1);
    assert!(w.started_upgrades.len() >= posts);
}

#[test]
fn a_plan_is_logged_without_changing_the_phase_and_refused_while_a_flow_runs() {
    let cfg = OrchestratorConfig::default();
    let idle = FlowState::new(domain());
    let sections = vec!["**Plan for sfo-m01**: VCF 5.2.0.0 → 5.2.1.0".to_owned()];
    let t = step(&idle, Event::Planned(Ok(sections)), t0(), &cfg);
    assert_eq!(t.rejected, None);
    assert_eq!(t.state.phase, Phase::Idle);
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    assert!(t.state.view().logs_markdown.contains("Plan for sfo-m01"));

    let failed = step(&idle, Event::Planned(Err("unreachable".into())), t0(), &cfg);
    assert!(failed.rejected.is_some());
    assert_eq!(failed.state.phase, Phase::Idle);

    let running = step(&idle, start(), t0(), &cfg).state;
    assert!(running.is_active());
    let t = step(
        &running,
        Event::Planned(Ok(vec!["plan".into()])),
        t0(),
        &cfg,
    );
    assert!(t.rejected.is_some());
    assert_eq!(t.state, running, "a refused plan changes nothing");
    assert!(t.effects.is_empty());
}

/// A flow whose vCenter upgrade task failed (retryable unless said otherwise).
fn failed_at_vcenter(retryable: bool) -> (World, Run) {
    let mut w = World::default_world();
    w.failing_component = Some("VCENTER".into());
    w.task_retryable = retryable;
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    (w, r)
}

fn posts_of(w: &World, bundle: &str) -> usize {
    w.started_upgrades
        .iter()
        .filter(|(b, _, _)| b == bundle)
        .count()
}

#[test]
fn a_failed_retryable_task_is_shown_and_retry_continues_at_that_component() {
    let (mut w, mut r) = failed_at_vcenter(true);
    let err = r.state.last_error.clone().unwrap_or_default();
    assert!(err.contains("VCENTER_UPGRADE_FAILED"), "{err}");
    let v = r.state.view();
    assert!(v.retryable);
    assert!(
        v.logs_markdown.contains("Retry Upgrade"),
        "{}",
        v.logs_markdown
    );
    assert_eq!(posts_of(&w, "b-vc"), 1);
    let done = r.state.upgrades_done;

    let t = step(&r.state, Event::Retry, r.now, &r.cfg);
    assert_eq!(t.rejected, None);
    assert_eq!(t.state.phase.status(), "starting_upgrades");
    assert_eq!(
        t.state.view().phase_detail.as_deref(),
        Some("retrying_task")
    );
    assert_eq!(t.state.upgrades_done, done, "finished components are kept");
    assert!(t.effects.contains(&Effect::RetryTask("up-b-vc".into())));

    r.statuses.clear();
    r.drive(&mut w, Event::Retry, 500);
    assert!(
        r.statuses.contains(&"successfully_completed".to_owned()),
        "{:?}",
        r.statuses
    );
    assert_eq!(w.retried, vec!["up-b-vc".to_owned()]);
    assert_eq!(
        posts_of(&w, "b-vc"),
        1,
        "the failed upgrade is not posted again"
    );
    assert_eq!(
        r.statuses.first().map(String::as_str),
        Some("starting_upgrades")
    );
    assert!(r.state.last_error.is_none());
}

#[test]
fn start_on_a_flow_with_a_retryable_task_retries_it() {
    let (mut w, mut r) = failed_at_vcenter(true);
    r.statuses.clear();
    r.drive(&mut w, start(), 500);
    assert!(
        r.statuses.contains(&"successfully_completed".to_owned()),
        "{:?}",
        r.statuses
    );
    assert_eq!(w.retried, vec!["up-b-vc".to_owned()]);
    assert_eq!(posts_of(&w, "b-vc"), 1);
}

#[test]
fn retry_with_nothing_retryable_is_refused() {
    let idle = FlowState::new(domain());
    let t = step(&idle, Event::Retry, t0(), &OrchestratorConfig::default());
    assert!(
        t.rejected
            .as_deref()
            .unwrap_or("")
            .contains("No failed VCF task"),
        "{:?}",
        t.rejected
    );
    assert_eq!(t.state, idle);

    let (w, r) = failed_at_vcenter(false);
    assert!(!r.state.view().retryable);
    assert!(r.state.logbook.render().contains("does not offer to retry"));
    let t = step(&r.state, Event::Retry, r.now, &r.cfg);
    assert!(t.rejected.is_some());
    assert_eq!(t.state.phase, r.state.phase);
    // Start then begins a new flow, as before
    let t = step(&r.state, start(), r.now, &r.cfg);
    assert_eq!(t.state.phase.status(), "update_process_started");
    assert!(w.retried.is_empty());
}

#[test]
fn a_retry_interrupted_by_a_restart_is_sent_again_or_followed() {
    let (mut w, r) = failed_at_vcenter(true);
    // the bridge stops right after persisting the retry step
    let t = step(&r.state, Event::Retry, r.now, &r.cfg);
    let saved = serde_json::to_string(&t.state).expect("state serialises");
    let loaded: FlowState = serde_json::from_str(&saved).expect("state loads");
    let resumed = step(&loaded, Event::Resumed, r.now, &r.cfg);
    assert!(
        resumed
            .effects
            .contains(&Effect::RetryTask("up-b-vc".into()))
    );
    // VCF already runs it again (409): the flow reads the upgrade and follows it
    let refused = step(
        &resumed.state,
        Event::TaskRetried(Err(ApiFailure::permanent(
            "409 Only a failed Task can be retried",
        ))),
        r.now,
        &r.cfg,
    );
    assert!(
        refused
            .effects
            .contains(&Effect::PollUpgrade("up-b-vc".into()))
    );
    let following = step(
        &refused.state,
        Event::UpgradeState(Ok(OpState::Running)),
        r.now,
        &r.cfg,
    );
    assert_eq!(
        following.state.view().phase_detail.as_deref(),
        Some("upgrading")
    );

    // and a resumed retry that VCF accepts runs to the end
    let mut r2 = Run::new(r.cfg.clone());
    r2.state = loaded;
    r2.now = r.now;
    r2.drive(&mut w, Event::Resumed, 500);
    assert!(
        r2.statuses.contains(&"successfully_completed".to_owned()),
        "{:?}",
        r2.statuses
    );
    assert_eq!(posts_of(&w, "b-vc"), 1);
}

#[test]
fn a_blocked_loop_shows_each_upgradables_errors_and_vcf_operations_first() {
    let mut target = release();
    target.bom.push(BomItem {
        name: "VCF_OPERATIONS".into(),
        version: "9.0.1.0".into(),
        managed_by: Some("VCF_OPERATIONS_FLEET_MANAGEMENT".into()),
        change_id: None,
    });
    let mut s = FlowState::new(domain());
    s.phase = Phase::StartingUpgrades {
        target,
        step: UpgradeStep::Listing,
    };
    let mut nsx = upg("b-nsx", "VMWARE_SOFTWARE", "NSX_T_MANAGER", false);
    nsx.errors = vec!["UPGRADE_BLOCKED: NSX Manager is not reachable".into()];
    let snap = UpgradablesSnapshot {
        upgradables: vec![nsx],
        cluster_ids: vec![],
        clusters: vec![],
        personalities: vec![],
    };
    let cfg = OrchestratorConfig::default();
    let t = step(&s, Event::Upgradables(Ok(snap.clone())), t0(), &cfg);
    let v = t.state.view();
    assert_eq!(v.status, "starting_upgrades");
    assert_eq!(v.phase_detail.as_deref(), Some("blocked"));
    assert_eq!(v.blocked_reasons.len(), 2, "{:?}", v.blocked_reasons);
    assert!(v.blocked_reasons[0].contains("NSX Manager is not reachable"));
    assert!(v.blocked_reasons[1].contains("VCF Operations"));
    assert!(v.logs_markdown.contains("NSX Manager is not reachable"));
    // the same reasons again are not logged twice
    let again = step(&t.state, Event::Upgradables(Ok(snap)), t0(), &cfg);
    assert_eq!(again.state.logbook.len(), t.state.logbook.len());
    // once something is AVAILABLE the detail is gone
    let free = UpgradablesSnapshot {
        upgradables: vec![upg("b-nsx", "VMWARE_SOFTWARE", "NSX_T_MANAGER", true)],
        cluster_ids: vec![],
        clusters: vec![],
        personalities: vec![],
    };
    let next = step(&again.state, Event::Upgradables(Ok(free)), t0(), &cfg);
    assert!(next.state.view().blocked_reasons.is_empty());
    assert_ne!(next.state.view().phase_detail.as_deref(), Some("blocked"));
}

#[test]
fn component_upgrades_start_with_upgrade_now_by_default() {
    let mut w = World::default_world();
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
    let applied: Vec<_> = w
        .upgrade_requests
        .iter()
        .map(|u| u.bundle_id.as_str())
        .collect();
    assert_eq!(applied, ["b-sddc", "b-nsx", "b-vc", "b-esx"]);
    // no draft, no per-upgrade precheck, no commit: every upgrade starts at once
    assert!(w.upgrade_requests.iter().all(|u| !u.draft));
    assert_eq!((w.upgrade_prechecks, w.commits), (0, 0));
    assert!(!r.statuses.iter().any(|s| s == "failed"));
}

#[test]
fn resume_without_per_upgrade_precheck_reattaches_and_commits_a_leftover_draft() {
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            &s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Running { request, .. },
                ..
            } if request.bundle_id == "b-nsx"
        )
    });
    let Phase::StartingUpgrades {
        step: UpgradeStep::Running {
            request, component, ..
        },
        target,
    } = r.state.phase.clone()
    else {
        panic!("{:?}", r.state.phase)
    };
    // crash between the POST and saving its id: the upgrade is found by listing, not posted again
    let mut s = r.state.clone();
    s.phase = Phase::StartingUpgrades {
        step: UpgradeStep::Starting {
            request: request.clone(),
            component: component.clone(),
            adopt: false,
        },
        target,
    };
    let t = step(&s, Event::Resumed, r.now, &cfg);
    assert!(
        matches!(&t.effects[..], [Effect::FindUpgrade { bundle_id, .. }] if bundle_id == "b-nsx")
    );
    let found = |state| {
        Event::UpgradeFound(Ok(Some(FoundUpgrade {
            id: "up-b-nsx".into(),
            state,
        })))
    };
    let running = step(&t.state, found(OpState::Running), r.now, &cfg);
    assert_eq!(
        running.effects,
        vec![Effect::PollUpgrade("up-b-nsx".into())]
    );
    // a draft left by an earlier `per_upgrade_precheck = true` run is committed, not prechecked
    let draft = step(&t.state, found(OpState::Draft), r.now, &cfg);
    assert_eq!(
        draft.effects,
        vec![Effect::CommitUpgrade("up-b-nsx".into())]
    );
    // the rest of the flow finishes with one POST per upgrade
    let mut r2 = Run {
        state: s,
        now: r.now,
        cfg: cfg.clone(),
        statuses: vec![],
        notifications: vec![],
    };
    r2.drive(&mut w, Event::Resumed, 500);
    assert_eq!(r2.state.phase.status(), "waiting_for_initiation");
    assert_eq!(
        w.started_upgrades.iter().filter(|u| u.0 == "b-nsx").count(),
        1
    );
}

#[test]
fn check_set_query_carries_the_target_release_for_its_bom_versions() {
    let mut w = World::default_world();
    w.todo.remove(0); // no SDDC Manager upgrade: prechecks come first
    let mut r = Run::new(OrchestratorConfig::default());
    let mut seen = None;
    let mut next = Some(start());
    for _ in 0..200 {
        let Some(ev) = next.take() else { break };
        let t = step(&r.state, ev, r.now, &r.cfg);
        r.state = t.state;
        for e in &t.effects {
            match e {
                Effect::QueryCheckSets(target) => {
                    seen = Some(target.clone());
                }
                Effect::Wait(d) => {
                    r.now += chrono::Duration::from_std(*d).expect("small");
                    next = Some(Event::Tick);
                    continue;
                }
                _ => {}
            }
            if e.is_action() && !matches!(e, Effect::Wait(_)) {
                next = w.answer(e);
            }
        }
        if seen.is_some() {
            break;
        }
    }
    assert_eq!(seen, Some(release()));
}

/// `release()` with the ESXi version the cluster images must carry.
fn release_with_esxi() -> TargetRelease {
    let mut r = release();
    r.bom.push(BomItem {
        name: "ESX_HOST".into(),
        version: "8.0.3-24280767".into(),
        managed_by: None,
        change_id: None,
    });
    r
}

fn image_world() -> World {
    let mut w = World::default_world();
    w.clusters = vec![
        ClusterInfo {
            id: "cl-1".into(),
            name: "sfo-m01-cl01".into(),
            image_based: true,
        },
        ClusterInfo {
            id: "cl-2".into(),
            name: "sfo-m01-cl02".into(),
            image_based: false,
        },
    ];
    // an image of the ESXi the clusters run today: not the target
    w.personalities = vec![PersonalityInfo {
        id: "p-old".into(),
        name: "esx-8-0-3-old".into(),
        esxi_version: "8.0.3-0.0.24022510".into(),
    }];
    w
}

fn waiting_for_image(s: &FlowState) -> bool {
    matches!(
        s.phase,
        Phase::StartingUpgrades {
            step: UpgradeStep::WaitingForImage { .. },
            ..
        }
    )
}

#[test]
fn image_clusters_wait_for_their_image_then_upgrade_with_its_personality() {
    let mut w = image_world();
    let mut r = Run::new(OrchestratorConfig::default());
    let start = Event::Start {
        release: release_with_esxi(),
        download_only: false,
    };
    let next = r.drive_until(&mut w, start, waiting_for_image);
    assert!(waiting_for_image(&r.state), "{:?}", r.state.phase);
    assert_eq!(r.state.phase.status(), "starting_upgrades");
    assert_eq!(r.state.phase.detail(), Some("waiting_for_cluster_image"));
    // NSX and vCenter went first; the ESXi upgrade was not started
    let started: Vec<_> = w
        .upgrade_requests
        .iter()
        .map(|u| u.bundle_id.as_str())
        .collect();
    assert_eq!(started, ["b-sddc", "b-nsx", "b-vc"]);
    let view = r.state.view();
    assert!(
        view.logs_markdown
            .contains("sfo-m01-cl01 waits for a vLCM image with ESXi 8.0.3-24280767"),
        "{}",
        view.logs_markdown
    );
    assert!(!view.logs_markdown.contains("sfo-m01-cl02"));
    let acks = |r: &Run| {
        r.notifications
            .iter()
            .filter(|k| **k == NotificationKind::AcknowledgementNeeded)
            .count()
    };
    assert_eq!(acks(&r), 1);
    // re-polled at the upgrade poll interval, told once
    let before = r.now;
    r.drive(&mut w, next.expect("a pending event"), 12);
    assert!(waiting_for_image(&r.state));
    assert!(r.now > before);
    assert_eq!(acks(&r), 1);
    assert_eq!(w.upgrade_requests.len(), 3);
    // a restart in the wait keeps waiting and lists again; nothing is started
    let t = step(&r.state, Event::Resumed, r.now, &r.cfg);
    assert_eq!(t.effects, vec![Effect::ListUpgradables("5.2.1.0".into())]);
    let saved = serde_json::to_string(&r.state).expect("persist");
    let restored: FlowState = serde_json::from_str(&saved).expect("read back");
    assert_eq!(restored, r.state);
    // the image is imported: the flow continues by itself
    w.personalities.push(PersonalityInfo {
        id: "p-new".into(),
        name: "esx-8-0-3-u3b".into(),
        esxi_version: "8.0.3-0.35.24280767".into(),
    });
    r.state = restored;
    r.drive(&mut w, Event::Resumed, 500);
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
    let esx = w
        .upgrade_requests
        .iter()
        .find(|u| u.bundle_id == "b-esx")
        .expect("ESXi upgrade started");
    assert_eq!(esx.resource_type, "CLUSTER");
    assert_eq!(esx.resource_ids, ["cl-1", "cl-2"]);
    // only the image-managed cluster carries a personality
    assert_eq!(
        esx.personalities,
        [("cl-1".to_owned(), "p-new".to_owned())]
            .into_iter()
            .collect()
    );
}

#[test]
fn abort_ends_the_wait_for_a_cluster_image() {
    let mut w = image_world();
    let cfg = OrchestratorConfig::default();
    let mut r = Run::new(cfg.clone());
    let start = Event::Start {
        release: release_with_esxi(),
        download_only: false,
    };
    r.drive_until(&mut w, start, waiting_for_image);
    let t = step(&r.state, Event::Abort, r.now, &cfg);
    assert!(t.rejected.is_none());
    assert_eq!(t.state.phase.status(), "failed");
}

// === unreadable answers and lost states ===

/// Drives the default flow (no per-upgrade precheck) until the NSX upgrade runs.
fn nsx_running(cfg: &OrchestratorConfig) -> (Run, World) {
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            &s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Running { request, .. },
                ..
            } if request.bundle_id == "b-nsx"
        )
    });
    (r, w)
}

fn unreadable() -> Event {
    Event::UpgradeState(Err(ApiFailure::permanent(
        "GET /v1/upgrades/up-b-nsx: unexpected response: missing field `id`",
    )))
}

#[test]
fn one_unreadable_upgrade_answer_is_asked_again_and_the_upgrade_goes_on() {
    let cfg = OrchestratorConfig::default();
    let (r, _) = nsx_running(&cfg);
    let t = step(&r.state, unreadable(), r.now, &cfg);
    assert!(t.state.is_active(), "{:?}", t.state.phase);
    assert!(
        matches!(&t.effects[..], [Effect::Wait(_)]),
        "{:?}",
        t.effects
    );
    let t = step(&t.state, Event::Tick, r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::PollUpgrade("up-b-nsx".into())]);
    let t = step(
        &t.state,
        Event::UpgradeState(Ok(OpState::Succeeded)),
        r.now,
        &cfg,
    );
    assert_eq!(t.state.upgrades_done, 1);
    assert!(t.state.is_active());
    assert!(t.state.logbook.render().contains("asking again (1/10)"));
}

#[test]
fn a_burst_of_unreadable_answers_asks_the_upgrade_task_before_anything_fails() {
    let cfg = OrchestratorConfig {
        poll_error_budget: 3,
        ..OrchestratorConfig::default()
    };
    let (r, _) = nsx_running(&cfg);
    let mut s = r.state.clone();
    for _ in 0..3 {
        let t = step(&s, unreadable(), r.now, &cfg);
        assert!(
            matches!(&t.effects[..], [Effect::Wait(_)]),
            "{:?}",
            t.effects
        );
        s = t.state;
    }
    // the budget is spent: VCF's own task decides, the flow has not failed
    let t = step(&s, unreadable(), r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::ReadTask("up-b-nsx".into())]);
    assert!(t.state.is_active());
    // VCF says the upgrade runs: polled again with a fresh budget
    let running = step(
        &t.state,
        Event::TaskState(Ok(OpState::Running)),
        r.now,
        &cfg,
    );
    assert!(matches!(&running.effects[..], [Effect::Wait(_)]));
    assert_eq!(running.state.retries, 0);
    assert!(running.state.is_active());
    // VCF says it succeeded: the flow goes on to the next component
    let done = step(
        &t.state,
        Event::TaskState(Ok(OpState::Succeeded)),
        r.now,
        &cfg,
    );
    assert_eq!(done.state.upgrades_done, 1);
    assert!(done.state.is_active());
    // no word from VCF (unreachable): asked again, still not failed
    let silent = step(
        &t.state,
        Event::TaskState(Err(ApiFailure::transient("connection refused"))),
        r.now,
        &cfg,
    );
    assert!(silent.state.is_active());
    // VCF's word that it failed fails the flow, with VCF's reason
    let failed = step(
        &t.state,
        Event::TaskState(Ok(OpState::Failed("COMPLETED_WITH_FAILURE".into()))),
        r.now,
        &cfg,
    );
    assert!(matches!(failed.state.phase, Phase::Failed { .. }));
    assert!(
        failed
            .state
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("COMPLETED_WITH_FAILURE"),
        "{:?}",
        failed.state.last_error
    );
}

#[test]
fn an_unreadable_task_after_the_budget_fails_naming_both() {
    let cfg = OrchestratorConfig {
        poll_error_budget: 0,
        ..OrchestratorConfig::default()
    };
    let (r, _) = nsx_running(&cfg);
    let t = step(&r.state, unreadable(), r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::ReadTask("up-b-nsx".into())]);
    let t = step(
        &t.state,
        Event::TaskState(Err(ApiFailure::permanent(
            "GET /v1/tasks/up-b-nsx: HTTP 404",
        ))),
        r.now,
        &cfg,
    );
    let Phase::Failed { reason } = &t.state.phase else {
        panic!("{:?}", t.state.phase)
    };
    assert!(
        reason.contains("NSX upgrade") && reason.contains("404"),
        "{reason}"
    );
}

#[test]
fn unreadable_answers_never_outlive_the_component_deadline() {
    let cfg = OrchestratorConfig::default();
    let (r, _) = nsx_running(&cfg);
    let late = r.now + chrono::Duration::hours(4);
    let t = step(&r.state, Event::Tick, late, &cfg);
    let Phase::Failed { reason } = &t.state.phase else {
        panic!("{:?}", t.state.phase)
    };
    assert!(reason.contains("did not finish within 3h"), "{reason}");
}

#[test]
fn an_unreadable_precheck_run_is_asked_again_then_checked_by_its_task() {
    let cfg = OrchestratorConfig {
        poll_error_budget: 1,
        ..OrchestratorConfig::default()
    };
    let mut w = World::default_world();
    w.check_polls = usize::MAX;
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(s.phase, Phase::EvaluatingPrechecks { .. })
    });
    let bad = || Event::CheckRun(Err(ApiFailure::permanent("unexpected response: status")));
    let t = step(&r.state, bad(), r.now, &cfg);
    assert!(
        matches!(&t.effects[..], [Effect::Wait(_)]),
        "{:?}",
        t.effects
    );
    let t = step(&t.state, bad(), r.now, &cfg);
    assert_eq!(t.effects, vec![Effect::ReadTask("run-1".into())]);
    let t = step(
        &t.state,
        Event::TaskState(Ok(OpState::Running)),
        r.now,
        &cfg,
    );
    assert!(matches!(t.state.phase, Phase::EvaluatingPrechecks { .. }));
}

#[test]
fn a_new_component_upgrade_looks_for_one_in_vcf_before_posting() {
    let cfg = drafts();
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            &s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Starting { request, .. },
                ..
            } if request.bundle_id == "b-nsx"
        )
    });
    // the step that entered `Starting` asked for the list, not for a POST
    let posted_before = w
        .upgrade_requests
        .iter()
        .filter(|q| q.bundle_id == "b-nsx")
        .count();
    assert_eq!(posted_before, 0);
    // VCF already holds a draft of it (a state lost during its precheck): re-attached
    let t = step(
        &r.state,
        Event::UpgradeFound(Ok(Some(FoundUpgrade {
            id: "up-draft".into(),
            state: OpState::Draft,
        }))),
        r.now,
        &cfg,
    );
    assert_eq!(
        t.effects,
        vec![Effect::StartUpgradePrecheck("up-draft".into())]
    );
    assert!(t.state.logbook.render().contains("Re-attached"));
    // nothing there: now it is posted, once
    let t = step(&r.state, Event::UpgradeFound(Ok(None)), r.now, &cfg);
    assert!(matches!(&t.effects[..], [Effect::StartUpgrade(q)] if q.bundle_id == "b-nsx"));
}

#[test]
fn an_upgrade_vcf_runs_that_the_flow_did_not_start_is_followed_never_posted() {
    // a lost state: Start went through again and reaches the upgrade loop while VCF upgrades NSX
    let cfg = OrchestratorConfig::default();
    let mut w = World::default_world();
    let mut r = Run::new(cfg.clone());
    r.drive_until(&mut w, start(), |s| {
        matches!(
            &s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Listing,
                ..
            }
        ) && s.sddc_upgrades > 0
    });
    let mut nsx = upg("b-nsx", "VMWARE_SOFTWARE", "NSX_T_MANAGER", false);
    nsx.in_progress = true;
    let snap = UpgradablesSnapshot {
        upgradables: vec![
            nsx,
            upg("b-vc", "VMWARE_SOFTWARE", "VCENTER", false),
            upg("b-esx", "VMWARE_SOFTWARE", "HOST", false),
        ],
        ..UpgradablesSnapshot::default()
    };
    let t = step(&r.state, Event::Upgradables(Ok(snap)), r.now, &cfg);
    assert!(
        matches!(&t.effects[..], [Effect::FindUpgrade { bundle_id, .. }] if bundle_id == "b-nsx"),
        "{:?}",
        t.effects
    );
    assert!(
        t.state
            .logbook
            .render()
            .contains("VCF is upgrading NSX already")
    );
    // found running: followed by id
    let found = step(
        &t.state,
        Event::UpgradeFound(Ok(Some(FoundUpgrade {
            id: "up-lost".into(),
            state: OpState::Running,
        }))),
        r.now,
        &cfg,
    );
    assert_eq!(found.effects, vec![Effect::PollUpgrade("up-lost".into())]);
    // not found (it just ended): listed again after a wait, never posted
    let none = step(&t.state, Event::UpgradeFound(Ok(None)), r.now, &cfg);
    assert!(
        matches!(&none.effects[..], [Effect::Wait(_)]),
        "{:?}",
        none.effects
    );
    assert!(matches!(
        none.state.phase,
        Phase::StartingUpgrades {
            step: UpgradeStep::Listing,
            ..
        }
    ));
    let again = step(&none.state, Event::Tick, r.now, &cfg);
    assert!(matches!(&again.effects[..], [Effect::ListUpgradables(_)]));
}

#[test]
fn ignore_alerts_switched_on_while_waiting_releases_the_flow() {
    let mut w = World::default_world();
    w.findings = vec![warning(), error()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "waiting_for_alert_acknowledgement");
    let t = step(&r.state, Event::SetIgnoreAlerts(true), r.now, &r.cfg);
    assert!(t.rejected.is_none());
    assert!(t.state.ignore_alerts);
    assert_eq!(t.state.phase.status(), "alerts_were_acknowledged");
    assert!(
        t.state
            .view()
            .logs_markdown
            .contains("Ignore Alerts switched on: 1 error(s) and 1 warning(s) ignored. Continuing"),
        "{}",
        t.state.view().logs_markdown
    );
    r.state = t.state;
    r.drive(&mut w, Event::Tick, 500);
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
    assert_eq!(w.started_upgrades.len(), 4, "{:?}", w.started_upgrades);
    // Switched off while waiting, nothing moves.
    let mut w = World::default_world();
    w.findings = vec![warning()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    let t = step(&r.state, Event::SetIgnoreAlerts(false), r.now, &r.cfg);
    assert_eq!(t.state.phase.status(), "waiting_for_alert_acknowledgement");
    assert!(t.effects.is_empty());
}

#[test]
fn precheck_findings_are_kept_errors_first_until_the_next_flow() {
    let mut w = World::default_world();
    let second_warning = Finding {
        resource: "sfo-m01-nsx01".into(),
        ..warning()
    };
    w.findings = vec![warning(), error(), second_warning.clone()];
    let mut r = Run::new(OrchestratorConfig::default());
    r.drive(&mut w, start(), 500);
    let view = r.state.view();
    assert_eq!(view.findings, vec![error(), warning(), second_warning]);
    // The log lists them in the same order.
    let md = &view.logs_markdown;
    let e = md
        .find("Host cannot enter maintenance mode")
        .expect("error logged");
    let wn = md
        .find("vSAN HCL database is older")
        .expect("warning logged");
    assert!(e < wn, "{md}");
    // The next flow starts without them.
    let t = step(&r.state, Event::Abort, r.now, &r.cfg);
    let t = step(&t.state, start(), r.now, &r.cfg);
    assert!(t.state.view().findings.is_empty());
}

#[test]
fn finished_flows_are_kept_in_the_history_after_the_log_reset() {
    let mut w = World::default_world();
    let mut r = Run::new(OrchestratorConfig::default());
    let started = r.now;
    r.drive(&mut w, start(), 500);
    // Completed, held, then back to idle with an empty log.
    assert_eq!(r.state.phase.status(), "waiting_for_initiation");
    let view = r.state.view();
    assert_eq!(view.log_entries, 0);
    assert_eq!(view.history.len(), 1);
    let run = &view.history[0];
    assert_eq!(run.result.as_str(), "completed");
    assert_eq!(run.mode, "upgrade");
    assert_eq!(run.from_version.as_deref(), Some("5.2.0.0"));
    assert_eq!(run.to_version.as_deref(), Some("5.2.1.0"));
    assert_eq!(run.started_at, Some(started));
    assert!(run.finished_at > started);
    let names: Vec<&str> = run
        .components
        .iter()
        .map(|c| c.component.as_str())
        .collect();
    assert_eq!(names, ["SDDC_MANAGER", "NSX_T_MANAGER", "VCENTER", "HOST"]);
    assert!(run.components.iter().all(|c| c.seconds > 0), "{run:?}");
    assert!(run.error.is_none());

    // A failing flow comes first, with its reason.
    let mut w = World::default_world();
    w.failing_component = Some("VCENTER".into());
    w.task_retryable = false;
    r.drive(&mut w, start(), 500);
    assert_eq!(r.state.phase.status(), "failed");
    let history = r.state.view().history;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].result.as_str(), "failed");
    assert!(
        history[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("vCenter")
    );
    assert_eq!(history[1].result.as_str(), "completed");
}

#[test]
fn the_history_keeps_the_newest_ten_flows() {
    let mut w = World::default_world();
    let mut r = Run::new(OrchestratorConfig::default());
    for i in 0..13 {
        r.drive(&mut w, start(), 3);
        r.now += chrono::Duration::minutes(i + 1);
        r.drive(&mut w, Event::Abort, 1);
        assert_eq!(r.state.phase.status(), "failed");
    }
    let history = r.state.view().history;
    assert_eq!(history.len(), upgrade_orchestrator::history::MAX_HISTORY);
    assert!(history.iter().all(|h| h.result.as_str() == "aborted"));
    assert!(
        history
            .windows(2)
            .all(|p| p[0].finished_at > p[1].finished_at)
    );
}

// === maintenance windows ===

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid")
        .with_timezone(&Utc)
}

/// `sfo-m01` may upgrade components on Sundays 20:00-20:01 UTC only (t0 is Sunday 08:00).
fn windowed(window: &str) -> OrchestratorConfig {
    let mut cfg = OrchestratorConfig::default();
    cfg.windows.insert(
        "sfo-m01".into(),
        vec![upgrade_orchestrator::windows::Window::parse(window).expect("window")],
    );
    cfg
}

fn waiting_for_window(s: &FlowState) -> Option<DateTime<Utc>> {
    match &s.phase {
        Phase::StartingUpgrades {
            step: UpgradeStep::WaitingForWindow { opens_at },
            ..
        } => Some(*opens_at),
        _ => None,
    }
}

#[test]
fn outside_its_window_a_flow_downloads_and_prechecks_at_once_then_waits() {
    let mut w = World::default_world();
    let mut r = Run::new(windowed("Sun 20:00-20:01"));
    let pending = r.drive_until(&mut w, start(), |s| waiting_for_window(s).is_some());
    // Bundles, SDDC Manager (which VCF requires before the prechecks) and the prechecks ran
    // at once; no component upgrade was started.
    assert_eq!(w.check_runs, 1);
    let started: Vec<_> = w.started_upgrades.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(started, ["b-sddc"]);
    assert!(r.now < at("2026-03-01T20:00:00Z"));
    assert_eq!(
        waiting_for_window(&r.state),
        Some(at("2026-03-01T20:00:00Z"))
    );
    let view = r.state.view();
    assert_eq!(view.status, "starting_upgrades");
    assert_eq!(view.phase_detail.as_deref(), Some("waiting_for_window"));
    assert_eq!(view.next_window_start, Some(at("2026-03-01T20:00:00Z")));
    assert!(
        view.logs_markdown
            .contains("next window opens at 2026-03-01 20:00 UTC")
    );
    // The machine waits (in steps of at most five minutes) without asking VCF anything.
    let Some(Event::Tick) = pending else {
        panic!("expected a wait, got {pending:?}")
    };

    // The clock enters the window: NSX starts in it.
    // (Starting first looks for the upgrade in VCF, then posts it: the post has happened once it runs.)
    let nsx_started = |s: &FlowState| matches!(&s.phase, Phase::StartingUpgrades { step: UpgradeStep::Running { component, .. }, .. } if component == "NSX_T_MANAGER");
    let requests_before = w.started_upgrades.len();
    r.drive_until(&mut w, Event::Tick, nsx_started);
    assert!(r.now >= at("2026-03-01T20:00:00Z"), "started at {}", r.now);
    assert!(r.now < at("2026-03-01T20:01:00Z"), "started at {}", r.now);
    // Exactly that one request, made at the instant the clock reached the window.
    assert_eq!(w.started_upgrades.len(), requests_before + 1);
    assert_eq!(w.started_upgrades[requests_before].0, "b-nsx");
}

#[test]
fn a_running_component_is_never_interrupted_and_the_next_waits_for_the_next_window() {
    let mut w = World::default_world();
    // Each component takes a few polls of a minute: longer than the one-minute window.
    w.upgrade_polls = 3;
    let mut r = Run::new(windowed("Sun 20:00-20:01"));
    r.drive_until(&mut w, start(), |s| waiting_for_window(s).is_some());
    // Through the first window: NSX runs to its end although the window closed meanwhile.
    let pending = r.drive_until(&mut w, Event::Tick, |s| {
        waiting_for_window(s) == Some(at("2026-03-08T20:00:00Z"))
    });
    assert!(pending.is_some());
    let started: Vec<_> = w.started_upgrades.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(started, ["b-sddc", "b-nsx"]);
    assert!(
        !w.todo.iter().any(|u| u.bundle_id == "b-nsx"),
        "NSX finished"
    );
    assert!(r.now > at("2026-03-01T20:01:00Z"));
    assert_eq!(r.state.upgrades_done, 1);
    // A week later vCenter starts, then ESXi waits again; finally the flow completes.
    r.drive(&mut w, Event::Tick, 20_000);
    assert_eq!(
        r.statuses.last().map(String::as_str),
        Some("waiting_for_initiation")
    );
    assert!(r.statuses.contains(&"successfully_completed".to_owned()));
    let started: Vec<_> = w.started_upgrades.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(started, ["b-sddc", "b-nsx", "b-vc", "b-esx"]);
    assert!(
        r.now > at("2026-03-15T20:00:00Z"),
        "ESXi waited for the third Sunday"
    );
}

#[test]
fn windows_set_while_waiting_apply_at_once_and_stay_with_the_domain() {
    let mut w = World::default_world();
    let mut r = Run::new(windowed("Sun 20:00-20:01"));
    r.drive_until(&mut w, start(), |s| waiting_for_window(s).is_some());
    // Moved to a window that opens at 12:00 today.
    let noon = upgrade_orchestrator::windows::parse_list("Sun 12:00-13:00").expect("window");
    let t = step(
        &r.state,
        Event::SetWindows(Some(noon.clone())),
        r.now,
        &r.cfg,
    );
    assert!(t.rejected.is_none());
    assert_eq!(
        waiting_for_window(&t.state),
        Some(at("2026-03-01T12:00:00Z"))
    );
    assert_eq!(t.state.windows.as_ref(), Some(&noon));
    // Any time now: the upgradables are listed again at once.
    let t = step(&t.state, Event::SetWindows(Some(vec![])), r.now, &r.cfg);
    assert_eq!(
        t.state.view().phase_detail.as_deref(),
        Some("listing_upgradables")
    );
    assert!(
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::ListUpgradables(_)))
    );
    // The windows set from Home Assistant outlive the flow: a new Start keeps them.
    let mut done = FlowState::new(domain());
    done.windows = Some(noon.clone());
    let t = step(&done, start(), r.now, &r.cfg);
    assert_eq!(t.state.windows, Some(noon));
}

#[test]
fn a_flow_resumed_inside_its_window_continues_and_outside_it_keeps_waiting() {
    let mut w = World::default_world();
    let mut r = Run::new(windowed("Sun 20:00-20:01"));
    r.drive_until(&mut w, start(), |s| waiting_for_window(s).is_some());
    let waiting = r.state.clone();
    // Restarted before the window: still waiting, nothing asked of VCF.
    let t = step(&waiting, Event::Resumed, at("2026-03-01T19:00:00Z"), &r.cfg);
    assert_eq!(
        waiting_for_window(&t.state),
        Some(at("2026-03-01T20:00:00Z"))
    );
    assert_eq!(
        t.effects
            .iter()
            .filter(|e| e.is_action())
            .collect::<Vec<_>>(),
        [&Effect::Wait(std::time::Duration::from_secs(300))]
    );
    // Restarted inside it: the loop lists the upgradables.
    let t = step(&waiting, Event::Resumed, at("2026-03-01T20:00:30Z"), &r.cfg);
    assert!(
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::ListUpgradables(_)))
    );
    // Abort is allowed while waiting (nothing runs in VCF).
    let t = step(&waiting, Event::Abort, at("2026-03-01T19:00:00Z"), &r.cfg);
    assert!(t.rejected.is_none());
    assert_eq!(t.state.phase.status(), "failed");
}
