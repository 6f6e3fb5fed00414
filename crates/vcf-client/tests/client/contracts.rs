//! Request contracts: paths, queries, exact bodies and headers, pagination, parsing.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use vcf_client::{
    CheckSetDomain, CheckSetQueryDomain, CheckSetQueryInput, CheckSetRunInput, CheckSetSelection,
    ResourceUpgradeSpec, SelectedCheckSetCandidate, Status, UpgradeSpec, VcfClient,
};
use wiremock::matchers::{
    body_json, body_string, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const DOMAIN: &str = "2f1f6ab4-5a4e-4c1b-8d4e-0c5b1e0a7d11";
const BUNDLE: &str = "a4c1f2e3-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
const TASK: &str = "f0e1d2c3-b4a5-4968-8776-655443322110";

fn task_json(status: &str) -> serde_json::Value {
    json!({ "id": TASK, "name": "Upgrade of SDDC Manager to 5.2.1.0", "type": "UPGRADE",
            "status": status, "creationTimestamp": "2025-03-04T11:00:00.000Z",
            "resources": [ { "resourceId": DOMAIN, "type": "DOMAIN" } ], "isCancellable": false,
            "someFutureField": { "x": 1 } })
}

async fn authed_server() -> (MockServer, String) {
    let server = MockServer::start().await;
    let token = jwt(Utc::now(), 3600, "t1");
    mount_login(&server, &token).await;
    (server, token)
}

async fn get_ok(server: &MockServer, token: &str, p: &str, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(p))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn login_posts_credentials_and_accepts_201() {
    let server = MockServer::start().await;
    let token = jwt(Utc::now(), 3600, "t1");
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "username": USER, "password": PASS })))
        .respond_with(ResponseTemplate::new(201).set_body_json(token_pair(&token)))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(client.token_expires_at().is_none());
    client.login().await.expect("login");
    let exp = client.token_expires_at().expect("exp read from the JWT");
    let left = (exp - Utc::now()).num_seconds();
    assert!((3590..=3600).contains(&left), "{left}");
    assert_eq!(client.base_url(), server.uri());
}

#[tokio::test]
async fn inventory_endpoints_parse_and_send_the_bearer_token() {
    let (server, token) = authed_server().await;
    get_ok(&server, &token, "/v1/domains", page(json!([{
        "id": DOMAIN, "name": "sfo-m01", "type": "MANAGEMENT", "status": "ACTIVE",
        "upgradeStatus": { "status": "AVAILABLE", "completedResources": 0, "totalResources": 4 },
        "clusters": [ { "id": "c1", "name": "sfo-m01-cl01" } ],
        "capacity": { "cpu": { "used": { "value": 18.4, "unit": "GHz" }, "total": { "value": 268.8, "unit": "GHz" },
                               "numberOfCores": 112, "numberOfCPUPackages": 8 },
                      "memory": { "used": { "value": 612.3, "unit": "GB" }, "total": { "value": 2047.6, "unit": "GB" } },
                      "storage": { "used": { "value": 3.1, "unit": "TB" }, "total": { "value": 27.9, "unit": "TB" } } },
        "brandNewField": true }]))).await;
    get_ok(
        &server,
        &token,
        &format!("/v1/domains/{DOMAIN}"),
        json!({ "id": DOMAIN, "name": "sfo-m01", "type": "MANAGEMENT" }),
    )
    .await;
    get_ok(
        &server,
        &token,
        "/v1/clusters",
        page(json!([{
        "id": "c1", "name": "sfo-m01-cl01", "domain": { "id": DOMAIN, "name": "sfo-m01" },
        "hosts": [ { "id": "h1", "fqdn": "esx01.sfo.rainpole.io" } ], "isDefault": true }])),
    )
    .await;
    get_ok(
        &server,
        &token,
        "/v1/hosts",
        page(json!([{
        "id": "h1", "fqdn": "esx01.sfo.rainpole.io", "esxiVersion": "8.0.3-24022510",
        "cpu": { "frequencyMHz": 67200.0, "usedFrequencyMHz": 4610.0, "cores": 28 },
        "memory": { "totalCapacityMB": 524204.0, "usedCapacityMB": 156780.0 },
        "storage": { "totalCapacityMB": 7325000.0, "usedCapacityMB": 812000.0 },
        "domain": { "id": DOMAIN }, "cluster": { "id": "c1" }, "status": "ASSIGNED" }])),
    )
    .await;
    get_ok(
        &server,
        &token,
        "/v1/sddc-managers",
        page(json!([{
        "id": "s1", "fqdn": "sfo-vcf01.sfo.rainpole.io", "version": "5.2.0.0-24108943",
        "domain": { "id": DOMAIN } }])),
    )
    .await;

    let client = client(&server);
    let domains = client.domains().await.expect("domains");
    assert_eq!(domains[0].name, "sfo-m01");
    assert_eq!(
        domains[0]
            .upgrade_status
            .as_ref()
            .and_then(|u| u.status.clone()),
        Some(Status::Available)
    );
    let cpu = domains[0]
        .capacity
        .as_ref()
        .and_then(|c| c.cpu.as_ref())
        .expect("cpu");
    assert_eq!(cpu.number_of_cpu_packages, Some(8));
    assert_eq!(
        client.domain(DOMAIN).await.expect("domain").kind.as_deref(),
        Some("MANAGEMENT")
    );
    assert_eq!(client.clusters().await.expect("clusters")[0].hosts.len(), 1);
    let hosts = client.hosts().await.expect("hosts");
    assert_eq!(
        hosts[0].cpu.as_ref().and_then(|c| c.used_frequency_mhz),
        Some(4610.0)
    );
    assert_eq!(
        hosts[0].memory.as_ref().and_then(|m| m.total_capacity_mb),
        Some(524204.0)
    );
    assert_eq!(
        client.sddc_managers().await.expect("sddc")[0]
            .version
            .as_deref(),
        Some("5.2.0.0-24108943")
    );
    assert_eq!(
        count(&server, "POST", "/v1/tokens").await,
        1,
        "one login for the whole sequence"
    );
}

