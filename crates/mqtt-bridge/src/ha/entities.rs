//! Renders an [`Inventory`] into Home Assistant discovery configs and retained states.
//!
//! Rendering is pure: the publisher diffs its output against what it published last, so states go
//! out only when they change and configs of vanished domains/hosts are cleared.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::binary_sensor::BinarySensor;
use super::button::Button;
use super::discovery::{
    Availability, Component, Device, DiscoveryConfig, EntityBase, EntityCategory, Origin,
};
use super::event::{EVENT_TYPES, Event};
use super::sensor::Sensor;
use super::switch::Switch;
use super::update::Update;
use super::{MAX_ATTRIBUTES_LEN, state_text, tail_to_bytes, truncate_chars};
use crate::model::{DomainInfo, FlowInfo, HostInfo, Inventory, Usage};
use crate::topics::{Topics, host_slug, slug};

/// Domain Status values.
pub const DOMAIN_STATUSES: &[&str] = &[
    "up_to_date",
    "updates_available",
    "update_process_started",
    "error",
];

/// Upgrade Status values (the orchestrator's status strings).
pub const UPGRADE_STATUSES: &[&str] = &[
    "waiting_for_initiation",
    "update_process_started",
    "downloading_bundles",
    "setting_new_vcf_version_target",
    "downloading_sddcManager_bundle",
    "upgrading_sddcManager",
    "initializing_prechecks",
    "running_prechecks",
    "evaluating_prechecks",
    "prechecks_done",
    "waiting_for_alert_acknowledgement",
    "alerts_were_acknowledged",
    "starting_upgrades",
    "successfully_completed",
    "failed",
];

/// The payload HA's MQTT sensor treats as "no value" (state becomes `unknown`, not 0).
pub const NONE: &str = "None";

/// What rendering needs besides the inventory.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Topic builder.
    pub topics: Topics,
    /// SDDC Manager URL (device `configuration_url`).
    pub vcf_url: String,
    /// Whether the update entity offers Install.
    pub allow_update_install: bool,
}

/// Rendered output.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Discovery configs.
    pub configs: Vec<DiscoveryConfig>,
    /// Retained states by topic.
    pub states: BTreeMap<String, String>,
}

impl Rendered {
    /// Every retained message (discovery configs and states) by topic.
    pub fn into_messages(self, topics: &Topics) -> BTreeMap<String, String> {
        let mut out = self.states;
        for c in self.configs {
            out.insert(topics.discovery(c.component, &c.object_id), c.payload);
        }
        out
    }
}

struct Ctx<'a> {
    rc: &'a RenderContext,
    out: Rendered,
    with_configs: bool,
}

