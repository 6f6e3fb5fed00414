//! Upgrade All Domains ([`Sequencer`]) over the real orchestrator and the simulator: Abort stops
//! the sequence and the waiting flow, Retry continues it; the domain gate (the readiness hook)
//! stops the sequence before a domain with its reason.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use upgrade_orchestrator::sequence::{DomainGate, SequenceView, Sequencer};
use upgrade_orchestrator::{
    DomainRef, FlowObserver, FlowView, Notification, Orchestrator, OrchestratorConfig,
};
use vcf_client::{ClientConfig, VcfClient};
use vcf_sim::{Scenario, SimOptions};

const SCALE: f64 = 0.0003;
const PATIENCE: Duration = Duration::from_secs(120);

struct Quiet;
impl FlowObserver for Quiet {
    fn flow_changed(&self, _view: &FlowView) {}
    fn notify(&self, _domain: &DomainRef, _n: &Notification) {}
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

struct Bench {
    _sim: vcf_sim::SimServer,
    orch: Orchestrator,
    seq: Sequencer,
    views: Arc<Mutex<Vec<SequenceView>>>,
    _dir: tempfile::TempDir,
    _token: CancellationToken,
}

async fn bench(scenario: &str) -> anyhow::Result<Bench> {
    let sim = vcf_sim::start(
        Scenario::builtin(scenario)?,
        SimOptions {
            listen: "127.0.0.1:0".parse()?,
            tls: false,
            time_scale: SCALE,
        },
    )
    .await?;
    let mut cfg = ClientConfig::new(sim.url.clone(), sim.username.clone(), sim.password.as_str());
    cfg.request_timeout = Duration::from_secs(5);
    let client = VcfClient::new(cfg)?;
    let dir = tempfile::tempdir()?;
    let token = CancellationToken::new();
    let orch = Orchestrator::new(
        client,
        fast_config(),
        dir.path().to_owned(),
        Arc::new(Quiet),
        token.clone(),
    )?;
    let views: Arc<Mutex<Vec<SequenceView>>> = Arc::default();
    let sink = views.clone();
    let seq = Sequencer::new(
        orch.clone(),
        dir.path(),
        Arc::new(move |v: &SequenceView| sink.lock().expect("lock").push(v.clone())),
        token.clone(),
    );
    seq.resume(true);
    Ok(Bench {
        _sim: sim,
        orch,
        seq,
        views,
        _dir: dir,
        _token: token,
    })
}

impl Bench {
    async fn wait(&self, what: &str, pred: impl Fn(&SequenceView) -> bool) -> SequenceView {
        let start = Instant::now();
        loop {
            let v = self.seq.view();
            if pred(&v) {
                return v;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting for {what}: {v:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn flow(&self, name: &str) -> FlowView {
        self.orch
            .views()
            .into_iter()
            .find(|f| f.domain_name == name)
            .unwrap_or_else(|| panic!("no flow for {name}"))
    }
}

/// The management domain waits for its precheck warnings to be acknowledged: Abort Upgrade All
/// aborts that flow and starts nothing else; Retry Upgrade All starts the management domain's
/// flow again and, once acknowledged, goes on to the VI domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_the_sequence_and_its_waiting_flow_and_retry_continues() -> anyhow::Result<()> {
    let b = bench("precheck-warnings").await?;
    b.seq.start().await.map_err(anyhow::Error::msg)?;
    b.wait("the management flow to wait for acknowledgement", |_| {
        b.orch
            .views()
            .iter()
            .any(|f| f.domain_name == "sfo-m01" && f.status == "waiting_for_alert_acknowledgement")
    })
    .await;
    // A second press while it runs is refused and says so.
    let again = b.seq.start().await.expect_err("already running");
    assert!(again.contains("already running"), "{again}");

    b.seq.abort().await.map_err(anyhow::Error::msg)?;
    let aborted = b.seq.view();
    assert_eq!(aborted.status, "aborted");
    assert_eq!(aborted.current_domain.as_deref(), Some("sfo-m01"));
    assert_eq!(aborted.last_error.as_deref(), Some("aborted"));
    let m01 = b.flow("sfo-m01");
    assert_eq!(
        (m01.status.as_str(), m01.last_error.as_deref()),
        ("failed", Some("aborted"))
    );
    // Nothing starts after the abort.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.orch
            .views()
            .iter()
            .all(|f| f.domain_name != "sfo-w01" || !f.in_progress),
        "sfo-w01 started after the abort"
    );
    assert_eq!(b.seq.view().status, "aborted");

    // Retry: the aborted flow starts again; acknowledging lets both domains finish.
    b.seq.retry().await.map_err(anyhow::Error::msg)?;
    assert_eq!(b.seq.view().status, "running");
    for name in ["sfo-m01", "sfo-w01"] {
        let d = b
            .orch
            .views()
            .into_iter()
            .map(|f| DomainRef {
                id: f.domain_id,
                name: f.domain_name,
            })
            .find(|d| d.name == name);
        let start = Instant::now();
        let d = match d {
            Some(d) => d,
            None => loop {
                // The VI domain's flow appears once the sequence starts it.
                if let Some(f) = b.orch.views().into_iter().find(|f| f.domain_name == name) {
                    break DomainRef {
                        id: f.domain_id,
                        name: f.domain_name,
                    };
                }
                assert!(start.elapsed() < PATIENCE, "{name} never started");
                tokio::time::sleep(Duration::from_millis(20)).await;
            },
        };
        loop {
            let f = b.orch.view(&d);
            if f.status == "waiting_for_alert_acknowledgement" {
                let out = b
                    .orch
                    .command(&d, upgrade_orchestrator::Command::Acknowledge)
                    .await;
                assert!(out.is_accepted(), "{out:?}");
                break;
            }
            // The aborted flow of sfo-m01 shows `failed` until the sequence starts it again.
            let stale_abort = f.last_error.as_deref() == Some("aborted");
            assert!(
                f.status != "failed" || stale_abort,
                "{name} failed: {:?}",
                f.last_error
            );
            assert!(
                start.elapsed() < PATIENCE,
                "{name} never waited for acknowledgement"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let done = b
        .wait("the sequence to end", |v| {
            v.status == "completed" || v.status == "failed"
        })
        .await;
    assert_eq!(done.status, "completed", "{done:?}");
    assert_eq!((done.domains_done, done.domains_total), (2, 2));
    // Every state was published to the observer, the last one the completed sequence.
    assert_eq!(
        b.views
            .lock()
            .expect("lock")
            .last()
            .map(|v| v.status.clone()),
        Some("completed".to_owned())
    );
    Ok(())
}

/// The domain gate (where a readiness check plugs in) refuses the VI domain: the management
/// domain is upgraded, then the sequence stops before the VI domain with the gate's reason and
/// never starts its flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_gate_stops_the_sequence_before_a_refused_domain() -> anyhow::Result<()> {
    let b = bench("default").await?;
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = asked.clone();
    let gate: DomainGate = Arc::new(move |d: &DomainRef| {
        seen.lock().expect("lock").push(d.name.clone());
        if d.name == "sfo-w01" {
            Err("readiness: an account's password has expired".to_owned())
        } else {
            Ok(())
        }
    });
    b.seq.set_gate(gate);
    b.seq.start().await.map_err(anyhow::Error::msg)?;
    let stopped = b
        .wait("the sequence to stop", |v| {
            v.status == "failed" || v.status == "completed"
        })
        .await;
    assert_eq!(stopped.status, "failed", "{stopped:?}");
    assert_eq!(stopped.domains[0].result, "upgraded");
    assert_eq!(stopped.domains[1].result, "failed");
    assert_eq!(
        stopped.last_error.as_deref(),
        Some("sfo-w01: readiness: an account's password has expired")
    );
    assert_eq!(*asked.lock().expect("lock"), ["sfo-m01", "sfo-w01"]);
    assert!(
        b.orch.views().iter().all(|f| f.domain_name != "sfo-w01"),
        "the refused domain's flow was started"
    );
    Ok(())
}
