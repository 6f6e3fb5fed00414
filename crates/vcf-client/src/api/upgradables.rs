//! Upgradable endpoints: what a domain (and its clusters) can upgrade.

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::{ClusterUpgradable, Upgradable};

impl VcfClient {
    /// `GET /v1/upgradables/domains/{domainId}[?targetVersion=]`: empty until a target version
    /// is set; exactly one entry is `AVAILABLE` at a time.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn upgradables(
        &self,
        domain_id: &str,
        target_version: Option<&str>,
    ) -> Result<Vec<Upgradable>> {
        let mut call = Call::get(
            "/v1/upgradables/domains/{id}",
            format!("/v1/upgradables/domains/{}", seg(domain_id)),
        )
        .limits(AnswerLimits::UPGRADABLES);
        if let Some(v) = target_version {
            call = call.query("targetVersion", v);
        }
        self.inner.fetch_all(call).await
    }

    /// `GET /v1/upgradables/domains/{domainId}/clusters`: per-cluster image and
    /// hardware-support details for ESXi upgrades (no query parameter: neither spec has one).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn cluster_upgradables(&self, domain_id: &str) -> Result<Vec<ClusterUpgradable>> {
        let call = Call::get(
            "/v1/upgradables/domains/{id}/clusters",
            format!("/v1/upgradables/domains/{}/clusters", seg(domain_id)),
        )
        .limits(AnswerLimits::UPGRADABLES);
        self.inner.fetch_all(call).await
    }
}
