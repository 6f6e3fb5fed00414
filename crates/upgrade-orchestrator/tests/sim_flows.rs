//! End-to-end flows of the orchestrator against the in-process simulator at a fast time scale,
//! with tiny poll intervals. Requests are asserted on the simulator's request log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use upgrade_orchestrator::phase::{Phase, UpgradeStep};
use upgrade_orchestrator::store::Store;
use upgrade_orchestrator::{
    Command, CommandOutcome, DomainRef, FlowObserver, FlowView, Notification, NotificationKind,
    Orchestrator, OrchestratorConfig,
};
use vcf_client::{ClientConfig, VcfClient};
use vcf_sim::{Scenario, SimOptions, SimServer};

/// The official specs as a strict checker of JSON bodies, shared with the simulator's
/// conformance test.
#[path = "../../vcf-sim/tests/api/schema.rs"]
mod schema;

/// Simulated durations are multiplied by this (a full default upgrade ≈ 19 000 s → ≈ 6 s).
const SCALE: f64 = 0.0003;
/// Upper bound for any single wait in these tests (real time).
const PATIENCE: Duration = Duration::from_secs(90);

#[derive(Default)]
struct Recorder {
    statuses: Mutex<Vec<(String, String)>>,
    notes: Mutex<Vec<(String, NotificationKind, String)>>,
}

impl FlowObserver for Recorder {
    fn flow_changed(&self, view: &FlowView) {
        let mut s = self.statuses.lock().expect("lock");
        if s.iter()
            .rev()
            .find(|(d, _)| d == &view.domain_id)
            .map(|(_, st)| st)
            != Some(&view.status)
        {
            s.push((view.domain_id.clone(), view.status.clone()));
        }
    }
    fn notify(&self, domain: &DomainRef, n: &Notification) {
        self.notes
            .lock()
            .expect("lock")
            .push((domain.id.clone(), n.kind, n.message.clone()));
    }
}

impl Recorder {
    fn statuses(&self, domain: &str) -> Vec<String> {
        self.statuses
            .lock()
            .expect("lock")
            .iter()
            .filter(|(d, _)| d == domain)
            .map(|(_, s)| s.clone())
            .collect()
    }
    fn kinds(&self) -> Vec<NotificationKind> {
        self.notes
            .lock()
            .expect("lock")
            .iter()
            .map(|n| n.1)
            .collect()
    }
}

fn fast_config() -> OrchestratorConfig {
    let ms = Duration::from_millis;
    OrchestratorConfig {
        bundle_poll_interval: ms(20),
        download_timeout: Duration::from_secs(60),
        sddc_manager_poll_interval: ms(20),
        sddc_manager_settle: ms(60),
        sddc_manager_timeout: Duration::from_secs(60),
        precheck_poll_interval: ms(20),
        precheck_timeout: Duration::from_secs(60),
        upgrade_poll_interval: ms(20),
        component_timeout: Duration::from_secs(60),
        validation_poll_interval: ms(20),
        validation_timeout: Duration::from_secs(60),
        completed_hold: ms(300),
        ..OrchestratorConfig::default()
    }
}

/// [`fast_config`] with the draft + per-upgrade precheck + commit path.
fn drafts_config() -> OrchestratorConfig {
    OrchestratorConfig {
        per_upgrade_precheck: true,
        ..fast_config()
    }
}

struct Bench {
    sim: SimServer,
    client: VcfClient,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    domain: DomainRef,
    vi_domain: DomainRef,
}

async fn bench(scenario: &str) -> anyhow::Result<Bench> {
    bench_scaled(scenario, SCALE).await
}

async fn bench_scaled(scenario: &str, time_scale: f64) -> anyhow::Result<Bench> {
    bench_with(Scenario::builtin(scenario)?, time_scale).await
}

async fn bench_with(scenario: Scenario, time_scale: f64) -> anyhow::Result<Bench> {
    let sim = vcf_sim::start(
        scenario,
        SimOptions {
            listen: "127.0.0.1:0".parse()?,
            tls: false,
            time_scale,
        },
    )
    .await?;
    let mut cfg = ClientConfig::new(sim.url.clone(), sim.username.clone(), sim.password.as_str());
    cfg.request_timeout = Duration::from_secs(5);
    cfg.retry.base_delay = Duration::from_millis(10);
    cfg.retry.max_delay = Duration::from_millis(50);
    let client = VcfClient::new(cfg)?;
    let domains = client.domains().await?;
    let find = |ty: &str| -> anyhow::Result<DomainRef> {
        let d = domains
            .iter()
            .find(|d| d.kind.as_deref() == Some(ty))
            .ok_or_else(|| anyhow::anyhow!("no {ty} domain"))?;
        Ok(DomainRef {
            id: d.id.clone(),
            name: d.name.clone(),
        })
    };
    Ok(Bench {
        domain: find("MANAGEMENT")?,
        vi_domain: find("VI")?,
        sim,
        client,
        http: reqwest::Client::new(),
        dir: tempfile::tempdir()?,
    })
}

impl Bench {
    fn orchestrator(
        &self,
        cfg: OrchestratorConfig,
        rec: &Arc<Recorder>,
    ) -> anyhow::Result<(Orchestrator, CancellationToken)> {
        let token = CancellationToken::new();
        let o = Orchestrator::new(
            self.client.clone(),
            cfg,
            self.dir.path().to_owned(),
            rec.clone(),
            token.clone(),
        )?;
        Ok((o, token))
    }

    async fn log(&self) -> anyhow::Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{}/sim/log", self.sim.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `(method path)` → count of 2xx answers.
    async fn writes(&self) -> anyhow::Result<BTreeMap<String, usize>> {
        let mut m = BTreeMap::new();
        for e in self.log().await? {
            let method = e["method"].as_str().unwrap_or("");
            let status = e["status"].as_u64().unwrap_or(0);
            if method == "GET" || !(200..300).contains(&status) {
                continue;
            }
            let key = format!("{method} {}", e["path"].as_str().unwrap_or(""));
            *m.entry(key).or_default() += 1;
        }
        Ok(m)
    }

    /// The JSON bodies of the 2xx answered requests to `method path`, oldest first.
    async fn bodies(&self, method: &str, path: &str) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .log()
            .await?
            .into_iter()
            .filter(|e| e["method"] == method && e["path"] == path)
            .filter(|e| {
                e["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
            })
            .map(|e| e["body"].clone())
            .collect())
    }

    async fn fallback_bundle_ids(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .client
            .bundles()
            .await?
            .into_iter()
            .filter(|b| {
                b.components
                    .iter()
                    .any(|c| c.image_type.as_deref() == Some("INSTALL"))
            })
            .map(|b| b.id)
            .collect())
    }
}

