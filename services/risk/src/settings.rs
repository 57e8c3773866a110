//! Limits and trading states: KV buckets `risk-limits` and `risk-state`, kept
//! in memory by a watch on each, so a change made through `risk.limits.set`,
//! `risk.halt` or any KV client applies to the next order without a restart.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::{self, kv};
use bus::api::risk::{RiskLimits, StateRecord, TradingState};
use bus::{subjects, BusError};
use futures::StreamExt;
use model::UnixNanos;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

/// A KV bucket mirrored in memory: key → (value, revision).
pub struct KvCache<T> {
    pub kv: kv::Store,
    entries: Arc<RwLock<HashMap<String, (T, u64)>>>,
}

impl<T> Clone for KvCache<T> {
    fn clone(&self) -> Self {
        KvCache {
            kv: self.kv.clone(),
            entries: self.entries.clone(),
        }
    }
}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> KvCache<T> {
    pub async fn open(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        let kv = bus::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: bucket.to_string(),
                description: description.to_string(),
                history: 10,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        let cache = KvCache {
            kv,
            entries: Arc::default(),
        };
        cache.spawn_watch(bucket.to_string(), stop).await?;
        Ok(cache)
    }

    /// Current values, then every change (a watch delivers the latest value
    /// of each key first).
    async fn spawn_watch(
        &self,
        bucket: String,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), BusError> {
        let mut updates = self
            .kv
            .watch_all()
            .await
            .map_err(|e| BusError::jetstream(&format!("watch {bucket}"), e))?;
        let entries = self.entries.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    next = updates.next() => next,
                };
                match next {
                    Some(Ok(entry)) => match entry.operation {
                        kv::Operation::Put => match serde_json::from_slice::<T>(&entry.value) {
                            Ok(value) => {
                                tracing::info!(bucket, key = %entry.key, revision = entry.revision, "setting changed");
                                let mut map = entries.write();
                                let newer =
                                    map.get(&entry.key).is_none_or(|(_, r)| *r < entry.revision);
                                if newer {
                                    map.insert(entry.key, (value, entry.revision));
                                }
                            }
                            Err(e) => {
                                tracing::warn!(bucket, key = %entry.key, error = %e, "ignoring a value that does not parse")
                            }
                        },
                        kv::Operation::Delete | kv::Operation::Purge => {
                            entries.write().remove(&entry.key);
                        }
                    },
                    Some(Err(e)) => tracing::warn!(bucket, error = %e, "watch error"),
                    None => {
                        tracing::warn!(bucket, "watch ended");
                        break;
                    }
                }
            }
        });
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<(T, u64)> {
        self.entries.read().get(key).cloned()
    }

    /// Writes through to KV and applies at once on this instance.
    pub async fn put(&self, key: &str, value: &T) -> Result<u64, String> {
        let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
        let revision = self
            .kv
            .put(key, bytes.into())
            .await
            .map_err(|e| e.to_string())?;
        let mut map = self.entries.write();
        let newer = map.get(key).is_none_or(|(_, r)| *r < revision);
        if newer {
            map.insert(key.to_string(), (value.clone(), revision));
        }
        Ok(revision)
    }
}

/// Both buckets.
#[derive(Clone)]
pub struct Settings {
    pub limits: KvCache<RiskLimits>,
    pub states: KvCache<StateRecord>,
    pub default_limits: RiskLimits,
}

impl Settings {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        default_limits: RiskLimits,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        Ok(Settings {
            limits: KvCache::open(
                js,
                subjects::buckets::RISK_LIMITS,
                "risk limits per account (RiskLimits JSON)",
                replicas,
                stop.clone(),
            )
            .await?,
            states: KvCache::open(
                js,
                subjects::buckets::RISK_STATE,
                "trading state per account (ACTIVE, REDUCING, HALTED)",
                replicas,
                stop,
            )
            .await?,
            default_limits,
        })
    }

    /// The account's limits and their revision (0: the defaults).
    pub fn limits_of(&self, account: &str) -> (RiskLimits, u64) {
        self.limits
            .get(account)
            .unwrap_or_else(|| (self.default_limits.clone(), 0))
    }

    pub fn state_of(&self, account: &str) -> StateRecord {
        self.states
            .get(account)
            .map(|(s, _)| s)
            .unwrap_or_else(|| StateRecord {
                account: account.to_string(),
                state: TradingState::Active,
                reason: "default".to_string(),
                since: UnixNanos(0),
            })
    }
}
