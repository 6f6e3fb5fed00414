//! Renders an [`Inventory`] into Home Assistant discovery configs and retained states.
//!
//! Which entities exist is data: one row each in the tables of [`table`] (and, for buttons, of
//! [`crate::commands::COMMANDS`]). This module adds what the entities of a unit share and
//! computes their states.
//!
//! Rendering is pure: the publisher diffs its output against what it published last, so states go
//! out only when they change and configs of vanished domains/hosts are cleared.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::binary_sensor::BinarySensor;
use super::button::Button;
use super::discovery::{Availability, Component, Device, DiscoveryConfig, EntityBase, Origin};
use super::event::Event;
use super::sensor::Sensor;
use super::switch::Switch;
use super::update::Update;
use super::{MAX_ATTRIBUTES_LEN, state_text, tail_to_bytes, truncate_chars};
use crate::commands::{COMMANDS, CommandUnit};
use crate::model::{ClusterInfo, DomainInfo, FlowInfo, HostInfo, Inventory, Usage};
use crate::topics::{Topics, host_slug, slug};

pub mod table;

pub use table::DOMAIN_STATUSES;
use table::{Attributes, Entity, Platform, Source};

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
    /// Whether the readiness entities and commands exist (`readiness.enabled`).
    pub readiness: bool,
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

/// What the entities of one unit share: the renderer applies it to each of the unit's rows.
struct Scope {
    /// Immutable id in `unique_id`s (`bridge`, or the domain's, cluster's or host's id).
    uuid: String,
    /// `object_id` prefix (`vcf_sfo_m01`): the entity id Home Assistant gives a new entity.
    object_prefix: String,
    /// Prefix of the discovery topic's object id. The same as `object_prefix` except for
    /// clusters, whose topics keep the full cluster slug so an existing entity is updated in
    /// place (same topic, same `unique_id`) and keeps its registry entry and history.
    topic_prefix: String,
    /// Topic root the rows' leaves hang under.
    root: String,
    /// Device block.
    device: Device,
    /// The unit's name (update title; cluster entity names).
    unit_name: String,
    /// Put `unit_name` in front of entity names (a cluster's entities sit on its domain's device).
    prefix_names: bool,
}

/// The topics of one row below a unit's topic root.
struct RowTopics {
    /// State topic (empty for buttons).
    state: String,
    /// JSON attributes topic.
    attributes: Option<String>,
    /// Command topic.
    command: Option<String>,
}

impl RowTopics {
    fn of(root: &str, e: &Entity) -> Self {
        let state = e.state.map(|l| Topics::below(root, l)).unwrap_or_default();
        Self {
            attributes: match e.attributes {
                Attributes::None => None,
                Attributes::Own => Some(Topics::attributes(&state)),
                Attributes::At(leaf) => Some(Topics::below(root, leaf)),
            },
            command: e.command.map(|l| Topics::below(root, l)),
            state,
        }
    }
}

