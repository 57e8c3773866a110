//! `monitor.status`: the platform now, collected for this request.

use std::sync::Arc;

use bus::api::monitor::{StatusRequest, SystemStatus};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: StatusRequest,
) -> Result<SystemStatus, ServiceError> {
    Ok(crate::status::collect(&ctx).await)
}
