//! **Upgrade All Domains**: every domain of one SDDC Manager to its next release, the management
//! domain first and then each VI domain, one after the other (VCF's documented order: the
//! management domain, with SDDC Manager itself, before any VI domain). Each domain runs the
//! ordinary flow of [`crate::driver`] (its maintenance windows included); SDDC Manager is
//! upgraded once, by the management domain's flow, and the VI domains' flows find it done.
//!
//! The sequence stops at the first domain whose flow fails (Retry Upgrade All continues it
//! there: the failed VCF task is retried when VCF allows, else that domain's flow starts
//! again), can be aborted, and is persisted in `state_dir/sequence.json` after every change
//! (temp file, fsync, rename) so a restarted bridge continues it where it was. A domain
//! already on its newest release is marked `up_to_date` and skipped.
//!
//! [`SequenceState`] and [`flow_outcome`] are pure; [`Sequencer`] drives them with the
//! [`Orchestrator`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::driver::Orchestrator;
use crate::notify::{Command, CommandOutcome, DomainRef, FlowView};

/// The file the sequence is kept in, inside `state_dir`.
pub const SEQUENCE_FILE: &str = "sequence.json";

/// How often the running domain's flow is looked at (an in-memory read).
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// Where the whole sequence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceStatus {
    /// Never started.
    Idle,
    /// Upgrading one domain after the other.
    Running,
    /// Stopped at a domain whose flow failed (Retry Upgrade All continues).
    Failed,
    /// Stopped by Abort Upgrade All (Retry Upgrade All continues).
    Aborted,
    /// Every domain upgraded or already up to date.
    Completed,
}

impl SequenceStatus {
    /// The status string (`running`, `failed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
            Self::Completed => "completed",
        }
    }

    /// Every status string.
    pub const NAMES: [&'static str; 5] = ["idle", "running", "failed", "aborted", "completed"];
}

/// What happened to one domain in the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DomainResult {
    /// Not started yet.
    Pending,
    /// Its flow runs (started at `since`).
    Running {
        /// When the sequence started (or retried) its flow.
        since: DateTime<Utc>,
    },
    /// Its flow completed.
    Upgraded,
    /// It was on its newest release: nothing to do.
    UpToDate,
    /// Its flow failed, or it could not be started.
    Failed {
        /// Why.
        reason: String,
    },
}

impl DomainResult {
    fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running { .. } => "running",
            Self::Upgraded => "upgraded",
            Self::UpToDate => "up_to_date",
            Self::Failed { .. } => "failed",
        }
    }

    fn finished(&self) -> bool {
        matches!(self, Self::Upgraded | Self::UpToDate)
    }
}

/// One domain of the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceDomain {
    /// The domain.
    pub domain: DomainRef,
    /// The management domain (upgraded first).
    pub management: bool,
    /// What happened to it.
    pub result: DomainResult,
}

/// Everything persisted about the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceState {
    /// Where it is.
    pub status: SequenceStatus,
    /// The domains in upgrade order.
    pub domains: Vec<SequenceDomain>,
    /// When Upgrade All Domains was pressed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, failed or was aborted.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it stopped (failed or aborted).
    pub last_error: Option<String>,
    /// The answer to the last press that was refused, until the next accepted one.
    #[serde(default)]
    pub notice: Option<String>,
}

/// What the sequence entity and its retained JSON topic show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceView {
    /// `idle`, `running`, `failed`, `aborted` or `completed`.
    pub status: String,
    /// Domains upgraded or already up to date.
    pub domains_done: u32,
    /// Domains in the sequence.
    pub domains_total: u32,
    /// The domain being upgraded (or where the sequence stopped).
    pub current_domain: Option<String>,
    /// Each domain in upgrade order with its result.
    pub domains: Vec<SequenceDomainView>,
    /// When Upgrade All Domains was pressed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, failed or was aborted.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it stopped.
    pub last_error: Option<String>,
    /// Why the last press was refused.
    pub notice: Option<String>,
}