/// Every topic the bridge builds, as a pattern with the placeholders `docs/mqtt.md` uses (`<b>`,
/// `<i>`, `<d>`, `<c>`, `<h>`, `<prefix>`, `<component>`, `<object_id>`): the state, attributes
/// and command topics of every row of the entity and command tables, plus the topics outside
/// them (bridge state, sweep marker, flow view, Home Assistant status, discovery configs).
pub fn topic_patterns() -> BTreeSet<String> {
    let t = Topics::new("<b>", "<prefix>", "<i>");
    let mut out = BTreeSet::new();
    for (root, rows) in [
        (t.bridge(), table::BRIDGE),
        (t.domain("<d>"), table::DOMAIN),
        (t.cluster("<d>", "<c>"), table::CLUSTER),
        (t.host("<h>"), table::HOST),
        (t.domain("<d>"), table::UPGRADE),
        (t.bridge(), table::READINESS_BRIDGE),
        (t.bridge(), table::READINESS_NOTIFICATIONS),
        (t.domain("<d>"), table::READINESS_DOMAIN),
        (t.cluster("<d>", "<c>"), table::READINESS_CLUSTER),
    ] {
        for e in rows {
            let RowTopics {
                state,
                attributes,
                command,
            } = RowTopics::of(&root, e);
            out.extend(
                [attributes, command]
                    .into_iter()
                    .flatten()
                    .chain((!state.is_empty()).then_some(state)),
            );
        }
    }
    out.extend(COMMANDS.iter().map(|c| t.command(c, "<d>")));
    out.extend([
        t.bridge_state(),
        t.sweep_marker(),
        t.upgrade("<d>", "state"),
        t.ha_status(),
        t.discovery("<component>", "<object_id>"),
    ]);
    out
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

    /// A domain's device. No `sw_version`: the VCF version is a state (Current Version, the
    /// update entity), and a device block that changed with it would re-send every config of
    /// the domain after an upgrade, which makes Home Assistant forget the update entity's
    /// release summary, link and title until the next state message.
    fn domain_device(&self, d: &DomainInfo) -> Device {
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
            sw_version: None,
            via_device: Some(format!("dca_{}_bridge", self.i())),
            configuration_url: Some(self.rc.vcf_url.clone()),
        }
    }

    fn host_device(&self, h: &HostInfo) -> Device {
        Device {
            identifiers: vec![format!("dca_{}_{}", self.i(), h.id)],
            // The host name as VCF and vSphere show it (`esx01.sfo.rainpole.io`).
            name: h.fqdn.clone(),
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

    /// Announces `rows` for `scope` (when configs are wanted).
    fn announce(&mut self, scope: &Scope, rows: &[Entity]) {
        if self.with_configs {
            for e in rows {
                let config = self.config(scope, e);
                self.out.configs.push(config);
            }
        }
    }

    /// Announces the buttons of the commands of `unit` (readiness ones only with readiness on).
    fn announce_buttons(&mut self, scope: &Scope, unit: CommandUnit) {
        let readiness = self.rc.readiness;
        let rows: Vec<Entity> = COMMANDS
            .iter()
            .filter(|c| c.unit == unit)
            .filter(|c| readiness || !c.is_readiness())
            .filter_map(|c| c.button.map(|b| Entity::button(c, b)))
            .collect();
        self.announce(scope, &rows);
    }

    /// One row's discovery config.
    fn config(&self, scope: &Scope, e: &Entity) -> DiscoveryConfig {
        let object_id = format!("{}_{}", scope.object_prefix, e.key);
        let topic_id = format!("{}_{}", scope.topic_prefix, e.key);
        let RowTopics {
            state: state_topic,
            attributes,
            command: command_topic,
        } = RowTopics::of(&scope.root, e);
        let command = e.command.and_then(crate::commands::command);
        // Payloads come from the command row, so what HA sends is what validation accepts.
        let payload = |i: usize| command.and_then(|c| c.payloads.get(i)).map_or("", |p| p.0);
        let base = EntityBase {
            name: if scope.prefix_names {
                format!("{} {}", scope.unit_name, e.name)
            } else {
                e.name.to_owned()
            },
            unique_id: format!("dca_{}_{}_{}", self.i(), scope.uuid, e.key),
            default_entity_id: format!("{}.{object_id}", e.platform.as_str()),
            object_id,
            device: scope.device.clone(),
            origin: Origin::bridge(),
            availability: match e.source {
                Source::Bridge => self.bridge_availability(),
                Source::Vcf => self.vcf_availability(),
            },
            availability_mode: "all",
            icon: Some(e.icon),
            entity_category: e.category,
            json_attributes_topic: attributes,
            // Read-only entities show retained topics: Home Assistant subscribes to them at QoS 0,
            // which a broker never queues (Mosquitto queues only QoS 1/2 per client, 1,000 by
            // default, and drops beyond), and after any reconnect the retained value comes again.
            // Entities that send commands keep QoS 1 for the command.
            qos: match e.platform {
                Platform::Sensor | Platform::BinarySensor | Platform::Event => 0,
                Platform::Button | Platform::Switch | Platform::Update | Platform::Text => 1,
            },
        };
        let mut config = match e.platform {
            Platform::Sensor => Sensor {
                base,
                state_topic,
                device_class: e.device_class,
                state_class: e.state_class,
                unit_of_measurement: e.unit,
                suggested_display_precision: e.precision,
                options: e.options.map(<[_]>::to_vec),
            }
            .render(),
            Platform::BinarySensor => BinarySensor {
                base,
                state_topic,
                payload_on: "ON",
                payload_off: "OFF",
                device_class: e.device_class,
            }
            .render(),
            Platform::Button => Button {
                base,
                command_topic: command_topic.unwrap_or_default(),
                payload_press: payload(0),
                device_class: e.device_class,
            }
            .render(),
            Platform::Switch => Switch {
                base,
                state_topic,
                command_topic: command_topic.unwrap_or_default(),
                payload_on: payload(0),
                payload_off: payload(1),
            }
            .render(),
            Platform::Update => {
                let allow = self.rc.allow_update_install;
                Update {
                    base,
                    state_topic,
                    command_topic: command_topic.filter(|_| allow),
                    payload_install: allow.then_some(payload(0)),
                    device_class: e.device_class.unwrap_or_default(),
                    title: format!("{} ({})", e.title.unwrap_or_default(), scope.unit_name),
                }
                .render()
            }
            Platform::Event => Event {
                base,
                state_topic,
                event_types: e.event_types.unwrap_or_default().to_vec(),
            }
            .render(),
            Platform::Text => crate::ha::text::Text {
                base,
                state_topic,
                command_topic: command_topic.unwrap_or_default(),
                max: crate::ha::MAX_STATE_LEN,
                mode: "text",
            }
            .render(),
        };
        config.object_id = topic_id;
        config
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
    let scope = Scope {
        uuid: "bridge".into(),
        object_prefix: format!("vcf_{}", cx.i()),
        topic_prefix: format!("vcf_{}", cx.i()),
        root: cx.t().bridge(),
        device: cx.bridge_device(),
        unit_name: cx.i().to_owned(),
        prefix_names: false,
    };
    cx.announce(&scope, table::BRIDGE);
    cx.announce_buttons(&scope, CommandUnit::Bridge);

    if cx.rc.readiness {
        cx.announce(&scope, table::READINESS_BRIDGE);
        render_bridge_readiness(cx, &scope.root, &inv.readiness);
    }

    let c = &inv.connectivity;
    if let Some(up) = c.reachable {
        cx.state(cx.t().connectivity(), if up { "ON" } else { "OFF" });
        let attrs = serde_json::to_value(c).unwrap_or(Value::Null);
        let t = cx.t().connectivity_attributes();
        cx.json_state(t, &attrs);
    }
    // --- Upgrade All Domains ---
    if let Some(seq) = &inv.upgrade_all {
        let status = seq["status"].as_str().unwrap_or("idle");
        cx.state(cx.t().upgrade_all("status"), status);
        cx.json_state(cx.t().upgrade_all("state"), seq);
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
    let scope = Scope {
        uuid: d.id.clone(),
        object_prefix: format!("vcf_{ds}"),
        topic_prefix: format!("vcf_{ds}"),
        root: cx.t().domain(&ds),
        device: cx.domain_device(d),
        unit_name: d.name.clone(),
        prefix_names: false,
    };
    cx.announce(&scope, table::DOMAIN);

    // --- Status ---
    // Until the first update check of this run has answered, the update-derived states are not
    // rendered at all: what an earlier run left retained stays shown, instead of flickering to
    // `unknown` at every start.
    let status_topic = cx.t().domain_leaf(&ds, "status");
    let flow_running = flow.is_some_and(|f| f.in_progress);
    let status = if flow_running {
        Some("update_process_started")
    } else {
        upd.map(|u| {
            if u.error.is_some() {
                "error"
            } else if u.next.is_some() {
                "updates_available"
            } else {
                "up_to_date"
            }
        })
    };
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
        "releases_not_applicable": upd.map(|u| &u.not_applicable),
    });
    if let Some(status) = status {
        cx.state(status_topic.clone(), status);
        cx.json_state(Topics::attributes(&status_topic), &attrs);
    }

    // --- Current Version ---
    if upd.is_some() {
        let topic = cx.t().domain_leaf(&ds, "current_version");
        cx.state(topic, state_text(version.unwrap_or(NONE)));
    }

    // --- Components To Update ---
    let topic = cx.t().domain_leaf(&ds, "components_to_update");
    match upd {
        None => {}
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
    for (key, u) in [
        ("cpu_usage", d.capacity.cpu.as_ref()),
        ("memory_usage", d.capacity.memory.as_ref()),
        ("storage_usage", d.capacity.storage.as_ref()),
    ] {
        let topic = cx.t().domain_leaf(&ds, key);
        cx.state(topic.clone(), fmt_percent(u));
        cx.json_state(Topics::attributes(&topic), &usage_attributes(u));
    }

    // --- host count per cluster ---
    let clusters: Vec<&ClusterInfo> = inv
        .clusters
        .values()
        .filter(|c| c.domain_id.as_deref() == Some(d.id.as_str()))
        .collect();
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    for c in clusters {
        let cs = slug(&c.name);
        let short = cluster_label(&d.name, &c.name, &names);
        let cluster = Scope {
            uuid: c.id.clone(),
            object_prefix: format!("vcf_{ds}_{}", slug(short)),
            topic_prefix: format!("vcf_{ds}_{cs}"),
            root: cx.t().cluster(&ds, &cs),
            device: scope.device.clone(),
            unit_name: short.to_owned(),
            prefix_names: true,
        };
        cx.announce(&cluster, table::CLUSTER);
        cx.state(
            cx.t().cluster_host_count(&ds, &cs),
            c.host_count.to_string(),
        );
        if cx.rc.readiness
            && let Some(image) = inv
                .readiness
                .report
                .as_ref()
                .and_then(|r| r.image_compliance.get(&c.id))
        {
            cx.announce(&cluster, table::READINESS_CLUSTER);
            render_image_compliance(cx, &cluster.root, image);
        }
    }

    render_upgrade(cx, &scope, &ds, flow, upd);
    if cx.rc.readiness {
        cx.announce(&scope, table::READINESS_DOMAIN);
        render_domain_readiness(cx, &scope.root, d, &inv.readiness);
    }
}

/// At most this many entries of a list go into attributes (the rest is counted).
const MAX_LISTED: usize = 40;

fn listed<T: serde::Serialize>(items: &[T]) -> Value {
    json!(items.iter().take(MAX_LISTED).collect::<Vec<_>>())
}

fn render_bridge_readiness(cx: &mut Ctx<'_>, root: &str, r: &crate::model::ReadinessInfo) {
    let t = |leaf: &str| Topics::below(root, leaf);
    // Until the first readiness poll of this run has answered nothing is rendered: what an
    // earlier run left retained stays shown instead of flickering to `unknown`.
    let Some(report) = &r.report else {
        return;
    };
    if let Some(list) = &report.notifications {
        let scope = Scope {
            uuid: "bridge".into(),
            object_prefix: format!("vcf_{}", cx.i()),
            topic_prefix: format!("vcf_{}", cx.i()),
            root: root.to_owned(),
            device: cx.bridge_device(),
            unit_name: cx.i().to_owned(),
            prefix_names: false,
        };
        cx.announce(&scope, table::READINESS_NOTIFICATIONS);
        render_notifications(cx, root, list);
    }
    let s = &report.sddc;
    cx.state(t("readiness"), s.state.as_str());
    let count = |l: crate::readiness::Level| s.reasons.iter().filter(|x| x.level == l).count();
    cx.json_state(
        Topics::attributes(&t("readiness")),
        &json!({
            "blocked": count(crate::readiness::Level::Blocked),
            "warnings": count(crate::readiness::Level::Warnings),
            "reasons": listed(&s.reasons.iter().map(|x| x.text.as_str()).collect::<Vec<_>>()),
            "accounts": listed(&s.accounts),
            "depot": report.depot,
        }),
    );

    // --- Last Backup ---
    let b = report.backup.as_ref();
    let last = b.and_then(|b| b.last_success);
    cx.state(
        t("last_backup"),
        last.map_or_else(|| NONE.to_owned(), |l| l.to_rfc3339()),
    );
    cx.json_state(
        Topics::attributes(&t("last_backup")),
        &json!({
            "configured": b.and_then(|b| b.configured),
            "server": b.and_then(|b| b.server.clone()),
            "age_hours": last.map(|l| (report.checked_at - l).num_hours()),
            "last_task_id": b.and_then(|b| b.last_task.as_ref().map(|x| x.0.clone())),
            "last_task_status": b.and_then(|b| b.last_task.as_ref().map(|x| x.1.clone())),
            "back_up_now": r.backup_run,
        }),
    );

    // --- Failed Tasks ---
    match &report.failed_tasks {
        Some(f) => {
            cx.state(t("failed_tasks"), f.tasks.len().to_string());
            cx.json_state(
                Topics::attributes(&t("failed_tasks")),
                &json!({
                    "retryable": f.tasks.iter().filter(|x| x.retryable).count(),
                    "names": listed(&f.tasks.iter().map(|x| x.name.as_str()).collect::<Vec<_>>()),
                    "tasks": listed(&f.tasks),
                    "truncated": f.truncated,
                    "retry_topic": Topics::below(&cx.t().bridge(), "task_retry/set"),
                }),
            );
        }
        None => cx.state(t("failed_tasks"), NONE),
    }
}

/// At most this many compliance findings go into a cluster's attributes.
const MAX_FINDINGS_LISTED: usize = 20;

fn render_image_compliance(cx: &mut Ctx<'_>, root: &str, c: &crate::readiness::ClusterImage) {
    let topic = Topics::below(root, "image_compliance");
    match &c.read {
        Ok(ic) => {
            cx.state(topic.clone(), ic.state);
            let hosts: BTreeSet<&str> = ic.findings.iter().map(|f| f.host.as_str()).collect();
            cx.json_state(
                Topics::attributes(&topic),
                &json!({
                    "status": ic.status,
                    "checked": ic.checked.map(|t| t.to_rfc3339()),
                    "image": ic.image,
                    "base_image": ic.base_image,
                    "hosts_affected": hosts.len(),
                    "findings": ic.findings.iter().take(MAX_FINDINGS_LISTED).collect::<Vec<_>>(),
                    "more": ic.findings.len().saturating_sub(MAX_FINDINGS_LISTED),
                    "last_error": Value::Null,
                }),
            );
        }
        Err(e) => {
            cx.state(topic.clone(), NONE);
            cx.json_state(Topics::attributes(&topic), &json!({"last_error": e}));
        }
    }
}

fn render_notifications(cx: &mut Ctx<'_>, root: &str, list: &[crate::readiness::Notice]) {
    let topic = Topics::below(root, "notifications");
    cx.state(topic.clone(), list.len().to_string());
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for n in list {
        *by_severity.entry(n.event_type()).or_default() += 1;
    }
    cx.json_state(
        Topics::attributes(&topic),
        &json!({
            "by_severity": by_severity,
            "notifications": listed(list),
            "more": list.len().saturating_sub(MAX_LISTED),
        }),
    );
}

fn render_domain_readiness(
    cx: &mut Ctx<'_>,
    root: &str,
    d: &DomainInfo,
    r: &crate::model::ReadinessInfo,
) {
    let topic = Topics::below(root, "readiness");
    let over = r.overrides.contains(&d.id);
    // Nothing known yet this run: the retained value stays (see render_bridge_readiness).
    if r.report.is_none() {
        cx.state(
            Topics::below(root, "override_readiness"),
            if over { "ON" } else { "OFF" },
        );
        return;
    }
    cx.state(
        Topics::below(root, "override_readiness"),
        if over { "ON" } else { "OFF" },
    );
    match r.report.as_ref().and_then(|x| x.domains.get(&d.id)) {
        Some(s) => {
            cx.state(topic.clone(), s.state.as_str());
            cx.json_state(
                Topics::attributes(&topic),
                &json!({
                    "reasons": listed(&s.reasons),
                    "blocking": listed(&s.blocking()),
                    "accounts": listed(&s.accounts),
                    "certificates": listed(&s.certificates),
                    "override_readiness": over,
                }),
            );
        }
        // The poll answered but could not read this domain.
        None => cx.state(topic, NONE),
    }
}

/// A cluster's name on its domain's device: without the domain name VCF usually puts in front
/// (`sfo-m01-cl01` on `VCF sfo-m01` reads `cl01`), unless that would make two clusters of the
/// domain look the same or leave nothing.
fn cluster_label<'a>(domain: &str, cluster: &'a str, siblings: &[&str]) -> &'a str {
    let Some(rest) = cluster
        .get(..domain.len())
        .filter(|p| p.eq_ignore_ascii_case(domain))
        .and_then(|_| cluster.get(domain.len()..))
    else {
        return cluster;
    };
    let short = rest.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let clash = siblings
        .iter()
        .filter(|s| **s != cluster)
        .any(|s| slug(s) == slug(short) || slug(cluster_label(domain, s, &[])) == slug(short));
    if short.is_empty() || short.len() == rest.len() || clash {
        cluster
    } else {
        short
    }
}

