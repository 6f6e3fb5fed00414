//! The HTTP surface: the VCF `/v1` endpoints (one module per API area), the `/sim/`
//! test endpoints, and the gate every `/v1` request passes first (request log, outage
//! phase, injected 5xx, bearer token check).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::scenario::Scenario;
use crate::state::{ApiPhase, LogEntry, SimState};
use crate::tokens::TokenError;

pub mod auth;
pub mod bundles;
pub mod checksets;
pub mod inventory;
pub mod readiness;
pub mod releases;
pub mod sim;
pub mod tasks;
pub mod upgradables;
pub mod upgrades;

/// State shared by every handler.
#[derive(Debug)]
pub struct Shared {
    /// The simulation (a std mutex: it is never held across an await).
    pub state: Mutex<SimState>,
    /// The scenario, for `/sim/reset`.
    pub scenario: Arc<Scenario>,
    /// The time scale.
    pub time_scale: f64,
}

/// Handle to the shared state.
pub type App = Arc<Shared>;

impl Shared {
    /// Locks the simulation; a handler that panicked cannot leave it half-updated in a
    /// way that matters for a simulator, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Result of a handler.
pub type ApiResult = Result<Response, ApiError>;

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// 200 with a JSON body.
pub fn ok(body: Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

/// The spec's `PageOf<T>` wrapper holding everything in one page.
pub fn page(elements: Vec<Value>) -> Value {
    let n = elements.len();
    json!({
        "elements": elements,
        "pageMetadata": {
            "pageNumber": 0,
            "pageSize": n,
            "totalElements": n,
            "totalPages": 1,
        }
    })
}

/// Parses a JSON request body.
///
/// # Errors
/// 400 with an `Error` body when the body is not JSON.
///
/// Source: the spec marks the request body `required` for every operation that calls this
/// except `updateReleaseByDomainID`, and documents 400 for them (the 9.0.2 spec for
/// `updateReleaseByDomainID`); a body that is not JSON matches no schema of the spec.
pub fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "REQUEST_BODY_MISSING",
            "Required request body is missing",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("MALFORMED_REQUEST_BODY", format!("JSON parse error: {e}"))
    })
}

