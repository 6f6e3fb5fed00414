//! Every MQTT topic the bridge publishes or subscribes to, built in one place.
//!
//! `<b>` = base topic, `<i>` = instance id, `<d>` = domain slug, `<h>` = host slug, `<c>` = cluster
//! slug. `docs/mqtt.md` documents each one; [`Topics::documented_patterns`] lists them for the
//! checker test.

use crate::commands::{COMMANDS, Command, CommandUnit};

/// Slug for topics and entity ids: lower case, every run of non-alphanumerics → one `_`, trimmed.
///
/// `sfo-m01` → `sfo_m01`, `SFO M01 (prod)` → `sfo_m01_prod`. Never empty (`unnamed` instead).
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_sep = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_sep = true;
        }
    }
    if out.is_empty() {
        "unnamed".to_owned()
    } else {
        out
    }
}

/// Host slug: the slug of the first label of the FQDN (`sfo01-m01-esx01.sfo.rainpole.io` → `sfo01_m01_esx01`).
pub fn host_slug(fqdn: &str) -> String {
    slug(fqdn.split('.').next().unwrap_or(fqdn))
}

/// A parsed command topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTopic {
    /// Which command (its row of [`COMMANDS`]).
    pub kind: &'static Command,
    /// The domain slug for domain commands.
    pub domain: Option<String>,
}

/// Topic builder for one bridge instance.
#[derive(Debug, Clone)]
pub struct Topics {
    discovery_prefix: String,
    instance: String,
    root: String,
}

impl Topics {
    /// New builder: `base` topic, HA `discovery_prefix`, `instance` id.
    pub fn new(base: &str, discovery_prefix: &str, instance: &str) -> Self {
        Self {
            discovery_prefix: discovery_prefix.to_owned(),
            instance: instance.to_owned(),
            root: format!("{base}/{instance}"),
        }
    }

    /// The instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// `<b>/<i>`
    pub fn root(&self) -> &str {
        &self.root
    }

    // --- bridge ---

    /// `<b>/<i>/bridge`: the root of the bridge's own topics.
    pub fn bridge(&self) -> String {
        format!("{}/bridge", self.root)
    }
    /// `<b>/<i>/bridge/state`: `online`/`offline`, retained, LWT.
    pub fn bridge_state(&self) -> String {
        format!("{}/bridge/state", self.root)
    }
    /// `<b>/<i>/bridge/connectivity`: `ON`/`OFF`.
    pub fn connectivity(&self) -> String {
        format!("{}/bridge/connectivity", self.root)
    }
    /// `<b>/<i>/bridge/connectivity/attributes`
    pub fn connectivity_attributes(&self) -> String {
        format!("{}/bridge/connectivity/attributes", self.root)
    }
    /// `<b>/<i>/bridge/check_updates/set`
    pub fn check_updates_set(&self) -> String {
        format!("{}/bridge/check_updates/set", self.root)
    }
    /// `<b>/<i>/bridge/refresh_token/set`
    pub fn refresh_token_set(&self) -> String {
        format!("{}/bridge/refresh_token/set", self.root)
    }
    /// `<b>/<i>/bridge/upgrade_all/<leaf>`: Upgrade All Domains (`status`, `state`).
    pub fn upgrade_all(&self, leaf: &str) -> String {
        format!("{}/bridge/upgrade_all/{leaf}", self.root)
    }

    /// `<b>/<i>/bridge/sweep`: a marker the bridge sends itself at start; when it comes back,
    /// the broker has delivered every retained message of the sweep subscriptions.
    pub fn sweep_marker(&self) -> String {
        format!("{}/bridge/sweep", self.root)
    }

    // --- domain ---