fn render_upgrade(
    cx: &mut Ctx<'_>,
    scope: &Scope,
    ds: &str,
    flow: Option<&FlowInfo>,
    upd: Option<&crate::model::UpdateInfo>,
) {
    cx.announce(scope, table::UPGRADE);
    cx.announce_buttons(scope, CommandUnit::Domain);

    // --- Upgrade Status, Upgrade Logs, flow view ---
    if let Some(f) = flow {
        let topic = cx.t().upgrade(ds, "status");
        cx.state(topic.clone(), state_text(&f.status));
        cx.json_state(Topics::attributes(&topic), &f.attributes);
        let logs_topic = cx.t().upgrade(ds, "logs");
        cx.state(logs_topic.clone(), logs_state(&f.logs_markdown));
        let md = tail_to_bytes(&f.logs_markdown, MAX_ATTRIBUTES_LEN - 256);
        cx.json_state(
            Topics::attributes(&logs_topic),
            &json!({"markdown": md, "entries": f.log_entries}),
        );
        let state_topic = cx.t().upgrade(ds, "state");
        cx.json_state(state_topic, &f.view);
        // --- Precheck Findings, Upgrade History ---
        let findings_topic = cx.t().upgrade(ds, "findings");
        cx.state(findings_topic.clone(), f.findings.len().to_string());
        cx.json_state(Topics::attributes(&findings_topic), &findings_attributes(f));
        let history_topic = cx.t().upgrade(ds, "history");
        let last = f.history.first().map_or("none", |r| r.result.as_str());
        cx.state(history_topic.clone(), last);
        cx.json_state(Topics::attributes(&history_topic), &history_attributes(f));
        // --- Ignore Alerts switch ---
        let sw_topic = cx.t().ignore_alerts(ds);
        cx.state(sw_topic, if f.ignore_alerts { "ON" } else { "OFF" });
        // --- State Storage: ON (problem) while the flow's state cannot be saved ---
        let storage_topic = cx.t().upgrade(ds, "state_storage");
        cx.state(
            storage_topic.clone(),
            if f.state_error.is_some() { "ON" } else { "OFF" },
        );
        cx.json_state(
            Topics::attributes(&storage_topic),
            &json!({"error": f.state_error}),
        );
        // --- Maintenance Windows text ---
        cx.state(
            cx.t().upgrade(ds, "windows"),
            state_text(&windows_text(&f.view)),
        );
    }

    // --- update entity ---
    if let Some(u) = upd
        && let Some(installed) = &u.current_version
    {
        let latest = u
            .next
            .as_ref()
            .map(|n| n.version.clone())
            .unwrap_or_else(|| installed.clone());
        let in_progress = flow.is_some_and(|f| f.in_progress);
        let description = u.next.as_ref().and_then(|n| n.description.clone());
        // While the flow waits for a maintenance window, the dialog says when it goes on.
        let waiting = flow
            .and_then(|f| f.view["next_window_start"].as_str())
            .map(|at| {
                format!(
                    "Waiting for the maintenance window: the next component upgrade starts at {at}."
                )
            });
        let summary = match (waiting, description) {
            (Some(w), Some(d)) => Some(format!("{w} {d}")),
            (w, d) => w.or(d),
        }
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
        cx.json_state(cx.t().update_state(ds), &state);
    }
}

