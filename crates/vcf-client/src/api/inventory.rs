//! Inventory endpoints: domains, clusters, hosts, SDDC Managers.

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::models::{Cluster, Domain, Host, Personality, SddcManager};

impl VcfClient {
    /// `GET /v1/domains`: every workload domain.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn domains(&self) -> Result<Vec<Domain>> {
        self.inner
            .fetch_all(Call::get("/v1/domains", "/v1/domains".into()))
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
            .fetch_all(Call::get("/v1/clusters", "/v1/clusters".into()))
            .await
    }

    /// `GET /v1/hosts`: every host in one request (never one request per host).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn hosts(&self) -> Result<Vec<Host>> {
        self.inner
            .fetch_all(Call::get("/v1/hosts", "/v1/hosts".into()))
            .await
    }

    /// `GET /v1/sddc-managers`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn sddc_managers(&self) -> Result<Vec<SddcManager>> {
        self.inner
            .fetch_all(Call::get("/v1/sddc-managers", "/v1/sddc-managers".into()))
            .await
    }

    /// `GET /v1/personalities`: the vLCM images imported into SDDC Manager (every page).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn personalities(&self) -> Result<Vec<Personality>> {
        self.inner
            .fetch_all(Call::get("/v1/personalities", "/v1/personalities".into()))
            .await
    }
}
