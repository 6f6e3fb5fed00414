//! DataCenter Assistant bridge: VMware Cloud Foundation in Home Assistant over MQTT.
//!
//! # Layout
//! - [`config`]: figment layering (defaults → TOML → `DCA_*` env), validation, exit code 64.
//! - [`topics`]: every MQTT topic, built in one place; slugging.
//! - [`model`]: the bridge's view of one SDDC Manager (inventory, updates, flows, connectivity).
//! - [`ha`]: Home Assistant discovery payloads and the renderer from model to configs/states.
//! - [`mqtt`]: client options (LWT, TLS) and the task that owns `EventLoop::poll()`.
//! - [`hub`]: owns the model, publishes only changes, re-announces on ConnAck and HA birth.
//! - [`messages`]: what the tasks send each other (hub messages, command requests, the domain
//!   directory).
//! - [`changes`]: payload fingerprints and the topics that changed or vanished.
//! - [`sweep`]: the start-up sweep of what an earlier run left retained (decisions only).
//! - [`monitor`]: the updates and resources loops over `vcf-client`.
//! - [`commands`]: command-topic validation and dispatch (retained commands never act).
//! - [`upgrade`]: the orchestrator's observer and command routing.
//! - [`plan`]: the `plan` subcommand (what an upgrade would do, read only).
//! - [`readiness`]: upgrade readiness (credentials, certificates, backup, depot, failed tasks),
//!   its poll, the Override Readiness switches, Back Up Now and Retry Task.
//! - [`demo`]: `vcf-mqtt-bridge demo` (in-process simulator and, if needed, broker).
//! - [`observability`]: `/healthz`, `/readyz`, `/metrics`.

pub mod changes;
pub mod commands;
pub mod config;
pub mod demo;
pub mod ha;
pub mod hub;
pub mod messages;
pub mod model;
pub mod monitor;
pub mod mqtt;
pub mod observability;
pub mod pacing;
pub mod plan;
pub mod readiness;
pub mod sweep;
pub mod topics;
pub mod upgrade;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rumqttc::v5::mqttbytes::QoS;
use secrecy::SecretString;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};
use upgrade_orchestrator::Orchestrator;
use vcf_client::{ClientConfig, TlsOptions, VcfClient};

pub use config::{Config, ConfigError};

use crate::commands::CommandContext;
use crate::ha::entities::RenderContext;
use crate::hub::Hub;
use crate::messages::{DomainDirectory, HubMsg};
use crate::monitor::Monitor;
use crate::observability::{Metrics, MetricsSet};
use crate::topics::Topics;

/// How long background tasks get to finish after shutdown is requested.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the SDDC Manager client from the config.
///
/// # Errors
/// When the client cannot be created (bad URL, CA file, pin).
pub fn vcf_client(config: &Config, metrics: Option<Arc<Metrics>>) -> anyhow::Result<VcfClient> {
    let password = config
        .vcf
        .password
        .clone()
        .unwrap_or_else(|| SecretString::from(String::new()));
    let mut cc = ClientConfig::new(
        config.vcf.url.clone(),
        config.vcf.username.clone(),
        password,
    );
    cc.tls = TlsOptions {
        ca_file: config.vcf.ca_file.clone(),
        ca_pem: None,
        pin_sha256: config.vcf.pin_sha256.clone(),
        insecure: config.vcf.insecure,
    };
    cc.request_timeout = config.vcf.request_timeout;
    cc.login_backoff = config.vcf.login_backoff;
    cc.observer = metrics.map(|m| m as Arc<dyn vcf_client::RequestObserver>);
    VcfClient::new(cc).context("creating the SDDC Manager client")
}

