//! Configuration: defaults → TOML file → `DCA_*` environment, then validation.
//!
//! Every key is documented in `docs/configuration.md`; [`KEYS`] lists them so a test can keep the
//! document and the code in step. A bad value is a [`ConfigError`] that names the key and what was
//! expected; the binary turns it into exit code 64 (`EX_USAGE`) before any connection is made.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Exit code for a bad configuration (`EX_USAGE` from sysexits.h).
pub const EXIT_CONFIG: i32 = 64;

/// Every configuration key, dotted, as written in TOML (env: `DCA_` + upper case, `.` → `__`).
pub const KEYS: &[&str] = &[
    "instance_id",
    "state_dir",
    "read_only",
    "mqtt.host",
    "mqtt.port",
    "mqtt.username",
    "mqtt.password",
    "mqtt.password_file",
    "mqtt.client_id",
    "mqtt.discovery_prefix",
    "mqtt.base_topic",
    "mqtt.keep_alive",
    "mqtt.publish_rate",
    "mqtt.state_refresh",
    "mqtt.tls.enabled",
    "mqtt.tls.ca_file",
    "mqtt.tls.client_cert",
    "mqtt.tls.client_key",
    "vcf.url",
    "vcf.username",
    "vcf.password",
    "vcf.password_file",
    "vcf.ca_file",
    "vcf.pin_sha256",
    "vcf.insecure",
    "vcf.request_timeout",
    "vcf.login_backoff",
    "poll.updates",
    "poll.resources",
    "upgrade.allow_update_install",
    "upgrade.bundle_poll_interval",
    "upgrade.download_timeout",
    "upgrade.sddc_manager_poll_interval",
    "upgrade.sddc_manager_settle",
    "upgrade.sddc_manager_timeout",
    "upgrade.precheck_poll_interval",
    "upgrade.precheck_timeout",
    "upgrade.upgrade_poll_interval",
    "upgrade.component_timeout",
    "upgrade.validation_poll_interval",
    "upgrade.validation_timeout",
    "upgrade.completed_hold",
    "upgrade.fail_on_precheck_errors",
    "upgrade.per_upgrade_precheck",
    "upgrade.max_log_entries",
    "upgrade.poll_error_budget",
    "upgrade.temporary_network",
    "readiness.enabled",
    "readiness.password_expiry_days",
    "readiness.certificate_expiry_days",
    "readiness.backup_max_age",
    "readiness.failed_task_window",
    "upgrade.time_zone",
    "upgrade.windows",
    "http.listen",
    "log.level",
    "log.format",
    "sddc_managers",
];

/// Keys that only a file can set (no `DCA_*` variable): tables of several values.
pub const FILE_ONLY_KEYS: &[&str] = &["sddc_managers"];

/// The keys an `[[sddc_managers]]` entry may set; everything else (`mqtt`, `http`, `log`) is
/// shared by every SDDC Manager and set once at the top level.
pub const INSTANCE_KEYS: &[&str] = &[
    "instance_id",
    "state_dir",
    "read_only",
    "vcf",
    "poll",
    "upgrade",
];

/// A configuration problem: which key, and what was expected instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key, e.g. `mqtt.port` (empty when the problem is not tied to one key).
    pub key: String,
    /// What was expected, or what went wrong.
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The process exit code for this error (always [`EXIT_CONFIG`]).
    pub fn exit_code(&self) -> i32 {
        EXIT_CONFIG
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "invalid configuration: {}", self.message)
        } else if self.key.starts_with("sddc_managers") {
            write!(
                f,
                "invalid configuration: key `{}`: {}",
                self.key, self.message
            )
        } else {
            write!(
                f,
                "invalid configuration: key `{}` (env {}): {}",
                self.key,
                env_name(&self.key),
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// The environment variable that sets a dotted key: `mqtt.tls.ca_file` → `DCA_MQTT__TLS__CA_FILE`.
pub fn env_name(key: &str) -> String {
    format!("DCA_{}", key.replace('.', "__").to_uppercase())
}

/// Environment values are parsed by figment (`DCA_VCF__PASSWORD=12345` arrives as a number);
/// string-typed keys accept numbers and booleans too and keep their text.
mod lenient {
    use secrecy::SecretString;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        U(u64),
        I(i64),
        F(f64),
        B(bool),
    }

    impl Scalar {
        fn text(self) -> String {
            match self {
                Scalar::S(s) => s,
                Scalar::U(n) => n.to_string(),
                Scalar::I(n) => n.to_string(),
                Scalar::F(n) => n.to_string(),
                Scalar::B(b) => b.to_string(),
            }
        }
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Scalar::deserialize(d).map(Scalar::text)
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Option::<Scalar>::deserialize(d).map(|o| o.map(Scalar::text))
    }

    /// A secret is never written out, only whether one is set.
    pub fn redacted<S: serde::Serializer>(
        secret: &Option<SecretString>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_some(&secret.as_ref().map(|_| "[redacted]"))
    }

    pub fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
        Option::<Scalar>::deserialize(d).map(|o| o.map(|s| SecretString::from(s.text())))
    }
}

// === raw (file/env) shape ===

