//! Bundle endpoints: list, get, start a download.

use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::{Bundle, BundleDownloadSpec, BundleUpdateSpec, Task};

impl VcfClient {
    /// `GET /v1/bundles`: every bundle known to the SDDC Manager.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn bundles(&self) -> Result<Vec<Bundle>> {
        self.inner
            .fetch_all(Call::get("/v1/bundles", "/v1/bundles".into()).limits(AnswerLimits::HISTORY))
            .await
    }

    /// `GET /v1/bundles/{id}` (poll `downloadStatus`).
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn bundle(&self, id: &str) -> Result<Bundle> {
        self.inner
            .fetch(&Call::get(
                "/v1/bundles/{id}",
                format!("/v1/bundles/{}", seg(id)),
            ))
            .await
    }

    /// `PATCH /v1/bundles/{id}` with `{"bundleDownloadSpec":{"downloadNow":true}}`; 202 with the
    /// download task. Not retried once sent: a second request gets 409.
    ///
    /// # Errors
    /// [`VcfError::Api`](crate::VcfError::Api) with 409 when a download of the bundle already runs.
    pub async fn download_bundle(&self, id: &str) -> Result<Task> {
        let call = Call::new(
            Method::PATCH,
            "/v1/bundles/{id}",
            format!("/v1/bundles/{}", seg(id)),
        )
        .json(&BundleUpdateSpec {
            bundle_download_spec: BundleDownloadSpec {
                download_now: Some(true),
                ..BundleDownloadSpec::default()
            },
        })?;
        self.inner.fetch(&call).await
    }
}
