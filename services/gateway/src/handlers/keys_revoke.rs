use std::sync::Arc;

use bus::api::gateway::{Deleted, KeyRevokeRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: KeyRevokeRequest,
) -> Result<Deleted, ServiceError> {
    if !ctx.store.revoke_key(&req.id).await? {
        return Err(ServiceError::not_found(format!("no API key {}", req.id)));
    }
    tracing::info!(correlation_id = %rc.correlation_id, id = %req.id, "API key revoked");
    Ok(Deleted {
        id: req.id,
        deleted: true,
    })
}
