use std::sync::Arc;

use bus::api::gateway::{KeyCreateRequest, KeyCreated};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: KeyCreateRequest,
) -> Result<KeyCreated, ServiceError> {
    let created = ctx
        .store
        .create_key(req.role, req.accounts, req.name)
        .await?;
    tracing::info!(correlation_id = %rc.correlation_id, id = %created.info.id, role = ?created.info.role, "API key created");
    Ok(created)
}
