//! Check-set models: the LCM precheck query, run request and assessment result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::Status;

/// The spec's `CheckSetQueryInput`: body of `POST /v1/system/check-sets/queries`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSetQueryInput {
    /// `UPGRADE`.
    pub check_set_type: String,
    /// Domains to query.
    pub domains: Vec<CheckSetQueryDomain>,
}

/// The spec's `CheckSetQueryDomainResources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSetQueryDomain {
    /// Domain id.
    pub domain_id: String,
    /// Resources with their target versions (second query step); omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<CheckSetQueryResource>,
}

/// The spec's `CheckSetQueryResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSetQueryResource {
    /// Resource type, e.g. `VCENTER`.
    pub resource_type: String,
    /// Resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Version the resource will be upgraded to (from the target release BOM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_target_version: Option<String>,
}

/// The spec's `CheckSetQueryResult`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckSetQueryResult {
    /// Query id, needed for the run.
    pub query_id: String,
    /// Resources and their check sets.
    pub resources: Vec<CheckSetResource>,
}

/// The spec's `CheckSetQueryResourceResult`: a resource and the check sets that apply to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckSetResource {
    /// Resource name.
    pub resource_name: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// Current version.
    pub resource_version: Option<String>,
    /// Domain of the resource.
    pub domain: Option<CheckSetDomain>,
    /// Applicable check sets.
    pub check_sets: Vec<CheckSetCandidate>,
    /// Extra context.
    pub extra_context: BTreeMap<String, serde_json::Value>,
}

/// The spec's `ResourceDomainInfo` / `DomainInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckSetDomain {
    /// Domain id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// Domain name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// `MANAGEMENT` or `VI`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_type: Option<String>,
}

/// The spec's `CheckSetCandidates` (query answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckSetCandidate {
    /// Check set id.
    pub check_set_id: String,
    /// Check set name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_set_name: Option<String>,
    /// Check set type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_set_type: Option<String>,
}

/// The spec's `SelectedCheckSetCandidate` (run body): only the check-set id, as the 5.2.1 and
/// 9.0.2 specs define it (no name or type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedCheckSetCandidate {
    /// Id of the selected check set.
    pub check_set_id: String,
}

/// The spec's `CheckSetRunInput`: body of `POST /v1/system/check-sets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSetRunInput {
    /// Query id from [`CheckSetQueryResult`].
    pub query_id: String,
    /// Resources and the check sets to run on them.
    pub resources: Vec<CheckSetSelection>,
    /// Optional `AssessmentMetadata` (`targetVersion`, `resources[]`): a field of the 9.1 SDK's
    /// `CheckSetRunInput`, and the run info's `metadata` in every spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// The spec's `CheckSetResourceSelection`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSetSelection {
    /// Resource name.
    pub resource_name: String,
    /// Resource id.
    pub resource_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Domain of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<CheckSetDomain>,
    /// Check sets to run.
    pub check_sets: Vec<SelectedCheckSetCandidate>,
}

/// The spec's `AssessmentOutput`: the result of a check run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssessmentOutput {
    /// `IN_PROGRESS`, `COMPLETED_WITH_SUCCESS`, `COMPLETED_WITH_FAILURE`.
    pub status: Option<Status>,
    /// Discovery progress.
    pub discovery_progress: Option<DiscoveryProgress>,
    /// Free-form artifacts; see [`AssessmentOutput::domain_summaries`].
    pub presented_artifacts_map: BTreeMap<String, serde_json::Value>,
    /// The findings tree: a summary with each check in `nestedErrors`.
    pub validation_result: Option<ApiError>,
    /// Inventory tree the run looked at.
    pub physical_presented_data: Option<EntityRest>,
    /// Input validation errors.
    pub input_validation_errors: Vec<ApiError>,
    /// Related assessment.
    pub related_assessment_id: Option<String>,
    /// Start time (ISO 8601).
    pub timestamp: Option<String>,
    /// Completion time (ISO 8601).
    pub completion_timestamp: Option<String>,
}

/// The spec's `DiscoveryProgress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiscoveryProgress {
    /// Progress messages.
    pub progress_messages: Vec<String>,
    /// Percentage complete.
    pub percentage_complete: Option<i64>,
}

