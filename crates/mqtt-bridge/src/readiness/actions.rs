//! Back Up Now and Retry Task over `vcf-client`; a started backup is followed like any task
//! (`GET /v1/tasks/{id}` until it is no longer running) and its progress goes to the hub.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use vcf_client::VcfClient;

use crate::commands::ReadinessActions;
use crate::messages::HubMsg;
use crate::model::BackupRun;

/// A followed backup is given up (and said so) after this long.
const FOLLOW_LIMIT: Duration = Duration::from_secs(4 * 3600);

/// The readiness actions of the running bridge.
pub struct ClientActions {
    /// SDDC Manager.
    pub client: VcfClient,
    /// Hub inbox.
    pub hub: mpsc::UnboundedSender<HubMsg>,
    /// Wakes the updates loop (readiness is read again when a backup ends).
    pub check_now: Arc<Notify>,
    /// How often a running backup task is read.
    pub poll: Duration,
    /// Stops following on shutdown (the backup itself goes on in VCF).
    pub shutdown: CancellationToken,
}

impl ReadinessActions for ClientActions {
    fn back_up_now(&self) -> futures::future::BoxFuture<'static, Result<String, String>> {
        let client = self.client.clone();
        let hub = self.hub.clone();
        let check_now = self.check_now.clone();
        let poll = self.poll;
        let shutdown = self.shutdown.clone();
        Box::pin(async move {
            let task = client.start_backup().await.map_err(|e| format!("{e:#}"))?;
            let Some(id) = task.id.clone() else {
                return Err("SDDC Manager accepted the backup but sent no task id".into());
            };
            let mut run = BackupRun {
                task_id: id.clone(),
                status: task.status.clone().unwrap_or_else(|| "IN_PROGRESS".into()),
                started_at: Utc::now(),
                finished_at: None,
                error: None,
            };
            let _ = hub.send(HubMsg::BackupRun(run.clone()));
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + FOLLOW_LIMIT;
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(poll) => {}
                    }
                    match client.task(&run.task_id).await {
                        Ok(t) => {
                            let status = t.status.clone().unwrap_or(vcf_client::Status::Unknown);
                            run.status = status.as_str().to_owned();
                            if !status.is_running() {
                                run.finished_at = Some(Utc::now());
                                run.error = t.errors.first().and_then(|e| e.message.clone());
                                info!(
                                    task = run.task_id,
                                    status = run.status,
                                    "SDDC Manager backup finished"
                                );
                                let _ = hub.send(HubMsg::BackupRun(run));
                                check_now.notify_one();
                                return;
                            }
                            let _ = hub.send(HubMsg::BackupRun(run.clone()));
                        }
                        Err(e) => warn!(task = run.task_id, "backup task not read: {e:#}"),
                    }
                    if tokio::time::Instant::now() >= deadline {
                        run.error = Some("no longer followed: still running after 4 hours".into());
                        let _ = hub.send(HubMsg::BackupRun(run));
                        return;
                    }
                }
            });
            Ok(id)
        })
    }

    fn retry_task(&self, id: String) -> futures::future::BoxFuture<'static, Result<(), String>> {
        let client = self.client.clone();
        Box::pin(async move { client.retry_task(&id).await.map_err(|e| format!("{e:#}")) })
    }
}
