//! The driver: [`Orchestrator`] runs one task per domain that feeds events into the pure
//! machine, persists every new state, publishes the view, and performs the machine's action.
//!
//! While an action is in flight (a request, or a wait) the domain task still listens for
//! commands: a command that moves the flow to another phase (Abort, Acknowledge, a new Start)
//! drops the in-flight action; one that does not (Ignore Alerts, a refused Abort) lets it
//! finish. Stopping the orchestrator never stops anything in VCF; the persisted state is where
//! the next [`Orchestrator::resume`] picks up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{ReleaseCheck, VcfApi};
use crate::clock::Clock;
use crate::config::OrchestratorConfig;
use crate::machine::{Effect, Event, FlowState, step};
use crate::notify::{
    Command, CommandOutcome, DomainRef, FlowObserver, FlowView, Notification, NotificationKind,
};
use crate::store::{Store, StoreError};
use crate::windows::Window;

/// Errors of [`Orchestrator`] construction and resume.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// The state directory could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is invalid.
    #[error("invalid upgrade configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
}

/// What a domain task is asked to do.
enum Request {
    /// A button press or switch change.
    Command(Command),
    /// New maintenance windows from Home Assistant (`None`: the configured ones).
    Windows(Option<Vec<Window>>),
    /// A line for the upgrade log (see [`Orchestrator::note`]).
    Note(String),
}

struct Msg {
    request: Request,
    reply: oneshot::Sender<CommandOutcome>,
}

struct Slot {
    tx: mpsc::UnboundedSender<Msg>,
    view: FlowView,
}

struct Inner {
    api: Arc<dyn VcfApi>,
    config: OrchestratorConfig,
    store: Store,
    observer: Arc<dyn FlowObserver>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    slots: Mutex<HashMap<String, Slot>>,
    /// Watch only: no flow is resumed and only Plan Upgrade is accepted.
    read_only: AtomicBool,
    /// Serialises Start / Download Bundles so two presses on two domains cannot both pass the
    /// "another flow is running" check.
    start_gate: tokio::sync::Mutex<()>,
    /// The clock every transition reads (the system clock unless a test set another).
    clock: Mutex<Clock>,
}

impl Inner {
    fn clock(&self) -> Clock {
        *self
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The published view of `state`, with the maintenance windows in effect for its domain.
    fn view_of(&self, state: &FlowState) -> FlowView {
        let mut view = state.view();
        let windows = match &state.windows {
            Some(w) => w.as_slice(),
            None => self.config.windows_of(&state.domain.name),
        };
        view.maintenance_windows = windows.iter().map(|w| w.as_str().to_owned()).collect();
        view
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding this lock only ever happens in a view update; the map is
        // still consistent, so keep using it.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs the upgrade flows of one SDDC Manager: at most one Start flow at a time, every flow
/// persisted in `state_dir` and resumable. Cheap to clone.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Orchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orchestrator")
            .field("state_dir", &self.inner.store.dir())
            .finish_non_exhaustive()
    }
}

// === impl Orchestrator ===

impl Orchestrator {
    /// Builds an orchestrator over the VCF client. Nothing runs until [`Self::resume`] or a
    /// [`Self::command`].
    ///
    /// # Errors
    /// [`OrchestratorError::Config`] for invalid settings, [`OrchestratorError::Store`] when
    /// `state_dir` cannot be created.
    pub fn new(
        client: vcf_client::VcfClient,
        config: OrchestratorConfig,
        state_dir: PathBuf,
        observer: Arc<dyn FlowObserver>,
        shutdown: CancellationToken,
    ) -> Result<Self, OrchestratorError> {
        Self::with_api(Arc::new(client), config, state_dir, observer, shutdown)
    }

