//! A KV bucket (or the keys of it under one prefix) mirrored in memory and
//! watched live: the one way a service follows settings in KV (risk limits,
//! trading states, the `config` bucket). A change made by any KV client
//! applies on every instance without a restart; [`KvCache::changes`] wakes
//! whoever has to react.

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::BusError;

/// A bucket mirrored in memory: key → (value, revision).
pub struct KvCache<T> {
    pub kv: kv::Store,
    entries: Arc<RwLock<HashMap<String, (T, u64)>>>,
    changes: watch::Receiver<u64>,
    changes_tx: Arc<watch::Sender<u64>>,
}

impl<T> Clone for KvCache<T> {
    fn clone(&self) -> Self {
        KvCache {
            kv: self.kv.clone(),
            entries: self.entries.clone(),
            changes: self.changes.clone(),
            changes_tx: self.changes_tx.clone(),
        }
    }
}

/// What to mirror: the bucket (created with these settings when missing) and
/// the keys (`None`: all; `Some("light.>")`: a prefix).
pub struct Watched<'a> {
    pub bucket: &'a str,
    pub description: &'a str,
    pub replicas: usize,
    pub filter: Option<String>,
}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> KvCache<T> {
    pub async fn open(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        Self::open_watched(
            js,
            Watched {
                bucket,
                description,
                replicas,
                filter: None,
            },
            stop,
        )
        .await
    }

    /// Opens (creating when missing), loads the current values, then follows
    /// every change until `stop`. Values that do not parse are logged and skipped.
    pub async fn open_watched(
        js: &jetstream::Context,
        what: Watched<'_>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        let kv = crate::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: what.bucket.to_string(),
                description: what.description.to_string(),
                history: 10,
                num_replicas: what.replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        let (changes_tx, changes) = watch::channel(0);
        let cache = KvCache {
            kv,
            entries: Arc::default(),
            changes,
            changes_tx: Arc::new(changes_tx),
        };
        // The watch first, so nothing written between the load and it is missed
        // (revisions order the two).
        let updates = match &what.filter {
            Some(filter) => cache.kv.watch(filter).await,
            None => cache.kv.watch_all().await,
        }
        .map_err(|e| BusError::jetstream(&format!("watch {}", what.bucket), e))?;
        cache.load(what.bucket, what.filter.as_deref()).await?;
        tokio::spawn(follow(
            what.bucket.to_string(),
            updates,
            cache.entries.clone(),
            cache.changes_tx.clone(),
            stop,
        ));
        Ok(cache)
    }

    async fn load(&self, bucket: &str, filter: Option<&str>) -> Result<(), BusError> {
        let prefix = filter.map(|f| f.trim_end_matches('>'));
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| BusError::jetstream(&format!("list keys of {bucket}"), e))?;
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| BusError::jetstream(&format!("list keys of {bucket}"), e))?;
            if prefix.is_some_and(|p| !key.starts_with(p)) {
                continue;
            }
            let entry = self
                .kv
                .entry(&key)
                .await
                .map_err(|e| BusError::jetstream(&format!("read {bucket}/{key}"), e))?;
            if let Some(entry) = entry {
                apply(bucket, &self.entries, entry);
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<(T, u64)> {
        self.entries.read().get(key).cloned()
    }

    /// Every key and value held now.
    pub fn snapshot(&self) -> Vec<(String, T)> {
        let mut all: Vec<(String, T)> = self
            .entries
            .read()
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Bumped after every change applied from the watch: `changed().await` on
    /// a clone wakes when the values moved.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
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
        drop(map);
        self.changes_tx.send_modify(|n| *n += 1);
        Ok(revision)
    }

    /// Deletes in KV and here.
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.kv.delete(key).await.map_err(|e| e.to_string())?;
        self.entries.write().remove(key);
        self.changes_tx.send_modify(|n| *n += 1);
        Ok(())
    }
}

fn apply<T: DeserializeOwned>(
    bucket: &str,
    entries: &RwLock<HashMap<String, (T, u64)>>,
    entry: kv::Entry,
) -> bool {
    match entry.operation {
        kv::Operation::Put => match serde_json::from_slice::<T>(&entry.value) {
            Ok(value) => {
                let mut map = entries.write();
                let newer = map.get(&entry.key).is_none_or(|(_, r)| *r < entry.revision);
                if newer {
                    map.insert(entry.key, (value, entry.revision));
                }
                newer
            }
            Err(e) => {
                tracing::warn!(bucket, key = %entry.key, error = %e, "ignoring a value that does not parse");
                false
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => {
            entries.write().remove(&entry.key).is_some()
        }
    }
}

async fn follow<T: DeserializeOwned>(
    bucket: String,
    mut updates: kv::Watch,
    entries: Arc<RwLock<HashMap<String, (T, u64)>>>,
    changes: Arc<watch::Sender<u64>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            _ = crate::follow::stopped(&mut stop) => break,
            next = updates.next() => next,
        };
        match next {
            Some(Ok(entry)) => {
                let (key, revision) = (entry.key.clone(), entry.revision);
                if apply(&bucket, &entries, entry) {
                    tracing::info!(bucket, key, revision, "setting changed");
                    changes.send_modify(|n| *n += 1);
                }
            }
            Some(Err(e)) => tracing::warn!(bucket, error = %e, "watch error"),
            None => {
                tracing::warn!(bucket, "watch ended");
                break;
            }
        }
    }
}
