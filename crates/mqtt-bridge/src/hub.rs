//! The hub: the single owner of the bridge's [`Inventory`] and of what was published.
//!
//! Monitor loops, the orchestrator observer and the MQTT poll task send [`HubMsg`]s; after each
//! one the hub renders the inventory and publishes only what changed ([`crate::changes`]). On
//! every ConnAck it re-subscribes and re-publishes everything; on Home Assistant's birth message
//! it re-announces. At start it performs what the [`Sweep`] decides. Publishing is awaited here,
//! never in the MQTT poll task, and paced ([`crate::pacing`]): at most `mqtt.publish_rate`
//! messages a second, and a slow refresh that re-sends every retained state within
//! `mqtt.state_refresh`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::changes::{attributes_first, changed_topics, fingerprint, vanished_topics};
use crate::ha::entities::{RenderContext, render_unit, structure_fingerprint, units};
use crate::messages::{CommandRequest, DomainDirectory, HubMsg, ResourceSnapshot};
use crate::model::{Connectivity, FlowInfo, Inventory};
use crate::mqtt::MqttEvent;
use crate::observability::Metrics;
use crate::pacing::{Pacer, REFRESH_TICK, Refresh};
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

/// Per topic, the last refused payload that was logged: a retained message comes back at every
/// reconnect, and is worth one warning, not one per reconnect.
#[derive(Debug, Default)]
struct RefusedOnce(HashMap<String, u64>);