    /// Like [`Self::new`] over any [`VcfApi`] (tests use fakes).
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn with_api(
        api: Arc<dyn VcfApi>,
        config: OrchestratorConfig,
        state_dir: PathBuf,
        observer: Arc<dyn FlowObserver>,
        shutdown: CancellationToken,
    ) -> Result<Self, OrchestratorError> {
        config.validate()?;
        let store = Store::open(state_dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                config,
                store,
                observer,
                shutdown,
                tracker: TaskTracker::new(),
                slots: Mutex::new(HashMap::new()),
                read_only: AtomicBool::new(false),
                start_gate: tokio::sync::Mutex::new(()),
                clock: Mutex::new(Clock::system()),
            }),
        })
    }

    /// Watch only (`on`): persisted flows are loaded and shown but never continued, and every
    /// command but [`Command::Plan`] is refused; nothing this orchestrator sends changes VCF.
    /// Set it before [`Self::resume`].
    pub fn set_read_only(&self, on: bool) {
        self.inner.read_only.store(on, Ordering::SeqCst);
    }

    /// Replaces the clock transitions read and waits are measured in (see [`Clock`]; only
    /// tests set another than the system clock). Set it before [`Self::resume`].
    pub fn set_clock(&self, clock: Clock) {
        *self
            .inner
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = clock;
    }

    /// The time the flows see now.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.inner.clock().now()
    }

    /// The VCF API the flows use (the sequence of [`crate::sequence`] lists domains with it).
    pub fn api(&self) -> Arc<dyn VcfApi> {
        Arc::clone(&self.inner.api)
    }

    /// The orchestrator's settings.
    pub fn config(&self) -> &OrchestratorConfig {
        &self.inner.config
    }

    /// Sets the maintenance windows of `domain` from Home Assistant (`None`: back to the
    /// configured ones). They are kept with the domain's flow state, so they survive a restart;
    /// a flow waiting for a window looks at the new ones at once.
    pub async fn set_windows(
        &self,
        domain: &DomainRef,
        windows: Option<Vec<Window>>,
    ) -> CommandOutcome {
        if self.read_only() {
            return CommandOutcome::Rejected {
                reason: "the bridge runs read-only (monitoring only)".to_owned(),
            };
        }
        self.send(domain, Request::Windows(windows)).await
    }

    async fn send(&self, domain: &DomainRef, request: Request) -> CommandOutcome {
        let tx = self.sender(domain);
        let (reply, rx) = oneshot::channel();
        if tx.send(Msg { request, reply }).is_err() {
            return CommandOutcome::Rejected {
                reason: "the upgrade orchestrator is shutting down".to_owned(),
            };
        }
        rx.await.unwrap_or_else(|_| CommandOutcome::Rejected {
            reason: "the upgrade orchestrator is shutting down".to_owned(),
        })
    }

    fn read_only(&self) -> bool {
        self.inner.read_only.load(Ordering::SeqCst)
    }

    /// Loads every persisted flow and continues the unfinished ones where they were,
    /// re-attaching to running downloads, check runs and upgrades instead of starting them
    /// again. Returns the views of all loaded flows. Unreadable state files are logged and
    /// skipped (left in place).
    ///
    /// # Errors
    /// [`OrchestratorError::Store`] when `state_dir` cannot be listed.
    pub async fn resume(&self) -> Result<Vec<FlowView>, OrchestratorError> {
        let (flows, errors) = self.inner.store.load_all()?;
        for e in errors {
            quarantine(&e);
        }
        let mut views = Vec::new();
        for flow in flows {
            let id = flow.domain.id.clone();
            if self.inner.slots().contains_key(&id) {
                continue;
            }
            views.push(self.inner.view_of(&flow));
            if self.read_only() && flow.is_active() {
                tracing::warn!(
                    domain = %flow.domain.name,
                    status = %flow.phase.status(),
                    "read-only: the unfinished upgrade flow is shown as it was left and not continued"
                );
            }
            let resume = (!self.read_only()).then_some(Event::Resumed);
            self.spawn(flow, resume);
        }
        Ok(views)
    }

    /// Handles a button press or switch change for `domain`.
    pub async fn command(&self, domain: &DomainRef, cmd: Command) -> CommandOutcome {
        if self.read_only() && cmd.is_mutating() {
            return CommandOutcome::Rejected {
                reason: "the bridge runs read-only (monitoring only)".to_owned(),
            };
        }
        let starting = matches!(
            cmd,
            Command::Start | Command::DownloadBundles | Command::Retry
        );
        let _gate = if starting {
            Some(self.inner.start_gate.lock().await)
        } else {
            None
        };
        if starting {
            let busy = self
                .inner
                .slots()
                .iter()
                .find(|(id, s)| *id != &domain.id && s.view.in_progress)
                .map(|(_, s)| s.view.domain_name.clone());
            if let Some(other) = busy {
                let msg = format!(
                    "Another upgrade flow is already running on this SDDC Manager (domain {other})"
                );
                self.inner.observer.notify(
                    domain,
                    &Notification::new(NotificationKind::AlreadyRunning, msg.clone()),
                );
                return CommandOutcome::Rejected { reason: msg };
            }
        }
        self.send(domain, Request::Command(cmd)).await
    }

    /// Adds `text` (as a warning) to the domain's upgrade log, persisted with the flow; used by
    /// the bridge to record that an upgrade was started past a readiness block.
    pub async fn note(&self, domain: &DomainRef, text: String) {
        let _ = self.send(domain, Request::Note(text)).await;
    }

    /// The current view of a domain's flow (`waiting_for_initiation` when it never ran).
    pub fn view(&self, domain: &DomainRef) -> FlowView {
        self.inner
            .slots()
            .get(&domain.id)
            .map(|s| s.view.clone())
            .unwrap_or_else(|| self.inner.view_of(&FlowState::new(domain.clone())))
    }

    /// Views of every domain the orchestrator knows (resumed or commanded).
    pub fn views(&self) -> Vec<FlowView> {
        let mut v: Vec<FlowView> = self
            .inner
            .slots()
            .values()
            .map(|s| s.view.clone())
            .collect();
        v.sort_by(|a, b| a.domain_name.cmp(&b.domain_name));
        v
    }

    /// Waits until every domain task has stopped after the shutdown token was cancelled.
    pub async fn stopped(&self) {
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// The domain task's sender; spawns the task (loading persisted state) on first use.
    fn sender(&self, domain: &DomainRef) -> mpsc::UnboundedSender<Msg> {
        if let Some(slot) = self.inner.slots().get(&domain.id) {
            return slot.tx.clone();
        }
        let path = self.inner.store.path_for(&domain.id);
        let state = if path.exists() {
            match Store::load_file(&path) {
                Ok(s) => s,
                Err(e) => {
                    quarantine(&e);
                    FlowState::new(domain.clone())
                }
            }
        } else {
            FlowState::new(domain.clone())
        };
        let initial = (state.is_active() && !self.read_only()).then_some(Event::Resumed);
        self.spawn(state, initial)
    }

    fn spawn(&self, state: FlowState, initial: Option<Event>) -> mpsc::UnboundedSender<Msg> {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = state.domain.id.clone();
        {
            let mut slots = self.inner.slots();
            if let Some(existing) = slots.get(&id) {
                return existing.tx.clone();
            }
            slots.insert(
                id,
                Slot {
                    tx: tx.clone(),
                    view: self.inner.view_of(&state),
                },
            );
        }
        let actor = DomainTask {
            inner: Arc::clone(&self.inner),
            last_view: self.inner.view_of(&state),
            state,
            rx,
            state_error: None,
        };
        self.inner.tracker.spawn(actor.run(initial));
        tx
    }
}

