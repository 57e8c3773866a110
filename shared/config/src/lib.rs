//! The platform's configuration, without I/O: callers read files, the
//! environment and KV, and hand this crate text and values.
//!
//! - [`Settings`]: every setting in one typed struct (`services`, `sim`,
//!   `execution`, `risk`, `backtest`, `paper`).
//! - `keys`: every key by its dotted name (`sim.bar_seconds`), its kind,
//!   which service applies a change live (or that it needs a restart), its help.
//! - `profiles`: the built-in profiles `default`, `light` and `heavy`.
//! - `layers`: defaults < profile < file (TOML) < env (`TRADER_<KEY>`) < flags < KV,
//!   with the source of every key ([`Resolved`]).

mod keys;
mod layers;
mod profiles;
mod value;

use model::{Decimal, Symbol};
use serde::{Deserialize, Serialize};
pub use trading::RiskLimits;

pub use keys::{env_name, spec, Applies, KeySpec, Kind, KEYS};
pub use layers::{env_layer, toml_layer, Entry, Layer, Resolved, Source};
pub use profiles::{builtin, builtin_profiles, valid_profile_name, Profile, DEFAULT_PROFILE};

/// Everything `trader run` and its services can be configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Services `trader run` starts; empty: every one it knows.
    pub services: Vec<String>,
    pub sim: SimSettings,
    pub execution: ExecutionSettings,
    /// Limits of accounts with none of their own in `risk-limits`.
    pub risk: RiskLimits,
    pub backtest: BacktestSettings,
    pub paper: PaperSettings,
}

/// The market simulator (market-data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    pub enabled: bool,
    pub symbols: Vec<Symbol>,
    /// Bar interval in seconds (also the bars' timeframe: 1 → `1s`, 60 → `1m`).
    pub bar_seconds: u64,
    pub seed: u64,
}

/// The paper exchange's fill costs (execution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionSettings {
    /// Fraction of traded value per fill (0.001 = 0.1 %).
    pub commission_pct: Decimal,
    /// Adverse slippage of market and stop fills, in basis points.
    pub slippage_bps: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestSettings {
    /// Sweep tasks one backtest instance runs at once.
    pub workers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaperSettings {
    /// Cash of the `paper` account when `trader run` opens it (once).
    pub cash: Decimal,
}

impl Default for Settings {
    /// What `trader run` did before profiles: every service, three simulated
    /// symbols on 1-second bars, no costs, no limits.
    fn default() -> Self {
        Settings {
            services: Vec::new(),
            sim: SimSettings {
                enabled: true,
                symbols: ["SIM-A", "SIM-B", "SIM-C"]
                    .iter()
                    .map(|s| Symbol::new(s).expect("valid symbol"))
                    .collect(),
                bar_seconds: 1,
                seed: 42,
            },
            execution: ExecutionSettings {
                commission_pct: Decimal::ZERO,
                slippage_bps: Decimal::ZERO,
            },
            risk: RiskLimits::default(),
            backtest: BacktestSettings { workers: 1 },
            paper: PaperSettings {
                cash: Decimal::from(100_000),
            },
        }
    }
}

/// What is wrong with a key or a value; always names the key when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown config key `{key}`; known: {known}")]
    UnknownKey { key: String, known: String },
    #[error("config key `{key}`: {message}")]
    BadValue { key: String, message: String },
    #[error("config file: {0}")]
    File(String),
    #[error("profile `{0}`: a name is 1-32 letters, digits, `-` or `_`")]
    BadProfile(String),
}

impl ConfigError {
    /// The key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } | ConfigError::BadValue { key, .. } => Some(key),
            _ => None,
        }
    }

    fn bad(key: &str, message: impl Into<String>) -> Self {
        ConfigError::BadValue {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl Settings {
    /// The value of one key as JSON (`null` for an unset optional limit).
    pub fn get(&self, key: &str) -> Result<serde_json::Value, ConfigError> {
        spec(key)?;
        let tree = serde_json::to_value(self).expect("settings serialize");
        Ok(value::get_path(&tree, key))
    }

    /// A copy with `key` set to `value` (JSON, or a string as on the command
    /// line: `"SIM-A,SIM-B"`, `"0.001"`, `"none"`), checked as a whole.
    pub fn with(&self, key: &str, value: serde_json::Value) -> Result<Settings, ConfigError> {
        let spec = spec(key)?;
        let value = value::normalize(spec.kind, value).map_err(|m| ConfigError::bad(key, m))?;
        let mut tree = serde_json::to_value(self).expect("settings serialize");
        value::set_path(&mut tree, key, value);
        let next: Settings =
            serde_json::from_value(tree).map_err(|e| ConfigError::bad(key, e.to_string()))?;
        next.check(key)?;
        Ok(next)
    }

    /// Every rule a single key's value must meet (the types are serde's).
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::bad(key, m));
        match key {
            "sim.bar_seconds" if model::Timeframe::from_seconds(self.sim.bar_seconds).is_none() => {
                bad("a bar interval is a whole number of seconds, at least 1")
            }
            "sim.symbols" if self.sim.symbols.is_empty() => bad("at least one symbol"),
            "execution.commission_pct"
                if self.execution.commission_pct.is_sign_negative()
                    || self.execution.commission_pct >= Decimal::ONE =>
            {
                bad("a fraction of traded value, 0 <= commission < 1")
            }
            "execution.slippage_bps"
                if self.execution.slippage_bps.is_sign_negative()
                    || self.execution.slippage_bps >= Decimal::from(10_000) =>
            {
                bad("basis points, 0 <= slippage < 10000")
            }
            "backtest.workers" if !(1..=256).contains(&self.backtest.workers) => {
                bad("between 1 and 256")
            }
            "paper.cash" if self.paper.cash.is_sign_negative() => bad("not negative"),
            "risk.max_order_qty"
            | "risk.max_order_notional"
            | "risk.max_position"
            | "risk.max_gross_exposure"
            | "risk.daily_loss_limit" => {
                let v = self.get(key)?;
                match v.as_str().map(str::parse::<Decimal>) {
                    Some(Ok(d)) if d <= Decimal::ZERO => bad("a limit is positive (or none)"),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Services must be among those the binary knows.
    pub fn check_services(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self.services.iter().find(|s| !known.contains(&s.as_str())) {
            Some(unknown) => Err(ConfigError::bad(
                "services",
                format!("unknown service `{unknown}`; known: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
