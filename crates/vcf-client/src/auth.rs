//! Authentication: the token pair, when to renew it, and how.
//!
//! `POST /v1/tokens` gives an access token (a JWT) and a refresh-token id. The access token's
//! `exp` claim is read (base64url payload, no signature check: the client is not the audience
//! that has to trust it) and the token is renewed `min(2 min, lifetime / 4)` before it expires
//! (on our clock: when the SDDC Manager clock is off by more than a minute, the lifetime
//! `exp - iat` counts from receipt instead of the absolute `exp`),
//! with `PATCH /v1/tokens/access-token/refresh`. A refused refresh falls back to a fresh login;
//! that is also how tokens issued before an SDDC Manager restart are recovered.
//!
//! A token is accepted (from a login or a refresh) only if it is a JWT (three base64url parts,
//! JSON header and claims) with a numeric `exp` that is still ahead: anything else is refused
//! with an error naming the endpoint, and a refused refresh answer falls back to a login. A token
//! obtained by refresh that is then refused (401, 403, or nginx's `400 Request Header Or Cookie
//! Too Large`) is replaced by a fresh login rather than refreshed again.
//!
//! Logins are spaced after a refused one: no new `POST /v1/tokens` is sent until
//! [`ClientConfig::login_backoff`](crate::ClientConfig::login_backoff) has passed since the refusal
//! (on the client's [`Clock`]); meanwhile the refusal is returned again. This keeps a wrong
//! password from locking the SSO account out.
//!
//! Renewal is single-flight: one `tokio::sync::Mutex` serialises every renewal, and a caller
//! that waited re-checks whether someone else already renewed (by generation number) before
//! going to the network itself.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::client::{Call, Inner};
use crate::error::{Result, VcfError, excerpt};

/// The source of "now" for token expiry decisions; replaceable in tests.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The longest renewal margin; shorter-lived tokens use a quarter of their lifetime.
const MAX_MARGIN: Duration = Duration::from_secs(120);

pub(crate) const TOKENS_TEMPLATE: &str = "/v1/tokens";
pub(crate) const REFRESH_TEMPLATE: &str = "/v1/tokens/access-token/refresh";

/// One access token and what we know about it.
pub(crate) struct Token {
    pub(crate) access: String,
    refresh_id: Option<String>,
    pub(crate) expires_at: Option<DateTime<Utc>>,
    /// When we received it, on our clock.
    pub(crate) obtained_at: DateTime<Utc>,
    renew_after: Option<DateTime<Utc>>,
    generation: u64,
    /// Obtained by `PATCH /v1/tokens/access-token/refresh` (not by a login).
    refreshed: bool,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the bearer token or the refresh id.
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .field("obtained_at", &self.obtained_at)
            .field("renew_after", &self.renew_after)
            .field("generation", &self.generation)
            .field("refreshed", &self.refreshed)
            .finish_non_exhaustive()
    }
}

impl Token {
    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.renew_after.is_none_or(|t| now < t)
    }

    fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// The token slot shared by all clones of a client.
#[derive(Debug, Default)]
pub(crate) struct TokenCell {
    // A std lock: it is never held across an await, and `token_expires_at` is synchronous.
    current: RwLock<Option<Arc<Token>>>,
    renewal: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The last refused login, which holds back the next one; cleared by a successful login.
    refused_login: RwLock<Option<RefusedLogin>>,
    /// The last authentication failure (refused login or invalid token), kept for display.
    last_failure: RwLock<Option<AuthFailure>>,
    /// When a login last failed for want of an answer (timeout, connection refused, 5xx), and
    /// the error: the callers that queued behind that login get it too instead of each waiting
    /// out its own retries against an SDDC Manager that does not answer.
    unanswered_login: RwLock<Option<(std::time::Instant, String)>>,
}

