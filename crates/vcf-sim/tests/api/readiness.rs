//! The readiness answers against the official specs: every answer of the readiness endpoints,
//! in each depot and backup state, validates against the 5.2.1 spec (and on a 9.x SDDC Manager
//! against the 9.0.2 spec); a backup task runs on the simulated clock; a failed history task is
//! retried.

use reqwest::Method;
use serde_json::json;
use vcf_sim::Scenario;

use crate::common::{Api, Recorded, start, start_with};
use crate::conformance::assert_conforms;
use crate::schema::{load_spec, load_spec_of};

const COVERED: &[&str] = &[
    "GET /v1/credentials",
    "POST /v1/credentials/expirations",
    "GET /v1/credentials/expirations/{id}",
    "GET /v1/domains/{id}/resource-certificates",
    "GET /v1/system/backup-configuration",
    "POST /v1/backups/tasks",
    "GET /v1/system/settings/depot",
    "GET /v1/tasks",
];

async fn read_everything(api: &mut Api) {
    api.get("/v1/credentials").await;
    let check = api
        .send(
            Method::POST,
            "/v1/credentials/expirations",
            json!({"resourceType": "VCENTER"}),
        )
        .await;
    let id = check.body["id"].as_str().unwrap().to_owned();
    api.poll(&format!("/v1/credentials/expirations/{id}"), |v| {
        v["status"] == "COMPLETED"
    })
    .await;
    for d in ["sfo-m01", "sfo-w01"] {
        let id = api.domain_id(d).await;
        api.get(&format!("/v1/domains/{id}/resource-certificates"))
            .await;
    }
    api.get("/v1/system/backup-configuration").await;
    api.get("/v1/system/settings/depot").await;
    api.get("/v1/tasks?completedAfter=0&pageSize=100").await;
    api.get("/v1/tasks?taskType=SDDCMANAGER_BACKUP").await;
}

fn drain(api: &Api) -> Vec<Recorded> {
    api.log.lock().unwrap().drain(..).collect()
}

#[tokio::test]
async fn every_readiness_answer_matches_the_specs() {
    let mut records = Vec::new();
    let (sim, mut api) = start("readiness-warnings", 0.0001).await;
    read_everything(&mut api).await;
    let task = api
        .send(
            Method::POST,
            "/v1/backups/tasks",
            json!({"elements": [{"resourceType": "SDDC_MANAGER"}]}),
        )
        .await;
    assert_eq!(task.status, 202);
    let id = task.body["id"].as_str().unwrap().to_owned();
    // readiness-warnings: 120 simulated seconds, 12 ms here.
    let done = api
        .poll(&format!("/v1/tasks/{id}"), |v| v["status"] != "IN_PROGRESS")
        .await;
    assert_eq!(done["status"], "SUCCESSFUL");
    assert_eq!(done["type"], "SDDCMANAGER_BACKUP");
    records.extend(drain(&api));
    sim.shutdown().await;

    // No depot account, no backup server: Back Up Now is a 400 `Error`.
    let bare = Scenario::from_toml_str(
        "base = \"default\"\nname = \"bare\"\n[readiness]\ndepot = \"not_configured\"\nbackup_configured = false\n",
    )
    .unwrap();
    let (sim, mut api) = start_with(bare, 0.0001).await;
    read_everything(&mut api).await;
    let refused = api
        .send(
            Method::POST,
            "/v1/backups/tasks",
            json!({"elements": [{"resourceType": "SDDC_MANAGER"}]}),
        )
        .await;
    assert_eq!(refused.status, 400);
    records.extend(drain(&api));
    sim.shutdown().await;
    assert_conforms(&load_spec(), &records, COVERED);

    // 9.x: a download token that expired.
    let nine = Scenario::from_toml_str(
        "base = \"vcf9\"\nname = \"nine\"\n[readiness]\ndepot = \"token_expired\"\n",
    )
    .unwrap();
    let (sim, mut api) = start_with(nine, 0.0001).await;
    read_everything(&mut api).await;
    let depot = api.get("/v1/system/settings/depot").await;
    assert_eq!(depot["vmwareAccount"]["status"], "DEPOT_INVALID_CREDENTIAL");
    assert!(depot["vmwareAccount"]["downloadToken"].is_string());
    let sync = api.get("/v1/system/settings/depot/depot-sync-info").await;
    assert_eq!(sync["syncStatus"], "FAILED");
    let records = drain(&api);
    sim.shutdown().await;
    let mut covered = COVERED.to_vec();
    covered.retain(|e| *e != "POST /v1/backups/tasks");
    covered.push("GET /v1/system/settings/depot/depot-sync-info");
    assert_conforms(&load_spec_of("9.0.2"), &records, &covered);
}