/// The whole configuration, as loaded and validated.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Instance id used in topics, unique ids and entity ids; default: slug of the VCF URL host.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub instance_id: Option<String>,
    /// Where the upgrade orchestrator keeps its state.
    pub state_dir: PathBuf,
    /// Monitoring only: every command that changes VCF or a flow is refused, and an unfinished
    /// flow is shown but not continued.
    pub read_only: bool,
    /// MQTT broker connection.
    pub mqtt: MqttConfig,
    /// SDDC Manager connection.
    pub vcf: VcfConfig,
    /// Poll intervals.
    pub poll: PollConfig,
    /// Upgrade orchestration.
    pub upgrade: UpgradeConfig,
    /// Upgrade readiness thresholds.
    pub readiness: ReadinessConfig,
    /// Optional health/metrics HTTP listener.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Several SDDC Managers: one resolved configuration per `[[sddc_managers]]` entry (the
    /// top-level keys with the entry's keys over them). Empty for the single-instance form.
    #[serde(skip_deserializing)]
    pub sddc_managers: Vec<Config>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            instance_id: None,
            state_dir: PathBuf::from("/var/lib/datacenter-assistant"),
            read_only: false,
            mqtt: MqttConfig::default(),
            vcf: VcfConfig::default(),
            poll: PollConfig::default(),
            upgrade: UpgradeConfig::default(),
            readiness: ReadinessConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            sddc_managers: Vec::new(),
        }
    }
}

/// `[mqtt]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// Broker host name or address.
    #[serde(deserialize_with = "lenient::string")]
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Optional user name.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub username: Option<String>,
    /// Optional password (prefer `password_file`).
    #[serde(
        deserialize_with = "lenient::opt_secret",
        serialize_with = "lenient::redacted"
    )]
    pub password: Option<SecretString>,
    /// File holding the password (trailing newline ignored).
    pub password_file: Option<PathBuf>,
    /// MQTT client id; default `dca-<instance_id>`.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub client_id: Option<String>,
    /// Home Assistant discovery prefix.
    pub discovery_prefix: String,
    /// Base of every bridge topic.
    pub base_topic: String,
    /// MQTT keep-alive.
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Most messages published per second (bursts of up to one second's worth), so a subscriber
    /// behind a broker's per-client queue (Mosquitto: 1,000) is never overrun.
    pub publish_rate: u32,
    /// Every retained state is re-sent within this long after it was last sent, spread evenly,
    /// to repair a value a subscriber missed; `0s` turns it off.
    #[serde(with = "humantime_serde")]
    pub state_refresh: Duration,
    /// TLS towards the broker.
    pub tls: MqttTlsConfig,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 1883,
            username: None,
            password: None,
            password_file: None,
            client_id: None,
            discovery_prefix: "homeassistant".into(),
            base_topic: "datacenter_assistant".into(),
            keep_alive: Duration::from_secs(30),
            publish_rate: 250,
            state_refresh: Duration::from_secs(15 * 60),
            tls: MqttTlsConfig::default(),
        }
    }
}

/// `[mqtt.tls]`
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttTlsConfig {
    /// Use TLS.
    pub enabled: bool,
    /// CA bundle (PEM) to verify the broker; default: the system roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    pub client_key: Option<PathBuf>,
}

/// `[vcf]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VcfConfig {
    /// SDDC Manager base URL, e.g. `https://sfo-vcf01.sfo.rainpole.io`.
    pub url: String,
    /// User name.
    #[serde(deserialize_with = "lenient::string")]
    pub username: String,
    /// Password (prefer `password_file`).
    #[serde(
        deserialize_with = "lenient::opt_secret",
        serialize_with = "lenient::redacted"
    )]
    pub password: Option<SecretString>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// CA bundle (PEM) for SDDC Manager's certificate.
    pub ca_file: Option<PathBuf>,
    /// SHA-256 pin of SDDC Manager's certificate (hex).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub pin_sha256: Option<String>,
    /// Accept any certificate (lab use only).
    pub insecure: bool,
    /// Per-request timeout.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// After a refused login, how long before the next login (SSO lockout protection).
    #[serde(with = "humantime_serde")]
    pub login_backoff: Duration,
}

impl Default for VcfConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: String::new(),
            password: None,
            password_file: None,
            ca_file: None,
            pin_sha256: None,
            insecure: false,
            request_timeout: Duration::from_secs(30),
            login_backoff: vcf_client::ClientConfig::DEFAULT_LOGIN_BACKOFF,
        }
    }
}

/// `[poll]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// Update check interval.
    #[serde(with = "humantime_serde")]
    pub updates: Duration,
    /// Resource (capacity/usage) interval.
    #[serde(with = "humantime_serde")]
    pub resources: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            updates: Duration::from_secs(15 * 60),
            resources: Duration::from_secs(10),
        }
    }
}

/// `[upgrade]`: the orchestrator's settings plus the bridge's own switch.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UpgradeConfig {
    /// Let the HA `update` entity's Install action start an upgrade.
    pub allow_update_install: bool,
    /// Orchestrator timeouts and intervals.
    #[serde(flatten)]
    pub orchestrator: upgrade_orchestrator::OrchestratorConfig,
}

/// `[readiness]`: what makes a domain `warnings` or `blocked` (see `mqtt_bridge::readiness`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadinessConfig {
    /// Poll readiness at the updates cadence; off: no readiness entities and no Start gate.
    pub enabled: bool,
    /// A password expiring within this many days is a warning.
    pub password_expiry_days: u32,
    /// A certificate expiring within this many days is a warning.
    pub certificate_expiry_days: u32,
    /// The last successful SDDC Manager backup may be this old.
    #[serde(with = "humantime_serde")]
    pub backup_max_age: Duration,
    /// Failed tasks completed within this window are listed.
    #[serde(with = "humantime_serde")]
    pub failed_task_window: Duration,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        let t = crate::readiness::Thresholds::default();
        Self {
            enabled: true,
            password_expiry_days: u32::try_from(t.password_expiry_days).unwrap_or(14),
            certificate_expiry_days: u32::try_from(t.certificate_expiry_days).unwrap_or(30),
            backup_max_age: t.backup_max_age,
            failed_task_window: t.failed_task_window,
        }
    }
}

