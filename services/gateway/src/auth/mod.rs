//! Who is calling and what they may do.
//!
//! Credentials: `Authorization: Bearer <API key or JWT>` or `X-Api-Key: <key>`;
//! on `/ws` also `?token=` / `?key=` or a `Sec-WebSocket-Protocol` entry
//! `bearer.<token>` (browsers cannot set headers on a WebSocket). Roles are
//! ordered viewer < trader < admin; a key or user with accounts may touch only
//! those (none listed: every account). No or bad credentials → 401, wrong role
//! or account → 403.

pub mod jwt;
pub mod password;
pub mod store;

use axum::http::HeaderMap;
use bus::api::gateway::Role;
use bus::{ErrorKind, ServiceError};

pub use store::Store;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Key id (`k_…`) or `user:<name>`: what the rate limit counts by.
    pub id: String,
    pub role: Role,
    /// Empty: every account.
    pub accounts: Vec<String>,
}

impl Principal {
    pub fn may_touch(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    /// 403 unless the caller has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(forbidden(format!(
                "this needs the {role:?} role; the credentials have {:?}",
                self.role
            )))
        }
    }

    /// 403 unless the caller may touch `account`.
    pub fn require_account(&self, account: &str) -> Result<(), ServiceError> {
        if self.may_touch(account) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "the credentials are not for account {account:?}"
            )))
        }
    }
}

pub fn unauthorized(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::Unauthorized, message)
}

pub fn forbidden(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::Forbidden, message)
}

/// The bearer token or API key of a request's headers.
pub fn header_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?.trim();
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The token of a WebSocket upgrade: headers first, then the
/// `bearer.<token>` sub-protocol, then `token`/`key` of the query.
pub fn ws_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = header_token(headers) {
        return Some(t);
    }
    let protocols = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    for p in protocols {
        if let Some(t) = p.strip_prefix("bearer.") {
            return Some(t.to_string());
        }
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token" || *k == "key")
        .map(|(_, v)| v.to_string())
}

/// The caller of `token`: an API key we issued, or a valid JWT of a user
/// who still exists.
pub async fn authenticate(store: &Store, token: Option<&str>) -> Result<Principal, ServiceError> {
    let token = token.ok_or_else(|| {
        unauthorized("credentials needed: Authorization: Bearer <API key or token>")
    })?;
    if jwt::looks_like_jwt(token) {
        let now = model::UnixNanos::now().0 as u64 / 1_000_000_000;
        let claims = jwt::verify(&store.jwt_key, token, now)
            .ok_or_else(|| unauthorized("invalid or expired token"))?;
        let username = claims.sub.strip_prefix("user:").unwrap_or(&claims.sub);
        if store.users.get(username).await?.is_none() {
            return Err(unauthorized("the token's user no longer exists"));
        }
        return Ok(Principal {
            id: claims.sub,
            role: claims.role,
            accounts: claims.accounts,
        });
    }
    match store.check_key(token).await? {
        Some(info) => Ok(Principal {
            id: info.id,
            role: info.role,
            accounts: info.accounts,
        }),
        None => Err(unauthorized("invalid API key")),
    }
}
