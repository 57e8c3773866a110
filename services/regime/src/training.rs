//! Training a series' model: train on its feature history (pure, on a
//! blocking thread), store the next version in the `models` object store,
//! announce it (`ML_MODEL_UPDATE`), put it in use.

use std::sync::Arc;

use bus::api::regime::{ModelInfo, ModelRef, RegimeChange};
use bus::{subjects, ServiceError};
use model::event::types;
use model::{RegimeMethod, UnixNanos};
use regime::RegimeModel;

use crate::state::{features_of, Change, Key};
use crate::Ctx;

pub fn kind_of(method: RegimeMethod) -> &'static str {
    match method {
        RegimeMethod::Hmm => "regime_hmm",
        RegimeMethod::Kmeans => "regime_kmeans",
    }
}

/// Trains, stores and installs a new version of `key`'s `method` model.
pub async fn train(
    ctx: &Arc<Ctx>,
    key: &Key,
    method: RegimeMethod,
    correlation_id: &str,
) -> Result<ModelInfo, ServiceError> {
    let _one_at_a_time = ctx.training.lock().await;
    let (history, trained_to) = {
        let all = ctx.series.lock();
        let s = all.series.get(key).ok_or_else(|| {
            ServiceError::not_found(format!("no bars of {} {} seen", key.0, key.1))
        })?;
        (s.history.iter().copied().collect::<Vec<_>>(), s.as_of)
    };
    let window = ctx.config.window;
    let model = tokio::task::spawn_blocking(move || RegimeModel::train(method, window, &history))
        .await
        .map_err(|e| ServiceError::internal(format!("training task failed: {e}")))?
        .map_err(|e| ServiceError::unavailable(format!("cannot train yet: {e}")))?;
    let name = subjects::regime_model(&key.0, key.1, method);
    let version = ctx.models.next_version(&name).await?;
    let info = ModelInfo {
        object: subjects::model_object(&name, version),
        name: name.clone(),
        version,
        kind: kind_of(method).to_string(),
        symbol: key.0.clone(),
        timeframe: key.1,
        bars: model.trained_on as u64,
        trained_to,
        created_ts: UnixNanos::now(),
    };
    ctx.models.put(&info, &model).await?;
    announce(ctx, &info, correlation_id).await;
    let change = {
        let mut all = ctx.series.lock();
        all.series.get_mut(key).and_then(|s| {
            s.install(
                method,
                ModelRef {
                    name: name.clone(),
                    version,
                },
                model,
            )
        })
    };
    if let Some(change) = change {
        publish_change(ctx, key, change, correlation_id).await;
    }
    tracing::info!(model = %name, version, "model trained and stored");
    Ok(info)
}

/// Learns, stores and announces a new version of `key`'s ensemble model.
pub async fn train_ensemble(
    ctx: &Arc<Ctx>,
    key: &Key,
    method: RegimeMethod,
    correlation_id: &str,
) -> Result<ModelInfo, ServiceError> {
    let _one_at_a_time = ctx.training.lock().await;
    let bars: Vec<model::Bar> = {
        let all = ctx.series.lock();
        let s = all.series.get(key).ok_or_else(|| {
            ServiceError::not_found(format!("no bars of {} {} seen", key.0, key.1))
        })?;
        s.recent_bars.iter().cloned().collect()
    };
    let trained_to = bars.last().map_or(UnixNanos(0), |b| b.ts);
    // The ensemble's default parameters, with this method and window.
    let mut params = strategy::Params::resolve(
        "ensemble",
        &strategy::Ensemble::info().params,
        &Default::default(),
    )
    .map(|p| strategy::EnsembleParams::from_params(&p))
    .map_err(|e| ServiceError::internal(e.to_string()))?;
    params.method = method;
    params.window = ctx.config.window;
    let model = tokio::task::spawn_blocking(move || strategy::EnsembleModel::train(&bars, &params))
        .await
        .map_err(|e| ServiceError::internal(format!("training task failed: {e}")))?
        .map_err(|e| ServiceError::unavailable(format!("cannot train yet: {e}")))?;
    let name = subjects::ensemble_model(&key.0, key.1);
    let version = ctx.models.next_version(&name).await?;
    let info = ModelInfo {
        object: subjects::model_object(&name, version),
        name: name.clone(),
        version,
        kind: "ensemble".to_string(),
        symbol: key.0.clone(),
        timeframe: key.1,
        bars: model.trained_on as u64,
        trained_to,
        created_ts: UnixNanos::now(),
    };
    ctx.models.put(&info, &model).await?;
    announce(ctx, &info, correlation_id).await;
    tracing::info!(model = %name, version, "ensemble model trained and stored");
    Ok(info)
}

/// `ML_MODEL_UPDATE` on `evt.model.<name>`.
pub async fn announce(ctx: &Ctx, info: &ModelInfo, correlation_id: &str) {
    if let Err(e) = bus::events::publish(
        &ctx.js,
        subjects::model_update(&info.name),
        &subjects::model_update_msg_id(&info.name, info.version),
        types::ML_MODEL_UPDATE,
        correlation_id,
        subjects::regime::SERVICE,
        info,
        None,
    )
    .await
    {
        tracing::warn!(model = %info.name, version = info.version, error = %e, "model update not announced");
    }
}

/// `REGIME_CHANGE` on `evt.regime.<symbol>.<timeframe>.<method>`.
pub async fn publish_change(ctx: &Ctx, key: &Key, change: Change, correlation_id: &str) {
    let data = RegimeChange {
        symbol: key.0.clone(),
        timeframe: key.1,
        method: change.method,
        from: change.from,
        to: change.to,
        features: features_of(&change.features),
        as_of: change.as_of,
        model: change.model,
    };
    let subject = subjects::regime_change(&key.0, key.1, change.method);
    let msg_id = subjects::regime_change_msg_id(&key.0, key.1, change.method, change.as_of);
    if let Err(e) = bus::events::publish(
        &ctx.js,
        subject,
        &msg_id,
        types::REGIME_CHANGE,
        correlation_id,
        subjects::regime::SERVICE,
        &data,
        None,
    )
    .await
    {
        tracing::warn!(symbol = %key.0, error = %e, "regime change not published");
    }
}
