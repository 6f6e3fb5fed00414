//! One test's world: a broker, the simulator, a recorder and the bridge configuration.
//!
//! A [`Rig`] owns a private temp directory (configuration, bridge logs, `state_dir`). The bridge
//! can be started, stopped, killed and started again against the same state directory, while
//! the broker, the simulator and the recorder keep running — the way a user's bridge restarts
//! next to a long-lived SDDC Manager. When a rig is dropped it prints the tail of every bridge
//! log (test output is only shown for failing tests).

use std::time::Duration;

use crate::bridge::{Bridge, BridgeConfig};
use crate::broker::Broker;
use crate::recorder::{Mark, Message, Recorder};
use crate::sim::Sim;

/// Broker + simulator + recorder + bridge config (+ the bridge, when started).
pub struct Rig {
    /// The MQTT broker this rig started (none when it uses an external one).
    broker: Option<Broker>,
    mqtt_port: u16,
    /// The SDDC Manager simulator (in-process).
    pub sim: Sim,
    /// Records everything under the base topic and the discovery prefix.
    pub recorder: Recorder,
    /// The configuration every bridge of this rig is started with.
    pub config: BridgeConfig,
    bridges: Vec<Bridge>,
    dir: tempfile::TempDir,
}

impl Rig {
    /// Starts a broker and the simulator with a built-in scenario at `time_scale`, and connects
    /// the recorder. The bridge is not started yet.
    ///
    /// # Errors
    /// When any piece fails to start.
    pub async fn start(scenario: &str, time_scale: f64) -> anyhow::Result<Rig> {
        let sim = Sim::start(scenario, time_scale).await?;
        Rig::with_sim(sim).await
    }

    /// Like [`Rig::start`] with a simulator the caller started.
    ///
    /// # Errors
    /// When the broker or recorder fail to start.
    pub async fn with_sim(sim: Sim) -> anyhow::Result<Rig> {
        let broker = Broker::start().await?;
        let port = broker.port();
        let bridge_port = broker.bridge_port();
        Rig::assemble(sim, Some(broker), port, bridge_port).await
    }

    /// A rig on a broker someone else runs (Home Assistant's), on 127.0.0.1:`port`.
    ///
    /// # Errors
    /// When the recorder cannot connect.
    pub async fn with_sim_on_broker(sim: Sim, port: u16) -> anyhow::Result<Rig> {
        Rig::assemble(sim, None, port, port).await
    }

    async fn assemble(
        sim: Sim,
        broker: Option<Broker>,
        port: u16,
        bridge_port: u16,
    ) -> anyhow::Result<Rig> {
        let dir = tempfile::tempdir()?;
        let state_dir = dir.path().join("state");
        std::fs::create_dir_all(&state_dir)?;
        let config = BridgeConfig::for_test(
            bridge_port,
            sim.url(),
            sim.username(),
            sim.password(),
            &state_dir,
        );
        let recorder =
            Recorder::connect(port, &[&config.base_topic, &config.discovery_prefix]).await?;
        Ok(Rig {
            broker,
            mqtt_port: port,
            sim,
            recorder,
            config,
            bridges: Vec::new(),
            dir,
        })
    }

    /// The broker's port on 127.0.0.1.
    pub fn mqtt_port(&self) -> u16 {
        self.mqtt_port
    }

    /// The broker this rig started, to stop or restart it.
    ///
    /// # Errors
    /// When the rig runs on an external broker.
    pub fn broker_mut(&mut self) -> anyhow::Result<&mut Broker> {
        self.broker
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("this rig uses an external broker"))
    }

    /// The rig's private directory (config file, logs, `state/`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Starts a bridge with [`Rig::config`] (stop the previous one first).
    ///
    /// # Errors
    /// When it cannot be spawned.
    pub fn spawn_bridge(&mut self) -> anyhow::Result<&mut Bridge> {
        let bridge = Bridge::spawn(&self.config, self.dir.path())?;
        self.bridges.push(bridge);
        Ok(self.bridge())
    }

    /// Starts a bridge and waits until it says `online` on its state topic and has published
    /// the discovery config of its connectivity sensor.
    ///
    /// # Errors
    /// When it does not come online in time.
    pub async fn start_bridge_online(&mut self) -> anyhow::Result<()> {
        let mark = self.recorder.mark();
        self.spawn_bridge()?;
        let state = self.topic("bridge/state");
        let waited = self
            .recorder
            .wait_payload(mark, &state, "online", crate::wait::secs(60))
            .await;
        if let Err(e) = waited {
            self.bridge().ensure_running()?;
            return Err(e);
        }
        Ok(())
    }

    /// The most recently started bridge.
    ///
    /// # Panics
    /// When no bridge was started (a bug in the test).
    pub fn bridge(&mut self) -> &mut Bridge {
        self.bridges
            .last_mut()
            .expect("spawn_bridge() must be called before bridge()")
    }

    /// `<base>/<instance>/<rest>`.
    pub fn topic(&self, rest: &str) -> String {
        self.config.topic(rest)
    }

    /// `<base>/<instance>/domain/<d>/<rest>`.
    pub fn domain_topic(&self, domain_slug: &str, rest: &str) -> String {
        self.config.topic(&format!("domain/{domain_slug}/{rest}"))
    }

    /// Publishes `PRESS` (not retained) on `<base>/<instance>/<rest>`, like Home Assistant
    /// or `mosquitto_pub` pressing a button.
    ///
    /// # Errors
    /// When the recorder's client is closed.
    pub async fn press(&self, rest: &str) -> anyhow::Result<()> {
        self.recorder
            .publish(&self.topic(rest), "PRESS", false)
            .await
    }

    /// Waits for `payload` on `<base>/<instance>/<rest>` after `mark`.
    ///
    /// # Errors
    /// On timeout (with the bridge's log tail).
    pub async fn wait_payload(
        &mut self,
        mark: Mark,
        rest: &str,
        payload: &str,
        limit: Duration,
    ) -> anyhow::Result<Message> {
        let topic = self.topic(rest);
        let got = self
            .recorder
            .wait_payload(mark, &topic, payload, limit)
            .await;
        self.with_log(got)
    }

    /// Adds the current bridge's log tail to an error.
    ///
    /// # Errors
    /// Returns `result`'s error, with context.
    pub fn with_log<T>(&mut self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                let log = self
                    .bridges
                    .last()
                    .map(|b| tail(&b.log(), 40))
                    .unwrap_or_default();
                Err(e.context(format!("bridge log tail:\n{log}")))
            }
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        for (i, bridge) in self.bridges.iter().enumerate() {
            eprintln!("----- bridge #{i} (pid {}) log tail -----", bridge.pid());
            eprintln!("{}", tail(&bridge.log(), 80));
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The slug the bridge uses in topics and entity ids: lowercase, every run of characters other
/// than ASCII letters and digits becomes one `_`, no leading/trailing `_`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The slug of a host: the first label of its FQDN.
pub fn host_slug(fqdn: &str) -> String {
    slug(fqdn.split('.').next().unwrap_or(fqdn))
}
