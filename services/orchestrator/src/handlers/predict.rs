//! `orchestrator.predict`: one symbol.

use std::sync::Arc;

use bus::api::orchestrator::{PredictRequest, PredictResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: PredictRequest,
) -> Result<PredictResponse, ServiceError> {
    let specs = crate::predict::validate(&req)?;
    Ok(crate::predict::predict(&ctx, &req, &specs, &rc.correlation_id).await)
}
