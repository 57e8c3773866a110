use std::sync::Arc;

use bus::api::gateway::{Deleted, UserDeleteRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: UserDeleteRequest,
) -> Result<Deleted, ServiceError> {
    if !ctx.store.delete_user(&req.username).await? {
        return Err(ServiceError::not_found(format!("no user {}", req.username)));
    }
    tracing::info!(correlation_id = %rc.correlation_id, username = %req.username, "user deleted");
    Ok(Deleted {
        id: req.username,
        deleted: true,
    })
}