/// The router for a shared state.
pub fn router(app: App) -> Router {
    let v1 = Router::new()
        .route("/v1/tokens", post(auth::create))
        .route("/v1/tokens/access-token/refresh", patch(auth::refresh))
        .route(
            "/v1/tokens/refresh-token",
            axum::routing::delete(auth::revoke),
        )
        .route("/v1/domains", get(inventory::domains))
        .route("/v1/domains/{id}", get(inventory::domain))
        .route("/v1/clusters", get(inventory::clusters))
        .route("/v1/clusters/{id}", get(inventory::cluster))
        .route(
            "/v1/clusters/{id}/image-compliance",
            get(readiness::image_compliance),
        )
        .route("/v1/notifications", get(readiness::notifications))
        .route("/v1/hosts", get(inventory::hosts))
        .route("/v1/hosts/{id}", get(inventory::host))
        .route("/v1/sddc-managers", get(inventory::sddc_managers))
        .route("/v1/sddc-managers/{id}", get(inventory::sddc_manager))
        .route("/v1/vcenters", get(inventory::vcenters))
        .route("/v1/nsxt-clusters", get(inventory::nsxt_clusters))
        .route("/v1/personalities", get(inventory::personalities))
        .route("/v1/releases", get(releases::releases))
        .route("/v1/releases/domains", get(releases::domain_views))
        .route(
            "/v1/releases/domains/{id}",
            get(releases::domain_view).patch(releases::set_target),
        )
        .route(
            "/v1/releases/domains/{id}/future-releases",
            get(releases::future_releases),
        )
        .route(
            "/v1/releases/domains/{id}/validations",
            post(releases::start_validation),
        )
        .route(
            "/v1/releases/domains/validations/{id}",
            get(releases::validation),
        )
        .route("/v1/bundles", get(bundles::list))
        .route(
            "/v1/bundles/{id}",
            get(bundles::get_one).patch(bundles::download),
        )
        .route("/v1/upgradables/domains/{id}", get(upgradables::domain))
        .route(
            "/v1/upgradables/domains/{id}/clusters",
            get(upgradables::clusters),
        )
        .route("/v1/system/check-sets/queries", post(checksets::query))
        .route(
            "/v1/system/check-sets",
            post(checksets::run).get(checksets::list),
        )
        .route("/v1/system/check-sets/{id}", get(checksets::result))
        .route("/v1/upgrades", post(upgrades::start).get(upgrades::list))
        .route(
            "/v1/upgrades/{id}",
            get(upgrades::get_one).patch(upgrades::commit),
        )
        .route(
            "/v1/upgrades/{id}/prechecks",
            post(upgrades::start_precheck),
        )
        .route(
            "/v1/upgrades/{id}/prechecks/{precheckId}",
            get(upgrades::precheck),
        )
        .route("/v1/credentials", get(readiness::credentials))
        .route(
            "/v1/credentials/expirations",
            post(readiness::start_expiration),
        )
        .route(
            "/v1/credentials/expirations/{id}",
            get(readiness::expiration),
        )
        .route(
            "/v1/domains/{id}/resource-certificates",
            get(readiness::certificates),
        )
        .route(
            "/v1/system/backup-configuration",
            get(readiness::backup_configuration),
        )
        .route("/v1/backups/tasks", post(readiness::start_backup))
        .route("/v1/system/settings/depot", get(readiness::depot))
        .route(
            "/v1/system/settings/depot/depot-sync-info",
            get(readiness::depot_sync_info),
        )
        .route("/v1/tasks", get(tasks::list))
        .route("/v1/tasks/{id}", get(tasks::get_one).patch(tasks::retry))
        .route_layer(middleware::from_fn_with_state(app.clone(), gate));
    let sim = Router::new()
        .route("/sim/requests", get(sim::requests))
        .route("/sim/log", get(sim::log))
        .route("/sim/faults", post(sim::faults).get(sim::get_faults))
        .route("/sim/reset", post(sim::reset))
        .route("/sim/personalities", post(sim::add_personality))
        .route("/sim/notifications", post(sim::add_notification))
        .route("/sim/state", get(sim::state));
    v1.merge(sim).fallback(not_found).with_state(app)
}

/// Not a VCF operation the simulator serves: 404, like any unknown path of a web server.
async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        format!("No endpoint {} {}", req.method(), req.uri().path()),
    )
    .into_response()
}

/// The HTML page an unready SDDC Manager's reverse proxy answers with.
const UNAVAILABLE_HTML: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html")],
        UNAVAILABLE_HTML,
    )
        .into_response()
}

/// nginx's default `large_client_header_buffers 4 8k`: a header line longer than 8 KiB is refused.
const MAX_HEADER_LINE: usize = 8 * 1024;

const HEADER_TOO_LARGE_HTML: &str = "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Source: the observed answer of the nginx reverse proxy in front of SDDC Manager
/// (ENDPOINTS.md §12) to a request whose `Authorization` header exceeds its header buffer:
/// `400 Request Header Or Cookie Too Large`, an HTML page, not a 401.
fn header_too_large(headers: &HeaderMap) -> Option<Response> {
    let oversized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| "Authorization: ".len() + v.len() > MAX_HEADER_LINE);
    oversized.then(|| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html")],
            HEADER_TOO_LARGE_HTML,
        )
            .into_response()
    })
}

fn is_token_endpoint(path: &str) -> bool {
    path == "/v1/tokens" || path.starts_with("/v1/tokens/")
}