#[tokio::test]
async fn release_endpoints() {
    let (server, token) = authed_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/releases"))
        .and(query_param("domainId", DOMAIN))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([{
            "product": "VCF", "version": "5.2.0.0", "minCompatibleVcfVersion": "5.1.0.0",
            "description": "VCF 5.2", "releaseDate": "2024-07-23T00:00:00.000Z",
            "bom": [ { "name": "SDDC_MANAGER_VCF", "version": "5.2.0.0-24108943", "publicName": "SDDC Manager" } ] }]))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/releases"))
        .and(query_param_is_missing("domainId"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([]))))
        .expect(1)
        .mount(&server)
        .await;
    let future = json!([
        { "product": "VCF", "version": "5.2.1.0", "minCompatibleVcfVersion": "5.2.0.0",
          "description": "VCF 5.2.1", "releaseDate": "2024-10-09T00:00:00.000Z",
          "applicabilityStatus": "APPLICABLE", "isApplicable": true, "reasonsNotApplicable": [],
          "bom": [ { "name": "VCENTER", "version": "8.0.3.00300-24305161", "publicName": "vCenter" } ],
          "vendorExtra": { "kept": "yes" } },
        { "product": "VCF", "version": "5.2.2.0", "minCompatibleVcfVersion": "5.2.0.0",
          "description": "VCF 5.2.2", "releaseDate": "2025-04-15T00:00:00.000Z",
          "applicabilityStatus": "NOT_APPLICABLE", "isApplicable": false,
          "reasonsNotApplicable": [ { "messageKey": "stepping.stone", "message": "Upgrade to 5.2.1.0 first" } ],
          "bom": [] } ]);
    get_ok(
        &server,
        &token,
        &format!("/v1/releases/domains/{DOMAIN}/future-releases"),
        page(future.clone()),
    )
    .await;
    get_ok(
        &server,
        &token,
        "/v1/releases/domains",
        page(json!([{ "domainId": DOMAIN, "targetVersion": "", "patches": [] }])),
    )
    .await;
    get_ok(
        &server,
        &token,
        &format!("/v1/releases/domains/{DOMAIN}"),
        json!({ "domainId": DOMAIN, "targetVersion": "5.2.1.0", "isCustomizedBom": false }),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/releases/domains/{DOMAIN}")))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"targetVersion":"5.2.1.0"}"#))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/releases/domains/{DOMAIN}/validations")))
        .and(body_json(json!({ "targetVersion": "5.2.1.0" })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "id": "v1", "description": "Validating", "executionStatus": "IN_PROGRESS", "resultStatus": "UNKNOWN" })))
        .expect(1)
        .mount(&server)
        .await;
    get_ok(&server, &token, "/v1/releases/domains/validations/v1", json!({
        "id": "v1", "description": "Validating", "executionStatus": "COMPLETED", "resultStatus": "SUCCEEDED",
        "validationChecks": [ { "description": "BOM", "severity": "INFO", "resultStatus": "SUCCEEDED" } ] })).await;

    let client = client(&server);
    let current = client
        .releases(Some(DOMAIN))
        .await
        .expect("current release");
    assert_eq!(current[0].version, "5.2.0.0");
    assert!(
        client
            .releases(None)
            .await
            .expect("all releases")
            .is_empty()
    );
    let releases = client
        .future_releases(DOMAIN)
        .await
        .expect("future releases");
    assert_eq!(releases.len(), 2);
    assert_eq!(releases[0].raw, future[0], "the whole JSON is kept");
    assert_eq!(serde_json::to_value(&releases[0]).expect("json"), future[0]);
    assert_eq!(
        releases[1].reasons_not_applicable[0].message.as_deref(),
        Some("Upgrade to 5.2.1.0 first")
    );
    let next =
        vcf_client::select_next_release(&"5.2.0.0".parse().expect("v"), &releases).expect("next");
    assert_eq!(next.version, "5.2.1.0");
    assert_eq!(
        client.domain_release_views().await.expect("views")[0].target_version,
        ""
    );
    assert_eq!(
        client
            .domain_release_view(DOMAIN)
            .await
            .expect("view")
            .target_version,
        "5.2.1.0"
    );
    client
        .set_target_version(DOMAIN, "5.2.1.0")
        .await
        .expect("target");
    let v = client
        .start_validation(DOMAIN, "5.2.1.0")
        .await
        .expect("validation");
    assert!(v.execution_status.expect("status").is_running());
    let v = client.validation("v1").await.expect("validation poll");
    assert_eq!(v.execution_status, Some(Status::Successful));
    assert_eq!(v.result_status.as_deref(), Some("SUCCEEDED"));
}

