//! gateway service: `gateway.info`, `gateway.keys.create|list|revoke`,
//! `gateway.users.create|list|delete` (admin over NATS; the REST routes
//! `/api/v1/keys` and `/api/v1/users` reach the same endpoints), and the
//! login of `POST /api/v1/auth/login`.

use model::UnixNanos;
use serde::{Deserialize, Serialize};

/// What a caller may do. Ordered: each role may do what the ones below it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read: market data, strategies, accounts, orders, risk state, jobs.
    Viewer,
    /// Also orders, strategies, backtests, sweeps, imports.
    Trader,
    /// Also accounts, limits, halt/reduce/resume, keys, users.
    Admin,
}

/// `gateway.info` request: no fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoRequest {}

/// `gateway.info`: where this instance listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GatewayInfo {
    /// `$SRV` id of the instance.
    pub instance: String,
    /// The HTTP address it listens on (`127.0.0.1:8080`).
    pub http_addr: String,
    pub version: String,
    /// Routes served (REST, WebSocket, docs).
    pub routes: u32,
}

/// `gateway.keys.create`: a new API key. The key itself is in the answer only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCreateRequest {
    pub role: Role,
    /// Accounts the key may touch; empty: every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// A note for people (`"dashboard of alice"`).
    #[serde(default)]
    pub name: Option<String>,
}

/// A key as stored (hashed) and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyInfo {
    /// Public id (`k_<16 hex>`), also the first part of the key.
    pub id: String,
    pub role: Role,
    pub accounts: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub created_ts: UnixNanos,
}

/// `gateway.keys.create` response: the key, shown once (only its SHA-256 is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyCreated {
    /// `<id>.<secret>`: send as `Authorization: Bearer <key>` or `X-Api-Key`.
    pub key: String,
    pub info: KeyInfo,
}

/// `gateway.keys.list` / `gateway.users.list` request: no fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeysList {
    pub keys: Vec<KeyInfo>,
}

/// `gateway.keys.revoke` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRevokeRequest {
    pub id: String,
}

/// `gateway.keys.revoke` / `gateway.users.delete` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// `gateway.users.create`: a user who logs in with a password (argon2 hash stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreateRequest {
    /// 1 to 64 of `A-Z a-z 0-9 - _`.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
    /// Accounts the user may touch; empty: every account.
    #[serde(default)]
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserInfo {
    pub username: String,
    pub role: Role,
    pub accounts: Vec<String>,
    pub created_ts: UnixNanos,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsersList {
    pub users: Vec<UserInfo>,
}

/// `gateway.users.delete` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDeleteRequest {
    pub username: String,
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A JWT (HS256) to send as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoginResponse {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub role: Role,
    pub accounts: Vec<String>,
}

/// `GET /api/v1/services`: every instance answering `$SRV` (or `monitor.status`'s answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServicesResponse {
    /// `monitor` (from `monitor.status`) or `discovery` (`$SRV.INFO` / `$SRV.STATS`).
    pub source: String,
    /// `$SRV.INFO` replies, or the monitor's services.
    pub services: Vec<serde_json::Value>,
    /// `$SRV.STATS` replies (discovery only).
    #[serde(default)]
    pub stats: Vec<serde_json::Value>,
}
