//! Release endpoints: releases, future releases, the domain target version, validations.

use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::{DomainRelease, DomainReleaseView, FutureRelease, Release, Validation};

impl VcfClient {
    /// `GET /v1/releases[?domainId=]`: all releases, or the current release of a domain.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn releases(&self, domain_id: Option<&str>) -> Result<Vec<Release>> {
        let mut call =
            Call::get("/v1/releases", "/v1/releases".into()).limits(AnswerLimits::RELEASES);
        if let Some(id) = domain_id {
            call = call.query("domainId", id);
        }
        self.inner.fetch_all(call).await
    }

    /// `GET /v1/releases/domains/{domainId}/future-releases`: releases the domain could move to,
    /// applicable or not (see [`select_next_release`](crate::select_next_release)).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn future_releases(&self, domain_id: &str) -> Result<Vec<FutureRelease>> {
        self.inner
            .fetch_all(
                Call::get(
                    "/v1/releases/domains/{id}/future-releases",
                    format!("/v1/releases/domains/{}/future-releases", seg(domain_id)),
                )
                .limits(AnswerLimits::RELEASES),
            )
            .await
    }

    /// `GET /v1/releases/domains`: the selected target version of every domain.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn domain_release_views(&self) -> Result<Vec<DomainReleaseView>> {
        self.inner
            .fetch_all(
                Call::get("/v1/releases/domains", "/v1/releases/domains".into())
                    .limits(AnswerLimits::RELEASES),
            )
            .await
    }

    /// `GET /v1/releases/domains/{domainId}`: the selected target version of one domain
    /// (`targetVersion` is empty when none is set).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn domain_release_view(&self, domain_id: &str) -> Result<DomainReleaseView> {
        self.inner
            .fetch(&Call::get(
                "/v1/releases/domains/{id}",
                format!("/v1/releases/domains/{}", seg(domain_id)),
            ))
            .await
    }

    /// `PATCH /v1/releases/domains/{domainId}` with exactly `{"targetVersion": V}`. Setting the
    /// same target twice is harmless, so this call is retried on transient errors.
    ///
    /// # Errors
    /// [`VcfError::Api`](crate::VcfError::Api) (404) for an unknown domain or release.
    pub async fn set_target_version(&self, domain_id: &str, version: &str) -> Result<()> {
        let call = Call::new(
            Method::PATCH,
            "/v1/releases/domains/{id}",
            format!("/v1/releases/domains/{}", seg(domain_id)),
        )
        .json(&DomainRelease {
            target_version: version.to_owned(),
        })?
        .idempotent();
        self.inner.send(&call).await
    }

    /// `POST /v1/releases/domains/{domainId}/validations` with `{"targetVersion": V}`; answers
    /// 202 with a [`Validation`] that may still be `IN_PROGRESS` (poll [`VcfClient::validation`]).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class; not retried once the request may have been sent.
    pub async fn start_validation(&self, domain_id: &str, version: &str) -> Result<Validation> {
        let call = Call::new(
            Method::POST,
            "/v1/releases/domains/{id}/validations",
            format!("/v1/releases/domains/{}/validations", seg(domain_id)),
        )
        .json(&DomainRelease {
            target_version: version.to_owned(),
        })?;
        self.inner.fetch(&call).await
    }

    /// `GET /v1/releases/domains/validations/{validationId}`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn validation(&self, validation_id: &str) -> Result<Validation> {
        self.inner
            .fetch(&Call::get(
                "/v1/releases/domains/validations/{id}",
                format!("/v1/releases/domains/validations/{}", seg(validation_id)),
            ))
            .await
    }
}