/// Runs the bridge until `shutdown` is cancelled, then drains (bounded), publishes `offline`
/// (retained) and disconnects. Stopping never stops a VCF upgrade: flows are persisted in
/// `state_dir` and resumed on the next start.
///
/// Each SDDC Manager of the configuration ([`Config::instances`]) runs on its own: its own MQTT
/// connection (client id per instance), device, monitoring, flows and state directory, so that
/// one that is slow or unreachable never delays another. One `/healthz`, `/readyz` and
/// `/metrics` listener serves them all.
///
/// # Errors
/// Start-up failures (client, state directory, orchestrator) of any instance; runtime problems
/// are logged and retried instead.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let instances = config.instances();
    let ids: Vec<String> = instances.iter().map(Config::instance_id).collect();
    let metrics = MetricsSet::for_instances(&ids);
    // Everything that can fail at start-up is checked for every instance before any starts.
    for instance in &instances {
        vcf_client(instance, None)
            .with_context(|| format!("SDDC Manager {}", instance.instance_id()))?;
        prepare_state_dir(instance)?;
    }
    if instances.len() > 1 {
        info!(instances = ?ids, "serving {} SDDC Managers", instances.len());
        adopt_single_instance_state(&config.state_dir, &instances[0]);
    }
    let http = config.http.listen.map(|listen| {
        let set = metrics.clone();
        let token = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = observability::serve(listen, set, token).await {
                warn!("health/metrics listener failed: {e:#}");
            }
        })
    });
    let runs = instances
        .into_iter()
        .zip(
            metrics
                .members()
                .map(|(_, m)| m.clone())
                .collect::<Vec<_>>(),
        )
        .map(|(instance, m)| run_instance(instance, m, shutdown.clone()));
    let results = futures::future::join_all(runs).await;
    if let Some(task) = http {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    results.into_iter().collect()
}

fn prepare_state_dir(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.state_dir).with_context(|| {
        format!(
            "creating state_dir {} (set state_dir or DCA_STATE_DIR)",
            config.state_dir.display()
        )
    })
}

/// A bridge that served one SDDC Manager kept its flow files in `state_dir` itself; when its
/// configuration becomes a `[[sddc_managers]]` list, those files belong to the first entry (the
/// documented rule), whose own directory is `state_dir/<instance_id>`. They are moved there once,
/// before any flow starts, so that an unfinished upgrade is resumed, never lost or duplicated.
fn adopt_single_instance_state(root: &std::path::Path, first: &Config) {
    if first.state_dir == root {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let ours = (text.starts_with("flow-") && text.ends_with(".json"))
            || text == "sequence.json"
            || text == "readiness-overrides.json";
        if !(ours && entry.path().is_file()) {
            continue;
        }
        let target = first.state_dir.join(&name);
        if target.exists() {
            warn!(
                file = %entry.path().display(),
                "a single-instance flow file is left where it is: {} already has one for that domain",
                first.state_dir.display()
            );
            continue;
        }
        match std::fs::rename(entry.path(), &target) {
            Ok(()) => info!(
                from = %entry.path().display(),
                to = %target.display(),
                "moved a single-instance flow file to the first SDDC Manager's state directory"
            ),
            Err(e) => warn!(
                file = %entry.path().display(),
                "could not move a single-instance flow file to {}: {e}",
                first.state_dir.display()
            ),
        }
    }
}

