//! `analytics.performance.get`.

use std::sync::Arc;

use bus::api::analytics::{Performance, PerformanceRequest};
use bus::{RequestContext, ServiceError};

use crate::{source, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: PerformanceRequest,
) -> Result<Performance, ServiceError> {
    let report = source::report(&ctx, &rc, &req.source).await?;
    Ok(source::performance(&report))
}
