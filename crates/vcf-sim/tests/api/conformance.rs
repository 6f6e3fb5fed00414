//! Conformance: every response body the simulator produces is checked against the
//! OpenAPI schema of that operation's response in the official spec of the scenario's
//! version: VCF 5.2.1 for the 5.2 scenarios, VCF 9.0.2 for `vcf9` (vendored as test data:
//! `tests/data/vcf-api/vcf-5.2.1-openapi.json`, `vcf-9.0.2-openapi.json`).
//!
//! The check is stricter than OpenAPI itself so that a renamed or invented field fails:
//! - `$ref`s are resolved; every object schema with `properties` is closed
//!   (`additionalProperties: false`) unless it declares `additionalProperties`;
//! - a bare `{"type": "object"}` (a Java `Object` in the spec's generator) accepts any
//!   JSON object (any keys), but nothing else: the vendor's generated clients
//!   deserialise it as a map;
//! - every body is JSON, the refresh's string answer included (a JSON string);
//! - `required` properties must be present, JSON types must match (`int32` in range);
//! - real `enum`s are enforced, and so are the spec's enum-like texts: a string property
//!   whose `example` or `description` says "One among: A, B, C" must be one of them;
//! - answers outside the documented codes must be the spec's `Error` (the one exception:
//!   `POST /v1/tokens` answers 200 like real appliances, where the spec says 201);
//! - the one deliberately non-JSON answer, the HTML 503 of the outage, is skipped.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Api, Recorded, WalkOptions, check_sets, start, upgrade_walk_with};
use crate::schema::{load_spec, load_spec_of, one_among, operation, validate};

/// Checks one recorded answer; returns the operation template when it was checked.
pub(crate) fn check(spec: &Value, rec: &Recorded, errs: &mut Vec<String>) -> Option<String> {
    if rec.status == 503 && rec.content_type.starts_with("text/html") {
        return None;
    }
    let Some((template, op)) = operation(spec, &rec.method, &rec.path) else {
        errs.push(format!(
            "{} {}: not an operation of the spec",
            rec.method, rec.path
        ));
        return None;
    };
    let name = format!("{} {template}", rec.method);
    let at = format!("{name} [{}]", rec.status);
    let response = &op["responses"][rec.status.to_string()];
    let schema = if response.is_object() {
        match response.pointer("/content/application~1json/schema") {
            Some(s) => s.clone(),
            None => {
                if !rec.body.trim().is_empty() {
                    errs.push(format!(
                        "{at}: the spec documents no body, got {}",
                        rec.body
                    ));
                }
                return Some(name);
            }
        }
    } else if rec.status >= 400 {
        json!({"$ref": "#/components/schemas/Error"})
    } else if name == "POST /v1/tokens" && rec.status == 200 {
        // The spec says 201; the product documentation and real appliances answer 200,
        // and so does the simulator. The body is the documented 201 body.
        op["responses"]["201"]["content"]["application/json"]["schema"].clone()
    } else {
        errs.push(format!("{at}: status not documented"));
        return Some(name);
    };
    let body: Value = match serde_json::from_str(&rec.body) {
        Ok(v) => v,
        Err(e) => {
            errs.push(format!("{at}: body is not JSON ({e}): {}", rec.body));
            return Some(name);
        }
    };
    validate(spec, &schema, &body, &at, errs);
    Some(name)
}