    /// `<b>/<i>/domain/<d>`
    pub fn domain(&self, d: &str) -> String {
        format!("{}/domain/{d}", self.root)
    }
    /// `<b>/<i>/domain/<d>/<leaf>` for the simple per-domain states (`status`, `current_version`, ...).
    pub fn domain_leaf(&self, d: &str, leaf: &str) -> String {
        format!("{}/domain/{d}/{leaf}", self.root)
    }
    /// `<topic>/attributes`
    pub fn attributes(topic: &str) -> String {
        format!("{topic}/attributes")
    }
    /// `<b>/<i>/domain/<d>/cluster/<c>`
    pub fn cluster(&self, d: &str, c: &str) -> String {
        format!("{}/domain/{d}/cluster/{c}", self.root)
    }
    /// `<b>/<i>/host/<h>`
    pub fn host(&self, h: &str) -> String {
        format!("{}/host/{h}", self.root)
    }
    /// `<root>/<leaf>`: a topic below a unit's root ([`Self::bridge`], [`Self::domain`], ...).
    pub fn below(root: &str, leaf: &str) -> String {
        format!("{root}/{leaf}")
    }
    /// The topic of command `c` (for domain `d` when it is a domain command).
    pub fn command(&self, c: &Command, d: &str) -> String {
        match c.unit {
            CommandUnit::Bridge => Self::below(&self.bridge(), c.leaf),
            CommandUnit::Domain => Self::below(&self.domain(d), c.leaf),
        }
    }
    /// `<b>/<i>/domain/<d>/cluster/<c>/host_count`
    pub fn cluster_host_count(&self, d: &str, c: &str) -> String {
        format!("{}/domain/{d}/cluster/{c}/host_count", self.root)
    }
    /// `<b>/<i>/host/<h>/<metric>`
    pub fn host_metric(&self, h: &str, metric: &str) -> String {
        format!("{}/host/{h}/{metric}", self.root)
    }
    /// `<b>/<i>/domain/<d>/upgrade/<leaf>` (`status`, `logs`, `state`, `event`).
    pub fn upgrade(&self, d: &str, leaf: &str) -> String {
        format!("{}/domain/{d}/upgrade/{leaf}", self.root)
    }
    /// `<b>/<i>/domain/<d>/upgrade/<action>/set` (`start`, `acknowledge`, `abort`, `download_bundles`).
    pub fn upgrade_command(&self, d: &str, action: &str) -> String {
        format!("{}/domain/{d}/upgrade/{action}/set", self.root)
    }
    /// `<b>/<i>/domain/<d>/ignore_alerts`
    pub fn ignore_alerts(&self, d: &str) -> String {
        format!("{}/domain/{d}/ignore_alerts", self.root)
    }
    /// `<b>/<i>/domain/<d>/ignore_alerts/set`
    pub fn ignore_alerts_set(&self, d: &str) -> String {
        format!("{}/domain/{d}/ignore_alerts/set", self.root)
    }
    /// `<b>/<i>/domain/<d>/update/state`
    pub fn update_state(&self, d: &str) -> String {
        format!("{}/domain/{d}/update/state", self.root)
    }
    /// `<b>/<i>/domain/<d>/update/install`
    pub fn update_install(&self, d: &str) -> String {
        format!("{}/domain/{d}/update/install", self.root)
    }

    // --- Home Assistant ---

    /// `<prefix>/status`: Home Assistant's birth/LWT topic.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }
    /// `<prefix>/<component>/<i>/<object_id>/config`
    pub fn discovery(&self, component: &str, object_id: &str) -> String {
        format!(
            "{}/{component}/{}/{object_id}/config",
            self.discovery_prefix, self.instance
        )
    }
    /// Filter matching every discovery config of this instance (to find stale ones).
    pub fn discovery_filter(&self) -> String {
        format!("{}/+/{}/+/config", self.discovery_prefix, self.instance)
    }
    /// True when `topic` is one of this instance's discovery config topics.
    pub fn is_discovery(&self, topic: &str) -> bool {
        let Some(rest) = topic.strip_prefix(&self.discovery_prefix) else {
            return false;
        };
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        parts.len() == 4 && parts[1] == self.instance && parts[3] == "config"
    }

    /// Filters matching this instance's retained state topics of domains, clusters and hosts,
    /// and never a command topic (so no command is delivered twice). At start the bridge reads
    /// them to find the states of units that vanished while it was down.
    pub fn state_sweep_filters(&self) -> Vec<String> {
        let r = &self.root;
        vec![
            format!("{r}/domain/+/+"),
            format!("{r}/domain/+/+/attributes"),
            format!("{r}/domain/+/upgrade/+"),
            format!("{r}/domain/+/upgrade/+/attributes"),
            format!("{r}/domain/+/update/state"),
            // A cluster has no command topic.
            format!("{r}/domain/+/cluster/+/+"),
            format!("{r}/domain/+/cluster/+/+/attributes"),
            format!("{r}/host/#"),
        ]
    }

    /// Everything the start-up sweep subscribes to: this instance's discovery configs, the
    /// states of its domains, clusters and hosts, and the sweep marker.
    pub fn sweep_filters(&self) -> Vec<String> {
        let mut filters = vec![self.discovery_filter(), self.sweep_marker()];
        filters.extend(self.state_sweep_filters());
        filters
    }

    /// True for a topic the start-up sweep looks at (a discovery config or a unit's state).
    pub fn is_swept(&self, topic: &str) -> bool {
        self.is_discovery(topic) || self.state_unit(topic).is_some()
    }

