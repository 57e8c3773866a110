//! `regime.get`: the regime of one series at its last bar.

use std::collections::BTreeMap;
use std::sync::Arc;

use bus::api::regime::{GetRequest, GetResponse};
use bus::{RequestContext, ServiceError};
use model::Regime;

use crate::state::{features_of, method_index};
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: GetRequest,
) -> Result<GetResponse, ServiceError> {
    let method = req.method.unwrap_or_default();
    let all = ctx.series.lock();
    let series = all
        .series
        .get(&(req.symbol.clone(), req.timeframe))
        .ok_or_else(|| {
            ServiceError::not_found(format!("no bars of {} {} seen", req.symbol, req.timeframe))
        })?;
    let state = &series.methods[method_index(method)];
    let (Some((model, _)), Some(decision), Some(features)) =
        (&state.model, &state.last, &series.last_features)
    else {
        return Err(ServiceError::unavailable(format!(
            "{} {}: warming up ({} of {} feature vectors before the first {method} model)",
            req.symbol,
            req.timeframe,
            series.history.len(),
            ctx.config.train_after
        )));
    };
    let by_label = |values: &[f64; 4]| -> BTreeMap<Regime, f64> {
        Regime::ALL
            .iter()
            .zip(values)
            .filter(|(_, v)| v.is_finite())
            .map(|(r, v)| (*r, *v))
            .collect()
    };
    Ok(GetResponse {
        symbol: req.symbol,
        timeframe: req.timeframe,
        method,
        regime: decision.regime,
        probabilities: by_label(&decision.probabilities),
        distances: decision
            .distances
            .as_ref()
            .map(by_label)
            .unwrap_or_default(),
        features: features_of(features),
        as_of: series.as_of,
        bars: series.bars,
        model: model.clone(),
    })
}
