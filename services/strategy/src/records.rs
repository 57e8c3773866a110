//! The `strategies` KV bucket: one key per strategy id, the [`StrategyRecord`]
//! as JSON. It says what should run; leases say where it runs.

use async_nats::jetstream::{self, kv};
use bus::api::strategy::StrategyRecord;
use bus::{subjects, BusError};
use futures::StreamExt;

#[derive(Clone)]
pub struct Records {
    kv: kv::Store,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("strategies bucket: {0}")]
    Store(String),
    #[error("strategy {0} changed meanwhile; retry")]
    Conflict(String),
}

impl Records {
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, BusError> {
        let kv = bus::jetstream::ensure_kv(
            js,
            kv::Config {
                bucket: subjects::buckets::STRATEGIES.to_string(),
                description: "started strategies".to_string(),
                history: 5,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await?;
        Ok(Records { kv })
    }

    /// The record and its revision (for compare-and-set).
    pub async fn get(&self, id: &str) -> Result<Option<(StrategyRecord, u64)>, RecordError> {
        let entry = self
            .kv
            .entry(id)
            .await
            .map_err(|e| RecordError::Store(e.to_string()))?;
        Ok(entry.and_then(|e| {
            if e.operation != kv::Operation::Put {
                return None;
            }
            serde_json::from_slice(&e.value)
                .ok()
                .map(|r| (r, e.revision))
        }))
    }

    /// Writes `record` if the key is still at `revision` (`None`: must not exist).
    pub async fn save(
        &self,
        record: &StrategyRecord,
        revision: Option<u64>,
    ) -> Result<u64, RecordError> {
        let value = serde_json::to_vec(record).map_err(|e| RecordError::Store(e.to_string()))?;
        let result = match revision {
            Some(rev) => self
                .kv
                .update(&record.id, value.into(), rev)
                .await
                .map_err(|e| e.to_string()),
            None => self
                .kv
                .create(&record.id, value.into())
                .await
                .map_err(|e| e.to_string()),
        };
        result.map_err(|e| {
            if e.contains("wrong last sequence")
                || e.contains("already exists")
                || e.contains("key exists")
            {
                RecordError::Conflict(record.id.clone())
            } else {
                RecordError::Store(e)
            }
        })
    }

    /// Changes to any strategy, as they happen (for prompt reaction).
    pub async fn watch(&self) -> Option<kv::Watch> {
        self.kv.watch_all().await.ok()
    }

    pub async fn all(&self) -> Result<Vec<StrategyRecord>, RecordError> {
        let keys = match self.kv.keys().await {
            Ok(keys) => keys,
            Err(e) => return Err(RecordError::Store(e.to_string())),
        };
        let keys: Vec<String> = keys.filter_map(|k| async move { k.ok() }).collect().await;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some((record, _)) = self.get(&key).await? {
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
