//! Hostile answers: every list answer that is not well formed, too big, or contradicts itself
//! is an error naming the endpoint and what was wrong, never a partial, empty or invented list.

use chrono::Utc;
use serde_json::{Value, json};
use vcf_client::{AnswerLimits, VcfClient, VcfError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, count, jwt, mount_login, page};

async fn serving(p: &str, body: Value) -> (MockServer, VcfClient) {
    serving_raw(p, body.to_string()).await
}

async fn serving_raw(p: &str, body: String) -> (MockServer, VcfClient) {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let c = client(&server);
    (server, c)
}

/// The error's text, which must be a parse error (a bad answer, not an outage).
fn parse_error<T: std::fmt::Debug>(r: vcf_client::Result<T>) -> String {
    match r {
        Err(e @ VcfError::Parse { .. }) => e.to_string(),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_list_answer_without_elements_is_an_error_not_an_empty_list() {
    let (_s, c) = serving("/v1/domains", json!({})).await;
    let e = parse_error(c.domains().await);
    assert!(e.starts_with("GET /v1/domains: "), "{e}");
    assert!(e.contains("missing field `elements`"), "{e}");
    let (_s, c) = serving(
        "/v1/releases/domains/d1/future-releases",
        json!({"pageMetadata": {"totalPages": 1}}),
    )
    .await;
    let e = parse_error(c.future_releases("d1").await);
    assert!(
        e.contains("future-releases") && e.contains("elements"),
        "{e}"
    );
    // A well-formed empty list is a list.
    let (_s, c) = serving("/v1/domains", page(json!([]))).await;
    assert!(c.domains().await.expect("empty list").is_empty());
}

#[tokio::test]
async fn elements_without_their_ids_or_names_are_errors_naming_the_field() {
    let cases: [(&str, Value, &str); 6] = [
        (
            "/v1/domains",
            json!([{"id": "d1"}]),
            "elements[0]: a domain without `name`",
        ),
        (
            "/v1/domains",
            json!([{"id": "d1", "name": "m01"}, {"name": "w01"}]),
            "elements[1]: a domain without `id`",
        ),
        (
            "/v1/clusters",
            json!([{"name": "c1"}]),
            "a cluster without `id`",
        ),
        ("/v1/hosts", json!([{"id": "h1"}]), "a host without `fqdn`"),
        (
            "/v1/hosts",
            json!([{"id": " ", "fqdn": "esx01"}]),
            "a host without `id`",
        ),
        (
            "/v1/releases",
            json!([{"product": "VCF", "bom": []}]),
            "a release without `version`",
        ),
    ];
    for (p, elements, expected) in cases {
        let (_s, c) = serving(p, page(elements)).await;
        let e = match p {
            "/v1/domains" => parse_error(c.domains().await),
            "/v1/clusters" => parse_error(c.clusters().await),
            "/v1/hosts" => parse_error(c.hosts().await),
            _ => parse_error(c.releases(None).await),
        };
        assert!(e.starts_with(&format!("GET {p}: ")), "{e}");
        assert!(e.contains(expected), "{e} should contain {expected}");
    }
    let (_s, c) = serving(
        "/v1/upgradables/domains/d1",
        page(json!([{"status": "AVAILABLE", "softwareComponents": [{"type": "VCENTER"}]}])),
    )
    .await;
    let e = parse_error(c.upgradables("d1", Some("5.2.1.0")).await);
    assert!(e.contains("an upgradable without `bundleId`"), "{e}");
}

#[tokio::test]
async fn duplicate_ids_are_a_contradiction() {
    let (_s, c) = serving(
        "/v1/hosts",
        page(json!([{"id": "h1", "fqdn": "a"}, {"id": "h2", "fqdn": "b"}, {"id": "h1", "fqdn": "c"}])),
    )
    .await;
    let e = parse_error(c.hosts().await);
    assert!(
        e.contains(r#"elements[2]: a host `id` "h1" appears twice"#),
        "{e}"
    );
}

#[tokio::test]
async fn absurd_page_counts_cost_one_request_and_an_error() {
    let (s, c) = serving(
        "/v1/domains",
        json!({"elements": [{"id": "d1", "name": "m01"}],
               "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalPages": 1_000_000_000}}),
    )
    .await;
    let e = parse_error(c.domains().await);
    assert!(e.contains("pageMetadata.totalPages is 1000000000"), "{e}");
    assert!(
        e.contains("more than the 20 pages followed for an inventory list"),
        "{e}"
    );
    assert_eq!(count(&s, "GET", "/v1/domains").await, 1);
    let (_s, c) = serving(
        "/v1/upgradables/domains/d1",
        json!({"elements": [], "pageMetadata": {"totalElements": 4_000_000}}),
    )
    .await;
    let e = parse_error(c.upgradables("d1", None).await);
    assert!(e.contains("pageMetadata.totalElements is 4000000"), "{e}");
}

#[tokio::test]
async fn a_page_announced_but_empty_is_a_contradiction() {
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/clusters"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"id": "c1", "name": "cl01"}],
            "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalPages": 3}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/clusters"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"elements": []})))
        .mount(&server)
        .await;
    let e = parse_error(client(&server).clusters().await);
    assert!(
        e.contains("totalPages is 3 but page 2 of them is empty"),
        "{e}"
    );
    // The same first page served again for page 2: the ids repeat.
    let server = MockServer::start().await;
    mount_login(&server, &jwt(Utc::now(), 3600, "t1")).await;
    Mock::given(method("GET"))
        .and(path("/v1/clusters"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"id": "c1", "name": "cl01"}],
            "pageMetadata": {"pageNumber": 0, "pageSize": 1, "totalPages": 2}
        })))
        .mount(&server)
        .await;
    let e = parse_error(client(&server).clusters().await);
    assert!(e.contains("appears twice"), "{e}");
}

#[tokio::test]
async fn element_floods_are_refused_before_parsing_with_the_limit_named() {
    let limit = AnswerLimits::UPGRADABLES.max_elements;
    let flood = format!(r#"{{"elements":[{}{{}}]}}"#, "{},".repeat(limit));
    let (_s, c) = serving_raw("/v1/upgradables/domains/d1", flood).await;
    let e = parse_error(c.upgradables("d1", None).await);
    assert!(e.starts_with("GET /v1/upgradables/domains/d1: "), "{e}");
    assert!(
        e.contains(&format!(
            "more than {limit} elements (the limit for an upgradable list)"
        )),
        "{e}"
    );
    // Deep inside one element: the values limit.
    let values = AnswerLimits::RELEASES.max_values;
    let nested = format!(
        r#"{{"elements":[{{"version":"5.2.1.0","bom":[{}{{}}]}}]}}"#,
        "{},".repeat(values)
    );
    let (_s, c) = serving_raw("/v1/releases/domains/d1/future-releases", nested).await;
    let e = parse_error(c.future_releases("d1").await);
    assert!(
        e.contains(&format!("more than {values} JSON values")),
        "{e}"
    );
    // Over the body limit: not read.
    let big = format!(
        r#"{{"elements":[{{"bundleId":"{}"}}]}}"#,
        "x".repeat(AnswerLimits::UPGRADABLES.max_body)
    );
    let size = big.len();
    let (_s, c) = serving_raw("/v1/upgradables/domains/d1", big).await;
    let e = parse_error(c.upgradables("d1", None).await);
    let expected = format!(
        "answer of {size} bytes larger than 4194304 bytes (the limit for an upgradable list); not read"
    );
    assert!(e.contains(&expected), "{e}");
}
