//! Readiness endpoints: credentials and their password expiry, resource certificates, the SDDC
//! Manager backup (configuration, backup tasks, Back Up Now), the depot settings and the failed
//! tasks of a recent window, and on 9.x the SDDC Manager's notifications and each cluster's
//! image compliance. Each method is one request (no page is followed beyond a fixed
//! cap), so a readiness poll costs a bounded number of requests whatever the inventory size.

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::models::{
    BackupConfiguration, BackupResource, BackupSpec, BackupTask, Certificate,
    ClusterImageCompliance, Credential, CredentialsExpiration, CredentialsExpirationSpec,
    DepotSettings, DepotSyncInfo, Notification, PageOf, Task,
};

/// The largest page `GET /v1/tasks` serves (spec: "Max page size allowed is 100").
const TASK_PAGE_SIZE: u32 = 100;

/// At most this many pages of `GET /v1/tasks` are read for one question.
pub const MAX_TASK_PAGES: i64 = 3;

/// The task type of an SDDC Manager backup in `GET /v1/tasks`. Not in the spec; observed in
/// VMware's own reporting module (`Request-SddcManagerBackupStatus` filters `Get-VCFTask` on
/// `type -eq 'SDDCMANAGER_BACKUP'`).
pub const BACKUP_TASK_TYPE: &str = "SDDCMANAGER_BACKUP";

/// Tasks read with a page cap, and whether more pages were left unread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskWindow {
    /// The tasks read.
    pub tasks: Vec<Task>,
    /// More pages existed than [`MAX_TASK_PAGES`].
    pub truncated: bool,
}

