//! A whole domain upgrade through the API at a tiny time scale.

use reqwest::Method;

use crate::common::{start, upgrade_walk};

#[tokio::test]
async fn management_domain_upgrades_in_vcf_order() {
    let (sim, mut api) = start("default", 0.0001).await;
    let r = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(
        r.upgraded,
        [
            "SDDC_MANAGER",
            "SDDC_MANAGER",
            "NSX_T_MANAGER",
            "VCENTER",
            "ESX_HOST"
        ],
        "SDDC Manager, its drift bundle, NSX, vCenter, ESXi"
    );
    assert!(
        r.old_token_refused,
        "tokens from before the restart must be refused"
    );
    assert_eq!(r.precheck_status, "COMPLETED_WITH_SUCCESS");
    assert_eq!(r.findings, 0);
    assert_eq!(r.validation, "COMPLETED/SUCCEEDED");

    let id = api.domain_id("sfo-m01").await;
    let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.1.0");
    let hosts = api.get(&format!("/v1/hosts?domainId={id}")).await;
    for h in hosts["elements"].as_array().unwrap() {
        assert_eq!(h["esxiVersion"], "8.0.3-24280767");
    }
    let sddc = api.get("/v1/sddc-managers").await;
    assert_eq!(sddc["elements"][0]["version"], "5.2.1.0-24307856");
    let vc = api.get(&format!("/v1/vcenters?domainId={id}")).await;
    assert_eq!(vc["elements"][0]["version"], "8.0.3.00300-24305161");
    let nsx = api.get("/v1/nsxt-clusters").await;
    assert_eq!(nsx["elements"][0]["version"], "4.2.1.0.0-24304122");
    assert_eq!(
        nsx["elements"][1]["version"], "4.2.0.0.0-24105817",
        "the VI domain's NSX is untouched"
    );
    // 5.2.2.0 needed 5.2.1.0 first; now it is applicable.
    let fr = api
        .get(&format!("/v1/releases/domains/{id}/future-releases"))
        .await;
    assert_eq!(fr["elements"][0]["version"], "5.2.2.0");
    assert_eq!(fr["elements"][0]["applicabilityStatus"], "APPLICABLE");
    // Every upgrade record survives and reads success.
    let ups = api.get("/v1/upgrades").await;
    let ups = ups["elements"].as_array().unwrap();
    assert_eq!(ups.len(), 5);
    assert!(ups.iter().all(|u| u["status"] == "COMPLETED_WITH_SUCCESS"));

    // The VI domain still runs 5.2.0.0; its SDDC Manager step is already done.
    let w = api.domain_id("sfo-w01").await;
    let rel = api.get(&format!("/v1/releases?domainId={w}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.0.0");
    let a = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{w}"),
            serde_json::json!({"targetVersion": "5.2.1.0"}),
        )
        .await;
    assert_eq!(a.status, 200);
    let up = api
        .get(&format!(
            "/v1/upgradables/domains/{w}?targetVersion=5.2.1.0"
        ))
        .await;
    let first = &up["elements"][0];
    assert_eq!(first["softwareComponents"][0]["type"], "NSX_T_MANAGER");
    assert_eq!(first["status"], "AVAILABLE");
    sim.shutdown().await;
}

#[tokio::test]
async fn vi_domain_upgrade_after_management() {
    let (sim, mut api) = start("default", 0.0001).await;
    let m = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(m.validation, "COMPLETED/SUCCEEDED");
    let w = upgrade_walk(&mut api, "sfo-w01").await;
    assert_eq!(w.upgraded, ["NSX_T_MANAGER", "VCENTER", "ESX_HOST"]);
    let id = api.domain_id("sfo-w01").await;
    let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.1.0");
    let state = api.get("/sim/state").await;
    assert_eq!(state["domains"][1]["version"], "5.2.1.0");
    sim.shutdown().await;
}

#[tokio::test]
async fn two_upgrades_in_a_row_through_the_stepping_stone() {
    let (sim, mut api) = start("default", 0.0001).await;
    let first = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(first.validation, "COMPLETED/SUCCEEDED");
    let second = upgrade_walk(&mut api, "sfo-m01").await;
    assert_eq!(
        second.upgraded,
        ["SDDC_MANAGER", "NSX_T_MANAGER", "VCENTER", "ESX_HOST"]
    );
    assert!(second.old_token_refused);
    let id = api.domain_id("sfo-m01").await;
    let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.2.0");
    let fr = api
        .get(&format!("/v1/releases/domains/{id}/future-releases"))
        .await;
    assert_eq!(fr["elements"].as_array().unwrap().len(), 0);
    let state = api.get("/sim/state").await;
    assert_eq!(state["restarts"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn draft_upgrade_waits_for_commit_and_mixed_case_tasks() {
    let scenario = vcf_sim::Scenario::from_toml_str(
        "base = \"default\"\nname = \"mixed\"\n[system]\ntask_status_case = \"mixed\"\n",
    )
    .unwrap();
    let (sim, mut api) = crate::common::start_with(scenario, 0.0001).await;
    let id = api.domain_id("sfo-m01").await;
    let a = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{id}"),
            serde_json::json!({"targetVersion": "5.2.1.0"}),
        )
        .await;
    assert_eq!(a.status, 200);
    let ups = api.get(&format!("/v1/upgradables/domains/{id}")).await;
    let bundle = ups["elements"][0]["bundleId"].as_str().unwrap().to_string();
    api.download(&bundle).await;
    let t = api
        .send(
            Method::POST,
            "/v1/upgrades",
            serde_json::json!({"bundleId": bundle, "resourceType": "DOMAIN", "draftMode": true,
                "resourceUpgradeSpecs": [{"resourceId": id}]}),
        )
        .await;
    assert_eq!(t.status, 202);
    let uid = t.body["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let u = api.get(&format!("/v1/upgrades/{uid}")).await;
    assert_eq!(u["status"], "DRAFT", "a draft does not start by itself");
    let task = api.get(&format!("/v1/tasks/{uid}")).await;
    assert_eq!(task["status"], "Pending");
    let c = api
        .send(
            Method::PATCH,
            &format!("/v1/upgrades/{uid}"),
            serde_json::json!({"upgradeNow": true}),
        )
        .await;
    assert_eq!(c.status, 200);
    let done = api
        .poll(&format!("/v1/upgrades/{uid}"), |u| {
            u["status"] == "COMPLETED_WITH_SUCCESS"
        })
        .await;
    assert!(done["endTime"].is_i64());
    let task = api.get(&format!("/v1/tasks/{uid}")).await;
    assert_eq!(task["status"], "Successful");
    let page = api.get("/v1/tasks?pageSize=1&pageNumber=1").await;
    assert_eq!(page["pageMetadata"]["pageNumber"], 1);
    assert_eq!(page["pageMetadata"]["pageSize"], 1);
    assert_eq!(page["elements"].as_array().unwrap().len(), 1);
    let total = page["pageMetadata"]["totalElements"].as_u64().unwrap();
    assert_eq!(page["pageMetadata"]["totalPages"].as_u64().unwrap(), total);
    sim.shutdown().await;
}
