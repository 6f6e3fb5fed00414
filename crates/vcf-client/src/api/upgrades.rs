//! Upgrade endpoints: start, read, list, and the per-upgrade prechecks.

use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::{Task, Upgrade, UpgradeCommitSpec, UpgradeSpec};

impl VcfClient {
    /// `POST /v1/upgrades`: starts an upgrade; the returned task's id is the upgrade id.
    /// Never repeated once the request may have been sent: on an ambiguous failure, list
    /// [`VcfClient::upgrades`] to find out whether it started.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class (403/424 come back as `Api`/`Auth`).
    pub async fn start_upgrade(&self, spec: &UpgradeSpec) -> Result<Task> {
        let call = Call::new(Method::POST, "/v1/upgrades", "/v1/upgrades".into()).json(spec)?;
        self.inner.fetch(&call).await
    }

    /// `GET /v1/upgrades/{id}`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn upgrade(&self, id: &str) -> Result<Upgrade> {
        self.inner
            .fetch(&Call::get(
                "/v1/upgrades/{id}",
                format!("/v1/upgrades/{}", seg(id)),
            ))
            .await
    }

    /// `GET /v1/upgrades`: every upgrade record.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn upgrades(&self) -> Result<Vec<Upgrade>> {
        self.inner
            .fetch_all(
                Call::get("/v1/upgrades", "/v1/upgrades".into()).limits(AnswerLimits::HISTORY),
            )
            .await
    }

    /// `PATCH /v1/upgrades/{id}` with exactly `{"upgradeNow": true}`: starts an upgrade created
    /// with `draftMode` (after its prechecks). Not repeated once it may have reached the server:
    /// on an ambiguous failure, read [`VcfClient::upgrade`] to see whether it started.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn commit_upgrade(&self, upgrade_id: &str) -> Result<Upgrade> {
        let call = Call::new(
            Method::PATCH,
            "/v1/upgrades/{id}",
            format!("/v1/upgrades/{}", seg(upgrade_id)),
        )
        .json(&UpgradeCommitSpec {
            upgrade_now: Some(true),
            ..UpgradeCommitSpec::default()
        })?;
        self.inner.fetch(&call).await
    }

    /// `POST /v1/upgrades/{id}/prechecks`: starts the per-upgrade precheck (no body).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class; not retried once the request may have been sent.
    pub async fn start_upgrade_precheck(&self, upgrade_id: &str) -> Result<Task> {
        let call = Call::new(
            Method::POST,
            "/v1/upgrades/{id}/prechecks",
            format!("/v1/upgrades/{}/prechecks", seg(upgrade_id)),
        );
        self.inner.fetch(&call).await
    }

    /// `GET /v1/upgrades/{id}/prechecks/{precheckId}`: the precheck task with its results.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn upgrade_precheck(&self, upgrade_id: &str, precheck_id: &str) -> Result<Task> {
        self.inner
            .fetch(&Call::get(
                "/v1/upgrades/{id}/prechecks/{precheckId}",
                format!(
                    "/v1/upgrades/{}/prechecks/{}",
                    seg(upgrade_id),
                    seg(precheck_id)
                ),
            ))
            .await
    }
}
