//! `md.bars.get`: bars in a time range, oldest first, paged by `limit`.

use std::sync::Arc;

use bus::api::md::{BarsRequest, BarsResponse, MAX_BARS};
use bus::{subjects, RequestContext, ServiceError};
use model::UnixNanos;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: BarsRequest,
) -> Result<BarsResponse, ServiceError> {
    let limit = req.limit.unwrap_or(MAX_BARS);
    if limit == 0 || limit > MAX_BARS {
        return Err(ServiceError::bad_request(format!(
            "limit must be between 1 and {MAX_BARS}, got {limit}"
        )));
    }
    let from = req.from.unwrap_or(UnixNanos(i64::MIN));
    let to = req.to.unwrap_or(UnixNanos(i64::MAX));
    if from > to {
        return Err(ServiceError::bad_request(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    ctx.catch_up(&subjects::bar(&req.symbol, req.timeframe))
        .await?;
    let Some((bars, next_from)) =
        ctx.state
            .bars(&req.symbol, req.timeframe, from, to, limit as usize)
    else {
        let stored = ctx.state.timeframes_of(&req.symbol);
        let message = if stored.is_empty() {
            format!(
                "unknown symbol {}: no bars stored (see md.symbols.list)",
                req.symbol
            )
        } else {
            let list: Vec<String> = stored.iter().map(|t| t.to_string()).collect();
            format!(
                "no {} bars for {}; stored timeframes: {}",
                req.timeframe,
                req.symbol,
                list.join(", ")
            )
        };
        return Err(ServiceError::not_found(message));
    };
    Ok(BarsResponse {
        symbol: req.symbol,
        timeframe: req.timeframe,
        bars,
        next_from,
    })
}
