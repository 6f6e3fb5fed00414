//! The simulation state and how it evolves in simulated time.
//!
//! Operations (downloads, upgrades, check-set runs, validations, prechecks) store when
//! they started and their phase boundaries in simulated seconds; their status is computed
//! on read from the clock, so the state is a pure function of the requests and the time
//! they arrived. Effects that change the inventory (component and domain versions, the
//! SDDC Manager restart that invalidates tokens) are applied by [`SimState::advance`],
//! which every request and every accepted connection calls first, in time order.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::clock::{Clock, SimTime};
use crate::error::ApiError;
use crate::faults::Faults;
use crate::ids;
use crate::inventory::{BundleInfo, Inventory};
use crate::scenario::{BundleKind, FindingSpec, Scenario};
use crate::tokens::TokenStore;
use crate::version;

/// What the API answers right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiPhase {
    /// Normal answers.
    Up,
    /// Connections are closed without an answer.
    Refused,
    /// HTTP 503 with an HTML body ("pingable but not ready").
    Unready,
}

/// Generic progress of an operation, mapped to each endpoint's own status words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Not started yet (draft or queued).
    Pending,
    /// Running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with a failure.
    Failed,
}

/// One download attempt of a bundle.
#[derive(Debug, Clone, Copy)]
pub struct DownloadAttempt {
    /// Requested at.
    pub start: SimTime,
    /// `SCHEDULED` until.
    pub scheduled_until: SimTime,
    /// `IN_PROGRESS` until.
    pub end: SimTime,
    /// Ends `FAILED`.
    pub fails: bool,
}

impl DownloadAttempt {
    /// Download status words of the spec at `t`.
    pub fn status(&self, t: SimTime) -> &'static str {
        if t < self.scheduled_until {
            "SCHEDULED"
        } else if t < self.end {
            "IN_PROGRESS"
        } else if self.fails {
            "FAILED"
        } else {
            "SUCCESSFUL"
        }
    }

    /// Generic progress at `t`.
    pub fn progress(&self, t: SimTime) -> Progress {
        if t < self.end {
            Progress::Running
        } else if self.fails {
            Progress::Failed
        } else {
            Progress::Succeeded
        }
    }
}

/// What an upgrade changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The SDDC Manager appliance (with restart and API outage).
    SddcManager,
    /// An SDDC Manager drift (configuration) bundle.
    Drift,
    /// The domain's NSX Manager cluster.
    Nsx,
    /// The domain's vCenter.
    Vcenter,
    /// ESXi hosts of these clusters (indexes).
    Esx(Vec<usize>),
}

impl Target {
    /// Component name used by faults and texts.
    pub fn component(&self) -> &'static str {
        match self {
            Target::SddcManager | Target::Drift => "SDDC_MANAGER",
            Target::Nsx => "NSX_T_MANAGER",
            Target::Vcenter => "VCENTER",
            Target::Esx(_) => "ESX_HOST",
        }
    }

    fn overlaps(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Esx(a), Target::Esx(b)) => a.iter().any(|c| b.contains(c)),
            (a, b) => a == b,
        }
    }
}

/// One run of an upgrade.
#[derive(Debug, Clone, Copy)]
pub struct UpgradeAttempt {
    /// Started at.
    pub start: SimTime,
    /// `PENDING` until, then `INPROGRESS`.
    pub running_at: SimTime,
    /// Ends at (None: hangs forever).
    pub end: Option<SimTime>,
    /// Ends `COMPLETED_WITH_FAILURE`.
    pub fails: bool,
    /// SDDC Manager outage: (refused from, refused until, 503 until).
    pub outage: Option<(SimTime, SimTime, SimTime)>,
}

impl UpgradeAttempt {
    /// Generic progress at `t`.
    pub fn progress(&self, t: SimTime) -> Progress {
        if t < self.running_at {
            Progress::Pending
        } else {
            match self.end {
                Some(end) if t >= end => {
                    if self.fails {
                        Progress::Failed
                    } else {
                        Progress::Succeeded
                    }
                }
                _ => Progress::Running,
            }
        }
    }
}

/// A per-upgrade precheck (`POST /v1/upgrades/{id}/prechecks`).
#[derive(Debug, Clone)]
pub struct UpgradePrecheck {
    /// Id (also a task id).
    pub id: String,
    /// Started at.
    pub start: SimTime,
    /// Ends at.
    pub end: SimTime,
}

/// An upgrade (`POST /v1/upgrades`); its id is also its task id.
#[derive(Debug, Clone)]
pub struct Upgrade {
    /// Id.
    pub id: String,
    /// Bundle index.
    pub bundle: usize,
    /// Domain index.
    pub domain: usize,
    /// `DOMAIN`, `CLUSTER`, ...
    pub resource_type: String,
    /// Resource upgrade specs as accepted (spec fields only).
    pub resource_specs: Vec<Value>,
    /// `parallelUpgrade`.
    pub parallel: bool,
    /// What it changes.
    pub target: Target,
    /// Created at.
    pub created: SimTime,
    /// Current attempt (None while a draft).
    pub attempt: Option<UpgradeAttempt>,
    /// Effects of the current attempt applied.
    pub applied: bool,
    /// Per-upgrade prechecks.
    pub prechecks: Vec<UpgradePrecheck>,
}

impl Upgrade {
    /// Generic progress at `t`.
    pub fn progress(&self, t: SimTime) -> Progress {
        self.attempt.map_or(Progress::Pending, |a| a.progress(t))
    }

    /// The spec's `Upgrade.status` words at `t`.
    pub fn status(&self, t: SimTime) -> &'static str {
        match self.attempt {
            None => "DRAFT",
            Some(a) => match a.progress(t) {
                Progress::Pending => "PENDING",
                Progress::Running => "INPROGRESS",
                Progress::Succeeded => "COMPLETED_WITH_SUCCESS",
                Progress::Failed => "COMPLETED_WITH_FAILURE",
            },
        }
    }

    /// Running (started, not finished).
    pub fn running(&self, t: SimTime) -> bool {
        self.attempt.is_some() && matches!(self.progress(t), Progress::Pending | Progress::Running)
    }
}

/// A resource of a check-set query.
#[derive(Debug, Clone)]
pub struct QueryResource {
    /// `SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `CLUSTER`.
    pub resource_type: String,
    /// Id.
    pub id: String,
    /// Name (FQDN or cluster name).
    pub name: String,
    /// Current version.
    pub version: String,
    /// Domain index.
    pub domain: usize,
    /// Target version given in the query.
    pub target_version: Option<String>,
}

