//! The hub: the single owner of the bridge's [`Inventory`] and of what was published.
//!
//! Monitor loops, the orchestrator observer and the MQTT poll task send [`HubMsg`]s; after each
//! one the hub renders the inventory and publishes only what changed ([`crate::changes`]). On
//! every ConnAck it re-subscribes and re-publishes everything; on Home Assistant's birth message
//! it re-announces. At start it performs what the [`Sweep`] decides. Publishing is awaited here,
//! never in the MQTT poll task.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rumqttc::{AsyncClient, QoS};
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::changes::{changed_topics, fingerprint, vanished_topics};
use crate::ha::entities::{RenderContext, render_unit, structure_fingerprint, units};
use crate::messages::{CommandRequest, DomainDirectory, HubMsg, ResourceSnapshot};
use crate::model::{Connectivity, FlowInfo, Inventory};
use crate::mqtt::MqttEvent;
use crate::observability::Metrics;
use crate::sweep::{Incoming, Sweep};
use crate::topics::{Topics, slug};

/// Where the hub sends MQTT packets: the rumqttc client, or a recorder in tests.
pub trait Sink: Send + Sync + 'static {
    /// Publishes with QoS 1.
    fn publish(
        &self,
        topic: String,
        payload: String,
        retain: bool,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Subscribes with `qos`.
    fn subscribe(
        &self,
        filter: String,
        qos: QoS,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Unsubscribes.
    fn unsubscribe(&self, filter: String) -> impl Future<Output = Result<(), String>> + Send;
}

impl Sink for AsyncClient {
    async fn publish(&self, topic: String, payload: String, retain: bool) -> Result<(), String> {
        AsyncClient::publish(self, topic, QoS::AtLeastOnce, retain, payload)
            .await
            .map_err(|e| format!("{e:#}"))
    }
    async fn subscribe(&self, filter: String, qos: QoS) -> Result<(), String> {
        AsyncClient::subscribe(self, filter, qos)
            .await
            .map_err(|e| format!("{e:#}"))
    }
    async fn unsubscribe(&self, filter: String) -> Result<(), String> {
        AsyncClient::unsubscribe(self, filter)
            .await
            .map_err(|e| format!("{e:#}"))
    }
}

/// Default-view source for domains the orchestrator has no flow for yet.
pub type FlowSource = Arc<dyn Fn(&str, &str) -> Option<FlowInfo> + Send + Sync>;

// === Hub ===

/// The hub task state.
pub struct Hub<S: Sink = AsyncClient> {
    inv: Inventory,
    rc: RenderContext,
    client: S,
    published: HashMap<String, u64>,
    /// Structure fingerprint of the last published discovery configs.
    structure: Option<u64>,
    connected: bool,
    resources_loaded: bool,
    updates_loaded: bool,
    /// Until the first complete picture of VCF: sweep what a previous run left retained.
    sweep: Sweep,
    directory: DomainDirectory,
    commands: mpsc::UnboundedSender<CommandRequest>,
    flow_source: Option<FlowSource>,
    metrics: Arc<Metrics>,
    check_now: Arc<tokio::sync::Notify>,
}

impl<S: Sink> Hub<S> {
    /// New hub.
    pub fn new(
        rc: RenderContext,
        client: S,
        directory: DomainDirectory,
        commands: mpsc::UnboundedSender<CommandRequest>,
        flow_source: Option<FlowSource>,
        metrics: Arc<Metrics>,
        check_now: Arc<tokio::sync::Notify>,
    ) -> Self {
        let inv = Inventory {
            connectivity: Connectivity {
                url: rc.vcf_url.clone(),
                ..Connectivity::default()
            },
            ..Inventory::default()
        };
        let sweep = Sweep::new(rc.topics.clone(), std::process::id());
        Self {
            inv,
            rc,
            client,
            published: HashMap::new(),
            structure: None,
            connected: false,
            resources_loaded: false,
            updates_loaded: false,
            sweep,
            directory,
            commands,
            flow_source,
            metrics,
            check_now,
        }
    }

    fn topics(&self) -> &Topics {
        &self.rc.topics
    }

    /// Runs until every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<HubMsg>) {
        while let Some(msg) = rx.recv().await {
            let mut force = false;
            let mut changed = self.apply(msg, &mut force).await;
            // Coalesce a burst (e.g. many flow updates) into one render.
            while let Ok(next) = rx.try_recv() {
                changed |= self.apply(next, &mut force).await;
            }
            if changed || force {
                self.sync(force).await;
            }
        }
    }

    async fn apply(&mut self, msg: HubMsg, force: &mut bool) -> bool {
        match msg {
            HubMsg::Mqtt(MqttEvent::Connected) => {
                self.connected = true;
                self.metrics.set_broker_connected(true);
                self.on_connect().await;
                *force = true;
                true
            }
            HubMsg::Mqtt(MqttEvent::Disconnected) => {
                self.connected = false;
                self.metrics.set_broker_connected(false);
                false
            }
            HubMsg::Mqtt(MqttEvent::Message {
                topic,
                payload,
                retain,
            }) => {
                if topic == self.topics().ha_status() {
                    if payload.as_ref() == b"online" {
                        info!("Home Assistant is online: re-announcing discovery");
                        *force = true;
                        return true;
                    }
                    return false;
                }
                match self.sweep.on_message(&topic, &payload, retain) {
                    Incoming::MarkerBack(filters) => {
                        for f in filters {
                            let _ = self.client.unsubscribe(f).await;
                        }
                        return true;
                    }
                    Incoming::Absorbed => return false,
                    Incoming::Other => {}
                }
                if let Some(cmd) = self.topics().parse_command(&topic) {
                    if retain && !payload.is_empty() {
                        // A stale retained "press" must never act; clear it so it cannot later.
                        warn!(
                            topic,
                            payload = ?crate::commands::payload_for_log(&payload),
                            "ignoring retained message on a command topic (commands must not be retained); clearing it"
                        );
                        self.publish(&topic, String::new(), true).await;
                        return false;
                    }
                    let _ = self.commands.send(CommandRequest {
                        topic,
                        command: cmd,
                        payload,
                        retain,
                    });
                }
                false
            }
            HubMsg::Resources(snap) => {
                self.apply_resources(snap);
                self.resources_loaded = true;
                true
            }
            HubMsg::Updates(domains, updates) => {
                for d in domains {
                    self.inv
                        .domains
                        .entry(d.id.clone())
                        .and_modify(|e| {
                            e.name.clone_from(&d.name);
                            e.kind.clone_from(&d.kind);
                        })
                        .or_insert(d);
                }
                for (id, u) in updates {
                    self.inv.updates.insert(id, u);
                }
                self.updates_loaded = true;
                self.refresh_directory();
                true
            }
            HubMsg::SddcManagerVersion(version) => {
                let c = &mut self.inv.connectivity;
                if c.sddc_manager_version.as_deref() == Some(version.as_str()) {
                    return false;
                }
                // The client logs the version at info when it reads a new one.
                debug!(url = %c.url, %version, "SDDC Manager version shown");
                c.sddc_manager_version = Some(version);
                true
            }
            HubMsg::Reachability(r) => {
                let now = chrono::Utc::now();
                let c = &mut self.inv.connectivity;
                let was = c.reachable;
                match r {
                    Ok(()) => {
                        c.reachable = Some(true);
                        // Refreshed at most once a minute so the attributes do not change (and
                        // get republished) on every resource cycle.
                        if was != Some(true)
                            || c.last_success
                                .is_none_or(|t| now - t > chrono::TimeDelta::seconds(60))
                        {
                            c.last_success = Some(now);
                        }
                        if was != Some(true) {
                            info!(url = %c.url, "SDDC Manager reachable");
                        }
                    }
                    Err(e) => {
                        c.reachable = Some(false);
                        if was != Some(false) {
                            warn!(url = %c.url, "SDDC Manager unreachable: {e}");
                        }
                        c.last_error = Some(e);
                        c.last_error_at = Some(now);
                    }
                }
                self.metrics.set_vcf_reachable(c.reachable == Some(true));
                true
            }
            HubMsg::Token {
                expires_at,
                obtained_at,
                refresh_result,
            } => {
                let c = &mut self.inv.connectivity;
                c.token_expires_at = expires_at;
                c.token_obtained_at = obtained_at;
                if let Some(r) = refresh_result {
                    c.last_token_refresh = Some(chrono::Utc::now());
                    c.last_token_refresh_result = Some(match r {
                        Ok(()) => "ok".into(),
                        Err(e) => e,
                    });
                }
                true
            }
            HubMsg::AuthFailure(failure) => {
                let c = &mut self.inv.connectivity;
                if c.last_auth_error_at == Some(failure.at)
                    && c.last_auth_error.as_deref() == Some(failure.reason.as_str())
                {
                    return false;
                }
                c.last_auth_error = Some(failure.reason);
                c.last_auth_error_at = Some(failure.at);
                true
            }
            HubMsg::Sequence(view) => {
                self.inv.upgrade_all = Some(view);
                true
            }
            HubMsg::Flow(domain_id, flow) => {
                if let Some(d) = self.inv.domains.get(&domain_id) {
                    self.metrics.set_flow_status(&d.name, &flow.status);
                }
                let previous = self.inv.flows.get(&domain_id).map(|f| f.status.clone());
                if flow.status == "successfully_completed"
                    && previous.as_deref() != Some("successfully_completed")
                {
                    // The domain's version changed: re-check updates now, not in 15 minutes.
                    self.check_now.notify_one();
                }
                self.inv.flows.insert(domain_id, flow);
                true
            }
            HubMsg::Event {
                domain_name,
                event_type,
                message,
            } => {
                let topic = self.topics().upgrade(&slug(&domain_name), "event");
                let payload = json!({
                    "event_type": event_type,
                    "message": message,
                    "domain": domain_name,
                })
                .to_string();
                // Events are never retained: a retained event would fire again on every HA start.
                self.publish(&topic, payload, false).await;
                false
            }
        }
    }

    fn apply_resources(&mut self, snap: ResourceSnapshot) {
        let ids: BTreeSet<String> = snap.domains.iter().map(|d| d.id.clone()).collect();
        self.inv.domains.retain(|id, _| ids.contains(id));
        self.inv.updates.retain(|id, _| ids.contains(id));
        self.inv.flows.retain(|id, _| ids.contains(id));
        for d in snap.domains {
            self.inv.domains.insert(d.id.clone(), d);
        }
        self.inv.clusters = snap
            .clusters
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        self.inv.hosts = snap.hosts.into_iter().map(|h| (h.id.clone(), h)).collect();
        self.refresh_directory();
    }

    fn refresh_directory(&mut self) {
        // Fill default flow views (waiting_for_initiation, restored Ignore Alerts) for new domains.
        if let Some(src) = &self.flow_source {
            for d in self.inv.domains.values() {
                if !self.inv.flows.contains_key(&d.id)
                    && let Some(f) = src(&d.id, &d.name)
                {
                    self.inv.flows.insert(d.id.clone(), f);
                }
            }
        }
        let map: BTreeMap<String, (String, String)> = self
            .inv
            .domains
            .values()
            .map(|d| (slug(&d.name), (d.id.clone(), d.name.clone())))
            .collect();
        match self.directory.write() {
            Ok(mut w) => *w = map,
            Err(poisoned) => *poisoned.into_inner() = map,
        }
    }

    async fn on_connect(&mut self) {
        let t = self.topics().clone();
        let mut filters = t.command_filters();
        filters.push(t.ha_status());
        for f in filters {
            if let Err(e) = self.client.subscribe(f.clone(), QoS::AtLeastOnce).await {
                warn!(filter = f, "MQTT subscribe failed: {e:#}");
            }
        }
        self.publish(&t.bridge_state(), "online".into(), true).await;
        if let Some(start) = self.sweep.on_connect() {
            // QoS 0: the broker sends thousands of retained messages at once, and would drop
            // those over its per-client queue limit at QoS 1. The marker is published after the
            // subscriptions, so it comes back behind every retained message they bring.
            for f in start.filters {
                if let Err(e) = self.client.subscribe(f.clone(), QoS::AtMostOnce).await {
                    warn!(filter = f, "MQTT subscribe failed: {e:#}");
                }
            }
            self.publish(&start.marker_topic, start.marker_payload, false)
                .await;
        }
    }

    async fn sync(&mut self, force: bool) {
        if !self.connected {
            // Nothing can be sent now; the ConnAck republishes everything.
            return;
        }
        let structure = structure_fingerprint(&self.inv, &self.rc);
        let with_configs = force || self.structure != Some(structure);
        // Render and publish unit by unit (bridge, each domain, each host): a first announcement of
        // thousands of configs is never held in memory at once.
        let t = self.topics().clone();
        let old: HashMap<String, u64> = if with_configs {
            std::mem::take(&mut self.published)
        } else {
            // Configs were not rendered (unchanged structure): compare states only, keep configs.
            let (configs, states): (HashMap<String, u64>, HashMap<String, u64>) =
                std::mem::take(&mut self.published)
                    .into_iter()
                    .partition(|(k, _)| t.is_discovery(k));
            self.published = configs;
            states
        };
        let mut fingerprints: BTreeMap<String, u64> = BTreeMap::new();
        let mut n = 0usize;
        for unit in units(&self.inv) {
            let mut messages =
                render_unit(&self.inv, &self.rc, &unit, with_configs).into_messages(&t);
            let unit_fps: BTreeMap<String, u64> = messages
                .iter()
                .map(|(k, p)| (k.clone(), fingerprint(p)))
                .collect();
            let publish = changed_topics(&old, &unit_fps, force);
            n += publish.len();
            for topic in publish {
                if let Some(payload) = messages.remove(&topic) {
                    self.publish(&topic, payload, true).await;
                }
            }
            fingerprints.extend(unit_fps);
        }
        // Whatever was published before and is not rendered any more belongs to a vanished
        // domain/host: clear it.
        let clear = vanished_topics(&old, &fingerprints);
        n += clear.len();
        for topic in clear {
            debug!(topic, "clearing vanished entity");
            self.publish(topic, String::new(), true).await;
        }
        if n > 0 {
            debug!(messages = n, "published changes");
        }
        self.published.extend(fingerprints);
        if with_configs {
            self.structure = Some(structure);
        }

        let vcf_loaded = self.resources_loaded && self.updates_loaded;
        if let Some(stale) = self.sweep.complete(vcf_loaded, &self.published) {
            for topic in stale.configs {
                info!(topic, "removing entity that no longer exists in VCF");
                self.publish(&topic, String::new(), true).await;
            }
            if !stale.states.is_empty() {
                info!(
                    topics = stale.states.len(),
                    "clearing retained states of units that no longer exist in VCF"
                );
            }
            for topic in stale.states {
                debug!(topic, "clearing retained state of a vanished unit");
                self.publish(&topic, String::new(), true).await;
            }
        }
    }

    async fn publish(&self, topic: &str, payload: String, retain: bool) {
        match self.client.publish(topic.to_owned(), payload, retain).await {
            Ok(()) => self.metrics.mqtt_published(1),
            Err(e) => warn!(topic, "MQTT publish failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capacity, DomainInfo, HostInfo};
    use bytes::Bytes;
    use std::sync::Mutex;

    type Log = Arc<Mutex<Vec<(String, String, bool)>>>;

    #[derive(Clone, Default)]
    struct Recorder {
        log: Log,
        subs: Arc<Mutex<Vec<String>>>,
    }

    impl Sink for Recorder {
        async fn publish(
            &self,
            topic: String,
            payload: String,
            retain: bool,
        ) -> Result<(), String> {
            self.log
                .lock()
                .expect("lock")
                .push((topic, payload, retain));
            Ok(())
        }
        async fn subscribe(&self, filter: String, _qos: QoS) -> Result<(), String> {
            self.subs.lock().expect("lock").push(filter);
            Ok(())
        }
        async fn unsubscribe(&self, filter: String) -> Result<(), String> {
            self.subs.lock().expect("lock").retain(|f| *f != filter);
            Ok(())
        }
    }

    impl Recorder {
        fn take(&self) -> Vec<(String, String, bool)> {
            std::mem::take(&mut *self.log.lock().expect("lock"))
        }
    }

    fn topics() -> Topics {
        Topics::new("dca", "homeassistant", "lab")
    }

    fn new_hub() -> (
        Hub<Recorder>,
        Recorder,
        mpsc::UnboundedReceiver<CommandRequest>,
    ) {
        let rec = Recorder::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let rc = RenderContext {
            topics: topics(),
            vcf_url: "https://sddc.lab".into(),
            allow_update_install: false,
        };
        let hub = Hub::new(
            rc,
            rec.clone(),
            Arc::default(),
            tx,
            None,
            Metrics::new(),
            Arc::new(tokio::sync::Notify::new()),
        );
        (hub, rec, rx)
    }

    async fn feed(h: &mut Hub<Recorder>, msg: HubMsg) {
        let mut force = false;
        let changed = h.apply(msg, &mut force).await;
        if changed || force {
            h.sync(force).await;
        }
    }

    fn snapshot(cpu_used: f64, hosts: &[&str]) -> ResourceSnapshot {
        ResourceSnapshot {
            domains: vec![DomainInfo {
                id: "d1".into(),
                name: "lab-m01".into(),
                kind: Some("MANAGEMENT".into()),
                capacity: Capacity {
                    cpu: Some(crate::model::Usage {
                        used: cpu_used,
                        total: 100.0,
                        unit: "GHz".into(),
                    }),
                    ..Capacity::default()
                },
            }],
            clusters: vec![],
            hosts: hosts
                .iter()
                .map(|h| HostInfo {
                    id: format!("id-{h}"),
                    fqdn: format!("{h}.lab"),
                    domain_id: Some("d1".into()),
                    cluster_name: None,
                    esxi_version: None,
                    vendor: None,
                    model: None,
                    cpu: None,
                    memory: None,
                    storage: None,
                })
                .collect(),
        }
    }

    fn message(topic: &str, payload: &'static str, retain: bool) -> HubMsg {
        HubMsg::Mqtt(MqttEvent::Message {
            topic: topic.into(),
            payload: Bytes::from_static(payload.as_bytes()),
            retain,
        })
    }

    /// Feeds back the sweep marker the hub published last, as the broker delivers it once every
    /// retained message of the sweep subscriptions is out.
    async fn echo_sweep_marker(h: &mut Hub<Recorder>, rec: &Recorder) {
        let marker = topics().sweep_marker();
        let payload = rec
            .log
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .find(|(t, _, _)| *t == marker)
            .map(|(_, p, _)| p.clone())
            .expect("a sweep marker was published");
        feed(
            h,
            HubMsg::Mqtt(MqttEvent::Message {
                topic: marker,
                payload: Bytes::from(payload),
                retain: false,
            }),
        )
        .await;
    }

    #[tokio::test]
    async fn connect_announces_then_only_changes_are_published() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        let first = rec.take();
        assert_eq!(
            first[0],
            ("dca/lab/bridge/state".into(), "online".into(), true)
        );
        assert!(
            rec.subs
                .lock()
                .expect("lock")
                .contains(&"homeassistant/status".to_owned())
        );
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        let second = rec.take();
        assert!(
            second
                .iter()
                .any(|(t, p, _)| t == "dca/lab/domain/lab_m01/cpu_usage" && p == "10.0")
        );
        assert!(
            second.iter().all(|(_, _, retain)| *retain),
            "states are retained"
        );
        // The same picture again: nothing at all.
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        assert_eq!(rec.take(), vec![]);
        // One value changes: only its state and attributes.
        feed(&mut h, HubMsg::Resources(snapshot(20.0, &["esx01"]))).await;
        let topics: Vec<String> = rec.take().into_iter().map(|(t, _, _)| t).collect();
        assert_eq!(
            topics,
            vec![
                "dca/lab/domain/lab_m01/cpu_usage".to_owned(),
                "dca/lab/domain/lab_m01/cpu_usage/attributes".to_owned()
            ]
        );
    }

    #[tokio::test]
    async fn ha_birth_and_reconnect_republish_everything() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        let n = h.published.len();
        rec.take();
        feed(&mut h, message("homeassistant/status", "online", false)).await;
        assert_eq!(rec.take().len(), n);
        feed(&mut h, message("homeassistant/status", "offline", false)).await;
        assert!(rec.take().is_empty());
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Disconnected)).await;
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        // Updates never loaded, so the start-up sweep is still pending and sends a new marker.
        assert_eq!(
            rec.take().len(),
            n + 2,
            "bridge/state online + sweep marker + everything"
        );
    }

    #[tokio::test]
    async fn retained_commands_never_reach_the_command_task() {
        let (mut h, rec, mut rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        rec.take();
        let t = topics().upgrade_command("lab_m01", "start");
        feed(&mut h, message(&t, "PRESS", true)).await;
        assert!(rx.try_recv().is_err(), "retained press must not act");
        assert_eq!(
            rec.take(),
            vec![(t.clone(), String::new(), true)],
            "and is cleared"
        );
        feed(&mut h, message(&t, "PRESS", false)).await;
        let req = rx.try_recv().expect("live press is forwarded");
        assert_eq!(req.topic, t);
        assert!(!req.retain);
    }

    #[tokio::test]
    async fn vanished_host_and_stale_configs_are_removed() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        // A config left on the broker by an earlier run, for a host that no longer exists.
        let stale = "homeassistant/sensor/lab/vcf_host_old_cpu_usage/config";
        feed(&mut h, message(stale, "{}", true)).await;
        echo_sweep_marker(&mut h, &rec).await;
        feed(
            &mut h,
            HubMsg::Resources(snapshot(10.0, &["esx01", "esx02"])),
        )
        .await;
        feed(&mut h, HubMsg::Updates(vec![], BTreeMap::new())).await;
        let log = rec.take();
        assert!(
            log.contains(&(stale.to_owned(), String::new(), true)),
            "stale config cleared"
        );
        assert!(
            !rec.subs
                .lock()
                .expect("lock")
                .contains(&topics().discovery_filter())
        );
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        let log = rec.take();
        let cleared: Vec<&String> = log
            .iter()
            .filter(|(_, p, _)| p.is_empty())
            .map(|(t, _, _)| t)
            .collect();
        assert!(
            cleared
                .contains(&&"homeassistant/sensor/lab/vcf_host_esx02_cpu_usage/config".to_owned())
        );
        assert!(cleared.contains(&&"dca/lab/host/esx02/cpu_usage".to_owned()));
        assert!(cleared.iter().all(|t| t.contains("esx02")), "{cleared:?}");
    }

    #[tokio::test]
    async fn the_sweep_clears_behind_its_marker_then_unsubscribes() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        let subs = rec.subs.lock().expect("lock").clone();
        for f in topics().sweep_filters() {
            assert!(subs.contains(&f), "{f} not subscribed");
        }
        // VCF answers before the broker has delivered the retained messages.
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        feed(&mut h, HubMsg::Updates(vec![], BTreeMap::new())).await;
        let ghost = "dca/lab/host/old/cpu_usage";
        feed(&mut h, message(ghost, "42", true)).await;
        // A retained press is a command, never a state: cleared once, as a command.
        let press = "dca/lab/domain/gone_w02/upgrade/start/set";
        feed(&mut h, message(press, "PRESS", true)).await;
        // Someone else's marker on the same topic does not count.
        feed(&mut h, message(&topics().sweep_marker(), "1-1", false)).await;
        let cleared = |log: &[(String, String, bool)], topic: &str| {
            log.iter()
                .filter(|(t, p, _)| t == topic && p.is_empty())
                .count()
        };
        let before = rec.log.lock().expect("lock").clone();
        assert_eq!(cleared(&before, ghost), 0, "swept before its own marker");
        echo_sweep_marker(&mut h, &rec).await;
        let log = rec.take();
        assert_eq!(cleared(&log, ghost), 1, "ghost not cleared");
        assert_eq!(cleared(&log, press), 1, "{log:?}");
        let subs = rec.subs.lock().expect("lock").clone();
        for f in topics().sweep_filters() {
            assert!(!subs.contains(&f), "{f} still subscribed");
        }
    }

    #[tokio::test]
    async fn events_are_not_retained() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        rec.take();
        feed(
            &mut h,
            HubMsg::Event {
                domain_name: "lab-m01".into(),
                event_type: "completed".into(),
                message: "done".into(),
            },
        )
        .await;
        let log = rec.take();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].0, "dca/lab/domain/lab_m01/upgrade/event");
        assert!(!log[0].2);
        let v: serde_json::Value = serde_json::from_str(&log[0].1).expect("json");
        assert_eq!(v["event_type"], "completed");
        assert_eq!(v["domain"], "lab-m01");
    }

    #[tokio::test]
    async fn connectivity_off_keeps_values_and_flips_availability_topic() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(&mut h, HubMsg::Reachability(Ok(()))).await;
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        rec.take();
        feed(
            &mut h,
            HubMsg::Reachability(Err("connection refused".into())),
        )
        .await;
        let log = rec.take();
        assert!(log.contains(&("dca/lab/bridge/connectivity".into(), "OFF".into(), true)));
        assert!(
            log.iter()
                .all(|(t, p, _)| !p.is_empty() && t.contains("/bridge/connectivity")),
            "no value is cleared or zeroed: {log:?}"
        );
    }

    #[tokio::test]
    async fn the_last_auth_failure_shows_in_the_connectivity_attributes_once() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(&mut h, HubMsg::Reachability(Ok(()))).await;
        let attributes = |log: &[(String, String, bool)]| {
            log.iter()
                .filter(|(t, _, _)| t == "dca/lab/bridge/connectivity/attributes")
                .map(|(_, p, _)| serde_json::from_str::<serde_json::Value>(p).expect("json"))
                .collect::<Vec<_>>()
        };
        let before = attributes(&rec.take());
        assert!(
            before.iter().all(|v| v.get("last_auth_error").is_none()),
            "{before:?}"
        );
        let failure = vcf_client::AuthFailure {
            at: chrono::Utc::now(),
            reason: "POST /v1/tokens: authentication failed (HTTP 401): bad password".into(),
        };
        feed(&mut h, HubMsg::AuthFailure(failure.clone())).await;
        let shown = attributes(&rec.take());
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0]["last_auth_error"], failure.reason.as_str());
        assert!(shown[0]["last_auth_error_at"].is_string());
        // The same failure reported by the next poll changes nothing.
        feed(&mut h, HubMsg::AuthFailure(failure)).await;
        assert!(attributes(&rec.take()).is_empty());
    }
}