impl Ctx<'_> {
    fn t(&self) -> &Topics {
        &self.rc.topics
    }
    fn i(&self) -> &str {
        self.rc.topics.instance()
    }

    fn bridge_device(&self) -> Device {
        Device {
            identifiers: vec![format!("dca_{}_bridge", self.i())],
            name: format!("VCF SDDC Manager {}", self.i()),
            manufacturer: Some("VMware by Broadcom".into()),
            model: Some("SDDC Manager (DataCenter Assistant bridge)".into()),
            sw_version: None,
            via_device: None,
            configuration_url: Some(self.rc.vcf_url.clone()),
        }
    }

    fn domain_device(&self, d: &DomainInfo, version: Option<&str>) -> Device {
        Device {
            identifiers: vec![format!("dca_{}_{}", self.i(), d.id)],
            name: format!("VCF {}", d.name),
            manufacturer: Some("VMware by Broadcom".into()),
            model: Some(match d.kind.as_deref() {
                Some("MANAGEMENT") => "VCF management domain".into(),
                Some("VI") => "VCF VI workload domain".into(),
                Some(other) => format!("VCF {} domain", other.to_lowercase()),
                None => "VCF domain".into(),
            }),
            sw_version: version.map(str::to_owned),
            via_device: Some(format!("dca_{}_bridge", self.i())),
            configuration_url: Some(self.rc.vcf_url.clone()),
        }
    }

    fn host_device(&self, h: &HostInfo) -> Device {
        Device {
            identifiers: vec![format!("dca_{}_{}", self.i(), h.id)],
            name: format!("VCF host {}", host_slug(&h.fqdn)),
            manufacturer: h.vendor.clone(),
            model: h.model.clone(),
            sw_version: h.esxi_version.clone(),
            via_device: h
                .domain_id
                .as_ref()
                .map(|d| format!("dca_{}_{d}", self.i())),
            configuration_url: None,
        }
    }

    /// Availability for values read from SDDC Manager: bridge online AND SDDC Manager reachable.
    ///
    /// `availability` list + `availability_mode: all`
    /// (<https://www.home-assistant.io/integrations/mqtt/#availability>): an unreachable SDDC
    /// Manager makes these `unavailable` instead of leaving stale numbers or publishing a false 0.
    fn vcf_availability(&self) -> Vec<Availability> {
        vec![
            Availability {
                topic: self.t().bridge_state(),
                payload_available: None,
                payload_not_available: None,
            },
            Availability {
                topic: self.t().connectivity(),
                payload_available: Some("ON".into()),
                payload_not_available: Some("OFF".into()),
            },
        ]
    }

    /// Availability for bridge-owned entities (commands, upgrade flow): bridge online.
    fn bridge_availability(&self) -> Vec<Availability> {
        vec![Availability {
            topic: self.t().bridge_state(),
            payload_available: None,
            payload_not_available: None,
        }]
    }

    #[allow(clippy::too_many_arguments)]
    fn base(
        &self,
        platform: &str,
        name: &str,
        uuid: &str,
        key: &str,
        object_id: String,
        device: Device,
        availability: Vec<Availability>,
        icon: Option<&'static str>,
        category: Option<EntityCategory>,
        attributes: Option<String>,
    ) -> EntityBase {
        EntityBase {
            name: name.to_owned(),
            unique_id: format!("dca_{}_{uuid}_{key}", self.i()),
            default_entity_id: format!("{platform}.{object_id}"),
            object_id,
            device,
            origin: Origin::bridge(),
            availability,
            availability_mode: "all",
            icon,
            entity_category: category,
            json_attributes_topic: attributes,
            qos: 1,
        }
    }

    fn push<C: Component>(&mut self, c: C) {
        if self.with_configs {
            self.out.configs.push(c.render());
        }
    }

    fn state(&mut self, topic: String, payload: impl Into<String>) {
        self.out.states.insert(topic, payload.into());
    }

    fn json_state(&mut self, topic: String, value: &Value) {
        let text = value.to_string();
        let text = if text.len() > MAX_ATTRIBUTES_LEN {
            json!({"truncated": true, "summary": truncate_chars(&text, 1024)}).to_string()
        } else {
            text
        };
        self.out.states.insert(topic, text);
    }
}

/// Renders everything for `inv`.
pub fn render(inv: &Inventory, rc: &RenderContext) -> Rendered {
    render_parts(inv, rc, true)
}

/// Renders the states, and the discovery configs only when `with_configs` (the hub skips them
/// while [`structure_fingerprint`] is unchanged: configs depend on nothing else).
pub fn render_parts(inv: &Inventory, rc: &RenderContext, with_configs: bool) -> Rendered {
    let mut out = Rendered::default();
    for unit in units(inv) {
        let r = render_unit(inv, rc, &unit, with_configs);
        out.configs.extend(r.configs);
        out.states.extend(r.states);
    }
    out
}

/// A piece of the inventory rendered on its own, so the hub can publish a large first
/// announcement piece by piece instead of holding every config at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// The SDDC Manager device.
    Bridge,
    /// One domain (by id) with its clusters and upgrade entities.
    Domain(String),
    /// One host (by id).
    Host(String),
}

