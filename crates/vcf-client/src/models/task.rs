//! Task models: the asynchronous operations behind every 202 answer.

use serde::{Deserialize, Serialize};

use super::{ApiError, MessagePack, Resource};
use crate::Status;

/// The spec's `Task`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    /// Task id (for upgrades and check runs also the upgrade / run id).
    pub id: String,
    /// Task name.
    pub name: Option<String>,
    /// `<RESOURCE>_<OPERATION>`, e.g. `BUNDLE_DOWNLOAD`, `UPGRADE`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Status, any spelling.
    pub status: Option<Status>,
    /// Creation time (ISO 8601).
    pub creation_timestamp: Option<String>,
    /// Completion time (ISO 8601).
    pub completion_timestamp: Option<String>,
    /// Localisable description.
    pub localizable_description_pack: Option<MessagePack>,
    /// Sub-tasks.
    pub sub_tasks: Vec<SubTask>,
    /// Errors.
    pub errors: Vec<ApiError>,
    /// Resources the task works on.
    pub resources: Vec<Resource>,
    /// `RESOLVED` or `UNRESOLVED`.
    pub resolution_status: Option<String>,
    /// Can it be cancelled?
    pub is_cancellable: Option<bool>,
    /// Can it be retried?
    pub is_retryable: Option<bool>,
}

/// The spec's `SubTask`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubTask {
    /// Name.
    pub name: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status, any spelling.
    pub status: Option<Status>,
    /// Creation time (ISO 8601).
    pub creation_timestamp: Option<String>,
    /// Completion time (ISO 8601).
    pub completion_timestamp: Option<String>,
    /// Stages.
    pub stages: Vec<Stage>,
    /// Errors.
    pub errors: Vec<ApiError>,
    /// Resources.
    pub resources: Vec<Resource>,
    /// Nested sub-tasks.
    pub sub_tasks: Vec<SubTask>,
}

/// The spec's `Stage` of a sub-task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stage {
    /// Name.
    pub name: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status, any spelling.
    pub status: Option<Status>,
    /// Errors.
    pub errors: Vec<ApiError>,
}