/// Longest message or remediation text kept per precheck finding in the attributes.
const MAX_FINDING_TEXT: usize = 500;

/// The Precheck Findings attributes: counts, whether the flow waits for them to be
/// acknowledged, and the findings (errors first) as far as they fit the attribute size; `more`
/// counts those left out.
pub fn findings_attributes(f: &FlowInfo) -> Value {
    use upgrade_orchestrator::api::FindingSeverity;
    let errors = f
        .findings
        .iter()
        .filter(|x| x.severity == FindingSeverity::Error)
        .count();
    let budget = MAX_ATTRIBUTES_LEN - 1024;
    let mut used = 0;
    let mut shown = Vec::new();
    for x in &f.findings {
        let item = json!({
            "severity": match x.severity {
                FindingSeverity::Error => "error",
                FindingSeverity::Warning => "warning",
            },
            "resource": x.resource,
            "check": x.check,
            "message": truncate_chars(&x.message, MAX_FINDING_TEXT),
            "remediation": x.remediation.as_deref().map(|r| truncate_chars(r, MAX_FINDING_TEXT)),
        });
        used += item.to_string().len() + 1;
        if used > budget {
            break;
        }
        shown.push(item);
    }
    json!({
        "errors": errors,
        "warnings": f.findings.len() - errors,
        "waiting_for_acknowledgement": f.status == "waiting_for_alert_acknowledgement",
        "more": f.findings.len() - shown.len(),
        "findings": shown,
    })
}