/// Every unit of `inv`, in publishing order.
pub fn units(inv: &Inventory) -> Vec<Unit> {
    std::iter::once(Unit::Bridge)
        .chain(inv.domains.keys().cloned().map(Unit::Domain))
        .chain(inv.hosts.keys().cloned().map(Unit::Host))
        .collect()
}

/// Renders one unit (states, and configs when `with_configs`).
pub fn render_unit(
    inv: &Inventory,
    rc: &RenderContext,
    unit: &Unit,
    with_configs: bool,
) -> Rendered {
    let mut cx = Ctx {
        rc,
        out: Rendered::default(),
        with_configs,
    };
    match unit {
        Unit::Bridge => render_bridge(&mut cx, inv),
        Unit::Domain(id) => {
            if let Some(d) = inv.domains.get(id) {
                render_domain(&mut cx, inv, d);
            }
        }
        Unit::Host(id) => {
            if let Some(h) = inv.hosts.get(id) {
                render_host(&mut cx, h);
            }
        }
    }
    cx.out
}

fn render_bridge(cx: &mut Ctx<'_>, inv: &Inventory) {
    let i = cx.i().to_owned();
    let dev = cx.bridge_device();
    let avail = cx.bridge_availability();
    let base = cx.base(
        "binary_sensor",
        "Connectivity",
        "bridge",
        "connectivity",
        format!("vcf_{i}_connectivity"),
        dev.clone(),
        avail.clone(),
        Some("mdi:lan-connect"),
        Some(EntityCategory::Diagnostic),
        Some(cx.t().connectivity_attributes()),
    );
    let topic = cx.t().connectivity();
    cx.push(BinarySensor {
        base,
        state_topic: topic.clone(),
        payload_on: "ON",
        payload_off: "OFF",
        device_class: Some("connectivity"),
    });
    let base = cx.base(
        "button",
        "Check for updates",
        "bridge",
        "check_for_updates",
        format!("vcf_{i}_check_for_updates"),
        dev.clone(),
        avail.clone(),
        Some("mdi:cloud-refresh"),
        None,
        None,
    );
    let cmd = cx.t().check_updates_set();
    cx.push(Button {
        base,
        command_topic: cmd,
        payload_press: "PRESS",
        device_class: None,
    });
    let base = cx.base(
        "button",
        "Refresh Token",
        "bridge",
        "refresh_token",
        format!("vcf_{i}_refresh_token"),
        dev,
        avail,
        Some("mdi:key-change"),
        Some(EntityCategory::Diagnostic),
        None,
    );
    let cmd = cx.t().refresh_token_set();
    cx.push(Button {
        base,
        command_topic: cmd,
        payload_press: "PRESS",
        device_class: None,
    });

    let c = &inv.connectivity;
    if let Some(up) = c.reachable {
        cx.state(topic, if up { "ON" } else { "OFF" });
        let attrs = serde_json::to_value(c).unwrap_or(Value::Null);
        let t = cx.t().connectivity_attributes();
        cx.json_state(t, &attrs);
    }
}

fn fmt_percent(u: Option<&Usage>) -> String {
    match u.and_then(Usage::percent) {
        Some(p) => format!("{p:.1}"),
        None => NONE.to_owned(),
    }
}