#[tokio::test]
async fn bundle_endpoints_and_download_body() {
    let (server, token) = authed_server().await;
    let bundle = json!({ "id": BUNDLE, "type": "SDDC_MANAGER", "version": "5.2.1.0-24307856",
        "releasedDate": "2024-10-09T00:00:00.000Z", "sizeMB": 2379.4, "downloadStatus": "PENDING",
        "components": [ { "type": "SDDC_MANAGER", "toVersion": "5.2.1.0-24307856", "imageType": "PATCH" } ] });
    get_ok(
        &server,
        &token,
        "/v1/bundles",
        page(json!([bundle.clone()])),
    )
    .await;
    get_ok(&server, &token, &format!("/v1/bundles/{BUNDLE}"), bundle).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/bundles/{BUNDLE}")))
        .and(header("content-type", "application/json"))
        .and(body_string(
            r#"{"bundleDownloadSpec":{"downloadNow":true}}"#,
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(task_json("IN_PROGRESS")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let bundles = client.bundles().await.expect("bundles");
    assert_eq!(bundles[0].download_status, Some(Status::Pending));
    assert_eq!(bundles[0].size_mb, Some(2379.4));
    assert_eq!(
        client.bundle(BUNDLE).await.expect("bundle").kind.as_deref(),
        Some("SDDC_MANAGER")
    );
    let task = client.download_bundle(BUNDLE).await.expect("download");
    assert_eq!(task.status, Some(Status::InProgress));
}

#[tokio::test]
async fn upgradables_checksets_upgrades_tasks() {
    let (server, token) = authed_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/upgradables/domains/{DOMAIN}")))
        .and(query_param("targetVersion", "5.2.1.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([
            { "bundleId": BUNDLE, "bundleType": "SDDC_MANAGER", "status": "AVAILABLE",
              "resource": { "resourceId": DOMAIN, "type": "DOMAIN", "name": "sfo-m01" },
              "softwareComponents": [ { "id": "s1", "type": "SDDC_MANAGER" } ], "errors": [] } ]))))
        .expect(1)
        .mount(&server)
        .await;
    get_ok(&server, &token, &format!("/v1/upgradables/domains/{DOMAIN}/clusters"), page(json!([
        { "resourceId": "c1", "resourceType": "CLUSTER", "primaryCluster": true, "vlcmEnabled": true,
          "softwareInfo": { "baseImage": { "version": "8.0.3" } } } ]))).await;
    let query = CheckSetQueryInput {
        check_set_type: "UPGRADE".into(),
        domains: vec![CheckSetQueryDomain {
            domain_id: DOMAIN.into(),
            resources: vec![],
        }],
    };
    Mock::given(method("POST"))
        .and(path("/v1/system/check-sets/queries"))
        .and(body_string(format!(r#"{{"checkSetType":"UPGRADE","domains":[{{"domainId":"{DOMAIN}"}}]}}"#)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "queryId": "q1", "resources": [
            { "resourceName": "vc01", "resourceId": "vc1", "resourceType": "VCENTER", "resourceVersion": "8.0.3",
              "domain": { "domainId": DOMAIN, "domainName": "sfo-m01", "domainType": "MANAGEMENT" },
              "checkSets": [ { "checkSetId": "vcenter-upgrade-prechecks", "checkSetName": "vCenter", "checkSetType": "UPGRADE" } ] } ] })))
        .expect(1)
        .mount(&server)
        .await;
    let run = CheckSetRunInput {
        query_id: "q1".into(),
        resources: vec![CheckSetSelection {
            resource_name: "vc01".into(),
            resource_id: "vc1".into(),
            resource_type: "VCENTER".into(),
            domain: Some(CheckSetDomain {
                domain_id: Some(DOMAIN.into()),
                domain_name: Some("sfo-m01".into()),
                domain_type: Some("MANAGEMENT".into()),
            }),
            check_sets: vec![SelectedCheckSetCandidate {
                check_set_id: "vcenter-upgrade-prechecks".into(),
            }],
        }],
        metadata: Some(json!({ "targetVersion": "5.2.1.0" })),
    };
    Mock::given(method("POST"))
        .and(path("/v1/system/check-sets"))
        .and(body_json(json!({ "queryId": "q1", "resources": [ {
            "resourceName": "vc01", "resourceId": "vc1", "resourceType": "VCENTER",
            "domain": { "domainId": DOMAIN, "domainName": "sfo-m01", "domainType": "MANAGEMENT" },
            "checkSets": [ { "checkSetId": "vcenter-upgrade-prechecks" } ] } ],
            "metadata": { "targetVersion": "5.2.1.0" } })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({ "id": "run1", "name": "check run", "status": "IN_PROGRESS", "creationTimestamp": "2025-03-04T10:12:03.000Z" })))
        .expect(1)
        .mount(&server)
        .await;
    get_ok(&server, &token, "/v1/system/check-sets/run1", json!({
        "status": "COMPLETED_WITH_FAILURE",
        "discoveryProgress": { "percentageComplete": 100, "progressMessages": [] },
        // The spec's shape: `presentedArtifactsMap` is `map<string, object>`, so the summary
        // is an object (keyed by domain name), and `EntityRest.properties` values are objects.
        "physicalPresentedData": { "id": "e1", "type": "Vsphere", "name": "vSphere", "childEntities": [ { "id": "e2",
            "type": "domain", "name": "sfo-m01", "properties": { "domain": { "domainId": DOMAIN, "domainName": "sfo-m01" } } } ] },
        "presentedArtifactsMap": { "validation-domain-summary": { "sfo-m01": { "domainName": "sfo-m01", "validationsRunCount": 42.0,
            "successfulValidationsCount": 39.0, "errorValidationsCount": 1.0, "internalErrorValidationsCount": 0.0,
            "silencedValidationsCount": 0.0, "criticalGapsCount": 1.0, "warningGapsCount": 1.0, "optionalGapsCount": 0.0 } } },
        "validationResult": { "errorCode": "BASELINER_TARGET_STATE_VALIDATION.error", "context": { "severity": "ERROR" },
            "message": "Target state validation failed",
            "nestedErrors": [
                { "errorCode": "ESX_MAINTENANCE_MODE_CHECK.error", "context": { "severity": "ERROR", "validationName": "MM" },
                  "message": "Host cannot enter maintenance mode", "remediationMessage": "Set DRS" },
                { "errorCode": "VSAN_HCL_CHECK.warning", "context": { "severity": "WARNING" }, "message": "HCL old" } ] } })).await;
    let spec = UpgradeSpec {
        bundle_id: BUNDLE.into(),
        resource_type: "DOMAIN".into(),
        resource_upgrade_specs: vec![ResourceUpgradeSpec {
            resource_id: DOMAIN.into(),
            upgrade_now: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    };
    Mock::given(method("POST"))
        .and(path("/v1/upgrades"))
        .and(body_json(
            json!({ "bundleId": BUNDLE, "resourceType": "DOMAIN",
            "resourceUpgradeSpecs": [ { "resourceId": DOMAIN, "upgradeNow": true } ] }),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(task_json("PENDING")))
        .expect(1)
        .mount(&server)
        .await;
    let upgrade = json!({ "id": TASK, "bundleId": BUNDLE, "resourceType": "DOMAIN", "status": "INPROGRESS",
        "taskId": TASK, "resourceUpgradeSpecs": [ { "resourceId": DOMAIN, "upgradeNow": true } ], "endTime": 1741086000000i64 });
    get_ok(
        &server,
        &token,
        &format!("/v1/upgrades/{TASK}"),
        upgrade.clone(),
    )
    .await;
    get_ok(&server, &token, "/v1/upgrades", page(json!([upgrade]))).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/upgrades/{TASK}/prechecks")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({ "id": "pc1", "name": "precheck", "status": "IN_PROGRESS", "creationTimestamp": "2025-03-04T11:00:00.000Z" })))
        .expect(1)
        .mount(&server)
        .await;
    get_ok(&server, &token, &format!("/v1/upgrades/{TASK}/prechecks/pc1"), json!({ "id": "pc1", "name": "precheck", "status": "Successful",
        "creationTimestamp": "2025-03-04T11:00:00.000Z",
        "subTasks": [ { "name": "x", "type": "PRECHECK", "description": "d", "status": "SUCCESSFUL", "creationTimestamp": "2025-03-04T11:00:00.000Z",
                        "stages": [ { "name": "s", "type": "t", "description": "d", "status": "SUCCESSFUL", "creationTimestamp": "2025-03-04T11:00:00.000Z" } ] } ] })).await;
    get_ok(
        &server,
        &token,
        &format!("/v1/tasks/{TASK}"),
        task_json("In Progress"),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/tasks/{TASK}")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let ups = client
        .upgradables(DOMAIN, Some("5.2.1.0"))
        .await
        .expect("upgradables");
    assert_eq!(ups[0].status, Some(Status::Available));
    assert_eq!(ups[0].bundle_type.as_deref(), Some("SDDC_MANAGER"));
    let cl = client
        .cluster_upgradables(DOMAIN)
        .await
        .expect("cluster upgradables");
    assert_eq!(cl[0].resource_id, "c1");
    let q = client.query_check_sets(&query).await.expect("query");
    assert_eq!(
        q.resources[0].check_sets[0].check_set_id,
        "vcenter-upgrade-prechecks"
    );
    assert_eq!(client.start_check_run(&run).await.expect("run").id, "run1");
    let result = client.check_run("run1").await.expect("result");
    assert_eq!(result.status, Some(Status::Failed));
    assert_eq!(result.domain_summaries()[0].critical_gaps_count, 1.0);
    let entity = &result
        .physical_presented_data
        .as_ref()
        .expect("tree")
        .child_entities[0];
    assert_eq!(entity.properties["domain"]["domainId"], DOMAIN);
    let findings = result.findings();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0].severity().as_deref(), Some("ERROR"));
    assert_eq!(client.start_upgrade(&spec).await.expect("upgrade").id, TASK);
    let u = client.upgrade(TASK).await.expect("upgrade record");
    assert_eq!(u.status, Some(Status::InProgress));
    assert_eq!(u.end_time, Some(1_741_086_000_000));
    assert_eq!(client.upgrades().await.expect("upgrades").len(), 1);
    assert_eq!(
        client
            .start_upgrade_precheck(TASK)
            .await
            .expect("precheck")
            .id,
        "pc1"
    );
    let pc = client
        .upgrade_precheck(TASK, "pc1")
        .await
        .expect("precheck poll");
    assert!(pc.status.expect("status").is_success());
    assert_eq!(pc.sub_tasks[0].stages.len(), 1);
    assert!(
        client
            .task(TASK)
            .await
            .expect("task")
            .status
            .expect("status")
            .is_running()
    );
    client.retry_task(TASK).await.expect("retry");
}

#[tokio::test]
async fn tasks_follow_pagination() {
    let (server, _token) = authed_server().await;
    let page_of = |n: i64, ids: &[&str]| {
        json!({ "elements": ids.iter().map(|id| json!({ "id": id, "name": "t", "status": "SUCCESSFUL",
                    "creationTimestamp": "2025-03-04T11:00:00.000Z" })).collect::<Vec<_>>(),
                "pageMetadata": { "pageNumber": n, "pageSize": 2, "totalElements": 5, "totalPages": 3 } })
    };
    Mock::given(method("GET"))
        .and(path("/v1/tasks"))
        .and(query_param("pageSize", "100"))
        .and(query_param_is_missing("pageNumber"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_of(1, &["a", "b"])))
        .expect(1)
        .mount(&server)
        .await;
    for (n, ids) in [(2, vec!["c", "d"]), (3, vec!["e"])] {
        Mock::given(method("GET"))
            .and(path("/v1/tasks"))
            .and(query_param("pageNumber", n.to_string()))
            .and(query_param("pageSize", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page_of(n, &ids)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let ids: Vec<String> = client
        .tasks()
        .await
        .expect("tasks")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(count(&server, "GET", "/v1/tasks").await, 3);
}

#[tokio::test]
async fn lists_without_page_metadata_take_one_request() {
    let (server, _token) = authed_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/hosts"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "elements": [ { "id": "h1", "fqdn": "esx01.lab" }, { "id": "h2", "fqdn": "esx02.lab" } ] })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.hosts().await.expect("hosts").len(), 2);
}

#[tokio::test]
async fn observer_sees_every_exchange_with_path_templates() {
    let (server, token) = authed_server().await;
    get_ok(
        &server,
        &token,
        &format!("/v1/bundles/{BUNDLE}"),
        json!({ "id": BUNDLE, "type": "SDDC_MANAGER", "downloadStatus": "SUCCESSFUL" }),
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let mut cfg = config(&server.uri());
    cfg.observer = Some(recorder.clone());
    let client = VcfClient::new(cfg).expect("client");
    client.bundle(BUNDLE).await.expect("bundle");
    assert_eq!(
        recorder.endpoints(),
        ["POST /v1/tokens", "GET /v1/bundles/{id}"]
    );
    let statuses: Vec<Option<u16>> = recorder
        .0
        .lock()
        .expect("rec")
        .iter()
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(statuses, [Some(200), Some(200)]);
}

#[tokio::test]
async fn check_runs_list_is_a_bare_array_filtered_by_domain() {
    let (server, _token) = authed_server().await;
    Mock::given(method("GET"))
        .and(path("/v1/system/check-sets"))
        .and(query_param("domainId", "d1,d2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "id": "run1", "state": "COMPLETED_WITH_SUCCESS", "timestamp": 1741083123000i64,
              "completionTimestamp": 1741083584000i64,
              "domainInputs": [ { "domainId": "d1", "domainName": "sfo-m01", "domainType": "MANAGEMENT" } ],
              "metadata": { "targetVersion": "5.2.1.0",
                            "resources": [ { "type": "VCENTER", "id": "vc1", "name": "vc01", "domainId": "d1", "targetVersion": "8.0.3" } ] } } ])))
        .expect(1)
        .mount(&server)
        .await;
    let runs = client(&server)
        .check_runs(&["d1", "d2"])
        .await
        .expect("runs");
    assert_eq!(runs[0].id, "run1");
    assert_eq!(runs[0].state, Some(Status::Successful));
    assert_eq!(runs[0].completion_timestamp, Some(1_741_083_584_000));
    let meta = runs[0].metadata.as_ref().expect("metadata");
    assert_eq!(meta.target_version.as_deref(), Some("5.2.1.0"));
    assert_eq!(meta.resources[0].kind.as_deref(), Some("VCENTER"));
}

#[tokio::test]
async fn commit_upgrade_sends_exactly_upgrade_now() {
    let (server, _token) = authed_server().await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/upgrades/{TASK}")))
        .and(header("content-type", "application/json"))
        .and(body_string(r#"{"upgradeNow":true}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": TASK, "bundleId": BUNDLE, "resourceType": "DOMAIN", "status": "SCHEDULED", "taskId": TASK,
            "resourceUpgradeSpecs": [ { "resourceId": DOMAIN, "upgradeNow": true } ] })))
        .expect(1)
        .mount(&server)
        .await;
    let upgrade = client(&server).commit_upgrade(TASK).await.expect("commit");
    assert_eq!(upgrade.status, Some(Status::Scheduled));
}
