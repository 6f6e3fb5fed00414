//! The real `vcf-mqtt-bridge` binary, configured for one test.
//!
//! The harness writes a TOML configuration (unique base topic, client id and instance id per
//! test, fast poll and upgrade intervals, a private state directory), spawns the binary built
//! next to the test executable, and stops it the two ways a user's machine does: SIGTERM (a
//! clean stop) or SIGKILL (a crash, a pulled plug). Always by PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

/// The binary under test.
pub const BRIDGE_BIN: &str = "vcf-mqtt-bridge";

/// Settings the harness writes into the bridge's TOML configuration.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// `instance_id`.
    pub instance_id: String,
    /// `state_dir` (kept across restarts of the bridge within one test).
    pub state_dir: PathBuf,
    /// `mqtt.port` (host is always 127.0.0.1).
    pub mqtt_port: u16,
    /// `mqtt.client_id`.
    pub client_id: String,
    /// `mqtt.base_topic`.
    pub base_topic: String,
    /// `mqtt.discovery_prefix`.
    pub discovery_prefix: String,
    /// `mqtt.keep_alive`.
    pub keep_alive: String,
    /// `vcf.url`.
    pub vcf_url: String,
    /// `vcf.username`.
    pub vcf_username: String,
    /// `vcf.password`.
    pub vcf_password: String,
    /// `vcf.request_timeout`.
    pub request_timeout: String,
    /// `poll.updates`.
    pub poll_updates: String,
    /// `poll.resources`.
    pub poll_resources: String,
    /// `[upgrade]` keys (humantime strings, booleans, numbers), written as given.
    pub upgrade: toml::Table,
    /// `log.level`.
    pub log_level: String,
    /// `read_only` (written only when set).
    pub read_only: bool,
    /// `http.listen`, the health/readiness/metrics listener (written only when set).
    pub http_listen: Option<String>,
    /// Further SDDC Managers: when not empty, the file uses the `[[sddc_managers]]` form, this
    /// configuration's own instance and `[vcf]` first, then these.
    pub more_sddc_managers: Vec<SddcManagerEntry>,
    /// Extra environment variables of the bridge process (e.g. the test-only clock).
    pub env: Vec<(String, String)>,
}

/// One more `[[sddc_managers]]` entry: its instance id and `[vcf]` connection.
#[derive(Debug, Clone)]
pub struct SddcManagerEntry {
    /// `instance_id`.
    pub instance_id: String,
    /// `vcf.url`.
    pub url: String,
    /// `vcf.username`.
    pub username: String,
    /// `vcf.password`.
    pub password: String,
}

