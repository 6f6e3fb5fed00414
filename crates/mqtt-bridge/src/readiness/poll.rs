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
//! - `GET /v1/tasks?completedAfter=…`: at most [`vcf_client::MAX_TASK_PAGES`] pages.
//!
//! That is `1 + 2T + D + 4` (9.x: `+ 1`) requests, plus up to two more task pages on a busy
//! SDDC Manager: never one per host, account or certificate.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::debug;
use vcf_client::{Credential, ExpirationDetails, Task, VcfClient, VcfError};

use super::{Account, Backup, Cert, Depot, FailedTask, FailedTasks, Inputs, Thresholds};

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

impl Poller {
    /// A poller over `client`.
    pub fn new(client: VcfClient, thresholds: Thresholds) -> Self {
        Self {
            client,
            thresholds,
            checks: Arc::default(),
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
        Inputs {
            accounts,
            certificates,
            backup,
            depot,
            failed_tasks: failed,
        }
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