impl ReadinessConfig {
    /// The thresholds of the evaluation.
    pub fn thresholds(&self) -> crate::readiness::Thresholds {
        crate::readiness::Thresholds {
            password_expiry_days: i64::from(self.password_expiry_days),
            certificate_expiry_days: i64::from(self.certificate_expiry_days),
            backup_max_age: self.backup_max_age,
            failed_task_window: self.failed_task_window,
        }
    }
}

/// `[http]`
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address for `/healthz`, `/readyz`, `/metrics`; absent = off.
    pub listen: Option<SocketAddr>,
}

/// `[log]`
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Level or `tracing` filter directive (`info`, `debug`, `mqtt_bridge=debug,info`).
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

// === loading ===

impl Config {
    /// Loads defaults → `file` (if given) → `DCA_*` environment, reads password files and validates.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the offending key.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("DCA_").split("__"))
    }

    /// Like [`Config::load`] with an explicit environment provider (tests use `Env` on a map).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the offending key.
    pub fn load_from(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "",
                    format!("config file {} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(env);
        Self::from_figment(figment)
    }

    /// Loads from a TOML string only (no environment); used by tests and `check-config` examples.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the offending key.
    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        if !figment.contains("sddc_managers") {
            let mut config = Self::extract(&figment)?;
            config.resolve_secrets()?;
            config.validate()?;
            return Ok(config);
        }
        let entries: Vec<figment::value::Value> =
            figment.extract_inner("sddc_managers").map_err(|e| {
                ConfigError::new(
                    "sddc_managers",
                    format!(
                        "expected an array of tables ([[sddc_managers]]): {}",
                        e.kind
                    ),
                )
            })?;
        let mut config = Self::extract(&figment)?;
        if entries.is_empty() {
            return Err(ConfigError::new(
                "sddc_managers",
                "expected at least one [[sddc_managers]] entry with its vcf.url, vcf.username \
                 and vcf.password",
            ));
        }
        if config.instance_id.is_some() {
            return Err(ConfigError::new(
                "instance_id",
                "with [[sddc_managers]], set instance_id in each entry (or let it come from the \
                 entry's vcf.url), not at the top level",
            ));
        }
        let mut instances: Vec<Config> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let key = |k: &str| format!("sddc_managers[{i}].{k}");
            let figment::value::Value::Dict(_, dict) = entry else {
                return Err(ConfigError::new(
                    &format!("sddc_managers[{i}]"),
                    "expected a table with the keys of one SDDC Manager",
                ));
            };
            if let Some(other) = dict.keys().find(|k| !INSTANCE_KEYS.contains(&k.as_str())) {
                return Err(ConfigError::new(
                    &key(other),
                    format!(
                        "not set per SDDC Manager; an entry may set {} (mqtt, http and log are \
                         shared: set them once at the top level)",
                        INSTANCE_KEYS.join(", ")
                    ),
                ));
            }
            let sets_state_dir = dict.contains_key("state_dir");
            let layered = figment
                .clone()
                .merge(figment::providers::Serialized::globals(&dict));
            let within = |mut e: ConfigError| {
                let first = e.key.split('.').next().unwrap_or_default();
                if INSTANCE_KEYS.contains(&first) {
                    e.key = key(&e.key);
                }
                e
            };
            let mut instance = Self::extract(&layered).map_err(within)?;
            instance.resolve_secrets().map_err(within)?;
            let id = instance.instance_id();
            if !sets_state_dir {
                instance.state_dir = config.state_dir.join(&id);
            }
            if let Some(client_id) = &config.mqtt.client_id {
                instance.mqtt.client_id = Some(format!("{client_id}-{id}"));
            }
            instance.validate().map_err(within)?;
            if let Some(j) = instances.iter().position(|o| o.instance_id() == id) {
                return Err(ConfigError::new(
                    &key("instance_id"),
                    format!(
                        "{id:?} is already the instance id of sddc_managers[{j}]; each SDDC \
                         Manager needs its own (set instance_id)"
                    ),
                ));
            }
            if let Some(j) = instances
                .iter()
                .position(|o| o.state_dir == instance.state_dir)
            {
                return Err(ConfigError::new(
                    &key("state_dir"),
                    format!(
                        "{} is already the state_dir of sddc_managers[{j}]",
                        instance.state_dir.display()
                    ),
                ));
            }
            instances.push(instance);
        }
        config.sddc_managers = instances;
        Ok(config)
    }

    /// Every SDDC Manager this configuration serves, each as a complete single-instance
    /// configuration: the `[[sddc_managers]]` entries, or the configuration itself.
    pub fn instances(&self) -> Vec<Config> {
        if self.sddc_managers.is_empty() {
            vec![self.clone()]
        } else {
            self.sddc_managers.clone()
        }
    }

    /// Extracts the structs; no secrets read, nothing validated.
    fn extract(figment: &Figment) -> Result<Self, ConfigError> {
        // `[upgrade]` is flattened into UpgradeConfig, and serde's flatten loses the field path;
        // extracting it on its own first gives errors that name the key.
        if figment.contains("upgrade") {
            figment
                .extract_inner::<upgrade_orchestrator::OrchestratorConfig>("upgrade")
                .map_err(|e| {
                    let mut err = figment_error(e);
                    // Name the `upgrade.<field>` key whichever way figment ordered the path.
                    err.key = err
                        .key
                        .split('.')
                        .map(|seg| format!("upgrade.{seg}"))
                        .find(|k| KEYS.contains(&k.as_str()))
                        .unwrap_or_else(|| "upgrade".to_owned());
                    err
                })?;
        }
        figment.extract().map_err(figment_error)
    }

    fn resolve_secrets(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.vcf.password_file {
            if self.vcf.password.is_some() {
                return Err(ConfigError::new(
                    "vcf.password_file",
                    "set either vcf.password or vcf.password_file, not both",
                ));
            }
            self.vcf.password = Some(read_secret("vcf.password_file", path)?);
        }
        if let Some(path) = &self.mqtt.password_file {
            if self.mqtt.password.is_some() {
                return Err(ConfigError::new(
                    "mqtt.password_file",
                    "set either mqtt.password or mqtt.password_file, not both",
                ));
            }
            self.mqtt.password = Some(read_secret("mqtt.password_file", path)?);
        }
        Ok(())
    }

    /// Checks every value; called by [`Config::load`].
    ///
    /// # Errors
    /// The first problem found, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // vcf
        if self.vcf.url.trim().is_empty() {
            return Err(ConfigError::new(
                "vcf.url",
                "required: the SDDC Manager URL, e.g. \"https://sddc-manager.example.com\"",
            ));
        }
        url_host(&self.vcf.url).ok_or_else(|| {
            ConfigError::new(
                "vcf.url",
                format!(
                    "expected an http:// or https:// URL with a host, got {:?}",
                    self.vcf.url
                ),
            )
        })?;
        if self.vcf.username.trim().is_empty() {
            return Err(ConfigError::new(
                "vcf.username",
                "required: the SDDC Manager user, e.g. \"administrator@vsphere.local\"",
            ));
        }
        match &self.vcf.password {
            None => {
                return Err(ConfigError::new(
                    "vcf.password",
                    "required: set vcf.password or vcf.password_file",
                ));
            }
            Some(p) if p.expose_secret().is_empty() => {
                return Err(ConfigError::new("vcf.password", "must not be empty"));
            }
            Some(_) => {}
        }
        if let Some(pin) = &self.vcf.pin_sha256 {
            let hex: String = pin.chars().filter(|c| *c != ':').collect();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(ConfigError::new(
                    "vcf.pin_sha256",
                    "expected 64 hex digits (SHA-256 of the certificate, colons allowed)",
                ));
            }
        }
        check_file("vcf.ca_file", self.vcf.ca_file.as_deref())?;
        check_positive("vcf.request_timeout", self.vcf.request_timeout)?;
        check_positive("vcf.login_backoff", self.vcf.login_backoff)?;

        // instance
        if let Some(id) = &self.instance_id
            && (id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(ConfigError::new(
                "instance_id",
                format!("expected lower-case letters, digits and '_' only, got {id:?}"),
            ));
        }

        // mqtt
        if self.mqtt.host.trim().is_empty() {
            return Err(ConfigError::new(
                "mqtt.host",
                "expected a broker host name or address",
            ));
        }
        if self.mqtt.port == 0 {
            return Err(ConfigError::new(
                "mqtt.port",
                "expected a TCP port between 1 and 65535",
            ));
        }
        check_topic_root("mqtt.base_topic", &self.mqtt.base_topic)?;
        check_topic_root("mqtt.discovery_prefix", &self.mqtt.discovery_prefix)?;
        if let Some(id) = &self.mqtt.client_id
            && (id.is_empty() || id.len() > 128)
        {
            return Err(ConfigError::new(
                "mqtt.client_id",
                "expected 1 to 128 characters",
            ));
        }
        if self.mqtt.keep_alive < Duration::from_secs(5) {
            return Err(ConfigError::new(
                "mqtt.keep_alive",
                "expected at least 5s (e.g. \"30s\")",
            ));
        }
        if !(10..=100_000).contains(&self.mqtt.publish_rate) {
            return Err(ConfigError::new(
                "mqtt.publish_rate",
                format!(
                    "expected 10 to 100000 messages per second, got {}",
                    self.mqtt.publish_rate
                ),
            ));
        }
        if !self.mqtt.state_refresh.is_zero() && self.mqtt.state_refresh < Duration::from_secs(60) {
            return Err(ConfigError::new(
                "mqtt.state_refresh",
                "expected 0s (off) or at least 1m (e.g. \"15m\")",
            ));
        }
        check_file("mqtt.tls.ca_file", self.mqtt.tls.ca_file.as_deref())?;
        check_file("mqtt.tls.client_cert", self.mqtt.tls.client_cert.as_deref())?;
        check_file("mqtt.tls.client_key", self.mqtt.tls.client_key.as_deref())?;
        if self.mqtt.tls.client_cert.is_some() != self.mqtt.tls.client_key.is_some() {
            return Err(ConfigError::new(
                "mqtt.tls.client_key",
                "client_cert and client_key must be set together",
            ));
        }

        // readiness
        check_positive("readiness.backup_max_age", self.readiness.backup_max_age)?;
        check_min(
            "readiness.failed_task_window",
            self.readiness.failed_task_window,
            Duration::from_secs(60),
        )?;
        if self.readiness.password_expiry_days > 3650 {
            return Err(ConfigError::new(
                "readiness.password_expiry_days",
                "expected a number of days between 0 and 3650",
            ));
        }
        if self.readiness.certificate_expiry_days > 3650 {
            return Err(ConfigError::new(
                "readiness.certificate_expiry_days",
                "expected a number of days between 0 and 3650",
            ));
        }

        // poll
        check_min("poll.updates", self.poll.updates, Duration::from_secs(1))?;
        check_min(
            "poll.resources",
            self.poll.resources,
            Duration::from_secs(1),
        )?;

        // log
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err()
            || self.log.level.is_empty()
        {
            return Err(ConfigError::new(
                "log.level",
                format!(
                    "expected trace, debug, info, warn, error or a tracing filter, got {:?}",
                    self.log.level
                ),
            ));
        }
        if let Err(e) = self.upgrade.orchestrator.validate() {
            return Err(ConfigError::new(&format!("upgrade.{}", e.key), e.reason));
        }
        if self.state_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("state_dir", "expected a directory path"));
        }
        Ok(())
    }

    /// The instance id: configured, or the slug of the VCF URL's host (`sfo-vcf01.rainpole.io` → `sfo_vcf01_rainpole_io`).
    pub fn instance_id(&self) -> String {
        match &self.instance_id {
            Some(id) => id.clone(),
            None => crate::topics::slug(url_host(&self.vcf.url).unwrap_or("vcf")),
        }
    }

    /// The MQTT client id: configured, or `dca-<instance_id>`.
    pub fn client_id(&self) -> String {
        self.mqtt
            .client_id
            .clone()
            .unwrap_or_else(|| format!("dca-{}", self.instance_id()))
    }
}

