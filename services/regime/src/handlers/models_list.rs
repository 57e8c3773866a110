//! `regime.models.list`: the stored model versions.

use std::sync::Arc;

use bus::api::regime::{ModelsListRequest, ModelsListResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: ModelsListRequest,
) -> Result<ModelsListResponse, ServiceError> {
    let models = ctx.models.versions(req.name.as_deref()).await?;
    Ok(ModelsListResponse { models })
}
