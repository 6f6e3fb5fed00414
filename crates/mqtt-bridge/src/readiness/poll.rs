//! Reads the readiness [`Inputs`] from SDDC Manager at the updates cadence.
//!
//! Requests per cycle (`T` = resource types among the credentials, at most the spec's list of
//! about ten; `D` = domains):
//!
//! - `GET /v1/credentials?pageSize=0`: every account in one page;
//! - per resource type: `POST /v1/credentials/expirations` (unless a check of that type is
//!   still running) and `GET /v1/credentials/expirations/{id}`: fresh expiry dates; a check
//!   still `IN_PROGRESS` is read again next cycle, and until then the dates of the credential
//!   list (and of the last completed check) stand;
//! - per domain: `GET /v1/domains/{id}/resource-certificates`;
//! - `GET /v1/system/backup-configuration` and `GET /v1/tasks?taskType=SDDCMANAGER_BACKUP`;
//! - `GET /v1/system/settings/depot` (9.x also `GET /v1/system/settings/depot/depot-sync-info`);
//! - `GET /v1/tasks?completedAfter=…`: at most [`vcf_client::MAX_TASK_PAGES`] pages;
//! - 9.x only: `GET /v1/notifications`, `GET /v1/clusters` and per cluster
//!   `GET /v1/clusters/{id}/image-compliance`.
//!
//! That is `1 + 2T + D + 4` requests on 5.2 and `1 + 2T + D + 7 + C` on 9.x (`C` = clusters),
//! plus up to two more task pages on a busy SDDC Manager: never one per host, account or
//! certificate.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::debug;
use vcf_client::{Credential, ExpirationDetails, Task, VcfClient, VcfError};

use super::{
    Account, Backup, Cert, ClusterImage, ComplianceFinding, Depot, FailedTask, FailedTasks,
    ImageCompliance, Inputs, Notice, Thresholds,
};

/// At most this many entries of a cluster's compliance details are kept (errors first).
const MAX_FINDINGS: usize = 100;

/// At most this many characters of a notification's key are kept.
const MAX_KEY: usize = 512;

/// Expiration checks carried between cycles.
#[derive(Debug, Default)]
struct Checks {
    /// Running check id by resource type.
    pending: BTreeMap<String, String>,
    /// The freshest expiry details by credential id, from completed checks.
    fresh: BTreeMap<String, ExpirationDetails>,
}