fn usage_attributes(u: Option<&Usage>) -> Value {
    match u {
        Some(u) => json!({"used": round2(u.used), "total": round2(u.total), "unit": u.unit}),
        None => json!({}),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn render_domain(cx: &mut Ctx<'_>, inv: &Inventory, d: &DomainInfo) {
    let ds = slug(&d.name);
    let upd = inv.updates.get(&d.id);
    let flow = inv.flows.get(&d.id);
    let version = upd.and_then(|u| u.current_version.as_deref());
    let dev = cx.domain_device(d, version);
    let vcf_av = cx.vcf_availability();
    let br_av = cx.bridge_availability();

    // --- Status ---
    // `device_class: enum` + `options` lets HA offer the values in automations
    // (<https://developers.home-assistant.io/docs/core/entity/sensor/#available-device-classes>).
    let status_topic = cx.t().domain_leaf(&ds, "status");
    let base = cx.base(
        "sensor",
        "Status",
        &d.id,
        "status",
        format!("vcf_{ds}_status"),
        dev.clone(),
        vcf_av.clone(),
        Some("mdi:list-status"),
        None,
        Some(Topics::attributes(&status_topic)),
    );
    cx.push(Sensor {
        base,
        state_topic: status_topic.clone(),
        device_class: Some("enum"),
        state_class: None,
        unit_of_measurement: None,
        suggested_display_precision: None,
        options: Some(DOMAIN_STATUSES.to_vec()),
    });
    let flow_running = flow.is_some_and(|f| f.in_progress);
    let status = if flow_running {
        "update_process_started"
    } else {
        match upd {
            Some(u) if u.error.is_some() => "error",
            Some(u) if u.next.is_some() => "updates_available",
            Some(_) => "up_to_date",
            None => NONE,
        }
    };
    cx.state(status_topic.clone(), status);
    let next = upd.and_then(|u| u.next.as_ref());
    let attrs = json!({
        "domain_id": d.id,
        "domain_name": d.name,
        "domain_type": d.kind,
        "current_version": version,
        "next_version": next.map(|n| n.version.clone()),
        "next_release_date": next.and_then(|n| n.release_date.clone()),
        "next_release_description": next.and_then(|n| n.description.clone()),
        "next_vcf_bom": next.map(|n| n.raw.clone()),
        "last_checked": upd.map(|u| u.checked_at.to_rfc3339()),
        "last_error": upd.and_then(|u| u.error.clone()),
    });
    cx.json_state(Topics::attributes(&status_topic), &attrs);

    // --- Current Version ---
    let topic = cx.t().domain_leaf(&ds, "current_version");
    let base = cx.base(
        "sensor",
        "Current Version",
        &d.id,
        "current_version",
        format!("vcf_{ds}_current_version"),
        dev.clone(),
        vcf_av.clone(),
        Some("mdi:tag-outline"),
        None,
        None,
    );
    cx.push(Sensor {
        base,
        state_topic: topic.clone(),
        device_class: None,
        state_class: None,
        unit_of_measurement: None,
        suggested_display_precision: None,
        options: None,
    });
    cx.state(topic, state_text(version.unwrap_or(NONE)));

    // --- Components To Update ---
    let topic = cx.t().domain_leaf(&ds, "components_to_update");
    let base = cx.base(
        "sensor",
        "Components To Update",
        &d.id,
        "components_to_update",
        format!("vcf_{ds}_components_to_update"),
        dev.clone(),
        vcf_av.clone(),
        Some("mdi:package-up"),
        None,
        Some(Topics::attributes(&topic)),
    );
    cx.push(Sensor {
        base,
        state_topic: topic.clone(),
        device_class: None,
        state_class: Some("measurement"),
        unit_of_measurement: None,
        suggested_display_precision: Some(0),
        options: None,
    });
    match upd {
        Some(u) if u.error.is_none() || u.next.is_some() => {
            cx.state(topic.clone(), u.components.len().to_string());
            let attrs = json!({
                "target_version": u.next.as_ref().map(|n| n.version.clone()),
                "source": if u.next.is_some() { Some(u.components_source) } else { None },
                "components": u.components,
            });
            cx.json_state(Topics::attributes(&topic), &attrs);
        }
        _ => {
            cx.state(topic.clone(), NONE);
            cx.json_state(Topics::attributes(&topic), &json!({}));
        }
    }

    // --- usage ---
    for (key, name, icon, u) in [
        (
            "cpu_usage",
            "CPU Usage",
            "mdi:cpu-64-bit",
            d.capacity.cpu.as_ref(),
        ),
        (
            "memory_usage",
            "Memory Usage",
            "mdi:memory",
            d.capacity.memory.as_ref(),
        ),
        (
            "storage_usage",
            "Storage Usage",
            "mdi:harddisk",
            d.capacity.storage.as_ref(),
        ),
    ] {
        let topic = cx.t().domain_leaf(&ds, key);
        let base = cx.base(
            "sensor",
            name,
            &d.id,
            key,
            format!("vcf_{ds}_{key}"),
            dev.clone(),
            vcf_av.clone(),
            Some(icon),
            None,
            Some(Topics::attributes(&topic)),
        );
        cx.push(Sensor {
            base,
            state_topic: topic.clone(),
            device_class: None,
            state_class: Some("measurement"),
            unit_of_measurement: Some("%"),
            suggested_display_precision: Some(1),
            options: None,
        });
        cx.state(topic.clone(), fmt_percent(u));
        cx.json_state(Topics::attributes(&topic), &usage_attributes(u));
    }

    // --- host count per cluster ---
    let clusters: Vec<_> = inv
        .clusters
        .values()
        .filter(|c| c.domain_id.as_deref() == Some(d.id.as_str()))
        .cloned()
        .collect();
    for c in clusters {
        let cs = slug(&c.name);
        let topic = cx.t().cluster_host_count(&ds, &cs);
        let base = cx.base(
            "sensor",
            &format!("{} Host Count", c.name),
            &c.id,
            "host_count",
            format!("vcf_{ds}_{cs}_host_count"),
            dev.clone(),
            vcf_av.clone(),
            Some("mdi:server"),
            None,
            None,
        );
        cx.push(Sensor {
            base,
            state_topic: topic.clone(),
            device_class: None,
            state_class: Some("measurement"),
            unit_of_measurement: Some("hosts"),
            suggested_display_precision: Some(0),
            options: None,
        });
        cx.state(topic, c.host_count.to_string());
    }

    render_upgrade(cx, d, &ds, flow, upd, dev, br_av, vcf_av);
}

#[allow(clippy::too_many_arguments)]
fn render_upgrade(
    cx: &mut Ctx<'_>,
    d: &DomainInfo,
    ds: &str,
    flow: Option<&FlowInfo>,
    upd: Option<&crate::model::UpdateInfo>,
    dev: Device,
    br_av: Vec<Availability>,
    vcf_av: Vec<Availability>,
) {
    // --- Upgrade Status ---
    let topic = cx.t().upgrade(ds, "status");
    let base = cx.base(
        "sensor",
        "Upgrade Status",
        &d.id,
        "upgrade_status",
        format!("vcf_{ds}_upgrade_status"),
        dev.clone(),
        br_av.clone(),
        Some("mdi:progress-upload"),
        None,
        Some(Topics::attributes(&topic)),
    );
    cx.push(Sensor {
        base,
        state_topic: topic.clone(),
        device_class: Some("enum"),
        state_class: None,
        unit_of_measurement: None,
        suggested_display_precision: None,
        options: Some(UPGRADE_STATUSES.to_vec()),
    });
    // --- Upgrade Logs ---
    let logs_topic = cx.t().upgrade(ds, "logs");
    let base = cx.base(
        "sensor",
        "Upgrade Logs",
        &d.id,
        "upgrade_logs",
        format!("vcf_{ds}_upgrade_logs"),
        dev.clone(),
        br_av.clone(),
        Some("mdi:text-box-outline"),
        None,
        Some(Topics::attributes(&logs_topic)),
    );
    cx.push(Sensor {
        base,
        state_topic: logs_topic.clone(),
        device_class: None,
        state_class: None,
        unit_of_measurement: None,
        suggested_display_precision: None,
        options: None,
    });
    if let Some(f) = flow {
        cx.state(topic.clone(), state_text(&f.status));
        cx.json_state(Topics::attributes(&topic), &f.attributes);
        cx.state(logs_topic.clone(), logs_state(&f.logs_markdown));
        let md = tail_to_bytes(&f.logs_markdown, MAX_ATTRIBUTES_LEN - 256);
        cx.json_state(
            Topics::attributes(&logs_topic),
            &json!({"markdown": md, "entries": f.log_entries}),
        );
        let state_topic = cx.t().upgrade(ds, "state");
        cx.json_state(state_topic, &f.view);
    }

    // --- buttons ---
    for (action, key, name, icon) in [
        ("start", "start_upgrade", "Start Upgrade", "mdi:play-circle"),
        (
            "acknowledge",
            "acknowledge_alerts",
            "Acknowledge Alerts",
            "mdi:check-decagram",
        ),
        (
            "download_bundles",
            "download_bundles",
            "Download Bundles",
            "mdi:download",
        ),
        ("abort", "abort_upgrade", "Abort Upgrade", "mdi:stop-circle"),
    ] {
        let base = cx.base(
            "button",
            name,
            &d.id,
            key,
            format!("vcf_{ds}_{key}"),
            dev.clone(),
            br_av.clone(),
            Some(icon),
            None,
            None,
        );
        let cmd = cx.t().upgrade_command(ds, action);
        cx.push(Button {
            base,
            command_topic: cmd,
            payload_press: "PRESS",
            device_class: None,
        });
    }

    // --- Ignore Alerts switch ---
    let sw_topic = cx.t().ignore_alerts(ds);
    let base = cx.base(
        "switch",
        "Ignore Alerts",
        &d.id,
        "ignore_alerts",
        format!("vcf_{ds}_ignore_alerts"),
        dev.clone(),
        br_av.clone(),
        Some("mdi:alert-remove"),
        Some(EntityCategory::Config),
        None,
    );
    let cmd = cx.t().ignore_alerts_set(ds);
    cx.push(Switch {
        base,
        state_topic: sw_topic.clone(),
        command_topic: cmd,
        payload_on: "ON",
        payload_off: "OFF",
    });
    if let Some(f) = flow {
        cx.state(sw_topic, if f.ignore_alerts { "ON" } else { "OFF" });
    }

    // --- update entity ---
    // JSON state form: <https://www.home-assistant.io/integrations/update.mqtt/#json-state>.
    // Without `command_topic` HA shows no Install button, which is what we want unless allowed.
    let up_topic = cx.t().update_state(ds);
    let base = cx.base(
        "update",
        "Update",
        &d.id,
        "update",
        format!("vcf_{ds}_update"),
        dev.clone(),
        vcf_av,
        Some("mdi:update"),
        None,
        None,
    );
    let allow = cx.rc.allow_update_install;
    let install = cx.t().update_install(ds);
    cx.push(Update {
        base,
        state_topic: up_topic.clone(),
        command_topic: allow.then_some(install),
        payload_install: allow.then_some("install"),
        device_class: "firmware",
        title: format!("VMware Cloud Foundation ({})", d.name),
    });
    if let Some(u) = upd
        && let Some(installed) = &u.current_version
    {
        let latest = u
            .next
            .as_ref()
            .map(|n| n.version.clone())
            .unwrap_or_else(|| installed.clone());
        let in_progress = flow.is_some_and(|f| f.in_progress);
        let summary = u
            .next
            .as_ref()
            .and_then(|n| n.description.clone())
            .map(|s| truncate_chars(&s, 255));
        let release_url = u.next.as_ref().and_then(|n| {
            n.raw["bom"]
                .as_array()?
                .iter()
                .find_map(|b| b["releaseURL"].as_str().map(str::to_owned))
        });
        let mut state = json!({
            "installed_version": installed,
            "latest_version": latest,
            "title": format!("VMware Cloud Foundation {latest}"),
            "release_summary": summary,
            "release_url": release_url,
            "in_progress": in_progress,
            "update_percentage": if in_progress { flow.and_then(|f| f.progress_percent) } else { None },
        });
        // HA's update schema rejects nulls (e.g. `release_url: null` is an "invalid url"): omit them.
        if let Some(obj) = state.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        cx.json_state(up_topic, &state);
    }

    // --- event entity ---
    // <https://www.home-assistant.io/integrations/event.mqtt/>: never retained, or every HA restart
    // would replay the last notification.
    let base = cx.base(
        "event",
        "Upgrade Notification",
        &d.id,
        "upgrade_notification",
        format!("vcf_{ds}_upgrade_notification"),
        dev,
        br_av,
        Some("mdi:bell-ring"),
        None,
        None,
    );
    let ev = cx.t().upgrade(ds, "event");
    cx.push(Event {
        base,
        state_topic: ev,
        event_types: EVENT_TYPES.to_vec(),
    });
}

/// Fingerprint of everything discovery configs are built from: domains (id, name, type,
/// version), clusters, hosts (id, FQDN, domain, cluster, vendor, model, ESXi version) and the
/// install switch. Usage numbers and flows do not change configs.
pub fn structure_fingerprint(inv: &Inventory, rc: &RenderContext) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rc.allow_update_install.hash(&mut h);
    rc.vcf_url.hash(&mut h);
    for d in inv.domains.values() {
        (&d.id, &d.name, &d.kind).hash(&mut h);
        inv.updates
            .get(&d.id)
            .and_then(|u| u.current_version.as_ref())
            .hash(&mut h);
    }
    for c in inv.clusters.values() {
        (&c.id, &c.name, &c.domain_id).hash(&mut h);
    }
    for x in inv.hosts.values() {
        (
            &x.id,
            &x.fqdn,
            &x.domain_id,
            &x.vendor,
            &x.model,
            &x.esxi_version,
        )
            .hash(&mut h);
    }
    h.finish()
}

/// The short Upgrade Logs state: the newest log line, without markdown bullets, ≤ 255 chars.
pub fn logs_state(markdown: &str) -> String {
    let last = markdown
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("No Messages");
    // Plain text: drop list bullets, headings and emphasis markers around the line.
    let last = last
        .trim_start_matches(['-', '*', '#', '>', ' '])
        .trim_matches(['_', '*', ' ']);
    state_text(if last.is_empty() { "No Messages" } else { last })
}

fn render_host(cx: &mut Ctx<'_>, h: &HostInfo) {
    let hs = host_slug(&h.fqdn);
    let dev = cx.host_device(h);
    let av = cx.vcf_availability();
    let attr_topic = cx.t().host_metric(&hs, "attributes");
    for (key, name, icon, u) in [
        ("cpu_usage", "CPU Usage", "mdi:cpu-64-bit", h.cpu.as_ref()),
        (
            "memory_usage",
            "Memory Usage",
            "mdi:memory",
            h.memory.as_ref(),
        ),
        (
            "storage_usage",
            "Storage Usage",
            "mdi:harddisk",
            h.storage.as_ref(),
        ),
    ] {
        let topic = cx.t().host_metric(&hs, key);
        let base = cx.base(
            "sensor",
            name,
            &h.id,
            key,
            format!("vcf_host_{hs}_{key}"),
            dev.clone(),
            av.clone(),
            Some(icon),
            None,
            Some(attr_topic.clone()),
        );
        cx.push(Sensor {
            base,
            state_topic: topic.clone(),
            device_class: None,
            state_class: Some("measurement"),
            unit_of_measurement: Some("%"),
            suggested_display_precision: Some(1),
            options: None,
        });
        cx.state(topic, fmt_percent(u));
    }
    let attrs = json!({
        "host_id": h.id,
        "fqdn": h.fqdn,
        "esxi_version": h.esxi_version,
        "cluster": h.cluster_name,
        // Capacities only: the used amounts change every cycle and are already in the % states,
        // so including them would republish every host's attributes on every cycle.
        "cpu_total_mhz": h.cpu.as_ref().map(|u| round2(u.total)),
        "memory_total_mb": h.memory.as_ref().map(|u| round2(u.total)),
        "storage_total_mb": h.storage.as_ref().map(|u| round2(u.total)),
    });
    cx.json_state(attr_topic, &attrs);
}

#[cfg(test)]
mod tests;
