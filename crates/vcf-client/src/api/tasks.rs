//! Task endpoints: get, list (paged), retry.

use reqwest::Method;

use super::seg;
use crate::client::{Call, VcfClient};
use crate::error::Result;
use crate::limits::AnswerLimits;
use crate::models::Task;

/// The largest page `GET /v1/tasks` serves.
const TASK_PAGE_SIZE: u32 = 100;

impl VcfClient {
    /// `GET /v1/tasks/{id}`.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn task(&self, id: &str) -> Result<Task> {
        self.inner
            .fetch(&Call::get(
                "/v1/tasks/{id}",
                format!("/v1/tasks/{}", seg(id)),
            ))
            .await
    }

    /// `GET /v1/tasks?pageSize=100[&pageNumber=N]`: every task, following the pages.
    ///
    /// # Errors
    /// Any [`VcfError`](crate::VcfError) class.
    pub async fn tasks(&self) -> Result<Vec<Task>> {
        self.inner
            .fetch_all(
                Call::get("/v1/tasks", "/v1/tasks".into())
                    .query("pageSize", TASK_PAGE_SIZE.to_string())
                    .limits(AnswerLimits::HISTORY),
            )
            .await
    }

    /// `PATCH /v1/tasks/{id}`: retries a failed task. Not repeated once sent (a second retry of
    /// a running task gets 409).
    ///
    /// # Errors
    /// [`VcfError::Api`](crate::VcfError::Api) with 409 when the task is not in a failed state.
    pub async fn retry_task(&self, id: &str) -> Result<()> {
        let call = Call::new(
            Method::PATCH,
            "/v1/tasks/{id}",
            format!("/v1/tasks/{}", seg(id)),
        );
        self.inner.send(&call).await
    }
}
