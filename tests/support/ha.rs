//! The real Home Assistant + Mosquitto from `../shared/ha-harness`, in either flavour
//! ([`Flavour`]: 2025.4, or today's release on Python 3.14).
//!
//! [`HomeAssistant::start`] runs the harness's `start.sh` on free ports with a private
//! `HARNESS_STATE_DIR`; the harness starts its own Mosquitto there, so both flavours can run at
//! the same time. Tests then read entities
//! through HA's REST API with the harness's long-lived token, press buttons and flip switches
//! through HA services (so HA itself publishes the commands), and stop everything with
//! `stop.sh` (also on drop).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// One entity as HA's `/api/states` reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct HaState {
    /// `sensor.vcf_sfo_m01_status`.
    pub entity_id: String,
    /// The state string (`unavailable`, `unknown`, a value).
    pub state: String,
    /// Attributes (friendly_name, unit_of_measurement, device_class, JSON attributes...).
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl HaState {
    /// A string attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(|v| v.as_str())
    }
}

/// Which Home Assistant release the harness runs (its `HA_FLAVOUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// HA 2025.4 (`HA_FLAVOUR` unset): the oldest release the bridge supports.
    Default,
    /// Today's HA (`HA_FLAVOUR=current`, 2026.11 on Python 3.14 in a Debian root; needs root).
    Current,
}

impl Flavour {
    /// The `HA_FLAVOUR` value, if any.
    pub fn env(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::Current => Some("current"),
        }
    }
}

/// A running harness.
pub struct HomeAssistant {
    harness: PathBuf,
    state_dir: tempfile::TempDir,
    /// MQTT port of the harness's broker.
    pub mqtt_port: u16,
    /// HA HTTP port.
    pub ha_port: u16,
    url: String,
    token: String,
    http: reqwest::Client,
    stopped: bool,
    /// `HA_FLAVOUR` for [`HomeAssistant::start_on`] and [`HomeAssistant::restart`].
    flavour: Option<String>,
}

impl HomeAssistant {
    /// Runs `start.sh MQTT_PORT HA_PORT` from `<shared>/ha-harness` and reads the token.
    ///
    /// # Errors
    /// When the harness is not installed or HA does not become ready.
    pub async fn start(shared: &Path) -> anyhow::Result<HomeAssistant> {
        Self::start_flavour(shared, Flavour::Default).await
    }

    /// [`HomeAssistant::start`] for a given [`Flavour`].
    ///
    /// # Errors
    /// When that flavour is not installed or HA does not become ready.
    pub async fn start_flavour(shared: &Path, flavour: Flavour) -> anyhow::Result<HomeAssistant> {
        let harness = shared.join("ha-harness");
        anyhow::ensure!(
            harness.join("start.sh").is_file(),
            "{} has no start.sh",
            harness.display()
        );
        let state_dir = tempfile::Builder::new().prefix("ha-harness-").tempdir()?;
        let mqtt_port = crate::free_port()?;
        let mut ha_port = crate::free_port()?;
        while ha_port == mqtt_port {
            ha_port = crate::free_port()?;
        }
        let mut ha = HomeAssistant {
            harness: harness.clone(),
            state_dir,
            mqtt_port,
            ha_port,
            url: format!("http://127.0.0.1:{ha_port}"),
            token: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            stopped: false,
            flavour: std::env::var("HA_FLAVOUR").ok(),
        };
        let script = harness.join("start.sh");
        let state = ha.state_dir.path().to_path_buf();
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg(&script)
            .arg(mqtt_port.to_string())
            .arg(ha_port.to_string())
            .env("HARNESS_STATE_DIR", &state)
            .env_remove("HA_FLAVOUR")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(f) = flavour.env() {
            cmd.env("HA_FLAVOUR", f);
        }
        let out = tokio::time::timeout(crate::wait::secs(400), cmd.output())
            .await
            .context("ha-harness start.sh did not finish in time")?
            .context("running ha-harness start.sh")?;
        eprintln!(
            "ha-harness start.sh:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        anyhow::ensure!(
            out.status.success(),
            "ha-harness start.sh failed ({}); run {}{}/install.sh?",
            out.status,
            flavour
                .env()
                .map_or(String::new(), |f| format!("HA_FLAVOUR={f} ")),
            harness.display()
        );
        ha.token = std::fs::read_to_string(state.join("token"))
            .context("reading the harness token")?
            .trim()
            .to_string();
        Ok(ha)
    }