/// Keeps an unreadable state file for inspection, out of the way of the fresh state.
fn quarantine(e: &StoreError) {
    match Store::quarantine(e.path()) {
        Ok(moved) => tracing::warn!(
            error = %e,
            moved_to = %moved.display(),
            "unreadable upgrade state file moved aside; the domain starts idle"
        ),
        Err(e2) => tracing::warn!(error = %e, rename_error = %e2, "unreadable upgrade state file"),
    }
}

// === domain task ===

/// How often a state that could not be saved is tried again (the problem clears by itself
/// once `state_dir` is writable again).
const STATE_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

struct DomainTask {
    inner: Arc<Inner>,
    state: FlowState,
    last_view: FlowView,
    rx: mpsc::UnboundedReceiver<Msg>,
    /// Why the current state is not saved (it is then tried again every [`STATE_RETRY`]).
    state_error: Option<String>,
}

/// What a transition asks of the task loop.
struct Applied {
    action: Option<Effect>,
    phase_changed: bool,
    rejected: Option<String>,
}

impl DomainTask {
    async fn run(mut self, initial: Option<Event>) {
        let shutdown = self.inner.shutdown.clone();
        let mut pending = initial.and_then(|ev| self.apply(ev).action);
        loop {
            let Some(action) = pending.take() else {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(STATE_RETRY), if self.state_error.is_some() => {
                        self.save_again();
                    }
                    msg = self.rx.recv() => match msg {
                        None => return,
                        Some(msg) => pending = self.on_command(msg).await.action,
                    },
                }
                continue;
            };
            // Persist before effect: nothing new is started in VCF while the state that asked
            // for it is not saved (a restart would not know about it).
            if action.is_mutating() && self.state_error.is_some() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(STATE_RETRY) => {
                        self.save_again();
                        pending = Some(action);
                    }
                    msg = self.rx.recv() => {
                        let Some(msg) = msg else { return };
                        let applied = self.on_command(msg).await;
                        pending = if applied.phase_changed || applied.action.is_some() {
                            applied.action
                        } else {
                            Some(action)
                        };
                    }
                }
                continue;
            }
            let fut = perform(
                Arc::clone(&self.inner.api),
                self.inner.clock(),
                self.state.domain.id.clone(),
                action,
            );
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    ev = &mut fut => {
                        pending = self.apply(ev).action;
                        break;
                    }
                    msg = self.rx.recv() => {
                        let Some(msg) = msg else { return };
                        let applied = self.on_command(msg).await;
                        if applied.phase_changed || applied.action.is_some() {
                            pending = applied.action;
                            break;
                        }
                    }
                }
            }
        }
    }

    async fn on_command(&mut self, msg: Msg) -> Applied {
        let command = match msg.request {
            Request::Command(c) => c,
            Request::Note(text) => {
                let applied = self.apply(Event::Note(text));
                let _ = msg.reply.send(CommandOutcome::Accepted);
                return applied;
            }
            Request::Windows(windows) => {
                let applied = self.apply(Event::SetWindows(windows));
                let _ = msg.reply.send(CommandOutcome::Accepted);
                return applied;
            }
        };
        let event = match command {
            // A failed task VCF can retry is retried, not posted again: no release is looked up.
            Command::Start if self.state.retryable().is_some() => Event::Retry,
            Command::Retry => Event::Retry,
            Command::Start | Command::DownloadBundles if !self.state.is_active() => {
                let download_only = command == Command::DownloadBundles;
                match self.inner.api.next_release(&self.state.domain.id).await {
                    Ok(ReleaseCheck {
                        next: Some(release),
                        ..
                    }) => Event::Start {
                        release,
                        download_only,
                    },
                    Ok(ReleaseCheck {
                        current_version, ..
                    }) => Event::NoUpdate {
                        current_version: Some(current_version),
                    },
                    Err(e) => Event::UpdateCheckFailed(e.message),
                }
            }
            Command::Start | Command::DownloadBundles => Event::Start {
                // Refused by the machine as "already running"; the release is not looked at.
                release: self.state.target().cloned().unwrap_or_else(|| {
                    crate::api::TargetRelease {
                        version: String::new(),
                        current_version: String::new(),
                        release_date: None,
                        bom: Vec::new(),
                    }
                }),
                download_only: command == Command::DownloadBundles,
            },
            // Refused by the machine while a flow runs: nothing is read then.
            Command::Plan if self.state.is_active() => Event::Planned(Ok(Vec::new())),
            Command::Plan => Event::Planned(
                crate::plan::plan(
                    self.inner.api.as_ref(),
                    &self.state.domain,
                    &self.inner.config,
                )
                .await
                .map(|p| p.sections())
                .map_err(|e| e.message),
            ),
            Command::Acknowledge => Event::Acknowledge,
            Command::Abort => Event::Abort,
            Command::SetIgnoreAlerts(on) => Event::SetIgnoreAlerts(on),
        };
        let applied = self.apply(event);
        let outcome = match &applied.rejected {
            Some(reason) => CommandOutcome::Rejected {
                reason: reason.clone(),
            },
            None => CommandOutcome::Accepted,
        };
        let _ = msg.reply.send(outcome);
        applied
    }

    /// Steps the machine, persists, publishes, notifies; returns the action to perform.
    fn apply(&mut self, event: Event) -> Applied {
        let now = self.inner.clock().now();
        let before_kind = self.state.phase.kind();
        let t = step(&self.state, event, now, &self.inner.config);
        let changed = t.state != self.state;
        self.state = t.state;
        if changed || self.state_error.is_some() {
            self.save(now);
        }
        self.publish();
        let mut action = None;
        for effect in t.effects {
            match effect {
                Effect::Notify(n) => self.inner.observer.notify(&self.state.domain, &n),
                other => action = Some(other),
            }
        }
        Applied {
            action,
            phase_changed: self.state.phase.kind() != before_kind,
            rejected: t.rejected,
        }
    }

    /// Saves the current state; remembers (and shows) why when it cannot be.
    fn save(&mut self, now: chrono::DateTime<Utc>) {
        match self.inner.store.save(&self.state, now) {
            Ok(()) => {
                if let Some(was) = self.state_error.take() {
                    tracing::info!(
                        domain = %self.state.domain.name,
                        was = %was,
                        "the upgrade state is saved again"
                    );
                }
            }
            Err(e) => {
                let text = e.to_string();
                if self.state_error.as_deref() != Some(text.as_str()) {
                    tracing::error!(
                        error = %e,
                        domain = %self.state.domain.name,
                        "could not persist the upgrade state; nothing new is started in VCF \
                         until it is saved"
                    );
                }
                self.state_error = Some(text);
            }
        }
    }

    /// Tries the save that failed again and shows the outcome.
    fn save_again(&mut self) {
        self.save(Utc::now());
        self.publish();
    }

    /// Publishes the view when it changed.
    fn publish(&mut self) {
        let mut view = self.inner.view_of(&self.state);
        view.state_error = self.state_error.clone();
        if view.status != self.last_view.status {
            tracing::info!(
                domain = %self.state.domain.name,
                status = %view.status,
                detail = view.phase_detail.as_deref().unwrap_or(""),
                "upgrade flow status"
            );
        }
        if view != self.last_view {
            if let Some(slot) = self.inner.slots().get_mut(&self.state.domain.id) {
                slot.view = view.clone();
            }
            self.inner.observer.flow_changed(&view);
            self.last_view = view;
        }
    }
}

