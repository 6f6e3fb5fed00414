//! Check-set endpoints: query applicable prechecks, run them, read the result.

use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::models::{
    AssessmentOutput, AssessmentTaskInfo, CheckSetQueryInput, CheckSetQueryResult,
    CheckSetRunInput, Task,
};

impl VcfClient {
    /// `POST /v1/system/check-sets/queries`: which check sets apply to which resources. Like
    /// every POST other than the login, it is not repeated once it may have reached the server.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn query_check_sets(&self, q: &CheckSetQueryInput) -> Result<CheckSetQueryResult> {
        let call = Call::new(
            Method::POST,
            "/v1/system/check-sets/queries",
            "/v1/system/check-sets/queries".into(),
        )
        .json(q)?;
        self.inner.fetch(&call).await
    }

    /// `POST /v1/system/check-sets`: starts a check run; the returned task's id is the run id.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class; not retried once the request may have been sent.
    pub async fn start_check_run(&self, run: &CheckSetRunInput) -> Result<Task> {
        let call = Call::new(
            Method::POST,
            "/v1/system/check-sets",
            "/v1/system/check-sets".into(),
        )
        .json(run)?;
        self.inner.fetch(&call).await
    }

    /// `GET /v1/system/check-sets/{runId}`: progress and findings of a check run.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn check_run(&self, run_id: &str) -> Result<AssessmentOutput> {
        self.inner
            .fetch(&Call::get(
                "/v1/system/check-sets/{id}",
                format!("/v1/system/check-sets/{}", seg(run_id)),
            ))
            .await
    }

    /// `GET /v1/system/check-sets/{runId}?severity=…`: the result filtered to these severities
    /// (`ERROR`, `WARNING`, `INFO`, `ALL`), the `severity` filter of the 9.1 SDK's
    /// `CheckSets.get_result`, sent as one `severity` pair per value (form style). Servers
    /// before 9.1 ignore the parameter and send every finding.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn check_run_filtered(
        &self,
        run_id: &str,
        severities: &[&str],
    ) -> Result<AssessmentOutput> {
        let mut call = Call::get(
            "/v1/system/check-sets/{id}",
            format!("/v1/system/check-sets/{}", seg(run_id)),
        );
        for s in severities {
            call = call.query("severity", *s);
        }
        self.inner.fetch(&call).await
    }

    /// `GET /v1/system/check-sets[?domainId=a,b]`: the check runs of these domains (all when
    /// empty), a bare JSON array. Lets a caller find a run again after losing its id.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn check_runs(&self, domain_ids: &[&str]) -> Result<Vec<AssessmentTaskInfo>> {
        let mut call = Call::get("/v1/system/check-sets", "/v1/system/check-sets".into());
        if !domain_ids.is_empty() {
            call = call.query("domainId", domain_ids.join(","));
        }
        self.inner.fetch(&call).await
    }
}
