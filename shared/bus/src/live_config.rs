//! The `config` bucket (`<profile>.<key>` → JSON value) as services see it:
//! the top layer of `trader_config`'s layering, watched live through
//! [`crate::kv::KvCache`]. A service that applies some keys live runs
//! [`watch_settings`] with its own values as the base; the config service
//! reads and writes every profile's keys.

use serde_json::Value;
use tokio::sync::watch;
use trader_config::{Applies, Layer, Resolved, Settings, Source};

use crate::kv::{KvCache, Watched};
use crate::{subjects, BusError};

/// The `config` bucket, or one profile's keys of it.
#[derive(Clone)]
pub struct ConfigBucket {
    cache: KvCache<Value>,
}

impl ConfigBucket {
    /// Every profile's keys (`profile: None`) or one profile's.
    pub async fn open(
        js: &async_nats::jetstream::Context,
        replicas: usize,
        profile: Option<&str>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        let cache = KvCache::open_watched(
            js,
            Watched {
                bucket: subjects::buckets::CONFIG,
                description:
                    "settings per profile (key <profile>.<setting>, JSON value), watched live",
                replicas,
                filter: profile.map(subjects::config::kv_filter),
            },
            stop,
        )
        .await?;
        Ok(ConfigBucket { cache })
    }

    /// A profile's keys in KV, as a layer (source `kv`).
    pub fn layer(&self, profile: &str) -> Layer {
        let prefix = format!("{profile}.");
        let mut layer = Layer::new(Source::Kv);
        for (key, value) in self.cache.snapshot() {
            if let Some(setting) = key.strip_prefix(&prefix) {
                layer.values.push((setting.to_string(), value));
            }
        }
        layer
    }

    /// Profiles with at least one key in KV.
    pub fn profiles(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .cache
            .snapshot()
            .into_iter()
            .filter_map(|(k, _)| k.split_once('.').map(|(p, _)| p.to_string()))
            .collect();
        names.dedup();
        names
    }

    /// `base` with the profile's KV keys over it; keys whose value does not
    /// pass (written by another KV client) are logged and skipped.
    pub fn over(&self, base: &Resolved) -> Resolved {
        let mut resolved = base.clone();
        for skipped in resolved.apply_lenient(&self.layer(&base.profile)) {
            tracing::warn!(profile = %base.profile, error = %skipped, "config value in KV ignored");
        }
        resolved
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.cache.changes()
    }

    pub async fn put(&self, profile: &str, key: &str, value: &Value) -> Result<u64, String> {
        self.cache
            .put(&subjects::config::kv_key(profile, key), value)
            .await
    }

    pub async fn delete(&self, profile: &str, key: &str) -> Result<(), String> {
        self.cache
            .delete(&subjects::config::kv_key(profile, key))
            .await
    }
}

/// Follows one profile's keys for `service`: `apply` gets the settings
/// (`base` with KV over it) at once and after every change that moves a key
/// this service applies live, until `stop`. Each applied key is logged.
pub async fn watch_settings(
    bucket: ConfigBucket,
    base: Resolved,
    service: &'static str,
    mut stop: watch::Receiver<bool>,
    mut apply: impl FnMut(&Settings) + Send,
) {
    let mut changes = bucket.changes();
    let mut current = bucket.over(&base);
    apply(&current.settings);
    loop {
        tokio::select! {
            _ = crate::follow::stopped(&mut stop) => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        let next = bucket.over(&base);
        let moved: Vec<&str> = changed_keys(&current, &next)
            .into_iter()
            .filter(|k| trader_config::spec(k).is_ok_and(|s| s.applies == Applies::Live(service)))
            .collect();
        if !moved.is_empty() {
            for key in &moved {
                tracing::info!(service, profile = %base.profile, key,
                    value = %next.settings.get(key).unwrap_or_default(), "config applied live");
            }
            apply(&next.settings);
        }
        current = next;
    }
}

/// Keys whose value differs between two resolutions.
pub fn changed_keys(before: &Resolved, after: &Resolved) -> Vec<&'static str> {
    before
        .entries()
        .into_iter()
        .zip(after.entries())
        .filter(|(a, b)| a.value != b.value)
        .map(|(a, _)| a.key)
        .collect()
}

/// Makes a service follow its live keys of `profile`: `fill` writes the values
/// the service was started with into the base, `apply` gets the settings at
/// once and after every change to a key `service` applies live. Runs as one
/// of the runner's background tasks.
pub async fn follow_service(
    runner: &mut crate::runner::Runner,
    profile: &str,
    replicas: usize,
    service: &'static str,
    fill: impl FnOnce(&mut Settings),
    apply: impl FnMut(&Settings) + Send + 'static,
) -> Result<(), BusError> {
    let invalid = |e: trader_config::ConfigError| BusError::Service {
        service: service.to_string(),
        message: e.to_string(),
    };
    let mut base = Resolved::new(&trader_config::Profile::custom(profile).map_err(invalid)?)
        .map_err(invalid)?;
    fill(&mut base.settings);
    let bucket =
        ConfigBucket::open(runner.js(), replicas, Some(profile), runner.stop_signal()).await?;
    let stop = runner.stop_signal();
    runner.spawn(
        "config-watch",
        watch_settings(bucket, base, service, stop, apply),
    );
    Ok(())
}
