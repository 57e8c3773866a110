use std::sync::Arc;

use bus::api::gateway::{KeysList, ListRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: ListRequest,
) -> Result<KeysList, ServiceError> {
    Ok(KeysList {
        keys: ctx.store.list_keys().await?,
    })
}