/// The poller; cheap to clone (the carried checks are shared).
#[derive(Debug, Clone)]
pub struct Poller {
    client: VcfClient,
    thresholds: Thresholds,
    checks: Arc<Mutex<Checks>>,
    feed: Option<super::notices::Feed>,
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // Dates without a time (`2026-12-31`) are read as midnight UTC.
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

fn text(e: &VcfError) -> String {
    format!("{e:#}")
}

/// An account from a credential, with fresher expiry details when a check returned them.
pub fn account(c: &Credential, fresh: Option<&ExpirationDetails>) -> Account {
    let r = c.resource.clone().unwrap_or_default();
    let exp = fresh.or(c.expiry.as_ref());
    Account {
        id: c.id.clone(),
        username: c.username.clone().unwrap_or_default(),
        resource: r
            .resource_name
            .clone()
            .or(r.resource_id.clone())
            .unwrap_or_default(),
        resource_type: r.resource_type.clone().unwrap_or_default(),
        domains: r.domain_names.clone(),
        expires: exp.and_then(|e| parse_time(e.expiry_date.as_deref())),
        status: exp.and_then(|e| e.status.clone()),
        connectivity: exp.and_then(|e| e.connectivity_status.clone()),
    }
}

/// A certificate as the evaluation sees it.
pub fn cert(c: &vcf_client::Certificate) -> Cert {
    Cert {
        resource: c
            .resource_name
            .clone()
            .or(c.issued_to.clone())
            .unwrap_or_default(),
        resource_type: c.resource_type.clone().unwrap_or_default(),
        not_after: parse_time(c.not_after.as_deref()),
        days_to_expire: c.number_of_days_to_expire,
        expiration_status: c.expiration_status.clone(),
        signature_algorithm: c.signature_algorithm.clone(),
    }
}

fn finished_at(t: &Task) -> Option<DateTime<Utc>> {
    parse_time(t.completion_timestamp.as_deref())
}

/// The backup from its configuration and the backup tasks (newest successful one wins).
pub fn backup(cfg: &vcf_client::BackupConfiguration, tasks: &vcf_client::TaskWindow) -> Backup {
    let last_success = tasks
        .tasks
        .iter()
        .filter(|t| {
            t.status
                .as_ref()
                .is_some_and(vcf_client::Status::is_success)
        })
        .filter_map(finished_at)
        .max();
    let last_task = tasks
        .tasks
        .iter()
        .max_by_key(|t| parse_time(t.creation_timestamp.as_deref()))
        .map(|t| {
            (
                t.id.clone(),
                t.status
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        });
    Backup {
        configured: cfg.is_configured,
        server: cfg.backup_locations.first().and_then(|l| l.server.clone()),
        last_success,
        last_task,
        truncated: tasks.truncated,
    }
}

/// The depot from its settings (and, on 9.x, the sync information).
pub fn depot(
    s: &vcf_client::DepotSettings,
    sync: Option<&vcf_client::DepotSyncInfo>,
    vcf9: bool,
) -> Depot {
    let online = s.vmware_account.as_ref();
    let offline = s.offline_account.as_ref();
    let account = online
        .filter(|a| a.username.is_some() || a.download_token.is_some() || a.status.is_some())
        .or(offline);
    Depot {
        configured: account.is_some_and(|a| {
            a.username.is_some() || a.download_token.is_some() || a.status.is_some()
        }),
        status: account.and_then(|a| a.status.clone()),
        message: account.and_then(|a| a.message.clone()),
        download_token: vcf9.then(|| online.is_some_and(|a| a.download_token.is_some())),
        sync_status: sync.and_then(|x| x.sync_status.clone()),
        sync_error: sync.and_then(|x| x.error_message.clone()),
    }
}

/// The failed, unresolved tasks among those completed in the window.
pub fn failed_tasks(w: &vcf_client::TaskWindow) -> FailedTasks {
    let mut tasks: Vec<FailedTask> = w
        .tasks
        .iter()
        .filter(|t| {
            t.status
                .as_ref()
                .is_some_and(vcf_client::Status::is_failure)
        })
        .filter(|t| {
            !t.resolution_status
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case("RESOLVED"))
        })
        .map(|t| FailedTask {
            id: t.id.clone(),
            name: t
                .name
                .clone()
                .or(t.kind.clone())
                .unwrap_or_else(|| t.id.clone()),
            kind: t.kind.clone(),
            completed: finished_at(t),
            retryable: t.is_retryable.unwrap_or(false),
        })
        .collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.completed));
    FailedTasks {
        tasks,
        truncated: w.truncated,
    }
}

/// A notification as the bridge shows it.
pub fn notice(n: &vcf_client::Notification) -> Notice {
    let m = n.message.clone().unwrap_or_default();
    let resources: Vec<String> = n
        .resources
        .iter()
        .filter_map(|r| r.name.clone().or(r.id.clone()))
        .collect();
    let domain = n.domain.clone().unwrap_or_default();
    let mut key = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        n.creation_timestamp.as_deref().unwrap_or_default(),
        n.kind.as_deref().unwrap_or_default(),
        n.severity.as_deref().unwrap_or_default(),
        m.id.as_deref()
            .or(m.localized_message.as_deref())
            .unwrap_or_default(),
        m.arguments.join(","),
        n.resources
            .iter()
            .filter_map(|r| r.id.as_deref().or(r.name.as_deref()))
            .collect::<Vec<_>>()
            .join(","),
        domain.id.as_deref().unwrap_or_default(),
    );
    if let Some((cut, _)) = key.char_indices().nth(MAX_KEY) {
        key.truncate(cut);
    }
    Notice {
        key,
        severity: n
            .severity
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "UNKNOWN".into()),
        kind: n.kind.clone(),
        message: m
            .localized_message
            .filter(|x| !x.trim().is_empty())
            .or(m.id)
            .or(n.kind.clone())
            .unwrap_or_else(|| "(no message)".into()),
        created: parse_time(n.creation_timestamp.as_deref()),
        expires: parse_time(n.expiration_timestamp.as_deref()),
        domain_id: domain.id,
        domain: domain.name,
        resources,
    }
}

