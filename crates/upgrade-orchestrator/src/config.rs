//! [`OrchestratorConfig`]: every poll interval, timeout and policy switch of an upgrade flow.
//!
//! The bridge embeds this struct as its `[upgrade]` table, so every field has a default and
//! durations are written as humantime strings (`"30s"`, `"3h"`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::windows::{Schedule, TimeZoneName, Window};

/// Poll intervals, timeouts and policy switches of the upgrade flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrchestratorConfig {
    /// How often bundle download status is polled (`downloading_bundles`, `downloading_sddcManager_bundle`).
    #[serde(with = "humantime_serde")]
    pub bundle_poll_interval: Duration,
    /// Upper bound for all bundle downloads of one phase.
    #[serde(with = "humantime_serde")]
    pub download_timeout: Duration,
    /// How often the SDDC Manager upgrade (and, during its outage, `GET /v1/domains`) is polled.
    #[serde(with = "humantime_serde")]
    pub sddc_manager_poll_interval: Duration,
    /// Extra wait after the API answers again following the SDDC Manager restart.
    #[serde(with = "humantime_serde")]
    pub sddc_manager_settle: Duration,
    /// Upper bound for one SDDC Manager upgrade including its outage.
    #[serde(with = "humantime_serde")]
    pub sddc_manager_timeout: Duration,
    /// How often a check-set run is polled.
    #[serde(with = "humantime_serde")]
    pub precheck_poll_interval: Duration,
    /// Upper bound for one check-set run (`evaluating_prechecks`).
    #[serde(with = "humantime_serde")]
    pub precheck_timeout: Duration,
    /// How often a component upgrade is polled.
    #[serde(with = "humantime_serde")]
    pub upgrade_poll_interval: Duration,
    /// Upper bound for one component upgrade (NSX, vCenter, ESXi clusters).
    #[serde(with = "humantime_serde")]
    pub component_timeout: Duration,
    /// How often the final validation is polled.
    #[serde(with = "humantime_serde")]
    pub validation_poll_interval: Duration,
    /// Upper bound for the final validation.
    #[serde(with = "humantime_serde")]
    pub validation_timeout: Duration,
    /// How long `successfully_completed` is shown before the flow returns to `waiting_for_initiation`.
    #[serde(with = "humantime_serde")]
    pub completed_hold: Duration,
    /// When true, precheck *errors* fail the flow instead of waiting for acknowledgement.
    pub fail_on_precheck_errors: bool,
    /// When true, NSX, vCenter and ESXi upgrades are created as drafts (`draftMode`), VCF's
    /// per-upgrade precheck runs on each draft, and the draft is then committed. When false
    /// (the default), upgrades are created with `upgradeNow: true`, as PowerVCF, VMware's
    /// upgrade scripts and earlier integrations do.
    pub per_upgrade_precheck: bool,
    /// Most log entries kept per domain (the rendered markdown is also kept under 16 KiB).
    pub max_log_entries: usize,
    /// How many unreadable answers in a row a poll of a running operation (download, check-set
    /// run, per-upgrade precheck, component upgrade, validation) is asked again before the
    /// flow looks at the operation's own task in VCF; unanswered polls (unreachable, 5xx) are
    /// asked again until the phase deadline.
    pub poll_error_budget: u32,
    /// Temporary network of each domain's vCenter major upgrade (8 → 9), by domain name
    /// (`[upgrade.temporary_network.<domain name>]`).
    pub temporary_network: BTreeMap<String, TemporaryNetwork>,
    /// The time zone maintenance windows are written in (IANA name; default `UTC`).
    pub time_zone: TimeZoneName,
    /// Weekly maintenance windows in which component upgrades may start, by domain name;
    /// [`DEFAULT_WINDOWS`] applies to every domain without its own entry. A domain without
    /// windows may upgrade at any time. (`[upgrade.windows]`, e.g.
    /// `"sfo-w01" = ["Sat 22:00-Sun 04:00"]`.)
    pub windows: BTreeMap<String, Vec<Window>>,
}

/// The `[upgrade.windows]` entry that applies to every domain without its own.
pub const DEFAULT_WINDOWS: &str = "*";