    /// Runs `start.sh` on a broker that already listens on `mqtt_port` (the harness reuses it and
    /// never stops it), with `HA_FLAVOUR=flavour` when given (`current` = today's release).
    ///
    /// # Errors
    /// When the harness is not installed or HA does not become ready.
    pub async fn start_on(
        shared: &Path,
        mqtt_port: u16,
        flavour: Option<&str>,
    ) -> anyhow::Result<HomeAssistant> {
        let harness = shared.join("ha-harness");
        anyhow::ensure!(
            harness.join("start.sh").is_file(),
            "{} has no start.sh",
            harness.display()
        );
        let mut ha_port = crate::free_port()?;
        while ha_port == mqtt_port {
            ha_port = crate::free_port()?;
        }
        let mut ha = HomeAssistant {
            harness,
            state_dir: tempfile::Builder::new().prefix("ha-harness-").tempdir()?,
            mqtt_port,
            ha_port,
            url: format!("http://127.0.0.1:{ha_port}"),
            token: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            stopped: false,
            flavour: flavour.map(str::to_owned),
        };
        ha.run_start_sh(false).await?;
        Ok(ha)
    }

    /// Stops Home Assistant and starts it again on the same ports with its configuration kept
    /// (`HA_KEEP_CONFIG=1`): a real restart, the entity registry survives.
    ///
    /// # Errors
    /// When HA does not become ready again.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.stopped = false;
        self.run_start_sh(true).await
    }

    /// The PID of Home Assistant's Python process (from the harness's `pids` file).
    pub fn pid(&self) -> Option<u32> {
        let pids = std::fs::read_to_string(self.state_dir.path().join("pids")).ok()?;
        pids.lines()
            .filter_map(|l| l.strip_prefix("ha "))
            .filter_map(|p| p.trim().parse().ok())
            .next_back()
    }

    async fn run_start_sh(&mut self, keep_config: bool) -> anyhow::Result<()> {
        let state = self.state_dir.path().to_path_buf();
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg(self.harness.join("start.sh"))
            .arg(self.mqtt_port.to_string())
            .arg(self.ha_port.to_string())
            .env("HARNESS_STATE_DIR", &state)
            .env("HA_KEEP_CONFIG", if keep_config { "1" } else { "0" })
            .stdin(Stdio::null())
            .kill_on_drop(true);
        match &self.flavour {
            Some(f) => cmd.env("HA_FLAVOUR", f),
            None => cmd.env_remove("HA_FLAVOUR"),
        };
        let out = tokio::time::timeout(crate::wait::secs(400), cmd.output())
            .await
            .context("ha-harness start.sh did not finish in time")?
            .context("running ha-harness start.sh")?;
        eprintln!(
            "ha-harness start.sh:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        anyhow::ensure!(
            out.status.success(),
            "ha-harness start.sh failed ({}); run {}/install.sh?",
            out.status,
            self.harness.display()
        );
        self.token = std::fs::read_to_string(state.join("token"))
            .context("reading the harness token")?
            .trim()
            .to_string();
        Ok(())
    }

    /// Base URL of HA's HTTP API.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// HA's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state_dir.path().join("ha.log")).unwrap_or_default()
    }

    /// Every WARNING or ERROR record of HA's log (a record is its first line plus any traceback
    /// lines after it) for which `ours` holds.
    pub fn log_problems(&self, ours: impl Fn(&str) -> bool) -> Vec<String> {
        log_problems(&self.log(), ours)
    }

    /// All entities (`GET /api/states`).
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn states(&self) -> anyhow::Result<Vec<HaState>> {
        let resp = self
            .http
            .get(format!("{}/api/states", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "/api/states -> {}",
            resp.status()
        );
        Ok(resp.json().await?)
    }

    /// One entity, if HA has it.
    ///
    /// # Errors
    /// On HTTP or decoding errors.
    pub async fn state(&self, entity_id: &str) -> anyhow::Result<Option<HaState>> {
        let resp = self
            .http
            .get(format!("{}/api/states/{entity_id}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        anyhow::ensure!(
            resp.status().is_success(),
            "/api/states/{entity_id} -> {}",
            resp.status()
        );
        Ok(Some(resp.json().await?))
    }

    /// Calls a service, e.g. `("button", "press", entity)`.
    ///
    /// # Errors
    /// On HTTP errors or a non-2xx answer.
    pub async fn call(&self, domain: &str, service: &str, entity_id: &str) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!("{}/api/services/{domain}/{service}", self.url))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "entity_id": entity_id }))
            .send()
            .await?;
        let status = resp.status();
        anyhow::ensure!(
            status.is_success(),
            "{domain}.{service} {entity_id} -> {status}: {}",
            resp.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// Presses a button entity in HA (HA publishes its `payload_press`).
    ///
    /// # Errors
    /// As [`HomeAssistant::call`].
    pub async fn press(&self, entity_id: &str) -> anyhow::Result<()> {
        self.call("button", "press", entity_id).await
    }

    /// Turns a switch entity on or off in HA.
    ///
    /// # Errors
    /// As [`HomeAssistant::call`].
    pub async fn switch(&self, entity_id: &str, on: bool) -> anyhow::Result<()> {
        let service = if on { "turn_on" } else { "turn_off" };
        self.call("switch", service, entity_id).await
    }

    /// Waits until `entity_id` exists and `pred` holds for it; returns that state.
    ///
    /// # Errors
    /// On timeout, naming the entity and its last state.
    pub async fn wait_state(
        &self,
        entity_id: &str,
        what: &str,
        limit: Duration,
        pred: impl Fn(&HaState) -> bool,
    ) -> anyhow::Result<HaState> {
        let mut last = None;
        let started = std::time::Instant::now();
        loop {
            if let Ok(Some(s)) = self.state(entity_id).await {
                if pred(&s) {
                    return Ok(s);
                }
                last = Some(s);
            }
            if started.elapsed() > limit {
                anyhow::bail!(
                    "timed out after {limit:?} waiting for {entity_id} {what}; last: {last:?}"
                );
            }
            tokio::time::sleep(crate::wait::POLL_EVERY * 3).await;
        }
    }

    /// Runs `stop.sh` (HA first, then its Mosquitto).
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let status = Command::new("bash")
            .arg(self.harness.join("stop.sh"))
            .env("HARNESS_STATE_DIR", self.state_dir.path())
            .env("HA_STOP_TIMEOUT", "30")
            .stdin(Stdio::null())
            .status();
        if !status.as_ref().is_ok_and(|s| s.success()) {
            eprintln!("ha-harness stop.sh failed: {status:?}");
        }
    }
}

