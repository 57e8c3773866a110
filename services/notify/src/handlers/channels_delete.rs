//! `notify.channels.delete`: notices queued for it are dropped (acknowledged).

use std::sync::Arc;

use bus::api::notify::{DeleteRequest, DeleteResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: DeleteRequest,
) -> Result<DeleteResponse, ServiceError> {
    bus::error::check_id("channel name", &req.id)?;
    let deleted = ctx.store.channels.get(&req.id).is_some();
    ctx.store
        .channels
        .delete(&req.id)
        .await
        .map_err(|e| super::unavailable("delete the channel", e))?;
    Ok(DeleteResponse {
        id: req.id,
        deleted,
    })
}
