//! `trader run`'s settings: the profile, then the `--config` file, the
//! `TRADER_<KEY>` environment and the flags below (each only when given), then
//! the profile's keys in the `config` KV bucket. What the keys are and how
//! layers combine is `trader_config`; this file only reads the inputs.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::sync::watch;
use trader_config::{Layer, Profile, Resolved, Source};

/// Flags that set a key (`trader config show` names each key's source).
/// Unset flags leave the lower layers alone.
#[derive(clap::Args, Debug, Default)]
pub struct SettingFlags {
    /// Services to run (comma-separated; key `services`); default: the profile's.
    #[arg(long, value_delimiter = ',')]
    services: Vec<String>,
    /// Symbols the simulator trades (comma-separated; key `sim.symbols`).
    #[arg(long, value_delimiter = ',')]
    simulate: Vec<String>,
    /// Do not run the market simulator (key `sim.enabled`).
    #[arg(long)]
    no_simulator: bool,
    /// Simulator seed (key `sim.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulator bar interval in seconds (key `sim.bar_seconds`).
    #[arg(long)]
    bar_seconds: Option<u64>,
    /// Paper exchange commission, as a fraction of traded value, 0.001 = 0.1 %
    /// (key `execution.commission_pct`).
    #[arg(long)]
    commission_pct: Option<String>,
    /// Paper exchange slippage of market and stop fills, in basis points (key
    /// `execution.slippage_bps`).
    #[arg(long)]
    slippage_bps: Option<String>,
    /// Cash of the `paper` account opened at start (paper strategies trade in
    /// it by default); opening is once, later starts keep the account as it is
    /// (key `paper.cash`).
    #[arg(long)]
    paper_cash: Option<String>,
    /// Sweep tasks each backtest instance runs at once (key `backtest.workers`).
    #[arg(long)]
    backtest_workers: Option<u64>,
}

impl SettingFlags {
    fn layer(&self) -> Layer {
        let mut layer = Layer::new(Source::Flag);
        let mut set = |key: &str, value: Value| layer.values.push((key.to_string(), value));
        if !self.services.is_empty() {
            set("services", Value::from(self.services.clone()));
        }
        if !self.simulate.is_empty() {
            set("sim.symbols", Value::from(self.simulate.clone()));
        }
        if self.no_simulator {
            set("sim.enabled", Value::Bool(false));
        }
        if let Some(v) = self.seed {
            set("sim.seed", v.into());
        }
        if let Some(v) = self.bar_seconds {
            set("sim.bar_seconds", v.into());
        }
        if let Some(v) = &self.commission_pct {
            set("execution.commission_pct", v.as_str().into());
        }
        if let Some(v) = &self.slippage_bps {
            set("execution.slippage_bps", v.as_str().into());
        }
        if let Some(v) = &self.paper_cash {
            set("paper.cash", v.as_str().into());
        }
        if let Some(v) = self.backtest_workers {
            set("backtest.workers", v.into());
        }
        layer
    }
}

/// The profile, file, environment and flags (everything but KV).
pub fn resolve_base(
    profile: &str,
    file: Option<&Path>,
    flags: &SettingFlags,
) -> anyhow::Result<Resolved> {
    let profile = match trader_config::builtin(profile) {
        Some(p) => p,
        None => Profile::custom(profile)?,
    };
    let mut resolved = Resolved::new(&profile)?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let layer = trader_config::toml_layer(&text)
            .with_context(|| format!("config file {}", path.display()))?;
        resolved.apply(&layer)?;
    }
    resolved.apply(&trader_config::env_layer(std::env::vars()))?;
    resolved.apply(&flags.layer())?;
    resolved
        .settings
        .check_services(crate::services::ALL_SERVICES)?;
    Ok(resolved)
}

/// `base` with the profile's keys in the `config` bucket on top. A profile
/// that is neither built in nor in the bucket is a typo: an error.
pub async fn with_kv(
    client: &async_nats::Client,
    base: &Resolved,
    replicas: usize,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Resolved> {
    let js = async_nats::jetstream::new(client.clone());
    let bucket =
        bus::live_config::ConfigBucket::open(&js, replicas, Some(&base.profile), stop).await?;
    let kv = bucket.layer(&base.profile);
    if trader_config::builtin(&base.profile).is_none() && kv.is_empty() {
        bail!(
            "unknown profile {:?}: built in are {}; another needs keys in the config bucket (trader config set --profile NAME KEY VALUE)",
            base.profile,
            trader_config::builtin_profiles()
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let full = bucket.over(base);
    full.settings
        .check_services(crate::services::ALL_SERVICES)?;
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each built-in profile starts (the list `trader run` picks from).
    #[test]
    fn builtin_profiles_name_only_known_services() {
        let flags = SettingFlags::default();
        let light = resolve_base("light", None, &flags).unwrap();
        let started = crate::services::selected(&light.settings.services).unwrap();
        assert!(started.contains(&"risk") && started.contains(&"config"));
        assert!(!started.contains(&"backtest") && !started.contains(&"analytics"));
        for name in ["default", "heavy"] {
            let all = resolve_base(name, None, &flags).unwrap();
            let started = crate::services::selected(&all.settings.services).unwrap();
            assert_eq!(started, crate::services::ALL_SERVICES, "{name}");
        }
        assert_eq!(
            resolve_base("heavy", None, &flags)
                .unwrap()
                .settings
                .backtest
                .workers,
            4
        );
        assert!(resolve_base("bad name", None, &flags).is_err());
    }
}