/// Error answers the simulator gives (recorded into `api`'s log).
async fn provoke_errors(api: &mut Api) {
    let id = api.domain_id("sfo-w01").await;
    api.raw(
        Method::POST,
        "/v1/tokens",
        Some(json!({"username": "x", "password": "y"})),
        false,
    )
    .await
    .unwrap();
    api.raw(Method::GET, "/v1/hosts", None, false)
        .await
        .unwrap();
    api.call(Method::GET, "/v1/domains/nope", None).await;
    api.call(Method::GET, "/v1/clusters/nope", None).await;
    api.call(Method::GET, "/v1/hosts/nope", None).await;
    api.call(Method::GET, "/v1/bundles/nope", None).await;
    api.call(Method::GET, "/v1/tasks/nope", None).await;
    api.call(Method::GET, "/v1/upgrades/nope", None).await;
    api.call(Method::GET, "/v1/system/check-sets/nope", None)
        .await;
    api.call(Method::GET, "/v1/releases/domains/validations/nope", None)
        .await;
    api.call(
        Method::GET,
        "/v1/releases/domains/nope/future-releases",
        None,
    )
    .await;
    let target = format!("/v1/releases/domains/{id}");
    for body in [
        json!({"targetVersion": "9.9.9.9"}),
        json!({"targetVersion": "5.2.2.0"}),
        json!({"targetVersion": "5.2.1.0", "patches": []}),
    ] {
        api.send(Method::PATCH, &target, body).await;
    }
    api.send(
        Method::POST,
        &format!("{target}/validations"),
        json!({"targetVersion": "1.0.0.0"}),
    )
    .await;
    api.send(Method::PATCH, &target, json!({"targetVersion": "5.2.1.0"}))
        .await;
    let ups = api.get(&format!("/v1/upgradables/domains/{id}")).await;
    let nsx = ups["elements"][0]["bundleId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let vc = ups["elements"][1]["bundleId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let spec = |b: &str| json!({"bundleId": b, "resourceType": "DOMAIN", "resourceUpgradeSpecs": [{"resourceId": id}]});
    api.send(Method::POST, "/v1/upgrades", spec(&vc)).await;
    api.send(Method::POST, "/v1/upgrades", spec("nope")).await;
    let dl = json!({"bundleDownloadSpec": {"downloadNow": true}});
    api.send(Method::PATCH, &format!("/v1/bundles/{nsx}"), dl.clone())
        .await;
    api.send(Method::PATCH, &format!("/v1/bundles/{nsx}"), dl)
        .await;
    let tasks = api.get("/v1/tasks?pageSize=1&pageNumber=0").await;
    let task = tasks["elements"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    api.call(Method::PATCH, &format!("/v1/tasks/{task}"), None)
        .await;
    api.send(
        Method::POST,
        "/v1/system/check-sets/queries",
        json!({"checkSetType": "UPGRADE", "domains": [{"domainId": "nope"}]}),
    )
    .await;
    api.send(
        Method::POST,
        "/v1/system/check-sets",
        json!({"queryId": "nope", "resources": [{"resourceId": "x"}]}),
    )
    .await;
    // Refresh: a good one (bare string answer) and an unknown id.
    let pair = api
        .raw(
            Method::POST,
            "/v1/tokens",
            Some(json!({"username": api.user, "password": api.pass})),
            false,
        )
        .await
        .unwrap();
    let rid = pair.body["refreshToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for body in [rid, "0000".to_string()] {
        let r = api
            .http
            .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await.unwrap();
        api.log.lock().unwrap().push(Recorded {
            method: "PATCH".into(),
            path: "/v1/tokens/access-token/refresh".into(),
            status,
            content_type: ct,
            body,
        });
    }
}

/// The endpoints whose 2xx bodies must have been checked.
const COVERED: &[&str] = &[
    "POST /v1/tokens",
    "PATCH /v1/tokens/access-token/refresh",
    "GET /v1/domains",
    "GET /v1/domains/{id}",
    "GET /v1/clusters",
    "GET /v1/clusters/{id}",
    "GET /v1/hosts",
    "GET /v1/hosts/{id}",
    "GET /v1/sddc-managers",
    "GET /v1/sddc-managers/{id}",
    "GET /v1/vcenters",
    "GET /v1/nsxt-clusters",
    "GET /v1/personalities",
    "GET /v1/releases",
    "GET /v1/releases/domains",
    "GET /v1/releases/domains/{domainId}",
    "PATCH /v1/releases/domains/{domainId}",
    "GET /v1/releases/domains/{domainId}/future-releases",
    "POST /v1/releases/domains/{domainId}/validations",
    "GET /v1/releases/domains/validations/{validationId}",
    "GET /v1/bundles",
    "GET /v1/bundles/{id}",
    "PATCH /v1/bundles/{id}",
    "GET /v1/upgradables/domains/{domainId}",
    "GET /v1/upgradables/domains/{domainId}/clusters",
    "POST /v1/system/check-sets/queries",
    "POST /v1/system/check-sets",
    "GET /v1/system/check-sets",
    "GET /v1/system/check-sets/{runId}",
    "POST /v1/upgrades",
    "GET /v1/upgrades",
    "GET /v1/upgrades/{upgradeId}",
    "POST /v1/upgrades/{upgradeId}/prechecks",
    "GET /v1/upgrades/{upgradeId}/prechecks/{precheckId}",
    "GET /v1/tasks",
    "GET /v1/tasks/{id}",
    "PATCH /v1/tasks/{id}",
];

#[tokio::test]
async fn every_response_matches_the_openapi_schema() {
    let spec = load_spec();
    let mut records: Vec<Recorded> = Vec::new();

    // A whole upgrade with a failing and retried component, warnings and errors.
    let (sim, mut api) = start("component-failure", 0.0001).await;
    let opts = WalkOptions {
        retry_failures: true,
        stop_at: None,
    };
    let report = upgrade_walk_with(&mut api, "sfo-m01", opts).await;
    assert_eq!(report.failures, ["VCENTER"]);
    provoke_errors(&mut api).await;
    records.extend(api.log.lock().unwrap().drain(..));
    sim.shutdown().await;

    let (sim, mut api) = start("precheck-errors", 0.0001).await;
    let id = api.domain_id("sfo-m01").await;
    check_sets(&mut api, &id, "5.2.1.0").await;
    records.extend(api.log.lock().unwrap().drain(..));
    sim.shutdown().await;

    // Validations after the target is set (failed, with warnings), and one of a target not yet
    // set that fails.
    for (scenario, set_target) in [
        ("validation-failure", true),
        ("validation-warnings", true),
        ("target-validation-failure", false),
    ] {
        let (sim, mut api) = start(scenario, 0.0001).await;
        let id = api.domain_id("sfo-m01").await;
        if set_target {
            let r = api
                .send(
                    Method::PATCH,
                    &format!("/v1/releases/domains/{id}"),
                    json!({"targetVersion": "5.2.1.0"}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let v = api
            .send(
                Method::POST,
                &format!("/v1/releases/domains/{id}/validations"),
                json!({"targetVersion": "5.2.1.0"}),
            )
            .await;
        let vid = v.body["id"].as_str().unwrap().to_string();
        api.poll(&format!("/v1/releases/domains/validations/{vid}"), |v| {
            v["executionStatus"] != "IN_PROGRESS"
        })
        .await;
        records.extend(api.log.lock().unwrap().drain(..));
        sim.shutdown().await;
    }

    // vLCM images: the personalities before and after an import, and the refusal of a CLUSTER
    // upgrade of an image-managed cluster without a personality.
    let (sim, mut api) = start("vlcm-images", 0.0001).await;
    let before = api.get("/v1/personalities").await;
    assert_eq!(before["elements"].as_array().map(Vec::len), Some(1));
    let added = api
        .send(
            Method::POST,
            "/sim/personalities",
            json!({"name": "esx-803-24280767", "esxi_version": "8.0.3-0.35.24280767"}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let after = api.get("/v1/personalities").await;
    assert_eq!(after["elements"].as_array().map(Vec::len), Some(2));
    let clusters = api.get("/v1/clusters").await;
    let cluster = clusters["elements"][0].clone();
    assert_eq!(cluster["isImageBased"], true);
    let bundles = api.get("/v1/bundles").await;
    let refused = api
        .send(
            Method::POST,
            "/v1/upgrades",
            json!({"bundleId": bundles["elements"][0]["id"], "resourceType": "CLUSTER",
                   "resourceUpgradeSpecs": [{"resourceId": cluster["id"], "upgradeNow": true}]}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        refused.body["errorCode"],
        "UPGRADE_SPEC_PERSONALITY_REQUIRED"
    );
    records.extend(
        api.log
            .lock()
            .unwrap()
            .drain(..)
            .filter(|r| !r.path.starts_with("/sim/")),
    );
    sim.shutdown().await;

    let (sim, mut api) = start("large", 1.0).await;
    api.get("/v1/hosts").await;
    api.get("/v1/domains").await;
    api.get("/v1/clusters").await;
    records.extend(api.log.lock().unwrap().drain(..));
    sim.shutdown().await;

    let errors_checked = records
        .iter()
        .filter(|r| r.status >= 400 && r.status != 503)
        .count();
    assert!(
        errors_checked >= 20,
        "error bodies checked: {errors_checked}"
    );
    assert_conforms(&spec, &records, COVERED);
}

/// Checks every recorded answer against `spec`; fails on any violation, or when an endpoint
/// of `covered` had no checked 2xx answer.
pub(crate) fn assert_conforms(spec: &Value, records: &[Recorded], covered: &[&str]) {
    let mut errs = Vec::new();
    let mut checked_ok = std::collections::BTreeSet::new();
    for rec in records {
        if let Some(name) = check(spec, rec, &mut errs)
            && (200..300).contains(&rec.status)
        {
            checked_ok.insert(name);
        }
    }
    let missing: Vec<&&str> = covered
        .iter()
        .filter(|e| !checked_ok.contains(**e))
        .collect();
    assert!(
        missing.is_empty(),
        "endpoints without a checked 2xx answer: {missing:?}"
    );
    errs.sort();
    errs.dedup();
    assert!(
        errs.is_empty(),
        "{} schema violations in {} answers:\n{}",
        errs.len(),
        records.len(),
        errs.join("\n")
    );
}

/// Endpoints the `vcf9` recording must have checked with a 2xx answer.
const COVERED_VCF9: &[&str] = &[
    "GET /v1/sddc-managers",
    "GET /v1/releases",
    "GET /v1/releases/domains/{domainId}/future-releases",
    "GET /v1/bundles",
    "PATCH /v1/releases/domains/{domainId}",
    "GET /v1/upgradables/domains/{domainId}",
    "POST /v1/upgrades",
    "GET /v1/upgrades/{upgradeId}",
    "POST /v1/system/check-sets/queries",
    "POST /v1/system/check-sets",
    "GET /v1/releases/domains/validations/{validationId}",
];

#[tokio::test]
async fn every_vcf9_response_matches_the_9_0_2_schema() {
    let spec = load_spec_of("9.0.2");
    // A whole 9.0 -> 9.1 upgrade of the management domain: SDDC Manager restart (and its 409),
    // versionless BOM entries, no `isApplicable`, a validation with `WARNING`.
    let (sim, mut api) = start("vcf9", 0.0001).await;
    let report = upgrade_walk_with(&mut api, "sfo-m01", WalkOptions::default()).await;
    assert_eq!(report.validation, "COMPLETED/WARNING");
    // The VI domain's vCenter 8 -> 9 upgrade without a temporary network: the 400 `Error`.
    let id = api.domain_id("sfo-w01").await;
    let fr = api
        .get(&format!("/v1/releases/domains/{id}/future-releases"))
        .await;
    assert!(
        fr["elements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("isApplicable").is_none()),
        "{fr}"
    );
    let r = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{id}"),
            json!({"targetVersion": "9.0.1.0"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bundles = api.get("/v1/bundles").await;
    let vc = bundles["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            b["components"][0]["type"] == "VCENTER"
                && b["version"].as_str().unwrap().starts_with("9.0.1")
        })
        .expect("the 9.0.1 vCenter bundle")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = api
        .send(
            Method::POST,
            "/v1/upgrades",
            json!({"bundleId": vc, "resourceType": "DOMAIN",
                   "resourceUpgradeSpecs": [{"resourceId": id, "upgradeNow": true}]}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        refused.body["errorCode"],
        "VCENTER_UPGRADE_TEMPORARY_NETWORK_REQUIRED"
    );
    let records: Vec<Recorded> = api.log.lock().unwrap().drain(..).collect();
    sim.shutdown().await;
    assert!(
        records.iter().any(|r| r.status == 409),
        "no 409 recorded after the SDDC Manager restart"
    );

    assert_conforms(&spec, &records, COVERED_VCF9);
}

#[test]
fn the_check_catches_renamed_fields_and_invented_values() {
    let spec = load_spec();
    let domain = json!({"$ref": "#/components/schemas/Domain"});
    let good = json!({
        "id": "d", "name": "sfo-m01", "status": "ACTIVE", "type": "MANAGEMENT",
        "capacity": {"cpu": {"used": {"value": 1.5, "unit": "GHz"}}},
        "upgradeStatus": {"status": "UP_TO_DATE", "completedResources": 0},
    });
    let mut errs = Vec::new();
    validate(&spec, &domain, &good, "Domain", &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
    let cases = [
        ("/status", json!("HEALTHY")),             // invented "One among" value
        ("/capacity/cpu/used/unit", json!("Ghz")), // invented enum value
        ("/upgradeStatus/completedResources", json!(1.5)), // wrong type
    ];
    for (pointer, value) in cases {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        let mut errs = Vec::new();
        validate(&spec, &domain, &bad, "Domain", &mut errs);
        assert!(!errs.is_empty(), "{pointer} must be caught");
    }
    let mut renamed = good.clone();
    let status = renamed.as_object_mut().unwrap().remove("status").unwrap();
    renamed["state"] = status;
    let mut errs = Vec::new();
    validate(&spec, &domain, &renamed, "Domain", &mut errs);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("state"));
    // A required field missing from a Task.
    let mut errs = Vec::new();
    validate(
        &spec,
        &json!({"$ref": "#/components/schemas/Task"}),
        &json!({"id": "t", "name": "n", "status": "SUCCESSFUL"}),
        "Task",
        &mut errs,
    );
    assert!(
        errs.iter().any(|e| e.contains("creationTimestamp")),
        "{errs:?}"
    );
    assert_eq!(
        one_among("x. One among: medium, large,xlarge. Default value if not provided is medium"),
        Some(vec![
            "medium".to_string(),
            "large".to_string(),
            "xlarge".to_string()
        ])
    );
}