/// The Upgrade History attributes: the last finished flows, newest first (bounded by the
/// orchestrator), each with its start, end, versions, result, duration and time per component.
pub fn history_attributes(f: &FlowInfo) -> Value {
    let runs: Vec<Value> = f
        .history
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["error"] = json!(
                r.error
                    .as_deref()
                    .map(|e| truncate_chars(e, MAX_FINDING_TEXT))
            );
            v
        })
        .collect();
    json!({ "runs": runs })
}

/// The Maintenance Windows text of a flow view: its windows joined by `, `, or `always`.
fn windows_text(view: &Value) -> String {
    let windows: Vec<&str> = view["maintenance_windows"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if windows.is_empty() {
        "always".to_owned()
    } else {
        windows.join(", ")
    }
}

/// Fingerprint of everything discovery configs are built from: domains (id, name, type),
/// clusters, hosts (id, FQDN, domain, cluster, vendor, model, ESXi version) and the install
/// switch. States (versions, usage numbers, flows) never change configs.
pub fn structure_fingerprint(inv: &Inventory, rc: &RenderContext) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rc.allow_update_install.hash(&mut h);
    rc.vcf_url.hash(&mut h);
    for d in inv.domains.values() {
        (&d.id, &d.name, &d.kind).hash(&mut h);
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
    // Entities that exist only once a readiness poll has read them (VCF 9).
    // On 5.2 (none of them) the fingerprint is what it is without readiness.
    if let Some(r) = &inv.readiness.report {
        if r.notifications.is_some() {
            "notifications".hash(&mut h);
        }
        for id in r.image_compliance.keys() {
            id.hash(&mut h);
        }
    }
    h.finish()
}

/// The Upgrade Logs state: the newest entry in plain words, ≤ 255 characters. The entry's first
/// line without its bullet, its `` `timestamp` `` (Home Assistant shows when the state changed)
/// and markdown marks (backticks, `**`, emphasis); the attribute keeps the formatted markdown.
pub fn logs_state(markdown: &str) -> String {
    // Entries are `- `…; their continuation lines are indented. Without any, the last line.
    let lines: Vec<&str> = markdown.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("- ") || l.starts_with("* "))
        .or(lines.last())
        .map_or("", |l| l.trim());
    let last = last.trim_start_matches(['-', '*', '#', '>', ' ']);
    // The entry's timestamp comes first, in backticks.
    let last = match last.strip_prefix('`').and_then(|r| r.split_once('`')) {
        Some((stamp, rest)) if stamp.ends_with("UTC") => rest,
        _ => last,
    };
    let text = plain_text(last);
    state_text(if text.is_empty() {
        "No Messages"
    } else {
        &text
    })
}

