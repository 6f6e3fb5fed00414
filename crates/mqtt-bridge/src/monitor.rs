//! The two monitoring loops and the conversion from `vcf-client` models to the bridge's model.
//!
//! - **resources** (default 10 s): exactly three requests per cycle — `GET /v1/domains`,
//!   `GET /v1/clusters`, `GET /v1/hosts` — whatever the number of hosts.
//! - **updates** (default 15 min, or at once on Check for updates / recovery): per domain the
//!   current release (`GET /v1/releases?domainId=`), the future releases (the only
//!   update-detection path; seed-001 rule via [`vcf_client::select_next_release`]) and, for the
//!   chosen target, the upgradables. Upgradables are only listed once a target version is set in
//!   VCF, so when they are empty the components come from the next release's BOM compared with
//!   the current release's BOM.
//!
//! When SDDC Manager is unreachable the loops back off (log once on the change, not every cycle),
//! connectivity goes `OFF` (which makes the VCF entities unavailable) and everything recovers by
//! itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use vcf_client::{
    BomEntry, Cluster, Domain, FutureRelease, Host, Release, Upgradable, VcfClient, VcfError,
    VcfVersion,
};

use crate::messages::{HubMsg, ResourceSnapshot};
use crate::model::{
    BomItem, Capacity, ClusterInfo, ComponentUpdate, ComponentsSource, DomainInfo, HostInfo,
    NextRelease, NotApplicable, UpdateInfo, Usage,
};
use crate::observability::Metrics;

/// At most this many new SDDC Manager notifications become events in one readiness poll (the
/// newest; the others are only listed), so a first poll after a long outage is no flood.
pub const MAX_NOTIFICATION_EVENTS: usize = 20;

/// Shared handles for both loops.
#[derive(Clone)]
pub struct Monitor {
    /// SDDC Manager client.
    pub client: VcfClient,
    /// Hub inbox.
    pub hub: mpsc::UnboundedSender<HubMsg>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Check for updates pressed.
    pub check_now: Arc<Notify>,
    /// SDDC Manager became reachable again (the updates loop re-checks at once).
    pub recovered: Arc<Notify>,
    /// Readiness poll and the board it writes (`None` with `readiness.enabled = false`).
    pub readiness: Option<(crate::readiness::poll::Poller, crate::readiness::Board)>,
}

/// Next delay after `failures` consecutive failures: doubles from `interval`, capped at
/// `max(interval, min(60 s, 6 × interval))` so short test intervals still recover quickly.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    let cap = interval.max((interval * 6).min(Duration::from_secs(60)));
    interval
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(cap)
}

/// Whether an error means "SDDC Manager unreachable" (connectivity OFF) rather than a bad answer.
fn is_connectivity_error(e: &VcfError) -> bool {
    e.is_transient() || matches!(e, VcfError::Auth { .. })
}

/// Failed polls in a row (of one loop) after which an SDDC Manager that still answers, but only
/// with server errors (HTTP 500 and the other 5xx that are not "unavailable"), counts as down:
/// connectivity `OFF` with the reason, and `/readyz` not ready. Two: one failed poll never turns
/// it off, a sustained run does within about two poll intervals (20 s at the default 10 s).
/// Unreachable, unavailable (502/503/504), timed-out and refused requests turn it off at once.
pub const SUSTAINED_FAILURES: u32 = 2;

/// Whether the `consecutive`-th failed poll in a row, failing with `e`, means SDDC Manager is down.
fn is_down(e: &VcfError, consecutive: u32) -> bool {
    is_connectivity_error(e)
        || (consecutive >= SUSTAINED_FAILURES
            && matches!(e, VcfError::Api { status, .. } if *status >= 500))
}

