//! config service: `config.get`, `config.set`, `config.profiles.list`. The
//! settings themselves are `trader_config`'s (keys, kinds, layering).

use serde::{Deserialize, Serialize};
use serde_json::Value;
pub use trader_config::Source;

/// `config.get`: one key or every key of a profile, with where each value
/// came from. Without `profile`: the profile the answering `trader run` runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    #[serde(default)]
    pub profile: Option<String>,
    /// A key such as `sim.bar_seconds`; none: every key.
    #[serde(default)]
    pub key: Option<String>,
}

/// When a change to a key takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Applies {
    /// Without a restart (the service named in `service` watches the bucket).
    Live,
    /// At the next start.
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigEntry {
    pub key: String,
    pub value: Value,
    /// default, profile, file, env, flag or kv (highest wins).
    pub source: Source,
    pub applies: Applies,
    /// The service that applies it live, for `live` keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub help: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigView {
    pub profile: String,
    /// The profile this `trader run` runs (its file, env and flag layers are
    /// in `entries` only for that one).
    pub active: String,
    pub entries: Vec<ConfigEntry>,
}

/// `config.set`: writes `<profile>.<key>` into the `config` bucket after
/// checking it (unknown key or bad value: 400 naming the key). `reset`
/// deletes it instead, so the lower layers show again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRequest {
    #[serde(default)]
    pub profile: Option<String>,
    pub key: String,
    /// JSON (`5`, `"0.001"`, `["SIM-A"]`, `null` for no limit) or a string as
    /// on a command line (`"SIM-A,SIM-B"`, `"none"`).
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub reset: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SetResponse {
    pub profile: String,
    pub key: String,
    /// The key's value now (after a reset: from the layer below).
    pub value: Value,
    pub source: Source,
    /// KV revision written (0 for a reset).
    pub revision: u64,
    pub applies: Applies,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Keys changed by this write that take effect only after a restart.
    pub needs_restart: Vec<String>,
}

/// `config.profiles.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilesRequest {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfileInfo {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Services it starts (empty: all).
    pub services: Vec<String>,
    /// Keys it has in the `config` bucket.
    pub kv_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfilesList {
    pub active: String,
    pub profiles: Vec<ProfileInfo>,
}