impl VcfClient {
    /// `GET /v1/credentials?pageSize=0`: every credential in one page (the spec: "0 as page
    /// size returns all records in one page"), with the expiry SDDC Manager last recorded.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn credentials(&self) -> Result<Vec<Credential>> {
        let page: PageOf<Credential> = self
            .inner
            .fetch(&Call::get("/v1/credentials", "/v1/credentials".into()).query("pageSize", "0"))
            .await?;
        Ok(page.elements)
    }

    /// `POST /v1/credentials/expirations`: starts a password expiration check of every
    /// credential of `resource_type` (202 with the check's id and status).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn start_credentials_expiration(
        &self,
        resource_type: &str,
    ) -> Result<CredentialsExpiration> {
        let spec = CredentialsExpirationSpec {
            resource_type: resource_type.to_owned(),
            ..Default::default()
        };
        let call = Call::new(
            Method::POST,
            "/v1/credentials/expirations",
            "/v1/credentials/expirations".into(),
        )
        .json(&spec)?;
        self.inner.fetch(&call).await
    }

    /// `GET /v1/credentials/expirations/{id}`: a password expiration check and its results.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class (404 for an unknown or forgotten check).
    pub async fn credentials_expiration(&self, id: &str) -> Result<CredentialsExpiration> {
        self.inner
            .fetch(&Call::get(
                "/v1/credentials/expirations/{id}",
                format!("/v1/credentials/expirations/{}", seg(id)),
            ))
            .await
    }

    /// `GET /v1/domains/{id}/resource-certificates`: the certificates of the domain's resources.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn resource_certificates(&self, domain_id: &str) -> Result<Vec<Certificate>> {
        let page: PageOf<Certificate> = self
            .inner
            .fetch(&Call::get(
                "/v1/domains/{id}/resource-certificates",
                format!("/v1/domains/{}/resource-certificates", seg(domain_id)),
            ))
            .await?;
        Ok(page.elements)
    }

    /// `GET /v1/system/backup-configuration`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn backup_configuration(&self) -> Result<BackupConfiguration> {
        self.inner
            .fetch(&Call::get(
                "/v1/system/backup-configuration",
                "/v1/system/backup-configuration".into(),
            ))
            .await
    }

    /// `POST /v1/backups/tasks` with `SDDC_MANAGER`: Back Up Now. Not repeated once sent.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class (400 when no backup server is configured).
    pub async fn start_backup(&self) -> Result<BackupTask> {
        let spec = BackupSpec {
            elements: vec![BackupResource {
                resource_type: "SDDC_MANAGER".into(),
            }],
        };
        let call = Call::new(
            Method::POST,
            "/v1/backups/tasks",
            "/v1/backups/tasks".into(),
        )
        .json(&spec)?;
        self.inner.fetch(&call).await
    }

    /// `GET /v1/system/settings/depot`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn depot_settings(&self) -> Result<DepotSettings> {
        self.inner
            .fetch(&Call::get(
                "/v1/system/settings/depot",
                "/v1/system/settings/depot".into(),
            ))
            .await
    }

    /// `GET /v1/system/settings/depot/depot-sync-info` (9.x only).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class (404 on 5.2).
    pub async fn depot_sync_info(&self) -> Result<DepotSyncInfo> {
        self.inner
            .fetch(&Call::get(
                "/v1/system/settings/depot/depot-sync-info",
                "/v1/system/settings/depot/depot-sync-info".into(),
            ))
            .await
    }

    /// `GET /v1/notifications` (9.x only): the SDDC Manager's notifications, a bare array in
    /// the 9.0.2 spec (`getNotifications`).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class (404 on 5.2).
    pub async fn notifications(&self) -> Result<Vec<Notification>> {
        self.inner
            .fetch(&Call::get("/v1/notifications", "/v1/notifications".into()))
            .await
    }

    /// `GET /v1/clusters/{id}/image-compliance` (9.x only, `getClusterImageCompliance`): the
    /// cluster's compliance with its vLCM image. `None` for the spec's 404 ("Cluster image
    /// compliance not found": no result for that cluster).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class except that 404.
    pub async fn cluster_image_compliance(
        &self,
        cluster_id: &str,
    ) -> Result<Option<ClusterImageCompliance>> {
        let call = Call::get(
            "/v1/clusters/{id}/image-compliance",
            format!("/v1/clusters/{}/image-compliance", seg(cluster_id)),
        );
        match self.inner.fetch(&call).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/tasks?taskType=SDDCMANAGER_BACKUP&pageSize=100`: the SDDC Manager backup tasks,
    /// at most [`MAX_TASK_PAGES`] pages.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn backup_tasks(&self) -> Result<TaskWindow> {
        self.task_window(
            Call::get("/v1/tasks", "/v1/tasks".into()).query("taskType", BACKUP_TASK_TYPE),
        )
        .await
    }

    /// `GET /v1/tasks?completedAfter=<ms>&pageSize=100`: the tasks completed since `since`
    /// (the spec: "completed if its status is 'Successful' or 'Failed'", epoch milliseconds),
    /// at most [`MAX_TASK_PAGES`] pages.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn tasks_completed_after(&self, since: DateTime<Utc>) -> Result<TaskWindow> {
        self.task_window(
            Call::get("/v1/tasks", "/v1/tasks".into())
                .query("completedAfter", since.timestamp_millis().to_string()),
        )
        .await
    }

    async fn task_window(&self, call: Call) -> Result<TaskWindow> {
        let call = call.query("pageSize", TASK_PAGE_SIZE.to_string());
        let first: PageOf<Task> = self.inner.fetch(&call).await?;
        let mut out = TaskWindow {
            tasks: first.elements,
            truncated: false,
        };
        let Some(meta) = first.page_metadata else {
            return Ok(out);
        };
        let total_pages = meta.total_pages.unwrap_or(1);
        let first_number = meta.page_number.unwrap_or(0);
        for n in 1..total_pages {
            if n >= MAX_TASK_PAGES {
                out.truncated = true;
                break;
            }
            let next = call
                .clone()
                .query("pageNumber", (first_number + n).to_string());
            let page: PageOf<Task> = self.inner.fetch(&next).await?;
            if page.elements.is_empty() {
                break;
            }
            out.tasks.extend(page.elements);
        }
        Ok(out)
    }
}