#[tokio::test]
async fn a_failed_history_task_is_listed_and_retried() {
    let (sim, mut api) = start("readiness-warnings", 0.0001).await;
    let tasks = api.get("/v1/tasks?completedAfter=0").await;
    let failed: Vec<_> = tasks["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "FAILED")
        .cloned()
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["isRetryable"], true);
    let id = failed[0]["id"].as_str().unwrap().to_owned();
    let retried = api
        .call(Method::PATCH, &format!("/v1/tasks/{id}"), None)
        .await;
    assert_eq!(retried.status, 200);
    let done = api
        .poll(&format!("/v1/tasks/{id}"), |v| v["status"] == "SUCCESSFUL")
        .await;
    assert_eq!(done["isRetryable"], false);
    sim.shutdown().await;
}

/// 9.x readiness additions against the 9.0.2 spec: notifications (a bare array, one raised
/// through `/sim/notifications` appended with the current time), and each cluster's image
/// compliance in every status, the 404 `Error` of a cluster without a result included. On 5.2
/// neither path exists.
#[tokio::test]
async fn vcf9_notifications_and_image_compliance_match_the_9_0_2_spec() {
    let (sim, mut api) = start("vcf9-readiness", 0.0001).await;
    let list = api.get("/v1/notifications").await;
    let list = list.as_array().expect("a bare array").clone();
    let severities: Vec<&str> = list.iter().filter_map(|n| n["severity"].as_str()).collect();
    assert_eq!(severities, ["INFO", "WARNING", "ERROR"]);
    let error = &list[2];
    assert_eq!(error["domain"]["name"], "sfo-w01");
    assert_eq!(error["resources"][0]["type"], "VCENTER");
    assert_eq!(
        error["resources"][0]["name"],
        "sfo-w01-vc01.sfo.rainpole.io"
    );
    assert!(list[1]["expirationTimestamp"].is_string());

    let raised = reqwest::Client::new()
        .post(format!("{}/sim/notifications", api.base))
        .json(&json!({"severity": "CRITICAL", "type": "HOST_DISCONNECTED", "message": "host lost"}))
        .send()
        .await
        .unwrap();
    assert_eq!(raised.status(), 200);
    let refused = reqwest::Client::new()
        .post(format!("{}/sim/notifications", api.base))
        .json(&json!({"severity": "ERROR", "type": "X", "message": "m", "domain": "nowhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("nowhere"));
    let list = api.get("/v1/notifications").await;
    assert_eq!(list.as_array().map(Vec::len), Some(4));
    assert_eq!(list[3]["severity"], "CRITICAL");

    let clusters = api.get("/v1/clusters").await;
    let mut statuses = Vec::new();
    for c in clusters["elements"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let v = api
            .get(&format!("/v1/clusters/{id}/image-compliance"))
            .await;
        assert_eq!(v["cluster"]["id"], id);
        statuses.push((
            c["name"].as_str().unwrap().to_owned(),
            v["status"].as_str().unwrap().to_owned(),
            v["imageComplianceDetails"].as_array().unwrap().len(),
        ));
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("sfo-m01-cl01".to_owned(), "NON_COMPLIANT".to_owned(), 4),
            ("sfo-w01-cl01".to_owned(), "INCOMPATIBLE".to_owned(), 1),
        ]
    );
    let mut records = drain(&api);
    sim.shutdown().await;

    // vcf9: the 5.2 VI cluster has no result (the spec's 404), the management one is compliant.
    let (sim, mut api) = start("vcf9", 0.0001).await;
    let clusters = api.get("/v1/clusters").await;
    for c in clusters["elements"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let a = api
            .call(
                Method::GET,
                &format!("/v1/clusters/{id}/image-compliance"),
                None,
            )
            .await;
        match c["name"].as_str().unwrap() {
            "sfo-m01-cl01" => {
                assert_eq!(a.status, 200);
                assert_eq!(a.body["status"], "COMPLIANT");
            }
            _ => {
                assert_eq!(a.status, 404, "{}", a.body);
                assert!(a.body["errorCode"].is_string());
            }
        }
    }
    records.extend(drain(&api));
    sim.shutdown().await;
    assert_conforms(
        &load_spec_of("9.0.2"),
        &records,
        &[
            "GET /v1/notifications",
            "GET /v1/clusters/{id}/image-compliance",
        ],
    );

    // 5.2: neither exists.
    let (sim, mut api) = start("default", 0.0001).await;
    let a = api.call(Method::GET, "/v1/notifications", None).await;
    assert_eq!(a.status, 404);
    sim.shutdown().await;
}
