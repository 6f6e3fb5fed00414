//! `/v1/tokens`: login with user name and password, access-token refresh with the refresh
//! token id (a bare or quoted JSON string), refresh-token revocation.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiResult, App, json_response, parse_body};
use crate::error::ApiError;

/// Length of the `garbage_refresh` answer: over nginx's default 8 KiB header buffer.
const GARBAGE_TOKEN_LEN: usize = 12 * 1024;

fn access_ttl(s: &crate::state::SimState) -> std::time::Duration {
    let sim = s
        .faults
        .token_ttl
        .unwrap_or_else(|| s.scenario.timing.token_ttl.secs());
    s.clock.real(sim)
}

/// `POST /v1/tokens`: 200 `TokenPair` (the spec says 201, the product docs and real
/// appliances answer 200); 401 for bad credentials, 400 for a malformed body.
pub async fn create(State(app): State<App>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (user, pass, api_key) = (field("username"), field("password"), field("apiKey"));
    // Source: spec `createToken` documents 400; the vendor's tokens guide logs in with
    // username and password or an API key (ENDPOINTS.md §1).
    if user.is_empty() && api_key.is_empty() {
        return Err(ApiError::bad_request(
            "TOKEN_CREATION_SPEC_INVALID",
            "Provide username and password, or an API key",
        ));
    }
    let mut s = app.lock();
    let sys = &s.scenario.system;
    // Source: a real appliance answers wrong credentials with 401 (third-party report,
    // ENDPOINTS.md §12); the spec lists only 400.
    if user != sys.username || pass != sys.password {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_FAILED",
            "Invalid username or password",
        )
        .with_remediation("Check the credentials and try again"));
    }
    let ttl = access_ttl(&s);
    let refresh_ttl = s.clock.real(s.scenario.timing.refresh_token_ttl.secs());
    let (access, refresh) = s.tokens.issue(&user, ttl, refresh_ttl);
    Ok(json_response(
        StatusCode::OK,
        json!({"accessToken": access, "refreshToken": {"id": refresh}}),
    ))
}

fn refresh_id(headers: &HeaderMap, body: &Bytes) -> Result<String, ApiError> {
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    // Source: observed real client: PowerVCF's refresh fails without
    // `Content-Type: application/json` (its issue #253, ENDPOINTS.md §12); 400 is the
    // spec's documented client error of `refreshAccessToken`.
    if !json_ct {
        return Err(ApiError::bad_request(
            "UNSUPPORTED_MEDIA_TYPE",
            "Content type must be application/json",
        ));
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    let id = match serde_json::from_str::<Value>(&text) {
        Ok(Value::String(s)) => s,
        _ => text.trim_matches('"').to_string(),
    };
    // Source: spec `refreshAccessToken` / `invalidateRefreshToken`: the body (the refresh
    // token id) is required; 400 documented.
    if id.is_empty() {
        return Err(ApiError::bad_request(
            "REQUEST_BODY_MISSING",
            "The refresh token id is required",
        ));
    }
    Ok(id)
}

/// `PATCH /v1/tokens/access-token/refresh`: body = refresh token id; 200 with the new
/// access token as a JSON string (the spec's response schema is `type: string`, and the
/// vendor's generated clients parse the body as JSON); 404 for an unknown, expired or
/// pre-restart refresh token (the spec's 404 of `refreshAccessToken`).
pub async fn refresh(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let id = refresh_id(&headers, &body)?;
    let mut s = app.lock();
    if s.faults.garbage_refresh {
        // Only when a test asks for it (`/sim/faults`): the answer a broken or mutating proxy
        // in front of SDDC Manager was seen to hand out, 200 with a string that is no JWT and
        // is long enough that sending it back as a bearer header trips nginx's header limit.
        return Ok(json_response(
            StatusCode::OK,
            Value::String("x".repeat(GARBAGE_TOKEN_LEN)),
        ));
    }
    let ttl = access_ttl(&s);
    match s.tokens.refresh(&id, ttl) {
        Ok(token) => Ok(json_response(StatusCode::OK, Value::String(token))),
        // Source: spec `refreshAccessToken` 404; the vendor doc: a refresh token is usable
        // "until it has not expired or been revoked".
        Err(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "REFRESH_TOKEN_NOT_FOUND",
            "Refresh token not found, expired or revoked",
        )
        .with_remediation("Log in again with POST /v1/tokens")),
    }
}

/// `DELETE /v1/tokens/refresh-token`: 204.
pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = refresh_id(&headers, &body)?;
    app.lock().tokens.revoke_refresh(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