async fn wait_for(
    o: &Orchestrator,
    d: &DomainRef,
    pred: impl Fn(&FlowView) -> bool,
) -> anyhow::Result<FlowView> {
    let start = Instant::now();
    loop {
        let v = o.view(d);
        if pred(&v) {
            return Ok(v);
        }
        if start.elapsed() > PATIENCE {
            anyhow::bail!("timed out; last view: {} {:?}", v.status, v.last_error);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn is(status: &'static str) -> impl Fn(&FlowView) -> bool {
    move |v| v.status == status
}

fn assert_in_order(seen: &[String], expected: &[&str]) {
    let mut it = seen.iter();
    for e in expected {
        assert!(
            it.any(|s| s == e),
            "status {e} missing or out of order in {seen:?}"
        );
    }
}

/// No PATCH download, target version, check-set run or draft commit was sent twice.
async fn assert_no_duplicates(b: &Bench) -> anyhow::Result<BTreeMap<String, usize>> {
    let w = b.writes().await?;
    for (k, n) in &w {
        if k.starts_with("PATCH /v1/bundles/")
            || k.starts_with("PATCH /v1/releases/domains/")
            || k.starts_with("PATCH /v1/upgrades/")
        {
            assert_eq!(*n, 1, "{k} sent {n} times");
        }
    }
    assert!(
        w.get("POST /v1/system/check-sets").copied().unwrap_or(0) <= 1,
        "{w:?}"
    );
    Ok(w)
}

/// Both official specs: what the product sends to any SDDC Manager must fit each.
const BOTH_SPECS: &[&str] = &["5.2.1", "9.0.2"];

/// Every request the product sent to the simulator, checked against the official spec of each
/// of `versions`: the operation exists, its query parameters are the spec's, and a JSON body
/// fits the operation's request schema (closed objects: a field the spec does not have fails).
/// The token endpoints' bodies (credentials) are not recorded; their paths are checked.
async fn assert_requests_conform(b: &Bench, versions: &[&str]) -> anyhow::Result<()> {
    for version in versions {
        let errs = requests_against(b, version).await?;
        anyhow::ensure!(
            errs.is_empty(),
            "requests that do not fit the {version} spec:\n{}",
            errs.join("\n")
        );
    }
    Ok(())
}

/// What does not fit the `version` spec in the requests the simulator recorded, one line each.
async fn requests_against(b: &Bench, version: &str) -> anyhow::Result<Vec<String>> {
    let log = b.log().await?;
    anyhow::ensure!(!log.is_empty(), "the simulator recorded no request");
    let spec = schema::load_spec_of(version);
    let mut errs = Vec::new();
    for e in &log {
        let path = e["path"].as_str().unwrap_or("");
        if path.starts_with("/sim/") {
            continue;
        }
        schema::check_request(
            &spec,
            version,
            e["method"].as_str().unwrap_or(""),
            path,
            e["query"].as_str().unwrap_or(""),
            e.get("body"),
            &mut errs,
        );
    }
    errs.sort();
    errs.dedup();
    Ok(errs)
}

const FULL_FLOW: [&str; 12] = [
    "update_process_started",
    "downloading_bundles",
    "setting_new_vcf_version_target",
    "downloading_sddcManager_bundle",
    "upgrading_sddcManager",
    "initializing_prechecks",
    "running_prechecks",
    "evaluating_prechecks",
    "prechecks_done",
    "starting_upgrades",
    "successfully_completed",
    "waiting_for_initiation",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_sddc_manager_first_with_drift_bundle() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(drafts_config(), &rec)?;
    let started = Instant::now();
    assert_eq!(
        o.command(&b.domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    wait_for(&o, &b.domain, is("successfully_completed")).await?;
    let took = started.elapsed();
    eprintln!(
        "full default-scenario upgrade of {} took {took:?} at time scale {SCALE}",
        b.domain.name
    );
    let done = wait_for(&o, &b.domain, is("waiting_for_initiation")).await?;
    assert!(done.logs_markdown.contains("No Messages"));
    assert_in_order(&rec.statuses(&b.domain.id), &FULL_FLOW);
    assert!(rec.kinds().contains(&NotificationKind::UpgradeStarted));
    assert!(rec.kinds().contains(&NotificationKind::Completed));

    let w = assert_no_duplicates(&b).await?;
    // SDDC Manager, drift, NSX, vCenter, ESXi: five upgrades, each started once
    assert_eq!(w.get("POST /v1/upgrades"), Some(&5), "{w:?}");
    assert_eq!(w.get("POST /v1/system/check-sets"), Some(&1));
    // NSX, vCenter and ESXi were created as drafts, prechecked by VCF, then committed once each
    let count = |pred: &dyn Fn(&str) -> bool| -> usize {
        w.iter().filter(|(k, _)| pred(k)).map(|(_, n)| *n).sum()
    };
    assert_eq!(
        count(&|k| k.starts_with("POST /v1/upgrades/") && k.ends_with("/prechecks")),
        3,
        "{w:?}"
    );
    assert_eq!(count(&|k| k.starts_with("PATCH /v1/upgrades/")), 3, "{w:?}");
    let fallback = b.fallback_bundle_ids().await?;
    assert!(!fallback.is_empty());
    for id in &fallback {
        // downloaded, never applied
        assert_eq!(w.get(&format!("PATCH /v1/bundles/{id}")), Some(&1));
        for u in b.client.upgrades().await? {
            assert_ne!(u.bundle_id.as_deref(), Some(id.as_str()));
        }
    }
    // the domain is now on the target
    let rel = b.client.releases(Some(&b.domain.id)).await?;
    assert!(rel.iter().any(|r| r.version == "5.2.1.0"), "{rel:?}");
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_with_ignore_alerts_on_continue() -> anyhow::Result<()> {
    let b = bench("precheck-warnings").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::SetIgnoreAlerts(true))
        .await;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(
        v.logs_markdown
            .contains("ignored because Ignore Alerts is on"),
        "{}",
        v.logs_markdown
    );
    assert!(v.logs_markdown.contains("**WARNING**"));
    assert!(
        !rec.statuses(&b.vi_domain.id)
            .contains(&"waiting_for_alert_acknowledgement".into())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_wait_for_acknowledge_then_continue() -> anyhow::Result<()> {
    let b = bench("precheck-warnings").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, is("waiting_for_alert_acknowledgement")).await?;
    assert!(v.logs_markdown.contains("⚠️"));
    assert!(
        rec.kinds()
            .contains(&NotificationKind::AcknowledgementNeeded)
    );
    // no timeout while waiting
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        o.view(&b.vi_domain).status,
        "waiting_for_alert_acknowledgement"
    );
    assert_eq!(
        o.command(&b.vi_domain, Command::Acknowledge).await,
        CommandOutcome::Accepted
    );
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(
        v.logs_markdown
            .contains("Alerts were acknowledged. Continuing")
    );
    assert_in_order(
        &rec.statuses(&b.vi_domain.id),
        &[
            "prechecks_done",
            "waiting_for_alert_acknowledgement",
            "alerts_were_acknowledged",
            "starting_upgrades",
        ],
    );
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_errors_fail_when_configured_and_abort_ends_the_wait() -> anyhow::Result<()> {
    let b = bench("precheck-errors").await?;
    let rec = Arc::new(Recorder::default());
    let cfg = OrchestratorConfig {
        fail_on_precheck_errors: true,
        ..fast_config()
    };
    let (o, _t) = b.orchestrator(cfg, &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, is("failed")).await?;
    assert!(
        v.last_error.as_deref().unwrap_or("").contains("error"),
        "{:?}",
        v.last_error
    );
    assert!(v.logs_markdown.contains("**ERROR**"), "{}", v.logs_markdown);
    assert!(
        v.logs_markdown.contains("_Remediation:_"),
        "{}",
        v.logs_markdown
    );

    // default policy: errors wait for acknowledgement; Abort ends the wait as failed "aborted"
    let rec2 = Arc::new(Recorder::default());
    let (o2, _t2) = b.orchestrator(fast_config(), &rec2)?;
    o2.command(&b.vi_domain, Command::Start).await;
    wait_for(&o2, &b.vi_domain, is("waiting_for_alert_acknowledgement")).await?;
    assert_eq!(
        o2.command(&b.vi_domain, Command::Abort).await,
        CommandOutcome::Accepted
    );
    let v = o2.view(&b.vi_domain);
    assert_eq!(v.status, "failed");
    assert_eq!(v.last_error.as_deref(), Some("aborted"));
    assert!(rec2.kinds().contains(&NotificationKind::Aborted));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_timeout_fails_the_flow() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let cfg = OrchestratorConfig {
        // the simulated check run takes 8 min × SCALE ≈ 144 ms
        precheck_timeout: Duration::from_millis(40),
        ..fast_config()
    };
    let (o, _t) = b.orchestrator(cfg, &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, is("failed")).await?;
    assert!(
        v.last_error
            .as_deref()
            .unwrap_or("")
            .contains("prechecks did not finish"),
        "{:?}",
        v.last_error
    );
    assert!(
        rec.statuses(&b.vi_domain.id)
            .contains(&"evaluating_prechecks".into())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_download_fails_the_flow() -> anyhow::Result<()> {
    let b = bench("download-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, is("failed")).await?;
    assert!(
        v.last_error.as_deref().unwrap_or("").contains("download"),
        "{:?}",
        v.last_error
    );
    assert!(rec.kinds().contains(&NotificationKind::Failed));
    assert_eq!(b.writes().await?.get("POST /v1/upgrades"), None);
    // the next press is a fresh attempt: the failed bundle is requested again and the rest
    // (already downloaded or downloading) is not
    assert_eq!(
        o.command(&b.vi_domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    let w = b.writes().await?;
    let repeated: Vec<_> = w
        .iter()
        .filter(|(k, n)| k.starts_with("PATCH /v1/bundles/") && **n > 1)
        .collect();
    assert_eq!(
        repeated.len(),
        1,
        "only the failed bundle is requested twice: {w:?}"
    );
    Ok(())
}

/// Runs the `component-failure` scenario on the VI domain until the vCenter upgrade task has
/// failed and VCF marks it retryable; returns the count of `POST /v1/upgrades` so far.
async fn fail_at_vcenter(b: &Bench, o: &Orchestrator, rec: &Recorder) -> anyhow::Result<usize> {
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(o, &b.vi_domain, |v| v.status == "failed" && v.retryable).await?;
    let err = v.last_error.as_deref().unwrap_or("");
    assert!(
        err.contains("VCENTER_UPGRADE_FAILED"),
        "the task's error: {err}"
    );
    assert!(
        v.logs_markdown.contains("Retry Upgrade"),
        "{}",
        v.logs_markdown
    );
    assert!(
        rec.statuses(&b.vi_domain.id)
            .contains(&"starting_upgrades".into())
    );
    Ok(b.writes()
        .await?
        .get("POST /v1/upgrades")
        .copied()
        .unwrap_or(0))
}

/// After the failure: `command` retries the task; the flow ends `successfully_completed` with
/// exactly one `PATCH /v1/tasks/{id}` and no second `POST /v1/upgrades` for vCenter.
async fn retry_completes(
    b: &Bench,
    o: &Orchestrator,
    rec: &Recorder,
    command: Command,
    posts: usize,
) -> anyhow::Result<()> {
    let before = rec.statuses(&b.vi_domain.id).len();
    assert_eq!(
        o.command(&b.vi_domain, command).await,
        CommandOutcome::Accepted
    );
    let v = wait_for(o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    let after: Vec<String> = rec.statuses(&b.vi_domain.id).split_off(before);
    assert_eq!(
        after.first().map(String::as_str),
        Some("starting_upgrades"),
        "the flow resumes at the component: {after:?}"
    );
    let w = b.writes().await?;
    let retries: Vec<_> = w
        .iter()
        .filter(|(k, _)| k.starts_with("PATCH /v1/tasks/"))
        .collect();
    assert_eq!(retries.len(), 1, "{w:?}");
    assert_eq!(*retries[0].1, 1, "{w:?}");
    let posts_after = w.get("POST /v1/upgrades").copied().unwrap_or(0);
    // vCenter is not posted again; only what follows it (ESXi) is started
    assert!(posts_after <= posts + 1, "{posts} then {posts_after}");
    // the retried task is the vCenter upgrade, and it is the only upgrade of its bundle
    let task_id = retries[0].0.trim_start_matches("PATCH /v1/tasks/");
    let upgrades = b.client.upgrades().await?;
    let retried = upgrades
        .iter()
        .find(|u| u.id == task_id)
        .ok_or_else(|| anyhow::anyhow!("no upgrade {task_id}"))?;
    let same_bundle = upgrades
        .iter()
        .filter(|u| u.bundle_id == retried.bundle_id)
        .count();
    assert_eq!(same_bundle, 1, "the failed upgrade was posted again");
    assert_requests_conform(b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_component_task_is_retried_by_retry_upgrade() -> anyhow::Result<()> {
    let b = bench("component-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    let posts = fail_at_vcenter(&b, &o, &rec).await?;
    retry_completes(&b, &o, &rec, Command::Retry, posts).await?;
    // nothing left to retry
    assert!(!o.command(&b.vi_domain, Command::Retry).await.is_accepted());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_on_a_failed_flow_retries_the_failed_task() -> anyhow::Result<()> {
    let b = bench("component-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    let posts = fail_at_vcenter(&b, &o, &rec).await?;
    retry_completes(&b, &o, &rec, Command::Start, posts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_task_survives_a_restart() -> anyhow::Result<()> {
    let b = bench("component-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, t) = b.orchestrator(fast_config(), &rec)?;
    let posts = fail_at_vcenter(&b, &o, &rec).await?;
    t.cancel();
    o.stopped().await;
    let (o2, _t2) = b.orchestrator(fast_config(), &rec)?;
    o2.resume().await?;
    assert!(o2.view(&b.vi_domain).retryable);
    retry_completes(&b, &o2, &rec, Command::Retry, posts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_component_upgrade_times_out_and_abort_is_refused_meanwhile() -> anyhow::Result<()>
{
    let b = bench("hanging-component").await?;
    let rec = Arc::new(Recorder::default());
    let cfg = OrchestratorConfig {
        component_timeout: Duration::from_millis(1500),
        ..fast_config()
    };
    let (o, _t) = b.orchestrator(cfg, &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "starting_upgrades"
            && v.component.as_deref() == Some("NSX")
            && v.phase_detail.as_deref() == Some("upgrading")
    })
    .await?;
    assert!(v.progress_total.unwrap_or(0) >= 1);
    let refused = o.command(&b.vi_domain, Command::Abort).await;
    assert!(
        matches!(refused, CommandOutcome::Rejected { .. }),
        "{refused:?}"
    );
    let v = wait_for(&o, &b.vi_domain, is("failed")).await?;
    assert!(
        v.last_error
            .as_deref()
            .unwrap_or("")
            .contains("did not finish"),
        "{:?}",
        v.last_error
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_failure_fails_the_flow() -> anyhow::Result<()> {
    // VCF ran the final validation to the end (executionStatus COMPLETED) and it found a failure
    // (resultStatus FAILED): that is no success.
    let b = bench("validation-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "failed" || v.status == "successfully_completed"
    })
    .await?;
    assert_eq!(v.status, "failed", "{}", v.logs_markdown);
    let error = v.last_error.as_deref().unwrap_or("");
    assert!(
        error.contains("final validation ended with COMPLETED / FAILED"),
        "{error}"
    );
    // The failed check, with its severity, VCF's message and remediation, is in the log.
    assert!(
        v.logs_markdown
            .contains("Validation check failed: Required bundles are downloaded (ERROR)")
            && v.logs_markdown.contains("do not match the target BOM")
            && v.logs_markdown.contains("remediation: Review the domain"),
        "{}",
        v.logs_markdown
    );
    assert!(!rec.kinds().contains(&NotificationKind::Completed));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_with_warnings_completes_and_logs_each_warning() -> anyhow::Result<()> {
    let b = bench("validation-warnings").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "failed" || v.status == "successfully_completed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(
        v.logs_markdown
            .contains("Validation warning: Datastore free space for the upgrade (WARNING)")
            && v.logs_markdown.contains("less than 20% free space"),
        "{}",
        v.logs_markdown
    );
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_vcf_rejects_stops_the_flow_before_anything_changes() -> anyhow::Result<()> {
    let b = bench("target-validation-failure").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, is("failed")).await?;
    let error = v.last_error.as_deref().unwrap_or("");
    assert!(
        error.contains("cannot be the target of") && error.contains("nothing was changed"),
        "{error}"
    );
    // Bundles were downloaded and the target validated; no target was set, no upgrade posted.
    let writes = b.writes().await?;
    assert!(
        writes
            .keys()
            .all(|k| !k.starts_with("PATCH /v1/releases/") && !k.starts_with("POST /v1/upgrades")),
        "{writes:?}"
    );
    assert!(
        writes
            .keys()
            .any(|k| k.starts_with("POST /v1/releases/domains/") && k.ends_with("/validations")),
        "{writes:?}"
    );
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_update_press_changes_nothing() -> anyhow::Result<()> {
    let b = bench("up-to-date").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    let before = b.writes().await?;
    let out = o.command(&b.domain, Command::Start).await;
    assert!(matches!(out, CommandOutcome::Rejected { .. }));
    assert_eq!(rec.kinds(), vec![NotificationKind::NoUpdateAvailable]);
    let v = o.view(&b.domain);
    assert_eq!(v.status, "waiting_for_initiation");
    assert!(v.logs_markdown.contains("No VCF update available"));
    assert_eq!(
        b.writes().await?,
        before,
        "no request that changes anything"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_press_and_second_domain_are_refused() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    assert_eq!(
        o.command(&b.domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    let again = o.command(&b.domain, Command::Start).await;
    assert!(matches!(again, CommandOutcome::Rejected { .. }));
    let other = o.command(&b.vi_domain, Command::Start).await;
    assert!(matches!(other, CommandOutcome::Rejected { .. }));
    let dl = o.command(&b.vi_domain, Command::DownloadBundles).await;
    assert!(matches!(dl, CommandOutcome::Rejected { .. }));
    assert_eq!(
        rec.kinds()
            .iter()
            .filter(|k| **k == NotificationKind::AlreadyRunning)
            .count(),
        3
    );
    assert_eq!(o.view(&b.vi_domain).status, "waiting_for_initiation");
    // abort while downloading ends the flow
    wait_for(&o, &b.domain, is("downloading_bundles")).await?;
    assert_eq!(
        o.command(&b.domain, Command::Abort).await,
        CommandOutcome::Accepted
    );
    assert_eq!(o.view(&b.domain).last_error.as_deref(), Some("aborted"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_bundles_button_downloads_everything_and_upgrade_reuses_it() -> anyhow::Result<()>
{
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    assert_eq!(
        o.command(&b.vi_domain, Command::DownloadBundles).await,
        CommandOutcome::Accepted
    );
    let v = o.view(&b.vi_domain);
    assert_eq!(v.mode.as_deref(), Some("download_only"));
    assert_eq!(v.status, "downloading_bundles");
    wait_for(&o, &b.vi_domain, |v| !v.in_progress).await?;
    assert_eq!(o.view(&b.vi_domain).status, "waiting_for_initiation");
    assert!(rec.kinds().contains(&NotificationKind::DownloadsCompleted));
    let w = b.writes().await?;
    assert_eq!(w.get("POST /v1/upgrades"), None);
    assert!(w.keys().all(|k| !k.starts_with("PATCH /v1/releases")));
    let patched = w
        .keys()
        .filter(|k| k.starts_with("PATCH /v1/bundles/"))
        .count();
    assert!(patched >= 5, "{w:?}");
    Ok(())
}

/// Restart the orchestrator (cancel it, build a new one on the same `state_dir`) each time the
/// flow enters one of `phases`; the flow must still finish with nothing started twice.
async fn restart_through(
    b: &Bench,
    domain: &DomainRef,
    phases: &[&str],
    ack: bool,
) -> anyhow::Result<(FlowView, Vec<String>)> {
    let rec = Arc::new(Recorder::default());
    let (mut o, mut token) = b.orchestrator(fast_config(), &rec)?;
    o.command(domain, Command::Start).await;
    let mut restarted = Vec::new();
    let start = Instant::now();
    loop {
        let v = o.view(domain);
        if v.status == "successfully_completed" || v.status == "failed" {
            return Ok((v, restarted));
        }
        if ack && v.status == "waiting_for_alert_acknowledgement" {
            o.command(domain, Command::Acknowledge).await;
        }
        let detailed = format!(
            "{}/{}",
            v.status,
            v.phase_detail.as_deref().unwrap_or_default()
        );
        let key = [v.status.clone(), detailed]
            .into_iter()
            .find(|k| phases.contains(&k.as_str()) && !restarted.contains(k));
        if let Some(key) = key {
            restarted.push(key);
            token.cancel();
            o.stopped().await;
            let (o2, t2) = b.orchestrator(fast_config(), &rec)?;
            let views = o2.resume().await?;
            assert!(views.iter().any(|x| x.domain_id == domain.id));
            o = o2;
            token = t2;
        }
        anyhow::ensure!(
            start.elapsed() < PATIENCE,
            "flow did not finish: {}",
            v.status
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_in_every_phase_finishes_without_duplicated_requests() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let phases = [
        "update_process_started",
        "downloading_bundles",
        "setting_new_vcf_version_target",
        "downloading_sddcManager_bundle",
        "upgrading_sddcManager",
        "initializing_prechecks",
        "running_prechecks",
        "evaluating_prechecks",
        "upgrading_sddcManager/waiting_for_api",
        "upgrading_sddcManager/settling",
        "starting_upgrades/upgrade_precheck",
        "starting_upgrades/committing_upgrade",
        "starting_upgrades/upgrading",
        "starting_upgrades/final_validation",
    ];
    let (v, restarted) = restart_through(&b, &b.domain, &phases, false).await?;
    assert_eq!(
        v.status, "successfully_completed",
        "{:?}\n{}",
        v.last_error, v.logs_markdown
    );
    eprintln!("restarted in {restarted:?}");
    assert!(restarted.len() >= 10, "{restarted:?}");
    assert!(v.logs_markdown.contains("Bridge restarted"));
    let w = assert_no_duplicates(&b).await?;
    assert_eq!(w.get("POST /v1/upgrades"), Some(&5), "{w:?}");
    assert_eq!(w.get("POST /v1/system/check-sets"), Some(&1), "{w:?}");
    for (k, n) in &w {
        if k.starts_with("PATCH /v1/upgrades/") {
            assert_eq!(*n, 1, "{k} committed {n} times");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_while_waiting_for_acknowledgement_keeps_waiting() -> anyhow::Result<()> {
    let b = bench("precheck-warnings").await?;
    let (v, restarted) = restart_through(
        &b,
        &b.vi_domain,
        &[
            "waiting_for_alert_acknowledgement",
            "alerts_were_acknowledged",
            "starting_upgrades",
        ],
        true,
    )
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(restarted.contains(&"waiting_for_alert_acknowledgement".to_owned()));
    let w = assert_no_duplicates(&b).await?;
    assert_eq!(w.get("POST /v1/system/check-sets"), Some(&1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_alerts_switch_survives_a_restart() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::SetIgnoreAlerts(true))
        .await;
    assert!(o.view(&b.vi_domain).ignore_alerts);
    t.cancel();
    o.stopped().await;
    let (o2, _t2) = b.orchestrator(fast_config(), &rec)?;
    let views = o2.resume().await?;
    assert!(
        views
            .iter()
            .any(|v| v.domain_id == b.vi_domain.id && v.ignore_alerts)
    );
    assert!(o2.view(&b.vi_domain).ignore_alerts);
    assert!(Path::new(b.dir.path()).read_dir()?.count() >= 1);
    Ok(())
}

/// Stops the orchestrator once `pred` holds and returns the persisted state file's flow.
async fn stop_when(
    b: &Bench,
    domain: &DomainRef,
    pred: impl Fn(&FlowView) -> bool,
) -> anyhow::Result<upgrade_orchestrator::FlowState> {
    let rec = Arc::new(Recorder::default());
    let (o, token) = b.orchestrator(fast_config(), &rec)?;
    o.command(domain, Command::Start).await;
    wait_for(&o, domain, pred).await?;
    token.cancel();
    o.stopped().await;
    Ok(Store::load_file(
        &Store::open(b.dir.path())?.path_for(&domain.id),
    )?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_post_upgrade_before_its_id_was_saved_reattaches_by_listing()
-> anyhow::Result<()> {
    let b = bench("default").await?;
    let mut flow = stop_when(&b, &b.vi_domain, |v| {
        v.component.as_deref() == Some("vCenter") && v.phase_detail.as_deref() == Some("upgrading")
    })
    .await?;
    let posts_before = b.writes().await?.get("POST /v1/upgrades").copied();
    // Rewind the saved state to "request sent, id not yet persisted".
    let Phase::StartingUpgrades {
        step: UpgradeStep::Running {
            request, component, ..
        },
        target,
    } = flow.phase.clone()
    else {
        anyhow::bail!("unexpected phase {:?}", flow.phase);
    };
    flow.phase = Phase::StartingUpgrades {
        step: UpgradeStep::Starting {
            request,
            component,
            adopt: false,
        },
        target,
    };
    Store::open(b.dir.path())?.save(&flow, chrono::Utc::now())?;

    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.resume().await?;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(
        v.logs_markdown
            .contains("Re-attached to the vCenter upgrade"),
        "{}",
        v.logs_markdown
    );
    let w = assert_no_duplicates(&b).await?;
    // NSX and vCenter were posted before the crash, only ESXi after it
    assert_eq!(
        w.get("POST /v1/upgrades").copied(),
        posts_before.map(|n| n + 1),
        "{w:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_post_check_run_before_its_id_was_saved_reattaches() -> anyhow::Result<()> {
    // slower clock: the check run (8 simulated minutes) lasts ~2.4 s here
    let b = bench_scaled("default", 0.005).await?;
    let mut flow = stop_when(&b, &b.vi_domain, is("evaluating_prechecks")).await?;
    let Phase::EvaluatingPrechecks { run_id, target, .. } = flow.phase.clone() else {
        anyhow::bail!("unexpected phase {:?}", flow.phase);
    };
    flow.phase = Phase::RunningPrechecks {
        query: upgrade_orchestrator::api::CheckQuery {
            query_id: "lost".into(),
            resources: vec![],
        },
        requested_at: chrono::Utc::now(),
        target,
    };
    Store::open(b.dir.path())?.save(&flow, chrono::Utc::now())?;

    let rec = Arc::new(Recorder::default());
    let (o, t) = b.orchestrator(fast_config(), &rec)?;
    o.resume().await?;
    wait_for(&o, &b.vi_domain, is("evaluating_prechecks")).await?;
    t.cancel();
    o.stopped().await;
    let flow = Store::load_file(&Store::open(b.dir.path())?.path_for(&b.vi_domain.id))?;
    assert!(
        matches!(&flow.phase, Phase::EvaluatingPrechecks { run_id: r, .. } if *r == run_id),
        "{:?}",
        flow.phase
    );
    assert_eq!(
        b.writes().await?.get("POST /v1/system/check-sets"),
        Some(&1)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esxi_of_every_cluster_goes_in_one_cluster_upgrade() -> anyhow::Result<()> {
    let scenario = Scenario::from_toml_str(
        r#"
base = "default"
name = "two-clusters"
[[domains]]
name = "sfo-m01"
type = "MANAGEMENT"
version = "5.2.0.0"
clusters = [{ name = "sfo-m01-cl01", host_count = 2 }, { name = "sfo-m01-cl02", host_count = 2 }]
[[domains]]
name = "sfo-w01"
type = "VI"
version = "5.2.0.0"
clusters = [{ name = "sfo-w01-cl01", host_count = 1 }]
"#,
    )?;
    let b = bench_with(scenario, SCALE).await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.domain, Command::Start).await;
    let v = wait_for(&o, &b.domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    let upgrades = b.client.upgrades().await?;
    let esx: Vec<_> = upgrades
        .iter()
        .filter(|u| u.resource_type.as_deref() == Some("CLUSTER"))
        .collect();
    assert_eq!(esx.len(), 1, "{upgrades:?}");
    assert_eq!(esx[0].resource_upgrade_specs.len(), 2);
    let others = upgrades
        .iter()
        .filter(|u| u.resource_type.as_deref() == Some("DOMAIN"));
    assert!(others.clone().count() >= 3);
    assert!(
        others
            .flat_map(|u| &u.resource_upgrade_specs)
            .all(|s| s.resource_id == b.domain.id)
    );
    Ok(())
}

/// The length of the simulator's request log once it has stopped growing for 200 ms.
async fn settled_log_len(b: &Bench) -> anyhow::Result<usize> {
    let mut len = b.log().await?.len();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = b.log().await?.len();
        if now == len {
            break;
        }
        len = now;
    }
    Ok(len)
}

/// Reads of a finished check-set run through the 9.1 `severity` filter.
async fn severity_filtered_reads(b: &Bench) -> anyhow::Result<usize> {
    Ok(b.log()
        .await?
        .into_iter()
        .filter(|e| e["endpoint"] == "GET /v1/system/check-sets/{id}")
        .filter(|e| e["query"] == "severity=ERROR&severity=WARNING")
        .count())
}

/// Every request in the simulator's log that is not a read or a login / token refresh.
async fn mutating_requests(b: &Bench) -> anyhow::Result<Vec<String>> {
    Ok(b.log()
        .await?
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap_or(""),
                e["path"].as_str().unwrap_or("")
            )
        })
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("POST /v1/tokens"))
        .filter(|r| !r.starts_with("PATCH /v1/tokens"))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_reads_only_and_shows_what_the_flow_sends() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let plan = upgrade_orchestrator::plan(&b.client, &b.domain, &fast_config())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(plan.target_version.is_some(), "{plan:?}");
    assert!(!plan.bundles.is_empty());
    assert!(
        plan.bundles.iter().any(|bu| bu.fallback),
        "fallbacks are listed"
    );
    assert!(
        plan.check_sets.iter().any(|c| c.target_version.is_some()),
        "{:?}",
        plan.check_sets
    );
    assert!(plan.upgradables_listed || !plan.bom.is_empty());
    let text = plan.to_text();
    assert!(text.contains("Bundles to download"), "{text}");
    assert!(text.contains("fallback, never applied"), "{text}");
    assert_eq!(mutating_requests(&b).await?, Vec::<String>::new());
    // Bodies come from the same builder as the flow's `POST /v1/upgrades`.
    for u in plan.upgrades.iter().chain(&plan.sddc_manager_first) {
        if let Some(r) = &u.request {
            assert_eq!(r.endpoint, "POST /v1/upgrades");
            assert_eq!(r.body["bundleId"], u.bundle_id.as_str());
        }
    }
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_upgrade_logs_the_plan_without_starting_a_flow() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    assert_eq!(
        o.command(&b.domain, Command::Plan).await,
        CommandOutcome::Accepted
    );
    let v = o.view(&b.domain);
    assert_eq!(v.status, "waiting_for_initiation");
    assert!(v.logs_markdown.contains("Plan for"), "{}", v.logs_markdown);
    assert_eq!(mutating_requests(&b).await?, Vec::<String>::new());
    // While a flow runs the plan is refused and the flow goes on.
    assert_eq!(
        o.command(&b.domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    let refused = o.command(&b.domain, Command::Plan).await;
    assert!(
        matches!(refused, CommandOutcome::Rejected { .. }),
        "{refused:?}"
    );
    assert!(o.view(&b.domain).in_progress);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_changes_and_never_continues_a_flow() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, token) = b.orchestrator(fast_config(), &rec)?;
    o.set_read_only(true);
    for cmd in [
        Command::Start,
        Command::DownloadBundles,
        Command::Acknowledge,
        Command::Abort,
        Command::SetIgnoreAlerts(true),
    ] {
        let out = o.command(&b.domain, cmd).await;
        assert!(matches!(out, CommandOutcome::Rejected { .. }), "{cmd:?}");
    }
    assert_eq!(
        o.command(&b.domain, Command::Plan).await,
        CommandOutcome::Accepted
    );
    assert_eq!(mutating_requests(&b).await?, Vec::<String>::new());
    token.cancel();
    o.stopped().await;
    // A flow left running is shown, not continued, by a read-only orchestrator.
    let (o, token) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.domain, Command::Start).await;
    wait_for(&o, &b.domain, is("downloading_bundles")).await?;
    token.cancel();
    o.stopped().await;
    // A request the stopped orchestrator had in flight can still reach the simulator's log:
    // count from when the log has been quiet for a moment.
    let before = settled_log_len(&b).await?;
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.set_read_only(true);
    let views = o.resume().await?;
    assert!(views.iter().any(|v| v.in_progress));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.log().await?.len(), before, "nothing sent after resume");
    assert!(o.view(&b.domain).in_progress);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_upgrades_are_created_with_upgrade_now_by_default() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.domain, Command::Start).await;
    wait_for(&o, &b.domain, is("successfully_completed")).await?;
    let w = assert_no_duplicates(&b).await?;
    // no draft, no per-upgrade precheck, no commit
    assert!(
        !w.keys()
            .any(|k| k.starts_with("PATCH /v1/upgrades/") || k.ends_with("/prechecks")),
        "{w:?}"
    );
    let posts = b.bodies("POST", "/v1/upgrades").await?;
    assert_eq!(posts.len(), 5, "{posts:?}");
    for body in &posts {
        assert!(body.get("draftMode").is_none(), "{body}");
        let specs = body["resourceUpgradeSpecs"].as_array().expect("specs");
        assert!(!specs.is_empty());
        for spec in specs {
            assert_eq!(spec["upgradeNow"], true, "{body}");
        }
    }
    // SDDC Manager, NSX and vCenter: exactly the body PowerVCF and VMware's scripts send
    let domain_bodies: Vec<&Value> = posts
        .iter()
        .filter(|p| p["resourceType"] == "DOMAIN")
        .collect();
    assert_eq!(domain_bodies.len(), 4, "{posts:?}");
    for body in domain_bodies {
        assert_eq!(
            body,
            &serde_json::json!({
                "bundleId": body["bundleId"],
                "resourceType": "DOMAIN",
                "resourceUpgradeSpecs": [{"resourceId": b.domain.id, "upgradeNow": true}],
            })
        );
    }
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_sets_are_queried_twice_and_run_with_the_spec_fields_only() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.domain, Command::Start).await;
    wait_for(&o, &b.domain, is("starting_upgrades")).await?;
    let id = b.domain.id.as_str();
    // the target BOM, by component
    let future = b.client.future_releases(id).await?;
    let target = future
        .iter()
        .find(|r| r.version == "5.2.1.0")
        .expect("5.2.1.0 offered");
    let bom = |name: &str| {
        target
            .bom
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.version.clone())
            .expect("in the BOM")
    };
    let expected_target = |resource_type: &str| match resource_type {
        "SDDC_MANAGER" => bom("SDDC_MANAGER_VCF"),
        "NSX_T_MANAGER" => bom("NSX_T_MANAGER"),
        "VCENTER" => bom("VCENTER"),
        _ => bom("ESX_HOST"),
    };

    let queries = b.bodies("POST", "/v1/system/check-sets/queries").await?;
    assert_eq!(queries.len(), 2, "{queries:?}");
    // 1. discovery: the domain only
    assert_eq!(
        queries[0],
        serde_json::json!({"checkSetType": "UPGRADE", "domains": [{"domainId": id}]})
    );
    // 2. every discovered resource with its target version from the BOM
    let wanted = queries[1]["domains"][0]["resources"]
        .as_array()
        .expect("resources")
        .clone();
    let types: Vec<&str> = wanted
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        ["SDDC_MANAGER", "NSX_T_MANAGER", "VCENTER", "CLUSTER"]
    );
    for r in &wanted {
        let ty = r["resourceType"].as_str().unwrap_or("");
        assert_eq!(
            r,
            &serde_json::json!({
                "resourceType": ty,
                "resourceId": r["resourceId"],
                "resourceTargetVersion": expected_target(ty),
            })
        );
    }

    let runs = b.bodies("POST", "/v1/system/check-sets").await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let keys: Vec<&str> = run
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    // `metadata` (the 9.1 SDK's) is in neither spec: a 5.2 SDDC Manager is not sent it.
    assert_eq!(keys, ["queryId", "resources"]);
    for r in run["resources"].as_array().expect("resources") {
        let mut keys: Vec<&str> = r
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "checkSets",
                "domain",
                "resourceId",
                "resourceName",
                "resourceType"
            ]
        );
        // `SelectedCheckSetCandidate` has only `checkSetId`
        for c in r["checkSets"].as_array().expect("checkSets") {
            assert_eq!(c.as_object().map(|o| o.len()), Some(1), "{c}");
            assert!(c["checkSetId"].is_string());
        }
    }
    // the 9.1 severity filter is in neither the 5.2.1 nor the 9.0.2 spec: a 5.2 SDDC Manager
    // is never sent it
    assert_eq!(severity_filtered_reads(&b).await?, 0);
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_cluster_waits_for_its_image_across_a_restart_then_upgrades_with_it()
-> anyhow::Result<()> {
    let b = bench("vlcm-images").await?;
    let rec = Arc::new(Recorder::default());
    let (o, t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.domain, Command::Start).await;
    let waiting = |v: &FlowView| v.phase_detail.as_deref() == Some("waiting_for_cluster_image");
    let v = wait_for(&o, &b.domain, waiting).await?;
    assert_eq!(v.status, "starting_upgrades");
    let notes: Vec<String> = rec
        .notes
        .lock()
        .expect("lock")
        .iter()
        .filter(|n| n.1 == NotificationKind::AcknowledgementNeeded)
        .map(|n| n.2.clone())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("sfo-m01-cl01"), "{}", notes[0]);
    assert!(notes[0].contains("ESXi 8.0.3-24280767"), "{}", notes[0]);
    // the ESXi upgrade was not started: no refused request either
    let cluster_posts = |log: &[Value]| {
        log.iter()
            .filter(|e| e["method"] == "POST" && e["path"] == "/v1/upgrades")
            .filter(|e| e["body"]["resourceType"] == "CLUSTER")
            .count()
    };
    assert_eq!(cluster_posts(&b.log().await?), 0);

    // a restart in the wait: still waiting, still no CLUSTER upgrade
    t.cancel();
    o.stopped().await;
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.resume().await?;
    wait_for(&o, &b.domain, |v| {
        waiting(v) && v.logs_markdown.contains("Bridge restarted")
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(waiting(&o.view(&b.domain)));
    assert_eq!(cluster_posts(&b.log().await?), 0);

    // the image is imported: the flow continues by itself
    let image: Value = b
        .http
        .post(format!("{}/sim/personalities", b.sim.url))
        .json(
            &serde_json::json!({"name": "esx-803-24280767", "esxi_version": "8.0.3-0.35.24280767"}),
        )
        .send()
        .await?
        .json()
        .await?;
    let v = wait_for(&o, &b.domain, is("successfully_completed")).await?;
    assert!(v.last_error.is_none());
    let posts = b.bodies("POST", "/v1/upgrades").await?;
    let esx: Vec<&Value> = posts
        .iter()
        .filter(|p| p["resourceType"] == "CLUSTER")
        .collect();
    assert_eq!(esx.len(), 1, "{posts:?}");
    let cluster = b
        .client
        .clusters()
        .await?
        .into_iter()
        .find(|c| c.name == "sfo-m01-cl01")
        .expect("cluster");
    assert_eq!(
        esx[0],
        &serde_json::json!({
            "bundleId": esx[0]["bundleId"],
            "resourceType": "CLUSTER",
            "resourceUpgradeSpecs": [{
                "resourceId": cluster.id,
                "upgradeNow": true,
                "personalitySpec": {"personalityId": image["personalityId"]},
            }],
        })
    );
    assert_no_duplicates(&b).await?;
    assert_requests_conform(&b, BOTH_SPECS).await?;
    Ok(())
}

// === VCF 9.x ===

/// `[upgrade.temporary_network."<domain>"]` for `domain`.
fn with_temporary_network(mut cfg: OrchestratorConfig, domain: &str) -> OrchestratorConfig {
    cfg.temporary_network.insert(
        domain.to_owned(),
        upgrade_orchestrator::TemporaryNetwork {
            ip_address: Some("172.16.12.98".into()),
            subnet_mask: Some("255.255.255.0".into()),
            gateway: Some("172.16.12.1".into()),
            ..Default::default()
        },
    );
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_management_domain_upgrades_to_9_1() -> anyhow::Result<()> {
    let b = bench("vcf9").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    assert_eq!(
        o.command(&b.domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    let v = wait_for(&o, &b.domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    // 9.x names the validation's warnings `WARNING`: completed, the warning logged.
    assert!(v.logs_markdown.contains("WARNING"), "{}", v.logs_markdown);
    assert_in_order(&rec.statuses(&b.domain.id), &FULL_FLOW[..11]);
    // The SDDC Manager restarted into 9.1: the first upgradables request answered 409
    // (inventory cache not seeded) and was retried.
    let log = b.log().await?;
    assert!(
        log.iter().any(|e| e["status"] == 409
            && e["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/v1/upgradables/domains/"))),
        "no 409 in the request log"
    );
    let w = assert_no_duplicates(&b).await?;
    // SDDC Manager, NSX, vCenter (9.0 -> 9.1: no temporary network needed), ESXi.
    assert_eq!(w.get("POST /v1/upgrades"), Some(&4), "{w:?}");
    // The prechecks ran after SDDC Manager was on 9.1: the result was also read through the
    // 9.1 severity filter.
    assert_eq!(severity_filtered_reads(&b).await?, 1);
    let rel = b.client.releases(Some(&b.domain.id)).await?;
    assert!(rel.iter().any(|r| r.version == "9.1.0.0"), "{rel:?}");
    assert_eq!(
        b.client
            .detect_sddc_manager_version()
            .await?
            .as_deref()
            .map(|v| v.starts_with("9.1.0.0")),
        Some(true)
    );
    // Against the 9.0.2 spec, only the two 9.1 additions of the 9.1 SDK differ, and they were
    // sent because SDDC Manager was on 9.1 by then.
    let nine_one = [
        "9.0.2 GET /v1/system/check-sets/{runId}: query parameter severity is not in the spec",
        "9.0.2 POST /v1/system/check-sets: field metadata is not in the schema",
    ];
    assert_eq!(requests_against(&b, "9.0.2").await?, nine_one);
    let runs = b.bodies("POST", "/v1/system/check-sets").await?;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["metadata"]["targetVersion"], "9.1.0.0");
    for m in runs[0]["metadata"]["resources"]
        .as_array()
        .expect("metadata")
    {
        assert_eq!(m["domainId"], b.domain.id.as_str(), "{m}");
        assert!(m["targetVersion"].is_string(), "{m}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_vcenter_major_upgrade_carries_the_temporary_network() -> anyhow::Result<()> {
    let b = bench("vcf9").await?;
    let rec = Arc::new(Recorder::default());
    let cfg = with_temporary_network(fast_config(), &b.vi_domain.name);
    let (o, _t) = b.orchestrator(cfg, &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    // The simulator refuses a vCenter 8 -> 9 upgrade without `temporaryNetwork`.
    assert_eq!(v.status, "successfully_completed", "{:?}", v.last_error);
    assert!(
        v.logs_markdown.contains("temporary network 172.16.12.98"),
        "{}",
        v.logs_markdown
    );
    let w = assert_no_duplicates(&b).await?;
    // NSX, vCenter, ESXi (SDDC Manager is already on 9.0.1.0).
    assert_eq!(w.get("POST /v1/upgrades"), Some(&3), "{w:?}");
    let rel = b.client.releases(Some(&b.vi_domain.id)).await?;
    assert!(rel.iter().any(|r| r.version == "9.0.1.0"), "{rel:?}");
    assert_requests_conform(&b, &["9.0.2"]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_vcenter_major_upgrade_without_temporary_network_stops_before_vcenter()
-> anyhow::Result<()> {
    let b = bench("vcf9").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    o.command(&b.vi_domain, Command::Start).await;
    let v = wait_for(&o, &b.vi_domain, |v| {
        v.status == "successfully_completed" || v.status == "failed"
    })
    .await?;
    assert_eq!(v.status, "failed");
    let err = v.last_error.clone().unwrap_or_default();
    assert!(
        err.contains(r#"[upgrade.temporary_network."sfo-w01"]"#),
        "{err}"
    );
    // NSX was upgraded; nothing was started for vCenter.
    let w = b.writes().await?;
    assert_eq!(w.get("POST /v1/upgrades"), Some(&1), "{w:?}");
    let upgrades = b.client.upgrades().await?;
    assert_eq!(upgrades.len(), 1, "{upgrades:?}");
    let vcenter_bundles: Vec<String> = b
        .client
        .bundles()
        .await?
        .into_iter()
        .filter(|bd| {
            bd.components
                .iter()
                .any(|c| c.kind.as_deref() == Some("VCENTER"))
        })
        .map(|bd| bd.id)
        .collect();
    assert!(
        upgrades
            .iter()
            .all(|u| !vcenter_bundles.contains(&u.bundle_id.clone().unwrap_or_default())),
        "a vCenter upgrade was started"
    );
    Ok(())
}

/// The state directory turns into a file under the running orchestrator (every write then fails
/// with ENOTDIR, for root too): the flow's view carries `state_error`, the first download is not
/// requested while the state that asks for it cannot be saved, and once the directory is back
/// the problem clears by itself and the flow completes without a duplicated request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_cannot_be_saved_holds_every_new_step_until_it_can() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let rec = Arc::new(Recorder::default());
    let (o, _t) = b.orchestrator(fast_config(), &rec)?;
    let dir = b.dir.path().to_owned();
    let aside = dir.with_extension("aside");
    std::fs::rename(&dir, &aside)?;
    std::fs::write(&dir, b"not a directory")?;
    assert_eq!(
        o.command(&b.domain, Command::Start).await,
        CommandOutcome::Accepted
    );
    let held = wait_for(&o, &b.domain, |v| {
        v.status == "downloading_bundles" && v.state_error.is_some()
    })
    .await?;
    let why = held.state_error.clone().unwrap_or_default();
    assert!(why.contains("flow-"), "{why}");
    // the bundles' states were read: the next thing is a download request, which waits
    let bundle_read = |log: &[Value]| {
        log.iter().any(|e| {
            e["method"] == "GET"
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/bundles/"))
        })
    };
    let start = Instant::now();
    while !bundle_read(&b.log().await?) {
        anyhow::ensure!(start.elapsed() < PATIENCE, "the bundles were never read");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        mutating_requests(&b).await?.is_empty(),
        "a request changed VCF while the state could not be saved"
    );
    let restored_at = b.log().await?.len();
    std::fs::remove_file(&dir)?;
    std::fs::rename(&aside, &dir)?;
    wait_for(&o, &b.domain, |v| v.state_error.is_none()).await?;
    wait_for(&o, &b.domain, is("successfully_completed")).await?;
    let log = b.log().await?;
    let first_write = log.iter().position(|e| {
        e["method"] != "GET" && !e["path"].as_str().unwrap_or("").starts_with("/v1/tokens")
    });
    assert!(
        first_write.is_some_and(|i| i >= restored_at),
        "a write came before the state directory was back (at {first_write:?}, restored at {restored_at})"
    );
    assert_no_duplicates(&b).await?;
    assert!(Store::open(&dir)?.path_for(&b.domain.id).exists());
    Ok(())
}