/// One domain in [`SequenceView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceDomainView {
    /// Domain name.
    pub name: String,
    /// The management domain.
    pub management: bool,
    /// `pending`, `running`, `upgraded`, `up_to_date` or `failed`.
    pub result: String,
    /// Why it failed.
    pub reason: Option<String>,
}

impl Default for SequenceState {
    fn default() -> Self {
        Self {
            status: SequenceStatus::Idle,
            domains: Vec::new(),
            started_at: None,
            finished_at: None,
            last_error: None,
            notice: None,
        }
    }
}

impl SequenceState {
    /// A new running sequence over `domains` (id/name and whether it is the management
    /// domain): the management domain first, then the VI domains by name.
    pub fn plan(mut domains: Vec<(DomainRef, bool)>, now: DateTime<Utc>) -> Self {
        domains.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
        Self {
            status: SequenceStatus::Running,
            domains: domains
                .into_iter()
                .map(|(domain, management)| SequenceDomain {
                    domain,
                    management,
                    result: DomainResult::Pending,
                })
                .collect(),
            started_at: Some(now),
            finished_at: None,
            last_error: None,
            notice: None,
        }
    }

    /// The first domain not upgraded or up to date: the one running, next, or where the
    /// sequence stopped.
    pub fn current(&self) -> Option<usize> {
        self.domains.iter().position(|d| !d.result.finished())
    }

    /// The published view.
    pub fn view(&self) -> SequenceView {
        let done = self.domains.iter().filter(|d| d.result.finished()).count();
        SequenceView {
            status: self.status.as_str().to_owned(),
            domains_done: u32::try_from(done).unwrap_or(u32::MAX),
            domains_total: u32::try_from(self.domains.len()).unwrap_or(u32::MAX),
            current_domain: self
                .current()
                .filter(|_| self.status != SequenceStatus::Idle)
                .map(|i| self.domains[i].domain.name.clone()),
            domains: self
                .domains
                .iter()
                .map(|d| SequenceDomainView {
                    name: d.domain.name.clone(),
                    management: d.management,
                    result: d.result.name().to_owned(),
                    reason: match &d.result {
                        DomainResult::Failed { reason } => Some(reason.clone()),
                        _ => None,
                    },
                })
                .collect(),
            started_at: self.started_at,
            finished_at: self.finished_at,
            last_error: self.last_error.clone(),
            notice: self.notice.clone(),
        }
    }

    /// A stopped sequence takes the fuller reason its failed domain's flow gives later (VCF's
    /// task error, read after the flow failed). True when something changed.
    pub fn refine_failure(&mut self, view: &FlowView) -> bool {
        if self.status != SequenceStatus::Failed || view.status != "failed" {
            return false;
        }
        let Some(reason) = view.last_error.as_ref() else {
            return false;
        };
        let Some(d) = self
            .domains
            .iter_mut()
            .find(|d| d.domain.id == view.domain_id)
        else {
            return false;
        };
        match &d.result {
            DomainResult::Failed { reason: old } if old != reason => {
                d.result = DomainResult::Failed {
                    reason: reason.clone(),
                };
                self.last_error = Some(format!("{}: {reason}", d.domain.name));
                true
            }
            _ => false,
        }
    }

    /// Stops the sequence at domain `i`, which failed with `reason`.
    fn fail(&mut self, i: usize, reason: String, now: DateTime<Utc>) {
        let name = self.domains[i].domain.name.clone();
        self.domains[i].result = DomainResult::Failed {
            reason: reason.clone(),
        };
        self.status = SequenceStatus::Failed;
        self.finished_at = Some(now);
        self.last_error = Some(format!("{name}: {reason}"));
    }
}

/// How the flow the sequence started for a domain ended, from its view: `None` while it runs,
/// `Ok` once it completed (`successfully_completed`, or back to `waiting_for_initiation` after
/// it), `Err` with the reason when it failed.
pub fn flow_outcome(view: &FlowView) -> Option<Result<(), String>> {
    if view.in_progress {
        return None;
    }
    if view.status == "failed" {
        return Some(Err(view
            .last_error
            .clone()
            .unwrap_or_else(|| "the upgrade flow failed".to_owned())));
    }
    Some(Ok(()))
}