impl Monitor {
    /// The resources loop; ends on `shutdown`.
    pub async fn resources_loop(self, interval: Duration, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let result = self.resources_cycle().await;
            let ok = result.is_ok();
            self.metrics
                .poll_finished("resources", started.elapsed(), ok);
            if let Some(failure) = self.client.last_auth_failure() {
                let _ = self.hub.send(HubMsg::AuthFailure(failure));
            }
            match result {
                Ok(snap) => {
                    if failures > 0 {
                        info!("resource polling recovered");
                        self.recovered.notify_one();
                    }
                    failures = 0;
                    let _ = self.hub.send(HubMsg::Reachability(Ok(())));
                    let _ = self.hub.send(HubMsg::Resources(snap));
                    let _ = self.hub.send(HubMsg::Token {
                        expires_at: self.client.token_expires_at(),
                        obtained_at: self.client.token_obtained_at(),
                        refresh_result: None,
                    });
                }
                Err(e) => {
                    if failures == 0 {
                        warn!("resource polling failed: {e:#}; backing off");
                    } else {
                        debug!(failures, "resource polling still failing: {e:#}");
                    }
                    failures = failures.saturating_add(1);
                    self.report_error(&e, failures);
                }
            }
            let delay = backoff(interval, failures).saturating_sub(started.elapsed());
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn report_error(&self, e: &VcfError, consecutive: u32) {
        if is_connectivity_error(e) {
            let _ = self.hub.send(HubMsg::Reachability(Err(format!("{e:#}"))));
        } else if matches!(e, VcfError::Parse { .. }) {
            let _ = self.hub.send(HubMsg::BadAnswer(format!("{e:#}")));
        } else if is_down(e, consecutive) {
            let _ = self.hub.send(HubMsg::Reachability(Err(format!(
                "{e:#} ({consecutive} failed polls in a row)"
            ))));
        }
    }

    /// One resource cycle: three requests.
    ///
    /// # Errors
    /// The first failing request's error.
    pub async fn resources_cycle(&self) -> Result<ResourceSnapshot, VcfError> {
        let (domains, clusters, hosts) = tokio::try_join!(
            self.client.domains(),
            self.client.clusters(),
            self.client.hosts()
        )?;
        Ok(snapshot(&domains, &clusters, &hosts))
    }

    /// The updates loop; ends on `shutdown`.
    pub async fn updates_loop(self, interval: Duration, shutdown: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let result = self.updates_cycle().await;
            self.metrics
                .poll_finished("updates", started.elapsed(), result.is_ok());
            match result {
                Ok((domains, updates)) => {
                    if failures > 0 {
                        info!("update check recovered");
                    }
                    failures = 0;
                    let available = updates.values().filter(|u| u.next.is_some()).count();
                    debug!(domains = updates.len(), available, "update check done");
                    let _ = self.hub.send(HubMsg::Reachability(Ok(())));
                    let names: Vec<(String, String)> = domains
                        .iter()
                        .map(|d| (d.id.clone(), d.name.clone()))
                        .collect();
                    let _ = self.hub.send(HubMsg::Updates(domains, updates));
                    self.readiness_cycle(&names).await;
                }
                Err(e) => {
                    if failures == 0 {
                        warn!("update check failed: {e:#}; retrying later");
                    } else {
                        debug!(failures, "update check still failing: {e:#}");
                    }
                    failures = failures.saturating_add(1);
                    self.report_error(&e, failures);
                }
            }
            // On failure retry sooner than the (long) interval, but never faster than 5 s.
            let delay = if failures == 0 {
                interval
            } else {
                backoff(Duration::from_secs(5).min(interval), failures).min(interval)
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
                () = self.check_now.notified() => {}
                () = self.recovered.notified(), if failures > 0 => {}
            }
        }
    }

    /// One readiness poll (after a successful update check): evaluates, writes the board the
    /// command task reads, and hands the report to the hub.
    async fn readiness_cycle(&self, domains: &[(String, String)]) {
        let Some((poller, board)) = &self.readiness else {
            return;
        };
        let started = Instant::now();
        let now = chrono::Utc::now();
        let inputs = poller.read(domains, now).await;
        let report = crate::readiness::evaluate(domains, &inputs, poller.thresholds(), now);
        let fresh = poller.fresh_notifications(&inputs);
        if fresh.len() > MAX_NOTIFICATION_EVENTS {
            warn!(
                new = fresh.len(),
                sent = MAX_NOTIFICATION_EVENTS,
                "many new SDDC Manager notifications at once: only the newest are sent as events (all are listed on the Notifications sensor)"
            );
        }
        let mut fresh = fresh;
        fresh.sort_by_key(|n| n.created);
        let skip = fresh.len().saturating_sub(MAX_NOTIFICATION_EVENTS);
        for n in fresh.into_iter().skip(skip) {
            info!(
                severity = n.severity,
                message = n.message,
                "SDDC Manager notification"
            );
            let _ = self.hub.send(HubMsg::VcfNotification(Box::new(n)));
        }
        debug!(
            state = report.sddc.state.as_str(),
            reasons = report.sddc.reasons.len(),
            "readiness checked"
        );
        debug!(elapsed = ?started.elapsed(), "readiness poll done");
        if let Ok(mut b) = board.write() {
            *b = Some(report.clone());
        }
        let _ = self.hub.send(HubMsg::Readiness(Box::new(report)));
    }