    /// The unit a state topic of this instance belongs to: `domain/<d>`, `domain/<d>/cluster/<c>`
    /// or `host/<h>`. `None` for command topics, bridge topics and anything else.
    pub fn state_unit<'a>(&self, topic: &'a str) -> Option<&'a str> {
        let rest = topic.strip_prefix(&self.root)?.strip_prefix('/')?;
        if self.parse_command(topic).is_some() {
            return None;
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let levels = match parts.as_slice() {
            ["host", h, _, ..] if !h.is_empty() => 2,
            ["domain", d, "cluster", c, _, ..] if !d.is_empty() && !c.is_empty() => 4,
            ["domain", d, _, ..] if !d.is_empty() => 2,
            _ => return None,
        };
        let len = parts[..levels].iter().map(|p| p.len()).sum::<usize>() + levels - 1;
        rest.get(..len)
    }

    /// Subscriptions for every command topic of [`COMMANDS`] (wildcards over domains).
    pub fn command_filters(&self) -> Vec<String> {
        let mut filters: Vec<String> = Vec::new();
        for c in COMMANDS {
            let f = self.command(c, "+");
            if !filters.contains(&f) {
                filters.push(f);
            }
        }
        filters
    }

    /// Parses a command topic against [`COMMANDS`]; `None` if `topic` is not one.
    pub fn parse_command(&self, topic: &str) -> Option<CommandTopic> {
        let rest = topic.strip_prefix(&self.root)?.strip_prefix('/')?;
        let (domain, leaf) = match rest.split_once('/')? {
            ("bridge", leaf) => (None, leaf),
            ("domain", rest) => {
                let (d, leaf) = rest.split_once('/')?;
                if d.is_empty() {
                    return None;
                }
                (Some(d), leaf)
            }
            _ => return None,
        };
        let unit = if domain.is_some() {
            CommandUnit::Domain
        } else {
            CommandUnit::Bridge
        };
        let kind = COMMANDS.iter().find(|c| c.unit == unit && c.leaf == leaf)?;
        Some(CommandTopic {
            kind,
            domain: domain.map(str::to_owned),
        })
    }

    /// Every topic pattern the bridge uses, with `<b>`, `<i>`, `<d>`, `<c>`, `<h>` placeholders and
    /// `<prefix>` for the discovery prefix, exactly as `docs/mqtt.md` writes them.
    pub fn documented_patterns() -> Vec<&'static str> {
        vec![
            "<b>/<i>/bridge/state",
            "<b>/<i>/bridge/connectivity",
            "<b>/<i>/bridge/connectivity/attributes",
            "<b>/<i>/bridge/check_updates/set",
            "<b>/<i>/bridge/refresh_token/set",
            "<b>/<i>/bridge/sweep",
            "<b>/<i>/bridge/readiness",
            "<b>/<i>/bridge/readiness/attributes",
            "<b>/<i>/bridge/last_backup",
            "<b>/<i>/bridge/last_backup/attributes",
            "<b>/<i>/bridge/failed_tasks",
            "<b>/<i>/bridge/failed_tasks/attributes",
            "<b>/<i>/bridge/backup/set",
            "<b>/<i>/bridge/task_retry/set",
            "<b>/<i>/bridge/notifications",
            "<b>/<i>/bridge/notifications/attributes",
            "<b>/<i>/bridge/notifications/event",
            "<b>/<i>/bridge/event",
            "<b>/<i>/bridge/upgrade_all/status",
            "<b>/<i>/bridge/upgrade_all/state",
            "<b>/<i>/bridge/upgrade_all/start/set",
            "<b>/<i>/bridge/upgrade_all/retry/set",
            "<b>/<i>/bridge/upgrade_all/abort/set",
            "<b>/<i>/domain/<d>/status",
            "<b>/<i>/domain/<d>/status/attributes",
            "<b>/<i>/domain/<d>/current_version",
            "<b>/<i>/domain/<d>/components_to_update",
            "<b>/<i>/domain/<d>/components_to_update/attributes",
            "<b>/<i>/domain/<d>/cpu_usage",
            "<b>/<i>/domain/<d>/cpu_usage/attributes",
            "<b>/<i>/domain/<d>/memory_usage",
            "<b>/<i>/domain/<d>/memory_usage/attributes",
            "<b>/<i>/domain/<d>/storage_usage",
            "<b>/<i>/domain/<d>/storage_usage/attributes",
            "<b>/<i>/domain/<d>/cluster/<c>/host_count",
            "<b>/<i>/domain/<d>/cluster/<c>/image_compliance",
            "<b>/<i>/domain/<d>/cluster/<c>/image_compliance/attributes",
            "<b>/<i>/host/<h>/cpu_usage",
            "<b>/<i>/host/<h>/memory_usage",
            "<b>/<i>/host/<h>/storage_usage",
            "<b>/<i>/host/<h>/attributes",
            "<b>/<i>/domain/<d>/upgrade/status",
            "<b>/<i>/domain/<d>/upgrade/status/attributes",
            "<b>/<i>/domain/<d>/upgrade/logs",
            "<b>/<i>/domain/<d>/upgrade/logs/attributes",
            "<b>/<i>/domain/<d>/upgrade/findings",
            "<b>/<i>/domain/<d>/upgrade/findings/attributes",
            "<b>/<i>/domain/<d>/upgrade/history",
            "<b>/<i>/domain/<d>/upgrade/history/attributes",
            "<b>/<i>/domain/<d>/upgrade/state",
            "<b>/<i>/domain/<d>/upgrade/state_storage",
            "<b>/<i>/domain/<d>/upgrade/state_storage/attributes",
            "<b>/<i>/domain/<d>/upgrade/event",
            "<b>/<i>/domain/<d>/upgrade/start/set",
            "<b>/<i>/domain/<d>/upgrade/acknowledge/set",
            "<b>/<i>/domain/<d>/upgrade/abort/set",
            "<b>/<i>/domain/<d>/upgrade/retry/set",
            "<b>/<i>/domain/<d>/upgrade/download_bundles/set",
            "<b>/<i>/domain/<d>/upgrade/plan/set",
            "<b>/<i>/domain/<d>/upgrade/windows",
            "<b>/<i>/domain/<d>/upgrade/windows/set",
            "<b>/<i>/domain/<d>/ignore_alerts",
            "<b>/<i>/domain/<d>/ignore_alerts/set",
            "<b>/<i>/domain/<d>/readiness",
            "<b>/<i>/domain/<d>/readiness/attributes",
            "<b>/<i>/domain/<d>/override_readiness",
            "<b>/<i>/domain/<d>/override_readiness/set",
            "<b>/<i>/domain/<d>/update/state",
            "<b>/<i>/domain/<d>/update/install",
            "<prefix>/status",
            "<prefix>/<component>/<i>/<object_id>/config",
        ]
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn state_units_and_sweep_filters_never_include_commands() {
        let t = Topics::new("dca", "homeassistant", "lab");
        for (topic, unit) in [
            ("dca/lab/host/esx01/cpu_usage", Some("host/esx01")),
            ("dca/lab/host/esx01/attributes", Some("host/esx01")),
            ("dca/lab/domain/m01/status", Some("domain/m01")),
            ("dca/lab/domain/m01/status/attributes", Some("domain/m01")),
            ("dca/lab/domain/m01/upgrade/logs", Some("domain/m01")),
            (
                "dca/lab/domain/m01/cluster/cl01/host_count",
                Some("domain/m01/cluster/cl01"),
            ),
            ("dca/lab/domain/m01/upgrade/start/set", None),
            ("dca/lab/domain/m01/ignore_alerts/set", None),
            ("dca/lab/domain/m01/update/install", None),
            ("dca/lab/bridge/state", None),
            ("dca/lab/host/esx01", None),
            ("dca/other/host/esx01/cpu_usage", None),
            ("homeassistant/sensor/lab/x/config", None),
        ] {
            assert_eq!(t.state_unit(topic), unit, "{topic}");
        }
        // Every documented state topic of a unit is swept; no command topic is.
        let filters = t.state_sweep_filters();
        for pattern in Topics::documented_patterns() {
            let topic = pattern
                .replace("<b>/<i>", "dca/lab")
                .replace("<d>", "m01")
                .replace("<c>", "cl01")
                .replace("<h>", "esx01");
            let swept = filters.iter().any(|f| rumqttc::matches(&topic, f));
            if t.parse_command(&topic).is_some() {
                assert!(!swept, "command topic {topic} is matched by a sweep filter");
            } else if t.state_unit(&topic).is_some() {
                assert!(swept, "state topic {topic} is not swept");
            } else {
                assert!(!swept, "{topic} is not a unit's state but is swept");
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn t() -> Topics {
        Topics::new("datacenter_assistant", "homeassistant", "sfo_vcf01")
    }

    #[test]
    fn builds_topics() {
        let t = t();
        assert_eq!(
            t.bridge_state(),
            "datacenter_assistant/sfo_vcf01/bridge/state"
        );
        assert_eq!(
            t.domain_leaf("sfo_m01", "status"),
            "datacenter_assistant/sfo_vcf01/domain/sfo_m01/status"
        );
        assert_eq!(
            Topics::attributes(&t.domain_leaf("sfo_m01", "cpu_usage")),
            "datacenter_assistant/sfo_vcf01/domain/sfo_m01/cpu_usage/attributes"
        );
        assert_eq!(
            t.cluster_host_count("sfo_m01", "sfo_m01_cl01"),
            "datacenter_assistant/sfo_vcf01/domain/sfo_m01/cluster/sfo_m01_cl01/host_count"
        );
        assert_eq!(
            t.host_metric("esx01", "cpu_usage"),
            "datacenter_assistant/sfo_vcf01/host/esx01/cpu_usage"
        );
        assert_eq!(
            t.upgrade_command("sfo_w01", "start"),
            "datacenter_assistant/sfo_vcf01/domain/sfo_w01/upgrade/start/set"
        );
        assert_eq!(
            t.discovery("sensor", "vcf_sfo_m01_status"),
            "homeassistant/sensor/sfo_vcf01/vcf_sfo_m01_status/config"
        );
        assert!(t.is_discovery("homeassistant/sensor/sfo_vcf01/vcf_sfo_m01_status/config"));
        assert!(!t.is_discovery("homeassistant/sensor/other/vcf_sfo_m01_status/config"));
        assert_eq!(t.ha_status(), "homeassistant/status");
    }

    fn row(leaf: &str) -> &'static Command {
        crate::commands::command(leaf).unwrap_or_else(|| panic!("no command {leaf}"))
    }

    #[test]
    fn parses_commands() {
        let t = t();
        for (topic, kind, d) in [
            (t.check_updates_set(), row("check_updates/set"), None),
            (t.refresh_token_set(), row("refresh_token/set"), None),
            (
                t.upgrade_command("w01", "start"),
                row("upgrade/start/set"),
                Some("w01"),
            ),
            (
                t.upgrade_command("w01", "acknowledge"),
                row("upgrade/acknowledge/set"),
                Some("w01"),
            ),
            (
                t.upgrade_command("w01", "abort"),
                row("upgrade/abort/set"),
                Some("w01"),
            ),
            (
                t.upgrade_command("w01", "download_bundles"),
                row("upgrade/download_bundles/set"),
                Some("w01"),
            ),
            (
                t.ignore_alerts_set("w01"),
                row("ignore_alerts/set"),
                Some("w01"),
            ),
            (t.update_install("w01"), row("update/install"), Some("w01")),
        ] {
            assert_eq!(
                t.parse_command(&topic),
                Some(CommandTopic {
                    kind,
                    domain: d.map(str::to_owned)
                }),
                "{topic}"
            );
        }
        assert_eq!(t.parse_command(&t.upgrade_command("w01", "explode")), None);
        assert_eq!(t.parse_command(&t.bridge_state()), None);
        assert_eq!(
            t.parse_command("other/sfo_vcf01/bridge/check_updates/set"),
            None
        );
        assert_eq!(
            t.parse_command("datacenter_assistant/sfo_vcf01/domain//upgrade/start/set"),
            None
        );
    }

    #[test]
    fn command_filters_cover_every_command_topic() {
        let t = t();
        let filters = t.command_filters();
        let matches = |topic: &str| {
            filters.iter().any(|f| {
                let fp: Vec<&str> = f.split('/').collect();
                let tp: Vec<&str> = topic.split('/').collect();
                fp.len() == tp.len() && fp.iter().zip(&tp).all(|(a, b)| *a == "+" || a == b)
            })
        };
        for topic in [
            t.check_updates_set(),
            t.refresh_token_set(),
            t.upgrade_command("x", "start"),
            t.upgrade_command("x", "abort"),
            t.ignore_alerts_set("x"),
            t.update_install("x"),
        ] {
            assert!(matches(&topic), "{topic}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("sfo-m01"), "sfo_m01");
        assert_eq!(slug("SFO  M01 (prod)"), "sfo_m01_prod");
        assert_eq!(slug("--"), "unnamed");
        assert_eq!(
            host_slug("sfo01-m01-esx01.sfo.rainpole.io"),
            "sfo01_m01_esx01"
        );
        assert_eq!(
            slug("sfo-vcf01.sfo.rainpole.io"),
            "sfo_vcf01_sfo_rainpole_io"
        );
    }

    proptest! {
        #[test]
        fn slug_is_topic_and_entity_safe(s in "\\PC{0,40}") {
            let out = slug(&s);
            prop_assert!(!out.is_empty());
            prop_assert!(out.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            prop_assert!(!out.starts_with('_') && !out.ends_with('_'));
            prop_assert!(!out.contains("__"));
            // idempotent
            prop_assert_eq!(slug(&out), out.clone());
        }
    }
}
