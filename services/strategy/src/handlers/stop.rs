//! `strategy.stop`: marks the strategy stopped; its instance stops it within one
//! lease tick. The durable consumer keeps its position for a later start.

use std::sync::Arc;

use bus::api::strategy::{DesiredState, StrategyIdRequest, StrategyRecord};
use bus::{RequestContext, ServiceError};
use model::UnixNanos;

use super::start::store_error;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: StrategyIdRequest,
) -> Result<StrategyRecord, ServiceError> {
    // The id is a KV key: a bad one is the caller's error, not the store's.
    bus::error::check_id("strategy id", &req.id)?;
    let Some((mut record, revision)) = ctx.records.get(&req.id).await.map_err(store_error)? else {
        return Err(ServiceError::not_found(format!(
            "unknown strategy {:?}",
            req.id
        )));
    };
    if record.state == DesiredState::Stopped {
        return Ok(record);
    }
    record.state = DesiredState::Stopped;
    record.updated_ts = UnixNanos::now();
    ctx.records
        .save(&record, Some(revision))
        .await
        .map_err(store_error)?;
    tracing::info!(strategy = %record.id, "strategy stopped");
    Ok(record)
}
