//! The models against the official OpenAPI document: every JSON field a model reads or writes
//! must exist in the spec schema it is named after, so a renamed or invented field fails here.
//! The spec is the vendored copy in `tests/data/vcf-api/`.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};
use vcf_client::*;

/// The official VCF 5.2.1 spec, vendored as test data in `tests/data/vcf-api/` (see its NOTICE).
fn spec() -> Value {
    spec_of("5.2.1")
}

/// The official spec of VCF `version` (`5.2.1`, `9.0.2`), vendored as test data.
fn spec_of(version: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../tests/data/vcf-api/vcf-{version}-openapi.json"
    ));
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("OpenAPI spec not readable at {}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("spec is JSON")
}

/// Keys `value` (one serialized model) uses that schema `name` does not define.
fn unknown_keys(spec: &Value, name: &str, value: &Value, allowed_extra: &[&str]) -> Vec<String> {
    let props = spec["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} missing from the spec"));
    value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: model does not serialize to an object"))
        .keys()
        .filter(|k| !props.contains_key(*k) && !allowed_extra.contains(&k.as_str()))
        .map(|k| format!("{name}.{k}"))
        .collect()
}

fn v<T: Serialize>(model: &T) -> Value {
    serde_json::to_value(model).expect("serialize")
}

#[test]
fn model_fields_exist_in_the_spec() {
    let spec = spec();
    let metric = json!({ "value": 1.0, "unit": "GB" });
    let checks: Vec<(&str, Value, &[&str])> = vec![
        ("Domain", v(&Domain::default()), &[]),
        ("UpgradeStatus", v(&UpgradeStatus::default()), &[]),
        ("VcenterReference", v(&VcenterReference::default()), &[]),
        ("ClusterReference", v(&ClusterReference::default()), &[]),
        (
            "NsxTClusterReference",
            v(&NsxtClusterReference::default()),
            &[],
        ),
        ("DomainReference", v(&DomainReference::default()), &[]),
        ("Capacity", v(&Capacity::default()), &[]),
        ("CpuInfo", v(&CpuInfo::default()), &[]),
        ("MemoryInfo", v(&StorageOrMemoryInfo::default()), &[]),
        ("StorageInfo", v(&StorageOrMemoryInfo::default()), &[]),
        ("FrequencyMetric", v(&FrequencyMetric::default()), &[]),
        ("DataMetric", metric, &[]),
        ("Cluster", v(&Cluster::default()), &[]),
        ("Personality", v(&Personality::default()), &[]),
        ("SoftwareInfo", v(&SoftwareInfo::default()), &[]),
        ("BaseImageInfo", v(&BaseImageInfo::default()), &[]),
        ("HostReference", v(&HostReference::default()), &[]),
        ("Host", v(&Host::default()), &[]),
        ("IpAddress", v(&HostIpAddress::default()), &[]),
        ("Cpu", v(&HostCpu::default()), &[]),
        ("Memory", v(&HostMemory::default()), &[]),
        ("Storage", v(&HostStorage::default()), &[]),
        ("SddcManager", v(&SddcManager::default()), &[]),
        ("BasicAuthDetails", v(&BasicAuthDetails::default()), &[]),
        ("ProductVersion", v(&BomEntry::default()), &[]),
        ("PatchBundle", v(&PatchBundle::default()), &[]),
        ("Release", v(&Release::default()), &[]),
        ("DomainFutureRelease", v(&FutureRelease::default()), &[]),
        (
            "TargetProductVersion",
            v(&TargetProductVersion::default()),
            &[],
        ),
        ("DomainReleaseView", v(&DomainReleaseView::default()), &[]),
        ("DomainRelease", v(&DomainRelease::default()), &[]),
        ("Validation", v(&Validation::default()), &[]),
        ("ValidationCheck", v(&ValidationCheck::default()), &[]),
        ("Bundle", v(&Bundle::default()), &[]),
        ("BundleComponent", v(&BundleComponent::default()), &[]),
        ("BundleUpdateSpec", v(&BundleUpdateSpec::default()), &[]),
        (
            "BundleDownloadSpec",
            v(&BundleDownloadSpec {
                download_now: Some(true),
                cancel_now: Some(false),
                scheduled_timestamp: Some("2025-01-01T00:00:00.000Z".into()),
            }),
            &[],
        ),
        ("Task", v(&Task::default()), &[]),
        ("SubTask", v(&SubTask::default()), &[]),
        ("Stage", v(&Stage::default()), &[]),
        ("Resource", v(&Resource::default()), &[]),
        ("MessagePack", v(&MessagePack::default()), &[]),
        ("Error", v(&ApiError::default()), &[]),
        ("ErrorCause", v(&ErrorCause::default()), &[]),
        ("PageMetadata", v(&PageMetadata::default()), &[]),
        ("Upgradable", v(&Upgradable::default()), &[]),
        ("SoftwareComponent", v(&SoftwareComponent::default()), &[]),
        (
            "UpgradablesClusterResource",
            v(&ClusterUpgradable::default()),
            &[],
        ),
        (
            "UpgradeSpec",
            v(&UpgradeSpec {
                parallel_upgrade: Some(false),
                draft_mode: Some(true),
                nsxt_upgrade_user_input_specs: vec![json!({})],
                vcenter_upgrade_user_input_specs: vec![json!({})],
                ..UpgradeSpec::default()
            }),
            &[],
        ),
        (
            "ResourceUpgradeSpec",
            v(&ResourceUpgradeSpec {
                upgrade_now: Some(true),
                scheduled_timestamp: Some("t".into()),
                shutdown_vms: Some(false),
                to_version: Some("8.0.3".into()),
                enable_quickboot: Some(true),
                evacuate_offline_vms: Some(true),
                personality_spec: Some(json!({})),
                esx_upgrade_options_spec: Some(json!({})),
                ..ResourceUpgradeSpec::default()
            }),
            &[],
        ),
        ("Upgrade", v(&Upgrade::default()), &[]),
        (
            "UpgradeCommitSpec",
            v(&UpgradeCommitSpec {
                upgrade_now: Some(true),
                scheduled_timestamp: Some("t".into()),
                mark_for_cancellation: Some(false),
            }),
            &[],
        ),
        ("CheckSetQueryInput", v(&CheckSetQueryInput::default()), &[]),
        (
            "CheckSetQueryDomainResources",
            v(&CheckSetQueryDomain {
                domain_id: "d".into(),
                resources: vec![CheckSetQueryResource::default()],
            }),
            &[],
        ),
        (
            "CheckSetQueryResource",
            v(&CheckSetQueryResource {
                resource_type: "VCENTER".into(),
                resource_id: Some("id".into()),
                resource_target_version: Some("8.0.3".into()),
            }),
            &[],
        ),
        (
            "CheckSetQueryResult",
            v(&CheckSetQueryResult::default()),
            &[],
        ),
        (
            "CheckSetQueryResourceResult",
            v(&CheckSetResource::default()),
            &[],
        ),
        (
            "ResourceDomainInfo",
            v(&CheckSetDomain {
                domain_id: Some("d".into()),
                domain_name: Some("n".into()),
                domain_type: Some("VI".into()),
            }),
            &[],
        ),
        (
            "DomainInfo",
            v(&CheckSetDomain {
                domain_id: Some("d".into()),
                domain_name: Some("n".into()),
                domain_type: Some("VI".into()),
            }),
            &[],
        ),
        (
            "CheckSetCandidates",
            v(&CheckSetCandidate {
                check_set_id: "c".into(),
                check_set_name: Some("n".into()),
                check_set_type: Some("UPGRADE".into()),
            }),
            &[],
        ),
        (
            "SelectedCheckSetCandidate",
            v(&SelectedCheckSetCandidate::default()),
            &[],
        ),
        (
            "CheckSetRunInput",
            v(&CheckSetRunInput {
                metadata: Some(json!({})),
                ..CheckSetRunInput::default()
            }),
            // Not in the 5.2.1 schema; sent by real clients and matched by AssessmentMetadata.
            &["metadata"],
        ),
        (
            "CheckSetResourceSelection",
            v(&CheckSetSelection {
                domain: Some(CheckSetDomain::default()),
                ..CheckSetSelection::default()
            }),
            &[],
        ),
        ("AssessmentOutput", v(&AssessmentOutput::default()), &[]),
        ("DiscoveryProgress", v(&DiscoveryProgress::default()), &[]),
        ("EntityRest", v(&EntityRest::default()), &[]),
        ("AssessmentTaskInfo", v(&AssessmentTaskInfo::default()), &[]),
        ("AssessmentMetadata", v(&AssessmentMetadata::default()), &[]),
        ("AssessmentResource", v(&AssessmentResource::default()), &[]),
    ];
    let mut unknown = Vec::new();
    for (name, value, extra) in &checks {
        unknown.extend(unknown_keys(&spec, name, value, extra));
    }
    assert!(unknown.is_empty(), "fields not in the spec: {unknown:?}");
}