/// A cluster's image compliance as the bridge shows it (`None`: no result, the spec's 404).
pub fn image_compliance(
    name: &str,
    c: Option<&vcf_client::ClusterImageCompliance>,
) -> ImageCompliance {
    let Some(c) = c else {
        return ImageCompliance {
            cluster: name.to_owned(),
            state: ImageCompliance::state_of(None),
            ..ImageCompliance::default()
        };
    };
    let mut findings: Vec<ComplianceFinding> = c
        .image_compliance_details
        .iter()
        .filter(|d| {
            !d.compliance_status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("COMPLIANT"))
        })
        .map(|d| ComplianceFinding {
            host: d.entity_name.clone().unwrap_or_default(),
            component: d
                .component_name
                .clone()
                .or(d.component_type.clone())
                .unwrap_or_default(),
            component_type: d.component_type.clone(),
            status: d.compliance_status.clone().unwrap_or_default(),
            severity: d.severity.clone(),
            current: d.component_current_version.clone(),
            target: d.component_target_version.clone(),
            message: d.message.clone(),
        })
        .collect();
    // Errors first, then warnings; stable otherwise.
    findings.sort_by_key(
        |f| match f.severity.as_deref().map(str::to_ascii_uppercase) {
            Some(s) if s == "ERROR" => 0,
            Some(s) if s == "WARNING" => 1,
            _ => 2,
        },
    );
    findings.truncate(MAX_FINDINGS);
    ImageCompliance {
        cluster: c
            .cluster
            .as_ref()
            .and_then(|r| r.name.clone())
            .unwrap_or_else(|| name.to_owned()),
        state: ImageCompliance::state_of(Some(&c.status)),
        status: Some(c.status.clone()),
        checked: parse_time(Some(&c.timestamp)),
        image: c.cluster_image.as_ref().and_then(|r| r.name.clone()),
        base_image: c
            .cluster_image_details
            .as_ref()
            .and_then(|d| d.base_image.as_ref())
            .and_then(|b| b.version.clone()),
        findings,
    }
}

impl Poller {
    /// A poller over `client`.
    pub fn new(client: VcfClient, thresholds: Thresholds) -> Self {
        Self {
            client,
            thresholds,
            checks: Arc::default(),
            feed: None,
        }
    }

    /// Tells new SDDC Manager notifications from seen ones with `feed`.
    #[must_use]
    pub fn with_feed(mut self, feed: super::notices::Feed) -> Self {
        self.feed = Some(feed);
        self
    }

    /// The notifications of `inputs` not seen before (none without a feed, on 5.2, or when
    /// they could not be read).
    pub fn fresh_notifications(&self, inputs: &Inputs) -> Vec<Notice> {
        match (&self.feed, &inputs.notifications) {
            (Some(feed), Some(Ok(list))) => feed.fresh(list),
            _ => Vec::new(),
        }
    }