/// Called before each domain's flow is started; `Err(reason)` stops the sequence there with
/// that reason (the place for an upgrade readiness check). The default lets every domain pass.
pub type DomainGate = Arc<dyn Fn(&DomainRef) -> Result<(), String> + Send + Sync>;

/// Told every new [`SequenceView`].
pub type SequenceObserver = Arc<dyn Fn(&SequenceView) + Send + Sync>;

struct Inner {
    orch: Orchestrator,
    path: PathBuf,
    observer: SequenceObserver,
    gate: Mutex<DomainGate>,
    /// The state, and whether the task that runs it is alive (both under one lock, so a Retry
    /// never races a task that is just stopping).
    state: Mutex<(SequenceState, bool)>,
    wake: Notify,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// Runs Upgrade All Domains for one SDDC Manager. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Loads the sequence kept in `state_dir` (an unreadable file is logged, moved aside and
    /// the sequence starts idle). Nothing runs until [`Self::resume`] or a press.
    pub fn new(
        orch: Orchestrator,
        state_dir: &Path,
        observer: SequenceObserver,
        shutdown: CancellationToken,
    ) -> Self {
        let path = state_dir.join(SEQUENCE_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                let aside = path.with_extension(format!("corrupt-{}", Utc::now().timestamp()));
                let _ = std::fs::rename(&path, &aside);
                tracing::warn!(
                    error = %e,
                    moved_to = %aside.display(),
                    "unreadable Upgrade All Domains state moved aside; it starts idle"
                );
                SequenceState::default()
            }),
            Err(_) => SequenceState::default(),
        };
        let allow_all: DomainGate = Arc::new(|_| Ok(()));
        Self {
            inner: Arc::new(Inner {
                orch,
                path,
                observer,
                gate: Mutex::new(allow_all),
                state: Mutex::new((state, false)),
                wake: Notify::new(),
                shutdown,
                tracker: TaskTracker::new(),
            }),
        }
    }

    /// Told every flow change: once the sequence has stopped at a domain's failure, its reason
    /// follows the flow's (see [`SequenceState::refine_failure`]).
    pub fn flow_changed(&self, view: &FlowView) {
        if self.lock().0.refine_failure(view) {
            self.changed();
        }
    }

    /// Sets the check made before each domain's flow is started (see [`DomainGate`]).
    pub fn set_gate(&self, gate: DomainGate) {
        *self
            .inner
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = gate;
    }

    fn lock(&self) -> MutexGuard<'_, (SequenceState, bool)> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current view.
    pub fn view(&self) -> SequenceView {
        self.lock().0.view()
    }

    /// Publishes the loaded sequence and, when `continue_running`, continues it if it was
    /// running (call it after [`Orchestrator::resume`], so a domain whose flow was resumed is
    /// followed, not started again).
    pub fn resume(&self, continue_running: bool) {
        let view = self.view();
        (self.inner.observer)(&view);
        if continue_running && view.status == SequenceStatus::Running.as_str() {
            tracing::info!(
                current = view.current_domain.as_deref().unwrap_or(""),
                "continuing Upgrade All Domains"
            );
            self.spawn();
        }
    }

    /// Waits until the sequence task has stopped after the shutdown token was cancelled.
    pub async fn stopped(&self) {
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// Upgrade All Domains pressed: lists the domains and starts with the management domain.
    ///
    /// # Errors
    /// Why it was refused (already running, the domains could not be listed).
    pub async fn start(&self) -> Result<(), String> {
        if self.lock().0.status == SequenceStatus::Running {
            return self.refuse("Upgrade All Domains is already running".to_owned());
        }
        let domains = match self.inner.orch.api().domains().await {
            Ok(d) if d.is_empty() => return self.refuse("SDDC Manager lists no domain".into()),
            Ok(d) => d,
            Err(e) => return self.refuse(format!("could not list the domains: {e}")),
        };
        {
            let mut g = self.lock();
            if g.0.status == SequenceStatus::Running {
                drop(g);
                return self.refuse("Upgrade All Domains is already running".to_owned());
            }
            g.0 = SequenceState::plan(domains, self.inner.orch.now());
            let order: Vec<&str> = g.0.domains.iter().map(|d| d.domain.name.as_str()).collect();
            tracing::info!(order = ?order, "Upgrade All Domains started");
        }
        self.changed();
        self.spawn();
        Ok(())
    }

    /// Retry Upgrade All pressed: continues a failed or aborted sequence at the domain where it
    /// stopped (retrying that domain's failed VCF task when VCF allows it).
    ///
    /// # Errors
    /// Why it was refused (nothing to retry, the retry of the task was refused).
    pub async fn retry(&self) -> Result<(), String> {
        let (status, current) = {
            let g = self.lock();
            let cur = g.0.current().map(|i| g.0.domains[i].clone());
            (g.0.status, cur)
        };
        if !matches!(status, SequenceStatus::Failed | SequenceStatus::Aborted) {
            return self.refuse(format!(
                "Upgrade All Domains is {}: there is nothing to retry",
                status.as_str()
            ));
        }
        let now = self.inner.orch.now();
        // What to do at the domain where it stopped depends on its flow now: one that runs is
        // followed; a failed task VCF can retry is retried; a failed (or aborted) flow starts
        // again; a flow that completed meanwhile is taken as done by the loop.
        let result = match current {
            Some(SequenceDomain { domain, result, .. }) => {
                let view = self.inner.orch.view(&domain);
                if view.in_progress {
                    Some(DomainResult::Running { since: now })
                } else if view.retryable {
                    match self.inner.orch.command(&domain, Command::Retry).await {
                        CommandOutcome::Accepted => Some(DomainResult::Running { since: now }),
                        CommandOutcome::Rejected { reason } => {
                            return self
                                .refuse(format!("retrying {} failed: {reason}", domain.name));
                        }
                    }
                } else if view.status == "failed" || matches!(result, DomainResult::Failed { .. }) {
                    Some(DomainResult::Pending)
                } else {
                    None
                }
            }
            None => None,
        };
        {
            let mut g = self.lock();
            if let (Some(r), Some(i)) = (result, g.0.current()) {
                g.0.domains[i].result = r;
            }
            g.0.status = SequenceStatus::Running;
            g.0.finished_at = None;
            g.0.last_error = None;
            g.0.notice = None;
        }
        tracing::info!("Upgrade All Domains continues");
        self.changed();
        self.spawn();
        Ok(())
    }

    /// Abort Upgrade All pressed: no further domain is started, and the running domain's flow
    /// is aborted when it can be (a VCF upgrade task that runs cannot be stopped; that flow
    /// then goes on, but the sequence does not).
    ///
    /// # Errors
    /// When no sequence runs.
    pub async fn abort(&self) -> Result<(), String> {
        let current = {
            let mut g = self.lock();
            if g.0.status != SequenceStatus::Running {
                let status = g.0.status;
                drop(g);
                return self.refuse(format!(
                    "Upgrade All Domains is {}: there is nothing to abort",
                    status.as_str()
                ));
            }
            g.0.status = SequenceStatus::Aborted;
            g.0.finished_at = Some(self.inner.orch.now());
            g.0.last_error = Some("aborted".to_owned());
            g.0.notice = None;
            g.0.current().map(|i| g.0.domains[i].clone())
        };
        if let Some(SequenceDomain {
            domain,
            result: DomainResult::Running { .. },
            ..
        }) = current
            && let CommandOutcome::Rejected { reason } =
                self.inner.orch.command(&domain, Command::Abort).await
        {
            self.lock().0.last_error = Some(format!(
                "aborted; the flow of {} goes on: {reason}",
                domain.name
            ));
        }
        tracing::info!("Upgrade All Domains aborted");
        self.changed();
        self.inner.wake.notify_one();
        Ok(())
    }

    fn refuse(&self, reason: String) -> Result<(), String> {
        tracing::warn!("Upgrade All Domains: {reason}");
        self.lock().0.notice = Some(reason.clone());
        self.changed();
        Err(reason)
    }

    /// Persists and publishes the current state.
    fn changed(&self) {
        let state = self.lock().0.clone();
        if let Err(e) = save(&self.inner.path, &state) {
            tracing::error!(error = %e, path = %self.inner.path.display(), "could not persist Upgrade All Domains");
        }
        (self.inner.observer)(&state.view());
    }

    fn spawn(&self) {
        {
            let mut g = self.lock();
            if g.1 {
                return;
            }
            g.1 = true;
        }
        let me = self.clone();
        self.inner.tracker.spawn(async move { me.run().await });
    }

    /// The sequence task: one domain after the other until the end, a failure, an abort or
    /// shutdown.
    async fn run(self) {
        loop {
            let next = {
                let mut g = self.lock();
                if g.0.status != SequenceStatus::Running || self.inner.shutdown.is_cancelled() {
                    g.1 = false;
                    return;
                }
                g.0.current().map(|i| (i, g.0.domains[i].clone()))
            };
            let Some((i, d)) = next else {
                {
                    let mut g = self.lock();
                    g.0.status = SequenceStatus::Completed;
                    g.0.finished_at = Some(self.inner.orch.now());
                    g.1 = false;
                }
                tracing::info!("Upgrade All Domains completed");
                self.changed();
                return;
            };
            match d.result {
                DomainResult::Pending | DomainResult::Failed { .. } => {
                    if let Some(r) = self.begin(&d.domain).await {
                        self.set_result(i, r);
                    }
                }
                DomainResult::Running { .. } => {
                    match flow_outcome(&self.inner.orch.view(&d.domain)) {
                        None => self.pause().await,
                        Some(Ok(())) => self.set_result(i, DomainResult::Upgraded),
                        Some(Err(reason)) => self.set_result(i, DomainResult::Failed { reason }),
                    }
                }
                DomainResult::Upgraded | DomainResult::UpToDate => {}
            }
        }
    }

    /// Starts a domain's flow: the gate, then the release check (a domain on its newest
    /// release is skipped), then Start Upgrade. `None` when a transient error should be
    /// tried again after a pause.
    async fn begin(&self, domain: &DomainRef) -> Option<DomainResult> {
        // Killed between Start and persisting it: the flow was resumed; follow it.
        if self.inner.orch.view(domain).in_progress {
            return Some(DomainResult::Running {
                since: self.inner.orch.now(),
            });
        }
        let gate = self
            .inner
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Err(reason) = gate(domain) {
            return Some(DomainResult::Failed { reason });
        }
        match self.inner.orch.api().next_release(&domain.id).await {
            Ok(check) if check.next.is_none() => {
                tracing::info!(domain = %domain.name, version = %check.current_version, "Upgrade All Domains: already on the newest release");
                return Some(DomainResult::UpToDate);
            }
            Ok(_) => {}
            Err(e) if e.transient => {
                tracing::warn!(domain = %domain.name, error = %e, "Upgrade All Domains: the release check failed; trying again");
                self.pause().await;
                return None;
            }
            Err(e) => {
                return Some(DomainResult::Failed {
                    reason: format!("the release check failed: {e}"),
                });
            }
        }
        let now = self.inner.orch.now();
        match self.inner.orch.command(domain, Command::Start).await {
            CommandOutcome::Accepted => {
                tracing::info!(domain = %domain.name, "Upgrade All Domains: upgrading");
                Some(DomainResult::Running { since: now })
            }
            CommandOutcome::Rejected { reason } => Some(DomainResult::Failed { reason }),
        }
    }

    fn set_result(&self, i: usize, result: DomainResult) {
        {
            let mut g = self.lock();
            if g.0.status != SequenceStatus::Running {
                // Aborted meanwhile: keep what the abort recorded, but the flow's result.
                if matches!(result, DomainResult::Running { .. }) {
                    g.0.domains[i].result = result;
                }
            } else if let DomainResult::Failed { reason } = result {
                let now = self.inner.orch.now();
                g.0.fail(i, reason, now);
                tracing::warn!(error = ?g.0.last_error, "Upgrade All Domains stopped");
            } else {
                g.0.domains[i].result = result;
            }
        }
        self.changed();
    }

    async fn pause(&self) {
        tokio::select! {
            () = tokio::time::sleep(WATCH_INTERVAL) => {}
            () = self.inner.wake.notified() => {}
            () = self.inner.shutdown.cancelled() => {}
        }
    }
}