    /// One update check over every domain.
    ///
    /// # Errors
    /// A connectivity error, or the domain list failing; per-domain API errors are reported in
    /// that domain's [`UpdateInfo::error`] instead.
    pub async fn updates_cycle(
        &self,
    ) -> Result<(Vec<DomainInfo>, BTreeMap<String, UpdateInfo>), VcfError> {
        let domains = self.client.domains().await?;
        // Read again on every cycle: an SDDC Manager upgrade changes it.
        match self.client.detect_sddc_manager_version().await {
            Ok(Some(version)) => {
                let _ = self.hub.send(HubMsg::SddcManagerVersion(version));
            }
            Ok(None) => {}
            Err(e) => debug!("SDDC Manager version not read: {e:#}"),
        }
        let mut out = BTreeMap::new();
        for d in &domains {
            match self.domain_update(&d.id).await {
                Ok(u) => {
                    out.insert(d.id.clone(), u);
                }
                Err(e) if is_connectivity_error(&e) => return Err(e),
                Err(e) => {
                    warn!(domain = d.name, "update check for domain failed: {e:#}");
                    out.insert(
                        d.id.clone(),
                        UpdateInfo {
                            current_version: None,
                            next: None,
                            components: Vec::new(),
                            components_source: ComponentsSource::Bom,
                            error: Some(format!("{e:#}")),
                            not_applicable: Vec::new(),
                            checked_at: chrono::Utc::now(),
                        },
                    );
                }
            }
        }
        Ok((domains.iter().map(domain_info).collect(), out))
    }

    async fn domain_update(&self, domain_id: &str) -> Result<UpdateInfo, VcfError> {
        let current = self.client.releases(Some(domain_id)).await?;
        let future = self.client.future_releases(domain_id).await?;
        let current_release = current_release(&current);
        let Some(cur) = current_release else {
            return Ok(UpdateInfo {
                current_version: None,
                next: None,
                components: Vec::new(),
                components_source: ComponentsSource::Bom,
                error: Some("SDDC Manager returned no current release for this domain".into()),
                not_applicable: Vec::new(),
                checked_at: chrono::Utc::now(),
            });
        };
        let next = cur
            .version
            .parse::<VcfVersion>()
            .ok()
            .and_then(|v| vcf_client::select_next_release(&v, &future));
        let upgradables = match next {
            Some(n) => self.client.upgradables(domain_id, Some(&n.version)).await?,
            None => Vec::new(),
        };
        let mut info = update_info(cur, next, &upgradables);
        info.not_applicable = not_applicable(&cur.version, &future);
        Ok(info)
    }
}

// === conversions (pure) ===

/// The domain's current release: the highest version in `GET /v1/releases?domainId=`.
pub fn current_release(releases: &[Release]) -> Option<&Release> {
    releases.iter().max_by(|a, b| {
        match (
            a.version.parse::<VcfVersion>(),
            b.version.parse::<VcfVersion>(),
        ) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Err(_), Err(_)) => a.version.cmp(&b.version),
        }
    })
}

/// At most this many not-applicable releases are shown (the attributes stay small).
const MAX_NOT_APPLICABLE: usize = 10;