impl BridgeConfig {
    /// A configuration for a test: unique names, fast polling, tiny upgrade intervals.
    pub fn for_test(
        mqtt_port: u16,
        vcf_url: &str,
        user: &str,
        password: &str,
        state_dir: &Path,
    ) -> BridgeConfig {
        let instance_id = crate::unique_name("e2e");
        BridgeConfig {
            client_id: format!("dca-{instance_id}"),
            // Not derived from the instance id, so each can be told apart (and redacted) alone.
            base_topic: crate::unique_name("base"),
            instance_id,
            state_dir: state_dir.to_path_buf(),
            mqtt_port,
            discovery_prefix: "homeassistant".into(),
            keep_alive: "5s".into(),
            vcf_url: vcf_url.into(),
            vcf_username: user.into(),
            vcf_password: password.into(),
            request_timeout: "5s".into(),
            poll_updates: "30s".into(),
            poll_resources: "1s".into(),
            upgrade: fast_upgrade_settings(),
            log_level: "info".into(),
            read_only: false,
            http_listen: None,
            more_sddc_managers: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The TOML file contents.
    pub fn to_toml(&self) -> String {
        let mut root = toml::Table::new();
        root.insert("instance_id".into(), self.instance_id.clone().into());
        if self.read_only {
            root.insert("read_only".into(), true.into());
        }
        root.insert(
            "state_dir".into(),
            self.state_dir.display().to_string().into(),
        );
        let mut mqtt = toml::Table::new();
        mqtt.insert("host".into(), "127.0.0.1".into());
        mqtt.insert("port".into(), i64::from(self.mqtt_port).into());
        mqtt.insert("client_id".into(), self.client_id.clone().into());
        mqtt.insert("base_topic".into(), self.base_topic.clone().into());
        mqtt.insert(
            "discovery_prefix".into(),
            self.discovery_prefix.clone().into(),
        );
        mqtt.insert("keep_alive".into(), self.keep_alive.clone().into());
        root.insert("mqtt".into(), mqtt.into());
        let mut vcf = toml::Table::new();
        vcf.insert("url".into(), self.vcf_url.clone().into());
        vcf.insert("username".into(), self.vcf_username.clone().into());
        vcf.insert("password".into(), self.vcf_password.clone().into());
        vcf.insert(
            "request_timeout".into(),
            self.request_timeout.clone().into(),
        );
        if self.more_sddc_managers.is_empty() {
            root.insert("vcf".into(), vcf.into());
        } else {
            let id = root.remove("instance_id").unwrap_or_else(|| "".into());
            let mut first = toml::Table::new();
            first.insert("instance_id".into(), id);
            first.insert("vcf".into(), vcf.into());
            let mut list = vec![toml::Value::Table(first)];
            for more in &self.more_sddc_managers {
                let mut vcf = toml::Table::new();
                vcf.insert("url".into(), more.url.clone().into());
                vcf.insert("username".into(), more.username.clone().into());
                vcf.insert("password".into(), more.password.clone().into());
                vcf.insert(
                    "request_timeout".into(),
                    self.request_timeout.clone().into(),
                );
                let mut entry = toml::Table::new();
                entry.insert("instance_id".into(), more.instance_id.clone().into());
                entry.insert("vcf".into(), vcf.into());
                list.push(toml::Value::Table(entry));
            }
            root.insert("sddc_managers".into(), list.into());
        }
        let mut poll = toml::Table::new();
        poll.insert("updates".into(), self.poll_updates.clone().into());
        poll.insert("resources".into(), self.poll_resources.clone().into());
        root.insert("poll".into(), poll.into());
        root.insert("upgrade".into(), self.upgrade.clone().into());
        let mut log = toml::Table::new();
        log.insert("level".into(), self.log_level.clone().into());
        root.insert("log".into(), log.into());
        if let Some(listen) = &self.http_listen {
            let mut http = toml::Table::new();
            http.insert("listen".into(), listen.clone().into());
            root.insert("http".into(), http.into());
        }
        // A table of strings, integers and nested tables always serialises; an empty file would
        // make the bridge fail loudly on the missing keys anyway.
        toml::to_string(&root).unwrap_or_default()
    }

    /// Writes the configuration to `<dir>/bridge.toml` and returns the path.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join("bridge.toml");
        std::fs::write(&path, self.to_toml())?;
        Ok(path)
    }

    /// `<base_topic>/<instance_id>/<rest>`: a topic of this bridge.
    pub fn topic(&self, rest: &str) -> String {
        format!("{}/{}/{rest}", self.base_topic, self.instance_id)
    }
}

/// Upgrade intervals small enough that a whole upgrade of the default scenario (with the
/// simulator at a fast time scale) takes seconds, with every timeout still far away.
pub fn fast_upgrade_settings() -> toml::Table {
    let mut t = toml::Table::new();
    for (key, value) in [
        ("bundle_poll_interval", "200ms"),
        ("download_timeout", "10m"),
        ("sddc_manager_poll_interval", "200ms"),
        ("sddc_manager_settle", "500ms"),
        ("sddc_manager_timeout", "10m"),
        ("precheck_poll_interval", "200ms"),
        ("precheck_timeout", "10m"),
        ("upgrade_poll_interval", "200ms"),
        ("component_timeout", "10m"),
        ("validation_poll_interval", "200ms"),
        ("validation_timeout", "10m"),
        ("completed_hold", "3s"),
    ] {
        t.insert(key.into(), value.into());
    }
    t
}

/// A running bridge process.
pub struct Bridge {
    child: Child,
    config_path: PathBuf,
    log_path: PathBuf,
}

impl Bridge {
    /// Writes `config` into `dir` and starts `vcf-mqtt-bridge run --config <file>`.
    ///
    /// Output goes to `<dir>/bridge-<n>.log` (see [`Bridge::log`]).
    ///
    /// # Errors
    /// When the binary cannot be found/built or spawned.
    pub fn spawn(config: &BridgeConfig, dir: &Path) -> anyhow::Result<Bridge> {
        let config_path = config.write(dir)?;
        let mut n = 0;
        let log_path = loop {
            let p = dir.join(format!("bridge-{n}.log"));
            if !p.exists() {
                break p;
            }
            n += 1;
        };
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(bridge_binary()?)
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .env_remove("RUST_LOG")
            .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning vcf-mqtt-bridge")?;
        Ok(Bridge {
            child,
            config_path,
            log_path,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration file it was started with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Everything the bridge printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the process has exited (and with what).
    ///
    /// # Errors
    /// When the process cannot be queried.
    pub fn try_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// SIGTERM, then waits for the exit (SIGKILL and an error after `limit`).
    ///
    /// # Errors
    /// When the bridge did not exit within `limit`.
    pub async fn terminate(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        crate::broker::send_signal(self.pid(), "TERM");
        self.wait_exit(limit).await
    }

    /// SIGKILL (`kill -9`), and reaps the process.
    ///
    /// # Errors
    /// When the process cannot be killed.
    pub fn kill9(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!("bridge had already exited ({status}):\n{}", self.log());
        }
        self.child.kill()?;
        Ok(self.child.wait()?)
    }

    /// Waits for the process to exit (SIGKILL and an error after `limit`).
    ///
    /// # Errors
    /// When it does not exit within `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                anyhow::bail!(
                    "bridge did not exit within {limit:?}; killed. Log:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails when the bridge has exited, with its log: for checks in the middle of a test.
    ///
    /// # Errors
    /// When the process is no longer running.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "bridge exited unexpectedly ({status}). Log:\n{}",
                self.log()
            );
        }
        Ok(())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the bridge with `args` to completion (for `check-config` and bad-config runs).
///
/// # Errors
/// When it cannot be spawned or runs longer than `limit`.
pub async fn run_to_exit(
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> anyhow::Result<Output> {
    let mut cmd = tokio::process::Command::new(bridge_binary()?);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(limit, cmd.output())
        .await
        .with_context(|| format!("vcf-mqtt-bridge {args:?} ran longer than {limit:?}"))??;
    Ok(output)
}

/// The path of `vcf-mqtt-bridge` in this build's target directory, built once if missing.
///
/// `tests/run.sh` builds it before the tests run; building here is the fallback for a plain
/// `cargo test -p dca-tests`.
///
/// # Errors
/// When it is missing and cannot be built.
pub fn bridge_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("DCA_BRIDGE_BIN") {
        return Ok(PathBuf::from(path));
    }
    locate_or_build(BRIDGE_BIN, &["-p", "mqtt-bridge", "--bin", BRIDGE_BIN])
}

/// Finds binary `name` in the target directory of the running executable; if it is missing,
/// runs `cargo build <build_args>` (once per process and binary) and looks again.
///
/// # Errors
/// When the build fails or the binary is still missing.
pub fn locate_or_build(name: &str, build_args: &[&str]) -> anyhow::Result<PathBuf> {
    static BUILD_LOCK: Mutex<()> = Mutex::new(());
    let dir = crate::target_profile_dir();
    let path = dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if path.is_file() {
        return Ok(path);
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    eprintln!("{name} not found in {}: building it", dir.display());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(build_args)
        .current_dir(crate::repo_root());
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo build")?;
    anyhow::ensure!(status.success(), "cargo build {build_args:?} failed");
    anyhow::ensure!(
        path.is_file(),
        "{} still missing after the build",
        path.display()
    );
    Ok(path)
}
