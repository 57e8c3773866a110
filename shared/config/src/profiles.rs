//! Built-in profiles: named sets of values over the defaults. Any other name
//! is a profile too once the `config` bucket holds keys for it (defaults plus
//! those keys).

use serde_json::{json, Value};

use crate::ConfigError;

/// The profile `trader run` uses without `--profile`: the defaults as they are.
pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Keys this profile sets over the defaults.
    pub values: Vec<(String, Value)>,
}

impl Profile {
    /// A profile with no values of its own (defaults, then whatever KV holds for it).
    pub fn custom(name: &str) -> Result<Profile, ConfigError> {
        if !valid_profile_name(name) {
            return Err(ConfigError::BadProfile(name.to_string()));
        }
        Ok(Profile {
            name: name.to_string(),
            description: "custom: the defaults and this profile's keys in the config bucket"
                .to_string(),
            values: Vec::new(),
        })
    }
}

/// Names are KV-key safe (they prefix keys in the `config` bucket).
pub fn valid_profile_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn profile(name: &str, description: &str, values: Value) -> Profile {
    let Value::Object(map) = values else {
        unreachable!("profile values are an object")
    };
    Profile {
        name: name.to_string(),
        description: description.to_string(),
        values: map.into_iter().collect(),
    }
}

pub fn builtin_profiles() -> Vec<Profile> {
    vec![
        profile(
            DEFAULT_PROFILE,
            "every service, three simulated symbols on 1 s bars, no costs, no default limits",
            json!({}),
        ),
        profile(
            "light",
            "laptop or edge box: the trading path only (no backtest or analytics), two symbols on 5 s bars, realistic costs, tight default limits",
            json!({
                "services": ["market-data", "strategy", "risk", "execution", "portfolio", "config"],
                "sim.symbols": ["SIM-A", "SIM-B"],
                "sim.bar_seconds": 5,
                "execution.commission_pct": "0.001",
                "execution.slippage_bps": "5",
                "risk.max_order_qty": "100",
                "risk.max_position": "500",
                "risk.max_orders_per_second": 5,
                "risk.daily_loss_limit": "2000",
                "backtest.workers": 1,
                "paper.cash": "25000",
            }),
        ),
        profile(
            "heavy",
            "workstation or server: every service, six symbols on 1 s bars, 4 sweep workers per backtest instance, wider default limits",
            json!({
                "services": [],
                "sim.symbols": ["SIM-A", "SIM-B", "SIM-C", "SIM-D", "SIM-E", "SIM-F"],
                "sim.bar_seconds": 1,
                "execution.commission_pct": "0.0005",
                "execution.slippage_bps": "2",
                "risk.max_order_qty": "1000",
                "risk.max_position": "10000",
                "risk.max_orders_per_second": 50,
                "risk.daily_loss_limit": "20000",
                "backtest.workers": 4,
                "paper.cash": "1000000",
            }),
        ),
    ]
}

pub fn builtin(name: &str) -> Option<Profile> {
    builtin_profiles().into_iter().find(|p| p.name == name)
}