/// Performs one action and turns its result into the next event.
async fn perform(api: Arc<dyn VcfApi>, clock: Clock, domain_id: String, effect: Effect) -> Event {
    match effect {
        Effect::Notify(_) => Event::Tick,
        Effect::Wait(d) => {
            tokio::time::sleep(clock.real(d)).await;
            Event::Tick
        }
        Effect::ListReleaseBundles(target) => {
            Event::BundlesListed(api.release_bundles(&target).await)
        }
        Effect::CheckBundles(ids) => {
            let mut states = Vec::with_capacity(ids.len());
            for id in ids {
                let r = api.bundle_state(&id).await;
                states.push((id, r));
            }
            Event::BundleStates(states)
        }
        Effect::StartDownload(id) => {
            let result = api.start_download(&id).await;
            Event::DownloadRequested {
                bundle_id: id,
                result,
            }
        }
        Effect::SetTargetVersion(v) => {
            Event::TargetSet(api.set_target_version(&domain_id, &v).await)
        }
        Effect::ListUpgradables(v) => Event::Upgradables(api.upgradables(&domain_id, &v).await),
        Effect::StartUpgrade(req) => Event::UpgradeRequested(api.start_upgrade(&req).await),
        Effect::FindUpgrade {
            bundle_id,
            resource_ids,
        } => Event::UpgradeFound(api.find_upgrade(&bundle_id, &resource_ids).await),
        Effect::PollUpgrade(id) => Event::UpgradeState(api.upgrade_state(&id).await),
        Effect::StartUpgradePrecheck(id) => {
            Event::UpgradePrecheckStarted(api.start_upgrade_precheck(&id).await)
        }
        Effect::PollUpgradePrecheck {
            upgrade_id,
            precheck_id,
        } => Event::UpgradePrecheck(api.upgrade_precheck(&upgrade_id, &precheck_id).await),
        Effect::CommitUpgrade(id) => Event::UpgradeCommitted(api.commit_upgrade(&id).await),
        Effect::ReadFailedTask(id) => Event::TaskFailed(api.failed_task(&id).await),
        Effect::RetryTask(id) => Event::TaskRetried(api.retry_task(&id).await),
        Effect::ReadTask(id) => Event::TaskState(api.task_state(&id).await),
        Effect::ProbeApi => Event::ApiReady(api.api_ready().await),
        Effect::QueryCheckSets(target) => {
            Event::CheckSetsQueried(api.query_check_sets(&domain_id, &target).await)
        }
        Effect::StartCheckRun { query, target } => {
            Event::CheckRunStarted(api.start_check_run(&query, &target).await)
        }
        Effect::FindCheckRun { since } => {
            Event::CheckRunFound(api.find_check_run(&domain_id, since).await)
        }
        Effect::PollCheckRun(id) => Event::CheckRun(api.check_run(&id).await),
        Effect::StartValidation(v) => Event::Validation(api.start_validation(&domain_id, &v).await),
        Effect::PollValidation(id) => Event::Validation(api.validation(&id).await),
    }
}
