//! Every error class: unreachable, unavailable, auth, API error body, parse errors; and which
//! calls are retried.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use vcf_client::{ResourceUpgradeSpec, UpgradeSpec, VcfClient, VcfError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn free_port_url() -> String {
    // Bind, read the port, close: nothing listens there afterwards.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn upgrade_spec() -> UpgradeSpec {
    UpgradeSpec {
        bundle_id: "b1".into(),
        resource_type: "DOMAIN".into(),
        resource_upgrade_specs: vec![ResourceUpgradeSpec {
            resource_id: "d1".into(),
            upgrade_now: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let client = VcfClient::new(config(&free_port_url())).expect("client");
    let err = client.domains().await.expect_err("nothing listens");
    assert!(
        matches!(err, VcfError::Unreachable { ref endpoint, .. } if endpoint == "POST /v1/tokens"),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(err.http_status(), None);
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[tokio::test]
async fn html_503_is_unavailable_and_gets_are_retried() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/domains"))
        .respond_with(ResponseTemplate::new(503).set_body_raw(
            "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            "text/html",
        ))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server).domains().await.expect_err("503");
    match &err {
        VcfError::Unavailable {
            endpoint,
            status,
            detail,
        } => {
            assert_eq!(endpoint, "GET /v1/domains");
            assert_eq!(*status, Some(503));
            assert!(
                detail.contains("503 Service Temporarily Unavailable"),
                "{detail}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_transient());
}

#[tokio::test]
async fn transient_error_then_success_recovers() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/hosts"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/hosts"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(json!([{ "id": "h1", "fqdn": "esx01.lab" }]))),
        )
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).hosts().await.expect("second attempt").len(),
        1
    );
    assert_eq!(count(&server, "GET", "/v1/hosts").await, 2);
}

#[tokio::test]
async fn post_that_may_have_taken_effect_is_not_repeated() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("POST"))
        .and(path("/v1/upgrades"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>proxy</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .start_upgrade(&upgrade_spec())
        .await
        .expect_err("503");
    assert!(
        matches!(
            err,
            VcfError::Unavailable {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );

    // A timeout after the request went out: the upgrade may have started. One attempt only.
    let slow = MockServer::start().await;
    mount_login(&slow, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("POST"))
        .and(path("/v1/upgrades"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(2)))
        .mount(&slow)
        .await;
    let mut cfg = config(&slow.uri());
    cfg.request_timeout = Duration::from_millis(300);
    let client = VcfClient::new(cfg).expect("client");
    let err = client
        .start_upgrade(&upgrade_spec())
        .await
        .expect_err("timeout");
    assert!(
        matches!(err, VcfError::Unreachable { ref endpoint, .. } if endpoint == "POST /v1/upgrades"),
        "{err:?}"
    );
    assert_eq!(count(&slow, "POST", "/v1/upgrades").await, 1);
}

#[tokio::test]
async fn target_version_patch_is_retried_but_download_is_not() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("PATCH"))
        .and(path("/v1/releases/domains/d1"))
        .respond_with(ResponseTemplate::new(504).set_body_string("Gateway Timeout"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/releases/domains/d1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/bundles/b1"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .set_target_version("d1", "5.2.1.0")
        .await
        .expect("retried");
    assert_eq!(count(&server, "PATCH", "/v1/releases/domains/d1").await, 2);
    assert!(
        client
            .download_bundle("b1")
            .await
            .expect_err("502")
            .is_transient()
    );
}

#[tokio::test]
async fn vcf_error_body_with_nested_errors_is_an_api_error() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("PATCH"))
        .and(path("/v1/bundles/b1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "errorCode": "BUNDLE_DOWNLOAD_ALREADY_IN_PROGRESS",
            "message": "Only one download can triggered for a Bundle",
            "remediationMessage": "Wait for the running download",
            "referenceToken": "K3S2AB",
            "nestedErrors": [ { "errorCode": "BUNDLE_BUSY", "message": "Bundle b1 is downloading",
                                "context": { "severity": "ERROR" } } ] })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .download_bundle("b1")
        .await
        .expect_err("409");
    assert_eq!(err.http_status(), Some(409));
    assert!(!err.is_transient());
    let VcfError::Api {
        endpoint,
        status,
        error,
    } = &err
    else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(endpoint, "PATCH /v1/bundles/b1");
    assert_eq!(*status, 409);
    assert_eq!(
        error.error_code.as_deref(),
        Some("BUNDLE_DOWNLOAD_ALREADY_IN_PROGRESS")
    );
    assert_eq!(error.reference_token.as_deref(), Some("K3S2AB"));
    assert_eq!(
        error.nested_errors[0].message.as_deref(),
        Some("Bundle b1 is downloading")
    );
    let text = err.to_string();
    assert!(
        text.contains("Wait for the running download") && text.contains("Bundle b1 is downloading"),
        "{text}"
    );
}

#[tokio::test]
async fn unparseable_field_is_named() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/bundles"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(json!([
            { "id": "b1", "type": "SDDC_MANAGER", "downloadStatus": "PENDING" },
            { "id": "b2", "type": "SDDC_MANAGER", "downloadStatus": "PENDING", "sizeMB": "big" } ]))))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/bundles/b1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "b1", "components": [ { "toVersion": 5 } ] })),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client.bundles().await.expect_err("bad sizeMB");
    let VcfError::Parse { endpoint, detail } = &err else {
        panic!("expected Parse, got {err:?}");
    };
    assert_eq!(endpoint, "GET /v1/bundles");
    assert!(detail.contains("elements[1].sizeMB"), "{detail}");
    let err = client.bundle("b1").await.expect_err("bad toVersion");
    assert!(err.to_string().contains("components[0].toVersion"), "{err}");
    // Not retried: a parse error does not go away.
    assert_eq!(count(&server, "GET", "/v1/bundles").await, 1);
}