    /// The thresholds.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Reads every input for `domains` (id, name); an area that fails is an `Err` in it.
    pub async fn read(&self, domains: &[(String, String)], now: DateTime<Utc>) -> Inputs {
        let accounts = self.accounts().await;
        let mut certificates = BTreeMap::new();
        for (id, _) in domains {
            let r = self.client.resource_certificates(id).await;
            certificates.insert(
                id.clone(),
                r.map(|l| l.iter().map(cert).collect())
                    .map_err(|e| text(&e)),
            );
        }
        let backup = async {
            let cfg = self.client.backup_configuration().await?;
            let tasks = self.client.backup_tasks().await?;
            Ok::<_, VcfError>(backup(&cfg, &tasks))
        }
        .await
        .map_err(|e| text(&e));
        let vcf9 = self.client.sddc_manager_major().is_some_and(|m| m >= 9);
        let depot = async {
            let s = self.client.depot_settings().await?;
            let sync = if vcf9 {
                match self.client.depot_sync_info().await {
                    Ok(x) => Some(x),
                    Err(e) => {
                        debug!("depot sync information not read: {e:#}");
                        None
                    }
                }
            } else {
                None
            };
            Ok::<_, VcfError>(depot(&s, sync.as_ref(), vcf9))
        }
        .await
        .map_err(|e| text(&e));
        let window = chrono::TimeDelta::from_std(self.thresholds.failed_task_window)
            .unwrap_or(chrono::TimeDelta::days(7));
        let failed = self
            .client
            .tasks_completed_after(now - window)
            .await
            .map(|w| failed_tasks(&w))
            .map_err(|e| text(&e));
        let (notifications, image_compliance) = if vcf9 {
            let notes = self
                .client
                .notifications()
                .await
                .map(|l| l.iter().map(notice).collect())
                .map_err(|e| text(&e));
            (Some(notes), self.images(domains).await)
        } else {
            (None, Ok(BTreeMap::new()))
        };
        Inputs {
            accounts,
            certificates,
            backup,
            depot,
            failed_tasks: failed,
            notifications,
            image_compliance,
        }
    }

    /// 9.x: the image compliance of every cluster of `domains`.
    async fn images(
        &self,
        domains: &[(String, String)],
    ) -> Result<BTreeMap<String, ClusterImage>, String> {
        let clusters = self.client.clusters().await.map_err(|e| text(&e))?;
        let mut out = BTreeMap::new();
        for c in clusters {
            let Some(domain_id) = c.domain.as_ref().map(|d| d.id.clone()) else {
                continue;
            };
            if !domains.iter().any(|(id, _)| *id == domain_id) {
                continue;
            }
            let read = self
                .client
                .cluster_image_compliance(&c.id)
                .await
                .map(|x| image_compliance(&c.name, x.as_ref()))
                .map_err(|e| text(&e));
            out.insert(
                c.id.clone(),
                ClusterImage {
                    name: c.name.clone(),
                    domain_id,
                    read,
                },
            );
        }
        Ok(out)
    }

    async fn accounts(&self) -> Result<Vec<Account>, String> {
        let creds = self.client.credentials().await.map_err(|e| text(&e))?;
        let mut types: Vec<String> = creds
            .iter()
            .filter_map(|c| c.resource.as_ref()?.resource_type.clone())
            .collect();
        types.sort();
        types.dedup();
        let pending: BTreeMap<String, String> = {
            let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
            checks.pending.clone()
        };
        let mut ids = pending.clone();
        for t in types.iter().filter(|t| !pending.contains_key(*t)) {
            match self.client.start_credentials_expiration(t).await {
                Ok(check) => {
                    if let Some(id) = check.id {
                        ids.insert(t.clone(), id);
                    }
                }
                Err(e) => {
                    debug!(resource_type = %t, "password expiration check not started: {e:#}")
                }
            }
        }
        let mut still = BTreeMap::new();
        let mut fresh = Vec::new();
        for (t, id) in ids {
            match self.client.credentials_expiration(&id).await {
                Ok(check)
                    if check
                        .status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("IN_PROGRESS")) =>
                {
                    still.insert(t, id);
                }
                Ok(check) => fresh.extend(check.elements),
                Err(e) => debug!(resource_type = %t, "password expiration check not read: {e:#}"),
            }
        }
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.pending = still;
        for c in fresh {
            if let (Some(id), Some(exp)) = (c.id, c.expiry) {
                checks.fresh.insert(id, exp);
            }
        }
        // Forget credentials that are gone.
        checks
            .fresh
            .retain(|id, _| creds.iter().any(|c| &c.id == id));
        Ok(creds
            .iter()
            .map(|c| account(c, checks.fresh.get(&c.id)))
            .collect())
    }
}