/// The spec's `EntityRest` (inventory tree node).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EntityRest {
    /// Id.
    pub id: Option<String>,
    /// Type, e.g. `Vsphere`, `domain`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Properties.
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Children.
    pub child_entities: Vec<EntityRest>,
    /// Description.
    pub description: Option<String>,
}

/// One item of the `validation-domain-summary` artifact (counts are floats on the wire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidationDomainSummary {
    /// Domain name.
    pub domain_name: Option<String>,
    /// Checks run.
    pub validations_run_count: f64,
    /// Checks passed.
    pub successful_validations_count: f64,
    /// Checks failed.
    pub error_validations_count: f64,
    /// Checks that failed internally.
    pub internal_error_validations_count: f64,
    /// Silenced checks.
    pub silenced_validations_count: f64,
    /// Critical gaps.
    pub critical_gaps_count: f64,
    /// Warning gaps.
    pub warning_gaps_count: f64,
    /// Optional gaps.
    pub optional_gaps_count: f64,
}

// === impl AssessmentOutput ===

impl AssessmentOutput {
    /// The `validation-domain-summary` artifact; malformed items are skipped (the map's
    /// values are free-form objects in the spec). The spec's shape is an object whose
    /// values are the summaries (keyed by domain name); an array of summaries, as seen
    /// from real appliances, is read too.
    pub fn domain_summaries(&self) -> Vec<ValidationDomainSummary> {
        let items: Vec<&serde_json::Value> = match self
            .presented_artifacts_map
            .get("validation-domain-summary")
        {
            Some(serde_json::Value::Object(map)) => map.values().collect(),
            Some(serde_json::Value::Array(list)) => list.iter().collect(),
            _ => Vec::new(),
        };
        items
            .into_iter()
            .filter(|item| item.is_object())
            .filter_map(|item| serde_json::from_value(item.clone()).ok())
            .collect()
    }

    /// Every finding in the validation tree (depth first, the summary node excluded).
    pub fn findings(&self) -> Vec<&ApiError> {
        fn walk<'a>(node: &'a ApiError, out: &mut Vec<&'a ApiError>) {
            for child in &node.nested_errors {
                out.push(child);
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        if let Some(root) = &self.validation_result {
            walk(root, &mut out);
        }
        out
    }
}

/// The spec's `AssessmentTaskInfo`: one check run, as listed by `GET /v1/system/check-sets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssessmentTaskInfo {
    /// Run id (the id `POST /v1/system/check-sets` returned as task id).
    pub id: String,
    /// Run state, any spelling.
    pub state: Option<Status>,
    /// Start, epoch milliseconds.
    pub timestamp: Option<i64>,
    /// Completion, epoch milliseconds.
    pub completion_timestamp: Option<i64>,
    /// Domains the run covered.
    pub domain_inputs: Vec<CheckSetDomain>,
    /// What the run was for.
    pub metadata: Option<AssessmentMetadata>,
}

/// The spec's `AssessmentMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssessmentMetadata {
    /// Target VCF version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    /// Resources checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<AssessmentResource>,
    /// Related upgrade.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_id: Option<String>,
}

/// The spec's `AssessmentResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssessmentResource {
    /// Resource type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Resource id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Resource name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Domain id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// Target version of the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output(summary: serde_json::Value) -> AssessmentOutput {
        serde_json::from_value(json!({
            "status": "COMPLETED_WITH_SUCCESS",
            "presentedArtifactsMap": { "validation-domain-summary": summary },
        }))
        .expect("AssessmentOutput")
    }

    #[test]
    fn domain_summaries_read_the_spec_object_and_the_observed_array() {
        let counts = json!({ "domainName": "sfo-m01", "errorValidationsCount": 1.0, "warningGapsCount": 2.0 });
        let spec = output(json!({ "sfo-m01": counts.clone() }));
        let observed = output(json!([counts]));
        for out in [spec, observed] {
            let summaries = out.domain_summaries();
            assert_eq!(summaries.len(), 1);
            assert_eq!(summaries[0].domain_name.as_deref(), Some("sfo-m01"));
            assert_eq!(summaries[0].error_validations_count, 1.0);
            assert_eq!(summaries[0].warning_gaps_count, 2.0);
        }
        assert!(output(json!("text")).domain_summaries().is_empty());
    }
}