/// A check-set query result.
#[derive(Debug, Clone)]
pub struct CheckQuery {
    /// Query id.
    pub id: String,
    /// Resources found.
    pub resources: Vec<QueryResource>,
}

/// A check-set run.
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// Run id (= task id).
    pub id: String,
    /// Domains covered (indexes).
    pub domains: Vec<usize>,
    /// Resources checked.
    pub resources: Vec<QueryResource>,
    /// Started at.
    pub start: SimTime,
    /// Ends at.
    pub end: SimTime,
    /// Findings it reports.
    pub findings: Vec<FindingSpec>,
    /// `metadata.targetVersion` when given.
    pub target_version: Option<String>,
}

/// A domain release validation.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Id.
    pub id: String,
    /// Domain index.
    pub domain: usize,
    /// Validated target version.
    pub version: String,
    /// Started at.
    pub start: SimTime,
    /// Ends at.
    pub end: SimTime,
    /// How it ends.
    pub outcome: ValidationOutcome,
}

/// How a domain release validation ends. Spec `Validation.resultStatus` is the "result status of
/// the validation after it has completed its execution": a validation that ran to the end
/// (`executionStatus` `COMPLETED`) can still have failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationOutcome {
    /// `SUCCEEDED`.
    Succeeded,
    /// `FAILED`, with an `ERROR` check that failed.
    Failed,
    /// `FAILED_WITH_WARNINGS` (the 9.0.2 spec names it `WARNING`), with a `WARNING` check.
    Warnings,
}

impl ValidationOutcome {
    /// `resultStatus` as an SDDC Manager of `version` writes it.
    pub fn result_status(self, version: &str) -> &'static str {
        match self {
            ValidationOutcome::Succeeded => "SUCCEEDED",
            ValidationOutcome::Failed => "FAILED",
            // 5.2.1 spec: FAILED_WITH_WARNINGS; 9.0.2 spec: WARNING.
            ValidationOutcome::Warnings if version.starts_with('9') => "WARNING",
            ValidationOutcome::Warnings => "FAILED_WITH_WARNINGS",
        }
    }
}

/// What a task tracks.
#[derive(Debug, Clone)]
pub enum TaskKind {
    /// A bundle download attempt.
    Download {
        /// Bundle index.
        bundle: usize,
        /// The attempt.
        attempt: DownloadAttempt,
    },
    /// An upgrade (index).
    Upgrade(usize),
    /// A check-set run (index).
    CheckRun(usize),
    /// A per-upgrade precheck: (upgrade index, precheck index).
    Precheck(usize, usize),
    /// An SDDC Manager backup (Back Up Now) that ends at this simulated time.
    Backup {
        /// End.
        end: SimTime,
    },
    /// A task from before the simulation started (scenario history): its wall-clock times,
    /// and, once retried, when the retry started.
    Past {
        /// Created at.
        created: chrono::DateTime<chrono::Utc>,
        /// Completed at.
        completed: chrono::DateTime<chrono::Utc>,
        /// Failed (else successful).
        failed: bool,
        /// `isRetryable`.
        retryable: bool,
        /// When a retry started.
        retried_at: Option<SimTime>,
    },
}

/// How long a retried history task runs (simulated seconds) (inferred).
pub const PAST_RETRY_SECS: SimTime = 120.0;

/// A password expiration check (`POST /v1/credentials/expirations`).
#[derive(Debug, Clone)]
pub struct ExpirationCheck {
    /// Id.
    pub id: String,
    /// Resource type checked.
    pub resource_type: String,
    /// Started at.
    pub created: SimTime,
}

/// How long a password expiration check runs (simulated seconds) (inferred).
pub const EXPIRATION_CHECK_SECS: SimTime = 2.0;

/// A task of `GET /v1/tasks`.
#[derive(Debug, Clone)]
pub struct Task {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type (`BUNDLE_DOWNLOAD`, `UPGRADE`, ...).
    pub task_type: String,
    /// Created at.
    pub created: SimTime,
    /// What it tracks.
    pub kind: TaskKind,
}

/// A vLCM image imported into SDDC Manager.
#[derive(Debug, Clone)]
pub struct Personality {
    /// `personalityId`.
    pub id: String,
    /// `personalityName`.
    pub name: String,
    /// ESXi base image version.
    pub esxi_version: String,
    /// When it was imported.
    pub imported: SimTime,
}

/// One request of the request log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Endpoint template (`GET /v1/domains/{id}`).
    pub endpoint: String,
    /// HTTP status.
    pub status: u16,
    /// Wall-clock time (ISO).
    pub at: String,
    /// JSON body of a write (`None` for reads, the token endpoints and non-JSON bodies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// Everything the simulator knows.
#[derive(Debug)]
pub struct SimState {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// The clock.
    pub clock: Clock,
    /// Inventory (versions change as upgrades complete).
    pub inv: Inventory,
    /// Issued tokens.
    pub tokens: TokenStore,
    /// Faults in force.
    pub faults: Faults,
    /// Current download attempt per bundle index.
    pub downloads: Vec<Option<DownloadAttempt>>,
    /// Download attempts per bundle id.
    pub download_attempts: HashMap<String, u32>,
    /// Upgrade attempts per component.
    pub component_attempts: HashMap<String, u32>,
    /// Upgrades.
    pub upgrades: Vec<Upgrade>,
    /// Check-set queries.
    pub queries: Vec<CheckQuery>,
    /// Check-set runs.
    pub runs: Vec<CheckRun>,
    /// Validations.
    pub validations: Vec<Validation>,
    /// Tasks, oldest first.
    pub tasks: Vec<Task>,
    /// vLCM images (`GET /v1/personalities`).
    pub personalities: Vec<Personality>,
    /// Request log.
    pub log: Vec<LogEntry>,
    /// Requests per endpoint template.
    pub counts: BTreeMap<String, u64>,
    /// A 9.x SDDC Manager restarted and has not answered an upgradables request since: its
    /// inventory cache is not seeded yet (the next one answers 409).
    pub inventory_unseeded: bool,
    /// Password expiration checks.
    pub expiration_checks: Vec<ExpirationCheck>,
    /// 9.x notifications, oldest first: the scenario's, then those posted to
    /// `/sim/notifications`.
    pub notifications: Vec<SimNotification>,
}

