use std::sync::Arc;

use bus::api::gateway::{ListRequest, UsersList};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: ListRequest,
) -> Result<UsersList, ServiceError> {
    Ok(UsersList {
        users: ctx.store.list_users().await?,
    })
}