/// How long a login that got no answer is reported to the callers queued behind it.
const UNANSWERED_LOGIN_SHARED_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// A login that SDDC Manager refused, and when.
#[derive(Debug, Clone)]
struct RefusedLogin {
    at: DateTime<Utc>,
    status: u16,
    message: String,
}

/// The last authentication failure: when, and the error as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// When it happened, on the client's clock.
    pub at: DateTime<Utc>,
    /// The error, naming the endpoint.
    pub reason: String,
}

impl TokenCell {
    pub(crate) fn current(&self) -> Option<Arc<Token>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn last_failure(&self) -> Option<AuthFailure> {
        self.last_failure
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn record_failure(&self, at: DateTime<Utc>, error: &VcfError) {
        *self
            .last_failure
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(AuthFailure {
            at,
            reason: error.to_string(),
        });
    }

    fn refused_login(&self) -> Option<RefusedLogin> {
        self.refused_login
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_refused_login(&self, refused: Option<RefusedLogin>) {
        *self
            .refused_login
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = refused;
    }

    fn store(&self, token: Arc<Token>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token);
    }
}

/// Claims of interest in an access token.
#[derive(Debug, Deserialize)]
struct Claims {
    exp: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
}

/// Decodes one base64url part of a JWT (padding tolerated).
fn jwt_part(part: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()
}

/// Reads `exp` (and `iat`) from a JWT without verifying its signature; says what is wrong
/// when the text is not a JWT with a numeric `exp`.
pub(crate) fn jwt_claims(jwt: &str) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let base64url = |p: &str| {
        p.trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() != 3
        || parts[..2].iter().any(|p| p.is_empty())
        || !parts.iter().all(|p| base64url(p))
    {
        return Err("not a JWT (expected three base64url parts)".to_owned());
    }
    let json_object = |part: &str| {
        jwt_part(part)
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(serde_json::Value::is_object)
    };
    if json_object(parts[0]).is_none() {
        return Err("not a JWT (header is not a JSON object)".to_owned());
    }
    let claims: Claims = json_object(parts[1])
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| "not a JWT (claims are not a JSON object)".to_owned())?;
    let to_time = |v: &serde_json::Value| {
        v.as_f64()
            .filter(|s| s.is_finite())
            .and_then(|secs| Utc.timestamp_opt(secs as i64, 0).single())
    };
    let exp = claims
        .exp
        .as_ref()
        .and_then(to_time)
        .ok_or_else(|| "JWT without a numeric exp claim".to_owned())?;
    Ok((exp, claims.iat.as_ref().and_then(to_time)))
}

/// Beyond this difference between the token's `iat` and our clock, the clocks disagree and the
/// token's lifetime (not its absolute `exp`) is laid onto our clock.
const MAX_SKEW: Duration = Duration::from_secs(60);

/// When a token expires and when to renew it, on the local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) renew_after: DateTime<Utc>,
    /// `iat - now` when it exceeds [`MAX_SKEW`].
    pub(crate) skew: Option<chrono::Duration>,
}