/// A notification and when it was created (wall clock).
#[derive(Debug, Clone)]
pub struct SimNotification {
    /// What the scenario (or the test) said.
    pub spec: crate::scenario::NotificationSpec,
    /// Creation time.
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Bound of the request log (oldest entries dropped first).
const MAX_LOG: usize = 100_000;

/// An upgradable: one step of the domain's way to a target version.
#[derive(Debug, Clone)]
pub struct Step {
    /// Bundle index.
    pub bundle: usize,
    /// What it changes.
    pub target: Target,
    /// `AVAILABLE`, `PENDING` or `IN_PROGRESS`.
    pub status: &'static str,
}

impl SimState {
    /// Fresh state for a scenario.
    pub fn new(scenario: Arc<Scenario>, time_scale: f64) -> SimState {
        let inv = Inventory::build(&scenario);
        let clock = Clock::new(time_scale);
        let personalities = scenario
            .personalities
            .iter()
            .map(|p| Personality {
                id: ids::stable(scenario.seed, &format!("personality/{}", p.name)),
                name: p.name.clone(),
                esxi_version: p.esxi_version.clone(),
                imported: clock.now(),
            })
            .collect();
        let faults = Faults::from_spec(&scenario.faults, scenario.seed);
        SimState {
            downloads: vec![None; inv.bundles.len()],
            inv,
            faults,
            clock,
            personalities,
            tokens: TokenStore::default(),
            download_attempts: HashMap::new(),
            component_attempts: HashMap::new(),
            upgrades: Vec::new(),
            queries: Vec::new(),
            runs: Vec::new(),
            validations: Vec::new(),
            tasks: Vec::new(),
            log: Vec::new(),
            counts: BTreeMap::new(),
            inventory_unseeded: false,
            expiration_checks: Vec::new(),
            notifications: Vec::new(),
            scenario,
        }
        .with_history()
    }

    /// Seeds the task history the scenario describes: the last successful backup and the
    /// failed tasks, at wall-clock times before the start.
    fn with_history(mut self) -> Self {
        let start = self.clock.utc_at(0.0);
        let hours = |h: f64| chrono::Duration::milliseconds((h * 3_600_000.0) as i64);
        let r = self.scenario.readiness.clone();
        if let Some(h) = r.last_backup_hours_ago {
            let completed = start - hours(h);
            self.tasks.push(Task {
                id: crate::ids::stable(self.scenario.seed, "backup-history"),
                name: "SDDC Manager backup".into(),
                task_type: crate::routes::readiness::BACKUP_TASK_TYPE.into(),
                created: 0.0,
                kind: TaskKind::Past {
                    created: completed - chrono::Duration::minutes(10),
                    completed,
                    failed: false,
                    retryable: false,
                    retried_at: None,
                },
            });
        }
        for n in &r.notifications {
            self.notifications.push(SimNotification {
                spec: n.clone(),
                created: start - hours(n.hours_ago),
            });
        }
        for (i, f) in r.failed_tasks.iter().enumerate() {
            let completed = start - hours(f.hours_ago);
            self.tasks.push(Task {
                id: crate::ids::stable(self.scenario.seed, &format!("failed-task-{i}")),
                name: f.name.clone(),
                task_type: f.task_type.clone(),
                created: 0.0,
                kind: TaskKind::Past {
                    created: completed - chrono::Duration::minutes(15),
                    completed,
                    failed: true,
                    retryable: f.retryable,
                    retried_at: None,
                },
            });
        }
        self
    }

    /// Adds a notification created `hours_ago` before now.
    pub fn add_notification(&mut self, spec: crate::scenario::NotificationSpec) {
        let now = self.clock.utc_at(self.clock.now());
        let created = now - chrono::Duration::milliseconds((spec.hours_ago * 3_600_000.0) as i64);
        self.notifications.push(SimNotification { spec, created });
    }

    /// Whether the SDDC Manager runs VCF 9.x (answers take the 9.0.2 spec's shapes).
    pub fn vcf9(&self) -> bool {
        version::major(&self.inv.sddc.version) >= 9
    }

    /// The 409 a 9.x SDDC Manager answers once after a restart, while its inventory cache is
    /// not seeded; clears the condition.
    ///
    /// Source: spec 9.0.2 `GET /v1/system/upgradables` documents `409` ("Conflict", an
    /// `Error`), described as "inventory cache is not seeded" in the 9.0 differences
    /// (ENDPOINTS.md §11). Answering it on `/v1/upgradables/domains/{id}` too is inferred
    /// (docs/simulator.md).
    pub fn take_unseeded_inventory(&mut self) -> Option<ApiError> {
        if !std::mem::take(&mut self.inventory_unseeded) {
            return None;
        }
        Some(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "INVENTORY_CACHE_NOT_SEEDED",
            "The inventory cache is not seeded yet; retry in a moment",
        ))
    }