fn check_bearer(s: &SimState, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or("");
    // Source: every call except the token endpoints sends `Authorization: Bearer` (vendor
    // doc, ENDPOINTS.md §0); a missing, unknown, expired or pre-restart token gets 401, as
    // real clients observe (PowerVCF, terraform-provider-vcf, ENDPOINTS.md §12).
    if token.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_REQUIRED",
            "Full authentication is required to access this resource",
        )
        .with_remediation("Obtain an access token with POST /v1/tokens"));
    }
    s.tokens.check(token).map_err(|e| {
        let (code, message) = match e {
            TokenError::Unknown => ("INVALID_TOKEN", "The access token is invalid"),
            TokenError::Expired => ("TOKEN_EXPIRED", "The access token has expired"),
            TokenError::Revoked => (
                "INVALID_TOKEN",
                "The access token is no longer valid: SDDC Manager restarted since it was issued",
            ),
        };
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
            .with_remediation("Refresh the access token or log in again")
    })
}

/// Runs before every `/v1` handler: outage phase, injected errors, authentication; then
/// logs the request with its endpoint template.
async fn gate(State(app): State<App>, req: Request<Body>, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    // The JSON body of a write, kept in the log so tests can assert on what was sent (never
    // the token endpoints' credentials).
    let (req, body) = if method == "GET" || is_token_endpoint(&path) {
        (req, None)
    } else {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
        (Request::from_parts(parts, Body::from(bytes)), json)
    };
    // A hang: the request stays unanswered until the fault is cleared (bounded, so a test
    // that forgets to clear it still ends). What a client sees of an application server stuck
    // behind its reverse proxy until its own timeout fires (inferred, docs/simulator.md).
    let hang_started = std::time::Instant::now();
    while app.lock().faults.hang && hang_started.elapsed() < std::time::Duration::from_secs(600) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // nginx refuses an oversized header itself, before SDDC Manager sees the request.
    let early = header_too_large(req.headers()).or_else(|| {
        let mut s = app.lock();
        match s.api_phase() {
            ApiPhase::Refused | ApiPhase::Unready => Some(unavailable()),
            ApiPhase::Up => {
                // Only when a test asks for it (`/sim/faults`); the spec documents 500 on
                // every operation, and 503 comes from the reverse proxy (ENDPOINTS.md §12).
                if s.faults.next_request_fails() {
                    let n = s.faults.counter();
                    let fixed = s
                        .faults
                        .error_status
                        .and_then(|c| StatusCode::from_u16(c).ok());
                    let (status, code) = match fixed {
                        Some(StatusCode::SERVICE_UNAVAILABLE) => {
                            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
                        }
                        Some(status) => (status, "INTERNAL_SERVER_ERROR"),
                        None if n % 2 == 0 => {
                            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR")
                        }
                        None => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
                    };
                    Some(
                        ApiError::new(
                            status,
                            code,
                            "Injected failure: the service could not process the request",
                        )
                        .into_response(),
                    )
                } else if !is_token_endpoint(&path) {
                    match check_bearer(&s, req.headers()) {
                        Err(e) => Some(e.into_response()),
                        // A fixed answer a test asked for (`/sim/faults` `answers`), served to
                        // an authenticated request like the real one would be.
                        Ok(_) => s.faults.served(&method, &path).map(|a| {
                            (
                                StatusCode::from_u16(a.status)
                                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                                [(axum::http::header::CONTENT_TYPE, "application/json")],
                                a.body.clone(),
                            )
                                .into_response()
                        }),
                    }
                } else {
                    None
                }
            }
        }
    });
    let response = match early {
        Some(r) => r,
        None => next.run(req).await,
    };
    let mut s = app.lock();
    // Only when a test asks for it (`/sim/faults` `unreadable_endpoint`): what a broken or
    // mutating proxy in front of SDDC Manager was observed to hand out (a fault campaign
    // against the bridge), not VCF behaviour. The request still happened in VCF.
    let response = if response.status().is_success()
        && s.faults.take_unreadable(&format!("{method} {template}"))
    {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!([{"unreadable": "injected by /sim/faults"}])),
        )
            .into_response()
    } else {
        response
    };
    let at = crate::clock::iso(chrono::Utc::now());
    s.record(LogEntry {
        endpoint: format!("{method} {template}"),
        method,
        path,
        query,
        status: response.status().as_u16(),
        at,
        body,
    });
    response
}
