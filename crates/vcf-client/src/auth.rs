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
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the bearer token or the refresh id.
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .field("obtained_at", &self.obtained_at)
            .field("renew_after", &self.renew_after)
            .field("generation", &self.generation)
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
}

impl TokenCell {
    pub(crate) fn current(&self) -> Option<Arc<Token>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
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
    exp: Option<f64>,
    iat: Option<f64>,
}

/// Reads `exp` (and `iat`) from a JWT without verifying it.
pub(crate) fn jwt_times(jwt: &str) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    let to_time = |secs: f64| Utc.timestamp_opt(secs as i64, 0).single();
    Some((to_time(claims.exp?)?, claims.iat.and_then(to_time)))
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
    fn make_token(&self, access: String, refresh_id: Option<String>) -> Arc<Token> {
        let now = self.clock.now();
        let (expires_at, renew) = match jwt_times(&access) {
            Some((exp, iat)) => {
                let plan = schedule(exp, iat, now);
                if let Some(skew) = plan.skew {
                    tracing::warn!(
                        skew_seconds = skew.num_seconds(),
                        "SDDC Manager clock differs from ours; token lifetime counted from receipt"
                    );
                }
                (Some(plan.expires_at), Some(plan.renew_after))
            }
            None => {
                tracing::debug!("access token carries no readable exp claim; renewing on 401 only");
                (None, None)
            }
        };
        Arc::new(Token {
            access,
            refresh_id,
            expires_at,
            obtained_at: now,
            renew_after: renew,
            generation: self.tokens.generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
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

    /// After a 401/403 with `stale`: renew once (refresh, else login) unless another caller
    /// already did.
    pub(crate) async fn renew_rejected(&self, stale: &Token) -> Result<Arc<Token>> {
        let _renewal = self.tokens.renewal.lock().await;
        if let Some(current) = self.tokens.current() {
            if current.generation != stale.generation {
                return Ok(current);
            }
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
    /// login has no side effect worth protecting.
    async fn login_locked(&self) -> Result<Arc<Token>> {
        let body = serde_json::json!({
            "username": self.username,
            "password": self.password.expose_secret(),
        });
        let call = Call::new(Method::POST, TOKENS_TEMPLATE, TOKENS_TEMPLATE.to_owned())
            .json(&body)?
            .idempotent();
        let endpoint = call.label();
        let pair: TokenPair = self
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
                crate::client::decode(&endpoint, &answer)
            })
            .await?;
        if pair.access_token.is_empty() {
            return Err(VcfError::Parse {
                endpoint,
                detail: "accessToken: empty".to_owned(),
            });
        }
        let token = self.make_token(pair.access_token, pair.refresh_token.map(|r| r.id));
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
            return Err(VcfError::Parse {
                endpoint,
                detail: format!("refreshed token: not a JWT: {}", excerpt(&body)),
            });
        }
        let token = self.make_token(access, Some(refresh_id));
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
        let (exp, iat) = jwt_times(&jwt(r#"{"exp":1700003600,"iat":1700000000}"#)).expect("jwt");
        assert_eq!(exp.timestamp(), 1_700_003_600);
        assert_eq!(iat.map(|t| t.timestamp()), Some(1_700_000_000));
        assert!(jwt_times("not-a-jwt").is_none());
        assert!(jwt_times(&jwt(r#"{"sub":"x"}"#)).is_none());
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