impl RefusedOnce {
    /// True the first time `payload` is refused on `topic` (again true once another payload was).
    fn first_time(&mut self, topic: &str, payload: &[u8]) -> bool {
        let digest = fingerprint(&String::from_utf8_lossy(payload));
        self.0.insert(topic.to_owned(), digest) != Some(digest)
    }
}

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
    refused: RefusedOnce,
    /// Paces every publish.
    pacer: Pacer,
    /// Re-sends every retained state within its period.
    refresh: Refresh,
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
            refused: RefusedOnce::default(),
            // Unpaced and no refresh unless configured (see `with_pacing`).
            pacer: Pacer::new(u32::MAX),
            refresh: Refresh::new(std::time::Duration::ZERO),
        }
    }

    /// Publishes at most `rate` messages a second and re-sends every retained state within
    /// `refresh` of when it was last sent (`Duration::ZERO`: never).
    #[must_use]
    pub fn with_pacing(mut self, rate: u32, refresh: std::time::Duration) -> Self {
        self.pacer = Pacer::new(rate);
        self.refresh = Refresh::new(refresh);
        self
    }

    fn topics(&self) -> &Topics {
        &self.rc.topics
    }

    /// Runs until every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<HubMsg>) {
        let mut tick = tokio::time::interval(REFRESH_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let msg = tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => msg,
                    None => break,
                },
                _ = tick.tick(), if self.refresh.enabled() => {
                    self.refresh_step(tokio::time::Instant::now()).await;
                    continue;
                }
            };
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
                    match payload.as_ref() {
                        b"online" => {
                            info!("Home Assistant is online: re-announcing discovery");
                            *force = true;
                            return true;
                        }
                        b"offline" | b"" => {}
                        other => {
                            // Retained, it comes back at every reconnect: say it once.
                            if self.refused.first_time(&topic, other) {
                                warn!(
                                    topic = %crate::commands::topic_for_log(&topic),
                                    payload = ?crate::commands::payload_for_log(other),
                                    size = other.len(),
                                    "ignoring a Home Assistant status that is neither online nor offline"
                                );
                            }
                        }
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
                            topic = %crate::commands::topic_for_log(&topic),
                            payload = ?crate::commands::payload_for_log(&payload),
                            size = payload.len(),
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
                for (id, mut u) in updates {
                    // A failed check keeps what the last good one found (shown with the
                    // error), rather than turning into "no update".
                    if let Some(last) = self.inv.updates.get(&id).filter(|_| u.error.is_some()) {
                        u.current_version.clone_from(&last.current_version);
                        u.next.clone_from(&last.next);
                        u.components.clone_from(&last.components);
                        u.components_source = last.components_source;
                        u.not_applicable.clone_from(&last.not_applicable);
                        u.checked_at = last.checked_at;
                    }
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
            HubMsg::BadAnswer(e) => {
                let c = &mut self.inv.connectivity;
                if c.last_error.as_deref() != Some(e.as_str()) {
                    warn!(url = %c.url, "SDDC Manager answer refused: {e}");
                }
                c.last_error = Some(e);
                c.last_error_at = Some(chrono::Utc::now());
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
                let before = self
                    .inv
                    .upgrade_all
                    .as_ref()
                    .and_then(|v| v["status"].as_str().map(str::to_owned));
                let after = view["status"].as_str().unwrap_or("idle").to_owned();
                self.inv.upgrade_all = Some(view);
                if before.as_deref() == Some("running") && after != "running" {
                    let message = match after.as_str() {
                        "completed" => "Upgrade All Domains completed: every domain is upgraded",
                        "failed" => {
                            "Upgrade All Domains stopped: a domain's upgrade failed (Retry Upgrade All continues)"
                        }
                        "aborted" => "Upgrade All Domains aborted (Retry Upgrade All continues)",
                        _ => "",
                    };
                    if !message.is_empty() {
                        self.bridge_event(&format!("upgrade_all_{after}"), message)
                            .await;
                    }
                }
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
            HubMsg::Readiness(report) => {
                self.inv.readiness.report = Some(*report);
                true
            }
            HubMsg::ReadinessOverride(domain_id, on) => {
                let set = &mut self.inv.readiness.overrides;
                if on {
                    set.insert(domain_id)
                } else {
                    set.remove(&domain_id)
                }
            }
            HubMsg::BackupRun(run) => {
                let was_finished = self
                    .inv
                    .readiness
                    .backup_run
                    .as_ref()
                    .is_some_and(|r| r.task_id == run.task_id && r.finished_at.is_some());
                if run.finished_at.is_some() && !was_finished {
                    let ok = vcf_client::Status::parse(&run.status).is_success();
                    let (kind, message) = if ok {
                        (
                            "backup_completed",
                            "SDDC Manager backup completed".to_owned(),
                        )
                    } else {
                        (
                            "backup_failed",
                            format!(
                                "SDDC Manager backup {}{}",
                                run.status.to_ascii_lowercase(),
                                run.error
                                    .as_deref()
                                    .map(|e| format!(": {e}"))
                                    .unwrap_or_default()
                            ),
                        )
                    };
                    self.bridge_event(kind, &message).await;
                }
                self.inv.readiness.backup_run = Some(run);
                true
            }
            HubMsg::VcfNotification(n) => {
                let topic = Topics::below(&self.topics().bridge(), "notifications/event");
                let payload = json!({
                    "event_type": n.event_type(),
                    "severity": n.severity,
                    "type": n.kind,
                    "message": n.message,
                    "domain": n.domain,
                    "resources": n.resources,
                    "created": n.created.map(|t| t.to_rfc3339()),
                    "expires": n.expires.map(|t| t.to_rfc3339()),
                })
                .to_string();
                // Never retained, like every event.
                self.publish(&topic, payload, false).await;
                false
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

    /// Publishes an Operation Notification event (Upgrade All Domains, Back Up Now).
    async fn bridge_event(&mut self, event_type: &str, message: &str) {
        let topic = Topics::below(&self.topics().bridge(), "event");
        let payload = json!({"event_type": event_type, "message": message}).to_string();
        self.publish(&topic, payload, false).await;
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

    /// One step of the slow refresh: re-sends the retained states of the next few units.
    async fn refresh_step(&mut self, now: tokio::time::Instant) {
        if !self.connected {
            return;
        }
        let all = units(&self.inv);
        let range = self.refresh.step(now, all.len());
        if range.is_empty() {
            return;
        }
        let t = self.topics().clone();
        let mut n = 0usize;
        for unit in &all[range] {
            let states = render_unit(&self.inv, &self.rc, unit, false).into_messages(&t);
            for (topic, payload) in states {
                self.published.insert(topic.clone(), fingerprint(&payload));
                self.publish(&topic, payload, true).await;
                n += 1;
            }
        }
        debug!(messages = n, "refreshed retained states");
    }

    async fn sync(&mut self, force: bool) {
        if !self.connected {
            // Nothing can be sent now; the ConnAck republishes everything.
            return;
        }
        if force {
            self.refresh.everything_sent(tokio::time::Instant::now());
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
            let mut publish = changed_topics(&old, &unit_fps, force);
            attributes_first(&mut publish);
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
                // Read back from the broker: logged escaped like anything else received.
                info!(
                    topic = %crate::commands::topic_for_log(&topic),
                    "removing entity that no longer exists in VCF"
                );
                self.publish(&topic, String::new(), true).await;
            }
            if !stale.states.is_empty() {
                info!(
                    topics = stale.states.len(),
                    "clearing retained states of units that no longer exist in VCF"
                );
            }
            for topic in stale.states {
                debug!(
                    topic = %crate::commands::topic_for_log(&topic),
                    "clearing retained state of a vanished unit"
                );
                self.publish(&topic, String::new(), true).await;
            }
        }
    }

    async fn publish(&mut self, topic: &str, payload: String, retain: bool) {
        let wait = self.pacer.take(tokio::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        match self.client.publish(topic.to_owned(), payload, retain).await {
            Ok(()) => self.metrics.mqtt_published(1),
            Err(e) => warn!(
                topic = %crate::commands::topic_for_log(topic),
                "MQTT publish failed: {e}"
            ),
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
            readiness: false,
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

    #[test]
    fn a_refused_message_is_warned_about_once_per_payload() {
        let mut r = RefusedOnce::default();
        assert!(r.first_time("homeassistant/status", b"garbage"));
        assert!(
            !r.first_time("homeassistant/status", b"garbage"),
            "delivered again at a reconnect: no second warning"
        );
        assert!(r.first_time("homeassistant/status", b"other garbage"));
        assert!(r.first_time("elsewhere/status", b"other garbage"));
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
        // One value changes: only its attributes, then its state.
        feed(&mut h, HubMsg::Resources(snapshot(20.0, &["esx01"]))).await;
        let topics: Vec<String> = rec.take().into_iter().map(|(t, _, _)| t).collect();
        assert_eq!(
            topics,
            vec![
                "dca/lab/domain/lab_m01/cpu_usage/attributes".to_owned(),
                "dca/lab/domain/lab_m01/cpu_usage".to_owned(),
            ]
        );
    }

    fn updates(current: &str, next: Option<&str>) -> HubMsg {
        let info = crate::model::UpdateInfo {
            current_version: Some(current.into()),
            next: next.map(|v| crate::model::NextRelease {
                version: v.into(),
                release_date: None,
                description: Some(format!("VMware Cloud Foundation {v}")),
                bom: vec![],
                raw: json!({"bom": [{"name": "SDDC_MANAGER_VCF", "releaseURL": "https://docs.example/rn"}]}),
            }),
            components: vec![],
            components_source: crate::model::ComponentsSource::Bom,
            error: None,
            not_applicable: vec![],
            checked_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        };
        HubMsg::Updates(vec![], BTreeMap::from([("d1".to_owned(), info)]))
    }

    #[tokio::test]
    async fn no_value_is_published_as_unknown_before_the_first_update_check() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        // Resources answer first: the update-derived states keep what the broker retains.
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        let log = rec.take();
        // (This snapshot has no memory or storage figures: those are rightly `None`.)
        let unknown: Vec<_> = log
            .iter()
            .filter(|(t, p, _)| !t.starts_with("homeassistant/") && p.is_empty())
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
        for leaf in ["status", "current_version", "components_to_update"] {
            let topic = format!("dca/lab/domain/lab_m01/{leaf}");
            assert!(log.iter().all(|(t, _, _)| *t != topic), "{topic} published");
        }
        feed(&mut h, updates("5.2.0.0", Some("5.2.1.0"))).await;
        let log = rec.take();
        assert!(log.contains(&(
            "dca/lab/domain/lab_m01/status".into(),
            "updates_available".into(),
            true
        )));
        assert!(log.contains(&(
            "dca/lab/domain/lab_m01/current_version".into(),
            "5.2.0.0".into(),
            true
        )));
    }

    #[tokio::test]
    async fn a_new_version_changes_states_but_never_resends_a_config() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        feed(&mut h, updates("5.2.0.0", Some("5.2.1.0"))).await;
        rec.take();
        // The upgrade is done: SDDC Manager reports the new version, and nothing newer.
        feed(&mut h, updates("5.2.1.0", None)).await;
        let log = rec.take();
        let configs: Vec<&String> = log
            .iter()
            .map(|(t, _, _)| t)
            .filter(|t| t.starts_with("homeassistant/"))
            .collect();
        assert!(configs.is_empty(), "configs re-sent: {configs:?}");
        let update = log
            .iter()
            .find(|(t, _, _)| t == "dca/lab/domain/lab_m01/update/state")
            .map(|(_, p, _)| serde_json::from_str::<serde_json::Value>(p).expect("json"))
            .expect("the update entity's state changes");
        assert_eq!(update["installed_version"], "5.2.1.0");
        assert_eq!(update["latest_version"], "5.2.1.0");
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
    async fn the_slow_refresh_resends_every_state_once_per_period() {
        let (h, rec, _rx) = new_hub();
        let period = std::time::Duration::from_secs(60);
        let mut h = h.with_pacing(100_000, period);
        let t0 = tokio::time::Instant::now();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(
            &mut h,
            HubMsg::Resources(snapshot(10.0, &["esx01", "esx02"])),
        )
        .await;
        rec.take();
        let expected: BTreeSet<String> = crate::ha::entities::render_parts(&h.inv, &h.rc, false)
            .states
            .into_keys()
            .collect();
        assert!(
            expected.contains("dca/lab/host/esx02/cpu_usage"),
            "{expected:?}"
        );
        let secs = |s: u64| t0 + std::time::Duration::from_secs(s);
        // Quiet for a period after everything was sent.
        for s in 1..=59 {
            h.refresh_step(secs(s)).await;
        }
        assert_eq!(rec.take(), vec![], "nothing re-sent within the period");
        // Then, over one more period, every retained state exactly once, and no config.
        for s in 61..=125 {
            h.refresh_step(secs(s)).await;
        }
        let log = rec.take();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (topic, payload, retain) in &log {
            assert!(*retain && !payload.is_empty(), "{topic}");
            *counts.entry(topic.as_str()).or_default() += 1;
        }
        assert_eq!(
            counts
                .keys()
                .map(|k| (*k).to_owned())
                .collect::<BTreeSet<_>>(),
            expected
        );
        assert!(counts.values().all(|&n| n == 1), "{counts:?}");
        // Home Assistant's birth message sends everything: the quiet period starts over.
        feed(&mut h, message("homeassistant/status", "online", false)).await;
        rec.take();
        let now = tokio::time::Instant::now();
        h.refresh_step(now + std::time::Duration::from_secs(30))
            .await;
        assert_eq!(rec.take(), vec![]);
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

    /// A new SDDC Manager notification is one non-retained event with its severity as the
    /// event type; the end of an Upgrade All Domains run and of a Back Up Now are Operation
    /// Notification events, each sent once.
    #[tokio::test]
    async fn notifications_and_operation_ends_are_events_sent_once() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        rec.take();
        let notice = crate::readiness::Notice {
            severity: "ERROR".into(),
            message: "vpxd is not running".into(),
            domain: Some("lab-m01".into()),
            ..Default::default()
        };
        feed(&mut h, HubMsg::VcfNotification(Box::new(notice))).await;
        let log = rec.take();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].0, "dca/lab/bridge/notifications/event");
        assert!(!log[0].2, "events are never retained");
        let v: serde_json::Value = serde_json::from_str(&log[0].1).expect("json");
        assert_eq!(v["event_type"], "error");
        assert_eq!(v["message"], "vpxd is not running");

        let events = |log: Vec<(String, String, bool)>| -> Vec<String> {
            log.into_iter()
                .filter(|(t, _, _)| t == "dca/lab/bridge/event")
                .map(|(_, p, retain)| {
                    assert!(!retain);
                    serde_json::from_str::<serde_json::Value>(&p).expect("json")["event_type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        };
        for status in ["idle", "running", "running", "completed", "completed"] {
            feed(&mut h, HubMsg::Sequence(json!({"status": status}))).await;
        }
        feed(&mut h, HubMsg::Sequence(json!({"status": "running"}))).await;
        feed(&mut h, HubMsg::Sequence(json!({"status": "failed"}))).await;
        assert_eq!(
            events(rec.take()),
            ["upgrade_all_completed", "upgrade_all_failed"]
        );

        let run = |status: &str, finished: bool| crate::model::BackupRun {
            task_id: "t1".into(),
            status: status.into(),
            started_at: chrono::Utc::now(),
            finished_at: finished.then(chrono::Utc::now),
            error: (status == "FAILED").then(|| "disk full".to_owned()),
        };
        feed(&mut h, HubMsg::BackupRun(run("IN_PROGRESS", false))).await;
        feed(&mut h, HubMsg::BackupRun(run("SUCCESSFUL", true))).await;
        feed(&mut h, HubMsg::BackupRun(run("SUCCESSFUL", true))).await;
        let mut second = run("FAILED", true);
        second.task_id = "t2".into();
        feed(&mut h, HubMsg::BackupRun(second)).await;
        assert_eq!(events(rec.take()), ["backup_completed", "backup_failed"]);
    }

    /// A failed update check keeps what the last good one found and shows the error; a refused
    /// answer is named in the connectivity attributes while connectivity stays ON.
    #[tokio::test]
    async fn refused_answers_keep_the_last_good_values_and_name_the_problem() {
        let (mut h, rec, _rx) = new_hub();
        feed(&mut h, HubMsg::Mqtt(MqttEvent::Connected)).await;
        feed(&mut h, HubMsg::Reachability(Ok(()))).await;
        feed(&mut h, HubMsg::Resources(snapshot(10.0, &["esx01"]))).await;
        let good = crate::model::UpdateInfo {
            current_version: Some("5.2.0.0".into()),
            next: Some(crate::model::NextRelease {
                version: "5.2.1.0".into(),
                release_date: None,
                description: None,
                bom: Vec::new(),
                raw: serde_json::json!({"version": "5.2.1.0"}),
            }),
            components: vec![crate::model::ComponentUpdate {
                name: "VCENTER".into(),
                public_name: None,
                from_version: Some("8.0.3".into()),
                to_version: Some("8.0.3.1".into()),
                status: None,
            }],
            components_source: crate::model::ComponentsSource::Bom,
            error: None,
            not_applicable: Vec::new(),
            checked_at: chrono::Utc::now(),
        };
        let domains = snapshot(10.0, &[]).domains;
        let updates = |u: crate::model::UpdateInfo| BTreeMap::from([("d1".to_owned(), u)]);
        feed(
            &mut h,
            HubMsg::Updates(domains.clone(), updates(good.clone())),
        )
        .await;
        rec.take();
        let failed = crate::model::UpdateInfo {
            current_version: None,
            next: None,
            components: Vec::new(),
            error: Some("GET /v1/releases/domains/d1/future-releases: unexpected response: missing field `elements`".into()),
            ..good.clone()
        };
        feed(&mut h, HubMsg::Updates(domains, updates(failed))).await;
        let log = rec.take();
        let get = |t: &str| {
            log.iter()
                .find(|(topic, _, _)| topic == t)
                .map(|(_, p, _)| p.clone())
        };
        assert_eq!(
            get("dca/lab/domain/lab_m01/status").as_deref(),
            Some("error")
        );
        let attrs: serde_json::Value = serde_json::from_str(
            &get("dca/lab/domain/lab_m01/status/attributes").expect("attributes"),
        )
        .expect("json");
        assert!(
            attrs["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("future-releases"))
        );
        assert_eq!(
            attrs["next_version"], "5.2.1.0",
            "the last good next release stays"
        );
        assert_eq!(attrs["current_version"], "5.2.0.0");
        assert_eq!(
            get("dca/lab/domain/lab_m01/components_to_update"),
            None,
            "unchanged: 1"
        );

        feed(
            &mut h,
            HubMsg::BadAnswer(
                "GET /v1/domains: unexpected response: missing field `elements`".into(),
            ),
        )
        .await;
        let log = rec.take();
        assert!(
            !log.iter()
                .any(|(t, _, _)| t == "dca/lab/bridge/connectivity"),
            "connectivity stays ON: {log:?}"
        );
        let attrs = log
            .iter()
            .find(|(t, _, _)| t == "dca/lab/bridge/connectivity/attributes")
            .map(|(_, p, _)| serde_json::from_str::<serde_json::Value>(p).expect("json"))
            .expect("connectivity attributes published");
        assert!(
            attrs["last_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("GET /v1/domains"))
        );
        assert_eq!(attrs["reachable"], true);
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
