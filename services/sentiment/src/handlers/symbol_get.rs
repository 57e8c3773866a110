//! `sentiment.symbol.get`: the decayed mean of a symbol's news in a window.

use std::sync::Arc;

use bus::api::sentiment::{
    SymbolRequest, SymbolSentiment, DEFAULT_HALF_LIFE_SECS, DEFAULT_WINDOW_SECS,
};
use bus::{RequestContext, ServiceError};
use model::UnixNanos;

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: SymbolRequest,
) -> Result<SymbolSentiment, ServiceError> {
    let window = req.window_secs.unwrap_or(DEFAULT_WINDOW_SECS);
    let half_life = req.half_life_secs.unwrap_or(DEFAULT_HALF_LIFE_SECS);
    if window == 0 || window > 10 * 365 * 24 * 3600 {
        return Err(ServiceError::bad_request(
            "window_secs must be between 1 and 10 years",
        ));
    }
    if half_life == 0 || half_life > 10 * 365 * 24 * 3600 {
        return Err(ServiceError::bad_request(
            "half_life_secs must be between 1 and 10 years",
        ));
    }
    // News published before this request is counted (read your writes).
    let _ = ctx.news_applied.catch_up(ctx.config.catch_up_timeout).await;
    let at = req.at.unwrap_or_else(UnixNanos::now);
    Ok(ctx
        .news
        .lock()
        .aggregate(&req.symbol, at, window, half_life))
}