/// The releases newer than `current` that VCF says the domain cannot move to, oldest first,
/// with VCF's reasons (`applicabilityStatus` other than `APPLICABLE`, or the deprecated
/// `isApplicable: false`).
pub fn not_applicable(current: &str, future: &[FutureRelease]) -> Vec<NotApplicable> {
    let Ok(current) = current.parse::<VcfVersion>() else {
        return Vec::new();
    };
    let current = current.base();
    let mut out: Vec<(VcfVersion, NotApplicable)> = future
        .iter()
        .filter(|r| {
            let applicable = r
                .applicability_status
                .as_deref()
                .map_or(r.is_applicable != Some(false), |s| {
                    s.eq_ignore_ascii_case("APPLICABLE")
                });
            !applicable
        })
        .filter_map(|r| {
            let v = r.version.parse::<VcfVersion>().ok()?.base();
            (v > current).then(|| {
                let reasons = r
                    .reasons_not_applicable
                    .iter()
                    .filter_map(|m| m.message.clone().or_else(|| m.message_key.clone()))
                    .collect();
                let item = NotApplicable {
                    version: r.version.clone(),
                    applicability_status: r.applicability_status.clone(),
                    reasons,
                };
                (v, item)
            })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter()
        .take(MAX_NOT_APPLICABLE)
        .map(|(_, item)| item)
        .collect()
}

/// Builds the update info from the current release, the selected next release and the
/// upgradables for it (empty until a target version is set in VCF).
pub fn update_info(
    current: &Release,
    next: Option<&FutureRelease>,
    upgradables: &[Upgradable],
) -> UpdateInfo {
    let Some(next) = next else {
        return UpdateInfo {
            current_version: Some(current.version.clone()),
            next: None,
            components: Vec::new(),
            components_source: ComponentsSource::Bom,
            error: None,
            not_applicable: Vec::new(),
            checked_at: chrono::Utc::now(),
        };
    };
    let bom: Vec<BomItem> = next
        .bom
        .iter()
        .map(|b| BomItem {
            name: b.name.clone(),
            version: shown_version(b).unwrap_or_default(),
            public_name: b.public_name.clone(),
        })
        .collect();
    let from_upgradables: Vec<ComponentUpdate> = upgradables
        .iter()
        .filter(|u| !u.status.as_ref().is_some_and(|s| s.is_success()))
        .map(|u| {
            let kind = u
                .software_components
                .iter()
                .find_map(|c| c.kind.clone())
                .or_else(|| u.bundle_type.clone())
                .unwrap_or_else(|| "UNKNOWN".into());
            let bom_entry = next.bom.iter().find(|b| same_component(&b.name, &kind));
            let current_entry = current.bom.iter().find(|b| same_component(&b.name, &kind));
            ComponentUpdate {
                public_name: bom_entry.and_then(|b| b.public_name.clone()),
                from_version: current_entry.and_then(shown_version),
                to_version: bom_entry.and_then(shown_version),
                status: u.status.as_ref().map(|s| s.as_str().to_owned()),
                name: kind,
            }
        })
        .collect();
    let (components, source) = if upgradables.is_empty() {
        let list = next
            .bom
            .iter()
            .filter(|b| {
                current
                    .bom
                    .iter()
                    .find(|c| c.name == b.name)
                    .is_none_or(|c| !same_build(c, b))
            })
            .map(|b| ComponentUpdate {
                name: b.name.clone(),
                public_name: b.public_name.clone(),
                from_version: current
                    .bom
                    .iter()
                    .find(|c| c.name == b.name)
                    .and_then(shown_version),
                to_version: shown_version(b),
                status: None,
            })
            .collect();
        (list, ComponentsSource::Bom)
    } else {
        (from_upgradables, ComponentsSource::Upgradables)
    };
    UpdateInfo {
        current_version: Some(current.version.clone()),
        next: Some(NextRelease {
            version: next.version.clone(),
            release_date: next.release_date.clone(),
            description: next.description.clone(),
            bom,
            raw: next.raw.clone(),
        }),
        components,
        components_source: source,
        error: None,
        not_applicable: Vec::new(),
        checked_at: chrono::Utc::now(),
    }
}

/// A BOM entry's version for display: the version, or on VCF 9.x (where it is optional) the
/// build from `changeId`.
fn shown_version(b: &BomEntry) -> Option<String> {
    b.version()
        .map(str::to_owned)
        .or_else(|| b.change_id.as_ref().map(|c| format!("build {c}")))
}

/// Whether two BOM entries name the same build: by version, else by `changeId` (VCF 9.x);
/// when neither tells, they count as different, so that no component goes missing.
fn same_build(a: &BomEntry, b: &BomEntry) -> bool {
    match (a.version(), b.version()) {
        (Some(x), Some(y)) => x == y,
        _ => a.change_id.is_some() && a.change_id == b.change_id,
    }
}

/// Upgradable component types and BOM names differ (`SDDC_MANAGER` vs `SDDC_MANAGER_VCF`,
/// `HOST` vs `ESX_HOST`).
fn same_component(bom_name: &str, kind: &str) -> bool {
    let norm = |s: &str| match s.to_ascii_uppercase().as_str() {
        "SDDC_MANAGER_VCF" | "SDDC_MANAGER" => "SDDC_MANAGER".to_owned(),
        "ESX_HOST" | "HOST" | "ESX" | "ESXI" => "ESX_HOST".to_owned(),
        "NSX_T_MANAGER" | "NSXT_MANAGER" | "NSX_MANAGER" | "NSX" => "NSX_T_MANAGER".to_owned(),
        other => other.to_owned(),
    };
    norm(bom_name) == norm(kind)
}

/// Converts one resource cycle's answers.
pub fn snapshot(domains: &[Domain], clusters: &[Cluster], hosts: &[Host]) -> ResourceSnapshot {
    ResourceSnapshot {
        domains: domains.iter().map(domain_info).collect(),
        clusters: clusters
            .iter()
            .map(|c| ClusterInfo {
                id: c.id.clone(),
                name: c.name.clone(),
                domain_id: c.domain.as_ref().map(|d| d.id.clone()),
                host_count: c.hosts.len(),
            })
            .collect(),
        hosts: hosts.iter().map(host_info).collect(),
    }
}

/// Converts a domain.
pub fn domain_info(d: &Domain) -> DomainInfo {
    let capacity = d
        .capacity
        .as_ref()
        .map(|c| Capacity {
            cpu: c.cpu.as_ref().and_then(|cpu| {
                let (u, t) = (cpu.used.as_ref()?, cpu.total.as_ref()?);
                Some(Usage {
                    used: to_unit(u.value, &u.unit, &t.unit, FREQ),
                    total: t.value,
                    unit: t.unit.clone(),
                })
            }),
            memory: c.memory.as_ref().and_then(data_usage),
            storage: c.storage.as_ref().and_then(data_usage),
        })
        .unwrap_or_default();
    DomainInfo {
        id: d.id.clone(),
        name: d.name.clone(),
        kind: d.kind.clone(),
        capacity,
    }
}

const FREQ: &[(&str, f64)] = &[
    ("HZ", 1.0),
    ("KHZ", 1e3),
    ("MHZ", 1e6),
    ("GHZ", 1e9),
    ("THZ", 1e12),
];
const DATA: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1024.0),
    ("MB", 1024.0 * 1024.0),
    ("GB", 1024.0 * 1024.0 * 1024.0),
    ("TB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("PB", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
];

/// Converts `value` from unit `from` to unit `to` (used and total may use different units,
/// e.g. `612 GB` of `2 TB`).
fn to_unit(value: f64, from: &str, to: &str, table: &[(&str, f64)]) -> f64 {
    let factor = |u: &str| {
        table
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(u))
            .map(|(_, f)| *f)
    };
    match (factor(from), factor(to)) {
        (Some(a), Some(b)) => value * a / b,
        _ => value,
    }
}

