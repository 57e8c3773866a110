use std::sync::Arc;

use bus::api::gateway::{UserCreateRequest, UserInfo};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: UserCreateRequest,
) -> Result<UserInfo, ServiceError> {
    let user = ctx
        .store
        .create_user(req.username, &req.password, req.role, req.accounts)
        .await?;
    tracing::info!(correlation_id = %rc.correlation_id, username = %user.username, "user created");
    Ok(user)
}
