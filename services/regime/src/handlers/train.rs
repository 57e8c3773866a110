//! `regime.train`: retrain one series' models now.

use std::sync::Arc;

use bus::api::regime::{TrainRequest, TrainResponse};
use bus::{RequestContext, ServiceError};

use crate::state::METHODS;
use crate::{training, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: TrainRequest,
) -> Result<TrainResponse, ServiceError> {
    let key = (req.symbol, req.timeframe);
    let ensemble_method = req.method.unwrap_or_default();
    let methods: Vec<_> = match req.method {
        Some(m) => vec![m],
        None => METHODS.to_vec(),
    };
    let mut models = Vec::new();
    for method in methods {
        models.push(training::train(&ctx, &key, method, &rc.correlation_id).await?);
    }
    if req.ensemble {
        models
            .push(training::train_ensemble(&ctx, &key, ensemble_method, &rc.correlation_id).await?);
    }
    Ok(TrainResponse { models })
}
