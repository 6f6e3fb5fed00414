//! What the simulated API refuses, with the spec's `Error` body.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::start;

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["referenceToken"].as_str().map(str::len),
        Some(6),
        "{body}"
    );
}

#[tokio::test]
async fn authentication_errors() {
    let (sim, mut api) = start("default", 1.0).await;
    let bad = api
        .raw(
            Method::POST,
            "/v1/tokens",
            Some(json!({"username": "admin@local", "password": "wrong"})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 401);
    assert_error(&bad.body, "AUTHENTICATION_FAILED");

    let none = api
        .raw(Method::GET, "/v1/domains", None, false)
        .await
        .unwrap();
    assert_eq!(none.status, 401);
    assert_error(&none.body, "AUTHENTICATION_REQUIRED");

    let saved = api.token.clone();
    api.token = "eyJhbGciOiJIUzI1NiJ9.e30.forged".into();
    let forged = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(forged.status, 401);
    assert_error(&forged.body, "INVALID_TOKEN");
    api.token = saved;

    // Refresh: the bare id and a quoted id both work; unknown ids are 404.
    let pair = api
        .raw(
            Method::POST,
            "/v1/tokens",
            Some(json!({"username": api.user, "password": api.pass})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(pair.status, 200);
    let rid = pair.body["refreshToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for body in [rid.clone(), format!("\"{rid}\"")] {
        let r = api
            .http
            .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let token = r.text().await.unwrap();
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    }
    let r = api
        .http
        .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
        .header("content-type", "application/json")
        .body("3c6b3c30-3bf2-480b-9539-8483699ab911")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = api
        .http
        .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
        .body(rid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "Content-Type is required");

    // A restart invalidates access and refresh tokens.
    let ok = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"restart": true})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.status, 200);
    let after = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(after.status, 401);
    assert_error(&after.body, "INVALID_TOKEN");
    let r = api
        .http
        .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
        .header("content-type", "application/json")
        .body(rid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn garbage_refresh_and_the_nginx_header_limit() {
    let (sim, mut api) = start("default", 1.0).await;
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
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"garbage_refresh": true})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.body["garbage_refresh"], true);
    let refresh = || {
        api.http
            .patch(format!("{}/v1/tokens/access-token/refresh", api.base))
            .header("content-type", "application/json")
            .body(rid.clone())
            .send()
    };
    let r = refresh().await.unwrap();
    assert_eq!(r.status(), 200);
    let garbage: String = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(garbage.len() > 8 * 1024 && !garbage.contains('.'));

    // Sent back as a bearer token, nginx refuses the header before SDDC Manager sees it.
    let saved = std::mem::replace(&mut api.token, garbage);
    let refused = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(refused.status, 400);
    let page = refused.body.as_str().unwrap_or_default().to_owned();
    assert!(
        page.contains("Request Header Or Cookie Too Large"),
        "{page}"
    );
    api.token = saved;
    assert_eq!(
        api.raw(Method::GET, "/v1/domains", None, true)
            .await
            .unwrap()
            .status,
        200
    );

    api.raw(
        Method::POST,
        "/sim/faults",
        Some(json!({"garbage_refresh": false})),
        false,
    )
    .await
    .unwrap();
    let r = refresh().await.unwrap();
    assert_eq!(r.status(), 200);
    let token: String = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT again: {token}");
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    // One simulated hour of token life at scale 0.0001 is 0.36 s; tokens live at least 1 s.
    let (sim, api) = start("default", 0.0001).await;
    let ok = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let claims = api.token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "vcf-auth");
    assert_eq!(claims["aud"], "sddc-services");
    let exp = claims["exp"].as_i64().unwrap();
    // Wait until the token's own exp has passed (at most ~2 s of real time).
    while chrono::Utc::now().timestamp() < exp {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let late = api
        .raw(Method::GET, "/v1/domains", None, true)
        .await
        .unwrap();
    assert_eq!(late.status, 401);
    assert_error(&late.body, "TOKEN_EXPIRED");
    sim.shutdown().await;
}