#[test]
fn every_path_the_client_calls_is_in_the_spec() {
    let spec = spec();
    let paths = spec["paths"].as_object().expect("paths");
    // (method, template as the spec writes it)
    let calls = [
        ("post", "/v1/tokens"),
        ("patch", "/v1/tokens/access-token/refresh"),
        ("get", "/v1/domains"),
        ("get", "/v1/domains/{id}"),
        ("get", "/v1/clusters"),
        ("get", "/v1/hosts"),
        ("get", "/v1/sddc-managers"),
        ("get", "/v1/releases"),
        ("get", "/v1/releases/domains"),
        ("get", "/v1/releases/domains/{domainId}"),
        ("patch", "/v1/releases/domains/{domainId}"),
        ("get", "/v1/releases/domains/{domainId}/future-releases"),
        ("post", "/v1/releases/domains/{domainId}/validations"),
        ("get", "/v1/releases/domains/validations/{validationId}"),
        ("get", "/v1/bundles"),
        ("get", "/v1/bundles/{id}"),
        ("patch", "/v1/bundles/{id}"),
        ("get", "/v1/upgradables/domains/{domainId}"),
        ("get", "/v1/upgradables/domains/{domainId}/clusters"),
        ("post", "/v1/system/check-sets/queries"),
        ("post", "/v1/system/check-sets"),
        ("get", "/v1/system/check-sets"),
        ("get", "/v1/system/check-sets/{runId}"),
        ("post", "/v1/upgrades"),
        ("get", "/v1/upgrades"),
        ("get", "/v1/upgrades/{upgradeId}"),
        ("patch", "/v1/upgrades/{upgradeId}"),
        ("post", "/v1/upgrades/{upgradeId}/prechecks"),
        ("get", "/v1/upgrades/{upgradeId}/prechecks/{precheckId}"),
        ("get", "/v1/tasks"),
        ("get", "/v1/tasks/{id}"),
        ("patch", "/v1/tasks/{id}"),
    ];
    let missing: Vec<String> = calls
        .iter()
        .filter(|(m, p)| paths.get(*p).and_then(|o| o.get(*m)).is_none())
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "not in the spec: {missing:?}");
}

