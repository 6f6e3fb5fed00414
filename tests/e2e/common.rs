//! What the end-to-end tests expect to see, derived from the simulator's inventory.
//!
//! The inventory is read through `vcf-client` from the same simulator the bridge watches, so
//! the expected entity list follows the scenario instead of being typed in by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dca_tests::recorder::Message;
use dca_tests::rig::{Rig, host_slug, slug};
use dca_tests::sim::Sim;

/// Time scale for monitoring tests: simulated time runs at real speed.
pub const REAL_TIME: f64 = 1.0;

/// A domain as the bridge should present it.
#[derive(Debug, Clone)]
pub struct DomainInfo {
    /// VCF id (a UUID).
    pub id: String,
    /// `sfo-m01`.
    pub name: String,
    /// `sfo_m01`.
    pub slug: String,
    /// Cluster slug (its topics) → host count.
    pub clusters: BTreeMap<String, usize>,
    /// Cluster slug → the cluster's part of its entity ids: the name without the domain name in
    /// front (`sfo-m01-cl01` → `cl01`), as Home Assistant shows it on the domain's device.
    pub cluster_ids: BTreeMap<String, String>,
}

/// A host as the bridge should present it.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// `sfo01_m01_esx01`.
    pub slug: String,
    /// `sfo01-m01-esx01.sfo.rainpole.io`: its device's name.
    pub fqdn: String,
}

/// Domains and hosts of the simulated SDDC Manager.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Domains by name order.
    pub domains: Vec<DomainInfo>,
    /// Hosts.
    pub hosts: Vec<HostInfo>,
}