    /// Refuses a vCenter **major** upgrade (target major above the current one, 8 → 9) whose
    /// `UpgradeSpec` carries no `vcenterUpgradeUserInputSpecs[].temporaryNetwork`.
    ///
    /// Source: spec 9.0.2 `UpgradeSpec.vcenterUpgradeUserInputSpecs` ("User Input for vCenter
    /// upgrade"), whose `VcenterUpgradeUserInputSpec` requires `temporaryNetwork`; `400` with
    /// an `Error` is documented for `performUpgrade`. That only major upgrades need it
    /// (patches keep the appliance) is inferred (docs/simulator.md).
    ///
    /// # Errors
    /// The 400 `Error` naming the missing field.
    pub fn check_vcenter_input(
        &self,
        bundle_id: &str,
        domain_id: &str,
        spec: &Value,
    ) -> Result<(), ApiError> {
        let (Some(b), Some(di)) = (
            self.bundle_index(bundle_id),
            self.inv.domain_index(domain_id),
        ) else {
            return Ok(());
        };
        let bundle = &self.inv.bundles[b];
        let current = &self.inv.domains[di].vc_version;
        if bundle.component != "VCENTER"
            || version::major(&bundle.version) <= version::major(current)
        {
            return Ok(());
        }
        let has_network = spec
            .get("vcenterUpgradeUserInputSpecs")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .any(|i| i.get("temporaryNetwork").is_some_and(Value::is_object))
            });
        if has_network {
            return Ok(());
        }
        Err(ApiError::bad_request(
            "VCENTER_UPGRADE_TEMPORARY_NETWORK_REQUIRED",
            format!(
                "vCenter upgrade from {current} to {} needs vcenterUpgradeUserInputSpecs with a temporaryNetwork",
                bundle.version
            ),
        )
        .with_args(&[bundle_id])
        .with_remediation(
            "Provide vcenterUpgradeUserInputSpecs[].temporaryNetwork (ipAddress, subnetMask, gateway)",
        ))
    }

    /// Simulated now.
    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// Timing of the scenario.
    pub fn timing(&self) -> &crate::scenario::Timing {
        &self.scenario.timing
    }

    /// Applies every effect due by now, in time order.
    pub fn advance(&mut self) {
        let t = self.now();
        loop {
            let next = self
                .upgrades
                .iter()
                .enumerate()
                .filter(|(_, u)| !u.applied)
                .filter_map(|(i, u)| u.attempt.and_then(|a| a.end).map(|e| (i, e)))
                .filter(|(_, e)| *e <= t)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((i, _)) = next else { break };
            self.apply_upgrade(i);
        }
        if let Some(o) = self.faults.outage
            && o.unready_until <= t
        {
            if o.restart {
                self.tokens.restart();
            }
            self.faults.outage = None;
        }
    }

    fn apply_upgrade(&mut self, i: usize) {
        let u = &mut self.upgrades[i];
        u.applied = true;
        let fails = u.attempt.is_some_and(|a| a.fails);
        let domain = u.domain;
        let target = u.target.clone();
        let bundle = self.inv.bundles[u.bundle].clone();
        if fails {
            // Hosts finished before the failure keep their new version.
            if let Target::Esx(_) = target {
                let done: Vec<usize> = self
                    .esx_sequence(i)
                    .into_iter()
                    .filter(|&(_, done_at)| {
                        self.upgrades[i]
                            .attempt
                            .and_then(|a| a.end)
                            .is_some_and(|end| done_at <= end)
                    })
                    .map(|(h, _)| h)
                    .collect();
                for h in done {
                    self.inv.hosts[h].esxi_version = bundle.version.clone();
                }
            }
            self.inv.domains[domain].upgrade_failed = true;
            return;
        }
        self.inv.domains[domain].upgrade_failed = false;
        match target {
            Target::SddcManager => {
                self.inv.sddc.version = bundle.version.clone();
                // The appliance rebooted: tokens issued before are no longer valid.
                self.tokens.restart();
                self.inventory_unseeded = self.vcf9();
            }
            Target::Drift => self.inv.sddc.applied_drift.push(bundle.id.clone()),
            Target::Nsx => self.inv.domains[domain].nsx_version = bundle.version.clone(),
            Target::Vcenter => self.inv.domains[domain].vc_version = bundle.version.clone(),
            Target::Esx(clusters) => {
                for c in clusters {
                    for h in self.inv.clusters[c].hosts.clone() {
                        self.inv.hosts[h].esxi_version = bundle.version.clone();
                    }
                }
            }
        }
        self.inv.recompute_domain_versions();
    }

    /// Hosts of an ESXi upgrade in upgrade order, with the simulated time each is done
    /// (hosts go one after the other).
    fn esx_sequence(&self, ui: usize) -> Vec<(usize, SimTime)> {
        let u = &self.upgrades[ui];
        let (Target::Esx(clusters), Some(a)) = (&u.target, u.attempt) else {
            return Vec::new();
        };
        let per = self.scenario.timing.esx_per_host.secs();
        clusters
            .iter()
            .flat_map(|&c| self.inv.clusters[c].hosts.iter().copied())
            .enumerate()
            .map(|(i, h)| (h, a.running_at + per * (i + 1) as f64))
            .collect()
    }

    /// A host's ESXi version now: hosts of a running ESXi upgrade switch one by one.
    pub fn host_version(&self, h: usize) -> String {
        let t = self.now();
        let cluster = self.inv.hosts[h].cluster;
        for (ui, u) in self.upgrades.iter().enumerate() {
            let covers = matches!(&u.target, Target::Esx(c) if c.contains(&cluster));
            if u.applied || !covers {
                continue;
            }
            let end = u.attempt.and_then(|a| a.end).unwrap_or(f64::INFINITY);
            let done = self
                .esx_sequence(ui)
                .iter()
                .any(|&(x, done_at)| x == h && done_at <= t && done_at <= end);
            if done {
                return self.inv.bundles[u.bundle].version.clone();
            }
        }
        self.inv.hosts[h].esxi_version.clone()
    }

    /// What the API answers now (advances the state first).
    pub fn api_phase(&mut self) -> ApiPhase {
        self.advance();
        let t = self.now();
        if self.faults.unreachable {
            return ApiPhase::Refused;
        }
        if let Some(o) = self.faults.outage {
            if t < o.refused_until {
                return ApiPhase::Refused;
            }
            if t < o.unready_until {
                return ApiPhase::Unready;
            }
        }
        for u in &self.upgrades {
            if let Some((from, refused_until, unready_until)) = u.attempt.and_then(|a| a.outage) {
                if t >= from && t < refused_until {
                    return ApiPhase::Refused;
                }
                if t >= refused_until && t < unready_until {
                    return ApiPhase::Unready;
                }
            }
        }
        ApiPhase::Up
    }

    /// Records a request in the log and the per-endpoint counts.
    pub fn record(&mut self, entry: LogEntry) {
        *self.counts.entry(entry.endpoint.clone()).or_insert(0) += 1;
        if self.log.len() >= MAX_LOG {
            self.log.drain(..MAX_LOG / 10);
        }
        self.log.push(entry);
    }

    // === downloads ===

    /// Download status words of a bundle now.
    pub fn download_status(&self, b: usize) -> &'static str {
        match &self.downloads[b] {
            Some(a) => a.status(self.now()),
            None if self.inv.bundles[b].initially_downloaded => "SUCCESSFUL",
            None => "PENDING",
        }
    }

    /// Index of a listed bundle by id.
    pub fn bundle_index(&self, id: &str) -> Option<usize> {
        self.inv
            .bundles
            .iter()
            .position(|b| b.id == id && self.inv.bundle_visible(b))
    }

    /// Starts a download (`PATCH /v1/bundles/{id}`); returns the task index.
    ///
    /// # Errors
    /// 409 when the bundle is already downloading or downloaded.
    pub fn start_download(&mut self, b: usize, at: Option<SimTime>) -> Result<usize, ApiError> {
        let status = self.download_status(b);
        let info: &BundleInfo = &self.inv.bundles[b];
        match status {
            // Source: spec `startBundleDownloadByID` 409 "Conflict" ("Only one download can
            // triggered for a Bundle").
            "SCHEDULED" | "IN_PROGRESS" => {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "BUNDLE_DOWNLOAD_ALREADY_IN_PROGRESS",
                    format!("Only one download can be triggered for a Bundle: bundle {} is already being downloaded", info.id),
                )
                .with_args(&[&info.id]));
            }
            // Source: spec 409, for a bundle already downloaded (inferred reading of the same
            // conflict, ENDPOINTS.md §12 "a bundle can be downloaded only once").
            "SUCCESSFUL" => {
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "BUNDLE_ALREADY_DOWNLOADED",
                    format!("Bundle {} is already downloaded", info.id),
                )
                .with_args(&[&info.id]));
            }
            _ => {}
        }
        let attempt = self.new_download_attempt(b, at);
        let id = ids::fresh();
        let name = format!(
            "Bundle download: {} {}",
            crate::inventory::public_name(&self.inv.bundles[b].component),
            self.inv.bundles[b].version
        );
        let created = self.now();
        self.tasks.push(Task {
            id,
            name,
            task_type: "BUNDLE_DOWNLOAD".into(),
            created,
            kind: TaskKind::Download { bundle: b, attempt },
        });
        Ok(self.tasks.len() - 1)
    }

    fn new_download_attempt(&mut self, b: usize, at: Option<SimTime>) -> DownloadAttempt {
        let now = self.now();
        let start = at.map_or(now, |a| a.max(now));
        let info = &self.inv.bundles[b];
        let n = self.download_attempts.entry(info.id.clone()).or_insert(0);
        *n += 1;
        let fails = self.faults.download_fails(&info.id, &info.component)
            && *n <= self.faults.download_fail_attempts;
        let timing = &self.scenario.timing;
        let scheduled_until = start + timing.download_scheduled.secs();
        let transfer = info.size_mb / timing.download_mb_per_sec;
        let end = scheduled_until + if fails { transfer * 0.4 } else { transfer };
        let attempt = DownloadAttempt {
            start,
            scheduled_until,
            end,
            fails,
        };
        self.downloads[b] = Some(attempt);
        attempt
    }

    /// Cancels a running download (back to `PENDING`).
    pub fn cancel_download(&mut self, b: usize) {
        let t = self.now();
        if self.downloads[b].is_some_and(|a| a.progress(t) == Progress::Running) {
            self.downloads[b] = None;
        }
    }

    // === upgradables ===

    /// Whether any SDDC Manager upgrade is running.
    fn sddc_running(&self, t: SimTime) -> Option<&Upgrade> {
        self.upgrades
            .iter()
            .find(|u| matches!(u.target, Target::SddcManager | Target::Drift) && u.running(t))
    }

    /// Visible non-fallback bundle of a release for a component and kind.
    fn release_bundle(&self, release: &str, component: &str, kind: BundleKind) -> Option<usize> {
        self.inv.bundles.iter().position(|b| {
            b.release == release
                && b.component == component
                && b.kind == kind
                && self.inv.bundle_visible(b)
        })
    }

    /// The upgradables of a domain for a target version, in VCF's order, with only one
    /// `AVAILABLE` at a time.
    pub fn steps(&self, di: usize, target_version: &str) -> Vec<Step> {
        let t = self.now();
        let Some(release) = self.inv.release(target_version) else {
            return Vec::new();
        };
        let d = &self.inv.domains[di];
        let mut raw: Vec<(usize, Target)> = Vec::new();
        let needs =
            |have: &str, want: Option<&str>| want.is_some_and(|w| version::cmp(have, w).is_lt());
        let sddc_want = release.bom_version("SDDC_MANAGER_VCF");
        if needs(&self.inv.sddc.version, sddc_want) {
            if let Some(b) =
                self.release_bundle(&release.version, "SDDC_MANAGER", BundleKind::Upgrade)
            {
                raw.push((b, Target::SddcManager));
            }
        } else {
            for (b, info) in self.inv.bundles.iter().enumerate() {
                if info.release == release.version
                    && info.kind == BundleKind::Drift
                    && self.inv.bundle_visible(info)
                    && !self.inv.sddc.applied_drift.contains(&info.id)
                {
                    raw.push((b, Target::Drift));
                }
            }
        }
        if needs(&d.nsx_version, release.bom_version("NSX_T_MANAGER"))
            && let Some(b) =
                self.release_bundle(&release.version, "NSX_T_MANAGER", BundleKind::Upgrade)
        {
            raw.push((b, Target::Nsx));
        }
        if needs(&d.vc_version, release.bom_version("VCENTER"))
            && let Some(b) = self.release_bundle(&release.version, "VCENTER", BundleKind::Upgrade)
        {
            raw.push((b, Target::Vcenter));
        }
        if let Some(b) = self.release_bundle(&release.version, "ESX_HOST", BundleKind::Upgrade) {
            let want = release.bom_version("ESX_HOST");
            for &c in &d.clusters {
                let outdated = self.inv.clusters[c]
                    .hosts
                    .iter()
                    .any(|&h| needs(&self.inv.hosts[h].esxi_version, want));
                if outdated {
                    raw.push((b, Target::Esx(vec![c])));
                }
            }
        }

        let sddc_running = self.sddc_running(t);
        let domain_running: Vec<&Upgrade> = self
            .upgrades
            .iter()
            .filter(|u| u.domain == di && u.running(t))
            .collect();
        let mut offered = false;
        raw.into_iter()
            .map(|(bundle, target)| {
                let in_progress = sddc_running.is_some_and(|u| u.bundle == bundle)
                    || domain_running
                        .iter()
                        .any(|u| u.bundle == bundle && u.target.overlaps(&target));
                let status = if in_progress {
                    offered = true;
                    "IN_PROGRESS"
                } else if offered || sddc_running.is_some() || !domain_running.is_empty() {
                    "PENDING"
                } else {
                    offered = true;
                    "AVAILABLE"
                };
                Step {
                    bundle,
                    target,
                    status,
                }
            })
            .collect()
    }

    // === upgrades ===

    /// Starts an upgrade from a validated spec; returns the upgrade index.
    ///
    /// # Errors
    /// 400 for an unknown bundle or resource, a bundle that is not downloaded or a domain
    /// without target version; 403 when no matching upgradable is `AVAILABLE`.
    pub fn start_upgrade(
        &mut self,
        bundle_id: &str,
        resource_type: &str,
        resource_specs: Vec<Value>,
        parallel: bool,
        draft: bool,
    ) -> Result<usize, ApiError> {
        // Source: spec `performUpgrade` documents 400 (no 404) for a bad `UpgradeSpec`.
        let b = self.bundle_index(bundle_id).ok_or_else(|| {
            ApiError::bad_request("BUNDLE_NOT_FOUND", format!("Bundle {bundle_id} not found"))
                .with_args(&[bundle_id])
        })?;
        let ids: Vec<String> = resource_specs
            .iter()
            .filter_map(|r| {
                r.get("resourceId")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        let first = ids.first().cloned().unwrap_or_default();
        let (di, clusters): (usize, Vec<usize>) = match resource_type {
            "CLUSTER" => {
                let cls: Vec<usize> = ids
                    .iter()
                    .filter_map(|id| self.inv.clusters.iter().position(|c| &c.id == id))
                    .collect();
                // Source: spec 400 of `performUpgrade`: `resourceId` names the resource.
                if cls.len() != ids.len() || cls.is_empty() {
                    return Err(ApiError::bad_request(
                        "UPGRADE_SPEC_INVALID_RESOURCE",
                        format!(
                            "Unknown cluster in resourceUpgradeSpecs: {}",
                            ids.join(", ")
                        ),
                    ));
                }
                (self.inv.clusters[cls[0]].domain, cls)
            }
            "DOMAIN" => {
                // Source: spec 400 of `performUpgrade`: `resourceId` names the resource.
                let di = self.inv.domain_index(&first).ok_or_else(|| {
                    ApiError::bad_request(
                        "UPGRADE_SPEC_INVALID_RESOURCE",
                        format!("Domain {first} not found"),
                    )
                    .with_args(&[&first])
                })?;
                (di, Vec::new())
            }
            // Source: spec 400; `UpgradeSpec.resourceType` is "One among: DOMAIN, CLUSTER,
            // UNASSIGNED_HOST" and the simulator has no unassigned hosts.
            other => {
                return Err(ApiError::bad_request(
                    "UPGRADE_SPEC_INVALID_RESOURCE_TYPE",
                    format!("Resource type {other} is not supported for this bundle"),
                ));
            }
        };
        self.check_cluster_images(&clusters, &resource_specs)?;
        // Source: vendor doc (target upgrade version guide): without a target version there
        // are no upgradables, so nothing to upgrade; spec 400.
        let Some(target_version) = self.inv.domains[di].target.clone() else {
            return Err(ApiError::bad_request(
                "DOMAIN_TARGET_VERSION_NOT_SET",
                format!(
                    "No target version is set for domain {}",
                    self.inv.domains[di].name
                ),
            )
            .with_remediation(
                "Set the target version with PATCH /v1/releases/domains/{domainId}",
            ));
        };
        let steps = self.steps(di, &target_version);
        let available = steps
            .iter()
            .find(|s| s.bundle == b && s.status == "AVAILABLE")
            .cloned();
        // Source: spec `performUpgrade` 403 "Operation not allowed", and "Only one
        // Upgradable becomes AVAILABLE" (spec `/v1/system/upgradables`).
        let Some(step) = available else {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "UPGRADE_NOT_ALLOWED",
                format!(
                    "Operation not allowed: bundle {bundle_id} is not an available upgradable for domain {}",
                    self.inv.domains[di].name
                ),
            )
            .with_args(&[bundle_id]));
        };
        // Source: spec 400 of `performUpgrade`; the vendor's upgrade flow downloads the
        // bundle first (ENDPOINTS.md §9, observed in PowerVCF and Gary Blake's scripts).
        if self.download_status(b) != "SUCCESSFUL" {
            return Err(ApiError::bad_request(
                "UPGRADE_BUNDLE_NOT_DOWNLOADED",
                format!("Bundle {bundle_id} is not downloaded"),
            )
            .with_args(&[bundle_id])
            .with_remediation("Download the bundle with PATCH /v1/bundles/{id} first"));
        }
        let target = match step.target {
            Target::Esx(_) => {
                // A DOMAIN-level ESXi upgrade takes every outdated cluster of the domain;
                // a CLUSTER-level one the listed clusters that still need it.
                let outdated: Vec<usize> = steps
                    .iter()
                    .filter(|s| s.bundle == b)
                    .filter_map(|s| match &s.target {
                        Target::Esx(c) => c.first().copied(),
                        _ => None,
                    })
                    .collect();
                let chosen: Vec<usize> = if clusters.is_empty() {
                    outdated
                } else {
                    clusters
                        .into_iter()
                        .filter(|c| outdated.contains(c))
                        .collect()
                };
                // Source: spec 400 of `performUpgrade`: the listed clusters are the resources.
                if chosen.is_empty() {
                    return Err(ApiError::bad_request(
                        "UPGRADE_SPEC_INVALID_RESOURCE",
                        "None of the listed clusters needs this bundle",
                    ));
                }
                Target::Esx(chosen)
            }
            other => other,
        };
        let id = ids::fresh();
        let created = self.now();
        self.upgrades.push(Upgrade {
            id: id.clone(),
            bundle: b,
            domain: di,
            resource_type: resource_type.to_string(),
            resource_specs,
            parallel,
            target,
            created,
            attempt: None,
            applied: false,
            prechecks: Vec::new(),
        });
        let ui = self.upgrades.len() - 1;
        if !draft {
            self.run_upgrade(ui);
        }
        let name = self.upgrade_name(ui);
        self.tasks.push(Task {
            id,
            name,
            task_type: "UPGRADE".into(),
            created,
            kind: TaskKind::Upgrade(ui),
        });
        Ok(ui)
    }

    /// Human name of an upgrade.
    pub fn upgrade_name(&self, ui: usize) -> String {
        let u = &self.upgrades[ui];
        let b = &self.inv.bundles[u.bundle];
        let what = match &u.target {
            Target::SddcManager => "SDDC Manager".to_string(),
            Target::Drift => "SDDC Manager configuration drift".to_string(),
            Target::Nsx => format!("NSX of {}", self.inv.domains[u.domain].name),
            Target::Vcenter => format!("vCenter of {}", self.inv.domains[u.domain].name),
            Target::Esx(c) => format!(
                "ESXi hosts of {}",
                c.iter()
                    .map(|&c| self.inv.clusters[c].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("Upgrade of {what} to {}", b.version)
    }

    /// Starts (or restarts) an upgrade's attempt now.
    pub fn run_upgrade(&mut self, ui: usize) {
        let now = self.now();
        let timing = self.scenario.timing.clone();
        let component = self.upgrades[ui].target.component();
        let n = self
            .component_attempts
            .entry(component.to_string())
            .or_insert(0);
        *n += 1;
        let fails = self.faults.component_fails(component) && *n <= self.faults.fail_attempts;
        let hangs = !fails && self.faults.component_hangs(component);
        let u = &self.upgrades[ui];
        let running_at = now + timing.upgrade_pending.secs();
        let work = match &u.target {
            Target::SddcManager => {
                timing.sddc_manager_staging.secs() + timing.outage.secs() + timing.unready.secs()
            }
            Target::Drift => timing.drift_upgrade.secs(),
            Target::Nsx => timing.nsx_upgrade.secs(),
            Target::Vcenter => timing.vcenter_upgrade.secs(),
            Target::Esx(c) => {
                let hosts: usize = c.iter().map(|&c| self.inv.clusters[c].hosts.len()).sum();
                timing.esx_per_host.secs() * hosts.max(1) as f64
            }
        };
        let (end, outage) = if fails {
            // Fails part-way; an SDDC Manager failure happens while staging, before the
            // appliance restarts.
            let part = if u.target == Target::SddcManager {
                timing.sddc_manager_staging.secs() * 0.5
            } else {
                work * 0.6
            };
            (Some(running_at + part), None)
        } else if hangs {
            (None, None)
        } else {
            let outage = (u.target == Target::SddcManager).then(|| {
                let from = running_at + timing.sddc_manager_staging.secs();
                let refused_until = from + timing.outage.secs();
                (from, refused_until, refused_until + timing.unready.secs())
            });
            (Some(running_at + work), outage)
        };
        let u = &mut self.upgrades[ui];
        u.attempt = Some(UpgradeAttempt {
            start: now,
            running_at,
            end,
            fails,
            outage,
        });
        u.applied = false;
    }

    /// Retries a failed task (`PATCH /v1/tasks/{id}`).
    ///
    /// The refusal is the spec's (5.2.1 and 9.0.2 `retryTask`: 409 "Task can not be retried.
    /// Only a failed Task can be retried."). Which failed tasks are retryable (upgrades and
    /// bundle downloads, `isRetryable` in `task_json`) is inferred from VMware's KB fixes that
    /// end with a task Retry (e.g. KB 429115 for an ESXi upgrade).
    ///
    /// # Errors
    /// 409 when the task has not failed.
    pub fn retry_task(&mut self, ti: usize) -> Result<(), ApiError> {
        // Source: spec `retryTask` 409 "Task can not be retried. Only a failed Task can be
        // retried."
        if self.task_progress(ti) != Progress::Failed {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "TASK_NOT_RETRYABLE",
                "Only a failed Task can be retried",
            )
            .with_args(&[&self.tasks[ti].id]));
        }
        let now = self.now();
        match self.tasks[ti].kind.clone() {
            TaskKind::Past {
                retryable: false, ..
            } => {
                // Source: spec `retryTask` 409 "Task can not be retried"; `isRetryable` false.
                return Err(ApiError::new(
                    axum::http::StatusCode::CONFLICT,
                    "TASK_NOT_RETRYABLE",
                    "This task can not be retried",
                )
                .with_args(&[&self.tasks[ti].id]));
            }
            TaskKind::Past {
                created,
                completed,
                failed,
                retryable,
                ..
            } => {
                self.tasks[ti].kind = TaskKind::Past {
                    created,
                    completed,
                    failed,
                    retryable,
                    retried_at: Some(now),
                };
            }
            TaskKind::Upgrade(ui) => self.run_upgrade(ui),
            TaskKind::Download { bundle, .. } => {
                let attempt = self.new_download_attempt(bundle, None);
                self.tasks[ti].kind = TaskKind::Download { bundle, attempt };
            }
            TaskKind::CheckRun(_) | TaskKind::Precheck(..) | TaskKind::Backup { .. } => {}
        }
        Ok(())
    }

    // === tasks ===

    /// Generic progress of a task now.
    pub fn task_progress(&self, ti: usize) -> Progress {
        let t = self.now();
        match &self.tasks[ti].kind {
            TaskKind::Download { attempt, .. } => attempt.progress(t),
            TaskKind::Upgrade(ui) => self.upgrades[*ui].progress(t),
            TaskKind::CheckRun(ri) => {
                if t < self.runs[*ri].end {
                    Progress::Running
                } else {
                    Progress::Succeeded
                }
            }
            TaskKind::Precheck(ui, pi) => {
                if t < self.upgrades[*ui].prechecks[*pi].end {
                    Progress::Running
                } else {
                    Progress::Succeeded
                }
            }
            TaskKind::Backup { end } if t < *end => Progress::Running,
            TaskKind::Backup { .. } => Progress::Succeeded,
            TaskKind::Past {
                retried_at: Some(r),
                ..
            } if t < r + PAST_RETRY_SECS => Progress::Running,
            TaskKind::Past {
                retried_at: Some(_),
                ..
            }
            | TaskKind::Past { failed: false, .. } => Progress::Succeeded,
            TaskKind::Past { .. } => Progress::Failed,
        }
    }

    /// Completion time of a finished task.
    pub fn task_end(&self, ti: usize) -> Option<SimTime> {
        let t = self.now();
        let end = match &self.tasks[ti].kind {
            TaskKind::Download { attempt, .. } => Some(attempt.end),
            TaskKind::Upgrade(ui) => self.upgrades[*ui].attempt.and_then(|a| a.end),
            TaskKind::CheckRun(ri) => Some(self.runs[*ri].end),
            TaskKind::Precheck(ui, pi) => Some(self.upgrades[*ui].prechecks[*pi].end),
            TaskKind::Backup { end } => Some(*end),
            TaskKind::Past {
                retried_at: Some(r),
                ..
            } => Some(r + PAST_RETRY_SECS),
            // Ended before the start; `task_json` shows its own wall-clock times.
            TaskKind::Past { .. } => Some(0.0),
        }?;
        (end <= t).then_some(end)
    }

    /// Index of a task by id.
    pub fn task_index(&self, id: &str) -> Option<usize> {
        self.tasks.iter().position(|t| t.id == id)
    }

    // === check-sets ===

    /// The check-set resources of a domain.
    pub fn domain_check_resources(&self, di: usize) -> Vec<QueryResource> {
        let d = &self.inv.domains[di];
        let mut out = Vec::new();
        if d.domain_type == "MANAGEMENT" {
            out.push(QueryResource {
                resource_type: "SDDC_MANAGER".into(),
                id: self.inv.sddc.id.clone(),
                name: self.inv.sddc.fqdn.clone(),
                version: self.inv.sddc.version.clone(),
                domain: di,
                target_version: None,
            });
        }
        out.push(QueryResource {
            resource_type: "NSX_T_MANAGER".into(),
            id: d.nsx_id.clone(),
            name: d.nsx_fqdn.clone(),
            version: d.nsx_version.clone(),
            domain: di,
            target_version: None,
        });
        out.push(QueryResource {
            resource_type: "VCENTER".into(),
            id: d.vc_id.clone(),
            name: d.vc_fqdn.clone(),
            version: d.vc_version.clone(),
            domain: di,
            target_version: None,
        });
        for &c in &d.clusters {
            let cl = &self.inv.clusters[c];
            let version = cl
                .hosts
                .first()
                .map(|&h| self.host_version(h))
                .unwrap_or_default();
            out.push(QueryResource {
                resource_type: "CLUSTER".into(),
                id: cl.id.clone(),
                name: cl.name.clone(),
                version,
                domain: di,
                target_version: None,
            });
        }
        out
    }

    /// Starts a check-set run; returns the run index.
    pub fn start_check_run(
        &mut self,
        resources: Vec<QueryResource>,
        target_version: Option<String>,
    ) -> usize {
        let start = self.now();
        let mut domains: Vec<usize> = resources.iter().map(|r| r.domain).collect();
        domains.sort_unstable();
        domains.dedup();
        let names: Vec<&str> = domains
            .iter()
            .map(|&d| self.inv.domains[d].name.as_str())
            .collect();
        let findings = self
            .scenario
            .findings
            .iter()
            .filter(|f| f.domain.as_deref().is_none_or(|d| names.contains(&d)))
            .cloned()
            .collect();
        let id = ids::fresh();
        self.runs.push(CheckRun {
            id: id.clone(),
            domains,
            resources,
            start,
            end: start + self.scenario.timing.check_run.secs(),
            findings,
            target_version,
        });
        let ri = self.runs.len() - 1;
        self.tasks.push(Task {
            id,
            name: "Upgrade prechecks (check-set run)".into(),
            task_type: "CHECK_SET_RUN".into(),
            created: start,
            kind: TaskKind::CheckRun(ri),
        });
        ri
    }

    /// Refuses a `CLUSTER` upgrade of a vLCM image-managed cluster whose resource spec names no
    /// imported personality.
    ///
    /// Source: spec `ResourceUpgradeSpec.personalitySpec` is a `PersonalitySpec`, "Personality
    /// Specification for vLCM based upgrade", whose required `personalityId` is the
    /// "Personality ID for vLCM based Upgrade" (5.2.1 and 9.0.2); `performUpgrade` documents
    /// 400 for a bad `UpgradeSpec`. Baseline clusters (`isImageBased: false`) need none.
    fn check_cluster_images(&self, clusters: &[usize], specs: &[Value]) -> Result<(), ApiError> {
        for &c in clusters {
            let cl = &self.inv.clusters[c];
            if !cl.image_based {
                continue;
            }
            let personality = specs
                .iter()
                .find(|r| r.get("resourceId").and_then(Value::as_str) == Some(cl.id.as_str()))
                .and_then(|r| r.pointer("/personalitySpec/personalityId"))
                .and_then(Value::as_str);
            match personality {
                Some(p) if self.personalities.iter().any(|x| x.id == p) => {}
                Some(p) => {
                    return Err(ApiError::bad_request(
                        "UPGRADE_SPEC_INVALID_PERSONALITY",
                        format!("Personality {p} not found for cluster {}", cl.name),
                    )
                    .with_args(&[p, &cl.name])
                    .with_remediation("Use a personalityId from GET /v1/personalities"));
                }
                None => {
                    return Err(ApiError::bad_request(
                        "UPGRADE_SPEC_PERSONALITY_REQUIRED",
                        format!(
                            "Cluster {} is managed by vSphere Lifecycle Manager images: personalitySpec.personalityId is required",
                            cl.name
                        ),
                    )
                    .with_args(&[&cl.name])
                    .with_remediation(
                        "Import an image of the target ESXi version and send its personalityId from GET /v1/personalities",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds a vLCM image (`POST /sim/personalities`, an import done in the UI); returns its index.
    pub fn add_personality(&mut self, name: &str, esxi_version: &str) -> usize {
        self.personalities.push(Personality {
            id: ids::fresh(),
            name: name.to_owned(),
            esxi_version: esxi_version.to_owned(),
            imported: self.now(),
        });
        self.personalities.len() - 1
    }

    /// Starts a per-upgrade precheck; returns the task index.
    pub fn start_upgrade_precheck(&mut self, ui: usize) -> usize {
        let start = self.now();
        let id = ids::fresh();
        self.upgrades[ui].prechecks.push(UpgradePrecheck {
            id: id.clone(),
            start,
            end: start + self.scenario.timing.upgrade_precheck.secs(),
        });
        let pi = self.upgrades[ui].prechecks.len() - 1;
        let name = format!("Precheck: {}", self.upgrade_name(ui));
        self.tasks.push(Task {
            id,
            name,
            task_type: "UPGRADE_PRECHECK".into(),
            created: start,
            kind: TaskKind::Precheck(ui, pi),
        });
        self.tasks.len() - 1
    }

    // === validations ===

    /// How a validation of `version` for domain `di` will end. A domain whose target is not
    /// `version` yet is being checked before its upgrade (`target_validation_failure`); once
    /// the target is set, it is the validation after the upgrade (`validation_failure`,
    /// `validation_warnings`).
    fn validation_outcome(&self, di: usize, version: &str) -> ValidationOutcome {
        let f = &self.faults;
        let after_target = self.inv.domains[di].target.as_deref() == Some(version);
        if after_target && f.validation_failure || !after_target && f.target_validation_failure {
            ValidationOutcome::Failed
        } else if after_target && f.validation_warnings {
            ValidationOutcome::Warnings
        } else {
            ValidationOutcome::Succeeded
        }
    }

    /// Starts a domain release validation; returns its index.
    pub fn start_validation(&mut self, di: usize, version: &str) -> usize {
        let start = self.now();
        self.validations.push(Validation {
            id: ids::fresh(),
            domain: di,
            version: version.to_string(),
            start,
            end: start + self.scenario.timing.validation.secs(),
            outcome: self.validation_outcome(di, version),
        });
        self.validations.len() - 1
    }
}