/// Why an `http://` SDDC Manager URL deserves a warning, unless it points at this machine (the
/// demo's and the tests' simulator): the password and every token would cross the network
/// unencrypted.
pub fn plain_http_warning(url: &str) -> Option<String> {
    let host = url.strip_prefix("http://").and_then(|_| url_host(url))?;
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!local).then(|| {
        format!(
            "vcf.url {url} is plain http://: the SDDC Manager password and tokens cross the \
             network unencrypted; use https://"
        )
    })
}

/// The host part of an http(s) URL, or `None` if it is not one.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        None
    } else {
        Some(host)
    }
}

fn figment_error(err: figment::Error) -> ConfigError {
    let key = err.path.join(".");
    let message = match &err.kind {
        figment::error::Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, got {actual}")
        }
        figment::error::Kind::InvalidValue(actual, expected) => {
            format!("expected {expected}, got {actual}")
        }
        figment::error::Kind::UnknownField(field, expected) => {
            // figment's path usually already ends with the unknown field.
            let key = if key.is_empty() {
                field.clone()
            } else if key == *field || key.ends_with(&format!(".{field}")) {
                key
            } else {
                format!("{key}.{field}")
            };
            return ConfigError::new(
                &key,
                format!("unknown key; expected one of: {}", expected.join(", ")),
            );
        }
        figment::error::Kind::Message(m) => m.clone(),
        other => other.to_string(),
    };
    ConfigError::new(&key, message)
}

