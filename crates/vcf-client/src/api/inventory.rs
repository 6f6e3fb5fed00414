//! Inventory endpoints: domains, clusters, hosts, SDDC Managers.

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::{Cluster, Domain, Host, Personality, SddcManager};

impl VcfClient {
    /// `GET /v1/domains`: every workload domain.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn domains(&self) -> Result<Vec<Domain>> {
        self.inner
            .fetch_all(
                Call::get("/v1/domains", "/v1/domains".into()).limits(AnswerLimits::INVENTORY),
            )
            .await
    }

    /// `GET /v1/domains/{id}`.
    ///
    /// # Errors
    /// [`VcfError::Api`](crate::VcfError::Api) with 404 for an unknown id; any other class.
    pub async fn domain(&self, id: &str) -> Result<Domain> {
        self.inner
            .fetch(&Call::get(
                "/v1/domains/{id}",
                format!("/v1/domains/{}", seg(id)),
            ))
            .await
    }

    /// `GET /v1/clusters`: every cluster, with capacity.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn clusters(&self) -> Result<Vec<Cluster>> {
        self.inner
            .fetch_all(
                Call::get("/v1/clusters", "/v1/clusters".into()).limits(AnswerLimits::INVENTORY),
            )
            .await
    }

    /// `GET /v1/hosts`: every host in one request (never one request per host). Further pages,
    /// when announced, are asked for with `page` on VCF 9.x (the 9.0.2 spec's parameter) and
    /// with `pageNumber` otherwise.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn hosts(&self) -> Result<Vec<Host>> {
        let mut call = Call::get("/v1/hosts", "/v1/hosts".into()).limits(AnswerLimits::HOSTS);
        if self.sddc_manager_major().is_some_and(|m| m >= 9) {
            call = call.page_param("page");
        }
        self.inner.fetch_all(call).await
    }

    /// `GET /v1/sddc-managers`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn sddc_managers(&self) -> Result<Vec<SddcManager>> {
        self.inner
            .fetch_all(
                Call::get("/v1/sddc-managers", "/v1/sddc-managers".into())
                    .limits(AnswerLimits::INVENTORY),
            )
            .await
    }

    /// `GET /v1/personalities`: the vLCM images imported into SDDC Manager (every page).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn personalities(&self) -> Result<Vec<Personality>> {
        self.inner
            .fetch_all(
                Call::get("/v1/personalities", "/v1/personalities".into())
                    .limits(AnswerLimits::INVENTORY),
            )
            .await
    }
}
