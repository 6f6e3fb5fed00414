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
    assert_eq!(r.validation, "COMPLETED");

    let id = api.domain_id("sfo-m01").await;
    let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.1.0");
    let hosts = api.get(&format!("/v1/hosts?domainId={id}")).await;
    for h in hosts["elements"].as_array().unwrap() {
        assert_eq!(h["esxiVersion"], "8.0.3-24280767");
    }
    let sddc = api.get("/v1/sddc-managers").await;
    assert_eq!(sddc["elements"][0]["version"], "5.2.1.0-24307856");
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
    assert_eq!(m.validation, "COMPLETED");
    let w = upgrade_walk(&mut api, "sfo-w01").await;
    assert_eq!(w.upgraded, ["NSX_T_MANAGER", "VCENTER", "ESX_HOST"]);
    let id = api.domain_id("sfo-w01").await;
    let rel = api.get(&format!("/v1/releases?domainId={id}")).await;
    assert_eq!(rel["elements"][0]["version"], "5.2.1.0");
    let state = api.get("/sim/state").await;
    assert_eq!(state["domains"][1]["version"], "5.2.1.0");
    sim.shutdown().await;
}