/// Schedules a token from its `exp` and `iat` claims, received at `now`.
///
/// The margin is `min(2 min, lifetime / 4)`. When the SDDC Manager's clock and ours disagree by
/// more than a minute (a known cause of upgrade failures, and easy to get wrong), the absolute
/// `exp` would make us renew on every call or too late; then the lifetime counts from `now`.
pub(crate) fn schedule(
    exp: DateTime<Utc>,
    iat: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Schedule {
    let iat = iat.filter(|i| *i < exp);
    let lifetime = (exp - iat.unwrap_or(now))
        .to_std()
        .unwrap_or(Duration::ZERO);
    let skew = iat
        .map(|i| i - now)
        .filter(|d| d.abs().to_std().is_ok_and(|d| d > MAX_SKEW));
    let expires_at = match skew {
        Some(_) => now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::zero()),
        None => exp,
    };
    let margin = MAX_MARGIN.min(lifetime / 4);
    Schedule {
        expires_at,
        renew_after: expires_at
            - chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero()),
        skew,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenPair {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
}

#[derive(Debug, Deserialize)]
struct RefreshToken {
    id: String,
}

// === impl Inner (authentication) ===

impl Inner {
    /// Checks `access` (a JWT with an `exp` still ahead) and schedules its renewal.
    fn make_token(
        &self,
        endpoint: &str,
        access: String,
        refresh_id: Option<String>,
        refreshed: bool,
    ) -> Result<Arc<Token>> {
        let now = self.clock.now();
        let invalid = |detail: String| {
            let err = VcfError::Parse {
                endpoint: endpoint.to_owned(),
                detail: format!("access token refused: {detail}"),
            };
            self.tokens.record_failure(now, &err);
            err
        };
        let (exp, iat) = jwt_claims(&access).map_err(invalid)?;
        let plan = schedule(exp, iat, now);
        if plan.expires_at <= now {
            return Err(invalid(format!("JWT expired at {}", exp.to_rfc3339())));
        }
        if let Some(skew) = plan.skew {
            tracing::warn!(
                skew_seconds = skew.num_seconds(),
                "SDDC Manager clock differs from ours; token lifetime counted from receipt"
            );
        }
        Ok(Arc::new(Token {
            access,
            refresh_id,
            expires_at: Some(plan.expires_at),
            obtained_at: now,
            renew_after: Some(plan.renew_after),
            generation: self.tokens.generation.fetch_add(1, Ordering::Relaxed) + 1,
            refreshed,
        }))
    }

    /// A token that is good for the next call, renewing it first when it is close to expiry.
    pub(crate) async fn valid_token(&self) -> Result<Arc<Token>> {
        if let Some(token) = self.tokens.current() {
            if token.fresh_at(self.clock.now()) {
                return Ok(token);
            }
        }
        let _renewal = self.tokens.renewal.lock().await;
        let Some(token) = self.tokens.current() else {
            return self.login_locked().await;
        };
        let now = self.clock.now();
        if token.fresh_at(now) {
            // Someone else renewed while we waited for the lock.
            return Ok(token);
        }
        match self.refresh_locked(&token).await {
            Ok(fresh) => Ok(fresh),
            Err(e) if e.is_transient() && token.usable_at(now) => {
                tracing::warn!(error = %e, "token refresh failed; the current token is still valid");
                Ok(token)
            }
            Err(e) if e.is_transient() => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "token refresh refused; logging in again");
                self.login_locked().await
            }
        }
    }

    /// After a 401/403 (or nginx's header-too-large 400) with `stale`: renew once unless another
    /// caller already did. A token that came from a login is refreshed (else a login follows);
    /// one that came from a refresh is replaced by a login.
    pub(crate) async fn renew_rejected(&self, stale: &Token) -> Result<Arc<Token>> {
        let _renewal = self.tokens.renewal.lock().await;
        if let Some(current) = self.tokens.current() {
            if current.generation != stale.generation {
                return Ok(current);
            }
        }
        if stale.refreshed {
            // Refreshing again would likely hand out the same kind of token.
            tracing::info!("token from a refresh rejected; logging in again");
            return self.login_locked().await;
        }
        match self.refresh_locked(stale).await {
            Ok(fresh) => Ok(fresh),
            Err(e) if e.is_transient() => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "token rejected and refresh refused; logging in again");
                self.login_locked().await
            }
        }
    }

    /// Forces a new login.
    pub(crate) async fn force_login(&self) -> Result<Arc<Token>> {
        let _renewal = self.tokens.renewal.lock().await;
        self.login_locked().await
    }

    /// `POST /v1/tokens`; the caller holds the renewal lock. Retried on transient errors: a
    /// login has no side effect worth protecting. Within `login_backoff` of a refused login,
    /// that refusal is returned again without asking SDDC Manager.
    async fn login_locked(&self) -> Result<Arc<Token>> {
        let endpoint = format!("{} {TOKENS_TEMPLATE}", Method::POST);
        if let Some(refused) = self.tokens.refused_login() {
            let next = refused.at
                + chrono::Duration::from_std(self.login_backoff).unwrap_or(chrono::Duration::MAX);
            if self.clock.now() < next {
                return Err(VcfError::Auth {
                    endpoint,
                    status: refused.status,
                    message: format!(
                        "{} (login refused; next attempt not before {})",
                        refused.message,
                        next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                });
            }
        }
        let recent = self
            .tokens
            .unanswered_login
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some((at, message)) = recent
            && at.elapsed() < UNANSWERED_LOGIN_SHARED_FOR
        {
            return Err(VcfError::Unavailable {
                endpoint,
                status: None,
                detail: format!("{message} (a login moments ago got no answer)"),
            });
        }
        let body = serde_json::json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let call = Call::new(Method::POST, TOKENS_TEMPLATE, TOKENS_TEMPLATE.to_owned())
            .json(&body)?
            .idempotent();
        let answer = self
            .with_retry(&call, || async {
                let answer = self.exchange(&call, None).await?;
                if matches!(answer.status, 400 | 401 | 403) {
                    return Err(VcfError::Auth {
                        endpoint: endpoint.clone(),
                        status: answer.status,
                        message: crate::client::error_message(&answer.body),
                    });
                }
                let answer = crate::client::check_status(&endpoint, answer)?;
                crate::client::decode::<TokenPair>(&endpoint, &answer)
            })
            .await;
        let pair = match answer {
            Ok(pair) => pair,
            Err(VcfError::Auth {
                endpoint,
                status,
                message,
            }) => {
                let now = self.clock.now();
                let err = VcfError::Auth {
                    endpoint,
                    status,
                    message: message.clone(),
                };
                tracing::warn!(
                    error = %err,
                    backoff = ?self.login_backoff,
                    "login refused; not trying again before the backoff has passed"
                );
                self.tokens.record_failure(now, &err);
                self.tokens.set_refused_login(Some(RefusedLogin {
                    at: now,
                    status,
                    message,
                }));
                return Err(err);
            }
            Err(e) => {
                if e.is_transient() {
                    *self
                        .tokens
                        .unanswered_login
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some((std::time::Instant::now(), e.to_string()));
                }
                return Err(e);
            }
        };
        *self
            .tokens
            .unanswered_login
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let token = self.make_token(
            &endpoint,
            pair.access_token,
            pair.refresh_token.map(|r| r.id),
            false,
        )?;
        self.tokens.set_refused_login(None);
        tracing::debug!(expires_at = ?token.expires_at, "logged in to SDDC Manager");
        self.tokens.store(token.clone());
        Ok(token)
    }

    /// `PATCH /v1/tokens/access-token/refresh` with the bare refresh id; the caller holds the
    /// renewal lock.
    async fn refresh_locked(&self, stale: &Token) -> Result<Arc<Token>> {
        let Some(refresh_id) = stale.refresh_id.clone() else {
            return Err(VcfError::Auth {
                endpoint: format!("PATCH {REFRESH_TEMPLATE}"),
                status: 401,
                message: "no refresh token".to_owned(),
            });
        };
        // The body is the bare id (not a JSON string), with Content-Type application/json:
        // that is what real clients send and what SDDC Manager accepts.
        let call = Call::new(Method::PATCH, REFRESH_TEMPLATE, REFRESH_TEMPLATE.to_owned())
            .raw_json(refresh_id.clone().into_bytes());
        let endpoint = call.label();
        let answer = self.exchange(&call, None).await?;
        let body = crate::client::check_status(&endpoint, answer)?.body;
        // The spec's answer is a JSON string (the JWT in double quotes); a bare JWT, as
        // some appliances and clients have it, is read too.
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        let access = if text.starts_with('"') {
            serde_json::from_str::<String>(&text).map_err(|e| VcfError::Parse {
                endpoint: endpoint.clone(),
                detail: format!("refreshed token: {e}"),
            })?
        } else {
            text
        };
        if access.is_empty() || access.contains(char::is_whitespace) {
            let err = VcfError::Parse {
                endpoint,
                detail: format!("refreshed token: not a JWT: {}", excerpt(&body)),
            };
            self.tokens.record_failure(self.clock.now(), &err);
            return Err(err);
        }
        let token = self.make_token(&endpoint, access, Some(refresh_id), true)?;
        tracing::debug!(expires_at = ?token.expires_at, "refreshed SDDC Manager access token");
        self.tokens.store(token.clone());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"HS256"}"#),
            e.encode(payload.as_bytes())
        )
    }

    #[test]
    fn reads_exp_and_iat() {
        let (exp, iat) = jwt_claims(&jwt(r#"{"exp":1700003600,"iat":1700000000}"#)).expect("jwt");
        assert_eq!(exp.timestamp(), 1_700_003_600);
        assert_eq!(iat.map(|t| t.timestamp()), Some(1_700_000_000));
        assert!(jwt_claims("not-a-jwt").is_err());
        assert!(jwt_claims(&jwt(r#"{"sub":"x"}"#)).is_err());
    }

    #[test]
    fn only_a_jwt_with_a_numeric_exp_is_accepted() {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let refused = |text: &str| jwt_claims(text).expect_err(text);
        assert!(refused("garbage").contains("three base64url parts"));
        assert!(refused("a.b").contains("three base64url parts"));
        assert!(refused("a b.c.d").contains("three base64url parts"));
        assert!(refused(&"A".repeat(9000)).contains("three base64url parts"));
        let not_json = format!("{}.{}.sig", e.encode("x"), e.encode(r#"{"exp":1}"#));
        assert!(refused(&not_json).contains("header"));
        let claims_not_object = format!("{}.{}.sig", e.encode("{}"), e.encode("[1]"));
        assert!(refused(&claims_not_object).contains("claims"));
        assert!(refused(&jwt(r#"{"exp":"tomorrow"}"#)).contains("numeric exp"));
        assert!(refused(&jwt(r#"{"iat":1700000000}"#)).contains("numeric exp"));
        // An unsigned JWT (empty signature part) is still a JWT.
        let unsigned = format!("{}.{}.", e.encode("{}"), e.encode(r#"{"exp":1700003600}"#));
        assert!(jwt_claims(&unsigned).is_ok());
    }

    #[test]
    fn margin_is_two_minutes_or_a_quarter() {
        let iat = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
        let hour = iat + chrono::Duration::hours(1);
        let plan = schedule(hour, Some(iat), iat);
        assert_eq!(plan.expires_at, hour);
        assert_eq!(plan.renew_after, hour - chrono::Duration::minutes(2));
        assert!(plan.skew.is_none());
        let short = iat + chrono::Duration::seconds(60);
        assert_eq!(
            schedule(short, Some(iat), iat).renew_after,
            short - chrono::Duration::seconds(15)
        );
        // Without iat the lifetime is counted from now.
        assert_eq!(
            schedule(short, None, iat + chrono::Duration::seconds(20)).renew_after,
            short - chrono::Duration::seconds(10)
        );
    }

    #[test]
    fn clock_skew_lays_the_lifetime_onto_our_clock() {
        let iat = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
        let exp = iat + chrono::Duration::hours(1);
        // Our clock is two hours ahead of the SDDC Manager's.
        let now = iat + chrono::Duration::hours(2);
        let plan = schedule(exp, Some(iat), now);
        assert_eq!(plan.expires_at, now + chrono::Duration::hours(1));
        assert_eq!(plan.renew_after, now + chrono::Duration::minutes(58));
        assert_eq!(plan.skew, Some(chrono::Duration::hours(-2)));
        // Thirty seconds apart: the absolute exp stands.
        let now = iat + chrono::Duration::seconds(30);
        assert_eq!(schedule(exp, Some(iat), now).expires_at, exp);
    }
}