impl Inventory {
    /// Reads the inventory through `vcf-client`.
    pub async fn read(sim: &Sim) -> anyhow::Result<Inventory> {
        let client = sim.client()?;
        let domains = client.domains().await?;
        let clusters = client.clusters().await?;
        let hosts = client.hosts().await?;
        let mut out = Vec::new();
        for d in &domains {
            let mut cl = BTreeMap::new();
            let mut ids = BTreeMap::new();
            for c in clusters
                .iter()
                .filter(|c| c.domain.as_ref().is_some_and(|r| r.id == d.id))
            {
                cl.insert(slug(&c.name), c.hosts.len());
                let short = c
                    .name
                    .strip_prefix(&format!("{}-", d.name))
                    .unwrap_or(&c.name);
                ids.insert(slug(&c.name), slug(short));
            }
            out.push(DomainInfo {
                id: d.id.clone(),
                name: d.name.clone(),
                slug: slug(&d.name),
                clusters: cl,
                cluster_ids: ids,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        let hosts = hosts
            .iter()
            .map(|h| HostInfo {
                slug: host_slug(h.fqdn.as_deref().unwrap_or(&h.id)),
                fqdn: h.fqdn.clone().unwrap_or_else(|| h.id.clone()),
            })
            .collect();
        Ok(Inventory {
            domains: out,
            hosts,
        })
    }

    /// The domain with this name.
    pub fn domain(&self, name: &str) -> &DomainInfo {
        self.domains
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("scenario has no domain {name}: {:?}", self.domains))
    }

    /// Every entity id Home Assistant must show: `(component, object_id)`. The same as the
    /// discovery topics of [`Inventory::expected_entities`], except for a cluster's entities,
    /// whose topics keep the longer id an earlier release announced.
    pub fn expected_entity_ids(&self, instance: &str) -> BTreeSet<(String, String)> {
        self.expected_entities(instance)
            .into_iter()
            .map(|(c, o)| {
                let id = self.entity_object_id(&o);
                (c, id)
            })
            .collect()
    }

    /// The entity's object id for the object id of its discovery topic.
    pub fn entity_object_id(&self, topic_object_id: &str) -> String {
        for d in &self.domains {
            for (c, id) in &d.cluster_ids {
                if topic_object_id == format!("vcf_{}_{c}_host_count", d.slug) {
                    return format!("vcf_{}_{id}_host_count", d.slug);
                }
            }
        }
        topic_object_id.to_owned()
    }

    /// Every entity the bridge must announce, by discovery topic: `(component, object_id)`.
    pub fn expected_entities(&self, instance: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut add = |component: &str, object_id: String| {
            out.insert((component.to_string(), object_id));
        };
        for d in &self.domains {
            let s = &d.slug;
            for key in [
                "status",
                "current_version",
                "components_to_update",
                "cpu_usage",
                "memory_usage",
                "storage_usage",
                "upgrade_status",
                "upgrade_logs",
                "precheck_findings",
                "upgrade_history",
            ] {
                add("sensor", format!("vcf_{s}_{key}"));
            }
            for c in d.clusters.keys() {
                add("sensor", format!("vcf_{s}_{c}_host_count"));
            }
            for key in [
                "start_upgrade",
                "acknowledge_alerts",
                "download_bundles",
                "abort_upgrade",
                "retry_upgrade",
                "plan_upgrade",
            ] {
                add("button", format!("vcf_{s}_{key}"));
            }
            add("switch", format!("vcf_{s}_ignore_alerts"));
            add("text", format!("vcf_{s}_maintenance_windows"));
            add("update", format!("vcf_{s}_update"));
            add("event", format!("vcf_{s}_upgrade_notification"));
            add("binary_sensor", format!("vcf_{s}_state_storage"));
        }
        for h in &self.hosts {
            for key in ["cpu_usage", "memory_usage", "storage_usage"] {
                add("sensor", format!("vcf_host_{}_{key}", h.slug));
            }
        }
        add("binary_sensor", format!("vcf_{instance}_connectivity"));
        add("button", format!("vcf_{instance}_check_for_updates"));
        add("button", format!("vcf_{instance}_refresh_token"));
        add("sensor", format!("vcf_{instance}_upgrade_all"));
        add("event", format!("vcf_{instance}_operation_notification"));
        for key in [
            "upgrade_all_domains",
            "retry_upgrade_all",
            "abort_upgrade_all",
        ] {
            add("button", format!("vcf_{instance}_{key}"));
        }
        out
    }
}

/// `<prefix>/<component>/<instance>/<object_id>/config`.
pub fn discovery_topic(rig: &Rig, component: &str, object_id: &str) -> String {
    format!(
        "{}/{component}/{}/{object_id}/config",
        rig.config.discovery_prefix, rig.config.instance_id
    )
}

/// Waits until the recorder has a non-empty discovery config for every expected entity.
pub async fn wait_discovery_complete(
    rig: &mut Rig,
    inventory: &Inventory,
    limit: Duration,
) -> anyhow::Result<()> {
    let expected: Vec<String> = inventory
        .expected_entities(&rig.config.instance_id)
        .iter()
        .map(|(c, o)| discovery_topic(rig, c, o))
        .collect();
    let got = dca_tests::wait::until("every discovery config", limit, || {
        let latest = rig.recorder.latest_by_topic();
        let missing: Vec<&String> = expected
            .iter()
            .filter(|t| latest.get(*t).is_none_or(|m| m.payload.is_empty()))
            .collect();
        let done = missing.is_empty();
        async move { done.then_some(()) }
    })
    .await;
    if got.is_err() {
        let latest = rig.recorder.latest_by_topic();
        let missing: Vec<&String> = expected
            .iter()
            .filter(|t| latest.get(*t).is_none_or(|m| m.payload.is_empty()))
            .collect();
        return rig.with_log(got.map_err(|e| e.context(format!("missing configs: {missing:#?}"))));
    }
    Ok(())
}

/// Replaces what changes from run to run (UUIDs, versions, ports, the test's unique names) so
/// that discovery payloads can be snapshot-tested.
pub fn normalise(value: &serde_json::Value, rig: &Rig) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let s = s
                .replace(&rig.config.base_topic, "[base]")
                .replace(&rig.config.instance_id, "[instance]");
            Value::String(redact_ports(&redact_uuids(&s)))
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| normalise(v, rig)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if matches!(k.as_str(), "sw_version" | "sw" | "hw_version") {
                        Value::String("[version]".into())
                    } else {
                        normalise(v, rig)
                    };
                    (k.replace(&rig.config.instance_id, "[instance]"), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces every UUID (8-4-4-4-12 hex digits) with `[uuid]`.
pub fn redact_uuids(s: &str) -> String {
    fn uuid_at(b: &[u8]) -> bool {
        b.len() >= 36
            && b[..36].iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if uuid_at(&s.as_bytes()[i..]) {
            out.push_str("[uuid]");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8().max(1);
        }
    }
    out
}

/// Replaces `127.0.0.1:<port>` with `127.0.0.1:[port]`.
pub fn redact_ports(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(pos + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[port]");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Parses a numeric state (`"42.5"`).
pub fn number(m: &Message) -> Option<f64> {
    m.text().trim().parse().ok()
}

/// Every request the bridge sent to the simulator fits the official spec of each of
/// `versions` (5.2.1, 9.0.2): the operation exists, its query parameters are the spec's, and a
/// JSON body fits the operation's request schema (a field the spec does not have fails).
pub async fn assert_requests_conform(sim: &Sim, versions: &[&str]) -> anyhow::Result<()> {
    let log = sim.log().await?;
    anyhow::ensure!(!log.is_empty(), "the simulator recorded no request");
    for version in versions {
        let spec = crate::schema::load_spec_of(version);
        let mut errs = Vec::new();
        for e in log.iter().filter(|e| !e.path.starts_with("/sim/")) {
            crate::schema::check_request(
                &spec,
                version,
                &e.method,
                &e.path,
                e.query.as_deref().unwrap_or(""),
                e.body.as_ref(),
                &mut errs,
            );
        }
        errs.sort();
        errs.dedup();
        anyhow::ensure!(
            errs.is_empty(),
            "requests that do not fit the {version} spec:\n{}",
            errs.join("\n")
        );
    }
    Ok(())
}
