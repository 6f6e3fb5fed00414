//! The SDDC Manager simulator for one test, run in the test process.
//!
//! In-process so that it outlives every bridge process it serves: the resume tests kill the
//! bridge with SIGKILL and start it again, and then ask the simulator's request log whether any
//! download, check-set run or upgrade was requested twice.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use serde::Deserialize;
use vcf_sim::{Scenario, SimOptions, SimServer};

/// `GET /sim/requests`: request counts, in total and per endpoint template (`"GET /v1/hosts"`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SimRequests {
    /// Every request the simulator answered (or refused).
    pub total: u64,
    /// Per `"METHOD /path/{id}"` template.
    #[serde(default)]
    pub by_endpoint: BTreeMap<String, u64>,
}

impl SimRequests {
    /// The count for one endpoint template (0 when never called).
    pub fn count(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).copied().unwrap_or(0)
    }
}

/// One entry of `GET /sim/log`.
#[derive(Debug, Clone, Deserialize)]
pub struct SimLogEntry {
    /// HTTP method.
    pub method: String,
    /// Request path (with real ids).
    pub path: String,
    /// Query string, if any.
    #[serde(default)]
    pub query: Option<String>,
    /// HTTP status answered (0 or absent when the connection was refused).
    #[serde(default)]
    pub status: Option<u16>,
    /// The JSON body of a write request (never recorded for the token endpoints).
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

impl SimLogEntry {
    /// Whether the request got a 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The simulator and an HTTP client for its `/sim/*` endpoints.
pub struct Sim {
    server: Option<SimServer>,
    scenario: Scenario,
    time_scale: f64,
    url: String,
    username: String,
    password: String,
    http: reqwest::Client,
}

impl Sim {
    /// Starts a built-in scenario on a free port.
    ///
    /// # Errors
    /// When the scenario is unknown or the server cannot start.
    pub async fn start(scenario: &str, time_scale: f64) -> anyhow::Result<Sim> {
        let scenario =
            Scenario::builtin(scenario).with_context(|| format!("scenario {scenario}"))?;
        Sim::start_with(scenario, time_scale, "127.0.0.1:0".parse()?).await
    }

    /// Starts a given scenario on a given address (port 0 for a free one).
    ///
    /// # Errors
    /// When the server cannot start.
    pub async fn start_with(
        scenario: Scenario,
        time_scale: f64,
        listen: SocketAddr,
    ) -> anyhow::Result<Sim> {
        let server = vcf_sim::start(
            scenario.clone(),
            SimOptions {
                listen,
                tls: false,
                time_scale,
            },
        )
        .await
        .context("starting the simulator")?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Sim {
            url: server.url.clone(),
            username: server.username.clone(),
            password: server.password.clone(),
            server: Some(server),
            scenario,
            time_scale,
            http,
        })
    }

    /// Stops this simulator and starts `scenario` on the same address: the same SDDC Manager URL
    /// now serves another inventory (e.g. with a host gone).
    ///
    /// # Errors
    /// When the new server cannot start.
    pub async fn replace_scenario(&mut self, scenario: Scenario) -> anyhow::Result<()> {
        let addr = self.local_addr();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let fresh = Sim::start_with(scenario, self.time_scale, addr).await?;
        *self = fresh;
        Ok(())
    }

    /// The scenario it was started with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// API user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// API password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        match &self.server {
            Some(server) => server.local_addr(),
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// A `vcf-client` for the simulator, to read the inventory a test expects to see.
    ///
    /// # Errors
    /// When the client cannot be built.
    pub fn client(&self) -> anyhow::Result<vcf_client::VcfClient> {
        let cfg = vcf_client::ClientConfig::new(
            self.url.clone(),
            self.username.clone(),
            self.password.clone(),
        );
        Ok(vcf_client::VcfClient::new(cfg)?)
    }

    /// `GET /sim/requests`.
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn requests(&self) -> anyhow::Result<SimRequests> {
        self.get_json("/sim/requests").await
    }

    /// `GET /sim/log`.
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn log(&self) -> anyhow::Result<Vec<SimLogEntry>> {
        self.get_json("/sim/log").await
    }

    /// `GET /sim/state`.
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn state(&self) -> anyhow::Result<serde_json::Value> {
        self.get_json("/sim/state").await
    }

    /// `GET /sim/faults`: the faults in force (and what is left of counted ones).
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn faults(&self) -> anyhow::Result<serde_json::Value> {
        self.get_json("/sim/faults").await
    }

    /// `POST /sim/faults` with `fault` (e.g. `{"unreachable": true}`).
    ///
    /// # Errors
    /// On HTTP errors or a non-2xx answer.
    pub async fn fault(&self, fault: serde_json::Value) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/sim/faults", self.url))
            .json(&fault)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "POST /sim/faults {fault} -> {}",
            resp.status()
        );
        Ok(())
    }

    /// `POST /sim/notifications` with `notification` (a 9.x SDDC Manager raises it now).
    ///
    /// # Errors
    /// On HTTP errors or a non-2xx answer.
    pub async fn raise_notification(&self, notification: serde_json::Value) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/sim/notifications", self.url))
            .json(&notification)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "POST /sim/notifications {notification} -> {}",
            resp.status()
        );
        Ok(())
    }

    /// `POST /sim/reset`.
    ///
    /// # Errors
    /// On HTTP errors or a non-2xx answer.
    pub async fn reset(&self) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/sim/reset", self.url))
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "POST /sim/reset -> {}",
            resp.status()
        );
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        anyhow::ensure!(
            resp.status().is_success(),
            "GET {path} -> {}",
            resp.status()
        );
        resp.json()
            .await
            .with_context(|| format!("decoding {path}"))
    }

    /// Stops the simulator.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}