#[tokio::test]
async fn release_target_and_bundle_errors() {
    let (sim, mut api) = start("default", 1.0).await;
    let id = api.domain_id("sfo-m01").await;
    let path = format!("/v1/releases/domains/{id}");

    let unknown = api
        .send(Method::PATCH, &path, json!({"targetVersion": "9.9.9.9"}))
        .await;
    assert_eq!(unknown.status, 404);
    assert_error(&unknown.body, "RELEASE_NOT_FOUND");
    let stepping = api
        .send(Method::PATCH, &path, json!({"targetVersion": "5.2.2.0"}))
        .await;
    assert_eq!(stepping.status, 400);
    assert_error(&stepping.body, "TARGET_VERSION_NOT_APPLICABLE");
    let older = api
        .send(Method::PATCH, &path, json!({"targetVersion": "5.2.0.0"}))
        .await;
    assert_eq!(older.status, 400);
    let missing = api.send(Method::PATCH, &path, json!({})).await;
    assert_eq!(missing.status, 400);
    let none = api.get(&format!("/v1/upgradables/domains/{id}")).await;
    assert_eq!(
        none["elements"].as_array().unwrap().len(),
        0,
        "no target, no upgradables"
    );
    // The spec's optional `DomainRelease` keys, empty or null, are no reason to refuse.
    for extra in [
        json!({"targetVersion": "5.2.1.0", "patches": []}),
        json!({"targetVersion": "5.2.1.0", "targetSddcManagerVersion": ""}),
        json!({"targetVersion": "5.2.1.0", "targetVxRailVersion": null}),
    ] {
        let a = api.send(Method::PATCH, &path, extra.clone()).await;
        assert_eq!(a.status, 200, "{extra}");
    }
    let nf = api.call(Method::GET, "/v1/domains/nope", None).await;
    assert_eq!(nf.status, 404);
    assert_error(&nf.body, "DOMAIN_NOT_FOUND");
    let v = api
        .send(
            Method::POST,
            &format!("/v1/releases/domains/{id}/validations"),
            json!({"targetVersion": "7.0.0.0"}),
        )
        .await;
    assert_eq!(v.status, 400);

    // Target set: upgradables appear, SDDC Manager first and alone AVAILABLE.
    let a = api
        .send(Method::PATCH, &path, json!({"targetVersion": "5.2.1.0"}))
        .await;
    assert_eq!(a.status, 200);
    let ups = api
        .get(&format!(
            "/v1/upgradables/domains/{id}?targetVersion=5.2.1.0"
        ))
        .await;
    let ups = ups["elements"].as_array().unwrap();
    assert_eq!(ups[0]["bundleType"], "SDDC_MANAGER");
    assert_eq!(ups[0]["status"], "AVAILABLE");
    assert!(ups[1..].iter().all(|u| u["status"] == "PENDING"));
    let sddc_bundle = ups[0]["bundleId"].as_str().unwrap().to_string();
    let nsx_bundle = ups[1]["bundleId"].as_str().unwrap().to_string();

    let spec = |b: &str| json!({"bundleId": b, "resourceType": "DOMAIN", "resourceUpgradeSpecs": [{"resourceId": id, "upgradeNow": true}]});
    let not_downloaded = api
        .send(Method::POST, "/v1/upgrades", spec(&sddc_bundle))
        .await;
    assert_eq!(not_downloaded.status, 400);
    assert_error(&not_downloaded.body, "UPGRADE_BUNDLE_NOT_DOWNLOADED");
    let not_available = api
        .send(Method::POST, "/v1/upgrades", spec(&nsx_bundle))
        .await;
    assert_eq!(not_available.status, 403);
    assert_error(&not_available.body, "UPGRADE_NOT_ALLOWED");
    let bad_spec = api
        .send(
            Method::POST,
            "/v1/upgrades",
            json!({"bundleId": sddc_bundle}),
        )
        .await;
    assert_eq!(bad_spec.status, 400);

    // Download twice: 409 while the first one runs (real time scale: it takes minutes).
    let dl = format!("/v1/bundles/{sddc_bundle}");
    let body = json!({"bundleDownloadSpec": {"downloadNow": true}});
    let first = api.send(Method::PATCH, &dl, body.clone()).await;
    assert_eq!(first.status, 202);
    assert_eq!(first.body["status"], "IN_PROGRESS");
    assert_eq!(api.get(&dl).await["downloadStatus"], "SCHEDULED");
    let second = api.send(Method::PATCH, &dl, body).await;
    assert_eq!(second.status, 409);
    assert_error(&second.body, "BUNDLE_DOWNLOAD_ALREADY_IN_PROGRESS");
    let empty = api.send(Method::PATCH, &dl, json!({})).await;
    assert_eq!(empty.status, 400);
    let unknown = api
        .call(
            Method::GET,
            "/v1/bundles/00000000-0000-4000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_error(&unknown.body, "BUNDLE_NOT_FOUND");

    // Retrying a task that has not failed is a conflict.
    let task = first.body["id"].as_str().unwrap();
    let retry = api
        .call(Method::PATCH, &format!("/v1/tasks/{task}"), None)
        .await;
    assert_eq!(retry.status, 409);
    let q = api
        .send(
            Method::POST,
            "/v1/system/check-sets/queries",
            json!({"checkSetType": "UPGRADE"}),
        )
        .await;
    assert_eq!(q.status, 400, "domains is required");
    // An empty list is valid (the spec sets no minimum): it finds nothing.
    let q = api
        .send(
            Method::POST,
            "/v1/system/check-sets/queries",
            json!({"checkSetType": "UPGRADE", "domains": []}),
        )
        .await;
    assert_eq!(q.status, 200);
    assert_eq!(q.body["resources"], json!([]));
    let run = api
        .send(
            Method::POST,
            "/v1/system/check-sets",
            json!({"queryId": "nope", "resources": [{"resourceId": "x"}]}),
        )
        .await;
    assert_eq!(run.status, 400);
    let malformed = api
        .http
        .post(format!("{}/v1/upgrades", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_error(&body, "MALFORMED_REQUEST_BODY");
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_error_rate_gives_5xx_error_bodies() {
    let (sim, api) = start("default", 1.0).await;
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"error_rate": 1.0})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.status, 200);
    for _ in 0..4 {
        let a = api.raw(Method::GET, "/v1/hosts", None, true).await.unwrap();
        assert!(a.status == 500 || a.status == 503, "{}", a.status);
        assert!(a.body["errorCode"].is_string());
    }
    api.raw(
        Method::POST,
        "/sim/faults",
        Some(json!({"error_rate": 0.25})),
        false,
    )
    .await
    .unwrap();
    let mut failures = 0;
    for _ in 0..200 {
        let a = api
            .raw(Method::GET, "/v1/sddc-managers", None, true)
            .await
            .unwrap();
        if a.status >= 500 {
            failures += 1;
        }
    }
    assert!((20..=80).contains(&failures), "about a quarter: {failures}");
    let req = api
        .raw(Method::GET, "/sim/requests", None, false)
        .await
        .unwrap();
    assert_eq!(req.body["by_endpoint"]["GET /v1/sddc-managers"], 200);
    assert_eq!(req.body["by_endpoint"]["GET /v1/hosts"], 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_errors_can_all_be_500_and_requests_can_hang_until_released() {
    let (sim, api) = start("default", 1.0).await;
    let fault = |body: Value| api.raw(Method::POST, "/sim/faults", Some(body), false);
    let refused = fault(json!({"error_status": 404})).await.unwrap();
    assert_eq!(refused.status, 400, "only server errors can be injected");
    let f = fault(json!({"error_rate": 1.0, "error_status": 500}))
        .await
        .unwrap();
    assert_eq!(f.status, 200);
    assert_eq!(f.body["error_status"], 500);
    for _ in 0..4 {
        let a = api.raw(Method::GET, "/v1/hosts", None, true).await.unwrap();
        assert_eq!(a.status, 500, "every injected failure is a 500");
        assert_eq!(a.body["errorCode"], "INTERNAL_SERVER_ERROR");
    }
    fault(json!({"clear": true, "hang": true})).await.unwrap();
    // A hanging request gets no answer until the fault is cleared, then an ordinary one.
    let hanging = {
        let http = api.http.clone();
        let url = format!("{}/v1/hosts", api.base);
        let token = api.token.clone();
        tokio::spawn(async move { http.get(url).bearer_auth(token).send().await })
    };
    let unanswered = tokio::time::timeout(std::time::Duration::from_millis(300), async {
        while !hanging.is_finished() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(unanswered.is_err(), "a hanging request was answered");
    let f = fault(json!({"hang": false})).await.unwrap();
    assert_eq!(f.body["hang"], false);
    let answer = hanging.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
    sim.shutdown().await;
}