#[tokio::test]
async fn non_json_success_body_is_unavailable() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/domains"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("<html>starting up</html>", "text/html"),
        )
        .mount(&server)
        .await;
    let err = client(&server).domains().await.expect_err("html");
    assert!(
        matches!(
            err,
            VcfError::Unavailable {
                status: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        count(&server, "GET", "/v1/domains").await,
        3,
        "retried like a 503"
    );
}

#[tokio::test]
async fn bad_credentials_are_an_auth_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errorCode": "AUTHENTICATION_FAILED", "message": "Invalid username or password" })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).domains().await.expect_err("401");
    let VcfError::Auth {
        endpoint,
        status,
        message,
    } = &err
    else {
        panic!("expected Auth, got {err:?}");
    };
    assert_eq!(endpoint, "POST /v1/tokens");
    assert_eq!(*status, 401);
    assert!(
        message.contains("Invalid username or password"),
        "{message}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn persistent_403_after_renewal_is_an_auth_error() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("PATCH"))
        .and(path("/v1/tokens/access-token/refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_string(jwt(Utc::now(), 3600, "t2")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/upgrades"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({ "errorCode": "FORBIDDEN", "message": "Operation not allowed" }),
            ),
        )
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server)
        .start_upgrade(&upgrade_spec())
        .await
        .expect_err("403");
    assert!(
        matches!(err, VcfError::Auth { status: 403, ref endpoint, .. } if endpoint == "POST /v1/upgrades"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Operation not allowed"), "{err}");
    assert_eq!(
        count(&server, "PATCH", "/v1/tokens/access-token/refresh").await,
        1
    );
}

#[tokio::test]
async fn config_errors() {
    for url in ["not a url", "ftp://host", "https://host/api"] {
        let err = VcfClient::new(config(url)).expect_err(url);
        assert!(matches!(err, VcfError::Config(_)), "{url}: {err:?}");
    }
    let mut cfg = config("https://sddc.example");
    cfg.tls.pin_sha256 = Some("12:34".into());
    assert!(matches!(VcfClient::new(cfg), Err(VcfError::Config(_))));
    let ok = VcfClient::new(config("https://sddc.example/")).expect("trailing slash is fine");
    assert_eq!(ok.base_url(), "https://sddc.example");
}

#[tokio::test]
async fn login_is_retried_on_transient_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>starting</html>"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    client(&server).login().await.expect("third attempt");
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 3);
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.retry.max_attempts = 5;
    let err = VcfClient::new(cfg)
        .expect("client")
        .login()
        .await
        .expect_err("502");
    assert!(
        matches!(
            err,
            VcfError::Unavailable {
                status: Some(502),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 5);
}

#[tokio::test]
async fn proxy_page_with_200_is_retried_for_gets() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/clusters"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>loading</html>", "text/html"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/clusters"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(page(json!([{ "id": "c1", "name": "cl01" }]))),
        )
        .mount(&server)
        .await;
    assert_eq!(client(&server).clusters().await.expect("retried").len(), 1);
    assert_eq!(count(&server, "GET", "/v1/clusters").await, 2);
}

/// An SDDC Manager that accepts connections and never answers: three calls made at once (one
/// resource cycle) fail after one login's worth of attempts, not after each call has logged in
/// again three times. The login's connections are counted: three attempts in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_sddc_manager_costs_one_login_not_one_per_call_and_attempt() {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", hole.local_addr().expect("addr"));
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in hole.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            open.push(stream);
        }
    });
    let mut cfg = config(&url);
    cfg.request_timeout = Duration::from_millis(300);
    let client = VcfClient::new(cfg).expect("client");
    let started = std::time::Instant::now();
    let (a, b, c) = tokio::join!(client.domains(), client.clusters(), client.hosts());
    let took = started.elapsed();
    for result in [a.map(|_| ()), b.map(|_| ()), c.map(|_| ())] {
        let err = result.expect_err("nothing answers");
        assert!(err.is_transient(), "{err}");
        assert_eq!(err.endpoint(), Some("POST /v1/tokens"), "{err}");
    }
    // One login: 3 attempts of 300 ms plus two short backoffs (at most 0.5 s + 1 s).
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(took < Duration::from_secs(4), "three calls took {took:?}");
}