/// The WARNING/ERROR records of an HA log for which `ours` holds. HA's log lines start with a
/// date (`2026-12-03 22:40:01.123 WARNING (MainThread) [logger] text`); lines that do not
/// belong to the record before them.
pub fn log_problems(log: &str, ours: impl Fn(&str) -> bool) -> Vec<String> {
    let mut records: Vec<String> = Vec::new();
    for line in log.lines() {
        let starts_record = line.len() > 10
            && line.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && line.as_bytes()[4] == b'-';
        match records.last_mut() {
            Some(last) if !starts_record => {
                last.push('\n');
                last.push_str(line);
            }
            _ => records.push(line.to_owned()),
        }
    }
    records
        .into_iter()
        .filter(|r| {
            let first = r.lines().next().unwrap_or_default();
            first.contains(" WARNING ") || first.contains(" ERROR ") || first.contains(" CRITICAL ")
        })
        .filter(|r| ours(r))
        .collect()
}

impl Drop for HomeAssistant {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_problems_keep_tracebacks_and_skip_other_levels() {
        let log = "2026-12-03 22:40:01.123 INFO (MainThread) [x] vcf fine\n\
                   2026-12-03 22:40:02.000 ERROR (MainThread) [homeassistant.components.mqtt] vcf_a broke\n\
                   Traceback (most recent call last):\n  line 1\n\
                   2026-12-03 22:40:03.000 ERROR (MainThread) [haffmpeg.core] FFmpeg fails\n\
                   2026-12-03 22:40:04.000 WARNING (MainThread) [x] sensor.vcf_b odd\n";
        let found = log_problems(log, |r| r.contains("vcf"));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].ends_with("  line 1"), "{found:?}");
        assert!(found[1].contains("sensor.vcf_b"));
    }
}