fn read_secret(key: &str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            key,
            format!("expected a readable file, {}: {e}", path.display()),
        )
    })?;
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(ConfigError::new(
            key,
            format!("file {} is empty", path.display()),
        ));
    }
    Ok(SecretString::from(secret.to_owned()))
}

fn check_file(key: &str, path: Option<&Path>) -> Result<(), ConfigError> {
    match path {
        Some(p) if !p.is_file() => Err(ConfigError::new(
            key,
            format!("expected an existing file, {} not found", p.display()),
        )),
        _ => Ok(()),
    }
}

fn check_positive(key: &str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(
            key,
            "expected a positive duration such as \"30s\"",
        ))
    } else {
        Ok(())
    }
}

fn check_min(key: &str, d: Duration, min: Duration) -> Result<(), ConfigError> {
    if d < min {
        Err(ConfigError::new(
            key,
            format!(
                "expected a duration of at least {} (e.g. \"10s\", \"15m\")",
                humantime::format_duration(min)
            ),
        ))
    } else {
        Ok(())
    }
}

fn check_topic_root(key: &str, topic: &str) -> Result<(), ConfigError> {
    if topic.is_empty()
        || topic.starts_with('/')
        || topic.ends_with('/')
        || topic.contains(['+', '#', '\0'])
    {
        Err(ConfigError::new(
            key,
            format!(
                "expected a topic prefix without wildcards or leading/trailing '/', got {topic:?}"
            ),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[vcf]
url = "https://sfo-vcf01.sfo.rainpole.io"
username = "admin@local"
password = "s3cret-Pa55"
"#;

    fn file(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("temp file");
        std::io::Write::write_all(&mut f, content.as_bytes()).expect("write");
        f
    }

    #[test]
    fn defaults_apply() {
        let c = Config::from_toml_str(MINIMAL).expect("valid");
        assert_eq!(c.mqtt.host, "localhost");
        assert_eq!(c.mqtt.port, 1883);
        assert_eq!(c.mqtt.discovery_prefix, "homeassistant");
        assert_eq!(c.mqtt.base_topic, "datacenter_assistant");
        assert_eq!(c.poll.updates, Duration::from_secs(900));
        assert_eq!(c.poll.resources, Duration::from_secs(10));
        assert_eq!(c.instance_id(), "sfo_vcf01_sfo_rainpole_io");
        assert_eq!(c.client_id(), "dca-sfo_vcf01_sfo_rainpole_io");
        assert!(!c.upgrade.allow_update_install);
        assert!(c.http.listen.is_none());
    }

    #[test]
    fn humantime_durations() {
        let c = Config::from_toml_str(&format!(
            "{MINIMAL}\n[poll]\nupdates = \"1h 30m\"\nresources = \"2s\"\n"
        ))
        .expect("valid");
        assert_eq!(c.poll.updates, Duration::from_secs(5400));
        assert_eq!(c.poll.resources, Duration::from_secs(2));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type, not ours
    fn env_overrides_file() {
        // figment's Jail sets the variables for this closure only (and serialises jailed tests).
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                &format!("{MINIMAL}\n[mqtt]\nhost = \"file-host\"\nport = 1884\n"),
            )?;
            jail.set_env("DCA_MQTT__HOST", "env-host");
            jail.set_env("DCA_POLL__RESOURCES", "3s");
            jail.set_env("DCA_INSTANCE_ID", "lab_01");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.mqtt.host, "env-host");
            assert_eq!(c.mqtt.port, 1884);
            assert_eq!(c.poll.resources, Duration::from_secs(3));
            assert_eq!(c.instance_id(), "lab_01");
            // A numeric-looking secret from the environment stays a string.
            jail.set_env("DCA_VCF__PASSWORD", "12345");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(
                c.vcf
                    .password
                    .as_ref()
                    .map(|p| p.expose_secret().to_owned()),
                Some("12345".to_owned())
            );
            // A bad env value names the key.
            jail.set_env("DCA_MQTT__PORT", "x");
            let e = Config::load(Some(Path::new("c.toml"))).expect_err("must fail");
            assert_eq!(e.key, "mqtt.port");
            Ok(())
        });
    }

    #[test]
    fn password_file_is_read_and_trimmed() {
        let secret = file("from-file-pw\n");
        let cfg = format!(
            "[vcf]\nurl = \"http://127.0.0.1:8443\"\nusername = \"u\"\npassword_file = {:?}\n",
            secret.path()
        );
        let c = Config::from_toml_str(&cfg).expect("valid");
        assert_eq!(
            c.vcf
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
            Some("from-file-pw".to_owned())
        );
    }

    #[test]
    fn secrets_never_in_debug() {
        let c = Config::from_toml_str(&format!(
            "{MINIMAL}\n[mqtt]\npassword = \"mqtt-Secret-42\"\n"
        ))
        .expect("valid");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret-Pa55"), "{dbg}");
        assert!(!dbg.contains("mqtt-Secret-42"), "{dbg}");
        assert!(dbg.contains("[REDACTED]"), "{dbg}");
    }

    #[test]
    fn bad_port_names_key() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\nport = \"abc\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "mqtt.port");
        assert_eq!(e.exit_code(), 64);
        let text = e.to_string();
        assert!(
            text.contains("mqtt.port") && text.contains("DCA_MQTT__PORT"),
            "{text}"
        );
    }

    #[test]
    fn bad_duration_names_key() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[poll]\nupdates = \"soon\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "poll.updates");
    }

    #[test]
    fn too_short_interval_rejected() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[poll]\nresources = \"10ms\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "poll.resources");
    }

    #[test]
    fn missing_url_and_password() {
        let e = Config::from_toml_str("").expect_err("must fail");
        assert_eq!(e.key, "vcf.url");
        let e = Config::from_toml_str("[vcf]\nurl=\"https://x\"\nusername=\"u\"\n")
            .expect_err("must fail");
        assert_eq!(e.key, "vcf.password");
        let e = Config::from_toml_str("[vcf]\nurl=\"ftp://x\"\nusername=\"u\"\npassword=\"p\"\n")
            .expect_err("must fail");
        assert_eq!(e.key, "vcf.url");
    }

    #[test]
    fn unknown_section_key_rejected() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\nhots = \"x\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "mqtt.hots");
    }

    #[test]
    fn missing_password_file_rejected() {
        let e = Config::from_toml_str(
            "[vcf]\nurl=\"https://x\"\nusername=\"u\"\npassword_file=\"/nonexistent/pw\"\n",
        )
        .expect_err("must fail");
        assert_eq!(e.key, "vcf.password_file");
    }

    #[test]
    fn bad_instance_id_and_topics() {
        let e = Config::from_toml_str(&format!("instance_id = \"Bad-Id\"\n{MINIMAL}"))
            .expect_err("must fail");
        assert_eq!(e.key, "instance_id");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\nbase_topic = \"a/#\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "mqtt.base_topic");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[vcf.x]\n")).expect_err("must fail");
        assert!(e.key.starts_with("vcf."), "{e}");
    }

    #[test]
    fn bad_upgrade_values_name_key() {
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade]\nprecheck_poll_interval = \"0s\"\n"
        ))
        .expect_err("must fail");
        assert_eq!(e.key, "upgrade.precheck_poll_interval");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[upgrade]\ncompleted_hold = 5\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "upgrade.completed_hold");
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade]\nprecheck_timeout = \"forever\"\n"
        ))
        .expect_err("must fail");
        assert_eq!(e.key, "upgrade.precheck_timeout");
        assert!(
            e.to_string().contains("DCA_UPGRADE__PRECHECK_TIMEOUT"),
            "{e}"
        );
    }

    #[test]
    fn publish_pacing_keys_are_checked() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\npublish_rate = 0\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "mqtt.publish_rate");
        assert!(e.to_string().contains("10 to 100000"), "{e}");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\nstate_refresh = \"5s\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "mqtt.state_refresh");
        let c = Config::from_toml_str(&format!("{MINIMAL}\n[mqtt]\nstate_refresh = \"0s\"\n"))
            .expect("0s turns the refresh off");
        assert!(c.mqtt.state_refresh.is_zero());
    }

    #[test]
    fn bad_listen_and_log_level() {
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[http]\nlisten = \"nope\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "http.listen");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[log]\nformat = \"xml\"\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "log.format");
    }

    #[test]
    fn every_key_loads_from_a_full_file() {
        // A file that sets every key in KEYS (besides the mutually exclusive password_file ones).
        let c = Config::from_toml_str(
            r#"
instance_id = "sfo_vcf01"
state_dir = "/tmp/dca"
[mqtt]
host = "broker"
port = 8883
username = "dca"
password = "pw"
client_id = "dca-test"
discovery_prefix = "ha"
base_topic = "dca"
keep_alive = "45s"
publish_rate = 400
state_refresh = "30m"
[mqtt.tls]
enabled = true
[vcf]
url = "https://sddc.example"
username = "admin@local"
password = "pw"
pin_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
insecure = true
request_timeout = "20s"
login_backoff = "5m"
[poll]
updates = "10m"
resources = "20s"
[upgrade]
allow_update_install = true
bundle_poll_interval = "10s"
download_timeout = "1h"
sddc_manager_poll_interval = "10s"
sddc_manager_settle = "1m"
sddc_manager_timeout = "1h"
precheck_poll_interval = "10s"
precheck_timeout = "10m"
upgrade_poll_interval = "10s"
component_timeout = "1h"
validation_poll_interval = "5s"
validation_timeout = "5m"
completed_hold = "1m"
fail_on_precheck_errors = true
per_upgrade_precheck = true
max_log_entries = 50
time_zone = "Europe/Berlin"
[upgrade.windows]
"*" = ["Sat 22:00-Sun 04:00"]
"sfo-w01" = ["Sat 22:00-Sun 04:00", "Wed 01:00-03:00"]
[upgrade.temporary_network.sfo-w01]
ip_address = "172.16.11.98"
subnet_mask = "255.255.255.0"
gateway = "172.16.11.1"
[http]
listen = "127.0.0.1:9999"
[log]
level = "debug"
format = "json"
"#,
        )
        .expect("valid");
        assert!(c.upgrade.allow_update_install);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.mqtt.keep_alive, Duration::from_secs(45));
        assert_eq!(c.mqtt.publish_rate, 400);
        assert_eq!(c.mqtt.state_refresh, Duration::from_secs(30 * 60));
        assert_eq!(c.vcf.login_backoff, Duration::from_secs(300));
        assert_eq!(
            c.upgrade.orchestrator.completed_hold,
            Duration::from_secs(60)
        );
        assert_eq!(c.upgrade.orchestrator.max_log_entries, 50);
        assert!(c.upgrade.orchestrator.per_upgrade_precheck);
        let net = &c.upgrade.orchestrator.temporary_network["sfo-w01"];
        assert_eq!(net.gateway.as_deref(), Some("172.16.11.1"));
        assert_eq!(net.mode(), "STATIC");
        let o = &c.upgrade.orchestrator;
        assert_eq!(String::from(o.time_zone), "Europe/Berlin");
        let texts = |d: &str| -> Vec<String> {
            o.windows_of(d)
                .iter()
                .map(|w| w.as_str().to_owned())
                .collect()
        };
        assert_eq!(texts("sfo-w01"), ["Sat 22:00-Sun 04:00", "Wed 01:00-03:00"]);
        // A domain without its own entry gets the "*" one.
        assert_eq!(texts("sfo-w02"), ["Sat 22:00-Sun 04:00"]);
    }

    #[test]
    fn a_bad_window_or_time_zone_names_its_key_and_the_text() {
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade.windows]\n\"sfo-w01\" = [\"Sat 22:00-Sun 04:00\", \"Wed 1am-3am\"]\n"
        ))
        .expect_err("bad window");
        assert_eq!(e.key, "upgrade.windows");
        assert!(e.message.contains("Wed 1am-3am"), "{}", e.message);
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade]\ntime_zone = \"Europe/Berln\"\n"
        ))
        .expect_err("bad zone");
        assert_eq!(e.key, "upgrade.time_zone");
        assert!(e.message.contains("Europe/Berln"), "{}", e.message);
    }

    #[test]
    fn an_incomplete_temporary_network_names_its_key_and_domain() {
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade.temporary_network.sfo-w01]\nip_address = \"172.16.11.98\"\n"
        ))
        .expect_err("must fail");
        assert_eq!(e.key, "upgrade.temporary_network");
        assert!(
            e.message.contains("sfo-w01") && e.message.contains("subnet_mask"),
            "{}",
            e.message
        );
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade.temporary_network.sfo-w01]\naddress = \"172.16.11.98\"\n"
        ))
        .expect_err("unknown field");
        assert_eq!(e.key, "upgrade.temporary_network");
    }

    /// Every field of the config structs, as a dotted key (objects are tables, anything else a
    /// key; an empty table is a map keyed by name, e.g. `upgrade.temporary_network`).
    fn dotted_keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value.as_object().filter(|t| !t.is_empty()) {
            Some(table) => {
                for (name, v) in table {
                    let key = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    dotted_keys(&key, v, out);
                }
            }
            None => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn every_field_of_the_config_is_a_listed_and_documented_key() {
        let value = serde_json::to_value(Config::default()).expect("the config serialises");
        let mut fields = Vec::new();
        dotted_keys("", &value, &mut fields);
        fields.sort();
        let mut listed: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
        listed.sort();
        assert_eq!(fields, listed, "the config structs and KEYS differ");
        let docs = include_str!("../../../docs/configuration.md");
        for key in &fields {
            assert!(
                docs.contains(&format!("`{key}`")),
                "{key} missing from docs/configuration.md"
            );
        }
    }

    #[test]
    fn a_bad_upgrade_value_names_its_key() {
        let e = Config::from_toml_str(&format!(
            "{MINIMAL}\n[upgrade]\nvalidation_poll_interval = \"0s\"\n"
        ))
        .expect_err("must fail");
        assert_eq!(e.key, "upgrade.validation_poll_interval");
        assert_eq!(e.message, "must be greater than zero");
        let e = Config::from_toml_str(&format!("{MINIMAL}\n[upgrade]\nmax_log_entries = 0\n"))
            .expect_err("must fail");
        assert_eq!(e.key, "upgrade.max_log_entries");
    }

    const TWO: &str = r#"
state_dir = "/tmp/dca-two"
[mqtt]
host = "broker"
[vcf]
username = "admin@local"
password = "shared-Pa55"
[poll]
resources = "20s"

[[sddc_managers]]
instance_id = "sfo"
[sddc_managers.vcf]
url = "https://sfo-vcf01.sfo.rainpole.io"

[[sddc_managers]]
[sddc_managers.vcf]
url = "https://lax-vcf01.lax.rainpole.io"
password = "lax-Pa55"
[sddc_managers.poll]
updates = "5m"
"#;

    #[test]
    fn several_sddc_managers_each_inherit_the_top_level_keys() {
        let c = Config::from_toml_str(TWO).expect("valid");
        let all = c.instances();
        assert_eq!(all.len(), 2);
        let (sfo, lax) = (&all[0], &all[1]);
        assert_eq!(sfo.instance_id(), "sfo");
        assert_eq!(lax.instance_id(), "lax_vcf01_lax_rainpole_io");
        assert_eq!(sfo.vcf.username, "admin@local");
        assert_eq!(
            sfo.vcf
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
            Some("shared-Pa55".into())
        );
        assert_eq!(
            lax.vcf
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
            Some("lax-Pa55".into())
        );
        // Keys merge one by one: lax keeps the shared resources interval.
        assert_eq!(lax.poll.updates, Duration::from_secs(300));
        assert_eq!(lax.poll.resources, Duration::from_secs(20));
        assert_eq!(sfo.poll.updates, Duration::from_secs(900));
        assert_eq!(sfo.mqtt.host, "broker");
        // Each its own state directory and MQTT client id.
        assert_eq!(sfo.state_dir, PathBuf::from("/tmp/dca-two/sfo"));
        assert_eq!(
            lax.state_dir,
            PathBuf::from("/tmp/dca-two/lax_vcf01_lax_rainpole_io")
        );
        assert_ne!(sfo.client_id(), lax.client_id());
        assert!(sfo.instances().len() == 1 && sfo.sddc_managers.is_empty());
    }

    #[test]
    fn the_single_instance_form_is_its_own_only_instance() {
        let c = Config::from_toml_str(MINIMAL).expect("valid");
        let all = c.instances();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].instance_id(), c.instance_id());
        assert_eq!(all[0].state_dir, c.state_dir);
    }

    #[test]
    fn a_shared_client_id_gets_the_instance_appended() {
        let c = Config::from_toml_str(&TWO.replace("[mqtt]\n", "[mqtt]\nclient_id = \"dca\"\n"))
            .expect("valid");
        let ids: Vec<String> = c.instances().iter().map(Config::client_id).collect();
        assert_eq!(ids, ["dca-sfo", "dca-lax_vcf01_lax_rainpole_io"]);
    }

    #[test]
    fn bad_sddc_manager_lists_name_the_entry_and_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("sddc_managers = []\n", "sddc_managers", "at least one"),
            (
                "[[sddc_managers]]\ninstance_id = \"a\"\n[sddc_managers.vcf]\nurl = \"https://a.example\"\nusername = \"u\"\npassword = \"p\"\n\
                 [[sddc_managers]]\ninstance_id = \"a\"\n[sddc_managers.vcf]\nurl = \"https://b.example\"\nusername = \"u\"\npassword = \"p\"\n",
                "sddc_managers[1].instance_id",
                "sddc_managers[0]",
            ),
            (
                "[[sddc_managers]]\n[sddc_managers.vcf]\nusername = \"u\"\npassword = \"p\"\n",
                "sddc_managers[0].vcf.url",
                "required",
            ),
            (
                "[[sddc_managers]]\n[sddc_managers.vcf]\nurl = \"https://a.example\"\nusername = \"u\"\npassword = \"p\"\n[sddc_managers.mqtt]\nport = 1\n",
                "sddc_managers[0].mqtt",
                "shared",
            ),
            (
                "[[sddc_managers]]\n[sddc_managers.vcf]\nurl = \"https://a.example\"\nusername = \"u\"\npassword = \"p\"\n[sddc_managers.poll]\nupdates = \"soon\"\n",
                "sddc_managers[0].poll.updates",
                "",
            ),
            (
                "instance_id = \"x\"\n[[sddc_managers]]\n[sddc_managers.vcf]\nurl = \"https://a.example\"\nusername = \"u\"\npassword = \"p\"\n",
                "instance_id",
                "each entry",
            ),
            ("sddc_managers = 3\n", "sddc_managers", "array of tables"),
            ("sddc_managers = [1]\n", "sddc_managers[0]", "table"),
        ];
        for (toml, key, words) in cases {
            let e = Config::from_toml_str(toml).expect_err(toml);
            assert_eq!(&e.key, key, "{toml}: {e}");
            assert!(e.message.contains(words), "{toml}: {e}");
            assert!(!e.to_string().contains("env DCA_SDDC"), "{e}");
        }
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("mqtt.tls.ca_file"), "DCA_MQTT__TLS__CA_FILE");
        assert_eq!(env_name("instance_id"), "DCA_INSTANCE_ID");
    }

    #[test]
    fn plain_http_is_warned_about_unless_local() {
        let warning = plain_http_warning("http://sddc.example:80").expect("warned");
        assert!(
            warning.contains("vcf.url") && warning.contains("https://"),
            "{warning}"
        );
        assert_eq!(plain_http_warning("https://sddc.example"), None);
        assert_eq!(plain_http_warning("http://127.0.0.1:8443"), None);
        assert_eq!(plain_http_warning("http://localhost:8080"), None);
        assert_eq!(plain_http_warning("http://[::1]:80"), None);
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("https://a.b:8443/x"), Some("a.b"));
        assert_eq!(url_host("http://[::1]:80"), Some("::1"));
        assert_eq!(url_host("https://"), None);
        assert_eq!(url_host("a.b"), None);
    }
}