/// Runs the bridge of one SDDC Manager until `shutdown` (see [`run`]).
async fn run_instance(
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let instance = config.instance_id();
    let topics = Topics::new(
        &config.mqtt.base_topic,
        &config.mqtt.discovery_prefix,
        &instance,
    );
    let client = vcf_client(&config, Some(metrics.clone()))?;
    info!(
        instance,
        url = %config.vcf.url,
        broker = %format!("{}:{}", config.mqtt.host, config.mqtt.port),
        "starting DataCenter Assistant bridge"
    );
    if let Some(why) = config::plain_http_warning(&config.vcf.url) {
        warn!("{why}");
    }

    prepare_state_dir(&config)?;

    let (hub_tx, hub_rx) = mpsc::unbounded_channel::<HubMsg>();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let tasks = TaskTracker::new();
    // Orchestrator tasks get their own token: they stop (and persist) when we stop.
    let orch_token = shutdown.child_token();
    let observer = upgrade::BridgeObserver::new(hub_tx.clone());
    let sequencer_slot = observer.sequencer_slot();
    let orchestrator = Orchestrator::new(
        client.clone(),
        config.upgrade.orchestrator.clone(),
        config.state_dir.clone(),
        Arc::new(observer),
        orch_token.clone(),
    )
    .context("starting the upgrade orchestrator")?;
    orchestrator.set_read_only(config.read_only);
    if let Ok(setting) = std::env::var(upgrade_orchestrator::clock::TEST_CLOCK_ENV) {
        let clock = upgrade_orchestrator::clock::Clock::parse_test_setting(&setting)
            .map_err(anyhow::Error::msg)?;
        tracing::error!(
            setting,
            "{} is set: upgrade flows run on a SIMULATED clock (for tests only; unset it)",
            upgrade_orchestrator::clock::TEST_CLOCK_ENV
        );
        orchestrator.set_clock(clock);
    }
    let sequencer = {
        let hub = hub_tx.clone();
        upgrade_orchestrator::sequence::Sequencer::new(
            orchestrator.clone(),
            &config.state_dir,
            Arc::new(move |view| {
                let _ = hub.send(HubMsg::Sequence(
                    serde_json::to_value(view).unwrap_or_default(),
                ));
            }),
            orch_token.clone(),
        )
    };
    let _ = sequencer_slot.set(sequencer.clone());
    if config.read_only {
        info!("read_only = true: monitoring only; commands that change VCF are refused");
    }

    // MQTT
    let mqtt_stop = CancellationToken::new();
    let opts = mqtt::options(&config, &topics)?;
    let (mqtt_tx, mut mqtt_rx) = mpsc::unbounded_channel();
    let (mqtt_client, mqtt_task) = mqtt::spawn(opts, mqtt_tx, mqtt_stop.clone());
    {
        let hub_tx = hub_tx.clone();
        let topics = topics.clone();
        tokio::spawn(async move {
            while let Some(ev) = mqtt_rx.recv().await {
                // While the start-up sweep is subscribed to our discovery and state topics, the
                // broker echoes everything we publish there; dropping the echoes here keeps
                // thousands of them from queueing behind the hub during the first announcement.
                if let mqtt::MqttEvent::Message { topic, retain, .. } = &ev
                    && sweep::is_echo(&topics, topic, *retain)
                {
                    continue;
                }
                if hub_tx.send(HubMsg::Mqtt(ev)).is_err() {
                    break;
                }
            }
        });
    }

    let check_now = Arc::new(Notify::new());

    // Hub
    let directory: DomainDirectory = Arc::default();
    let rc = RenderContext {
        topics: topics.clone(),
        vcf_url: config.vcf.url.clone(),
        allow_update_install: config.upgrade.allow_update_install,
        readiness: config.readiness.enabled,
    };
    let hub = Hub::new(
        rc,
        mqtt_client.clone(),
        directory.clone(),
        cmd_tx,
        Some(upgrade::flow_source(orchestrator.clone())),
        metrics.clone(),
        check_now.clone(),
    )
    .with_pacing(config.mqtt.publish_rate, config.mqtt.state_refresh);
    let hub_task = tokio::spawn(hub.run(hub_rx));

    // Readiness: the switches as left, the board the command task reads.
    let (overrides, problem) = readiness::overrides::Overrides::load(&config.state_dir);
    if let Some(problem) = problem {
        warn!("{problem}");
    }
    for id in overrides.all() {
        let _ = hub_tx.send(HubMsg::ReadinessOverride(id, true));
    }
    let board: readiness::Board = Arc::default();
    // Upgrade All Domains starts no domain that readiness blocks, unless its Override Readiness
    // switch is on: the same gate as a domain's own Start Upgrade.
    if config.readiness.enabled {
        let board = board.clone();
        let overrides = overrides.clone();
        sequencer.set_gate(Arc::new(
            move |d: &upgrade_orchestrator::notify::DomainRef| {
                let blocking: Vec<String> = {
                    let report = board.read().unwrap_or_else(|e| e.into_inner());
                    report
                        .as_ref()
                        .and_then(|r| r.domains.get(&d.id))
                        .map(|s| s.blocking().into_iter().map(str::to_owned).collect())
                        .unwrap_or_default()
                };
                if blocking.is_empty() || overrides.is_on(&d.id) {
                    Ok(())
                } else {
                    Err(format!(
                        "{} is blocked: {}; fix the cause, or turn its Override Readiness on",
                        d.name,
                        blocking.join("; ")
                    ))
                }
            },
        ));
    }

    // Resume unfinished flows (re-attaches to running VCF tasks instead of starting them again).
    {
        let orch = orchestrator.clone();
        let seq = sequencer.clone();
        let read_only = config.read_only;
        tasks.spawn(async move {
            match orch.resume().await {
                Ok(views) if !views.is_empty() => {
                    info!(flows = views.len(), "resumed unfinished upgrade flows");
                }
                Ok(_) => {}
                Err(e) => warn!("could not resume upgrade flows: {e:#}"),
            }
            // After the flows, so a domain whose flow was resumed is followed, not started
            // again. Read-only: shown as it was left, never continued.
            seq.resume(!read_only);
        });
    }

    // Monitoring
    let monitor = Monitor {
        client: client.clone(),
        hub: hub_tx.clone(),
        metrics: metrics.clone(),
        check_now: check_now.clone(),
        recovered: Arc::new(Notify::new()),
        readiness: config.readiness.enabled.then(|| {
            let (feed, problem) = readiness::notices::Feed::load(&config.state_dir);
            if let Some(problem) = problem {
                warn!("{problem}");
            }
            (
                readiness::poll::Poller::new(client.clone(), config.readiness.thresholds())
                    .with_feed(feed),
                board.clone(),
            )
        }),
    };
    tasks.spawn(
        monitor
            .clone()
            .resources_loop(config.poll.resources, shutdown.clone()),
    );
    tasks.spawn(monitor.updates_loop(config.poll.updates, shutdown.clone()));

    // Commands
    let refresh_client = client.clone();
    let refresh_hub = hub_tx.clone();
    let cx = CommandContext {
        directory,
        check_now: check_now.clone(),
        refresh_token: Arc::new(move || {
            let c = refresh_client.clone();
            let hub = refresh_hub.clone();
            Box::pin(async move {
                let result = c.login().await.map_err(|e| format!("{e:#}"));
                match &result {
                    Ok(()) => info!(expires_at = ?c.token_expires_at(), "token refreshed"),
                    Err(e) => warn!("token refresh failed: {e}"),
                }
                let _ = hub.send(HubMsg::Token {
                    expires_at: c.token_expires_at(),
                    obtained_at: c.token_obtained_at(),
                    refresh_result: Some(result),
                });
            })
        }),
        upgrades: Some(Arc::new(upgrade::OrchestratorActions(orchestrator.clone()))),
        allow_update_install: config.upgrade.allow_update_install,
        read_only: config.read_only,
        hub: hub_tx.clone(),
        readiness: config
            .readiness
            .enabled
            .then(|| commands::ReadinessContext {
                board,
                overrides,
                actions: Arc::new(readiness::actions::ClientActions {
                    client: client.clone(),
                    hub: hub_tx.clone(),
                    check_now: check_now.clone(),
                    poll: config.poll.resources.min(Duration::from_secs(5)),
                    shutdown: shutdown.clone(),
                }),
            }),
        sequence: Some(sequencer.clone()),
    };
    tasks.spawn(commands::run(cx, cmd_rx, shutdown.clone()));

    tasks.close();

    shutdown.cancelled().await;
    info!("shutting down: stopping monitoring (running VCF upgrades continue in VCF)");
    // Orchestrator tasks stop at their next await and have persisted every transition; wait for
    // them (bounded) so no state write is cut short. The VCF upgrade itself keeps running.
    let drain = async {
        tasks.wait().await;
        orchestrator.stopped().await;
        sequencer.stopped().await;
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        warn!(
            "background tasks did not finish within {}s; continuing shutdown",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    hub_task.abort();

    // The LWT only fires on an unclean loss: say offline ourselves, then disconnect.
    let goodbye = async {
        mqtt_client
            .publish(topics.bridge_state(), QoS::AtLeastOnce, true, "offline")
            .await?;
        mqtt_client.disconnect().await
    };
    if let Err(e) = tokio::time::timeout(Duration::from_secs(2), goodbye)
        .await
        .unwrap_or(Ok(()))
    {
        warn!("could not publish offline: {e:#}");
    }
    if tokio::time::timeout(Duration::from_secs(3), mqtt_task)
        .await
        .is_err()
    {
        warn!("MQTT did not disconnect in time");
    }
    mqtt_stop.cancel();
    info!(instance, "stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_files_of_a_single_instance_move_to_the_first_sddc_manager() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::write(root.path().join("flow-dom-1.json"), b"{}").expect("write");
        std::fs::write(root.path().join("flow-dom-2.json"), b"{\"old\":1}").expect("write");
        std::fs::write(root.path().join("notes.txt"), b"keep").expect("write");
        let mut first = Config::from_toml_str(
            "[vcf]\nurl = \"https://a.example\"\nusername = \"u\"\npassword = \"p\"\n",
        )
        .expect("valid");
        first.state_dir = root.path().join("sfo");
        std::fs::create_dir_all(&first.state_dir).expect("dir");
        // The first instance already has a file for dom-2: that one is left alone.
        std::fs::write(first.state_dir.join("flow-dom-2.json"), b"{\"new\":1}").expect("write");
        adopt_single_instance_state(root.path(), &first);
        assert!(first.state_dir.join("flow-dom-1.json").is_file());
        assert!(!root.path().join("flow-dom-1.json").exists());
        assert_eq!(
            std::fs::read_to_string(first.state_dir.join("flow-dom-2.json")).expect("read"),
            "{\"new\":1}"
        );
        assert!(root.path().join("flow-dom-2.json").is_file());
        assert!(root.path().join("notes.txt").is_file());
    }
}
