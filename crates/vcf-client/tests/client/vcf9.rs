//! VCF 9.x: the SDDC Manager version read at login, the new 4xx answers (409 "inventory cache
//! is not seeded", 422 on the target PATCH), BOM entries without version, `isApplicable`
//! absent, and `/v1/hosts` paging with `page`.

use chrono::Utc;
use serde_json::json;
use vcf_client::{VcfError, release_bundles, select_next_release};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn mount_sddc_manager(server: &MockServer, version: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/sddc-managers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([{
            "id": "a4c1f2e3-0000-4000-8000-000000000001",
            "fqdn": "sfo-vcf01.sfo.rainpole.io",
            "version": version,
        }]))))
        .mount(server)
        .await;
}

fn not_seeded() -> ResponseTemplate {
    // Spec 9.0.2: `GET /v1/system/upgradables` answers 409 with an `Error`.
    ResponseTemplate::new(409).set_body_json(json!({
        "errorCode": "INVENTORY_CACHE_NOT_SEEDED",
        "message": "The inventory cache is not seeded yet",
        "referenceToken": "K3S2AB"
    }))
}

#[tokio::test]
async fn the_version_is_read_at_login() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    mount_sddc_manager(&server, "9.0.1.0-24962180").await;
    let client = client(&server);
    assert_eq!(client.sddc_manager_version(), None);
    client.login().await.expect("login");
    assert_eq!(
        client.sddc_manager_version().as_deref(),
        Some("9.0.1.0-24962180")
    );
    assert_eq!(client.sddc_manager_major(), Some(9));
}

#[tokio::test]
async fn a_login_without_a_readable_version_still_succeeds() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    let client = client(&server);
    client.login().await.expect("login");
    assert_eq!(client.sddc_manager_version(), None);
}

#[tokio::test]
async fn inventory_cache_not_seeded_is_retried_until_it_is() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/upgradables/domains/d1"))
        .respond_with(not_seeded())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/upgradables/domains/d1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([]))))
        .expect(1)
        .mount(&server)
        .await;
    let list = client(&server)
        .upgradables("d1", Some("9.1.0.0"))
        .await
        .expect("answered after the retry");
    assert!(list.is_empty());
}

#[tokio::test]
async fn inventory_cache_not_seeded_is_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/upgradables/domains/d1"))
        .respond_with(not_seeded())
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server)
        .upgradables("d1", None)
        .await
        .expect_err("still not seeded");
    assert!(err.is_inventory_cache_not_seeded(), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(err.http_status(), Some(409));
}

#[tokio::test]
async fn other_conflicts_are_not_retried() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/upgradables/domains/d1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "errorCode": "UPGRADE_IN_PROGRESS", "message": "An upgrade is in progress"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .upgradables("d1", None)
        .await
        .expect_err("conflict");
    assert!(!err.is_inventory_cache_not_seeded());
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_422_on_the_target_patch_carries_vcf_message_and_is_not_retried() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("PATCH"))
        .and(path("/v1/releases/domains/d1"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errorCode": "TARGET_VERSION_NOT_APPLICABLE",
            "message": "Target version 9.1.0.0 cannot be set: the management domain is on 9.0.1.0",
            "remediationMessage": "Upgrade the management domain first"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .set_target_version("d1", "9.1.0.0")
        .await
        .expect_err("422");
    assert!(matches!(err, VcfError::Api { status: 422, .. }), "{err:?}");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains("HTTP 422") && text.contains("management domain is on 9.0.1.0"),
        "{text}"
    );
}

#[tokio::test]
async fn hosts_are_paged_with_page_on_vcf9() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    mount_sddc_manager(&server, "9.0.1.0-24962180").await;
    Mock::given(method("GET"))
        .and(path("/v1/hosts"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"id": "h2", "fqdn": "esx02.lab"}],
            "pageMetadata": {"pageNumber": 1, "pageSize": 1, "totalElements": 2, "totalPages": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/hosts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"id": "h1", "fqdn": "esx01.lab"}],
            "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalElements": 2, "totalPages": 2}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client.login().await.expect("login");
    let ids: Vec<String> = client
        .hosts()
        .await
        .expect("hosts")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, ["h1", "h2"]);
}

#[test]
fn a_vcf9_release_answer_reads_without_versions_and_without_is_applicable() {
    // Shapes of the 9.0.2 spec: `bom[].version` and `minCompatibleVcfVersion` optional,
    // `changeId` and `lifecycleManagedBy` added, no `isApplicable`.
    let future: Vec<vcf_client::FutureRelease> = serde_json::from_value(json!([{
        "product": "VCF", "version": "9.1.0.0",
        "releaseDate": "2025-11-20T00:00:00.000Z",
        "applicabilityStatus": "APPLICABLE",
        "bom": [
            {"name": "VCENTER", "publicName": "VMware vCenter", "changeId": "25101240",
             "lifecycleManagedBy": "SDDC_MANAGER_VCF"},
            {"name": "ESX_HOST", "publicName": "VMware ESXi", "version": "9.1.0.0-25101250"}
        ]
    }]))
    .expect("9.x future releases");
    let next = select_next_release(&"9.0.1.0".parse().expect("v"), &future).expect("next");
    assert_eq!(next.bom[0].version(), None);
    assert_eq!(next.bom[0].change_id.as_deref(), Some("25101240"));
    let bundles: Vec<vcf_client::Bundle> = serde_json::from_value(json!([
        {"id": "vc", "type": "VMWARE_SOFTWARE", "version": "9.1.0.0-25101240",
         "downloadStatus": "PENDING",
         "components": [{"type": "VCENTER", "imageType": "PATCH", "toVersion": "9.1.0.0-25101240"}]},
        {"id": "esx", "type": "VMWARE_SOFTWARE", "version": "9.1.0.0-25101250",
         "downloadStatus": "PENDING",
         "components": [{"type": "HOST", "imageType": "PATCH", "toVersion": "9.1.0.0-25101250"}]}
    ]))
    .expect("bundles");
    let ids: Vec<&str> = release_bundles(next, &bundles)
        .iter()
        .map(|b| b.id.as_str())
        .collect();
    assert_eq!(ids, ["vc", "esx"]);
}
