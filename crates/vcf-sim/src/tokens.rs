//! Access and refresh tokens: JWTs shaped like SDDC Manager's (HS256 header, claims
//! `jti`, `iat`, `nbf`, `exp`, `sub`, `iss: vcf-auth`, `aud: sddc-services`, `scope`),
//! their lifetimes in scaled time, and invalidation on an SDDC Manager restart (every token
//! carries the restart epoch it was issued in).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::ids;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Never issued (or malformed).
    Unknown,
    /// Past its `exp`.
    Expired,
    /// Issued before the last SDDC Manager restart.
    Revoked,
}

#[derive(Debug, Clone)]
struct AccessRecord {
    expires: Instant,
    epoch: u64,
}

#[derive(Debug, Clone)]
struct RefreshRecord {
    username: String,
    expires: Instant,
    epoch: u64,
}

/// Issued tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    access: HashMap<String, AccessRecord>,
    refresh: HashMap<String, RefreshRecord>,
    epoch: u64,
    issued: u64,
}

/// Scopes of an ADMIN token, as in SDDC Manager's sample token.
const ADMIN_SCOPE: &[&str] = &[
    "BACKUP_CONFIG_READ",
    "CREDENTIAL_READ",
    "USER_WRITE",
    "OTHER_WRITE",
    "BACKUP_CONFIG_WRITE",
    "OTHER_READ",
    "USER_READ",
    "CREDENTIAL_WRITE",
];

/// Key for the HS256-like signature; clients never verify it.
const SIGNING_KEY: &[u8] = b"vcf-sim-signing-key";

impl TokenStore {
    /// Invalidates every token issued so far (an SDDC Manager restart).
    pub fn restart(&mut self) {
        self.epoch += 1;
    }

    /// Number of restarts so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Issues a token pair; returns `(access_token, refresh_id)`.
    pub fn issue(
        &mut self,
        username: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> (String, String) {
        let refresh_id = ids::fresh();
        self.refresh.insert(
            refresh_id.clone(),
            RefreshRecord {
                username: username.to_string(),
                expires: Instant::now() + refresh_ttl,
                epoch: self.epoch,
            },
        );
        let access = self.mint(username, access_ttl);
        (access, refresh_id)
    }

    /// A new access token for a refresh token id (quotes and whitespace tolerated).
    ///
    /// # Errors
    /// The refresh token is unknown, expired or from before a restart.
    pub fn refresh(
        &mut self,
        refresh_id: &str,
        access_ttl: Duration,
    ) -> Result<String, TokenError> {
        let id = refresh_id.trim().trim_matches('"');
        let rec = self.refresh.get(id).ok_or(TokenError::Unknown)?.clone();
        if rec.epoch != self.epoch {
            return Err(TokenError::Revoked);
        }
        if Instant::now() >= rec.expires {
            return Err(TokenError::Expired);
        }
        Ok(self.mint(&rec.username, access_ttl))
    }

    /// Revokes a refresh token; false when unknown.
    pub fn revoke_refresh(&mut self, refresh_id: &str) -> bool {
        let id = refresh_id.trim().trim_matches('"');
        self.refresh.remove(id).is_some()
    }

    /// Checks a bearer access token.
    ///
    /// # Errors
    /// Unknown, expired or revoked token.
    pub fn check(&self, token: &str) -> Result<(), TokenError> {
        let rec = self.access.get(token).ok_or(TokenError::Unknown)?;
        if rec.epoch != self.epoch {
            return Err(TokenError::Revoked);
        }
        if Instant::now() >= rec.expires {
            return Err(TokenError::Expired);
        }
        Ok(())
    }

    fn mint(&mut self, username: &str, ttl: Duration) -> String {
        self.issued += 1;
        // `exp` has second resolution: the token lives at least one second and expires
        // exactly at its `exp`, so a client's own expiry check agrees with the server.
        // The record expires by the monotonic clock read together with the wall clock, so the
        // work of signing cannot push the expiry past the `exp` the client sees.
        let minted_at = Instant::now();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let now = now_ms.div_euclid(1000);
        let ttl_ms = ttl.as_millis().max(1000) as i64;
        let exp = (now_ms + ttl_ms + 999).div_euclid(1000);
        let lifetime = Duration::from_millis((exp * 1000 - now_ms).max(0) as u64);
        let header = serde_json::json!({"alg": "HS256"});
        let claims = serde_json::json!({
            "jti": ids::fresh(),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "sub": username,
            "user": username,
            "name": username,
            "iss": "vcf-auth",
            "aud": "sddc-services",
            "scope": ADMIN_SCOPE,
        });
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut h = Sha256::new();
        h.update(SIGNING_KEY);
        h.update(head.as_bytes());
        h.update(b".");
        h.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(h.finalize());
        let token = format!("{head}.{body}.{sig}");
        self.access.insert(
            token.clone(),
            AccessRecord {
                expires: minted_at + lifetime,
                epoch: self.epoch,
            },
        );
        // Bound memory for long benchmark runs: drop expired access tokens now and then.
        if self.issued % 1024 == 0 {
            let now = Instant::now();
            self.access.retain(|_, r| r.expires > now);
        }
        token
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_die_on_restart() {
        let mut s = TokenStore::default();
        let (a, r) = s.issue(
            "admin@local",
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert_eq!(s.check(&a), Ok(()));
        assert_eq!(s.check("nope"), Err(TokenError::Unknown));
        let b = s
            .refresh(&format!("\"{r}\""), Duration::from_millis(0))
            .unwrap();
        assert_eq!(s.check(&b), Ok(()), "a token lives at least one second");
        let claims = a.split('.').nth(1).unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(v["iss"], "vcf-auth");
        let life = v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap();
        assert!((60..=61).contains(&life), "{life}");
        s.restart();
        assert_eq!(s.check(&a), Err(TokenError::Revoked));
        assert!(s.refresh(&r, Duration::from_secs(1)).is_err());
    }
}
