//! `orchestrator.batch`: one prediction per symbol (a few at once), in order.

use std::sync::Arc;
use std::time::Instant;

use bus::api::orchestrator::{BatchItem, BatchRequest, BatchResponse, PredictRequest, MAX_BATCH};
use bus::{RequestContext, ServiceError};
use futures::StreamExt;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: BatchRequest,
) -> Result<BatchResponse, ServiceError> {
    if req.symbols.is_empty() || req.symbols.len() > MAX_BATCH {
        return Err(ServiceError::bad_request(format!(
            "1 to {MAX_BATCH} symbols per batch"
        )));
    }
    let started = Instant::now();
    let one = |symbol: model::Symbol| PredictRequest {
        symbol,
        timeframe: req.timeframe,
        strategy: req.strategy.clone(),
        ensemble: req.ensemble.clone(),
        account: req.account.clone(),
        qty: req.qty,
        lookback: req.lookback,
    };
    // The settings are the same for every symbol: a bad one fails the batch.
    let specs = crate::predict::validate(&one(req.symbols[0].clone()))?;
    let results = futures::stream::iter(req.symbols.clone())
        .map(|symbol| {
            let (ctx, specs, cid) = (ctx.clone(), specs.clone(), rc.correlation_id.clone());
            let request = one(symbol.clone());
            async move {
                let prediction = crate::predict::predict(&ctx, &request, &specs, &cid).await;
                BatchItem {
                    symbol,
                    prediction: Some(prediction),
                    error: None,
                }
            }
        })
        .buffered(ctx.config.batch_concurrency.max(1))
        .collect()
        .await;
    Ok(BatchResponse {
        results,
        elapsed_ms: crate::call::elapsed_ms(started.elapsed()),
    })
}
