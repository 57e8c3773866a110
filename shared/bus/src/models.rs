//! Versioned models in the JetStream object store `models`: object
//! `<model>/<version>` holds `{"info": ModelInfo, "model": …}`; the
//! [`ModelInfo`] also rides in the object's metadata, so listing versions
//! reads no payloads.

use async_nats::jetstream::{self, object_store};
use futures::StreamExt;
use serde::{de::DeserializeOwned, Serialize};
use tokio::io::AsyncReadExt;

use crate::api::regime::ModelInfo;
use crate::{subjects, BusError, ServiceError};

const INFO_KEY: &str = "info";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {0} not found")]
    NotFound(String),
    #[error("model {object} is not readable: {message}")]
    Invalid { object: String, message: String },
    #[error("model store: {0}")]
    Unavailable(String),
}

impl From<ModelError> for ServiceError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::NotFound(_) => ServiceError::not_found(e.to_string()),
            ModelError::Invalid { .. } => ServiceError::internal(e.to_string()),
            ModelError::Unavailable(_) => ServiceError::unavailable(e.to_string()),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<T> {
    info: ModelInfo,
    model: T,
}

/// The `models` bucket.
#[derive(Clone)]
pub struct ModelStore {
    store: object_store::ObjectStore,
}

impl ModelStore {
    /// Creates the bucket if missing (retried until JetStream answers).
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<ModelStore, BusError> {
        let bucket = subjects::object_stores::MODELS;
        let store = crate::jetstream::provision(&format!("object store {bucket}"), || async {
            match js.get_object_store(bucket).await {
                Ok(s) => Ok(s),
                Err(_) => js
                    .create_object_store(object_store::Config {
                        bucket: bucket.to_string(),
                        description: Some("versioned models: <model>/<version>".to_string()),
                        num_replicas: replicas.max(1),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string()),
            }
        })
        .await?;
        Ok(ModelStore { store })
    }

    /// The bucket if it exists (readers that never create it).
    pub async fn get(js: &jetstream::Context) -> Result<ModelStore, ModelError> {
        js.get_object_store(subjects::object_stores::MODELS)
            .await
            .map(|store| ModelStore { store })
            .map_err(|e| ModelError::Unavailable(e.to_string()))
    }

    /// Stores one version (`info.object`).
    pub async fn put<T: Serialize>(&self, info: &ModelInfo, model: &T) -> Result<(), ModelError> {
        let unavailable = |e: String| ModelError::Unavailable(e);
        let payload = serde_json::to_vec(&Stored {
            info: info.clone(),
            model,
        })
        .map_err(|e| unavailable(e.to_string()))?;
        let meta = object_store::ObjectMetadata {
            name: info.object.clone(),
            description: Some(format!(
                "{} model {} version {}",
                info.kind, info.name, info.version
            )),
            metadata: [(
                INFO_KEY.to_string(),
                serde_json::to_string(info).map_err(|e| unavailable(e.to_string()))?,
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        self.store
            .put(meta, &mut payload.as_slice())
            .await
            .map(|_| ())
            .map_err(|e| unavailable(e.to_string()))
    }

    /// Loads one version back.
    pub async fn load<T: DeserializeOwned>(
        &self,
        name: &str,
        version: u64,
    ) -> Result<(ModelInfo, T), ModelError> {
        let object = subjects::model_object(name, version);
        let mut reader = match self.store.get(&object).await {
            Ok(r) => r,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => {
                return Err(ModelError::NotFound(object))
            }
            Err(e) => return Err(ModelError::Unavailable(e.to_string())),
        };
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ModelError::Unavailable(e.to_string()))?;
        let stored: Stored<T> =
            serde_json::from_slice(&bytes).map_err(|e| ModelError::Invalid {
                object: object.clone(),
                message: e.to_string(),
            })?;
        Ok((stored.info, stored.model))
    }

    /// Every stored version (of `name` only, when given), by name then version.
    pub async fn versions(&self, name: Option<&str>) -> Result<Vec<ModelInfo>, ModelError> {
        let mut list = self
            .store
            .list()
            .await
            .map_err(|e| ModelError::Unavailable(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(item) = list.next().await {
            let info = item.map_err(|e| ModelError::Unavailable(e.to_string()))?;
            let Some(json) = info.metadata.get(INFO_KEY) else {
                continue;
            };
            let Ok(model) = serde_json::from_str::<ModelInfo>(json) else {
                continue;
            };
            if name.is_none_or(|n| n == model.name) {
                out.push(model);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.version.cmp(&b.version)));
        Ok(out)
    }

    /// The version after the newest stored one (1 for a new model).
    pub async fn next_version(&self, name: &str) -> Result<u64, ModelError> {
        Ok(self
            .versions(Some(name))
            .await?
            .last()
            .map_or(1, |m| m.version + 1))
    }
}

/// The model a strategy pins (an ensemble's `model_version`), loaded from the
/// store: `ensemble-<symbol>-<timeframe>/<version>`. `None` when it pins none.
pub async fn pinned(
    js: &jetstream::Context,
    kind: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    symbol: &model::Symbol,
    timeframe: model::Timeframe,
) -> Result<Option<strategy::EnsembleModel>, ServiceError> {
    let version = strategy::pinned_model(kind, params)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let Some(version) = version else {
        return Ok(None);
    };
    let name = subjects::ensemble_model(symbol, timeframe);
    let store = ModelStore::get(js).await.map_err(|e| match e {
        ModelError::Unavailable(m) => ServiceError::not_found(format!(
            "model {name} version {version}: no model store ({m})"
        )),
        other => other.into(),
    })?;
    let (_, model) = store.load(&name, version).await?;
    Ok(Some(model))
}
