//! Shared test helpers: minted JWTs, a manual clock, a client wired to a mock server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vcf_client::{ClientConfig, Clock, RequestObserver, RetryPolicy, VcfClient};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const USER: &str = "admin@local";
pub const PASS: &str = "VMware123!VMware123!";
pub const REFRESH_ID: &str = "3c6b3c30-3bf2-480b-9539-8483699ab911";

/// A JWT with the given claims window (unsigned: clients do not verify it).
pub fn jwt(iat: DateTime<Utc>, lifetime_secs: i64, jti: &str) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = json!({
        "jti": jti, "iss": "vcf-auth", "aud": "sddc-services", "sub": USER,
        "iat": iat.timestamp(), "nbf": iat.timestamp(),
        "exp": iat.timestamp() + lifetime_secs,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        e.encode(br#"{"alg":"HS256"}"#),
        e.encode(claims.to_string().as_bytes())
    )
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(Utc::now())))
    }
    pub fn advance(&self, secs: i64) {
        let mut now = self.0.lock().expect("clock");
        *now += chrono::Duration::seconds(secs);
    }
    pub fn get(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.get()
    }
}

/// Records every exchange the client reports.
#[derive(Debug, Default)]
pub struct Recorder(pub Mutex<Vec<(String, Option<u16>)>>);

impl RequestObserver for Recorder {
    fn on_response(&self, endpoint: &str, status: Option<u16>, _elapsed: Duration) {
        self.0
            .lock()
            .expect("recorder")
            .push((endpoint.to_owned(), status));
    }
}

impl Recorder {
    pub fn endpoints(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("recorder")
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }
}

pub fn config(url: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(url, USER, PASS);
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

pub fn client_with_clock(server: &MockServer, clock: Arc<ManualClock>) -> VcfClient {
    VcfClient::with_clock(config(&server.uri()), clock).expect("client")
}

pub fn client(server: &MockServer) -> VcfClient {
    VcfClient::new(config(&server.uri())).expect("client")
}

pub fn token_pair(access: &str) -> Value {
    json!({ "accessToken": access, "refreshToken": { "id": REFRESH_ID } })
}

/// Mounts `POST /v1/tokens` answering a one-hour token issued at `clock`'s now.
pub async fn mount_login(server: &MockServer, access: &str) {
    Mock::given(method("POST"))
        .and(path("/v1/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair(access)))
        .mount(server)
        .await;
}

/// A page of `elements` with complete metadata.
pub fn page(elements: Value) -> Value {
    let n = elements.as_array().map_or(0, Vec::len);
    json!({ "elements": elements,
            "pageMetadata": { "pageNumber": 0, "pageSize": n, "totalElements": n, "totalPages": 1 } })
}

/// How many requests the server saw for `method path`.
pub async fn count(server: &MockServer, m: &str, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}
