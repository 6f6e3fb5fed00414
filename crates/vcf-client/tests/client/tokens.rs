//! Token validation and login backoff: a refresh answer that is not a JWT with an expiry, an
//! nginx `400 Request Header Or Cookie Too Large` after a refresh, and a wrong password.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use vcf_client::{VcfClient, VcfError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const REFRESH: &str = "/v1/tokens/access-token/refresh";

/// The page nginx serves when a request's headers exceed `large_client_header_buffers`.
const NGINX_400: &str = "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n\
<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n\
<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// `GET /v1/domains` answering 200 only for `token`.
async fn domains_for(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/domains"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(json!([{ "id": "d1", "name": "sfo-m01" }]))),
        )
        .mount(server)
        .await;
}

/// `POST /v1/tokens` answering `access` once, before any other login mock.
async fn first_login(server: &MockServer, access: &str) {
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair(access)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_garbage_refresh_answer_is_refused_and_a_fresh_login_follows() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    let first = jwt(clock.get(), 3600, "first");
    first_login(&server, &first).await;
    domains_for(&server, &first).await;
    let client = client_with_clock(&server, clock.clone());
    client.domains().await.expect("first login");

    // Within the renewal margin: the refresh answers 200 with something that is not a JWT.
    clock.advance(3600 - 60);
    Mock::given(method("PATCH"))
        .and(path(REFRESH))
        .respond_with(ResponseTemplate::new(200).set_body_string("A".repeat(12_000)))
        .expect(1)
        .mount(&server)
        .await;
    let second = jwt(clock.get(), 3600, "second");
    mount_login(&server, &second).await;
    domains_for(&server, &second).await;
    client
        .domains()
        .await
        .expect("fresh login after a garbage refresh");
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 2);
    let failure = client.last_auth_failure().expect("failure kept");
    assert!(
        failure.reason.contains(&format!("PATCH {REFRESH}")),
        "{failure:?}"
    );
    assert!(
        failure.reason.contains("three base64url parts"),
        "{failure:?}"
    );
    assert!(client.token_expires_at().is_some());
}

#[tokio::test]
async fn a_refreshed_jwt_without_exp_is_refused_and_a_fresh_login_follows() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    let first = jwt(clock.get(), 3600, "first");
    first_login(&server, &first).await;
    let client = client_with_clock(&server, clock.clone());
    client.login().await.expect("first login");

    clock.advance(3600 - 60);
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let no_exp = format!(
        "{}.{}.c2ln",
        e.encode(br#"{"alg":"HS256"}"#),
        e.encode(br#"{"sub":"admin@local"}"#)
    );
    Mock::given(method("PATCH"))
        .and(path(REFRESH))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("\"{no_exp}\"")))
        .expect(1)
        .mount(&server)
        .await;
    let second = jwt(clock.get(), 3600, "second");
    mount_login(&server, &second).await;
    domains_for(&server, &second).await;
    client.domains().await.expect("fresh login");
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 2);
    let reason = client.last_auth_failure().expect("failure").reason;
    assert!(reason.contains("numeric exp"), "{reason}");
}

#[tokio::test]
async fn a_login_token_without_exp_is_an_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let no_exp = format!("{}.{}.c2ln", e.encode("{}"), e.encode(r#"{"iat":1}"#));
    mount_login(&server, &no_exp).await;
    let client = client(&server);
    let err = client.login().await.expect_err("no exp");
    assert!(matches!(err, VcfError::Parse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("POST /v1/tokens"), "{text}");
    assert!(text.contains("numeric exp"), "{text}");
}

#[tokio::test]
async fn a_header_too_large_400_after_a_refresh_falls_back_to_a_fresh_login() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    let first = jwt(clock.get(), 3600, "first");
    first_login(&server, &first).await;
    domains_for(&server, &first).await;
    let client = client_with_clock(&server, clock.clone());
    client.domains().await.expect("first login");

    // The refreshed token is a JWT, but nginx refuses the request that carries it.
    clock.advance(3600 - 60);
    let refreshed = jwt(clock.get(), 3600, "refreshed");
    Mock::given(method("PATCH"))
        .and(path(REFRESH))
        .respond_with(ResponseTemplate::new(200).set_body_string(refreshed.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/domains"))
        .and(header(
            "authorization",
            format!("Bearer {refreshed}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "text/html")
                .set_body_string(NGINX_400),
        )
        .mount(&server)
        .await;
    let second = jwt(clock.get(), 3600, "second");
    mount_login(&server, &second).await;
    domains_for(&server, &second).await;
    let domains = client.domains().await.expect("fresh login after the 400");
    assert_eq!(domains[0].name, "sfo-m01");
    assert_eq!(count(&server, "PATCH", REFRESH).await, 1);
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 2);
}

#[tokio::test]
async fn a_header_too_large_400_on_the_refresh_itself_falls_back_to_a_fresh_login() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    let first = jwt(clock.get(), 3600, "first");
    first_login(&server, &first).await;
    let client = client_with_clock(&server, clock.clone());
    client.login().await.expect("first login");

    clock.advance(3600 - 60);
    Mock::given(method("PATCH"))
        .and(path(REFRESH))
        .respond_with(ResponseTemplate::new(400).set_body_string(NGINX_400))
        .expect(1)
        .mount(&server)
        .await;
    let second = jwt(clock.get(), 3600, "second");
    mount_login(&server, &second).await;
    domains_for(&server, &second).await;
    client.domains().await.expect("fresh login");
    assert_eq!(count(&server, "POST", "/v1/tokens").await, 2);
}

#[tokio::test]
async fn a_wrong_password_makes_logins_spaced_by_the_backoff() {
    let server = MockServer::start().await;
    let clock = ManualClock::new();
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errorCode": "AUTHENTICATION_FAILED", "message": "Invalid username or password"
        })))
        .with_priority(5)
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri());
    cfg.login_backoff = Duration::from_secs(180);
    let client = VcfClient::with_clock(cfg, clock.clone()).expect("client");

    // Ten minutes of polls every 20 s (plus the Refresh Token button twice).
    let mut logins_at = Vec::new();
    for step in 0..30 {
        let before = count(&server, "POST", "/v1/tokens").await;
        let err = if step % 10 == 5 {
            client.login().await.expect_err("wrong password")
        } else {
            let polled = client.domains().await.expect_err("wrong password");
            assert!(matches!(polled, VcfError::Auth { .. }), "{polled:?}");
            client.login().await.expect_err("wrong password")
        };
        assert!(matches!(err, VcfError::Auth { status: 401, .. }), "{err:?}");
        assert!(
            err.to_string().contains("Invalid username or password"),
            "{err}"
        );
        if count(&server, "POST", "/v1/tokens").await > before {
            logins_at.push(step * 20);
        } else {
            assert!(err.to_string().contains("next attempt not before"), "{err}");
        }
        clock.advance(20);
    }
    assert_eq!(
        logins_at,
        vec![0, 180, 360, 540],
        "logins spaced by the backoff"
    );
    let failure = client.last_auth_failure().expect("failure kept");
    assert!(failure.reason.contains("POST /v1/tokens"), "{failure:?}");
    assert!(failure.reason.contains("HTTP 401"), "{failure:?}");
    assert_eq!(count(&server, "GET", "/v1/domains").await, 0);

    // Once the credentials are accepted again, the next login after the backoff succeeds.
    let good = jwt(clock.get(), 3600, "good");
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair(&good)))
        .with_priority(1)
        .mount(&server)
        .await;
    domains_for(&server, &good).await;
    clock.advance(180);
    client.domains().await.expect("logged in after the backoff");
}