fn data_usage(m: &vcf_client::StorageOrMemoryInfo) -> Option<Usage> {
    let (u, t) = (m.used.as_ref()?, m.total.as_ref()?);
    Some(Usage {
        used: to_unit(u.value, &u.unit, &t.unit, DATA),
        total: t.value,
        unit: t.unit.clone(),
    })
}

/// Converts a host.
pub fn host_info(h: &Host) -> HostInfo {
    let pair = |used: Option<f64>, total: Option<f64>, unit: &str| match (used, total) {
        (Some(used), Some(total)) => Some(Usage {
            used,
            total,
            unit: unit.to_owned(),
        }),
        _ => None,
    };
    HostInfo {
        id: h.id.clone(),
        fqdn: h.fqdn.clone().unwrap_or_else(|| h.id.clone()),
        domain_id: h.domain.as_ref().map(|d| d.id.clone()),
        cluster_name: h.cluster.as_ref().and_then(|c| c.name.clone()),
        esxi_version: h.esxi_version.clone(),
        vendor: h.hardware_vendor.clone(),
        model: h.hardware_model.clone(),
        cpu: h
            .cpu
            .as_ref()
            .and_then(|c| pair(c.used_frequency_mhz, c.frequency_mhz, "MHz")),
        memory: h
            .memory
            .as_ref()
            .and_then(|m| pair(m.used_capacity_mb, m.total_capacity_mb, "MB")),
        storage: h
            .storage
            .as_ref()
            .and_then(|m| pair(m.used_capacity_mb, m.total_capacity_mb, "MB")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sim_monitor(scenario: &str) -> (vcf_sim::SimServer, Monitor) {
        let sim = vcf_sim::start(
            vcf_sim::Scenario::builtin(scenario).expect("scenario"),
            vcf_sim::SimOptions {
                listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                tls: false,
                time_scale: 1.0,
            },
        )
        .await
        .expect("simulator");
        let client = VcfClient::new(vcf_client::ClientConfig::new(
            sim.url.clone(),
            sim.username.clone(),
            secrecy::SecretString::from(sim.password.clone()),
        ))
        .expect("client");
        let (m, _rx) = monitor(client);
        (sim, m)
    }

    /// A monitor over `client`, and the hub's end of its channel.
    fn monitor(client: VcfClient) -> (Monitor, mpsc::UnboundedReceiver<HubMsg>) {
        let (hub, rx) = mpsc::unbounded_channel();
        let m = Monitor {
            client,
            hub,
            metrics: Metrics::new(),
            check_now: Arc::new(Notify::new()),
            recovered: Arc::new(Notify::new()),
            readiness: None,
        };
        (m, rx)
    }

    fn v1_requests(sim: &vcf_sim::SimServer) -> BTreeMap<String, u64> {
        sim.with_state(|s| s.counts.clone())
            .into_iter()
            .filter(|(k, _)| k.contains("/v1/") && !k.contains("/v1/tokens"))
            .collect()
    }

    #[tokio::test]
    async fn resource_cycle_costs_three_requests_whatever_the_host_count() {
        let (sim, m) = sim_monitor("large").await;
        m.resources_cycle().await.expect("first cycle");
        let before = v1_requests(&sim);
        let snap = m.resources_cycle().await.expect("second cycle");
        let after = v1_requests(&sim);
        assert!(
            snap.hosts.len() >= 1000,
            "large scenario: {} hosts",
            snap.hosts.len()
        );
        let spent: u64 = after
            .iter()
            .map(|(k, v)| v - before.get(k).copied().unwrap_or(0))
            .sum();
        assert_eq!(spent, 3, "{before:?} -> {after:?}");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn update_cycle_finds_the_next_release_and_its_components() {
        let (sim, m) = sim_monitor("default").await;
        let (domains, updates) = m.updates_cycle().await.expect("cycle");
        assert_eq!(domains.len(), 2);
        for d in &domains {
            let u = &updates[&d.id];
            assert_eq!(u.current_version.as_deref(), Some("5.2.0.0"), "{}", d.name);
            // 5.2.2.0 is a stepping stone (not applicable yet): the next release is 5.2.1.0.
            assert_eq!(u.next.as_ref().map(|n| n.version.as_str()), Some("5.2.1.0"));
            // No target version set yet → no upgradables → components from the BOMs.
            assert_eq!(u.components_source, ComponentsSource::Bom);
            assert!(!u.components.is_empty());
            assert!(u.error.is_none());
        }
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn unreachable_sddc_manager_is_a_connectivity_error() {
        let client = VcfClient::new(vcf_client::ClientConfig::new(
            // A port nothing listens on (bound then dropped).
            format!(
                "http://127.0.0.1:{}",
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("port")
                    .port()
            ),
            "u",
            secrecy::SecretString::from("p".to_owned()),
        ))
        .expect("client");
        let (m, mut rx) = monitor(client);
        let e = m.resources_cycle().await.expect_err("nothing listens");
        assert!(is_connectivity_error(&e), "{e:#}");
        m.report_error(&e, 1);
        assert!(matches!(rx.try_recv(), Ok(HubMsg::Reachability(Err(_)))));
    }

    #[test]
    fn a_sustained_run_of_server_errors_counts_as_down() {
        let api = |status: u16| VcfError::Api {
            endpoint: "GET /v1/domains".into(),
            status,
            error: Box::default(),
        };
        assert!(!is_down(&api(500), 1), "one failed poll is not an outage");
        assert!(is_down(&api(500), SUSTAINED_FAILURES));
        assert!(is_down(&api(507), SUSTAINED_FAILURES + 3));
        assert!(
            !is_down(&api(404), SUSTAINED_FAILURES + 3),
            "a client error is a bad request, not SDDC Manager down"
        );
        let unavailable = VcfError::Unavailable {
            endpoint: "GET /v1/domains".into(),
            status: Some(503),
            detail: "busy".into(),
        };
        assert!(is_down(&unavailable, 1), "503 turns it off at once");
    }

    #[test]
    fn backoff_grows_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(10), 0), s(10));
        assert_eq!(backoff(s(10), 1), s(20));
        assert_eq!(backoff(s(10), 2), s(40));
        assert_eq!(backoff(s(10), 3), s(60));
        assert_eq!(backoff(s(10), 30), s(60));
        assert_eq!(backoff(s(1), 10), s(6));
        assert_eq!(backoff(s(900), 3), s(900));
    }

    #[test]
    fn unit_conversion() {
        assert!((to_unit(1.0, "TB", "GB", DATA) - 1024.0).abs() < 1e-9);
        assert!((to_unit(500.0, "MHz", "GHz", FREQ) - 0.5).abs() < 1e-9);
        assert!((to_unit(3.0, "??", "GB", DATA) - 3.0).abs() < 1e-9);
    }

    fn release(json: serde_json::Value) -> Release {
        serde_json::from_value(json).expect("release")
    }

    fn future(json: serde_json::Value) -> FutureRelease {
        serde_json::from_value(json).expect("future release")
    }

    #[test]
    fn components_from_bom_when_no_upgradables() {
        let cur = release(serde_json::json!({"version": "5.2.0.0", "bom": [
            {"name": "SDDC_MANAGER_VCF", "version": "5.2.0.0-1", "publicName": "SDDC Manager"},
            {"name": "VCENTER", "version": "8.0.3-1", "publicName": "vCenter"},
            {"name": "ESX_HOST", "version": "8.0.3-9", "publicName": "ESXi"}]}));
        let next = future(
            serde_json::json!({"version": "5.2.1.0", "applicabilityStatus": "APPLICABLE",
            "isApplicable": true, "minCompatibleVcfVersion": "5.2.0.0", "bom": [
            {"name": "SDDC_MANAGER_VCF", "version": "5.2.1.0-2", "publicName": "SDDC Manager"},
            {"name": "VCENTER", "version": "8.0.3-2", "publicName": "vCenter"},
            {"name": "ESX_HOST", "version": "8.0.3-9", "publicName": "ESXi"},
            {"name": "NSX_T_MANAGER", "version": "4.2.1", "publicName": "NSX"}]}),
        );
        let u = update_info(&cur, Some(&next), &[]);
        assert_eq!(u.components_source, ComponentsSource::Bom);
        let names: Vec<_> = u.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["SDDC_MANAGER_VCF", "VCENTER", "NSX_T_MANAGER"]);
        assert_eq!(u.components[0].from_version.as_deref(), Some("5.2.0.0-1"));
        assert_eq!(u.next.as_ref().map(|n| n.version.as_str()), Some("5.2.1.0"));
        assert_eq!(u.current_version.as_deref(), Some("5.2.0.0"));
    }

    #[test]
    fn vcf9_bom_entries_without_version_are_compared_by_build() {
        let cur = release(serde_json::json!({"version": "9.0.1.0", "bom": [
            {"name": "VCENTER", "changeId": "24957454", "publicName": "vCenter"},
            {"name": "NSX_T_MANAGER", "changeId": "24952111", "publicName": "NSX"},
            {"name": "ESX_HOST", "version": "9.0.1.0-24957456", "publicName": "ESX"}]}));
        let next = future(serde_json::json!({"version": "9.1.0.0",
            "applicabilityStatus": "APPLICABLE", "bom": [
            {"name": "VCENTER", "changeId": "25210130", "publicName": "vCenter"},
            {"name": "NSX_T_MANAGER", "changeId": "24952111", "publicName": "NSX"},
            {"name": "ESX_HOST", "version": "9.1.0.0-25210140", "publicName": "ESX"},
            {"name": "SDDC_MANAGER_VCF", "publicName": "SDDC Manager"}]}));
        let u = update_info(&cur, Some(&next), &[]);
        let names: Vec<_> = u.components.iter().map(|c| c.name.as_str()).collect();
        // NSX is on the same build; a BOM entry with neither version nor build is listed.
        assert_eq!(names, vec!["VCENTER", "ESX_HOST", "SDDC_MANAGER_VCF"]);
        assert_eq!(
            u.components[0].to_version.as_deref(),
            Some("build 25210130")
        );
        assert_eq!(u.components[2].to_version, None);
    }

    #[test]
    fn components_from_upgradables_when_present() {
        let cur = release(serde_json::json!({"version": "5.2.0.0", "bom": []}));
        let next = future(serde_json::json!({"version": "5.2.1.0", "bom": [
            {"name": "SDDC_MANAGER_VCF", "version": "5.2.1.0-2", "publicName": "SDDC Manager"}]}));
        let ups: Vec<Upgradable> = serde_json::from_value(serde_json::json!([
            {"bundleId": "b1", "bundleType": "SDDC_MANAGER", "status": "AVAILABLE",
             "softwareComponents": [{"id": "x", "type": "SDDC_MANAGER"}]},
            {"bundleId": "b2", "bundleType": "VMWARE_SOFTWARE", "status": "SUCCESSFUL",
             "softwareComponents": [{"id": "y", "type": "VCENTER"}]}]))
        .expect("upgradables");
        let u = update_info(&cur, Some(&next), &ups);
        assert_eq!(u.components_source, ComponentsSource::Upgradables);
        assert_eq!(u.components.len(), 1);
        assert_eq!(u.components[0].to_version.as_deref(), Some("5.2.1.0-2"));
    }

    #[test]
    fn releases_not_applicable_carry_status_and_reasons() {
        let fr = [
            future(
                serde_json::json!({"version": "5.2.1.0", "applicabilityStatus": "APPLICABLE",
                "isApplicable": true, "bom": []}),
            ),
            future(
                serde_json::json!({"version": "5.2.2.0", "applicabilityStatus": "NOT_APPLICABLE",
                "isApplicable": false, "bom": [], "reasonsNotApplicable": [
                {"messageKey": "release.not.applicable.vi.domain.above.management.domain",
                 "message": "upgrade the management domain first"},
                {"messageKey": "release.not.applicable.stepping.stone"}]}),
            ),
            // 9.x: isApplicable absent
            future(
                serde_json::json!({"version": "9.0.0.0", "applicabilityStatus": "NOT_APPLICABLE",
                "bom": []}),
            ),
            future(
                serde_json::json!({"version": "5.1.0.0", "applicabilityStatus": "NOT_APPLICABLE",
                "bom": []}),
            ),
        ];
        let na = not_applicable("5.2.0.0", &fr);
        let versions: Vec<_> = na.iter().map(|n| n.version.as_str()).collect();
        assert_eq!(versions, ["5.2.2.0", "9.0.0.0"]);
        assert_eq!(
            na[0].applicability_status.as_deref(),
            Some("NOT_APPLICABLE")
        );
        assert_eq!(
            na[0].reasons,
            [
                "upgrade the management domain first",
                "release.not.applicable.stepping.stone"
            ]
        );
    }

    #[test]
    fn no_next_release_is_up_to_date() {
        let cur = release(serde_json::json!({"version": "5.2.1.0", "bom": []}));
        let u = update_info(&cur, None, &[]);
        assert!(u.next.is_none() && u.components.is_empty() && u.error.is_none());
    }

    #[test]
    fn current_release_picks_highest() {
        let rs = vec![
            release(serde_json::json!({"version": "5.1.0.0", "bom": []})),
            release(serde_json::json!({"version": "5.2.0.0", "bom": []})),
        ];
        assert_eq!(
            current_release(&rs).map(|r| r.version.as_str()),
            Some("5.2.0.0")
        );
    }

    #[test]
    fn resource_conversion() {
        let d: Domain = serde_json::from_value(serde_json::json!({"id": "d1", "name": "sfo-m01", "type": "MANAGEMENT",
            "capacity": {"cpu": {"used": {"value": 500.0, "unit": "MHz"}, "total": {"value": 2.0, "unit": "GHz"}},
                         "memory": {"used": {"value": 512.0, "unit": "GB"}, "total": {"value": 2.0, "unit": "TB"}},
                         "storage": {"used": {"value": 1.0, "unit": "TB"}, "total": {"value": 4.0, "unit": "TB"}}}}))
        .expect("domain");
        let info = domain_info(&d);
        assert_eq!(
            info.capacity.cpu.as_ref().and_then(Usage::percent),
            Some(25.0)
        );
        assert_eq!(
            info.capacity.memory.as_ref().and_then(Usage::percent),
            Some(25.0)
        );
        assert_eq!(
            info.capacity.storage.as_ref().and_then(Usage::percent),
            Some(25.0)
        );
        let h: Host = serde_json::from_value(
            serde_json::json!({"id": "h1", "fqdn": "esx01.sfo.rainpole.io",
            "cpu": {"frequencyMHz": 1000.0, "usedFrequencyMHz": 100.0},
            "memory": {"totalCapacityMB": 100.0},
            "domain": {"id": "d1"}, "cluster": {"id": "c1", "name": "cl01"}}),
        )
        .expect("host");
        let hi = host_info(&h);
        assert_eq!(hi.cpu.as_ref().and_then(Usage::percent), Some(10.0));
        assert!(hi.memory.is_none(), "used missing → unknown, not 0");
        assert_eq!(hi.domain_id.as_deref(), Some("d1"));
    }
}
