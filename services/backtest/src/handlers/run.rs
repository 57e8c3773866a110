//! `backtest.run`: one backtest, synchronously.

use std::sync::Arc;

use bus::api::backtest::{BacktestReport, RunRequest};
use bus::{RequestContext, ServiceError};

use crate::{data, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: RunRequest,
) -> Result<BacktestReport, ServiceError> {
    let params = strategy::resolve_params(&req.strategy.kind, &req.strategy.params)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    req.sizing.validate().map_err(ServiceError::bad_request)?;
    let bars = data::load(&ctx, &req.data, &rc.correlation_id).await?;
    let config = backtest::BacktestConfig {
        cash: req.cash,
        commission: req.commission,
        finalize_trades: req.finalize_trades,
        sizing: req.sizing.clone(),
        sizing_at: req.sizing_at,
        exits: req.exits.clone(),
    };
    let kind = req.strategy.kind.clone();
    // A pinned model version (an ensemble's `model_version`), from the store.
    let model =
        bus::models::pinned(&ctx.js, &kind, &params, &bars[0].symbol, bars[0].timeframe).await?;
    let mut report = tokio::task::spawn_blocking(move || {
        let mut s = strategy::build_with_model(
            &kind,
            &params,
            bars[0].symbol.clone(),
            bars[0].timeframe,
            model,
        )
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
        backtest::run(&bars, s.as_mut(), &config)
            .map_err(|e| ServiceError::bad_request(e.to_string()))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("backtest task failed: {e}")))??;
    if !req.include_equity {
        report.equity.clear();
    }
    Ok(report)
}