/// The temporary network a vCenter major upgrade gives the new appliance while it migrates
/// the data (the 9.0.2 spec's `TemporaryNetwork`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemporaryNetwork {
    /// `STATIC` (default; address, subnet mask and gateway required) or `AUTOMATIC` (DHCP).
    pub network_mode: Option<String>,
    /// Temporary IP address of the new appliance.
    pub ip_address: Option<String>,
    /// Subnet mask, e.g. `255.255.255.0`.
    pub subnet_mask: Option<String>,
    /// Gateway.
    pub gateway: Option<String>,
}

impl TemporaryNetwork {
    /// The network mode sent to VCF: as configured (upper case), else `STATIC`.
    pub fn mode(&self) -> String {
        self.network_mode
            .as_deref()
            .map_or_else(|| "STATIC".to_owned(), str::to_ascii_uppercase)
    }

    fn check(&self) -> Result<(), String> {
        let mode = self.mode();
        if !matches!(mode.as_str(), "STATIC" | "AUTOMATIC") {
            return Err(format!(
                "network_mode {mode:?}: expected \"STATIC\" or \"AUTOMATIC\""
            ));
        }
        let fields = [
            ("ip_address", &self.ip_address),
            ("subnet_mask", &self.subnet_mask),
            ("gateway", &self.gateway),
        ];
        for (name, value) in fields {
            match value.as_deref() {
                None | Some("") if mode == "STATIC" => {
                    return Err(format!("{name} is required for a STATIC network"));
                }
                Some(v) if !v.is_empty() && v.parse::<IpAddr>().is_err() => {
                    return Err(format!("{name} {v:?} is not an IP address"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            bundle_poll_interval: Duration::from_secs(30),
            download_timeout: Duration::from_secs(12 * 3600),
            sddc_manager_poll_interval: Duration::from_secs(60),
            sddc_manager_settle: Duration::from_secs(5 * 60),
            sddc_manager_timeout: Duration::from_secs(4 * 3600),
            precheck_poll_interval: Duration::from_secs(30),
            precheck_timeout: Duration::from_secs(40 * 60),
            upgrade_poll_interval: Duration::from_secs(60),
            component_timeout: Duration::from_secs(3 * 3600),
            validation_poll_interval: Duration::from_secs(10),
            validation_timeout: Duration::from_secs(30 * 60),
            completed_hold: Duration::from_secs(5 * 60),
            fail_on_precheck_errors: false,
            per_upgrade_precheck: false,
            max_log_entries: 200,
            poll_error_budget: 10,
            temporary_network: BTreeMap::new(),
            time_zone: TimeZoneName::default(),
            windows: BTreeMap::new(),
        }
    }
}

impl OrchestratorConfig {
    /// Every interval and timeout multiplied by `factor` (at least 10 ms each), e.g. for a
    /// demo against the simulator running at the same time scale. Policy switches and the log
    /// bound are kept.
    pub fn scaled(&self, factor: f64) -> Self {
        let f = |d: Duration| {
            let factor = if factor.is_finite() && factor > 0.0 {
                factor
            } else {
                1.0
            };
            d.mul_f64(factor).max(Duration::from_millis(10))
        };
        Self {
            bundle_poll_interval: f(self.bundle_poll_interval),
            download_timeout: f(self.download_timeout),
            sddc_manager_poll_interval: f(self.sddc_manager_poll_interval),
            sddc_manager_settle: f(self.sddc_manager_settle),
            sddc_manager_timeout: f(self.sddc_manager_timeout),
            precheck_poll_interval: f(self.precheck_poll_interval),
            precheck_timeout: f(self.precheck_timeout),
            upgrade_poll_interval: f(self.upgrade_poll_interval),
            component_timeout: f(self.component_timeout),
            validation_poll_interval: f(self.validation_poll_interval),
            validation_timeout: f(self.validation_timeout),
            completed_hold: f(self.completed_hold),
            ..self.clone()
        }
    }

    /// The configured maintenance windows of `domain` (its own entry, else the `"*"` one, else
    /// none).
    pub fn windows_of(&self, domain: &str) -> &[Window] {
        self.windows
            .get(domain)
            .or_else(|| self.windows.get(DEFAULT_WINDOWS))
            .map_or(&[], Vec::as_slice)
    }

    /// `windows` in the configured time zone.
    pub fn schedule<'a>(&self, windows: &'a [Window]) -> Schedule<'a> {
        Schedule {
            tz: self.time_zone.0,
            windows,
        }
    }

    /// Checks that the values make sense (non-zero poll intervals, at least one log entry).
    ///
    /// # Errors
    /// The first offending key, by its field name, and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let intervals = [
            ("bundle_poll_interval", self.bundle_poll_interval),
            (
                "sddc_manager_poll_interval",
                self.sddc_manager_poll_interval,
            ),
            ("precheck_poll_interval", self.precheck_poll_interval),
            ("upgrade_poll_interval", self.upgrade_poll_interval),
            ("validation_poll_interval", self.validation_poll_interval),
        ];
        for (key, value) in intervals {
            if value.is_zero() {
                return Err(ConfigError::new(key, "must be greater than zero"));
            }
        }
        if self.max_log_entries == 0 {
            return Err(ConfigError::new("max_log_entries", "must be at least 1"));
        }
        for (domain, net) in &self.temporary_network {
            net.check().map_err(|reason| {
                ConfigError::new(
                    "temporary_network",
                    format!("of domain {domain:?}: {reason}"),
                )
            })?;
        }
        Ok(())
    }
}