#[test]
fn vcf9_model_fields_exist_in_the_9_0_2_spec() {
    let spec = spec_of("9.0.2");
    let entry = BomEntry {
        change_id: Some("25210130".into()),
        lifecycle_managed_by: Some("SDDC_MANAGER_VCF".into()),
        ..BomEntry::default()
    };
    let network = TemporaryNetwork {
        network_mode: Some("STATIC".into()),
        ip_address: Some("172.16.12.98".into()),
        subnet_mask: Some("255.255.255.0".into()),
        gateway: Some("172.16.12.1".into()),
    };
    let input = VcenterUpgradeUserInputSpec {
        resource_id: Some("vc-1".into()),
        temporary_network: network.clone(),
    };
    let upgrade = UpgradeSpec {
        vcenter_upgrade_user_input_specs: vec![v(&input)],
        ..UpgradeSpec::default()
    };
    let checks: Vec<(&str, Value)> = vec![
        ("ProductVersion", v(&entry)),
        ("TemporaryNetwork", v(&network)),
        ("VcenterUpgradeUserInputSpec", v(&input)),
        ("UpgradeSpec", v(&upgrade)),
        ("SddcManager", v(&SddcManager::default())),
        ("Notification", v(&Notification::default())),
        ("Message", v(&NotificationMessage::default())),
        ("NotifiableResource", v(&NotifiableResource::default())),
        ("NotifiableDomain", v(&NotifiableDomain::default())),
        (
            "ClusterImageCompliance",
            v(&ClusterImageCompliance::default()),
        ),
        ("ClusterReference", v(&NamedReference::default())),
        ("ClusterImageReference", v(&NamedReference::default())),
        (
            "ClusterImageComplianceDetail",
            v(&ClusterImageComplianceDetail::default()),
        ),
    ];
    let mut unknown = Vec::new();
    for (name, value) in &checks {
        unknown.extend(unknown_keys(&spec, name, value, &[]));
    }
    assert!(
        unknown.is_empty(),
        "fields not in the 9.0.2 spec: {unknown:?}"
    );
    // The 9.x readiness calls are 9.0.2 operations.
    for (m, p) in [
        ("get", "/v1/notifications"),
        ("get", "/v1/clusters/{id}/image-compliance"),
    ] {
        assert!(spec["paths"][p][m].is_object(), "{m} {p} not in 9.0.2");
    }
    // `temporaryNetwork` is the one field the 9.0.2 schema requires.
    let required = &spec["components"]["schemas"]["VcenterUpgradeUserInputSpec"]["required"];
    assert_eq!(required, &json!(["temporaryNetwork"]));
}
