//! Behaviour of every built-in scenario.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, WalkOptions, start, upgrade_walk, upgrade_walk_with};

#[tokio::test]
async fn precheck_warnings_do_not_fail_the_run() {
    let (sim, mut api) = start("precheck-warnings", 0.0001).await;
    let r = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(r.precheck_status, "COMPLETED_WITH_SUCCESS");
    assert_eq!(r.findings, 2);
    assert_eq!(r.validation, "COMPLETED/SUCCEEDED");
    sim.shutdown().await;
}

#[tokio::test]
async fn precheck_errors_fail_the_run_with_counts() {
    let (sim, mut api) = start("precheck-errors", 0.0001).await;
    let id = api.domain_id("sfo-m01").await;
    let (status, findings) = crate::common::check_sets(&mut api, &id, "5.2.1.0").await;
    assert_eq!(status, "COMPLETED_WITH_FAILURE");
    assert_eq!(findings, 2);
    let runs = api.get("/sim/state").await;
    let rid = runs["check_runs"][0]["id"].as_str().unwrap().to_string();
    let out = api.get(&format!("/v1/system/check-sets/{rid}")).await;
    let summary = &out["presentedArtifactsMap"]["validation-domain-summary"]["sfo-m01"];
    assert_eq!(summary["domainName"], "sfo-m01");
    assert_eq!(summary["errorValidationsCount"], 1.0);
    assert_eq!(summary["warningGapsCount"], 1.0);
    assert!(summary["validationsRunCount"].is_f64());
    assert_eq!(out["validationResult"]["context"]["severity"], "ERROR");
    let nested = out["validationResult"]["nestedErrors"].as_array().unwrap();
    let err = nested
        .iter()
        .find(|e| e["context"]["severity"] == "ERROR")
        .unwrap();
    assert_eq!(err["errorCode"], "ESX_MAINTENANCE_MODE_CHECK.error");
    assert_eq!(
        err["context"]["resourceName"],
        "sfo01-m01-esx02.sfo.rainpole.io"
    );
    assert!(err["remediationMessage"].is_string());
    // the 9.1 result filter: only the asked-for severities are listed, the summary stays
    let sevs = |v: &serde_json::Value| -> Vec<String> {
        v["validationResult"]["nestedErrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["context"]["severity"].as_str().unwrap().to_string())
            .collect()
    };
    let errors = api
        .get(&format!("/v1/system/check-sets/{rid}?severity=ERROR"))
        .await;
    assert_eq!(sevs(&errors), ["ERROR"]);
    assert_eq!(
        errors["presentedArtifactsMap"]["validation-domain-summary"]["sfo-m01"]["warningGapsCount"],
        1.0
    );
    let both = api
        .get(&format!(
            "/v1/system/check-sets/{rid}?severity=ERROR&severity=WARNING"
        ))
        .await;
    assert_eq!(sevs(&both).len(), 2);
    let all = api
        .get(&format!("/v1/system/check-sets/{rid}?severity=ALL"))
        .await;
    assert_eq!(sevs(&all), sevs(&out));
    sim.shutdown().await;
}

#[tokio::test]
async fn component_failure_then_retry() {
    let (sim, mut api) = start("component-failure", 0.0001).await;
    let r = upgrade_walk_with(
        &mut api,
        "sfo-m01",
        WalkOptions {
            retry_failures: true,
            stop_at: None,
        },
    )
    .await;
    assert_eq!(r.failures, ["VCENTER"]);
    assert_eq!(r.validation, "COMPLETED/SUCCEEDED");
    sim.shutdown().await;
}

#[tokio::test]
async fn hanging_component_never_finishes() {
    let (sim, mut api) = start("hanging-component", 0.0001).await;
    let r = upgrade_walk_with(
        &mut api,
        "sfo-m01",
        WalkOptions {
            retry_failures: false,
            stop_at: Some("NSX_T_MANAGER".into()),
        },
    )
    .await;
    let uid = r.stopped_at.unwrap();
    // 0.8 s real = 8000 simulated seconds, more than the 90-minute NSX upgrade.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let u = api.get(&format!("/v1/upgrades/{uid}")).await;
    assert_eq!(u["status"], "INPROGRESS");
    let id = api.domain_id("sfo-m01").await;
    let ups = api.get(&format!("/v1/upgradables/domains/{id}")).await;
    let statuses: Vec<&str> = ups["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "IN_PROGRESS");
    assert!(!statuses.contains(&"AVAILABLE"));
    sim.shutdown().await;
}

#[tokio::test]
async fn download_failure_then_retry() {
    let (sim, mut api) = start("download-failure", 0.0001).await;
    let bundles = api.get("/v1/bundles?productType=NSX_T_MANAGER").await;
    let b = bundles["elements"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/bundles/{b}");
    let t = api
        .send(
            Method::PATCH,
            &path,
            json!({"bundleDownloadSpec": {"downloadNow": true}}),
        )
        .await;
    assert_eq!(t.status, 202);
    let task = t.body["id"].as_str().unwrap().to_string();
    let done = api
        .poll(&path, |b| {
            b["downloadStatus"] == "FAILED" || b["downloadStatus"] == "SUCCESSFUL"
        })
        .await;
    assert_eq!(done["downloadStatus"], "FAILED");
    let task = api.get(&format!("/v1/tasks/{task}")).await;
    assert_eq!(task["status"], "FAILED");
    assert_eq!(task["errors"][0]["errorCode"], "BUNDLE_DOWNLOAD_FAILED");
    api.download(&b).await;
    sim.shutdown().await;
}

/// The failed validation's checks, once it has finished.
async fn finished_validation_checks(api: &mut Api) -> Vec<Value> {
    let v = api.get("/sim/state").await;
    let vid = v["validations"][0]["id"].as_str().unwrap().to_string();
    let v = api
        .get(&format!("/v1/releases/domains/validations/{vid}"))
        .await;
    v["validationChecks"].as_array().unwrap().clone()
}

#[tokio::test]
async fn validation_failure_scenario() {
    let (sim, mut api) = start("validation-failure", 0.0001).await;
    let r = upgrade_walk(&mut api, "sfo-m01").await;
    // It ran to the end and found a failure.
    assert_eq!(r.validation, "COMPLETED/FAILED");
    let checks = finished_validation_checks(&mut api).await;
    assert!(checks.iter().any(|c| c["severity"] == "ERROR"
        && c["resultStatus"] == "FAILED"
        && c["errorResponse"]["message"].is_string()
        && c["errorResponse"]["remediationMessage"].is_string()));
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_warnings_scenario() {
    let (sim, mut api) = start("validation-warnings", 0.0001).await;
    let r = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(r.validation, "COMPLETED/FAILED_WITH_WARNINGS");
    let checks = finished_validation_checks(&mut api).await;
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c["resultStatus"] == "FAILED")
        .collect();
    assert_eq!(failed.len(), 1, "{checks:?}");
    assert_eq!(failed[0]["severity"], "WARNING");
    assert!(failed[0]["errorResponse"]["message"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn up_to_date_has_nothing_to_do() {
    let (sim, mut api) = start("up-to-date", 1.0).await;
    for name in ["sfo-m01", "sfo-w01"] {
        let id = api.domain_id(name).await;
        let fr = api
            .get(&format!("/v1/releases/domains/{id}/future-releases"))
            .await;
        assert_eq!(fr["elements"].as_array().unwrap().len(), 0);
        let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
        assert_eq!(rel["elements"][0]["version"], "5.2.1.0");
        let d = api.get(&format!("/v1/domains/{id}")).await;
        assert_eq!(d["upgradeStatus"]["status"], "UP_TO_DATE");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_vi_domain_cannot_go_past_the_management_domain() {
    let (sim, mut api) = start("vi-behind-management", 1.0).await;
    let id = api.domain_id("sfo-w01").await;
    let fr = api
        .get(&format!("/v1/releases/domains/{id}/future-releases"))
        .await;
    let by_version = |v: &str| {
        fr["elements"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["version"] == v).cloned())
            .unwrap_or_default()
    };
    // the management domain's version is fine
    assert_eq!(by_version("5.2.1.0")["applicabilityStatus"], "APPLICABLE");
    let past = by_version("5.2.2.0");
    assert_eq!(past["applicabilityStatus"], "NOT_APPLICABLE");
    let reasons: Vec<String> = past["reasonsNotApplicable"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("management domain sfo-m01 (5.2.1.0)")),
        "{reasons:?}"
    );
    // nothing limits the management domain
    let m = api.domain_id("sfo-m01").await;
    let fr = api
        .get(&format!("/v1/releases/domains/{m}/future-releases"))
        .await;
    assert!(
        fr["elements"]
            .as_array()
            .is_some_and(|a| a.iter().all(|r| r["applicabilityStatus"] == "APPLICABLE")),
        "{fr}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn large_estate_in_one_page() {
    let (sim, mut api) = start("large", 1.0).await;
    let hosts = api.get("/v1/hosts").await;
    let n = hosts["elements"].as_array().unwrap().len();
    assert!(n >= 1000, "{n}");
    assert_eq!(hosts["pageMetadata"]["totalElements"], n);
    let domains = api.get("/v1/domains").await;
    assert!(domains["elements"].as_array().unwrap().len() >= 10);
    let mut fqdns: Vec<&str> = hosts["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["fqdn"].as_str().unwrap())
        .collect();
    fqdns.sort_unstable();
    fqdns.dedup();
    assert_eq!(fqdns.len(), n, "unique host names");
    sim.shutdown().await;
}

#[tokio::test]
async fn usage_moves_with_time_and_reset_restores_the_start() {
    let (sim, mut api) = start("default", 0.01).await;
    let a = api.get("/v1/hosts").await["elements"][0]["cpu"]["usedFrequencyMHz"].clone();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let b = api.get("/v1/hosts").await["elements"][0]["cpu"]["usedFrequencyMHz"].clone();
    assert_ne!(a, b, "a minute of simulated time moves CPU usage");
    let id = api.domain_id("sfo-m01").await;
    let r = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{id}"),
            json!({"targetVersion": "5.2.1.0"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let reset = api
        .raw(Method::POST, "/sim/reset", None, false)
        .await
        .unwrap();
    assert_eq!(reset.status, 200);
    api.login().await;
    let v = api.get(&format!("/v1/releases/domains/{id}")).await;
    assert_eq!(
        v["targetVersion"], "",
        "reset clears the target; ids stay the same"
    );
    let log = api.raw(Method::GET, "/sim/log", None, false).await.unwrap();
    assert_eq!(log.body.as_array().unwrap().len(), 2, "{}", log.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn restart_on_the_same_address_keeps_ids() {
    let (sim, mut api) = start("default", 1.0).await;
    let addr = sim.local_addr();
    let before = api.get("/v1/hosts").await;
    sim.shutdown().await;
    let mut opts = vcf_sim::SimOptions::new(addr);
    opts.time_scale = 1.0;
    let again = vcf_sim::start(vcf_sim::Scenario::builtin("default").unwrap(), opts)
        .await
        .unwrap();
    assert_eq!(again.local_addr(), addr);
    api.login().await;
    let after = api.get("/v1/hosts").await;
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&before), ids(&after));
    drop(again);
}

#[tokio::test]
async fn check_run_is_in_progress_first() {
    let (sim, mut api) = start("precheck-errors", 1.0).await;
    let id = api.domain_id("sfo-m01").await;
    let q = api
        .send(
            Method::POST,
            "/v1/system/check-sets/queries",
            json!({"checkSetType": "UPGRADE", "domains": [{"domainId": id}]}),
        )
        .await;
    let r = &q.body["resources"][0];
    let run = api
        .send(
            Method::POST,
            "/v1/system/check-sets",
            json!({"queryId": q.body["queryId"], "resources": [{
                "resourceName": r["resourceName"], "resourceId": r["resourceId"], "resourceType": r["resourceType"],
                "checkSets": [{"checkSetId": r["checkSets"][0]["checkSetId"]}]}]}),
        )
        .await;
    assert_eq!(run.status, 202);
    assert_eq!(run.body["status"], "IN_PROGRESS");
    let rid = run.body["id"].as_str().unwrap();
    let out = api.get(&format!("/v1/system/check-sets/{rid}")).await;
    assert_eq!(out["status"], "IN_PROGRESS");
    assert!(
        out["discoveryProgress"]["percentageComplete"]
            .as_i64()
            .unwrap()
            < 100
    );
    assert!(
        out.get("validationResult").is_none(),
        "findings only at the end"
    );
    let task = api.get(&format!("/v1/tasks/{rid}")).await;
    assert_eq!(task["status"], "IN_PROGRESS");
    sim.shutdown().await;
}

#[tokio::test]
async fn esxi_hosts_switch_one_after_the_other() {
    // 2 h per host (0.72 s real): the window with some hosts done is seconds wide.
    let scenario = vcf_sim::Scenario::from_toml_str(
        "base = \"default\"\nname = \"slow-esx\"\n[timing]\nesx_per_host = \"2h\"\n",
    )
    .unwrap();
    let (sim, mut api) = crate::common::start_with(scenario, 0.0001).await;
    let r = upgrade_walk_with(
        &mut api,
        "sfo-m01",
        WalkOptions {
            retry_failures: false,
            stop_at: Some("ESX_HOST".into()),
        },
    )
    .await;
    let uid = r.stopped_at.unwrap();
    let id = api.domain_id("sfo-m01").await;
    let path = format!("/v1/hosts?domainId={id}");
    let new = "8.0.3-24280767";
    let mid = api
        .poll(&path, |h| {
            let v: Vec<&str> = h["elements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["esxiVersion"].as_str().unwrap())
                .collect();
            v[0] == new && v[3] != new
        })
        .await;
    assert_ne!(mid["elements"][3]["esxiVersion"], new);
    let u = api.get(&format!("/v1/upgrades/{uid}")).await;
    assert_eq!(u["status"], "INPROGRESS");
    api.poll(&format!("/v1/upgrades/{uid}"), |u| {
        u["status"] == "COMPLETED_WITH_SUCCESS"
    })
    .await;
    let hosts = api.get(&path).await;
    assert!(
        hosts["elements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["esxiVersion"] == new)
    );
    sim.shutdown().await;
}