/// An invalid [`OrchestratorConfig`] value: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {reason}")]
pub struct ConfigError {
    /// The field name of the offending key, as written in the config (`upgrade_poll_interval`).
    pub key: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl ConfigError {
    fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self {
            key,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let c = OrchestratorConfig::default();
        assert_eq!(c.precheck_timeout, Duration::from_secs(2400));
        assert_eq!(c.component_timeout, Duration::from_secs(10800));
        assert!(!c.fail_on_precheck_errors);
        assert!(!c.per_upgrade_precheck);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn humantime_strings_parse_and_missing_keys_default() {
        let c: OrchestratorConfig =
            serde_json::from_str(r#"{"precheck_timeout":"10m","fail_on_precheck_errors":true}"#)
                .expect("valid config");
        assert_eq!(c.precheck_timeout, Duration::from_secs(600));
        assert!(c.fail_on_precheck_errors);
        assert_eq!(c.bundle_poll_interval, Duration::from_secs(30));
    }

    #[test]
    fn scaled_multiplies_durations_with_a_floor() {
        let c = OrchestratorConfig::default().scaled(0.005);
        assert_eq!(c.precheck_timeout, Duration::from_secs(12));
        assert_eq!(c.bundle_poll_interval, Duration::from_millis(150));
        let tiny = OrchestratorConfig::default().scaled(1e-9);
        assert_eq!(tiny.validation_poll_interval, Duration::from_millis(10));
        assert_eq!(tiny.max_log_entries, 200);
    }

    #[test]
    fn zero_poll_interval_is_rejected_by_name() {
        let c = OrchestratorConfig {
            upgrade_poll_interval: Duration::ZERO,
            ..OrchestratorConfig::default()
        };
        let err = c.validate().expect_err("zero interval");
        assert_eq!(err.key, "upgrade_poll_interval");
        assert_eq!(
            err.to_string(),
            "upgrade_poll_interval must be greater than zero"
        );
        let c = OrchestratorConfig {
            max_log_entries: 0,
            ..OrchestratorConfig::default()
        };
        assert_eq!(c.validate().expect_err("no log").key, "max_log_entries");
    }

    #[test]
    fn temporary_networks_are_checked_per_domain() {
        let mut c = OrchestratorConfig::default();
        let net = TemporaryNetwork {
            ip_address: Some("172.16.11.99".into()),
            subnet_mask: Some("255.255.255.0".into()),
            gateway: Some("172.16.11.1".into()),
            ..TemporaryNetwork::default()
        };
        c.temporary_network.insert("sfo-w01".into(), net.clone());
        assert!(c.validate().is_ok());
        assert_eq!(net.mode(), "STATIC");
        c.temporary_network.insert(
            "sfo-w02".into(),
            TemporaryNetwork {
                gateway: None,
                ..net.clone()
            },
        );
        let err = c.validate().expect_err("no gateway");
        assert_eq!(err.key, "temporary_network");
        assert!(err.to_string().contains("sfo-w02") && err.to_string().contains("gateway"));
        c.temporary_network.insert(
            "sfo-w02".into(),
            TemporaryNetwork {
                network_mode: Some("automatic".into()),
                ..TemporaryNetwork::default()
            },
        );
        assert!(c.validate().is_ok());
        c.temporary_network.insert(
            "sfo-w02".into(),
            TemporaryNetwork {
                ip_address: Some("not-an-ip".into()),
                ..net
            },
        );
        assert!(c.validate().is_err());
    }
}