/// Writes `state` atomically (temp file, fsync, rename).
fn save(path: &Path, state: &SequenceState) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, name: &str) -> DomainRef {
        DomainRef {
            id: id.into(),
            name: name.into(),
        }
    }

    fn t() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .expect("t")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_management_domain_goes_first_then_the_vi_domains_by_name() {
        let s = SequenceState::plan(
            vec![
                (d("3", "sfo-w02"), false),
                (d("2", "sfo-w01"), false),
                (d("1", "sfo-m01"), true),
            ],
            t(),
        );
        let order: Vec<&str> = s.domains.iter().map(|x| x.domain.name.as_str()).collect();
        assert_eq!(order, ["sfo-m01", "sfo-w01", "sfo-w02"]);
        let v = s.view();
        assert_eq!(
            (v.status.as_str(), v.domains_done, v.domains_total),
            ("running", 0, 3)
        );
        assert_eq!(v.current_domain.as_deref(), Some("sfo-m01"));
    }

    #[test]
    fn a_failure_stops_the_sequence_at_that_domain_with_its_reason() {
        let mut s = SequenceState::plan(
            vec![(d("1", "sfo-m01"), true), (d("2", "sfo-w01"), false)],
            t(),
        );
        s.domains[0].result = DomainResult::Upgraded;
        s.fail(1, "NSX_T_MANAGER upgrade failed".into(), t());
        let v = s.view();
        assert_eq!(v.status, "failed");
        assert_eq!((v.domains_done, v.domains_total), (1, 2));
        assert_eq!(v.current_domain.as_deref(), Some("sfo-w01"));
        assert_eq!(v.domains[1].result, "failed");
        assert_eq!(
            v.last_error.as_deref(),
            Some("sfo-w01: NSX_T_MANAGER upgrade failed")
        );
        // Persisted and read back unchanged.
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(
            serde_json::from_str::<SequenceState>(&json).expect("back"),
            s
        );
    }

    #[test]
    fn a_stopped_sequence_takes_the_fuller_reason_its_failed_flow_gives_later() {
        let mut s = SequenceState::plan(
            vec![(d("1", "sfo-m01"), true), (d("2", "sfo-w01"), false)],
            t(),
        );
        s.fail(0, "vCenter upgrade `u1` failed: FAILED".into(), t());
        let mut v = crate::machine::FlowState::new(d("1", "sfo-m01")).view();
        v.status = "failed".into();
        v.last_error = Some("vCenter upgrade `u1` failed: VCENTER_UPGRADE_FAILED".into());
        let mut other = v.clone();
        other.domain_id = "2".into();
        assert!(!s.refine_failure(&other), "another domain's flow");
        assert!(s.refine_failure(&v));
        assert_eq!(
            s.view().last_error.as_deref(),
            Some("sfo-m01: vCenter upgrade `u1` failed: VCENTER_UPGRADE_FAILED")
        );
        assert!(!s.refine_failure(&v), "nothing new");
        // A flow started again (Retry) is no reason to touch a running sequence.
        s.status = SequenceStatus::Running;
        v.last_error = Some("other".into());
        assert!(!s.refine_failure(&v));
    }

    #[test]
    fn a_flow_is_done_once_it_is_no_longer_in_progress() {
        let mut v = crate::machine::FlowState::new(d("1", "sfo-m01")).view();
        v.in_progress = true;
        v.status = "starting_upgrades".into();
        assert_eq!(flow_outcome(&v), None);
        v.in_progress = false;
        v.status = "successfully_completed".into();
        assert_eq!(flow_outcome(&v), Some(Ok(())));
        v.status = "waiting_for_initiation".into();
        assert_eq!(flow_outcome(&v), Some(Ok(())));
        v.status = "failed".into();
        v.last_error = Some("aborted".into());
        assert_eq!(flow_outcome(&v), Some(Err("aborted".into())));
    }
}