/// `text` without inline markdown marks: backticks, `**`, and `_`/`*` at the edge of a word
/// (emphasis); an underscore inside a word (`sfo_m01`) stays.
fn plain_text(text: &str) -> String {
    let text = text.replace('`', "").replace("**", "");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '*' {
            let before = i.checked_sub(1).and_then(|j| chars.get(j));
            let after = chars.get(i + 1);
            let inside = before.is_some_and(|b| b.is_alphanumeric())
                && after.is_some_and(|a| a.is_alphanumeric());
            if !inside {
                continue;
            }
        }
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn render_host(cx: &mut Ctx<'_>, h: &HostInfo) {
    let hs = host_slug(&h.fqdn);
    let scope = Scope {
        uuid: h.id.clone(),
        object_prefix: format!("vcf_host_{hs}"),
        topic_prefix: format!("vcf_host_{hs}"),
        root: cx.t().host(&hs),
        device: cx.host_device(h),
        unit_name: h.fqdn.clone(),
        prefix_names: false,
    };
    cx.announce(&scope, table::HOST);
    for (key, u) in [
        ("cpu_usage", h.cpu.as_ref()),
        ("memory_usage", h.memory.as_ref()),
        ("storage_usage", h.storage.as_ref()),
    ] {
        cx.state(cx.t().host_metric(&hs, key), fmt_percent(u));
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
    cx.json_state(cx.t().host_metric(&hs, "attributes"), &attrs);
}

#[cfg(test)]
mod tests;
