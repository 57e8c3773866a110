//! `md.quality.get`: the quality rules ([`crate::quality`]) over a stored series.

use std::sync::Arc;

use bus::api::md::{QualityReport, QualityRequest};
use bus::{subjects, RequestContext, ServiceError};
use model::UnixNanos;

use crate::{quality, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: QualityRequest,
) -> Result<QualityReport, ServiceError> {
    let from = req.from.unwrap_or(UnixNanos(i64::MIN));
    let to = req.to.unwrap_or(UnixNanos(i64::MAX));
    if from > to {
        return Err(ServiceError::bad_request(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    let thresholds = req.thresholds.unwrap_or_default();
    let valid = |v: f64| v.is_finite() && v > 0.0;
    if !valid(thresholds.outlier_z) || !valid(thresholds.volume_z) || thresholds.stale_run == 0 {
        return Err(ServiceError::bad_request(
            "thresholds: outlier_z and volume_z must be positive numbers, stale_run at least 1",
        ));
    }
    let calendar = req.calendar.unwrap_or_default();
    quality::TradingCalendar::new(&calendar)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    ctx.catch_up(&subjects::bar(&req.symbol, req.timeframe))
        .await?;
    let Some((bars, _)) = ctx
        .state
        .bars(&req.symbol, req.timeframe, from, to, usize::MAX)
    else {
        return Err(ServiceError::not_found(format!(
            "no {} bars for {} (see md.symbols.list)",
            req.timeframe, req.symbol
        )));
    };
    quality::assess(&req.symbol, req.timeframe, &bars, &calendar, &thresholds)
        .map_err(|e| ServiceError::bad_request(e.to_string()))
}
